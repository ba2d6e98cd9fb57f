"""``obspy-gen train <model>``: train a model plugin on a folder of records.

One sub-command per trainable model; ``timesnet-gen`` runs either training phase of the
TimesNet-Gen paper. Under ``torchrun --nproc_per_node N -m obspy_gen.cli train ...`` the
processes train together (DistributedDataParallel; gloo on CPU, NCCL on GPUs).

Exit status: 0 = trained and saved, 1 = training failed, 2 = usage error. Errors go to stderr
as ``obspy-gen: <where>: <reason>``.

Examples
--------
>>> from click.testing import CliRunner
>>> res = CliRunner().invoke(train_command, ["timesnet-gen", "--data", "/nonexistent",
...                                          "--out", "x"])
>>> res.exit_code, res.output.strip().splitlines()[-1]
(2, 'obspy-gen: /nonexistent: not a directory of records')
"""
from __future__ import annotations

import os
import sys

import click

from obspy_gen.cli.common import error, format_table

EPILOG = """\b
Examples:
  obspy-gen train timesnet-gen --data corpus/ --out pre --phase pretrain --epochs 5 --synthetic
  obspy-gen train timesnet-gen --data paper5/ --out ft --phase finetune --init pre \\
      --stations 2020,4628,0205,1716,3130 --epochs 15 --synthetic
  obspy-gen train timesnet-gen --data corpus/ --out pre --resume     # continue a run
  torchrun --nproc_per_node 4 -m obspy_gen.cli train timesnet-gen --data corpus/ --out pre

\b
Writes OUT.safetensors + OUT.json after every epoch (and OUT.state.* for --resume).
"""


def _codes(values) -> list:
    out = []
    for v in values or ():
        out += [c.strip() for c in str(v).split(",") if c.strip()]
    return out


@click.group("train", context_settings={"help_option_names": ["-h", "--help"]})
def train_command():
    """Train a model plugin on records (one sub-command per model).

    \b
    Example:
      obspy-gen train timesnet-gen --data corpus/ --out pre --phase pretrain
    """


@train_command.command("timesnet-gen", epilog=EPILOG)
@click.option("--data", required=True, type=click.Path(),
              help="Folder of records (searched recursively for --pattern).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint base path (writes OUT.safetensors + OUT.json).")
@click.option("--phase", type=click.Choice(["pretrain", "finetune"]), default="pretrain",
              show_default=True,
              help="pretrain: unconditioned, multi-station corpus; finetune: "
                   "station-conditioned on target stations.")
@click.option("--stations", multiple=True,
              help="Stations to use (comma-separated or repeated); finetune: the targets "
                   "(default all in --data).")
@click.option("--exclude-stations", multiple=True,
              help="Stations left out of pre-training (e.g. the fine-tuning targets).")
@click.option("--init", default=None,
              help="Checkpoint to start fine-tuning from (phase-1 output or shipped name).")
@click.option("--epochs", type=click.IntRange(1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="AdamW learning rate (default 1e-3 pretrain, 5e-4 finetune).")
@click.option("--weight-decay", type=click.FloatRange(0), default=1e-2, show_default=True)
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.15,
              show_default=True,
              help="Validation share: whole stations (pretrain) or each station's records "
                   "(finetune).")
@click.option("--device", default=None, help="cuda, cpu, ... (default: CUDA when present).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT's training state.")
@click.option("--amp", type=click.Choice(["bf16", "fp16"]), default=None,
              help="Mixed precision on CUDA.")
@click.option("--centre", type=click.Choice(["auto", "record", "pga", "p_arrival"]),
              default=None,
              help="Where each record's window is centred: auto (default: the record's middle "
                   "when it fits, else its PGA), record, pga, p_arrival (needs P labels). "
                   "finetune --init: default as the initial checkpoint.")
@click.option("--config", "config_name", type=click.Choice(["default", "small", "paper"]),
              default=None,
              help="Named architecture (paper = seq 6000, d_model 128, d_ff 256, 2+2 blocks, "
                   "6 kernels, top-k 2: a GPU model); single --d-model etc. override it.")
@click.option("--seq-len", type=click.IntRange(16), default=None,
              help="Samples per record (default 6000; pretrain / from-scratch only).")
@click.option("--d-model", type=click.IntRange(1), default=None)
@click.option("--d-ff", type=click.IntRange(1), default=None)
@click.option("--e-layers", type=click.IntRange(0), default=None)
@click.option("--d-layers", type=click.IntRange(0), default=None)
@click.option("--num-kernels", type=click.IntRange(1), default=None)
@click.option("--top-k", type=click.IntRange(1), default=None)
@click.option("--latent-channels", type=click.IntRange(1), default=None)
@click.option("--latent-stride", type=click.IntRange(1), default=None)
@click.option("--latent-noise", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Latent noise injected in training (units of each station's latent std).")
@click.option("--synthetic/--real", default=None,
              help="Say whether --data is synthetic (recorded in the checkpoint).")
@click.option("--pattern", default="*.mseed", show_default=True,
              help="File name pattern inside --data.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or epoch lines.")
def train_timesnet_gen(data, out, phase, stations, exclude_stations, init, epochs, batch_size,
                       lr, weight_decay, val_fraction, device, seed, resume, amp, seq_len,
                       quiet, synthetic, pattern, latent_noise, centre, config_name, **arch):
    """Train TimesNet-Gen: phase 1 (pretrain) or phase 2 (finetune)."""
    # Usage errors (exit 2) first, then the missing-dependency error (exit 1).
    if not os.path.isdir(data):
        error(data, "not a directory of records")
        raise SystemExit(2)
    arch = {k: v for k, v in arch.items() if v is not None}
    if seq_len is not None:
        arch["seq_len"] = seq_len
    if phase == "finetune" and init is not None and (arch or config_name):
        error("timesnet-gen", f"--init fixes the architecture; drop "
                              f"{', '.join(sorted(arch) + (['config'] if config_name else []))}")
        raise SystemExit(2)
    import importlib.util
    missing = [m for m in ("torch", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        error("timesnet-gen", f"needs {' and '.join(missing)}: pip install "
                              f"{' '.join(missing)}")
        raise SystemExit(1)
    from obspy_gen.io.checkpoints import CheckpointError
    from obspy_gen.plugins.timesnet_gen import train as T
    if config_name is not None:
        from obspy_gen.plugins.timesnet_gen.model import NAMED_CONFIGS
        arch = {**NAMED_CONFIGS[config_name], **arch}
    rank = int(os.environ.get("RANK", "0"))
    log = (lambda line: None) if quiet or rank else (lambda line: click.echo(line, err=True))
    if centre is None:
        centre = "auto" if (phase == "pretrain" or init is None) else _init_centre(init)
    try:
        ds = T.load_records(data, (arch.get("seq_len") or T.DEFAULT_ARCH["seq_len"])
                            if init is None else _init_seq_len(init), pattern=pattern,
                            centre=centre)
        mat = T.materialise(ds, quiet or rank > 0,
                            _codes(stations) or None if phase == "finetune" else None)
        mat.source = str(data)
        mat.centre = centre
        common = dict(epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
                      seed=seed, device=device, val_fraction=val_fraction, resume=resume,
                      quiet=quiet, log=log, amp=amp, synthetic=synthetic,
                      latent_noise=latent_noise, materialised=mat)
        if lr is not None:
            common["lr"] = lr
        if phase == "pretrain":
            history = T.pretrain(data, out, arch=arch or None, stations=_codes(stations) or None,
                                 exclude_stations=_codes(exclude_stations), **common)
        else:
            history = T.finetune(data, out, init=init, stations=_codes(stations) or None,
                                 arch=arch or None, **common)
    except CheckpointError as exc:
        where, _, reason = str(exc).partition(": ")
        error(where, reason or exc)
        raise SystemExit(1)
    except ValueError as exc:
        where, _, reason = str(exc).partition(": ")
        if where == str(data) and reason:
            error(data, reason)
        else:
            error(data, exc)
        raise SystemExit(1)
    except (RuntimeError, FloatingPointError, OSError) as exc:
        error("timesnet-gen", exc)
        raise SystemExit(1)
    if rank == 0:
        rows = [[e["epoch"], f"{e['train_loss']:.4g}",
                 "-" if e["val_loss"] is None else f"{e['val_loss']:.4g}",
                 f"{e['seconds']:.1f}", f"{e['records_per_s'] or 0:.1f}"]
                for e in history["epochs"]]
        click.echo(format_table(["epoch", "train_loss", "val_loss", "seconds", "records/s"],
                                rows))
        click.echo(f"wrote {out}.safetensors + {out}.json ({phase}, "
                   f"{history.get('world_size', 1)} process(es))")
    sys.stdout.flush()
    raise SystemExit(0)


def _init_centre(init) -> str:
    from obspy_gen.io.checkpoints import read_config
    from obspy_gen.plugins.torch_base import resolve_checkpoint
    path = resolve_checkpoint(init, "obspy_gen.plugins.timesnet_gen")
    return (read_config(path, "timesnet-gen").get("normalisation") or {}).get(
        "centre") or "record"


def _init_seq_len(init) -> int:
    from obspy_gen.io.checkpoints import read_config
    from obspy_gen.plugins.torch_base import resolve_checkpoint
    path = resolve_checkpoint(init, "obspy_gen.plugins.timesnet_gen")
    return int(read_config(path, "timesnet-gen")["architecture"]["seq_len"])


if __name__ == "__main__":  # python -m obspy_gen.cli.train timesnet-gen ... (e.g. torchrun)
    train_command()

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
                       quiet, synthetic, pattern, latent_noise, **arch):
    """Train TimesNet-Gen: phase 1 (pretrain) or phase 2 (finetune)."""
    # Usage errors (exit 2) first, then the missing-dependency error (exit 1).
    if not os.path.isdir(data):
        error(data, "not a directory of records")
        raise SystemExit(2)
    arch = {k: v for k, v in arch.items() if v is not None}
    if seq_len is not None:
        arch["seq_len"] = seq_len
    if phase == "finetune" and init is not None and arch:
        error("timesnet-gen", f"--init fixes the architecture; drop {', '.join(sorted(arch))}")
        raise SystemExit(2)
    import importlib.util
    missing = [m for m in ("torch", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        error("timesnet-gen", f"needs {' and '.join(missing)}: pip install "
                              f"{' '.join(missing)}")
        raise SystemExit(1)
    from obspy_gen.io.checkpoints import CheckpointError
    from obspy_gen.plugins.timesnet_gen import train as T
    rank = int(os.environ.get("RANK", "0"))
    log = (lambda line: None) if quiet or rank else (lambda line: click.echo(line, err=True))
    try:
        ds = T.load_records(data, (arch.get("seq_len") or T.DEFAULT_ARCH["seq_len"])
                            if init is None else _init_seq_len(init), pattern=pattern)
        mat = T.materialise(ds, quiet or rank > 0,
                            _codes(stations) or None if phase == "finetune" else None)
        mat.source = str(data)
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


# -- models whose training settings are a dataclass (flags built from its fields) -----------------
def _click_type(f):
    """Click type and whether the flag is repeatable, from a settings field."""
    choices = f.metadata.get("choices")
    if choices:
        return click.Choice(list(choices)), False
    default = f.default
    hint = str(f.type)
    if isinstance(default, tuple) or hint.startswith("tuple"):
        return str, True
    if isinstance(default, bool) or "bool" in hint:
        return None, False
    if isinstance(default, int) or hint == "int":
        return int, False
    if isinstance(default, float) or hint == "float":
        return float, False
    return str, False


def settings_options(settings_cls):
    """Decorator adding one ``--flag`` per field of ``settings_cls`` (help from
    ``metadata["help"]``; tuples: comma-separated or repeated; booleans: ``--x/--no-x``).

    Examples
    --------
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class S:
    ...     epochs: int = field(default=3, metadata={"help": "Epochs."})
    >>> @click.command()
    ... @settings_options(S)
    ... def cmd(**kw):
    ...     click.echo(kw)
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(cmd, ["--epochs", "5"]).output.strip()
    "{'epochs': 5}"
    """
    from dataclasses import fields

    def decorate(fn):
        for f in reversed(fields(settings_cls)):
            flag = "--" + f.name.replace("_", "-")
            typ, multiple = _click_type(f)
            helptext = f.metadata.get("help", "")
            if typ is None:
                if f.name == "synthetic":
                    decl = ["--synthetic/--real"]
                else:
                    decl = [f"{flag}/--no-{f.name.replace('_', '-')}"]
                fn = click.option(*decl, f.name, default=f.default, help=helptext)(fn)
            elif multiple:
                fn = click.option(flag, f.name, multiple=True, type=str,
                                  help=helptext + " (comma-separated or repeated)")(fn)
            else:
                fn = click.option(flag, f.name, type=typ, default=f.default,
                                  show_default=f.default not in (None, ""),
                                  help=helptext)(fn)
        return fn
    return decorate


def _settings_from_flags(settings_cls, values):
    from dataclasses import fields
    kwargs = {}
    for f in fields(settings_cls):
        v = values[f.name]
        if isinstance(f.default, tuple) or str(f.type).startswith("tuple"):
            items = _codes(v)
            if not items:
                continue
            if f.default and all(isinstance(x, int) for x in f.default):
                try:
                    items = [int(x) for x in items]
                except ValueError:
                    raise click.BadParameter(f"expects integers, got {v!r}",
                                             param_hint="--" + f.name.replace("_", "-"))
            v = tuple(items)
        kwargs[f.name] = v
    try:
        return settings_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc))


def _run_training(model, plugin_cls, data, out, settings, device, resume, quiet):
    """Shared body of the settings-driven train commands (exit codes as the module says)."""
    if not os.path.isdir(data):
        error(data, "not a directory of records")
        raise SystemExit(2)
    missing = plugin_cls.missing_requirements()
    if missing:
        error(model, f"needs {' and '.join(missing)}: pip install {' '.join(missing)}")
        raise SystemExit(1)
    from obspy_gen.io.checkpoints import CheckpointError
    rank = int(os.environ.get("RANK", "0"))
    log = (lambda line: None) if quiet or rank else (lambda line: click.echo(line, err=True))
    try:
        history = plugin_cls.train(data, out, settings, device=device, resume=resume,
                                   log=None if quiet or rank else log)
    except CheckpointError as exc:
        where, _, reason = str(exc).partition(": ")
        error(where, reason or exc)
        raise SystemExit(1)
    except ValueError as exc:
        where, _, reason = str(exc).partition(": ")
        error(data if where != str(data) or not reason else where,
              reason if where == str(data) and reason else exc)
        raise SystemExit(1)
    except (RuntimeError, FloatingPointError, OSError) as exc:
        error(model, exc)
        raise SystemExit(1)
    if rank == 0:
        rows = [[e["epoch"], f"{e['train_loss']:.4g}",
                 "-" if e["val_loss"] is None else f"{e['val_loss']:.4g}",
                 f"{e['seconds']:.1f}", f"{e['records_per_s'] or 0:.1f}"]
                for e in history["epochs"]]
        click.echo(format_table(["epoch", "train_loss", "val_loss", "seconds", "records/s"],
                                rows))
        click.echo(f"wrote {out}.safetensors + {out}.json ({settings.phase}, "
                   f"{history.get('world_size', 1)} process(es))")
    sys.stdout.flush()
    raise SystemExit(0)


from obspy_gen.plugins.cvae.train import CVAETrainSettings  # noqa: E402 (no torch import)

CVAE_EPILOG = """\b
Examples:
  obspy-gen train cvae --data corpus/ --out pre --phase pretrain --epochs 5 \\
      --exclude-stations 2020,4628,0205,1716,3130 --synthetic
  obspy-gen train cvae --data paper5/ --out ft --phase finetune --init pre \\
      --epochs 20 --cluster-epochs 5 --synthetic
  obspy-gen train cvae --data paper5/ --out ft --phase finetune --resume

\b
Writes OUT.safetensors + OUT.json after every epoch (and OUT.state.* for --resume).
"""


@train_command.command("cvae", epilog=CVAE_EPILOG)
@click.option("--data", required=True, type=click.Path(),
              help="Folder of records (searched recursively for --pattern).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint base path (writes OUT.safetensors + OUT.json).")
@settings_options(CVAETrainSettings)
@click.option("--device", default=None, help="cuda, cpu, ... (default: CUDA when present).")
@click.option("--resume", is_flag=True, help="Continue from OUT's training state.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or epoch lines.")
def train_cvae(data, out, device, resume, quiet, **values):
    """Train the CVAE baseline: pretrain (unconditioned) or finetune (station priors + DEC)."""
    from obspy_gen.plugins.cvae import CVAEGenerator
    settings = _settings_from_flags(CVAETrainSettings, values)
    _run_training("cvae", CVAEGenerator, data, out, settings, device, resume, quiet)


def _init_seq_len(init) -> int:
    from obspy_gen.io.checkpoints import read_config
    from obspy_gen.plugins.torch_base import resolve_checkpoint
    path = resolve_checkpoint(init, "obspy_gen.plugins.timesnet_gen")
    return int(read_config(path, "timesnet-gen")["architecture"]["seq_len"])


if __name__ == "__main__":  # python -m obspy_gen.cli.train timesnet-gen ... (e.g. torchrun)
    train_command()

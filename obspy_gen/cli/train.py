"""``obspy-gen train <model>``: train any trainable plugin on a folder of records.

The models are the registered plugins (any group) with the training hook (``TrainSettings``
dataclass + ``train`` classmethod, see :mod:`obspy_gen.api`); each sub-command's flags are
built from its ``TrainSettings`` fields, besides the common ``--data``, ``--out``, ``--device``,
``--resume`` and ``--quiet``. Under ``torchrun --nproc_per_node N -m obspy_gen.cli train ...``
the processes train together (DistributedDataParallel; gloo on CPU, NCCL on GPUs).

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
from obspy_gen.cli.options import dataclass_options, pop_fields

#: Extra help shown under a model's sub-command (keyed by plugin name).
EPILOGS = {"timesnet-gen": """\b
Examples:
  obspy-gen train timesnet-gen --data corpus/ --out pre --phase pretrain --epochs 5 --synthetic
  obspy-gen train timesnet-gen --data paper5/ --out ft --phase finetune --init pre \\
      --stations 2020,4628,0205,1716,3130 --epochs 15 --synthetic
  obspy-gen train timesnet-gen --data corpus/ --out pre --resume     # continue a run
  torchrun --nproc_per_node 4 -m obspy_gen.cli train timesnet-gen --data corpus/ --out pre

\b
Writes OUT.safetensors + OUT.json after every epoch (and OUT.state.* for --resume).
""", "cvae": """\b
Examples:
  obspy-gen train cvae --data corpus/ --out pre --phase pretrain --epochs 6 \\
      --exclude-stations 2020,4628,0205,1716,3130 --synthetic
  obspy-gen train cvae --data paper5/ --out ft --phase finetune --init pre \\
      --epochs 60 --cluster-epochs 10 --synthetic
  obspy-gen train cvae --data paper5/ --out ft --phase finetune --init pre --resume

\b
Writes OUT.safetensors + OUT.json after every epoch (and OUT.state.* for --resume).
""", "cnn-lstm": """\b
Examples:
  obspy-gen simulate --catalog corpus --seed 1 --out corpus/
  obspy-gen train cnn-lstm --data corpus/ --out my-vs30 --synthetic
  obspy-gen train cnn-lstm --data corpus/ --out my-vs30 --no-ps-channel --centre p_arrival
  obspy-gen train cnn-lstm --data corpus/ --out my-vs30 --resume     # continue a run
  obspy-gen vs30 records/ --checkpoint my-vs30

\b
--data: a folder of records whose labels.csv / records.csv (column `file`) gives vs30 (and
p_arrival/s_arrival, else the picker runs). Stations, not records, are split into training,
validation and held-out test parts (listed in OUT.json). Writes OUT.safetensors + OUT.json
after every epoch (and OUT.state.* for --resume).
"""}

GENERIC_EPILOG = """\b
Example:
  obspy-gen train {name} --data records/ --out model --epochs 5
"""


def trainable_plugins() -> dict:
    """Registered plugins with the training hook: name -> (group, class); imports them (a
    plugin that fails to load is left out)."""
    from obspy_gen import registry
    from obspy_gen.api import is_trainable
    found = {}
    for group in sorted(registry.GROUPS):
        for info in registry.plugins(group):
            try:
                cls = registry.load(group, info.name)
            except registry.PluginLoadError:
                continue
            if is_trainable(cls) and info.name.lower() not in found:
                found[info.name.lower()] = (group, cls)
    return found


def make_train_command(cls) -> click.Command:
    """The ``obspy-gen train <cls.name>`` sub-command of a trainable plugin class."""
    settings_cls = cls.TrainSettings

    def run(data, out, device, resume, quiet, **values):
        name = cls.name
        if not os.path.isdir(data):  # usage errors (exit 2) before dependency errors (exit 1)
            error(data, "not a directory of records")
            raise SystemExit(2)
        try:
            settings = settings_cls(**pop_fields(settings_cls, values))
        except (TypeError, ValueError) as exc:
            error(name, exc)
            raise SystemExit(2)
        try:
            cls.check_requirements()
        except ImportError as exc:
            error(name, exc)
            raise SystemExit(1)
        from obspy_gen.io.checkpoints import CheckpointError
        rank = int(os.environ.get("RANK", "0"))
        log = None if quiet or rank else (lambda line: click.echo(line, err=True))
        try:
            history = cls.train(data, out, settings, device=device, resume=resume, log=log)
        except (CheckpointError, ValueError) as exc:
            where, _, reason = str(exc).partition(": ")
            if reason and (where == str(data) or isinstance(exc, CheckpointError)):
                error(where, reason)
            else:
                error(data, exc)
            raise SystemExit(1)
        except (RuntimeError, FloatingPointError, OSError) as exc:
            error(name, exc)
            raise SystemExit(1)
        if rank == 0:
            history = history or {}
            rows = [[e.get("epoch"), _num(e.get("train_loss")), _num(e.get("val_loss")),
                     _num(e.get("seconds"), ".1f"), _num(e.get("records_per_s") or 0, ".1f")]
                    for e in history.get("epochs", [])]
            if rows:
                click.echo(format_table(["epoch", "train_loss", "val_loss", "seconds",
                                         "records/s"], rows))
            phase = f"{history['phase']}, " if history.get("phase") else ""
            click.echo(f"wrote {out}.safetensors + {out}.json ({phase}"
                       f"{history.get('world_size', 1)} process(es))")
        sys.stdout.flush()
        raise SystemExit(0)

    run = dataclass_options(settings_cls)(run)
    for opt in reversed([
            click.option("--data", required=True, type=click.Path(),
                         help="Folder of records (searched recursively)."),
            click.option("--out", required=True, type=click.Path(dir_okay=False),
                         help="Checkpoint base path (writes OUT.safetensors + OUT.json)."),
            click.option("--device", default=None,
                         help="cuda, cpu, ... (default: CUDA when present)."),
            click.option("--resume", is_flag=True, help="Continue from OUT's training state."),
            click.option("--quiet", "-q", is_flag=True,
                         help="No progress bar or epoch lines.")]):
        run = opt(run)
    doc = (cls.train.__doc__ or cls.__doc__ or f"Train {cls.name}.").strip().splitlines()[0]
    return click.command(cls.name, help=doc,
                         epilog=EPILOGS.get(cls.name, GENERIC_EPILOG.format(name=cls.name)),
                         context_settings={"help_option_names": ["-h", "--help"]})(run)


def _num(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


class TrainGroup(click.Group):
    """Sub-commands = the trainable plugins in the registry (built on first use)."""

    def list_commands(self, ctx):
        return sorted(trainable_plugins())

    def get_command(self, ctx, name):
        found = trainable_plugins().get(name.lower())
        return None if found is None else make_train_command(found[1])


@click.group("train", cls=TrainGroup, context_settings={"help_option_names": ["-h", "--help"]})
def train_command():
    """Train a model plugin on records (one sub-command per trainable plugin).

    \b
    Example:
      obspy-gen train timesnet-gen --data corpus/ --out pre --phase pretrain
    """


if __name__ == "__main__":  # python -m obspy_gen.cli.train timesnet-gen ... (e.g. torchrun)
    train_command()

"""What the ``train_default_*.py`` scripts share.

Their command line (``--out``, ``--work``, ``--device``, ``--quiet``; each script adds its
own options), the work folder (a temporary one, removed at the end, unless ``--work`` names
one), simulating a record set once per work folder, naming it in a checkpoint by the call that
makes it (never by its folder: the checkpoint must not depend on ``--work``), and copying the
checkpoints to ``--out`` with a closing JSON summary.

>>> simulation("corpus", n_stations=150, records_per_station=12, seed=1)
"obspy_gen.plugins.stochastic.simulate('corpus', n_stations=150, records_per_station=12, seed=1)"
>>> simulation("paper5", seed=0)
"obspy_gen.plugins.stochastic.simulate('paper5', seed=0)"
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parser(doc: str, out: str, out_help: str = "Folder the checkpoints are copied to."
           ) -> argparse.ArgumentParser:
    """The scripts' shared options; ``out`` is the default ``--out`` below the repository."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / out), help=out_help)
    p.add_argument("--work", default=None,
                   help="Folder for the simulated records and training runs (default: a "
                        "temporary folder, removed at the end).")
    p.add_argument("--device", default="cpu", help="Training device (default cpu).")
    p.add_argument("--quiet", action="store_true", help="Print nothing.")
    return p


def work_folder(args, prefix: str) -> Path:
    """``--work``, created if need be, or a new temporary folder."""
    work = Path(args.work or tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    return work


def sayer(args):
    """``print``, or a function that prints nothing under ``--quiet``."""
    return print if not args.quiet else (lambda *a, **k: None)


def simulation(catalog: str, **kwargs) -> str:
    """How a checkpoint names simulated records: the call that makes them (no path)."""
    call = ", ".join([repr(catalog)] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return f"obspy_gen.plugins.stochastic.simulate({call})"


def simulate_once(folder: Path, catalog: str, **kwargs) -> Path:
    """Simulate ``catalog`` into ``folder`` unless a finished set is there (``records.csv``,
    written last); returns the folder."""
    from obspy_gen.plugins.stochastic import simulate
    if not (folder / "records.csv").is_file():
        simulate(catalog, out=str(folder), **kwargs)
    return folder


def ship(runs: Path, out, names) -> dict:
    """Copy the checkpoints ``names`` (``.safetensors`` + ``.json``) from ``runs`` to ``out``;
    returns file name -> bytes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name in names:
        for suffix in (".safetensors", ".json"):
            shutil.copy2(runs / (name + suffix), out / (name + suffix))
            sizes[name + suffix] = (out / (name + suffix)).stat().st_size
    return dict(sorted(sizes.items()))


def finish(args, work: Path, summary: dict, sizes: dict) -> dict:
    """Add the torch version, thread count and shipped sizes to ``summary``, print it (unless
    ``--quiet``), remove a temporary work folder; returns the summary."""
    import torch
    summary.update(torch=torch.__version__, threads=torch.get_num_threads(), files=sizes,
                   total_mb=round(sum(sizes.values()) / 1e6, 3))
    sayer(args)(json.dumps(summary, indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary

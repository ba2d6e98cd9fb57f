"""``obspy-gen vs30 FILES...``: Vs30 and NEHRP class of every station in the files.

Files are read (any format obspy.read knows, plus AFAD ASCII and .mat), grouped into records
and stations; each station gets one prediction from a ``obspy_gen.vs30`` plugin (default
``cnn-lstm``): the median over its records, with the spread (standard deviation of ln Vs30
over the records, shown as a percentage).

Exit status: 0 = at least one station predicted, 1 = none, 2 = usage error. Unreadable files
and stations without a usable record are reported on stderr as ``obspy-gen: <what>: <reason>``
and skipped.

Examples
--------
>>> from click.testing import CliRunner
>>> res = CliRunner().invoke(vs30_command, ["/nonexistent/*.mseed"])
>>> res.exit_code, res.output.strip().splitlines()[-1]
(2, 'obspy-gen: /nonexistent/*.mseed: no such file')
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys

import click

from obspy_gen.cli.common import (atomic_write, error, expand_inputs, format_table, open_executor,
                                  progress)
from obspy_gen.cli.options import scheduler_option

EPILOG = """\b
Examples:
  obspy-gen vs30 records/*.mseed
  obspy-gen vs30 afad/ --out vs30/                       # writes vs30.csv + vs30.json
  obspy-gen vs30 records/ --model hvsr-f0                # the empirical f0 baseline
  obspy-gen vs30 records/ --checkpoint my-vs30.json --device cuda

\b
The shipped cnn-lstm checkpoint was trained on SIMULATED records (see docs/vs30.rst for its
errors on simulated and on real labelled AFAD records).
"""

COLUMNS = ("station", "records", "vs30", "nehrp_class", "spread_percent", "model",
           "skipped")


def _read(path):
    from obspy import read
    return read(path)


@click.command("vs30", epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, required=True)
@click.option("--model", "-m", default="cnn-lstm", show_default=True,
              help="Vs30 plugin (see `obspy-gen plugins`).")
@click.option("--checkpoint", default=None,
              help="cnn-lstm checkpoint: shipped name or path (default cnn-lstm-synthetic).")
@click.option("--centre", type=click.Choice(["pga", "p_arrival"]), default=None,
              help="cnn-lstm window centre (default: the checkpoint's).")
@click.option("--device", default=None, help="cuda, cpu, ... (default: CUDA when present).")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Folder for vs30.csv and vs30.json (created).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations predicted in parallel (local processes).")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or table.")
def vs30_command(files, model, checkpoint, centre, device, out, jobs, scheduler, quiet):
    """Predict Vs30 (m/s) and the NEHRP class of each station in FILES."""
    from obspy import Stream

    from obspy_gen import registry
    from obspy_gen.core.records import split_records, station_key
    paths, unmatched = expand_inputs(files)
    for item in unmatched:
        error(item, "no such file")
    if not paths:
        raise SystemExit(2)
    try:
        cls = registry.load("vs30", model)
    except LookupError as exc:
        error(model, exc)
        raise SystemExit(2)
    options = {}
    if checkpoint is not None or centre is not None:
        if model != "cnn-lstm":
            error(model, "--checkpoint and --centre are cnn-lstm options")
            raise SystemExit(2)
        options = {k: v for k, v in (("checkpoint", checkpoint), ("centre", centre)) if v}
    try:
        cls.check_requirements()
    except ImportError as exc:
        error(model, exc)
        raise SystemExit(1)
    stations = {}
    for path in progress(paths, quiet, desc="reading", unit="file"):
        try:
            st = _read(path)
        except Exception as exc:  # any reader failure: report the file, go on
            error(path, f"cannot read: {type(exc).__name__}: {exc}")
            continue
        for rec in split_records(st):
            if len(rec):
                stations.setdefault(station_key(rec[0]), Stream()).extend(rec.traces)
    if not stations:
        raise SystemExit(1)
    from obspy_gen.batch import map_jobs, vs30_station_job
    tasks = [(key, list(stations[key]), model, device, options) for key in sorted(stations)]
    with open_executor(scheduler, jobs) as executor:
        done = map_jobs(vs30_station_job, tasks, executor, quiet=quiet, desc="vs30",
                        errors="return")
    results = []
    for task, job in zip(tasks, done):
        key = task[0]
        if isinstance(job, BaseException):
            error(key, f"failed: {type(job).__name__}: {job}")
            continue
        _, res, caught, problem = job
        for message in caught:
            if not quiet:
                error(key, message)
        if problem is not None:
            where, _, reason = problem.partition(": ")
            error(where if reason else key, reason or problem)
            continue
        results.append(res)
    if not results:
        raise SystemExit(1)
    rows = [{"station": r.station, "records": r.n_records, "vs30": round(r.vs30, 1),
             "nehrp_class": r.nehrp_class, "spread_percent": round(100 * r.spread, 1),
             "model": r.model, "skipped": r.n_skipped} for r in results]
    if not quiet:
        click.echo(format_table(["station", "records", "vs30_m/s", "class", "spread_%"],
                                [[r["station"], r["records"], f"{r['vs30']:.0f}",
                                  r["nehrp_class"], f"{r['spread_percent']:.1f}"]
                                 for r in rows]))
    if out:
        try:
            os.makedirs(out, exist_ok=True)
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write(os.path.join(out, "vs30.csv"), buf.getvalue())
            atomic_write(os.path.join(out, "vs30.json"),
                         json.dumps([r.to_dict() for r in results], indent=1) + "\n")
        except OSError as exc:
            error(getattr(exc, "filename", None) or out, exc.strerror or exc)
            raise SystemExit(1)
        if not quiet:
            click.echo(f"wrote vs30.csv and vs30.json to {out}")
    sys.stdout.flush()
    raise SystemExit(0)

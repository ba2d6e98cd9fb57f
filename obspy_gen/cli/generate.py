"""``obspy-gen generate``: new records of a station from a generator plugin, as miniSEED.

Exit status: 0 = records written, 1 = nothing written (model, checkpoint or file-system
failure), 2 = usage error (bad option, unknown model or station). Errors go to stderr as
``obspy-gen: <where>: <reason>``.

Examples
--------
>>> import os, tempfile
>>> from click.testing import CliRunner
>>> res = CliRunner().invoke(generate_command, ["--station", "4628", "--model", "nope"])
>>> res.exit_code, res.output.splitlines()[-1].split(";")[0]
(2, "obspy-gen: generate: no plugin 'nope' in obspy_gen.generators")
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import click

from obspy_gen.cli.common import (atomic_write, error, expand_inputs, format_table, open_executor,
                                  progress)
from obspy_gen.cli.options import scheduler_option

EPILOG = """\b
Examples:
  obspy-gen generate --station 4628 -n 50 --out gen/ --seed 1
  obspy-gen generate --records mysite/*.mseed -n 20 --out gen/      # zero-shot pool
  obspy-gen generate --station 3130 -n 5 --noise-scale 0 --out gen/ # the authors' sampling
  obspy-gen generate --station 2020,4628,0205 -n 100 --out gen/ --jobs 2 # a batch

\b
Writes one miniSEED per record, OUT/<NET.STA.LOC>_<model>_<i:04d>.mseed (HNN/HNE/HNZ,
m/s^2), each written atomically, and prints a summary table.
"""


def _safe(text) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(text))


def record_filename(record, model: str, index: int) -> str:
    """``<NET.STA.LOC>_<model>_<i:04d>.mseed`` of one generated record.

    Examples
    --------
    >>> from obspy import read
    >>> record_filename(read(), "timesnet-gen", 3)
    'BW.RJOB._timesnet-gen_0003.mseed'
    """
    s = record[0].stats
    return f"{_safe(f'{s.network}.{s.station}.{s.location}')}_{_safe(model)}_{index:04d}.mseed"


def write_records(stream, out, model, quiet=False) -> list:
    """Write each record of a generated Stream to ``out`` (atomically); returns the rows of
    the summary table (index, file, id, start, seconds, PGA).

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> rows = write_records(read(), d, "demo", quiet=True)
    >>> os.listdir(d), rows[0][2]
    (['BW.RJOB._demo_0000.mseed'], 'BW.RJOB.')
    """
    import numpy as np

    from obspy_gen.core.records import split_records
    rows = []
    records = split_records(stream)  # ``out`` is created by the first write (atomic_write)
    # split_records sorts by station and time; generated records are already in that order,
    # but the index written is the generator's own record number when it carries one.
    for k, rec in enumerate(progress(records, quiet, desc="writing", unit="record")):
        meta = rec[0].stats.get("obspy_gen") or {}
        index = int(meta.get("record", k))
        name = record_filename(rec, model, index)
        buf = io.BytesIO()
        rec.write(buf, format="MSEED")
        atomic_write(Path(out) / name, buf.getvalue())
        horiz = [np.abs(tr.data).max() for tr in rec if not tr.stats.channel.endswith("Z")]
        s = rec[0].stats
        rows.append([index, name, f"{s.network}.{s.station}.{s.location}",
                     str(s.starttime)[:19], f"{s.npts / s.sampling_rate:.1f}",
                     f"{max(horiz) if horiz else float('nan'):.4g}"])
    return rows


def _read_pool(items, quiet):
    from obspy import Stream

    from obspy_gen.cli.hvsr import read_files
    files, unmatched = expand_inputs(items)
    for item in unmatched:
        error(item, "no such file (or nothing matched)")
    if not files:
        raise click.UsageError("--records matched no files")
    good, failed = read_files(files, quiet=quiet)
    pool = Stream()
    for _, st in good:
        pool += st
    return pool, failed


def generate_station_job(model, station, pool, n, seed, device, options, out):
    """Generate and write one station's records; a job of ``obspy-gen generate`` (top level,
    picklable: any Executor runs it).

    Returns
    -------
    (station, summary rows or None, seed used, None or (where, reason, exit status))
    """
    from obspy_gen import registry
    from obspy_gen.io.checkpoints import CheckpointError
    cls = registry.load("generators", model)
    try:
        stream = cls().generate(pool, station=station, n=n, seed=seed, device=device,
                                **options)
    except CheckpointError as exc:
        where, _, reason = str(exc).partition(": ")
        return station, None, seed, (where, reason or str(exc), 1)
    except (ValueError, TypeError) as exc:
        return station, None, seed, (model, str(exc), 2)
    except (RuntimeError, OSError, ImportError) as exc:
        return station, None, seed, (model, str(exc), 1)
    try:
        rows = write_records(stream, out, cls.name, quiet=True)
    except OSError as exc:
        return station, None, seed, (out, f"cannot write: {exc.strerror or exc}", 1)
    if not rows:
        return station, None, seed, ("generate", "the generator returned no records", 1)
    used_seed = (stream[0].stats.get("obspy_gen") or {}).get("seed", seed)
    return station, rows, used_seed, None


@click.command("generate", epilog=EPILOG)
@click.option("--station", "-s", "stations", multiple=True,
              help="Station code the model knows (e.g. 4628); with --records, picks one "
                   "station of several. Several (repeat or comma-separate) = a batch, one "
                   "job per station.")
@click.option("-n", "--n", "n", type=click.IntRange(1), default=1, show_default=True,
              help="Number of records.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="generated",
              show_default=True, help="Output folder (created).")
@click.option("--model", "-m", default="timesnet-gen", show_default=True,
              help="Generator plugin (see `obspy-gen plugins`).")
@click.option("--seed", type=int, default=None,
              help="Random seed (same seed, same records); default: drawn and recorded.")
@click.option("--device", default=None, help="cuda, cpu, ... (default: CUDA when present).")
@click.option("--checkpoint", default=None,
              help="Shipped checkpoint name or path (default: the model's).")
@click.option("--records", "records", multiple=True,
              help="Records (files, globs, folders) of a new station: zero-shot pool. "
                   "Repeatable.")
@click.option("--n-mix", type=click.IntRange(1), default=None,
              help="Latent codes averaged per record (TimesNet-Gen; default 5).")
@click.option("--noise-scale", type=click.FloatRange(0), default=None,
              help="Scale of the latent noise (TimesNet-Gen; default 1, 0 = none).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations generated in parallel (local processes).")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate_command(stations, n, out, model, seed, device, checkpoint, records, n_mix,
                     noise_scale, jobs, scheduler, quiet):
    """Generate N new records for a station with a generator plugin.

    The default model, timesnet-gen, ships a checkpoint trained on SYNTHETIC records of five
    virtual stations (2020, 4628, 0205, 1716, 3130); --records gives it the records of any
    other station instead (zero-shot: their latent codes form the pool).
    """
    from obspy_gen import registry
    try:
        cls = registry.load("generators", model)
    except registry.PluginNotFoundError as exc:
        error("generate", exc)
        raise SystemExit(2)
    except registry.PluginLoadError as exc:
        error(model, exc)
        raise SystemExit(1)
    try:
        cls.check_requirements()
    except ImportError as exc:
        error(model, exc)
        raise SystemExit(1)
    stations = [c.strip() for item in stations for c in str(item).split(",") if c.strip()]
    stations = list(dict.fromkeys(stations)) or [None]
    pool = None
    if records:
        try:
            pool, _ = _read_pool(records, quiet)
        except click.UsageError as exc:
            error("generate", exc.message)
            raise SystemExit(2)
        if len(pool) == 0:
            error("generate", "no readable records in --records")
            raise SystemExit(1)
    elif stations == [None]:
        error("generate", "give --station CODE (a station the model knows) or --records")
        raise SystemExit(2)
    options = {k: v for k, v in (("checkpoint", checkpoint), ("n_mix", n_mix),
                                 ("noise_scale", noise_scale)) if v is not None}
    from obspy_gen.batch import map_jobs
    tasks = [(model, st, pool, n, seed, device, options, out) for st in stations]
    with open_executor(scheduler, jobs) as executor:
        results = map_jobs(generate_station_job, tasks, executor, quiet=quiet or len(tasks) < 2,
                           desc="stations", errors="return")
    all_rows, seeds, codes = [], {}, []
    for task, res in zip(tasks, results):
        if isinstance(res, BaseException):
            res = (task[1], None, seed, (f"{model}: {task[1]}",
                                         f"failed: {type(res).__name__}: {res}", 1))
        st, rows, used_seed, problem = res
        if problem is not None:
            where, reason, code = problem
            error(where, reason)
            codes.append(code)
            continue
        all_rows += rows
        seeds[st] = used_seed
    if not all_rows:
        raise SystemExit(max(codes) if len(tasks) == 1 else 1)
    click.echo(format_table(["record", "file", "id", "start", "seconds", "PGA_m/s2"], all_rows))
    used = ", ".join(str(v) for v in dict.fromkeys(seeds.values()))
    click.echo(f"wrote {len(all_rows)} record(s) to {out} (model {cls.name}, seed {used})" +
               (f"; {len(codes)} station(s) failed" if codes else ""))
    raise SystemExit(0)

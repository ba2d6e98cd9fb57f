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

from obspy_gen.cli.common import atomic_write, error, expand_inputs, format_table, progress

EPILOG = """\b
Examples:
  obspy-gen generate --station 4628 -n 50 --out gen/ --seed 1
  obspy-gen generate --records mysite/*.mseed -n 20 --out gen/      # zero-shot pool
  obspy-gen generate --station 3130 -n 5 --noise-scale 0 --out gen/ # the authors' sampling

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


@click.command("generate", epilog=EPILOG)
@click.option("--station", "-s", default=None,
              help="Station code the model knows (e.g. 4628); with --records, picks one "
                   "station of several.")
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
@click.option("--sampling", type=click.Choice(["prior", "aligned", "mix"]), default=None,
              help="TimesNet-Gen: station prior of aligned codes, Eq. 1 on aligned codes, or "
                   "Eq. 1 as the paper (default: the checkpoint's).")
@click.option("--baseline", type=click.Choice(["highpass", "quadratic", "none"]), default=None,
              help="TimesNet-Gen: correction of every record (default highpass: high-pass at "
                   "the signal-to-noise corner, then zero final velocity; quadratic: zero final "
                   "velocity only; none: raw output).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate_command(station, n, out, model, seed, device, checkpoint, records, n_mix,
                     noise_scale, sampling, baseline, quiet):
    """Generate N new records for a station with a generator plugin.

    The default model, timesnet-gen, ships a checkpoint trained on SYNTHETIC records of five
    virtual stations (2020, 4628, 0205, 1716, 3130); --records gives it the records of any
    other station instead (zero-shot: their latent codes form the pool).
    """
    from obspy_gen import registry
    from obspy_gen.io.checkpoints import CheckpointError
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
    elif station is None:
        error("generate", "give --station CODE (a station the model knows) or --records")
        raise SystemExit(2)
    options = {k: v for k, v in (("checkpoint", checkpoint), ("n_mix", n_mix),
                                 ("noise_scale", noise_scale), ("sampling", sampling),
                                 ("baseline", baseline)) if v is not None}
    try:
        stream = cls().generate(pool, station=station, n=n, seed=seed, device=device,
                                **options)
    except CheckpointError as exc:
        where, _, reason = str(exc).partition(": ")
        error(where, reason or exc)
        raise SystemExit(1)
    except (ValueError, TypeError) as exc:
        error(model, exc)
        raise SystemExit(2)
    except (RuntimeError, OSError, ImportError) as exc:
        error(model, exc)
        raise SystemExit(1)
    try:
        rows = write_records(stream, out, cls.name, quiet)
    except OSError as exc:
        error(out, f"cannot write: {exc.strerror or exc}")
        raise SystemExit(1)
    if not rows:
        error("generate", "the generator returned no records")
        raise SystemExit(1)
    click.echo(format_table(["record", "file", "id", "start", "seconds", "PGA_m/s2"], rows))
    used_seed = (stream[0].stats.get("obspy_gen") or {}).get("seed", seed)
    click.echo(f"wrote {len(rows)} record(s) to {out} (model {cls.name}, seed {used_seed})")
    raise SystemExit(0)

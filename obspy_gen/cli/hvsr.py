"""``obspy-gen hvsr``: HVSR and f0 per station from any files ObsPy can read."""
from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import re
from pathlib import Path

import click

from obspy_gen.cli.common import (atomic_savefig, atomic_write, error, expand_inputs,
                                  format_table, progress)
from obspy_gen.core.settings import COMBINATIONS, PRESETS, resolve_settings


def _fmt(v, spec=".3f"):
    return "-" if v is None or v != v else format(v, spec)


def _safe_name(key):
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


def read_files(files, fmt=None, quiet=False):
    """Read files with obspy.read; returns (list of (file, Stream)), and the failures reported.

    Records that obspy-gen wrote get their ``stats.obspy_gen`` and ``stats.units`` back from
    the ``records.csv`` beside them (:func:`obspy_gen.io.provenance.restore_provenance`).
    """
    from obspy import read

    from obspy_gen.io.provenance import restore_provenance
    good, failed = [], []
    for path in progress(files, quiet, desc="reading", unit="file"):
        try:
            st = read(path, format=fmt) if fmt else read(path)
            if len(st) == 0:
                raise ValueError("no traces")
            # Records obspy-gen wrote: stats.obspy_gen and units from records.csv beside them.
            restore_provenance(st, path)
            good.append((path, st))
        except Exception as exc:  # any reader failure: report this file, go on with the rest
            error(path, f"cannot read: {exc}")
            failed.append(path)
    return good, failed


def group_by_station(streams, per_file=False):
    """Group traces by NET.STA.LOC (and instrument, when a station has several).

    Returns an ordered dict key -> (list of traces, list of source files).
    """
    from obspy_gen.core.records import channel_component, station_key
    groups = {}
    for path, st in streams:
        for tr in st:
            try:
                _, instrument = channel_component(tr.stats.channel)
            except ValueError as exc:
                error(path, str(exc))
                continue
            key = station_key(tr)
            groups.setdefault(key, {}).setdefault(instrument, []).append((path, tr))
    out = {}
    for key, by_instrument in groups.items():
        for instrument, items in sorted(by_instrument.items()):
            k = key if len(by_instrument) == 1 else f"{key}{instrument}"
            if per_file:
                for path in dict.fromkeys(p for p, _ in items):
                    name = f"{k}__{Path(path).name}"
                    if name in out:  # same file name in another folder
                        name = f"{k}__{Path(path).parent.name}_{Path(path).name}"
                    n = 2
                    while name in out:
                        name, n = f"{k}__{Path(path).name}_{n}", n + 1
                    out[name] = ([t for p, t in items if p == path], [path])
            else:
                out[k] = ([t for _, t in items], list(dict.fromkeys(p for p, _ in items)))
    return out


def station_job(key, traces, files, settings, out, plot):
    """HVSR of one station; bad records are skipped with a message. Runs in worker processes.

    Returns (key, summary dict or None, list of (where, reason) messages).
    """
    from obspy import Stream

    from obspy_gen.core.hvsr import check_record, hvsr
    from obspy_gen.core.records import split_records
    messages, good = [], []
    for rec in split_records(Stream(traces)):
        try:
            check_record(rec, settings)
            good.append(rec)
        except ValueError as exc:
            messages.append((", ".join(files) if len(files) == 1 else key, str(exc)))
    if not good:
        messages.append((key, "no usable record"))
        return key, None, messages
    try:
        result = hvsr(good, settings)
    except ValueError as exc:
        messages.append((key, str(exc)))
        return key, None, messages
    data = result.to_dict()
    data["station"] = key
    data["files"] = files
    base = Path(out) / _safe_name(key)
    atomic_write(f"{base}.json", json.dumps(data, indent=1))
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        result.station = key
        fig = result.plot()
        atomic_savefig(fig, f"{base}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
    summary = {k: data[k] for k in ("f0", "f0_windows_median", "f0_windows_std_ln",
                                    "amplitude_f0", "n_windows", "n_records")}
    return key, summary, messages


def _one_thread_per_worker():
    # N worker processes each using all cores would oversubscribe the machine.
    import numba
    numba.set_num_threads(1)


def run_hvsr(files, settings, out, per_file=False, plot=False, jobs=1, quiet=False, fmt=None):
    """Read, group, compute, write. Returns (summaries by station, number of failures)."""
    streams, failed = read_files(files, fmt, quiet)
    groups = group_by_station(streams, per_file)
    Path(out).mkdir(parents=True, exist_ok=True)
    summaries, n_fail = {}, len(failed)
    tasks = [(k, traces, srcs, settings, str(out), plot) for k, (traces, srcs) in groups.items()]
    if jobs > 1 and len(tasks) > 1:
        # spawn, not fork: numba's OpenMP threads do not survive a fork.
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=_one_thread_per_worker) as pool:
            futures = [pool.submit(station_job, *t) for t in tasks]
            results = [f.result() for f in progress(concurrent.futures.as_completed(futures),
                                                    quiet, total=len(futures), desc="stations")]
    else:
        results = [station_job(*t) for t in progress(tasks, quiet, desc="stations")]
    for key, summary, messages in sorted(results, key=lambda r: r[0]):
        for where, reason in messages:
            error(where, reason)
        if summary is None:
            n_fail += 1
        else:
            summaries[key] = summary
    return summaries, n_fail


def print_summary(summaries):
    rows = [[k, s["n_records"], s["n_windows"], _fmt(s["f0"]), _fmt(s["amplitude_f0"], ".2f"),
             _fmt(s["f0_windows_median"]), _fmt(s["f0_windows_std_ln"])]
            for k, s in summaries.items()]
    click.echo(format_table(["station", "records", "windows", "f0_Hz", "A0", "f0_win_median_Hz",
                             "f0_win_std_ln"], rows))


def settings_options(func):
    """The HVSR settings as click options (names mirror the Python keywords)."""
    opts = [
        click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
                     help="Named settings to start from (default: 'default')."),
        click.option("--window-length", type=float, default=None,
                     help="Window length in s; 0 = whole record (default: preset's)."),
        click.option("--overlap", type=float, default=None, help="Window overlap, 0-1."),
        click.option("--detrend", type=click.Choice(["linear", "constant", "none"]),
                     default=None),
        click.option("--taper", type=float, default=None,
                     help="Tukey alpha (0.1 = 5 % each end)."),
        click.option("--smoothing", type=click.Choice(["konno_ohmachi", "none"]), default=None),
        click.option("--bandwidth", type=float, default=None, help="Konno-Ohmachi b."),
        click.option("--fmin", type=float, default=None, help="Lowest output frequency, Hz."),
        click.option("--fmax", type=float, default=None, help="Highest output frequency, Hz."),
        click.option("--nfreq", type=int, default=None, help="Number of output frequencies."),
        click.option("--combine", type=click.Choice(COMBINATIONS), default=None,
                     help="Horizontal combination (hvsrpy's names)."),
        click.option("--azimuth", type=float, default=None,
                     help="Degrees from north, for --combine single_azimuth."),
        click.option("--f0-range", type=(float, float), default=None,
                     help="f0 search band: LOW HIGH in Hz."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def settings_from_options(preset, **options):
    overrides = {k: v for k, v in options.items() if v is not None}
    try:
        return resolve_settings(preset=preset, **overrides)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


@click.command("hvsr")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "-o", type=click.Path(file_okay=False), default="hvsr_out",
              show_default=True, help="Output folder (created).")
@settings_options
@click.option("--per-file", is_flag=True, help="One result per file instead of per station.")
@click.option("--plot", is_flag=True, help="Also write <station>.png.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations processed in parallel.")
@click.option("--format", "fmt", default=None, help="Force an ObsPy format (default: detect).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def hvsr_command(inputs, out, preset, per_file, plot, jobs, fmt, quiet, **options):
    """HVSR curve and f0 of every station in INPUTS (files, globs, folders).

    Traces are grouped by NET.STA.LOC; all windows of all records of a station form one
    result, written to OUT/<NET.STA.LOC>.json (and .png with --plot). Unreadable files and
    bad records are reported on stderr and skipped.

    \b
    Example:
      obspy-gen hvsr records/*.mseed --preset timesnet-gen-paper --plot --out hvsr/
    """
    settings = settings_from_options(preset, **options)
    files, unmatched = expand_inputs(inputs)
    for item in unmatched:
        error(item, "no such file (or nothing matched)")
    if not files:
        raise click.UsageError("no input files")
    summaries, n_fail = run_hvsr(files, settings, out, per_file, plot, jobs, quiet, fmt)
    if summaries:
        print_summary(summaries)
        click.echo(f"wrote {len(summaries)} result(s) to {out}" +
                   (f"; {n_fail} failed" if n_fail else ""))
    raise SystemExit(0 if summaries else 1)

"""``obspy-gen hvsr``: HVSR and f0 per station from any files ObsPy can read."""
from __future__ import annotations

import click

from obspy_gen import batch
from obspy_gen.batch import group_by_station, hvsr_station_job as station_job  # noqa: F401
from obspy_gen.cli.common import error, expand_inputs, format_table
from obspy_gen.cli.options import collect, dataclass_options
from obspy_gen.core.settings import FIELD_INFO, PRESETS, HVSRSettings, resolve_settings


def _fmt(v, spec=".3f"):
    return "-" if v is None or v != v else format(v, spec)


def read_files(files, fmt=None, quiet=False, executor=None):
    """Read files (see :func:`obspy_gen.batch.read_files`), failures reported on stderr."""
    return batch.read_files(files, fmt, executor=executor, report=error, quiet=quiet)


def run_hvsr(files, settings, out, per_file=False, plot=False, jobs=1, quiet=False, fmt=None,
             executor=None):
    """Read, group, compute, write (:func:`obspy_gen.batch.run_hvsr`), problems on stderr.

    ``jobs > 1`` runs the stations in a process pool, unless an ``executor`` is given.
    Returns (summaries by station, number of failures).
    """
    if executor is not None:
        return batch.run_hvsr(files, settings, out, per_file, plot, executor=executor,
                              fmt=fmt, report=error, quiet=quiet)
    pool = batch.process_pool(jobs)
    if pool is None:
        return batch.run_hvsr(files, settings, out, per_file, plot, fmt=fmt, report=error,
                              quiet=quiet)
    with pool:
        return batch.run_hvsr(files, settings, out, per_file, plot, executor=pool, fmt=fmt,
                              report=error, quiet=quiet)


def print_summary(summaries):
    rows = [[k, s["n_records"], s["n_windows"], _fmt(s["f0"]), _fmt(s["amplitude_f0"], ".2f"),
             _fmt(s["f0_windows_median"]), _fmt(s["f0_windows_std_ln"])]
            for k, s in summaries.items()]
    click.echo(format_table(["station", "records", "windows", "f0_Hz", "A0", "f0_win_median_Hz",
                             "f0_win_std_ln"], rows))


def settings_options(func=None, *, exclude=()):
    """The HVSR settings as click options, one per :class:`HVSRSettings` field (names mirror
    the Python keywords), plus ``--preset``; ``exclude`` leaves fields out (a command whose
    own option has that name). Use as ``@settings_options`` or
    ``@settings_options(exclude=("spacing",))``."""
    def decorate(f):
        f = dataclass_options(HVSRSettings, info=FIELD_INFO, exclude=exclude)(f)
        return click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
                            help="Named settings to start from (default: 'default').")(f)
    return decorate if func is None else decorate(func)


def settings_from_options(preset, **options):
    """:class:`HVSRSettings` from ``--preset`` and the settings flags given."""
    overrides = collect(HVSRSettings, options, info=FIELD_INFO)
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

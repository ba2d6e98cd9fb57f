"""``obspy-gen hvsr``: HVSR and f0 per station from any files ObsPy can read."""
from __future__ import annotations

import click

from obspy_gen import batch
from obspy_gen.batch import group_by_station, hvsr_station_job as station_job  # noqa: F401
from obspy_gen.cli.common import error, expand_inputs, format_table, open_executor
from obspy_gen.cli.options import collect, dataclass_options, scheduler_option
from obspy_gen.core.settings import FIELD_INFO, PRESETS, HVSRSettings, resolve_settings


def _fmt(v, spec=".3f"):
    return "-" if v is None or v != v else format(v, spec)


def read_files(files, fmt=None, quiet=False, executor=None):
    """Read files (see :func:`obspy_gen.batch.read_files`), failures reported on stderr."""
    return batch.read_files(files, fmt, executor=executor, report=error, quiet=quiet)


def run_hvsr(files, settings, out, per_file=False, plot=False, jobs=1, quiet=False, fmt=None,
             executor=None, *, scheduler="local", resume=False, vs30_model=None):
    """Read, group, compute, write (:func:`obspy_gen.batch.run_hvsr`), problems on stderr.

    The jobs run on ``executor`` when given, else where ``scheduler`` says
    (:func:`obspy_gen.cli.common.open_executor`; ``local`` with ``jobs > 1`` = a process
    pool). Returns (summaries by station, number of failures).
    """
    kwargs = dict(fmt=fmt, report=error, quiet=quiet, resume=resume, vs30_model=vs30_model)
    if executor is not None:
        return batch.run_hvsr(files, settings, out, per_file, plot, executor=executor, **kwargs)
    with open_executor(scheduler, jobs) as ex:
        return batch.run_hvsr(files, settings, out, per_file, plot, executor=ex, **kwargs)


def print_summary(summaries):
    vs30 = any(s.get("vs30_model") for s in summaries.values())
    rows = [[k, s["n_records"], s["n_windows"], _fmt(s["f0"]), _fmt(s["amplitude_f0"], ".2f"),
             _fmt(s["f0_windows_median"]), _fmt(s["f0_windows_std_ln"]),
             f"{s.get('sesame_reliability', '-')} {s.get('sesame_clarity', '-')}"]
            + ([_fmt(s.get("vs30"), ".0f")] if vs30 else []) for k, s in summaries.items()]
    click.echo(format_table(["station", "records", "windows", "f0_Hz", "A0", "f0_win_median_Hz",
                             "f0_win_std_ln", "sesame"] + (["vs30_m/s"] if vs30 else []),
                            rows))


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
@scheduler_option
@click.option("--resume", is_flag=True,
              help="Skip stations whose outputs in OUT are complete (same files and "
                   "settings): an interrupted run goes on where it stopped.")
@click.option("--vs30-model", default=None,
              help="Vs30 predictor plugin (see `obspy-gen plugins`): each station's Vs30 in "
                   "its JSON and stations.csv.")
@click.option("--format", "fmt", default=None, help="Force an ObsPy format (default: detect).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def hvsr_command(inputs, out, preset, per_file, plot, jobs, scheduler, resume, vs30_model, fmt,
                 quiet, **options):
    """HVSR curve and f0 of every station in INPUTS (files, globs, folders).

    Traces are grouped by NET.STA.LOC; all windows of all records of a station form one
    result, written to OUT/<NET.STA.LOC>.json (and .png with --plot) as soon as the station
    is done. OUT/stations.csv (station, records, f0, f0 spread, A0, SESAME verdicts, Vs30
    with --vs30-model) and OUT/summary.png (f0 histogram, f0 vs A0) cover the archive.
    Unreadable files and bad records are reported on stderr and skipped.

    \b
    Examples:
      obspy-gen hvsr records/*.mseed --preset timesnet-gen-paper --plot --out hvsr/
      obspy-gen hvsr archive/ --out hvsr/ --jobs 2 --resume
      obspy-gen hvsr archive/ --out hvsr/ --scheduler tcp://10.0.0.1:8786
    """
    settings = settings_from_options(preset, **options)
    files, unmatched = expand_inputs(inputs)
    for item in unmatched:
        error(item, "no such file (or nothing matched)")
    if not files:
        raise click.UsageError("no input files")
    if vs30_model:
        _check_vs30_model(vs30_model)
    summaries, n_fail = run_hvsr(files, settings, out, per_file, plot, jobs, quiet, fmt,
                                 scheduler=scheduler, resume=resume, vs30_model=vs30_model)
    if summaries:
        print_summary(summaries)
        n_resumed = sum(bool(s.get("resumed")) for s in summaries.values())
        click.echo(f"wrote {len(summaries) - n_resumed} result(s), stations.csv and "
                   f"summary.png to {out}" +
                   (f"; {n_resumed} complete already (resumed)" if n_resumed else "") +
                   (f"; {n_fail} failed" if n_fail else ""))
    raise SystemExit(0 if summaries else 1)


def _check_vs30_model(name):
    """A usage error (exit 2) for an unknown Vs30 plugin, exit 1 for one that cannot run."""
    from obspy_gen import registry
    try:
        cls = registry.load("vs30", name)
    except registry.PluginNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="--vs30-model") from None
    except registry.PluginLoadError as exc:
        error(name, exc)
        raise SystemExit(1)
    try:
        cls.check_requirements()
    except ImportError as exc:
        error(name, exc)
        raise SystemExit(1)

"""``obspy-gen evaluate``: real vs generated (vs ...) records, station by station."""
from __future__ import annotations

from pathlib import Path

import click

from obspy_gen.cli.common import error, expand_inputs, format_table, open_executor, progress
from obspy_gen.cli.hvsr import read_files, settings_from_options, settings_options
from obspy_gen.cli.options import scheduler_option


def _fmt(v, spec=".3f"):
    return "-" if v is None or v != v else format(v, spec)


def parse_groups(specs) -> dict:
    """``LABEL=PATH`` strings -> {label: [paths]} (a label may repeat to add inputs).

    Examples
    --------
    >>> parse_groups(["real=data/real", "gen=out/a", "gen=out/b"])
    {'real': ['data/real'], 'gen': ['out/a', 'out/b']}
    >>> parse_groups(["data/real"])
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: --group expects LABEL=PATH (e.g. real=records/), got 'data/real'
    """
    groups = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        label, path = label.strip(), path.strip()
        if not sep or not label or not path:
            raise click.BadParameter(f"--group expects LABEL=PATH (e.g. real=records/), got "
                                     f"{spec!r}")
        groups.setdefault(label, []).append(path)
    return groups


def _summary_table(report):
    ref = report.reference
    others = [g for g in report.groups if g != ref]
    headers = ["station"]
    for g in report.groups:
        headers += [f"{g}:n", f"{g}:f0_Hz"]
    headers += [f"sim_{g}" for g in others] + ["ceiling", "ceiling_std"]
    rows = []
    for s in report.stations:
        row = [s]
        for g in report.groups:
            d = report.distributions[s][g]
            n = f"{d.n_valid}/{d.n_records}" + ("" if d.status == "ok" else "!")
            row += [n, _fmt(d.f0_median, ".2f")]
        row += [_fmt(report.similarity[s].get(g)) for g in others]
        c = report.ceiling["similarity"].get(s) or {}
        row += [_fmt(c.get("mean")), _fmt(c.get("std"))]
        rows.append(row)
    return format_table(headers, rows)


@click.command("evaluate")
@click.option("--group", "-g", "group_specs", multiple=True, required=True,
              metavar="LABEL=PATH",
              help="A labelled group of records: a folder, file or glob (repeat the option "
                   "for more groups; the same label twice adds inputs). The first group is the "
                   "reference unless --reference says otherwise.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="evaluation",
              show_default=True, help="Report folder (created).")
@settings_options(exclude=("spacing",))  # --spacing here: of the f0 bins
@click.option("--bins", type=click.IntRange(1), default=20, show_default=True,
              help="Number of f0 histogram bins over --f0-range.")
@click.option("--spacing", type=click.Choice(["linear", "log"]), default="linear",
              show_default=True, help="Bin widths equal in Hz (the paper's) or in log f.")
@click.option("--js", type=click.Choice(["divergence", "distance"]), default="divergence",
              show_default=True,
              help="Similarity 1 - JSD, or 1 - sqrt(JSD) (the authors' script); base-2 logs.")
@click.option("--reference", default=None,
              help="Group whose random halves give the ceilings (default: the first).")
@click.option("--n-bootstrap", type=click.IntRange(1), default=200, show_default=True,
              help="Random splits of the reference group for the ceilings.")
@click.option("--min-records", type=click.IntRange(1), default=5, show_default=True,
              help="Fewest f0 values a station needs for a distribution.")
@click.option("--require-clear", is_flag=True,
              help="Leave records whose f0 peak is not clear out (default: count, keep).")
@click.option("--by", type=click.Choice(["station", "id"]), default="station",
              show_default=True,
              help="Match stations across groups by station code or by NET.STA.LOC.")
@click.option("--im/--no-im", "with_im", default=True, show_default=True,
              help="Compare intensity measures too (when obspy_gen.core.intensity exists).")
@click.option("--seed", type=int, default=None, help="Seed of the random splits.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations processed in parallel (local processes).")
@scheduler_option
@click.option("--format", "fmt", default=None, help="Force an ObsPy format (default: detect).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate_command(group_specs, out, preset, bins, spacing, js, reference, n_bootstrap,
                     min_records, require_clear, by, with_im, seed, jobs, scheduler, fmt, quiet,
                     f0_range, **options):
    """Compare groups of records (real, generated, ...) through per-station f0 distributions.

    For every record its own HVSR f0 (whole record; preset timesnet-gen-paper unless told),
    per station and group the f0 histogram and the mean HVSR curve, the similarity matrix
    (1 - Jensen-Shannon divergence, base-2 logs) with the paper's alignment score, and beside
    every score its ceiling: the same score between random halves of the reference group.
    Writes OUT/report.json, PNG figures and OUT/report.html (self-contained).

    \b
    Example:
      obspy-gen evaluate --group real=records/ --group generated=generated/ \\
          --out report/ --seed 0
    """
    groups = parse_groups(group_specs)
    if reference is not None and reference not in groups:
        raise click.BadParameter(f"{reference!r} is not one of the groups "
                                 f"({', '.join(groups)})", param_hint="--reference")
    from obspy import Stream

    from obspy_gen.evaluate import evaluate, write_report
    from obspy_gen.core.settings import EVALUATION_F0_RANGE
    from obspy_gen.evaluate.core import evaluation_settings

    f0_range = tuple(f0_range) if f0_range else EVALUATION_F0_RANGE
    settings = settings_from_options(preset or "timesnet-gen-paper", **options)
    try:  # settings errors are usage errors, found before any file is read
        settings = evaluation_settings(settings, f0_range=f0_range)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    streams, n_traces = {}, 0
    for label, items in groups.items():
        files, unmatched = expand_inputs(items)
        for item in unmatched:
            error(item, "no such file (or nothing matched)")
        good, _ = read_files(files, fmt, quiet)
        st = Stream()
        for _, s in good:
            st += s
        if len(st) == 0:
            error(f"group {label}", "no readable records")
        streams[label] = st
        n_traces += len(st)
    if n_traces == 0:
        error("evaluate", "nothing to evaluate: no group has a readable record")
        raise SystemExit(1)

    try:
        with open_executor(scheduler, jobs) as executor:
            report = evaluate(
                streams, settings=settings, f0_range=f0_range, bins=bins, spacing=spacing,
                js=js, reference=reference, n_bootstrap=n_bootstrap, seed=seed,
                min_records=min_records, require_clear=require_clear, by=by,
                intensity=None if with_im else False, executor=executor,
                progress=lambda total: progress(None, quiet, total=total, desc="f0",
                                                unit="record"))
    except ValueError as exc:  # settings that cannot work together (e.g. f0 range vs fmax)
        raise click.UsageError(str(exc)) from None
    for it in report.issues:
        where = "/".join(str(x) for x in (it["group"], it["station"], it["record"])
                         if x is not None)
        error(where, it["reason"])
    write_report(report, out)

    click.echo(_summary_table(report))
    ceil = report.ceiling["alignment"]
    ceil_txt = ("no ceiling (needs 2 stations with distributions in the reference group)"
                if ceil["mean"] is None else
                f"ceiling {ceil['mean']:.3f} ± {ceil['std']:.3f} from {report.reference} "
                f"halves")
    click.echo(f"alignment, all groups: {_fmt(report.alignment)}; {ceil_txt}")
    for g, score in report.alignment_vs_reference.items():
        click.echo(f"alignment, {report.reference} + {g}: {_fmt(score)}")
    n_ok = sum(d.status == "ok" for per in report.distributions.values() for d in per.values())
    click.echo(f"wrote {Path(out) / 'report.html'} and report.json ({n_ok} station "
               f"distribution(s))")
    raise SystemExit(0 if n_ok else 1)


# The shared --preset option says the hvsr command's default; this command's is the paper's.
for _param in evaluate_command.params:
    if _param.name == "preset":
        _param.help = "Named HVSR settings (default: 'timesnet-gen-paper', the paper's)."

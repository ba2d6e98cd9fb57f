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


def _iv(m, spec=".2f"):
    if not m or m.get("median") is None:
        return "-"
    return f"{format(m['median'], spec)} [{format(m['p05'], spec)}-{format(m['p95'], spec)}]"


def _verdict_text(ok):
    return "pass" if ok is True else "FAIL" if ok is False else "n/a"


def _summary_table(report):
    """Per station and candidate group: f0 figures (primary rule) and the verdict."""
    rule = report.rules[0]
    headers = ["station", "group", f"{report.reference}:f0_Hz", "f0_Hz", "sim", "sim_real",
               "spread_ratio", "spread_real", "off_2x", "verdict"]
    rows = []
    for s in report.stations:
        for g in report.candidates:
            sc = report.scores.get(g, {}).get(s, {})
            figs = sc.get("figures", {}).get(rule, {})
            ref_d, d = report.distributions[s][report.reference], report.distributions[s][g]

            def fig(k, part="model", spec=".2f"):
                f = figs.get(k)
                if not f:
                    return "-"
                m = f[part]
                if part == "ceiling":
                    return "-" if m["median"] is None else \
                        f"{format(m['p05'], spec)}-{format(m['p95'], spec)}"
                return _iv(m, spec)
            st = report.verdict["groups"][g]["stations"].get(s, {})
            rows.append([s, g, _fmt(ref_d.f0_median, ".2f"), _fmt(d.f0_median, ".2f"),
                         fig("f0_similarity"), fig("f0_similarity", "ceiling"),
                         fig("f0_spread_ratio"), fig("f0_spread_ratio", "ceiling"),
                         fig("f0_off_2x"), _verdict_text(st.get("pass"))])
    return format_table(headers, rows)


def _gmpe_lines(check):
    """GMPE check: issues on stderr, one summary line per group on stdout."""
    for it in check.issues:
        error(f"gmpe/{it['group']}/{it['record']}", it["reason"])
    for g in check.groups:
        sm = check.summary[g]
        if not sm["pga"]["n"]:
            click.echo(f"GMPE check, {g}: no record with a scenario")
            continue
        cells = []
        for name in ("pga", "pgv", "sa(0.2 s)", "sa(1 s)", "d5_95"):
            st = sm.get(name)
            if st and st["n"]:
                cells.append(f"{name} {_fmt(st['bias'], '+.2f')} (std {_fmt(st['std'], '.2f')}"
                             f", sigma {_fmt(st['sigma'], '.2f')})")
        click.echo(f"GMPE check, {g} ({sm['pga']['n']} records), ln bias: " + "; ".join(cells))


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
              help="Group of held-out real records the others are judged against; its "
                   "matched subsets give the ceilings (default: the first).")
@click.option("--training", "training_paths", multiple=True, metavar="PATH",
              help="The generator's training records (folder, file or glob; repeatable): "
                   "generated records are checked for copies and linear mixes of them.")
@click.option("--reconstruction", "reconstructions", multiple=True, metavar="LABEL",
              help="A group that holds reconstructions (encode -> decode) of real records: "
                   "reported beside the generated groups, not judged for memorisation.")
@click.option("--n-bootstrap", type=click.IntRange(1), default=200, show_default=True,
              help="Matched resampling replicates for the intervals and ceilings.")
@click.option("--min-records", type=click.IntRange(1), default=5, show_default=True,
              help="Fewest f0 values a station needs for a distribution.")
@click.option("--require-clear", is_flag=True,
              help="Leave records whose f0 peak is not clear out (default: count, keep).")
@click.option("--by", type=click.Choice(["station", "id"]), default="station",
              show_default=True,
              help="Match stations across groups by station code or by NET.STA.LOC.")
@click.option("--im/--no-im", "with_im", default=True, show_default=True,
              help="Compare intensity measures too (when obspy_gen.core.intensity exists).")
@click.option("--units", default=None, metavar="UNITS",
              help="Units of records that do not say theirs (e.g. miniSEED from elsewhere): "
                   "m/s**2, gal, g, ... Records in unknown units get no intensity measures.")
@click.option("--inventory", type=click.Path(dir_okay=False), default=None,
              help="StationXML (or ObsPy-readable) responses for records in counts: removed "
                   "before the intensity measures.")
@click.option("--gmpe", default="none", show_default=True,
              help="Also check records with a scenario (magnitude, distance, Vs30 from their "
                   "labels) against ground-motion models: auto (ASB14 in Türkiye/Europe, "
                   "BSSA14 elsewhere), asb14, bssa14 or none; D5-95 against AS16.")
@click.option("--vs30", "gmpe_vs30", type=click.FloatRange(min=50, max=5000), default=None,
              help="Vs30 (m/s) for the GMPE check of records that carry none.")
@click.option("--seed", type=int, default=None, help="Seed of the random splits.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations processed in parallel (local processes).")
@scheduler_option
@click.option("--format", "fmt", default=None, help="Force an ObsPy format (default: detect).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate_command(group_specs, out, preset, bins, spacing, js, reference, training_paths,
                     reconstructions, n_bootstrap, min_records, require_clear, by, with_im,
                     units, inventory, gmpe, gmpe_vs30, seed, jobs, scheduler, fmt, quiet,
                     f0_range, **options):
    """Judge generated records against held-out real ones, station by station.

    For every record its own HVSR f0 by both rules (the paper's lowest clear peak first, then
    the highest peak), per station and group the f0 histogram, mean HVSR curve and intensity
    measures; the paper's similarity matrix and alignment score; for every other group the
    f0 similarity, median error, spread ratio, share off by > 2x and the Wasserstein
    distances of ln PGA, PGV, Sa(0.1/0.3/1/3 s) and D5-95, each with a 90 % interval next
    to the same figure between real records of the same counts (the ceiling); copies and
    linear mixes of the --training and reference records; a verdict per station naming the
    failing figures. Writes OUT/report.json, PNG figures and OUT/report.html.

    \b
    Example:
      obspy-gen evaluate --group real=heldout/ --group generated=generated/ \\
          --training train/ --out report/ --seed 0
    """
    groups = parse_groups(group_specs)
    if reference is not None and reference not in groups:
        raise click.BadParameter(f"{reference!r} is not one of the groups "
                                 f"({', '.join(groups)})", param_hint="--reference")
    ref_label = reference if reference is not None else next(iter(groups))
    for g in reconstructions:
        if g not in groups or g == ref_label:
            raise click.BadParameter(f"{g!r} is not one of the compared groups "
                                     f"({', '.join(x for x in groups if x != ref_label)})",
                                     param_hint="--reconstruction")
    from obspy import Stream

    from obspy_gen.evaluate import evaluate, write_report
    from obspy_gen.core.settings import EVALUATION_F0_RANGE
    from obspy_gen.evaluate.core import evaluation_settings

    im_options = {}
    if units is not None:
        from obspy_gen.core.intensity import unit_factor
        try:
            unit_factor(units)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--units") from None
    if inventory is not None:
        from obspy_gen.core.intensity import load_inventory
        try:
            im_options["inventory"] = load_inventory(inventory)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--inventory") from None
    gmpe_kw = None
    if gmpe.strip().lower() != "none":
        from obspy_gen.evaluate.gmpe import resolve_gmpe
        try:
            name = "auto" if gmpe.strip().lower() == "auto" else resolve_gmpe(gmpe)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--gmpe") from None
        gmpe_kw = {"gmpe": name, "vs30": gmpe_vs30}
    f0_range = tuple(f0_range) if f0_range else EVALUATION_F0_RANGE
    settings = settings_from_options(preset or "timesnet-gen-paper", **options)
    try:  # settings errors are usage errors, found before any file is read
        settings = evaluation_settings(settings, f0_range=f0_range)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    def read_group(label, items):
        files, unmatched = expand_inputs(items)
        for item in unmatched:
            error(item, "no such file (or nothing matched)")
        good, _ = read_files(files, fmt, quiet)
        st = Stream()
        for path, s in good:
            if gmpe_kw is not None:  # scenario labels of simulated / suite records
                from obspy_gen.evaluate.gmpe import attach_labels
                attach_labels(path, s)
            st += s
        if units is not None:  # only records that do not say (K-NET's calib says counts)
            for tr in st:
                if "units" not in tr.stats and tr.stats.get("_format") != "KNET":
                    tr.stats.units = units
        return st, unmatched

    # The reference (and the training set) is what every figure is judged against: without
    # a record in it there is no evaluation, which is a usage error and nothing is written.
    streams = {}
    st, unmatched = read_group(ref_label, groups[ref_label])
    if len(st) == 0:
        what = ("does not exist" if unmatched and len(unmatched) == len(groups[ref_label])
                else "holds no readable record")
        raise click.UsageError(f"reference group {ref_label!r} "
                               f"({', '.join(groups[ref_label])}) {what}")
    streams[ref_label] = st
    training = None
    if training_paths:
        training, unmatched = read_group("training", training_paths)
        if len(training) == 0:
            what = "does not exist" if unmatched else "holds no readable record"
            raise click.UsageError(f"--training ({', '.join(training_paths)}) {what}")
    for label, items in groups.items():
        if label == ref_label:
            continue
        st, _ = read_group(label, items)
        if len(st) == 0:
            error(f"group {label}", "no readable records")
        streams[label] = st
    streams = {label: streams[label] for label in groups}  # the user's order

    import warnings
    try:
        # The GMPE check's range notes are listed below.
        with open_executor(scheduler, jobs) as executor, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="GMPE check")
            report = evaluate(
                streams, settings=settings, f0_range=f0_range, bins=bins, spacing=spacing,
                js=js, reference=reference, n_bootstrap=n_bootstrap, seed=seed,
                min_records=min_records, require_clear=require_clear, by=by,
                intensity=(im_options or None) if with_im else False, training=training,
                reconstructions=reconstructions, gmpe=gmpe_kw, executor=executor,
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
    for rule in report.rules:
        full = report.alignment_full[rule]["all_groups"]
        click.echo(f"alignment ({rule}), all groups, all records: "
                   f"{_fmt(full['with_diagonal'])} with diagonal (the paper's), "
                   f"{_fmt(full['without_diagonal'])} without")
        for g, m in report.alignment_matched[rule]["vs_reference"].items():
            nd = m["without_diagonal"]
            c = nd["ceiling"]
            ceil = "-" if c["median"] is None else f"{c['p05']:.3f}-{c['p95']:.3f}"
            click.echo(f"  {report.reference} + {g}, matched, no diagonal: "
                       f"{_iv(nd['model'], '.3f')}; real-vs-real {ceil}: "
                       f"{_verdict_text(nd['pass'])}")
    overall = report.verdict["overall"]
    click.echo(f"verdict ({overall['rule']}): {_verdict_text(overall['pass'])}")
    for line in overall["failing"]:
        click.echo(f"  fails: {line}")
    if report.gmpe is not None:
        _gmpe_lines(report.gmpe)
    n_ok = sum(d.status == "ok" for per in report.distributions.values() for d in per.values())
    click.echo(f"wrote {Path(out) / 'report.html'} and report.json ({n_ok} station "
               f"distribution(s))")
    raise SystemExit(0 if n_ok else 1)


# The shared settings options say the hvsr command's defaults; this command starts from the
# paper's preset, so its --help shows that preset's values (e.g. --f0-rule lowest_clear_peak).
def _paper_defaults_in_help(command):
    import dataclasses
    from obspy_gen.core.settings import PRESETS, HVSRSettings
    paper = PRESETS["timesnet-gen-paper"]
    fields = {f.name for f in dataclasses.fields(HVSRSettings)}
    for param in command.params:
        if param.name == "preset":
            param.help = "Named HVSR settings (default: 'timesnet-gen-paper', the paper's)."
        elif (param.name in fields and isinstance(param.help, str)
              and not getattr(param, "show_default", False)):  # not this command's own
            value = getattr(paper, param.name)
            text = param.help.rsplit(" [default: ", 1)[0].rstrip()
            if value not in (None, (), [], ""):
                shown = ",".join(map(str, value)) if isinstance(value, (tuple, list)) else value
                text = f"{text} [default: {shown}]".strip()
            param.help = text


_paper_defaults_in_help(evaluate_command)

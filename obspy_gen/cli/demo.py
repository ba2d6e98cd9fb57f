"""``obspy-gen demo``: the main jobs end to end on bundled data and the shipped model."""
from pathlib import Path

import click

from obspy_gen.cli.common import error, format_table, progress
from obspy_gen.cli.hvsr import print_summary, run_hvsr

#: The five virtual stations of the TimesNet-Gen paper's Table I (stochastic catalogue).
PAPER_STATIONS = ("2020", "4628", "0205", "1716", "3130")


#: Label of the held-out simulated records the generated ones are judged against.
HELD_OUT = "simulated (held-out)"


def _generation_demo(out, n, seed, quiet):
    """Generate n records per paper station with the shipped TimesNet-Gen checkpoint, simulate
    n held-out records per station with the physics-based simulator (the records the model
    was trained on are simulate('paper5', seed=0); the held-out ones use another seed),
    reconstruct the held-out records through the model, and evaluate all of it."""
    from obspy import Stream

    from obspy_gen.core.records import split_records
    from obspy_gen.evaluate import evaluate, write_report
    from obspy_gen.io.atomic import atomic_path
    from obspy_gen.io.provenance import record_row, write_provenance
    from obspy_gen.plugins import load
    from obspy_gen.plugins.stochastic import simulate

    if seed == 0:
        raise click.BadParameter("seed 0 simulates the shipped model's training records; "
                                 "held-out records need another seed", param_hint="--seed")
    # Keyed by station code (the simulator keys its Streams by NET.STA.LOC).
    held_out = {k.split(".")[1]: v for k, v in
                simulate(catalog="paper5", seed=seed, n=n).streams.items()}
    # The shipped checkpoint's training records (its JSON says simulate('paper5', seed=0)):
    # the generated records are checked for copies and linear mixes of them.
    training = simulate(catalog="paper5", seed=0).streams
    generator = load("generators", "timesnet-gen")()
    generated, reconstructed, provenance = {}, {}, []
    for k, station in enumerate(PAPER_STATIONS):
        st = generator.generate(station=station, n=n, seed=seed + k)
        generated[station] = st
        reconstructed[station] = generator.reconstruct(held_out[station], station=station)
        name = f"{station}_timesnet-gen.mseed"
        with atomic_path(Path(out) / "generated" / name) as tmp:
            st.write(tmp, format="MSEED")
        provenance += [record_row(rec, name) for rec in split_records(st)]
    # miniSEED drops stats.obspy_gen (model, seed, synthetic, ...): keep it beside the files.
    write_provenance(Path(out) / "generated", provenance)
    # Flat Streams: evaluate groups them by station code. f0 by the paper's rule (lowest
    # clear peak in 1-20 Hz), the highest peak reported beside it.
    report = evaluate({HELD_OUT: sum(held_out.values(), Stream()),
                       "timesnet-gen": sum(generated.values(), Stream()),
                       "timesnet-gen reconstructed": sum(reconstructed.values(), Stream())},
                      preset="timesnet-gen-paper", training=sum(training.values(), Stream()),
                      reconstructions=["timesnet-gen reconstructed"], n_bootstrap=100,
                      seed=seed,
                      progress=lambda total: progress(None, quiet, total=total, desc="f0"))
    write_report(report, Path(out) / "report")
    return report


def _headline(report, limit=12):
    """Lines summarising the verdict: every failing figure, grouped by kind."""
    v = report.verdict["overall"]
    state = {True: "PASS", False: "FAIL", None: "not judged"}[v["pass"]]
    lines = [f"verdict ({v['rule']} f0 rule, every figure against held-out simulated records "
             f"of the same counts): {state}"]
    for g, gv in report.verdict["groups"].items():
        for name, where in gv["failing_summary"].items():
            lines.append(f"  {g} fails: {name} at {', '.join(where)}")
    for item in v["failing"][:limit]:
        lines.append(f"    {item}")
    if len(v["failing"]) > limit:
        lines.append(f"    ... {len(v['failing']) - limit} more in the report")
    return lines


@click.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="obspy-gen-demo",
              show_default=True, help="Output folder (created).")
@click.option("-n", "n", type=click.IntRange(2), default=20, show_default=True,
              help="Records per station for the generation demo.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--hvsr-only", is_flag=True, help="Only the HVSR part (no torch needed).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def demo_command(out, n, seed, hvsr_only, quiet):
    """Run obspy-gen on the bundled records and the shipped model.

    1. HVSR (TimesNet-Gen paper settings: whole record, quadratic-mean horizontals,
       Konno-Ohmachi b=40, lowest clear peak in 1-20 Hz) of each bundled real record: JSON
       results and figures in OUT/hvsr/, f0 table on screen.
    2. Generation: N records for each of the paper's five stations with the shipped
       TimesNet-Gen checkpoint (trained on SYNTHETIC records), evaluated against N held-out
       records of the physics-based simulator (f0 by the paper's lowest clear peak, the
       highest peak beside it; matched real-vs-real ceilings; copies and mixes of the
       training records; the model's reconstructions beside): OUT/generated/,
       OUT/report/report.html. The verdict names every failing figure.

    Exit status 0 when every part ran; 1 (with the part named on stderr) when a part could
    not run, e.g. the generation part without torch (use --hvsr-only there).

    \b
    Example:
      obspy-gen demo --out demo/
    """
    from obspy_gen.core.settings import PRESETS
    from obspy_gen.data import bundled_records
    files = [f for paths in bundled_records().values() for f in paths]
    hvsr_dir = Path(out) / "hvsr"
    summaries, n_fail = run_hvsr(files, PRESETS["timesnet-gen-paper"], hvsr_dir, plot=True,
                                 quiet=quiet)
    if not summaries:
        error("demo", "no bundled record could be processed")
        raise SystemExit(1)
    click.echo("HVSR of the bundled real records (TimesNet-Gen paper settings):")
    print_summary(summaries)
    click.echo(f"results and figures in {hvsr_dir}/")
    if n_fail:  # a bundled record that fails is a broken install: say so, exit 1 at the end
        error("demo", f"HVSR part: {n_fail} failure(s) on the bundled records (above)")
    if hvsr_only:
        raise SystemExit(1 if n_fail else 0)
    try:
        report = _generation_demo(out, n, seed, quiet)
    except Exception as exc:  # noqa: BLE001 -- whatever breaks the part fails the demo, loudly
        hint = ""
        if isinstance(exc, ImportError):
            missing = getattr(exc, "name", None) or str(exc)
            hint = (" (the generation part needs obspy-gen[torch]; `obspy-gen demo --hvsr-only` "
                    "runs without it)" if "torch" in missing or "safetensors" in missing else
                    " (a dependency is missing: reinstall obspy-gen, e.g. pip install "
                    "\"obspy-gen[torch]\")")
        error("demo", f"generation part failed: {type(exc).__name__}: {exc}{hint}")
        raise SystemExit(1)
    d = report.to_dict()
    rule = report.rules[0]
    click.echo(f"\nTimesNet-Gen (shipped checkpoint, synthetic training data): {n} generated vs "
               f"{n} held-out simulated records per station (f0 = {rule}, 1-20 Hz)")
    rows = []
    for station in PAPER_STATIONS:
        groups = d["stations"].get(station, {}).get("groups", {})
        st = report.verdict["groups"]["timesnet-gen"]["stations"].get(station, {})
        rows.append([station] + [_fmt(groups.get(g, {}).get("f0_median"))
                                 for g in (HELD_OUT, "timesnet-gen",
                                           "timesnet-gen reconstructed")] +
                    [{True: "pass", False: "FAIL", None: "n/a"}[st.get("pass")]])
    click.echo(format_table(["station", "simulated_median_f0_Hz", "generated_median_f0_Hz",
                             "reconstructed_median_f0_Hz", "verdict"], rows))
    al = report.alignment_matched[rule]["vs_reference"]["timesnet-gen"]["without_diagonal"]
    m, c = al["model"], al["ceiling"]
    click.echo(f"alignment, all records (paper's, with diagonal): {_fmt(report.alignment)}; "
               f"matched, no diagonal: {_fmt(m['median'])} [{_fmt(m['p05'])}-"
               f"{_fmt(m['p95'])}], simulated-vs-simulated {_fmt(c['p05'])}-{_fmt(c['p95'])}")
    for line in _headline(report):
        click.echo(line)
    click.echo(f"report in {Path(out) / 'report' / 'report.html'}")
    raise SystemExit(1 if n_fail else 0)


def _fmt(v):
    return "-" if v is None else f"{v:.3f}"

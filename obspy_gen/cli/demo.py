"""``obspy-gen demo``: the main job end to end on the bundled real records."""
from pathlib import Path

import click

from obspy_gen.cli.common import error
from obspy_gen.cli.hvsr import print_summary, run_hvsr


@click.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="obspy-gen-demo",
              show_default=True, help="Output folder (created).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def demo_command(out, quiet):
    """Run obspy-gen on the records bundled with the package.

    Computes the HVSR (TimesNet-Gen paper settings: whole record, quadratic-mean horizontals,
    Konno-Ohmachi b=40, f0 in 1-20 Hz) of each bundled record, writes JSON results and figures
    to OUT and prints the f0 table.

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
    click.echo("HVSR of the bundled records (TimesNet-Gen paper settings):")
    print_summary(summaries)
    click.echo(f"results and figures in {hvsr_dir}/")

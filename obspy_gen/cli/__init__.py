"""The ``obspy-gen`` command line: a thin layer over the library.

Commands live one per module; each has ``--help`` with an example.
"""
import click

from obspy_gen import __version__
from obspy_gen.cli.demo import demo_command
from obspy_gen.cli.evaluate import evaluate_command
from obspy_gen.cli.generate import generate_command
from obspy_gen.cli.simulate import simulate
from obspy_gen.cli.train import train_command
from obspy_gen.cli.hvsr import hvsr_command
from obspy_gen.cli.plugins import plugins_command
from obspy_gen.cli.vs30 import vs30_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="obspy-gen")
def main():
    """obspy-gen: HVSR, f0 and Vs30 of strong-motion sites, and site-specific record generation.

    \b
    Example:
      obspy-gen demo
      obspy-gen hvsr data/*.mseed --plot --out hvsr/
    """


main.add_command(hvsr_command)
main.add_command(plugins_command)
main.add_command(demo_command)
main.add_command(evaluate_command)
main.add_command(generate_command)
main.add_command(simulate)
main.add_command(train_command)
main.add_command(vs30_command)

"""``obspy-gen simulate``: physics-based stochastic records for a virtual-station catalogue.

Exit status: 0 = records written, 1 = nothing written (e.g. the folder is not writable),
2 = usage error (bad option, profile file or value); errors go to stderr as
``obspy-gen: <what>: <reason>``. Python API: :func:`obspy_gen.plugins.stochastic.simulate`.

Examples
--------
>>> import os, tempfile
>>> from click.testing import CliRunner
>>> out = tempfile.mkdtemp()
>>> res = CliRunner().invoke(simulate, ["--out", out, "-n", "1", "--quiet"])
>>> res.exit_code, len([f for f in os.listdir(out) if f.endswith(".mseed")])
(0, 5)
>>> res = CliRunner().invoke(simulate, ["--out", out, "--sampling-rate", "5"])
>>> res.exit_code, res.output.strip()
(2, 'obspy-gen: simulate: sampling_rate must be between 20 and 1000 Hz, got 5.0')
"""
from __future__ import annotations

import sys

import click

from obspy_gen.cli.common import error, format_table, open_executor
from obspy_gen.cli.options import scheduler_option

EPILOG = """\b
Examples:
  obspy-gen simulate --catalog paper5 --out sim/ --seed 1
  obspy-gen simulate --catalog corpus --n-stations 50 --records-per-station 10 --out corpus/
  obspy-gen simulate --profile site.csv --station-code MYSIT -n 30 --out mysite/

\b
A profile file is CSV (header thickness,vs,density,damping[,vp]; one row per layer from the
surface, units m, m/s, kg/m^3, damping fraction; the last row is the half-space with an empty
thickness) or JSON ({"layers": [[h, vs, rho, d], ...], "halfspace": [vs, rho, d]}).

\b
Writes DIR/<NET.STA.LOC>_stochastic_<i:04d>.mseed (m/s^2, 100 Hz), stations.csv,
records.csv (labels: magnitude, distance, p/s arrivals, pga, f0, vs30, ...) and profiles.json.
"""


def _fail(what: str, reason: str, code: int):
    error(what, reason)
    sys.exit(code)


def _parse_range(value, name):
    """'5' -> 5.0, '4,6' -> (4.0, 6.0); None stays None."""
    if value is None:
        return None
    parts = [p.strip() for p in str(value).split(",")]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"expected a number or MIN,MAX, got {value!r}",
                                 param_hint=f"--{name}") from None
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 2:
        return tuple(nums)
    raise click.BadParameter(f"expected a number or MIN,MAX, got {value!r}",
                             param_hint=f"--{name}")


HELP = """Simulate strong-motion records (Boore 2003 stochastic method + 1-D soil column).

Source/path spectra from pyrvt, site response from pystrata; horizontals through the SH
transfer function, the vertical through the P response, so H/V peaks at the site f0.
"""


@click.command("simulate", help=HELP, epilog=EPILOG)
@click.option("--catalog", type=click.Choice(["paper5", "corpus"]), default=None,
              help="Virtual stations: the paper's five (Table I) or a random corpus. "
                   "[default: paper5]")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
              help="Output folder (created).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Master random seed (same seed, same files).")
@click.option("--profile", type=click.Path(dir_okay=False),
              help="Soil profile CSV/JSON file: simulate this one site instead of a catalog.")
@click.option("--station-code", default=None, help="Station code for --profile [SITE].")
@click.option("-n", "--n-records", type=click.IntRange(min=1), default=None,
              help="Records per station (default: the catalog's, 20 for --profile).")
@click.option("--n-stations", type=click.IntRange(1, 9999), default=300, show_default=True,
              help="Corpus size (with --catalog corpus).")
@click.option("--records-per-station", type=click.IntRange(min=1), default=20,
              show_default=True, help="Corpus records per station.")
@click.option("--sampling-rate", type=float, default=100.0, show_default=True,
              help="Output sampling rate in Hz (20-1000).")
@click.option("--magnitude", default=None, help="Mw, or MIN,MAX (default 3.5,6.5, G-R).")
@click.option("--distance", default=None, help="Epicentral km, or MIN,MAX.")
@click.option("--region", type=click.Choice(["wna", "cena"]), default="wna", show_default=True,
              help="pyrvt source/path parameter set (wna = active crust).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations simulated in parallel (local processes).")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary table.")
def simulate(catalog, out, seed, profile, station_code, n_records, n_stations,
             records_per_station, sampling_rate, magnitude, distance, region, jobs, scheduler,
             quiet):
    """The ``obspy-gen simulate`` command; see :data:`HELP` and the module docstring."""
    from obspy_gen.plugins.stochastic import SoilProfile
    from obspy_gen.plugins.stochastic import simulate as run

    if catalog is not None and profile is not None:
        _fail("simulate", "give --catalog or --profile, not both", 2)
    options = dict(sampling_rate=sampling_rate, region=region,
                   magnitude=_parse_range(magnitude, "magnitude"),
                   distance=_parse_range(distance, "distance"))
    prof = None
    if profile is not None:
        try:
            prof = SoilProfile.read(profile)
        except ValueError as exc:
            # The message starts with the file name: "<path>: <reason>".
            where, _, reason = str(exc).partition(": ")
            _fail(where, reason, 2)
    try:
        with open_executor(scheduler, jobs) as executor:
            result = run((catalog or "paper5") if prof is None else None, out=out, seed=seed,
                         profile=prof, station_code=station_code, n=n_records,
                         n_stations=n_stations, records_per_station=records_per_station,
                         progress=not quiet and sys.stderr.isatty(), executor=executor,
                         **options)
    except ValueError as exc:
        _fail("simulate", str(exc), 2)
    except OSError as exc:
        _fail(getattr(exc, "filename", None) or out, exc.strerror or str(exc), 1)
    if not quiet:
        rows = [[f"{r['network']}.{r['station']}.{r['location']}", f"{r['vs30']:.0f}",
                 r["nehrp_class"], "" if r["f0"] is None else f"{r['f0']:.2f}", r["n_records"]]
                for r in result.stations]
        click.echo(format_table(["station", "vs30_m/s", "nehrp", "f0_Hz", "records"], rows))
        click.echo(f"wrote {len(result.files)} record(s), stations.csv, records.csv and "
                   f"profiles.json to {out}")
    sys.exit(0 if result.files else 1)

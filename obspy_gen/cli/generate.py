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

import click

from obspy_gen.batch import record_filename  # noqa: F401 (re-exported)
from obspy_gen.cli.common import error, expand_inputs, format_table, open_executor
from obspy_gen.cli.options import scheduler_option

EPILOG = """\b
Examples:
  obspy-gen generate --station 4628 -n 50 --out gen/ --seed 1
  obspy-gen generate --records mysite/*.mseed -n 20 --out gen/      # zero-shot pool
  obspy-gen generate --station 3130 -n 5 --noise-scale 0 --out gen/ # the authors' sampling
  obspy-gen generate --station 4628 --magnitude 6.5 --distance 20 -n 11 \\
      --target asb14 --periods 0.1-2 --out suite/     # a suite matching ASB14
  obspy-gen generate --station 2020,4628,0205 -n 100 --out gen/ --jobs 2 # one job a station

\b
Writes one miniSEED per record, OUT/<NET.STA.LOC>_<model>_<i:04d>.mseed (HNN/HNE/HNZ,
m/s^2), each written atomically, OUT/records.csv (provenance: model, version, seed, record,
synthetic, units, conditions; miniSEED cannot hold it; `obspy-gen evaluate --gmpe` reads the
scenario back from it) and prints a summary table. Scenario conditions
(--magnitude, --distance, --depth, --vs30) go to generators that declare them; without
--model they pick the first such generator (stochastic). With --target, a candidate pool
(--pool; more batches, up to 4x, while the best suite misses the tolerance) is generated
and N records are selected and amplitude-scaled (--scale-bounds) so
that their median Sa matches the GMPE's median over --periods; the misfit is printed and
OUT/suite.csv lists each record's factor and IMs. A target no suite within the bounds meets
(--tolerance) is reported and nothing is written. Several stations (--station A,B or
repeated) make a batch, one job per station run by --jobs/--scheduler; a station that fails
is reported and the others are written (--target takes one station).
"""


def write_records(stream, out, model, quiet=False) -> list:
    """Write each record of a generated Stream to ``out`` (atomically); returns the rows of
    the summary table (index, file, id, start, seconds, PGA).

    ``out/records.csv`` gets one provenance row per record (model, version, seed, record,
    synthetic, units, conditions: :mod:`obspy_gen.io.provenance`), since miniSEED cannot keep
    ``stats.obspy_gen``.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> rows = write_records(read(), d, "demo", quiet=True)
    >>> sorted(os.listdir(d)), rows[0][2]
    (['BW.RJOB._demo_0000.mseed', 'records.csv'], 'BW.RJOB.')
    """
    from obspy_gen.batch import write_record_files
    from obspy_gen.io.provenance import write_provenance
    # ``out`` is created by the first write (atomic_write)
    rows, table = write_record_files(stream, out, model, quiet)
    if table:
        write_provenance(out, table)
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


def _range(text, name):
    """``"6.5"`` -> 6.5, ``"5,7"`` -> (5.0, 7.0)."""
    if text is None:
        return None
    try:
        vals = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number or MIN,MAX", param_hint=name)
    if len(vals) not in (1, 2):
        raise click.BadParameter(f"{text!r}: give a value or MIN,MAX", param_hint=name)
    return vals[0] if len(vals) == 1 else tuple(vals)


def _pick_model(model, conditions):
    """The --model, or (scenario conditions given, no --model) the first generator that takes
    them all; the default otherwise."""
    from obspy_gen import registry
    if model is not None or not conditions:
        return model or "timesnet-gen", None
    for name in ["timesnet-gen"] + sorted(registry.available("generators")):
        try:
            cls = registry.load("generators", name)
        except Exception:  # a broken plugin is reported when asked for by name
            continue
        if set(conditions) <= set(getattr(cls, "conditions", ())):
            note = None if name == "timesnet-gen" else (
                f"model: {name} (timesnet-gen takes no scenario conditions; "
                f"--model to choose)")
            return name, note
    return "timesnet-gen", None


def _run_suite(cls, station, n, out, seed, device, pool_records, conditions, options, target,
               periods, n_periods, pool, scale_bounds, tolerance, quiet):
    from obspy_gen.evaluate.suite import SuiteError, record_suite, write_suite
    try:
        bounds = tuple(float(v) for v in scale_bounds.split(","))
        if len(bounds) != 2:
            raise ValueError
    except ValueError:
        error("generate", f"--scale-bounds {scale_bounds!r}: give LOW,HIGH, e.g. 0.5,2")
        raise SystemExit(2)
    if "magnitude" not in conditions or "distance" not in conditions:
        error("generate", "--target needs --magnitude and --distance (the scenario)")
        raise SystemExit(2)
    if any(isinstance(conditions[k], tuple) for k in ("magnitude", "distance")):
        error("generate", "--target needs one --magnitude and one --distance, not ranges")
        raise SystemExit(2)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            suite = record_suite(cls(), station=station, n=n, target=target, periods=periods,
                                 n_periods=n_periods, pool=pool, scale_bounds=bounds,
                                 tolerance=tolerance, seed=seed, device=device,
                                 records=pool_records, **conditions, **options)
        except SuiteError as exc:
            error("generate", exc)
            raise SystemExit(1)
        except (ValueError, TypeError) as exc:
            error(cls.name, exc)
            raise SystemExit(2)
        except (RuntimeError, OSError, ImportError) as exc:
            error(cls.name, exc)
            raise SystemExit(1)
    for w in caught:
        if "GMPE" in str(w.message):
            error(f"target {target}", w.message)
    try:
        written = write_suite(suite, out)
    except OSError as exc:
        error(out, f"cannot write: {exc.strerror or exc}")
        raise SystemExit(1)
    rows = []
    for p, f, ims in zip(written, suite.factors, suite.ims):
        rows.append([p.name, f"{f:.3f}", f"{ims['pga']:.4g}", f"{ims['pgv']:.4g}",
                     f"{ims['d5_95']:.1f}"])
    click.echo(format_table(["file", "scale", "PGA_m/s2", "PGV_m/s", "D5-95_s"], rows))
    ratio = suite.median / suite.target
    click.echo(f"target {suite.gmpe} for {suite.scenario.label()}: misfit {suite.misfit:.3f} "
               f"(RMS ln of median/target over {suite.periods[0]:g}-{suite.periods[-1]:g} s, "
               f"{suite.periods.size} periods; largest {suite.max_misfit:.3f}, median/target "
               f"{ratio.min():.2f}-{ratio.max():.2f}); scale factors "
               f"{suite.factors.min():.2f}-{suite.factors.max():.2f} within "
               f"{suite.scale_bounds[0]:g}-{suite.scale_bounds[1]:g}; {len(suite.records)} of "
               f"{suite.pool_size} candidates")
    if suite.out_of_range:
        click.echo("target extrapolated: " + "; ".join(suite.out_of_range))
    click.echo(f"wrote {len(suite.records)} record(s) and suite.csv to {out} "
               f"(model {cls.name}, seed {suite.stream[0].stats.obspy_gen.seed})")
    raise SystemExit(0)


def _run_batch(model, cls, stations, pool, n, seed, device, options, out, jobs, scheduler,
               quiet):
    """One job per station (:func:`obspy_gen.batch.generate_station_job`); the jobs write
    their miniSEED files and this process writes ``records.csv`` once."""
    from obspy_gen.batch import generate_station_job, map_jobs
    from obspy_gen.io.provenance import write_provenance
    tasks = [(model, st, pool, n, seed, device, options, str(out)) for st in stations]
    with open_executor(scheduler, jobs) as executor:
        results = map_jobs(generate_station_job, tasks, executor, quiet=quiet,
                           desc="stations", errors="return")
    all_rows, table, seeds, failed = [], [], [], 0
    for task, res in zip(tasks, results):
        if isinstance(res, BaseException):
            res = (task[1], None, [], seed, (f"{model}: {task[1]}",
                                             f"failed: {type(res).__name__}: {res}", 1))
        _, rows, prov, used_seed, problem = res
        if problem is not None:
            error(*problem[:2])
            failed += 1
            continue
        all_rows += rows
        table += prov
        seeds.append(used_seed)
    if not all_rows:
        error("generate", f"all {len(tasks)} stations failed; nothing written")
        raise SystemExit(1)
    try:
        write_provenance(out, table)
    except OSError as exc:
        error(out, f"cannot write: {exc.strerror or exc}")
        raise SystemExit(1)
    click.echo(format_table(["record", "file", "id", "start", "seconds", "PGA_m/s2"], all_rows))
    used = ", ".join(str(v) for v in dict.fromkeys(seeds))
    click.echo(f"wrote {len(all_rows)} record(s) of {len(seeds)} station(s) and records.csv to "
               f"{out} (model {cls.name}, seed {used})" +
               (f"; {failed} station(s) failed" if failed else ""))
    raise SystemExit(0)


@click.command("generate", epilog=EPILOG)
@click.option("--station", "-s", "stations", multiple=True,
              help="Station code the model knows (e.g. 4628); with --records, picks one "
                   "station of several. Several (repeat or comma-separate) = a batch, one "
                   "job per station.")
@click.option("-n", "--n", "n", type=click.IntRange(1), default=1, show_default=True,
              help="Number of records.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="generated",
              show_default=True, help="Output folder (created).")
@click.option("--model", "-m", default=None,
              help="Generator plugin (see `obspy-gen plugins`); default timesnet-gen, or "
                   "with scenario conditions the first generator that takes them.")
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
@click.option("--sampling", type=click.Choice(["prior", "aligned", "mix", "local"]),
              default=None,
              help="TimesNet-Gen: station prior of aligned codes, Eq. 1 on aligned codes, "
                   "Eq. 1 as the paper, or the Gaussian of the --n-mix aligned codes nearest "
                   "one record's (default: the checkpoint's).")
@click.option("--baseline", type=click.Choice(["highpass", "floor", "quadratic", "none"]),
              default=None,
              help="TimesNet-Gen: correction of every record (default: the checkpoint's, "
                   "floor for the shipped one: high-pass at the station's fidelity corner, "
                   "then zero final velocity; highpass: at the signal-to-noise corner or the "
                   "fidelity corner, whichever is higher; quadratic: zero final velocity "
                   "only; none: raw output).")
@click.option("--timing-tolerance", type=click.FloatRange(min=0, min_open=True), default=None,
              help="TimesNet-Gen prior: combine only the station's records whose P-to-PGA "
                   "time is within this many seconds of the lead record's (clean onsets; "
                   "closer to mixes of training records). Default: all records.")
@click.option("--seam-energy/--no-seam-energy", default=None,
              help="TimesNet-Gen: join the low band and the decoder's band at the crossover "
                   "with the energy of in-phase bands (default: the checkpoint's; on for the "
                   "shipped one).")
@click.option("--calibrate/--no-calibrate", default=None,
              help="TimesNet-Gen: divide the station's decoder band gain (measured on its "
                   "records' reconstructions) out of every record (default: the "
                   "checkpoint's; off for the shipped one, which shapes its bands).")
@click.option("--envelope/--no-envelope", default=None,
              help="TimesNet-Gen prior/aligned: give every record the log-mean envelope of "
                   "the station's aligned records above the crossover (default: the "
                   "checkpoint's; on for the shipped one).")
@click.option("--band-shape/--no-band-shape", default=None,
              help="TimesNet-Gen prior/aligned: the decoder's band (from 5 Hz) takes, per "
                   "channel and third octave, the same combination of the station's records' "
                   "band amplitudes as the record's code (default: the checkpoint's; on for "
                   "the shipped one).")
@click.option("--coherence/--no-coherence", default=None,
              help="TimesNet-Gen: give every record's vertical the station records' median "
                   "coherence with the horizontals, band by band (default: the checkpoint's; "
                   "on for the shipped one).")
@click.option("--p-envelope/--no-p-envelope", default=None,
              help="TimesNet-Gen prior/aligned with --envelope: before the PGA the vertical's "
                   "envelope also follows the station's records aligned on their P arrivals, "
                   "so it keeps its P wave (default: the checkpoint's; off for the shipped "
                   "one).")
@click.option("--pre-event/--no-pre-event", default=None,
              help="TimesNet-Gen prior/aligned: before its P arrival a record is brought down "
                   "to the pre-event noise level of the record whose timing it takes, so P "
                   "pickers find its onset (default: the checkpoint's; off for the shipped "
                   "one).")
@click.option("--hv-shape/--no-hv-shape", default=None,
              help="TimesNet-Gen: make the broad shape of every record's H/V ratio from the "
                   "station's records nearest the one whose timing it takes, by a gain on "
                   "the vertical (default: the checkpoint's; on for the shipped one).")
@click.option("--hv-ripple/--no-hv-ripple", default=None,
              help="TimesNet-Gen: give the fine detail of every record's H/V ratio at 1-8 Hz "
                   "the level of the station's records, by a gain on the vertical (default: "
                   "the checkpoint's; on for the shipped one).")
@click.option("--weights", type=click.Choice(["gaussian", "sign"]), default=None,
              help="TimesNet-Gen prior/aligned: weights of the records' combination -- "
                   "standard normal, or random signs (the same mean and covariance, no "
                   "record weighs more than another; default: the checkpoint's).")
@click.option("--jitter", type=click.FloatRange(min=0), default=None,
              help="TimesNet-Gen prior/aligned: seconds; every record's deviation from the "
                   "station mean is shifted by its own random lag of this standard deviation "
                   "in the decoder's band (default: the checkpoint's, 0.1 for the shipped "
                   "one).")
@click.option("--magnitude", default=None, help="Scenario Mw, or MIN,MAX.")
@click.option("--distance", default=None, help="Scenario distance (km), or MIN,MAX.")
@click.option("--distance-kind", type=click.Choice(["epicentral", "hypocentral", "rupture",
                                                     "joyner_boore"]), default=None,
              help="What --distance measures (default: the generator's, e.g. epicentral).")
@click.option("--depth", default=None, help="Hypocentral depth (km), or MIN,MAX.")
@click.option("--vs30", default=None,
              help="Site Vs30 (m/s): a condition for generators that take it, and the "
                   "--target's site (default: the records' own label).")
@click.option("--target", default=None,
              help="Return a suite matching this GMPE's median spectrum: asb14 (Türkiye, "
                   "Europe) or bssa14.")
@click.option("--periods", default="0.1-2", show_default=True,
              help="Period range of the --target match, LOW-HIGH (s), or a comma list.")
@click.option("--n-periods", type=click.IntRange(2), default=20, show_default=True,
              help="Log-spaced periods in the --periods range.")
@click.option("--pool", "pool_size", type=click.IntRange(1), default=None,
              help="Candidates generated for --target (default max(10 N, 50); up to 4 times "
                   "as many, batch by batch, while the best suite misses --tolerance).")
@click.option("--scale-bounds", default="0.5,2", show_default=True,
              help="Smallest and largest amplitude factor of --target, LOW,HIGH.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=0.2,
              show_default=True,
              help="Largest RMS ln misfit of the suite median to the --target.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Stations generated in parallel (local processes).")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate_command(stations, n, out, model, seed, device, checkpoint, records, n_mix,
                     noise_scale, sampling, baseline, timing_tolerance, seam_energy, calibrate,
                     envelope, band_shape, coherence, p_envelope, pre_event, hv_shape, hv_ripple,
                     weights,
                     jitter, magnitude,
                     distance,
                     distance_kind, depth,
                     vs30, target, periods, n_periods, pool_size, scale_bounds, tolerance, jobs,
                     scheduler,
                     quiet):
    """Generate N new records for a station with a generator plugin.

    The default model, timesnet-gen, ships a checkpoint trained on SYNTHETIC records of five
    virtual stations (2020, 4628, 0205, 1716, 3130); --records gives it the records of any
    other station instead (zero-shot: their latent codes form the pool).
    """
    from obspy_gen import registry
    from obspy_gen.io.checkpoints import CheckpointError
    stations = list(dict.fromkeys(c.strip() for item in stations for c in str(item).split(",")
                                  if c.strip()))
    if target is not None and len(stations) > 1:
        error("generate", "--target takes one --station (a suite is matched per station)")
        raise SystemExit(2)
    station = stations[0] if len(stations) == 1 else None
    conditions = {k: v for k, v in (
        ("magnitude", _range(magnitude, "--magnitude")),
        ("distance", _range(distance, "--distance")), ("depth", _range(depth, "--depth")),
        ("vs30", _range(vs30, "--vs30"))) if v is not None}
    # With --target, --vs30 is the target's site when the generator does not take it.
    model, note = _pick_model(model, {k: v for k, v in conditions.items()
                                      if not (target is not None and k == "vs30")})
    if note:
        click.echo(note)
    if target is not None:
        from obspy_gen.evaluate.gmpe import MODELS, resolve_gmpe
        try:
            target = resolve_gmpe(target)
            if MODELS[target][1] != "spectral":
                raise ValueError(f"--target {target} predicts no spectrum; use asb14 or "
                                 f"bssa14")
            from obspy_gen.evaluate.suite import parse_periods
            parse_periods(periods, n_periods)
        except ValueError as exc:
            error("generate", exc)
            raise SystemExit(2)
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
    elif not stations:
        error("generate", "give --station CODE (a station the model knows) or --records")
        raise SystemExit(2)
    options = {k: v for k, v in (("checkpoint", checkpoint), ("n_mix", n_mix),
                                 ("noise_scale", noise_scale), ("sampling", sampling),
                                 ("baseline", baseline),
                                 ("timing_tolerance", timing_tolerance),
                                 ("seam_energy", seam_energy), ("calibrate", calibrate),
                                 ("envelope", envelope), ("band_shape", band_shape),
                                 ("coherence", coherence), ("p_envelope", p_envelope),
                                 ("pre_event", pre_event), ("hv_shape", hv_shape),
                                 ("hv_ripple", hv_ripple),
                                 ("weights", weights),
                                 ("jitter", jitter))
               if v is not None}
    if distance_kind is not None:
        conditions["distance_kind"] = distance_kind
    if target is not None:
        _run_suite(cls, station, n, out, seed, device, pool, conditions, options, target,
                   periods, n_periods, pool_size, scale_bounds, tolerance, quiet)
    options.update(conditions)
    if len(stations) > 1:
        _run_batch(model, cls, stations, pool, n, seed, device, options, out, jobs, scheduler,
                   quiet)
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
    click.echo(f"wrote {len(rows)} record(s) and records.csv to {out} (model {cls.name}, "
               f"seed {used_seed})")
    raise SystemExit(0)

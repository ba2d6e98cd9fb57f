#!/usr/bin/env python
"""A quick f0 screen of TimesNet-Gen samplers: many generated records per station, H/V by band.

Per station and sampler variant: the share of generated records whose f0 (HVSR preset
``timesnet-gen-paper``, the paper's lowest clear peak) is off the held-out median by more than
2x, the spread ratio (std ln f0, generated over held-out), and per band (0.5-1, 1-2, 2-4, 4-8,
8-16, 16-25 Hz) the median and the between-record standard deviation of the band-mean ln H/V,
for the held-out records and each variant. It skips intensity measures and memorisation (see
``measure_timesnet_gen.py`` and ``benchmarks/eval_timesnet_gen_default.py`` for those), so it
can afford 100 records per station, where the off-by-2x share of 25 records has a standard
error of about 0.06.

Usage::

    obspy-gen simulate --catalog paper5 --seed 7 --out /tmp/p5test      # held-out records
    python scripts/f0_screen_timesnet_gen.py --test /tmp/p5test -n 100 \\
        --variant '{"prior": {"sampling": "prior"}}' --out screen.json

``--training`` adds the training records' own figures against the held-out median: what a
generator that reproduced its training records exactly would score. ``--population`` (a
folder, repeatable) adds the real records of more simulations of the catalog (other seeds)
to the held-out ones, row ``population``: the share off by 2x that real records themselves
have, known to a few per cent (with 71 held-out records at 2020 its 95 % interval is
0.016-0.090). Every off-by-2x share comes with its Clopper-Pearson 95 % interval. Every row also says, for
the highest peak below half the held-out median f0, how often it passes each test of the
lowest-clear-peak rule (``low_peak_tests``): which test lets the lower shoulder through.

Result of 2026-12-02 (polarised low-band mixing against mixing as recorded and other
samplers): ``benchmarks/results/timesnet_gen_polarisation_screen_n100.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

BANDS = ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 16.0), (16.0, 25.0))


def paper_settings():
    """The evaluation's HVSR settings: the paper's preset, the lowest-clear-peak rule."""
    from obspy_gen.core.settings import resolve_settings
    return resolve_settings(preset="timesnet-gen-paper", f0_rule="lowest_clear_peak")


def curves(records):
    """(frequency, H/V curves (n, f), lowest-clear-peak f0 (n,)) of a list of records."""
    from obspy_gen.core.hvsr import _pick_f0, hvsr
    s = paper_settings()
    res = hvsr(records, s)
    f = res.frequency
    picks = [f[k] if k >= 0 else np.nan for k, _ in (_pick_f0(c, f, s) for c in res.curves)]
    return f, np.asarray(res.curves), np.asarray(picks, dtype=float)


def low_peak_criteria(f, hv, med) -> dict:
    """Why the lowest clear peak lands low: for the highest peak of each curve between the
    f0 band's low end and ``med / 2`` (the off-by-2x side where f0 falls on a lower
    shoulder), the share of records where it passes each test of the ``lowest_clear_peak``
    rule -- at least :data:`~obspy_gen.core.hvsr.LOWEST_PEAK_MIN_RATIO` of the highest peak
    in the band, and each of :func:`~obspy_gen.core.hvsr.clear_peak_tests` -- and all."""
    import scipy.signal

    from obspy_gen.core.hvsr import LOWEST_PEAK_MIN_RATIO, clear_peak_tests
    lo, hi = paper_settings().f0_band
    names = ("near_highest", "a0_above_2", "falls_below", "falls_above", "prominent")
    tests = []
    for c in hv:
        peaks, _ = scipy.signal.find_peaks(c)
        peaks = peaks[(f[peaks] >= lo) & (f[peaks] <= hi)]
        low = peaks[f[peaks] < med / 2]
        if low.size == 0:
            tests.append((False,) * len(names))
            continue
        i = low[np.argmax(c[low])]
        clear = clear_peak_tests(c, f, i)
        tests.append((c[i] >= LOWEST_PEAK_MIN_RATIO * c[peaks].max(),)
                     + tuple(clear[k] for k in names[1:]))
    t = np.asarray(tests, dtype=bool).reshape(-1, len(names))
    out = {k: round(float(v), 3) for k, v in zip(names, t.mean(axis=0))}
    out["all"] = round(float(t.all(axis=1).mean()), 3)
    return out


def figures(f, hv, f0, real_f0) -> dict:
    """Off-by-2x share (with its 95 % interval), spread ratio and band H/V statistics against
    the real f0 values."""
    import scipy.stats
    med = np.nanmedian(real_f0)
    off = ~((f0 <= 2 * med) & (f0 >= med / 2))
    band = np.stack([np.log(hv[:, (f >= lo) & (f < hi)]).mean(axis=1) for lo, hi in BANDS],
                    axis=1)
    good = np.isfinite(f0)
    interval = scipy.stats.binomtest(int(off.sum()), off.size).proportion_ci()
    return {"median_error": float(np.median(f0[good]) / med - 1),
            "n": int(off.size),
            "off_2x": float(off.mean()),
            "off_2x_interval": [round(float(interval.low), 3), round(float(interval.high), 3)],
            "spread_ratio": float(np.std(np.log(f0[good]))
                                  / np.std(np.log(real_f0[np.isfinite(real_f0)]))),
            "median_ln_hv_bands": np.round(np.median(band, axis=0), 3).tolist(),
            "sd_ln_hv_bands": np.round(band.std(axis=0), 3).tolist(),
            "low_peak_tests": low_peak_criteria(f, hv, med)}


def screen_options(description, seed, default_variant, argv=None, checkpoint=True,
                   training=False):
    """``(args, variants)`` of a screen script: held-out folder, sampler variants (JSON
    ``{"label": {generate options}}``, repeatable; ``default_variant`` without any), stations,
    records per station, generation seed, JSON output (and ``--checkpoint``, ``--training``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--test", required=True, help="Folder of held-out records (miniSEED).")
    if training:
        p.add_argument("--training", default=None,
                       help="Folder of the training records: their figures against the "
                            "held-out ones, what a generator that reproduced them would score.")
        p.add_argument("--population", action="append", default=[],
                       help="Folder of more real records of the same stations (the catalog "
                            "simulated with another seed); repeatable. Row 'population': "
                            "the held-out and these records against the held-out median.")
    p.add_argument("--variant", action="append", default=[],
                   help='JSON {"label": {generate options}}; repeatable.')
    p.add_argument("--stations", default=None, help="Comma-separated (default: all).")
    p.add_argument("-n", type=int, default=100, help="Generated records per station.")
    p.add_argument("--seed", type=int, default=seed)
    if checkpoint:
        p.add_argument("--checkpoint", default=None)
    p.add_argument("--out", default=None, help="JSON output.")
    args = p.parse_args(argv)
    variants = {}
    for text in args.variant or [default_variant]:
        variants.update(json.loads(text))
    return args, variants


def main(argv=None):
    args, variants = screen_options(__doc__.splitlines()[0], 7,
                                    '{"prior": {"sampling": "prior"}}', argv, training=True)
    warnings.simplefilter("ignore")
    from measure_timesnet_gen import read_station_records

    from obspy_gen.core.records import split_records
    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(checkpoint=args.checkpoint, device="cpu")
    stations = args.stations.split(",") if args.stations else None
    test = read_station_records(args.test, stations)
    training = read_station_records(args.training, stations) if args.training else {}
    population = [read_station_records(folder, stations) for folder in args.population]
    out = {"n": args.n, "seed": args.seed, "bands_hz": BANDS, "variants": {"real": {}}}
    for station, records in sorted(test.items()):
        f, hv, real_f0 = curves(records)
        out["variants"]["real"][station] = figures(f, hv, real_f0, real_f0)
        if station in training:
            g = figures(*curves(training[station]), real_f0)
            out["variants"].setdefault("training", {})[station] = g
            print(f"{station} {'training records':30s} off {g['off_2x']:.2f} "
                  f"spread {g['spread_ratio']:.2f}", flush=True)
        more = [r for folder in population for r in folder.get(station, [])]
        if more:
            # The held-out records' curves are measured above: only the others are new.
            _, more_hv, more_f0 = curves(more)
            g = figures(f, np.concatenate([hv, more_hv]), np.concatenate([real_f0, more_f0]),
                        real_f0)
            out["variants"].setdefault("population", {})[station] = g
            print(f"{station} {'population (%d records)' % g['n']:30s} off {g['off_2x']:.3f} "
                  f"[{g['off_2x_interval'][0]:.3f}-{g['off_2x_interval'][1]:.3f}] "
                  f"spread {g['spread_ratio']:.2f}", flush=True)
        for label, options in variants.items():
            st = gen.generate(station=station, n=args.n, seed=args.seed, **options)
            g = figures(*curves(split_records(st)), real_f0)
            out["variants"].setdefault(label, {})[station] = g
            print(f"{station} {label:30s} median {g['median_error']:+.2f} off {g['off_2x']:.3f} "
                  f"[{g['off_2x_interval'][0]:.3f}-{g['off_2x_interval'][1]:.3f}] "
                  f"spread {g['spread_ratio']:.2f} sd " + " ".join(
                      f"{x:.2f}" for x in g["sd_ln_hv_bands"])
                  + f" near-highest low peak {g['low_peak_tests']['near_highest']:.2f}",
                  flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

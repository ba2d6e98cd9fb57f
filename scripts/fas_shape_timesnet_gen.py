#!/usr/bin/env python
"""The Fourier spectral *shape* of generated records against held-out ones, band by band.

Intensity measures judge levels (PGA, Sa at four periods) and the f0 figures judge the H/V
peak; neither sees a narrow notch or bump in the Fourier spectrum, which a seismologist
looking at a generated record's FAS sees at once (the envelope step left one at the 4-Hz
crossover for two sessions, ln -0.2 to -0.26 at 4.0-4.7 Hz: ``docs/generate.rst``). Per
station, per record, per component group (H: quadratic mean of N and E; Z): the ln
Konno-Ohmachi-smoothed (b = 40) Fourier amplitude at the third-octave centres from 1 to 20 Hz,
minus the record's mean over them (shape, not level). Reported per band: the median over
generated records minus the median over held-out records, and the real-vs-real interval of
the same figure (5th-95th percentile over 200 random splits of the held-out records into two
halves; halves are smaller than the two sets compared, so the interval is conservative).
Bands outside the interval are listed.

Usage::

    obspy-gen simulate --catalog paper5 --seed 7 --out /tmp/p5test      # held-out records
    python scripts/fas_shape_timesnet_gen.py --test /tmp/p5test -n 100 --seed 11 \\
        --variant '{"default": {}}' --out fas_shape.json

Result of 2026-12-02 (session 10: the envelope step before and after the notch was fixed):
``benchmarks/results/timesnet_gen_fas_shape_n100.json``.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Third-octave centres (Hz) at which the shape is compared.
CENTRES = 2.0 ** (np.arange(0, 14) / 3.0)          # 1 - 20.2 Hz


def shapes(records) -> np.ndarray:
    """(n, 2, bands): per record, ln smoothed FAS of H (quadratic mean of N and E) and Z at
    :data:`CENTRES`, each minus its mean over the bands."""
    from obspy_gen.core.records import three_components
    from obspy_gen.core.smoothing import konno_ohmachi
    out = []
    for rec in records:
        *components, fs = three_components(rec)
        n, e, z = (konno_ohmachi(np.abs(np.fft.rfft(x - x.mean())),
                                 np.fft.rfftfreq(x.size, 1.0 / fs), centers=CENTRES,
                                 bandwidth=40) for x in components)
        rows = np.log(np.maximum(np.stack([np.sqrt((n ** 2 + e ** 2) / 2), z]), 1e-300))
        out.append(rows - rows.mean(axis=1, keepdims=True))
    return np.asarray(out)


def compare(gen, real, rng, n_split=200) -> dict:
    """Median shape difference (generated - real) per band and the real-vs-real interval."""
    diff = np.median(gen, axis=0) - np.median(real, axis=0)
    half = len(real) // 2
    splits = []
    for _ in range(n_split):
        p = rng.permutation(len(real))
        splits.append(np.median(real[p[:half]], axis=0) - np.median(real[p[half:2 * half]],
                                                                      axis=0))
    lo, hi = np.percentile(splits, [5, 95], axis=0)
    outside = (diff < lo) | (diff > hi)
    return {"difference": np.round(diff, 3).tolist(), "p05": np.round(lo, 3).tolist(),
            "p95": np.round(hi, 3).tolist(),
            "outside": {name: [round(float(c), 2) for c in CENTRES[outside[k]]]
                        for k, name in enumerate(("H", "Z"))},
            "largest": float(np.abs(diff).max())}


def main(argv=None):
    from f0_screen_timesnet_gen import screen_options
    args, variants = screen_options(__doc__.splitlines()[0], 11, '{"default": {}}', argv,
                                    checkpoint=False)
    warnings.simplefilter("ignore")
    from measure_timesnet_gen import read_station_records

    from obspy_gen.core.records import split_records
    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(device="cpu")
    test = read_station_records(args.test, args.stations.split(",") if args.stations else None)
    out = {"n": args.n, "seed": args.seed, "centres_hz": np.round(CENTRES, 2).tolist(),
           "variants": {}}
    for station, records in sorted(test.items()):
        real = shapes(records)
        for label, options in variants.items():
            st = gen.generate(station=station, n=args.n, seed=args.seed, **options)
            res = compare(shapes(split_records(st)), real, np.random.default_rng(0))
            out["variants"].setdefault(label, {})[station] = res
            near = (CENTRES > 3.5) & (CENTRES < 5.5)
            print(f"{station} {label:24s} at 4.0/5.0 Hz H "
                  + "/".join(f"{v:+.2f}" for v in np.asarray(res["difference"][0])[near])
                  + " Z " + "/".join(f"{v:+.2f}" for v in np.asarray(res["difference"][1])[near])
                  + f"; outside the real-vs-real interval: H {res['outside']['H']} "
                  f"Z {res['outside']['Z']}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

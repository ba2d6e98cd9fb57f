#!/usr/bin/env python
"""Choose sampler settings of ``timesnet-gen-scenario`` on VALIDATION scenarios (SYNTHETIC).

The same measurement as ``scripts/scenario_evidence.py`` (bias of the median lnPSA and the
std ratio against the simulator, per period), on scenarios drawn with another seed and on
another set of new stations than the evidence's, for several generator settings at once
(paired: every variant is compared with the same simulated references). The evidence
scenarios are never used to choose.

Run from the repository root::

    python scripts/scenario_validation.py [--checkpoint NAME] [--stations 12] [--per-station 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import scenario_evidence as ev  # noqa: E402

#: Validation seeds (the evidence uses 16 and the new-station corpus seed 163).
SEED = 17
NEW_CORPUS = dict(n_stations=10, records_per_station=1, seed=165)
VARIANTS = {
    "no lnPSA correction": {"psa_correction": False, "site_scatter": "total"},
    "lnPSA correction, site scatter total": {"site_scatter": "total"},
    "lnPSA correction, site scatter within": {"site_scatter": "within"},
}
#: Variants that differ only for a new station (site_scatter) are run there only.
NEW_ONLY = ("lnPSA correction, site scatter within",)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--stations", type=int, default=12)
    p.add_argument("--per-station", type=int, default=3)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--out", default=None, help="JSON of the results (optional).")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from obspy_gen.plugins.stochastic import StochasticGenerator
    from obspy_gen.plugins.stochastic.catalog import corpus
    from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator
    sim = StochasticGenerator()
    gen = ScenarioTimesNetGenGenerator(checkpoint=args.checkpoint)
    rng = np.random.default_rng(SEED)
    train_st = corpus(**ev.TRAIN_CORPUS)
    picks = rng.choice(len(train_st), size=args.stations, replace=False)
    known = [(train_st[i], train_st[i].code, None) for i in sorted(picks)]
    new = [(s, "V" + s.code[1:], float(s.vs30))
           for s in corpus(**{**NEW_CORPUS, "n_stations": args.stations})]
    t0 = time.perf_counter()
    result = {}
    for setting, stations in (("known_station", known), ("new_station", new)):
        names = [v for v in VARIANTS if setting == "new_station" or v not in NEW_ONLY]
        sets = {name: [] for name in names}
        for k, (sta, code, vs30) in enumerate(stations):
            for j, scen in enumerate(ev.draw_scenarios(rng, args.per_station)):
                seed = 2000 * (k + 1) + j + (0 if setting == "known_station" else 700000)
                a = sim.generate(station=sta, n=args.n, seed=seed, **scen)
                b = sim.generate(station=sta, n=args.n, seed=seed + 7919, **scen)
                la, lb = ([ev.ln_psa(r) for r in ev.records(x)] for x in (a, b))
                kw = {} if vs30 is None else {"vs30": vs30}
                for name in names:
                    opts = VARIANTS[name]
                    g = gen.generate(station=code, n=args.n, seed=seed, **scen, **kw, **opts)
                    sets[name].append([np.array(la), np.array(lb),
                                       np.array([ev.ln_psa(r) for r in ev.records(g)])])
        result[setting] = {}
        for name in names:
            s = ev.summarise(sets[name], np.random.default_rng(SEED))
            result[setting][name] = s
            g = s["generated"]
            print(f"{setting:13s} {name:40s} bias {np.round(g['bias'], 2).tolist()}\n"
                  f"{'':54s} std ratio {np.round(g['std_ratio'], 2).tolist()}\n"
                  f"{'':54s} max|bias| {np.abs(g['bias']).max():.3f}  "
                  f"max|ratio-1| {np.abs(np.array(g['std_ratio']) - 1).max():.3f}  "
                  f"mean|d| {np.mean(g['mean_abs_diff']):.3f}", flush=True)
        print(f"{setting}: replicate bias {np.round(s['replicate']['bias'], 2).tolist()} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Evidence for the scenario-conditioned TimesNet-Gen on held-out scenarios (SYNTHETIC data).

For every held-out scenario (a station and an event M, R_epi, depth never trained on) the
stochastic simulator makes two independent sets of ``N`` records (A: the reference, B: its
replicate) and ``timesnet-gen-scenario`` makes ``N``. Per period (0.05-3 s) and scenario:
the median of lnPSA (geometric mean of the two horizontals, 5 % damping) of the generated set
minus that of A, and the ratio of the standard deviations of lnPSA; the simulator's own
replicate B against A on the same counts is the baseline. Over scenarios: the mean median
difference (bias) and the pooled within-scenario std ratio, with 90 % bootstrap intervals
(resampling scenarios), the mean |difference| and the share of scenarios within 0.1.

Two settings: ``known`` -- new events at stations of the training corpus (the checkpoint
knows their site term and records); ``new_station`` -- new events at new stations (only their
Vs30 is given). Plus the PGA trend: median PGA of ``N`` records on an M x R grid at a known
station (4628) and a new one, generated and simulated.

Targets (issue 16): |bias| <= 0.1 at every period and the std ratio within 0.8-1.2.

Run from the repository root (a few minutes on 2 CPU cores)::

    python scripts/scenario_evidence.py [--n 10] [--checkpoint NAME] [--out JSON]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PERIODS = np.geomspace(0.05, 3.0, 12)
#: Training corpus of the shipped checkpoint (scripts/train_scenario_timesnet_gen.py).
TRAIN_CORPUS = dict(n_stations=70, records_per_station=10, seed=161)
#: Stations never trained on (another corpus seed; renamed H.... for the generator).
NEW_CORPUS = dict(n_stations=10, records_per_station=1, seed=163)
SEED = 16


def ln_psa(rec, periods=PERIODS) -> np.ndarray:
    """lnPSA of a record: mean of the N and E components' ln Sa."""
    from obspy_gen.core.intensity import spectral_acceleration
    hz = [tr for tr in rec if tr.stats.channel[-1] in "NE"]
    return np.mean([np.log(spectral_acceleration(tr.data.astype(np.float64),
                                                 tr.stats.delta, periods)) for tr in hz],
                   axis=0)


def ln_pga(rec) -> float:
    hz = [tr for tr in rec if tr.stats.channel[-1] in "NE"]
    return float(np.mean([np.log(np.abs(tr.data).max()) for tr in hz]))


def records(st):
    from obspy_gen.core.records import split_records
    return split_records(st)


def draw_scenarios(rng, k):
    out = []
    for _ in range(k):
        out.append(dict(magnitude=round(float(rng.uniform(4.5, 7.0)), 2),
                        distance=round(float(np.exp(rng.uniform(np.log(8), np.log(100)))), 1),
                        depth=round(float(rng.uniform(5, 15)), 1)))
    return out


def scenario_sets(sim, gen, station, gen_station, vs30, scen, n, seed):
    a = sim.generate(station=station, n=n, seed=seed, **scen)
    b = sim.generate(station=station, n=n, seed=seed + 7919, **scen)
    kw = {} if vs30 is None else {"vs30": vs30}
    g = gen.generate(station=gen_station, n=n, seed=seed, **scen, **kw)
    return [np.array([ln_psa(r) for r in records(x)]) for x in (a, b, g)]


def summarise(sets, rng, n_boot=1000) -> dict:
    """Per-period bias / |diff| / share within 0.1 / std ratio for gen and replicate."""
    a = [s[0] for s in sets]
    out = {}
    for name, idx in (("generated", 2), ("replicate", 1)):
        x = [s[idx] for s in sets]
        diff = np.array([np.median(xi, 0) - np.median(ai, 0) for xi, ai in zip(x, a)])
        var_x = np.array([xi.var(0, ddof=1) for xi in x])
        var_a = np.array([ai.var(0, ddof=1) for ai in a])
        k = len(sets)
        boots = rng.integers(0, k, size=(n_boot, k))
        bias_b = diff[boots].mean(1)
        ratio = np.sqrt(var_x.mean(0) / var_a.mean(0))
        ratio_b = np.sqrt(var_x[boots].mean(1) / var_a[boots].mean(1))
        out[name] = {
            "bias": diff.mean(0).round(4).tolist(),
            "bias_90": np.percentile(bias_b, [5, 95], axis=0).round(4).T.tolist(),
            "mean_abs_diff": np.abs(diff).mean(0).round(4).tolist(),
            "share_within_0.1": (np.abs(diff) <= 0.1).mean(0).round(3).tolist(),
            "std_ratio": ratio.round(4).tolist(),
            "std_ratio_90": np.percentile(ratio_b, [5, 95], axis=0).round(4).T.tolist(),
        }
    g = out["generated"]
    out["reference_std"] = np.sqrt(np.array([ai.var(0, ddof=1) for ai in a]).mean(0)).round(
        4).tolist()
    out["targets"] = {
        "bias_within_0.1_every_period": bool(np.all(np.abs(g["bias"]) <= 0.1)),
        "std_ratio_within_20pct_every_period": bool(np.all(np.abs(np.array(g["std_ratio"])
                                                                 - 1) <= 0.2)),
    }
    return out


def pga_trend(sim, gen, station, gen_station, vs30, n, seed) -> dict:
    mags, dists = [4.5, 5.5, 6.5, 7.0], [10.0, 20.0, 40.0, 80.0]
    res = {"magnitudes": mags, "distances_km": dists}
    for name, model in (("simulator", sim), ("generated", gen)):
        grid = np.zeros((len(mags), len(dists)))
        for i, m in enumerate(mags):
            for j, r in enumerate(dists):
                kw = dict(magnitude=m, distance=r, depth=10.0)
                if model is gen:
                    st = gen.generate(station=gen_station, n=n, seed=seed + 31 * i + j, **kw,
                                      **({} if vs30 is None else {"vs30": vs30}))
                else:
                    st = sim.generate(station=station, n=n, seed=seed + 31 * i + j, **kw)
                grid[i, j] = np.median([ln_pga(rec) for rec in records(st)])
        res[name] = {"median_ln_pga": grid.round(4).tolist(),
                     "grows_with_M": bool(np.all(np.diff(grid, axis=0) > 0)),
                     "falls_with_R": bool(np.all(np.diff(grid, axis=1) < 0))}
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10, help="Records per set and scenario.")
    p.add_argument("--stations", type=int, default=12, help="Stations per setting.")
    p.add_argument("--per-station", type=int, default=3, help="Scenarios per station.")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/"
                                         "timesnet_gen_scenario_evidence.json"))
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from obspy_gen.io.atomic import atomic_path
    from obspy_gen.plugins.stochastic import StochasticGenerator
    from obspy_gen.plugins.stochastic.catalog import corpus
    from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator
    sim = StochasticGenerator()
    gen = ScenarioTimesNetGenGenerator(checkpoint=args.checkpoint)
    loaded = gen.load()
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    train_st = corpus(**TRAIN_CORPUS)
    picks = rng.choice(len(train_st), size=args.stations, replace=False)
    known = [(train_st[i], train_st[i].code, None) for i in sorted(picks)]
    new = [(s, "H" + s.code[1:], float(s.vs30)) for s in corpus(**{
        **NEW_CORPUS, "n_stations": args.stations})]
    result = {"checkpoint": loaded.name, "synthetic": True,
              "train_seconds": loaded.config["training"].get("train_seconds"),
              "periods_s": PERIODS.round(4).tolist(), "n_per_set": args.n,
              "lnpsa": "mean of ln Sa(N), ln Sa(E), 5 % damping",
              "targets": "|bias| <= 0.1 at every period; std ratio within 0.8-1.2",
              "settings": {}}
    for setting, stations in (("known_station", known), ("new_station", new)):
        sets, scen_list = [], []
        for k, (sta, code, vs30) in enumerate(stations):
            for j, scen in enumerate(draw_scenarios(rng, args.per_station)):
                seed = 1000 * (k + 1) + j + (0 if setting == "known_station" else 500000)
                sets.append(scenario_sets(sim, gen, sta, code, vs30, scen, args.n, seed))
                scen_list.append({"station": code, "vs30": round(float(sta.vs30), 1),
                                  **scen})
        summ = summarise(sets, np.random.default_rng(SEED))
        result["settings"][setting] = {"n_scenarios": len(sets), "scenarios": scen_list,
                                       **summ}
        print(setting, json.dumps(summ["targets"]), f"{time.perf_counter() - t0:.0f} s",
              flush=True)
    from obspy_gen.plugins.stochastic.plugin import resolve_station
    result["pga_trend"] = {
        "known_station_4628": pga_trend(sim, gen, resolve_station("4628"), "4628", None,
                                        args.n, 77),
        "new_station": pga_trend(sim, gen, new[0][0], new[0][1], new[0][2], args.n, 78)}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    print(f"written {out} ({result['seconds']} s)")


def table(result) -> str:
    """An RST table of the evidence (what docs/generate.rst shows)."""
    lines = []
    for setting, res in result["settings"].items():
        g, r = res["generated"], res["replicate"]
        lines.append(f"{setting} ({res['n_scenarios']} scenarios, {result['n_per_set']} "
                     f"records per set)")
        lines.append("period_s  bias_gen [90%]        bias_rep  |d|gen |d|rep  "
                     "std_ratio_gen [90%]   std_ratio_rep")
        for i, t in enumerate(result["periods_s"]):
            lines.append(f"{t:8.3f}  {g['bias'][i]:+.3f} [{g['bias_90'][i][0]:+.2f},"
                         f"{g['bias_90'][i][1]:+.2f}]  {r['bias'][i]:+.3f}    "
                         f"{g['mean_abs_diff'][i]:.3f}  {r['mean_abs_diff'][i]:.3f}   "
                         f"{g['std_ratio'][i]:.3f} [{g['std_ratio_90'][i][0]:.2f},"
                         f"{g['std_ratio_90'][i][1]:.2f}]    {r['std_ratio'][i]:.3f}")
        lines.append(json.dumps(res["targets"]))
    for name, trend in result["pga_trend"].items():
        lines.append(f"PGA trend {name}: generated grows_with_M="
                     f"{trend['generated']['grows_with_M']} falls_with_R="
                     f"{trend['generated']['falls_with_R']}; simulator "
                     f"{trend['simulator']['grows_with_M']}/{trend['simulator']['falls_with_R']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

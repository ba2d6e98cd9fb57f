"""Evidence for the GMPE check (issue 16): simulated scenarios and real records.

1. The scenario-conditioned stochastic generator on a grid of scenarios (M x R) at a
   station: median PGA per scenario (it must grow with M and fall with R) and the ASB14 ln
   residuals of PGA, Sa(0.2 s), Sa(1 s), D5-95 per scenario.
2. The real K-NET / KiK-net / AFAD records in a data folder (MANIFEST.md layout): residuals
   against the GMPEs reported as they are (records without Vs30 listed, not guessed; with
   ``--assume-vs30`` they are checked with that value and marked so).

Usage::

    nice python scripts/gmpe_evidence.py --data ../shared/data --out /tmp/gmpe_evidence.json
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import warnings

import numpy as np


def simulated(station, mags, dists, n, seed):
    from obspy_gen.core.records import split_records
    from obspy_gen.evaluate.gmpe import gmpe_check
    from obspy_gen.plugins.stochastic import StochasticGenerator
    gen = StochasticGenerator()
    groups = {}
    for i, m in enumerate(mags):
        for j, r in enumerate(dists):
            st = gen.generate(station=station, n=n, seed=seed + 100 * i + j, magnitude=m,
                              distance=r, depth=10.0)
            groups[f"M{m:g} R{r:g}"] = split_records(st)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chk = gmpe_check(groups, gmpe="asb14", periods=(0.2, 1.0))
    table = {}
    for g in chk.groups:
        rows = chk.records[g]
        table[g] = {"median_pga": float(np.median([r["observed"]["pga"] for r in rows])),
                    "median_model_pga": float(np.median([r["median"]["pga"] for r in rows])),
                    **{f"bias_{k}": chk.summary[g][k]["bias"]
                       for k in ("pga", "sa(0.2 s)", "sa(1 s)", "d5_95")},
                    "std_pga": chk.summary[g]["pga"]["std"],
                    "sigma_pga": chk.summary[g]["pga"]["sigma"]}
    pga = np.array([[table[f"M{m:g} R{r:g}"]["median_pga"] for r in dists] for m in mags])
    return {"table": table, "pga_grows_with_m": bool(np.all(np.diff(pga, axis=0) > 0)),
            "pga_falls_with_r": bool(np.all(np.diff(pga, axis=1) < 0)),
            "magnitudes": list(mags), "distances": list(dists), "n_per_scenario": n}


def real(data, assume_vs30=None):
    from obspy import Stream, read

    import obspy_gen  # noqa: F401  (registers the AFAD formats)
    from obspy_gen.evaluate.gmpe import gmpe_check
    recs = {}
    for f in sorted(glob.glob(os.path.join(data, "afad", "*.txt")) +
                    glob.glob(os.path.join(data, "afad_mat", "*.mat"))):
        recs.setdefault("afad", []).append(read(f, to_si=True))
    for folder in ("knet", "kiknet"):
        for f in sorted({p.rsplit(".", 1)[0] for p in
                         glob.glob(os.path.join(data, folder, "*.*"))
                         if not p.endswith((".json", ".md"))}):
            st = Stream()
            for p in sorted(glob.glob(f + ".*")):
                # KiK-net: the surface sensor (NS2/EW2/UD2), as ground-motion models use.
                if folder == "kiknet" and not p.endswith("2"):
                    continue
                st += read(p)
            recs.setdefault(folder, []).append(st)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chk = gmpe_check(recs, vs30=assume_vs30)
    rows = []
    for g in chk.groups:
        for r in chk.records[g]:
            rows.append({"group": g, "id": r["id"], "scenario": r["scenario_label"],
                         "magnitude_type": r["scenario"]["magnitude_type"],
                         "model": r["model"],
                         "residual": {k: r["residual"][k] for k in
                                      ("pga", "pgv", "sa(0.2 s)", "sa(1 s)", "d5_95")},
                         "out_of_range": r["out_of_range"]})
    return {"records": rows, "issues": chk.issues,
            "summary": {g: {k: chk.summary[g][k] for k in ("pga", "pgv", "sa(1 s)", "d5_95")}
                        for g in chk.groups},
            "assumed_vs30": assume_vs30}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join("..", "shared", "data"))
    ap.add_argument("--out", default="gmpe_evidence.json")
    ap.add_argument("--station", default="4628")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--assume-vs30", type=float, default=None)
    a = ap.parse_args()
    res = {"simulated": simulated(a.station, (5.0, 5.5, 6.0, 6.5, 7.0), (10.0, 20.0, 40.0, 80.0),
                                  a.n, a.seed)}
    if os.path.isdir(a.data):
        res["real"] = real(a.data)
        if a.assume_vs30:
            res["real_assumed_vs30"] = real(a.data, a.assume_vs30)
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1, default=float)
    sim = res["simulated"]
    print(f"simulated at {a.station}: PGA grows with M: {sim['pga_grows_with_m']}, "
          f"falls with R: {sim['pga_falls_with_r']}")
    for k, v in sim["table"].items():
        print(f"  {k:10s} PGA {v['median_pga']:.3g} m/s2 (ASB14 {v['median_model_pga']:.3g}); "
              f"ln bias PGA {v['bias_pga']:+.2f} Sa0.2 {v['bias_sa(0.2 s)']:+.2f} "
              f"Sa1 {v['bias_sa(1 s)']:+.2f} D5-95 {v['bias_d5_95']:+.2f}")
    for key in ("real", "real_assumed_vs30"):
        if key not in res:
            continue
        print(f"{key}:")
        for r in res[key]["records"]:
            rr = r["residual"]
            print(f"  {r['id']:32s} {r['scenario']:24s} {r['magnitude_type'] or '':5s} "
                  f"{r['model']:6s} PGA {rr['pga']:+.2f} PGV {rr['pgv']:+.2f} "
                  f"Sa0.2 {rr['sa(0.2 s)']:+.2f} Sa1 {rr['sa(1 s)']:+.2f} "
                  f"D5-95 {rr['d5_95']:+.2f}" + (" OUT OF RANGE" if r["out_of_range"] else ""))
        for it in res[key]["issues"]:
            if "outside" not in it["reason"]:
                print(f"  not checked: {it['record']}: {it['reason']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Key figures of TimesNet-Gen against held-out simulated records (issue 14's acceptance).

A small, self-contained stand-in for the evaluation of issue 13, computed with
``obspy_gen.core`` (HVSR, intensity measures) only. Per station and sampling variant:

* f0 (HVSR preset ``timesnet-gen-paper``) with the paper's lowest-clear-peak rule AND the
  highest peak: median error against the held-out real median, spread ratio
  ``std ln f0 (generated) / std ln f0 (real)``, share of records off by more than 2x;
* final velocity / PGV (plain integration of the raw acceleration, the worst of the three
  components of a record; median over records);
* mixing R^2: the least-squares fit of each record (3 x seq_len window) by the station's
  training records (same window), median over records, for generated AND held-out real
  records; and the highest normalised cross-correlation over lag with one training record;
* 1-D Wasserstein distances (ln units) of ln PGA, ln PGD, ln Sa(1 s), ln D5-95 (geometric
  mean of the horizontals) between generated and held-out real records, next to the 95th
  percentile of the same distance between equally many training records (resampled) and the
  held-out ones (the real-vs-real baseline on the same number of records).

Usage::

    obspy-gen simulate --catalog paper5 --seed 0 --out /tmp/p5train     # training records
    obspy-gen simulate --catalog paper5 --seed 7 --out /tmp/p5test      # held-out records
    python scripts/measure_timesnet_gen.py --train /tmp/p5train --test /tmp/p5test \
        --variant mix --variant aligned --out figures.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IM_NAMES = ("pga", "pgd", "sa1", "d5_95")


def read_station_records(folder, stations=None, limit=None):
    """``{station: [record Stream, ...]}`` of a simulate/miniSEED folder."""
    from obspy import read

    from obspy_gen.core.records import split_records
    out = {}
    for path in sorted(Path(folder).glob("*.mseed")):
        st = read(str(path))
        for rec in split_records(st):
            code = rec[0].stats.station
            if stations and code not in stations:
                continue
            out.setdefault(code, []).append(rec)
    if limit:
        out = {k: v[:limit] for k, v in out.items()}
    return out


def windows(records, seq_len=6000, fs=100.0):
    """(n, 3, seq_len) raw-unit windows centred as the model's training (record centre)."""
    from obspy_gen.io.dataset import preprocess
    return np.stack([preprocess(r, seq_len, fs, "record", standardise=False)[0]
                     for r in records]).astype(np.float64)


def f0_values(records, rule=None):
    """Per-record f0 (whole-record HVSR, preset ``timesnet-gen-paper``) by the lowest clear
    peak and by the highest peak: ``{rule: array}`` (one HVSR per record for both rules), or
    one array when ``rule`` is given."""
    from obspy_gen.core.hvsr import _pick_f0, hvsr
    from obspy_gen.core.settings import resolve_settings
    s = resolve_settings(preset="timesnet-gen-paper", f0_rule="lowest_clear_peak")
    rules = ("lowest_clear_peak", "highest_peak")
    out = {r: [] for r in rules}
    for i in range(0, len(records), 25):
        res = hvsr(records[i:i + 25], s)
        for curve in res.curves:
            for r in rules:
                k, _ = _pick_f0(curve, res.frequency, s.replace(f0_rule=r))
                out[r].append(res.frequency[k] if k >= 0 else np.nan)
    out = {r: np.asarray(v, dtype=float) for r, v in out.items()}
    return out if rule is None else out[rule]


def intensity(records):
    from obspy_gen.core.intensity import intensity_measures
    # miniSEED carries no units: the simulated and generated records are in m/s**2.
    res = intensity_measures(records, periods=[1.0], units="m/s**2")
    vals = {k: [] for k in IM_NAMES}
    for r in res.records:
        gm = r.components.get("geometric_mean", {}) if r.error is None else {}
        vals["pga"].append(gm.get("pga", np.nan))
        vals["pgd"].append(gm.get("pgd", np.nan))
        sa = gm.get("sa", [np.nan])
        vals["sa1"].append(sa[0] if sa else np.nan)
        vals["d5_95"].append(gm.get("d5_95", gm.get("significant_duration", np.nan)))
    return {k: np.log(np.asarray(v, dtype=float)) for k, v in vals.items()}


def final_velocity_ratio(records):
    """|v(end)| / max|v| per record (worst component), v = plain integral of the raw data."""
    out = []
    for rec in records:
        worst = 0.0
        for tr in rec:
            v = np.cumsum(tr.data.astype(np.float64)) * tr.stats.delta
            peak = np.abs(v).max()
            if peak > 0:
                worst = max(worst, abs(v[-1]) / peak)
        out.append(worst)
    return np.asarray(out)


def mixing_r2(targets, basis):
    """R^2 of the least-squares fit of each target (n, 3, T) by the basis records (m, 3, T)."""
    X = basis.reshape(len(basis), -1).T
    Y = targets.reshape(len(targets), -1).T
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = ((Y - X @ coef) ** 2).sum(0)
    return 1.0 - resid / (Y ** 2).sum(0)


def max_ncc(targets, basis):
    """Highest normalised cross-correlation (over lag, channels summed) with a basis record."""
    n = targets.shape[-1]
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    tb = np.fft.rfft(basis, nfft)
    eb = np.sqrt((basis ** 2).sum(axis=(1, 2)))
    out = []
    for t in targets:
        ft = np.fft.rfft(t, nfft)
        cc = np.fft.irfft((tb * np.conj(ft)[None]).sum(1), nfft)
        et = np.sqrt((t ** 2).sum())
        out.append(float((np.abs(cc).max(axis=1) / (eb * et + 1e-30)).max()))
    return np.asarray(out)


def wasserstein(a, b):
    from scipy.stats import wasserstein_distance
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(wasserstein_distance(a, b))


def f0_figures(f0_gen, f0_real):
    g, r = f0_gen[np.isfinite(f0_gen)], f0_real[np.isfinite(f0_real)]
    if len(g) < 2 or len(r) < 2:
        return {"median_error": float("nan"), "spread_ratio": float("nan"),
                "off_2x": float("nan"), "n_valid": int(len(g))}
    med_r = np.median(r)
    sd_r = np.std(np.log(r), ddof=1)
    off = np.mean((f0_gen > 2 * med_r) | (f0_gen < med_r / 2) | ~np.isfinite(f0_gen))
    return {"median_gen": float(np.median(g)), "median_real": float(med_r),
            "median_error": float(abs(np.median(g) / med_r - 1)),
            "spread_ratio": float(np.std(np.log(g), ddof=1) / sd_r) if sd_r > 0 else float("nan"),
            "off_2x": float(off), "n_valid": int(len(g))}


class Reference:
    """Everything about one station's real records computed once."""

    def __init__(self, train, test, seq_len, n_boot=200, seed=0):
        self.train, self.test = train, test
        self.train_w = windows(train, seq_len)
        self.test_w = windows(test, seq_len)
        self.f0 = f0_values(test)
        self.ims_test = intensity(test)
        self.ims_train = intensity(train)
        self.r2_real = mixing_r2(self.test_w, self.train_w)
        self.ncc_real = max_ncc(self.test_w, self.train_w)
        self.fv_real = final_velocity_ratio(test)
        self.seed, self.n_boot = seed, n_boot

    def real_vs_real(self, n):
        """95th percentile of W(n training records resampled, held-out) per IM."""
        rng = np.random.default_rng(self.seed)
        out = {}
        for k in IM_NAMES:
            tr = self.ims_train[k]
            d = [wasserstein(tr[rng.integers(0, len(tr), n)], self.ims_test[k])
                 for _ in range(self.n_boot)]
            out[k] = float(np.nanpercentile(d, 95))
        return out


def figures(gen_records, ref: Reference, seq_len):
    # Generated records may be shorter than the window (trimmed to a pool record's span):
    # placed in the window as the training records were.
    gen_w = windows(gen_records, seq_len)
    out = {"n": len(gen_records)}
    f0 = f0_values(gen_records)
    for rule in ("lowest_clear_peak", "highest_peak"):
        out["f0_" + rule] = f0_figures(f0[rule], ref.f0[rule])
    fv = final_velocity_ratio(gen_records)
    out["final_velocity_ratio_median"] = float(np.median(fv))
    out["final_velocity_ratio_real"] = float(np.median(ref.fv_real))
    out["mixing_r2_median"] = float(np.median(mixing_r2(gen_w, ref.train_w)))
    out["mixing_r2_real"] = float(np.median(ref.r2_real))
    out["max_ncc_median"] = float(np.median(max_ncc(gen_w, ref.train_w)))
    out["max_ncc_real"] = float(np.median(ref.ncc_real))
    ims = intensity(gen_records)
    rvr = ref.real_vs_real(len(gen_records))
    out["wasserstein"] = {k: wasserstein(ims[k], ref.ims_test[k]) for k in IM_NAMES}
    out["wasserstein_real_p95"] = rvr
    out["im_medians_gen"] = {k: float(np.nanmedian(ims[k])) for k in IM_NAMES}
    out["im_medians_real"] = {k: float(np.nanmedian(ref.ims_test[k])) for k in IM_NAMES}
    return out


def verdict(fig, mix_margin=0.1):
    """Which acceptance figures fail (names), for one station."""
    bad = []
    f = fig["f0_lowest_clear_peak"]
    if not f["median_error"] <= 0.10:
        bad.append("f0_median")
    if not 0.67 <= f["spread_ratio"] <= 1.5:
        bad.append("f0_spread")
    if not f["off_2x"] <= 0.05:
        bad.append("f0_off2x")
    for k in IM_NAMES:
        if not fig["wasserstein"][k] <= fig["wasserstein_real_p95"][k]:
            bad.append("W_" + k)
    if not fig["final_velocity_ratio_median"] < 0.05:
        bad.append("final_velocity")
    if not fig["mixing_r2_median"] <= fig["mixing_r2_real"] + mix_margin:
        bad.append("mixing_r2")
    return bad


def parse_variant(text):
    """``name`` or ``name:key=value,key=value`` -> (label, generate kwargs)."""
    name, _, rest = text.partition(":")
    kwargs = {"sampling": name}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        try:
            v = json.loads(v)
        except ValueError:
            pass
        kwargs[k] = v
    return text, kwargs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True, help="Folder of the training records (pools).")
    p.add_argument("--test", required=True, help="Folder of held-out records.")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--stations", default=None, help="Comma-separated (default: all).")
    p.add_argument("--n", type=int, default=50, help="Generated (and held-out) per station.")
    p.add_argument("--variant", action="append", default=[],
                   help="Sampling variant, e.g. mix, aligned:noise_scale=0 (repeatable); "
                        "'reconstructed': the held-out records encoded and decoded (the "
                        "decoder's ceiling; its IM distances are not a generator's).")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--zero-shot", default=None,
                   help="Folder of a station never seen: zero-shot f0 check (first station).")
    p.add_argument("--reencode", default=None, choices=("pga", "p"),
                   help="Re-encode the pools from --train with anchors (checkpoints made "
                        "before aligned sampling have none).")
    p.add_argument("--out", default=None, help="JSON output.")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")

    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(checkpoint=args.checkpoint, device="cpu")
    loaded = gen.load()
    stations = args.stations.split(",") if args.stations else loaded.station_codes
    seq_len = loaded.arch.seq_len
    if args.reencode:
        from obspy_gen.plugins.timesnet_gen import train as T
        mat = T.materialise(T.load_records(args.train, seq_len), True, stations)
        loaded.pools.update(T.encode_pools(loaded.model, mat, stations, loaded.station_codes,
                                           anchor=args.reencode))
    train = read_station_records(args.train, stations)
    test = read_station_records(args.test, stations, args.n)
    t0 = time.perf_counter()
    refs = {s: Reference(train[s], test[s], seq_len) for s in stations}
    print(f"references in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    variants = [parse_variant(v) for v in (args.variant or ["mix"])]
    result = {"checkpoint": loaded.name, "n": args.n, "stations": stations, "variants": {}}
    for label, kwargs in variants:
        t0 = time.perf_counter()
        per = {}
        for s in stations:
            if kwargs["sampling"] == "reconstructed":
                # The decoder's ceiling: the held-out records themselves, encoded and decoded.
                from obspy import Stream
                st = gen.reconstruct(sum(test[s], Stream()), station=s)
            else:
                st = gen.generate(station=s, n=args.n, seed=args.seed, **kwargs)
            from obspy_gen.core.records import split_records
            per[s] = figures(split_records(st), refs[s], seq_len)
            per[s]["fails"] = verdict(per[s])
        result["variants"][label] = per
        print(f"{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print(summary_table(label, per), flush=True)
        if args.out:  # after every variant: partial results survive an interrupted run
            Path(args.out).write_text(json.dumps(result, indent=1))
    if args.zero_shot:
        zs = read_station_records(args.zero_shot)
        code, recs = sorted(zs.items())[0]
        half = len(recs) // 2
        pool, held = recs[:half], recs[half:]
        out = gen.generate(pool, n=args.n, seed=args.seed, **variants[0][1])
        from obspy_gen.core.records import split_records
        fg = f0_values(split_records(out), "lowest_clear_peak")
        fr = f0_values(held, "lowest_clear_peak")
        result["zero_shot"] = {"station": code, "pool": half,
                               **f0_figures(fg, fr)}
        print("zero-shot", json.dumps(result["zero_shot"]))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


def summary_table(label, per):
    lines = [f"== {label}",
             "station f0err(lc) spread(lc) off2x f0err(hp) spread(hp) vEnd/PGV "
             "R2 (real) NCC (real) W[pga pgd sa1 d595] (p95 real) fails"]
    for s, f in per.items():
        lc, hp = f["f0_lowest_clear_peak"], f["f0_highest_peak"]
        w, rv = f["wasserstein"], f["wasserstein_real_p95"]
        lines.append(
            f"{s} {lc['median_error']:.3f} {lc['spread_ratio']:.2f} {lc['off_2x']:.2f} "
            f"{hp['median_error']:.3f} {hp['spread_ratio']:.2f} "
            f"{f['final_velocity_ratio_median']:.3f} {f['mixing_r2_median']:.2f} "
            f"({f['mixing_r2_real']:.2f}) {f['max_ncc_median']:.2f} ({f['max_ncc_real']:.2f}) "
            + " ".join(f"{w[k]:.2f}/{rv[k]:.2f}" for k in IM_NAMES)
            + " " + ",".join(f["fails"]))
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Sample-matched scores with intervals, real-vs-real ceilings and verdicts.

Every figure of a candidate group (generated, reconstructed, ...) is computed on exactly the
record counts its real-vs-real ceiling uses. In each of ``n_bootstrap`` replicates and for each
station, the reference (real) records are split at random into a part **A** of ``a`` records and
the rest **B** (``b = n_ref - a``), with ``a = min(n_candidate, n_ref // 2)``; a random subset
**G** of ``a`` candidate records is drawn (without replacement; all of them when there are only
``a``). The candidate's figure is ``F(G, B)``, its ceiling ``F(A, B)``: the same figure between
two sets of real records of the same sizes. The report gives the median over replicates, the
5-95 % range (the 90 % interval) of both, and judges with the intervals:

* ``higher`` is better (f0 similarity): fail when the candidate's interval lies below the
  ceiling's 5th percentile;
* ``lower`` is better (distances, share of outliers): fail when the candidate's interval lies
  above the ceiling's 95th percentile;
* ``two-sided`` (ratios, signed errors, the alignment score): fail when the intervals do not
  overlap -- an alignment *above* the real-vs-real interval is not a win (a collapsed generator
  separates stations better than real records do).

A faithful generator (records drawn like the reference) rarely fails any figure under these
rules; a collapsed or shifted one fails the figures that show it.
"""
from __future__ import annotations

import numpy as np

from obspy_gen.evaluate.distributions import f0_histogram, js_similarity
from obspy_gen.evaluate.similarity import alignment_score, ideal_block_matrix, similarity_matrix

#: Direction of every figure: how a candidate's interval is judged against its ceiling.
DIRECTIONS = {"f0_similarity": "higher", "f0_median_error": "two-sided",
              "f0_spread_ratio": "two-sided", "f0_off_2x": "lower", "wasserstein": "lower",
              "alignment": "two-sided"}
#: Share of records whose f0 counts as "off": outside [median / 2, 2 median] of the reference.
OFF_FACTOR = 2.0


def interval(values) -> dict:
    """Median, 5-95 % range, mean and std of resampled values (NaN left out).

    Examples
    --------
    >>> interval([1, 2, 3, 4, 5])["median"], interval([])["median"]
    (3.0, None)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": None, "p05": None, "p95": None, "mean": None, "std": None, "n": 0}
    return {"median": float(np.median(v)), "p05": float(np.percentile(v, 5)),
            "p95": float(np.percentile(v, 95)), "mean": float(v.mean()),
            "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}


def judge(model, ceiling, direction) -> bool | None:
    """True (pass), False (fail) or None (not enough data) for a figure, see module notes.

    Examples
    --------
    >>> judge({"p05": 0.2, "p95": 0.3}, {"p05": 0.5, "p95": 0.9}, "higher")
    False
    >>> judge({"p05": 0.2, "p95": 0.6}, {"p05": 0.5, "p95": 0.9}, "two-sided")
    True
    """
    if model.get("p05") is None or ceiling.get("p05") is None:
        return None
    lo, hi = model["p05"], model["p95"]
    if direction == "higher":
        return not hi < ceiling["p05"]
    if direction == "lower":
        return not lo > ceiling["p95"]
    return not (hi < ceiling["p05"] or lo > ceiling["p95"])


def matched_sizes(n_ref, n_cand) -> tuple:
    """``(a, b)``: candidate/part-A size and part-B size of the matched splits.

    Examples
    --------
    >>> matched_sizes(50, 50), matched_sizes(50, 10), matched_sizes(3, 10)
    ((25, 25), (10, 40), (1, 2))
    """
    a = min(int(n_cand), int(n_ref) // 2)
    return a, int(n_ref) - a


def _finite_in(x, lo, hi):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x) & (x >= lo) & (x <= hi)]


def f0_figures(g, ref, edges, kind="divergence"):
    """f0 figures of the sample ``g`` against the sample ``ref`` (values in the bins only).

    Returns a dict: ``f0_similarity`` (1 - JSD of the histograms), ``f0_median_error``
    (median g / median ref - 1), ``f0_spread_ratio`` (std ln f0 g / std ln f0 ref) and
    ``f0_off_2x`` (share of g off the ref median by more than a factor 2).

    Examples
    --------
    >>> edges = np.linspace(1, 20, 21)
    >>> f = f0_figures([4.0, 4.2, 12.0], [4.0, 4.4, 4.2], edges)
    >>> round(f["f0_median_error"], 3), round(f["f0_off_2x"], 3)
    (0.0, 0.333)
    """
    lo, hi = edges[0], edges[-1]
    gv, rv = _finite_in(g, lo, hi), _finite_in(ref, lo, hi)
    out = {k: float("nan") for k in ("f0_similarity", "f0_median_error", "f0_spread_ratio",
                                     "f0_off_2x")}
    if gv.size == 0 or rv.size == 0:
        return out
    out["f0_similarity"] = js_similarity(f0_histogram(gv, edges)[0],
                                         f0_histogram(rv, edges)[0], kind)
    med_r = float(np.median(rv))
    out["f0_median_error"] = float(np.median(gv)) / med_r - 1.0
    if gv.size > 1 and rv.size > 1:
        sr = np.log(rv).std(ddof=1)
        out["f0_spread_ratio"] = float(np.log(gv).std(ddof=1) / sr) if sr > 0 else float("nan")
    ratio = gv / med_r
    out["f0_off_2x"] = float(np.mean((ratio > OFF_FACTOR) | (ratio < 1 / OFF_FACTOR)))
    return out


def _wasserstein_ln(a, b):
    from scipy.stats import wasserstein_distance
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a) & (a > 0)], b[np.isfinite(b) & (b > 0)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(wasserstein_distance(np.log(a), np.log(b)))


def station_scores(ref, cand, edges, *, kind="divergence", ims=(), n_bootstrap=200,
                   rng=None, min_records=5) -> dict:
    """All matched figures of one candidate group at one station.

    Parameters
    ----------
    ref, cand : dict
        ``{"f0": {rule: array}, "ims": {name: array}}`` of the reference and candidate records.
    edges : numpy.ndarray
        f0 histogram edges.
    kind : {"divergence", "distance"}
        Jensen-Shannon similarity variant.
    ims : sequence of str
        IM names to compare (1-D Wasserstein distance of ln IM).
    n_bootstrap : int
        Matched replicates.
    rng : numpy.random.Generator
    min_records : int
        Fewest records part A (and the candidate subset) must hold.

    Returns
    -------
    dict
        ``sizes`` (a, b), ``status`` and ``figures``: ``{rule: {figure: entry}}`` for the f0
        figures and ``{"ims": {name: entry}}``; each entry holds ``full_sets`` (the figure on
        all records), ``model`` and ``ceiling`` (:func:`interval` summaries), ``direction``
        and ``pass``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = {"f0": {"r": rng.lognormal(1.5, 0.1, 40)}, "ims": {}}
    >>> same = {"f0": {"r": rng.lognormal(1.5, 0.1, 40)}, "ims": {}}
    >>> one = {"f0": {"r": np.full(40, 4.5)}, "ims": {}}
    >>> edges = np.linspace(1, 20, 21)
    >>> station_scores(ref, same, edges, n_bootstrap=50, rng=rng)["figures"]["r"][
    ...     "f0_spread_ratio"]["pass"]
    True
    >>> station_scores(ref, one, edges, n_bootstrap=50, rng=rng)["figures"]["r"][
    ...     "f0_spread_ratio"]["pass"]
    False
    """
    rng = np.random.default_rng(rng)
    rules = list(ref["f0"])
    n_ref = len(next(iter(ref["f0"].values()))) if ref["f0"] else 0
    n_cand = len(next(iter(cand["f0"].values()))) if cand["f0"] else 0
    a, b = matched_sizes(n_ref, n_cand)
    out = {"sizes": [a, b], "n_reference": n_ref, "n_candidate": n_cand}
    if a < min_records or b < min_records:
        out["status"] = (f"too few records for matched splits: {n_cand} candidate and "
                         f"{n_ref} reference record(s) give parts of {a} and {b}, need "
                         f"{min_records}")
        out["figures"] = {}
        return out
    out["status"] = "ok"
    model = {r: {} for r in rules}
    ceil = {r: {} for r in rules}
    mim, cim = {n: [] for n in ims}, {n: [] for n in ims}
    for _ in range(int(n_bootstrap)):
        perm = rng.permutation(n_ref)
        ia, ib = perm[:a], perm[a:]
        ig = rng.permutation(n_cand)[:a]
        for r in rules:
            rv, cv = np.asarray(ref["f0"][r]), np.asarray(cand["f0"][r])
            for k, v in f0_figures(cv[ig], rv[ib], edges, kind).items():
                model[r].setdefault(k, []).append(v)
            for k, v in f0_figures(rv[ia], rv[ib], edges, kind).items():
                ceil[r].setdefault(k, []).append(v)
        for n in ims:
            rv = np.asarray(ref["ims"].get(n, np.full(n_ref, np.nan)))
            cv = np.asarray(cand["ims"].get(n, np.full(n_cand, np.nan)))
            mim[n].append(_wasserstein_ln(cv[ig], rv[ib]))
            cim[n].append(_wasserstein_ln(rv[ia], rv[ib]))
    figures = {}
    for r in rules:
        full = f0_figures(cand["f0"][r], ref["f0"][r], edges, kind)
        figures[r] = {}
        for k in model[r]:
            m, c = interval(model[r][k]), interval(ceil[r][k])
            figures[r][k] = {"full_sets": full[k], "model": m, "ceiling": c,
                             "direction": DIRECTIONS[k], "pass": judge(m, c, DIRECTIONS[k])}
    figures["ims"] = {}
    for n in ims:
        m, c = interval(mim[n]), interval(cim[n])
        full = _wasserstein_ln(cand["ims"].get(n, []), ref["ims"].get(n, []))
        figures["ims"][n] = {"full_sets": full, "model": m, "ceiling": c,
                             "direction": "lower", "pass": judge(m, c, "lower")}
    out["figures"] = figures
    return out


def alignment_scores(ref_f0, cand_f0, edges, *, kind="divergence", n_bootstrap=200, rng=None,
                     min_records=5) -> dict:
    """Matched alignment scores (with and without the diagonal) of groups vs the reference.

    Each replicate splits every station's reference f0 values into ``k`` disjoint random parts
    of ``m`` records (``k`` = 1 + number of candidate groups, ``m = min(n_ref // k, smallest
    candidate)``) and draws ``m`` records of every candidate group: the ceiling is the
    alignment of the matrix of the ``k`` reference parts, the model's that of the first
    reference part with the candidate subsets -- the same matrix shape and record counts.

    Parameters
    ----------
    ref_f0 : dict
        Station -> reference f0 values (one rule).
    cand_f0 : dict
        Group -> {station -> f0 values}.
    edges : numpy.ndarray
    kind : {"divergence", "distance"}
    n_bootstrap : int
    rng : numpy.random.Generator
    min_records : int
        Fewest records per part; stations with fewer are left out (listed).

    Returns
    -------
    dict
        ``with_diagonal`` and ``without_diagonal``: ``{"model": interval, "ceiling":
        interval, "pass": bool or None}``; ``stations`` used, ``left_out``, ``part_size``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = {"A": rng.lognormal(0.8, 0.1, 30), "B": rng.lognormal(2.3, 0.1, 30)}
    >>> gen = {"g": {"A": rng.lognormal(0.8, 0.1, 15), "B": rng.lognormal(2.3, 0.1, 15)}}
    >>> s = alignment_scores(ref, gen, np.linspace(1, 20, 21), n_bootstrap=30, rng=rng)
    >>> s["without_diagonal"]["pass"], s["part_size"]
    (True, {'A': 15, 'B': 15})
    """
    rng = np.random.default_rng(rng)
    groups = list(cand_f0)
    k = 1 + len(groups)
    lo, hi = edges[0], edges[-1]
    stations, left_out, sizes = [], [], {}
    for s, v in ref_f0.items():
        rv = _finite_in(v, lo, hi)
        cands = [_finite_in(cand_f0[g].get(s, []), lo, hi) for g in groups]
        m = min([rv.size // k] + [c.size for c in cands])
        if m >= min_records:
            stations.append(s)
            sizes[s] = int(m)
        else:
            left_out.append(s)
    res = {"stations": stations, "left_out": left_out, "part_size": sizes, "groups": groups}
    if len(stations) < 2:
        for key in ("with_diagonal", "without_diagonal"):
            res[key] = {"model": interval([]), "ceiling": interval([]), "pass": None}
        return res
    ideal = ideal_block_matrix(len(stations), k)
    off = ~np.eye(ideal.shape[0], dtype=bool)
    vals = {key: {"model": [], "ceiling": []} for key in ("with_diagonal", "without_diagonal")}
    for _ in range(int(n_bootstrap)):
        hm, hc = [], []
        for s in stations:
            m = sizes[s]
            rv = _finite_in(ref_f0[s], lo, hi)
            perm = rng.permutation(rv.size)
            parts = [rv[perm[i * m:(i + 1) * m]] for i in range(k)]
            hc += [f0_histogram(p, edges)[0] for p in parts]
            hm.append(hc[-k])
            for g in groups:
                cv = _finite_in(cand_f0[g][s], lo, hi)
                hm.append(f0_histogram(cv[rng.permutation(cv.size)[:m]], edges)[0])
        for name, hist in (("model", hm), ("ceiling", hc)):
            mat = similarity_matrix(np.array(hist), kind=kind)
            vals["with_diagonal"][name].append(alignment_score(mat, ideal))
            masked = np.where(off, mat, np.nan)
            vals["without_diagonal"][name].append(alignment_score(masked, ideal))
    for key, v in vals.items():
        m, c = interval(v["model"]), interval(v["ceiling"])
        res[key] = {"model": m, "ceiling": c, "pass": judge(m, c, "two-sided")}
    return res


def bootstrap_median(values, n_bootstrap=200, rng=None) -> dict:
    """Median of per-record values with a bootstrap 90 % interval (records resampled).

    Examples
    --------
    >>> b = bootstrap_median(np.arange(20.0), 100, np.random.default_rng(0))
    >>> b["median"], b["p05"] < 9.5 < b["p95"]
    (9.5, True)
    """
    rng = np.random.default_rng(rng)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"median": None, "p05": None, "p95": None, "n": 0}
    reps = [np.median(v[rng.integers(0, v.size, v.size)]) for _ in range(int(n_bootstrap))]
    return {"median": float(np.median(v)), "p05": float(np.percentile(reps, 5)),
            "p95": float(np.percentile(reps, 95)), "n": int(v.size)}

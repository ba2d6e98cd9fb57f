"""f0 histograms, Jensen-Shannon similarity and distances between IM distributions.

Pure functions on numbers (no Streams): the pieces :func:`obspy_gen.evaluate.evaluate` is made
of, usable on f0 values computed elsewhere (e.g. published per-record values).
"""
from __future__ import annotations

import numpy as np

from obspy_gen.core.settings import EVALUATION_F0_RANGE

#: Jensen-Shannon variants: ``"divergence"`` = 1 - JSD (the paper's text), ``"distance"`` =
#: 1 - sqrt(JSD) (what ``scipy.spatial.distance.jensenshannon`` returns; the authors' public
#: plotting script used it). Both with base-2 logarithms, so both lie in [0, 1].
JS_KINDS = ("divergence", "distance")
#: Bin spacings of :func:`f0_bin_edges`.
SPACINGS = ("linear", "log")


def f0_bin_edges(bins=20, f0_range=EVALUATION_F0_RANGE, spacing="linear") -> np.ndarray:
    """Edges of the f0 histogram bins.

    Parameters
    ----------
    bins : int or array_like
        Number of bins, or the edges themselves (increasing, returned as floats).
    f0_range : (float, float)
        Lowest and highest edge in Hz. Default 1-20 Hz, the paper's band.
    spacing : {"linear", "log"}
        ``"linear"`` (default): equal widths in Hz, as the TimesNet-Gen authors'
        ``np.linspace(1, 20, 21)``; ``"log"``: equal widths in log frequency (each bin the same
        fraction of an octave, which suits an f0 that scatters lognormally).

    Returns
    -------
    numpy.ndarray
        ``bins + 1`` edges.

    Examples
    --------
    >>> f0_bin_edges(4, (1, 5))
    array([1., 2., 3., 4., 5.])
    >>> f0_bin_edges(2, (1, 100), spacing="log")
    array([  1.,  10., 100.])
    """
    if np.ndim(bins) == 1:
        edges = np.asarray(bins, dtype=float)
        if edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ValueError("bin edges must be at least two increasing values")
        return edges
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins={bins!r} must be a positive integer or a sequence of edges")
    lo, hi = (float(v) for v in f0_range)
    if not 0 < lo < hi:
        raise ValueError(f"f0_range={f0_range!r} must be (low, high) with 0 < low < high")
    if spacing == "linear":
        return np.linspace(lo, hi, int(bins) + 1)
    if spacing == "log":
        return np.geomspace(lo, hi, int(bins) + 1)
    raise ValueError(f"spacing={spacing!r} is not one of {', '.join(SPACINGS)}")


def f0_histogram(f0, bins=20, f0_range=EVALUATION_F0_RANGE, spacing="linear", normalize=True):
    """Histogram of f0 values on :func:`f0_bin_edges` bins.

    NaN values (records without a peak) and values outside the bins are left out, as
    :func:`numpy.histogram` does; the last bin includes its right edge.

    Parameters
    ----------
    f0 : array_like
        f0 values in Hz.
    bins, f0_range, spacing
        See :func:`f0_bin_edges`.
    normalize : bool
        Return probabilities (summing to 1; all zero when no value falls in a bin) instead of
        counts.

    Returns
    -------
    values : numpy.ndarray
        Probabilities (or counts) per bin.
    edges : numpy.ndarray

    Examples
    --------
    >>> p, edges = f0_histogram([1.5, 2.5, 2.6, float("nan"), 30.0], bins=4, f0_range=(1, 5))
    >>> p
    array([0.333, 0.667, 0. , 0. ])
    >>> f0_histogram([1.5, 2.5], bins=4, f0_range=(1, 5), normalize=False)[0]
    array([1., 1., 0., 0.])
    """
    edges = f0_bin_edges(bins, f0_range, spacing)
    x = np.asarray(f0, dtype=float).ravel()
    counts, _ = np.histogram(x[np.isfinite(x)], bins=edges)
    counts = counts.astype(float)
    if not normalize:
        return counts, edges
    total = counts.sum()
    return (counts / total if total > 0 else counts), edges


def _as_prob(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("histogram values must be finite and non-negative")
    total = p.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p / total, np.nan)


def _jsd_base2(p, q):
    """Jensen-Shannon divergence in bits of probability vectors (broadcasting on leading axes)."""
    m = 0.5 * (p + q)
    with np.errstate(invalid="ignore", divide="ignore"):
        # 0 * log 0 = 0: empty bins contribute nothing.
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return np.clip(0.5 * (kl_p + kl_q), 0.0, 1.0)  # clip: rounding only


def js_similarity(p, q, kind="divergence") -> float:
    """Similarity of two histograms: 1 - Jensen-Shannon divergence with base-2 logarithms.

    ``JSD(P, Q) = (KL(P || M) + KL(Q || M)) / 2`` with ``M = (P + Q) / 2``; with base-2 logs
    it lies in [0, 1], so the similarity is 1 for identical distributions and 0 for
    distributions without a common bin.

    Parameters
    ----------
    p, q : array_like
        Histograms on the same bins (counts or probabilities; each is normalised to sum 1).
    kind : {"divergence", "distance"}
        ``"divergence"`` (default, the paper's text): ``1 - JSD``. ``"distance"``:
        ``1 - sqrt(JSD)``, the Jensen-Shannon *distance* of
        :func:`scipy.spatial.distance.jensenshannon` with ``base=2`` (the authors' public
        scripts used this one; it is lower for the same pair).

    Returns
    -------
    float
        In [0, 1]; NaN when either histogram is empty.

    Examples
    --------
    >>> js_similarity([1, 2, 0], [2, 4, 0])
    1.0
    >>> js_similarity([1, 0], [0, 1])
    0.0
    >>> round(js_similarity([1, 1], [1, 0]), 4), round(js_similarity([1, 1], [1, 0], "distance"), 4)
    (0.6887, 0.4421)
    >>> js_similarity([0, 0], [1, 0])
    nan
    """
    if kind not in JS_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(JS_KINDS)}")
    p, q = _as_prob(p), _as_prob(q)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"p and q must be 1-D and of equal length, got {p.shape} and {q.shape}")
    if np.isnan(p).any() or np.isnan(q).any():
        return float("nan")
    jsd = float(_jsd_base2(p, q))
    return float(1.0 - (np.sqrt(jsd) if kind == "distance" else jsd))


def pairwise_js_similarity(histograms, kind="divergence") -> np.ndarray:
    """:func:`js_similarity` between every pair of rows (NaN for empty rows).

    Examples
    --------
    >>> pairwise_js_similarity([[1, 0], [0, 1], [0, 0]])
    array([[ 1.,  0., nan],
           [ 0.,  1., nan],
           [nan, nan, nan]])
    """
    if kind not in JS_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(JS_KINDS)}")
    h = np.asarray(histograms, dtype=float)
    if h.ndim != 2:
        raise ValueError(f"histograms must be 2-D (rows = distributions), got shape {h.shape}")
    bad = ~np.all(np.isfinite(h), axis=1)
    h = np.where(bad[:, None], 0.0, h)
    p = _as_prob(h)
    jsd = _jsd_base2(p[:, None, :], p[None, :, :])
    sim = 1.0 - (np.sqrt(jsd) if kind == "distance" else jsd)
    empty = np.isnan(p).any(axis=1)
    sim[empty, :] = np.nan
    sim[:, empty] = np.nan
    return sim


def distribution_distances(a, b, log=True) -> dict:
    """Wasserstein distance and two-sample Kolmogorov-Smirnov test between two samples.

    Meant for intensity measures (PGA, Arias intensity, ...), which scatter lognormally: with
    ``log=True`` (default) both samples are compared as natural logarithms, so the Wasserstein
    distance is in ln units (0.1 ~ a 10 % shift) and does not depend on the unit. Non-positive
    or non-finite values are dropped first.

    Parameters
    ----------
    a, b : array_like
        The two samples.
    log : bool
        Compare ``ln(a)`` and ``ln(b)``.

    Returns
    -------
    dict
        ``wasserstein``, ``ks_statistic``, ``ks_pvalue`` (NaN when a sample is empty),
        ``n_a``, ``n_b`` and ``log``.

    Examples
    --------
    >>> d = distribution_distances([1.0, 2.0, 4.0], [2.0, 4.0, 8.0])
    >>> round(d["wasserstein"], 4), d["ks_statistic"]
    (0.6931, 0.3333...)
    """
    from scipy import stats

    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    keep = lambda x: x[np.isfinite(x) & (x > 0)] if log else x[np.isfinite(x)]  # noqa: E731
    a, b = keep(a), keep(b)
    out = {"wasserstein": float("nan"), "ks_statistic": float("nan"),
           "ks_pvalue": float("nan"), "n_a": int(a.size), "n_b": int(b.size), "log": bool(log)}
    if a.size and b.size:
        if log:
            a, b = np.log(a), np.log(b)
        out["wasserstein"] = float(stats.wasserstein_distance(a, b))
        ks = stats.ks_2samp(a, b)
        out["ks_statistic"], out["ks_pvalue"] = float(ks.statistic), float(ks.pvalue)
    return out

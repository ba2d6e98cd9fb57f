"""The f0-distribution similarity matrix, the paper's alignment score and its ceiling.

The TimesNet-Gen paper (Sec. II-E-2, Fig. 6) fills a (groups x stations)^2 matrix with
``1 - JSD`` between every pair of (station, signal type) f0 distributions, orders it so that
each station forms a diagonal block (its 3 signal types: real, generated, reconstructed) and
scores it by the normalized cross-correlation (NCC) with the ideal matrix: 1 inside the
diagonal blocks, 0 elsewhere. What the paper leaves open, and what we chose:

* NCC is the zero-mean (Pearson) correlation coefficient of the two matrices' entries,
  ``sum((S - mean S)(I - mean I)) / sqrt(sum((S - mean S)^2) sum((I - mean I)^2))``, as in the
  authors' public script (``np.corrcoef`` of the flattened matrices). Plain cosine similarity
  (no mean removal) would give a high score to any matrix with large entries.
* All entries count, the diagonal (always 1) and both triangles (the matrix is symmetric, so
  each off-diagonal pair counts twice), again as ``np.corrcoef`` on the full matrix.
* Entries that are NaN (a station missing in a group, or with too few records for a
  histogram) are left out of both matrices before correlating; the report says which.
* Rows are ordered station-major (all groups of station 1, then of station 2, ...); the order
  does not change the NCC, it only makes the blocks visible in a figure.

The *ceiling* of a score is the same score computed between two random halves of the
reference group (usually the real records), repeated ``n_bootstrap`` times: with a few dozen
records per station even real-vs-real halves do not reach 1 (about 0.89 on the authors'
published real f0 values with 20 bins over 1-20 Hz, as reported in our issue), so a model's
score is only meaningful next to it.
"""
from __future__ import annotations

import numpy as np

from obspy_gen.core.settings import EVALUATION_F0_RANGE

from obspy_gen.evaluate.distributions import (f0_bin_edges, f0_histogram,
                                              pairwise_js_similarity)


def similarity_matrix(histograms, kind="divergence") -> np.ndarray:
    """Similarity (``1 - JSD``, base-2 logs) between every pair of f0 histograms.

    Parameters
    ----------
    histograms : array_like, shape (n, nbins)
        One histogram per row (counts or probabilities, same bins), e.g. the (station, group)
        f0 distributions in station-major order. A row that is all zero or contains NaN (no
        data) gives a NaN row and column.
    kind : {"divergence", "distance"}
        See :func:`obspy_gen.evaluate.js_similarity`.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        Symmetric, 1 on the diagonal of non-empty rows, values in [0, 1].

    Examples
    --------
    >>> similarity_matrix([[4, 0, 0], [3, 1, 0], [0, 0, 5]]).round(3)
    array([[1.   , 0.862, 0.   ],
           [0.862, 1.   , 0.   ],
           [0.   , 0.   , 1.   ]])
    """
    return pairwise_js_similarity(histograms, kind=kind)


def ideal_block_matrix(stations, n_groups=None) -> np.ndarray:
    """The paper's ideal matrix: 1 between rows of the same station, 0 between stations.

    Parameters
    ----------
    stations : int or sequence
        Either the number of stations (then ``n_groups`` rows per station, station-major, as
        :func:`similarity_matrix` rows are ordered by :func:`obspy_gen.evaluate.evaluate`), or
        the station label of every row.
    n_groups : int, optional
        Rows per station when ``stations`` is a number.

    Returns
    -------
    numpy.ndarray
        Square 0/1 matrix.

    Examples
    --------
    >>> ideal_block_matrix(2, 2)
    array([[1., 1., 0., 0.],
           [1., 1., 0., 0.],
           [0., 0., 1., 1.],
           [0., 0., 1., 1.]])
    >>> ideal_block_matrix(["A", "B", "A"])
    array([[1., 0., 1.],
           [0., 1., 0.],
           [1., 0., 1.]])
    """
    if np.ndim(stations) == 0:
        if n_groups is None:
            raise TypeError("give n_groups with a number of stations")
        labels = np.repeat(np.arange(int(stations)), int(n_groups))
    else:
        labels = np.asarray(list(stations), dtype=object)
    return (labels[:, None] == labels[None, :]).astype(float)


def alignment_score(matrix, ideal) -> float:
    """Normalized cross-correlation (Pearson) between a similarity matrix and the ideal one.

    ``NCC = sum((S - mean S)(I - mean I)) / sqrt(sum((S - mean S)^2) * sum((I - mean I)^2))``
    over all entries (diagonal included) where ``S`` is finite; see the module notes for the
    choices the paper leaves open.

    Parameters
    ----------
    matrix : array_like
        Similarity matrix (NaN entries are left out).
    ideal : array_like
        Ideal matrix of the same shape (:func:`ideal_block_matrix`).

    Returns
    -------
    float
        In [-1, 1]; 1 for a matrix that is an affine copy of the ideal one; NaN when fewer
        than two entries are finite or either matrix is constant over them.

    Examples
    --------
    >>> ideal = ideal_block_matrix(2, 2)
    >>> alignment_score(ideal, ideal)
    1.0
    >>> alignment_score(0.5 + 0.4 * ideal, ideal)        # affine copies score 1 too
    1.0
    >>> alignment_score(np.ones((4, 4)), ideal)          # stations not told apart
    nan
    >>> round(alignment_score(1 - ideal + np.eye(4), ideal), 3)   # stations swapped
    -0.577
    """
    s = np.asarray(matrix, dtype=float)
    i = np.asarray(ideal, dtype=float)
    if s.shape != i.shape:
        raise ValueError(f"matrix {s.shape} and ideal {i.shape} differ in shape")
    ok = np.isfinite(s) & np.isfinite(i)
    s, i = s[ok], i[ok]
    if s.size < 2:
        return float("nan")
    s, i = s - s.mean(), i - i.mean()
    denom = np.sqrt((s * s).sum() * (i * i).sum())
    # A constant matrix carries no information about stations; rounding-level spread is 0 too.
    if not denom > 1e-12:
        return float("nan")
    return float(np.clip((s * i).sum() / denom, -1.0, 1.0))


def _summary(values) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "std": None, "p05": None, "p95": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "p05": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95)),
            "n": int(v.size)}


def random_halves(n, rng):
    """Index arrays of a random split of ``range(n)`` into halves (sizes n // 2 and n - n // 2).

    Examples
    --------
    >>> a, b = random_halves(5, np.random.default_rng(0))
    >>> len(a), len(b), sorted(np.concatenate([a, b]).tolist())
    (2, 3, [0, 1, 2, 3, 4])
    """
    perm = rng.permutation(n)
    return perm[: n // 2], perm[n // 2:]


def bootstrap_ceiling(f0_by_station, *, bins=20, f0_range=EVALUATION_F0_RANGE, spacing="linear",
                      kind="divergence", n_bootstrap=200, seed=None) -> dict:
    """Ceiling of the similarity and alignment scores: the reference group against itself.

    Each replicate splits every station's reference f0 values at random into two halves
    (without replacement; sizes ``n // 2`` and ``n - n // 2``), computes the per-station
    similarity between the halves and the alignment score of the (2 x stations)^2 matrix of
    the halves (station-major: half A, half B of station 1, then station 2, ...). The summary
    over replicates (mean, standard deviation, 5th and 95th percentiles) is what a perfect
    generator, one that draws from the same distribution as the reference, would score with
    half as many records -- a slightly pessimistic ceiling for a full-size comparison.

    Parameters
    ----------
    f0_by_station : mapping
        Station -> the reference group's f0 values (NaN and values outside the bins are
        dropped before splitting). Stations with fewer than 2 values get no ceiling.
    bins, f0_range, spacing
        Histogram bins, see :func:`obspy_gen.evaluate.f0_bin_edges`.
    kind : {"divergence", "distance"}
        See :func:`obspy_gen.evaluate.js_similarity`.
    n_bootstrap : int
        Number of random splits.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng` (reproducible ceilings).

    Returns
    -------
    dict
        ``similarity``: station -> summary dict (``mean``, ``std``, ``p05``, ``p95``, ``n``);
        ``alignment``: summary dict (needs 2 stations or more); ``half_sizes``: station ->
        [n_a, n_b]; ``n_bootstrap``, ``seed``.

    Examples
    --------
    Two stations whose f0 values never share a bin: halves of one station look alike,
    stations do not, so the alignment ceiling is 1.

    >>> f0 = {"A": [2.1, 2.2, 2.3, 2.4], "B": [9.1, 9.2, 9.3, 9.4]}
    >>> c = bootstrap_ceiling(f0, n_bootstrap=20, seed=1)
    >>> c["similarity"]["A"]["mean"], c["alignment"]["mean"], c["half_sizes"]["A"]
    (1.0, 1.0, [2, 2])
    """
    edges = f0_bin_edges(bins, f0_range, spacing)
    rng = np.random.default_rng(seed)
    values = {}
    for station, f0 in f0_by_station.items():
        x = np.asarray(f0, dtype=float).ravel()
        values[station] = x[np.isfinite(x) & (x >= edges[0]) & (x <= edges[-1])]
    usable = [s for s, x in values.items() if x.size >= 2]
    sims = {s: [] for s in usable}
    aligns = []
    ideal = ideal_block_matrix(len(usable), 2)
    for _ in range(int(n_bootstrap)):
        hists = []
        for s in usable:
            a, b = random_halves(values[s].size, rng)
            hists.append(f0_histogram(values[s][a], edges)[0])
            hists.append(f0_histogram(values[s][b], edges)[0])
        if not hists:
            break
        m = similarity_matrix(np.array(hists), kind=kind)
        for k, s in enumerate(usable):
            sims[s].append(m[2 * k, 2 * k + 1])
        if len(usable) >= 2:
            aligns.append(alignment_score(m, ideal))
    return {
        "similarity": {s: _summary(sims.get(s, [])) for s in values},
        "alignment": _summary(aligns),
        "half_sizes": {s: [int(values[s].size // 2), int(values[s].size - values[s].size // 2)]
                       for s in values},
        "n_bootstrap": int(n_bootstrap),
        "seed": seed,
    }

"""Memorisation and mixing: is a generated record a copy, or a linear mix, of known records?

A generator can score well on distributions by replaying its training records (or the
reference records themselves) or by superposing a few of them. Two figures per record find it:

* **max NCC** -- the highest normalised cross-correlation of the record with any record of a
  comparison set, searched over every lag: ``max_lag |sum_c sum_t x_c(t) y_c(t + lag)| /
  sqrt(sum x^2 sum y^2)`` over the three components together (1 for an exact copy at any
  shift or polarity; about 0.1-0.3 for independent earthquakes at one site).
* **mixing R²** -- the coefficient of determination of the best least-squares fit of the record
  (three components concatenated) by a linear combination of the comparison records, each
  shifted to its lag of highest correlation with the record (a generator's frame need not
  start where a training record starts: TimesNet-Gen centres records in its window). The
  record counts as zero outside its own window, so a shifted comparison record that sticks out
  of the window adds misfit: R² is 1 only for a mix that the window holds entirely, about
  ``K / (3 L)`` plus the lag-search gain for an unrelated record (K records of L samples).
  ``lag=False`` gives the plain zero-lag fit.

The same figures for held-out real records (which the generator never saw) are the baseline:
real records at one site correlate a little with each other, so neither figure is 0 for them.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from obspy_gen.core.records import channel_component

_ORDER = ("N", "E", "Z")


def record_matrix(record, sampling_rate=None, length=None) -> np.ndarray:
    """A record's N, E, Z samples as a (3, L) float array (demeaned; missing parts zero).

    Parameters
    ----------
    record : obspy.Stream
        One 3-component record.
    sampling_rate : float, optional
        Resample to this rate when the record's differs.
    length : int, optional
        Truncate or zero-pad to this many samples (default: the longest component).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from obspy import read
    >>> record_matrix(read()).shape
    (3, 3000)
    >>> record_matrix(read(), length=100).shape
    (3, 100)
    """
    comps = {}
    for tr in record:
        try:
            c = channel_component(tr.stats.channel)[0]
        except ValueError:
            continue
        if sampling_rate is not None and abs(tr.stats.sampling_rate - sampling_rate) > 1e-9:
            tr = tr.copy()
            tr.resample(sampling_rate)
        x = np.asarray(tr.data, dtype=float)
        comps[c if c in _ORDER else {"1": "N", "2": "E", "3": "Z"}.get(c, c)] = x - x.mean()
    n = length if length is not None else max((x.size for x in comps.values()), default=0)
    out = np.zeros((3, n))
    for k, c in enumerate(_ORDER):
        x = comps.get(c)
        if x is not None:
            m = min(n, x.size)
            out[k, :m] = x[:m]
    return out


def _stack(records, fs, length):
    return np.array([record_matrix(r, fs, length) for r in records]) if records else \
        np.zeros((0, 3, length))


def _excluded(n, m, exclude_self, drop):
    """Per row of x: the index of y to leave out (-1: none)."""
    if exclude_self:
        return np.arange(n)
    if drop:
        # A fixed pseudo-random record per row (not i mod m: a replay in the reference's
        # order would lose exactly its own copy).
        return np.random.default_rng(12345 + 7 * n + m).integers(0, m, n)
    return np.full(n, -1)


def _cross(x, y, exclude_self=False, block=None, drop=False):
    """Best lag, signed correlation there and max |NCC| of every (x, y) pair.

    Returns ``lags`` (n, m) int (``y`` shifted by ``-lag`` aligns with ``x``, lags modulo
    ``nfft``), ``values`` (n, m) the unnormalised correlation at that lag, ``ncc`` (n,) and
    ``nfft``.
    """
    n, m = x.shape[0], y.shape[0]
    length = max(x.shape[-1], y.shape[-1])
    nfft = scipy.fft.next_fast_len(2 * length - 1, real=True)
    fy = scipy.fft.rfft(y, nfft, axis=-1)                       # (m, 3, F)
    ey = np.sqrt((y * y).sum(axis=(1, 2)))
    ex = np.sqrt((x * x).sum(axis=(1, 2)))
    if block is None:
        block = max(1, int(1.2e7 // (max(m, 1) * fy.shape[-1])))
    lags = np.zeros((n, m), dtype=np.int64)
    values = np.zeros((n, m))
    ncc = np.full(n, np.nan)
    for i0 in range(0, n, block):
        fx = scipy.fft.rfft(x[i0:i0 + block], nfft, axis=-1)   # (b, 3, F)
        cc = scipy.fft.irfft(np.einsum("bcf,mcf->bmf", np.conj(fx), fy), nfft, axis=-1)
        k = np.abs(cc).argmax(axis=-1)                           # (b, m)
        v = np.take_along_axis(cc, k[..., None], axis=-1)[..., 0]
        lags[i0:i0 + block], values[i0:i0 + block] = k, v
        with np.errstate(invalid="ignore", divide="ignore"):
            peak = np.abs(v) / (ex[i0:i0 + block, None] * ey[None, :])
        skip = _excluded(n, m, exclude_self, drop)[i0:i0 + peak.shape[0]]
        for r, j in enumerate(skip):
            if j >= 0:
                peak[r, j] = np.nan
        good = np.isfinite(peak).any(axis=1)
        rows = np.arange(i0, i0 + peak.shape[0])[good]
        if rows.size:
            ncc[rows] = np.nanmax(peak[good], axis=1)
    return lags, values, np.clip(ncc, 0.0, 1.0), nfft


def max_ncc(x, y, exclude_self=False, block=None, drop_one=False) -> np.ndarray:
    """Per row of ``x``: the highest lag-searched normalised cross-correlation with any ``y``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, 3, L)
        Records to test.
    y : numpy.ndarray, shape (m, 3, L)
        Comparison records (same length).
    exclude_self : bool
        ``x`` and ``y`` are the same set: leave each record's correlation with itself out.
    block : int, optional
        Rows of ``x`` handled at once (default: about 200 MB of cross-spectra).
    drop_one : bool
        Leave one comparison record (fixed pseudo-random) out for each row: the candidate then
        meets as many comparison records as a leave-one-out baseline does.

    Returns
    -------
    numpy.ndarray, shape (n,)
        In [0, 1]; NaN when there is no comparison record (or a record is all zero).

    Examples
    --------
    A shifted copy correlates fully; independent noise hardly.

    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((2, 3, 500))
    >>> x = np.stack([np.roll(y[0], 40, axis=-1), rng.standard_normal((3, 500))])
    >>> v = max_ncc(x, y)
    >>> round(float(v[0]), 2) > 0.9, float(v[1]) < 0.3
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape[0] == 0 or y.shape[0] == 0 or ((exclude_self or drop_one) and y.shape[0] < 2):
        return np.full(x.shape[0], np.nan)
    return _cross(x, y, exclude_self, block, drop_one)[2]


def _fit(gram, rhs):
    """``rhs^T gram^+ rhs`` with a relative eigenvalue cut-off (nearly dependent columns)."""
    w, v = np.linalg.eigh(gram)
    keep = w > max(w.max(), 0.0) * 1e-10
    c = v[:, keep].T @ rhs
    return float((c * c / w[keep]).sum())


def mixing_r2(x, y, exclude_self=False, lag=True, drop_one=False) -> np.ndarray:
    """Per row of ``x``: R² of its best least-squares fit by a linear combination of ``y``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, 3, L)
    y : numpy.ndarray, shape (m, 3, L)
        Comparison records (components concatenated in the fit).
    exclude_self : bool
        ``x`` and ``y`` are the same set: fit each record by the others only.
    lag : bool
        Shift every comparison record to its lag of highest absolute correlation with the record
        first (default); the record is zero outside its window, so what a shifted comparison
        record puts outside it counts as misfit. ``False``: zero lag.
    drop_one : bool
        Leave one comparison record (fixed pseudo-random) out of each row's fit (as many
        comparison records as a leave-one-out baseline has: R² grows with their number).

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``1 - |x - Y w|^2 / |x|^2`` (records are demeaned), in [0, 1]; NaN without
        comparison records.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = rng.standard_normal((4, 3, 300))
    >>> mix = 0.5 * y[0] - 0.3 * y[2]
    >>> r2 = mixing_r2(np.stack([mix, rng.standard_normal((3, 300))]), y, lag=False)
    >>> round(float(r2[0]), 6), float(r2[1]) < 0.05
    (1.0, True)

    A mix of shifted records (zero outside the window): found only with the lag search.

    >>> pad = np.zeros((4, 3, 400))
    >>> pad[:, :, 50:350] = y
    >>> shifted = 0.5 * np.roll(pad[0], 30, axis=-1) + 0.8 * np.roll(pad[3], -20, axis=-1)
    >>> float(mixing_r2(shifted[None], pad)[0]) > 0.99, float(mixing_r2(shifted[None], pad,
    ...                                                                lag=False)[0]) < 0.1
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, m = x.shape[0], y.shape[0]
    out = np.full(n, np.nan)
    if n == 0 or m == 0 or ((exclude_self or drop_one) and m < 2):
        return out
    ex = (x * x).sum(axis=(1, 2))
    if not lag:
        xf, yf = x.reshape(n, -1), y.reshape(m, -1)
        gram, rhs = yf @ yf.T, xf @ yf.T
        grams = None
    else:
        lags, rhs, _, nfft = _cross(x, y, exclude_self, drop=drop_one)
        # Gram matrix of the shifted comparison records for every candidate: entry (j, k) is
        # the correlation of y_j and y_k at lag l_k - l_j (zero without overlap).
        length = y.shape[-1]
        fy = scipy.fft.rfft(y, nfft, axis=-1)
        grams = np.zeros((n, m, m))
        signed = np.where(lags > nfft // 2, lags - nfft, lags)        # (n, m) in (-L, L)
        for j in range(m):
            cc = scipy.fft.irfft(np.einsum("cf,mcf->mf", np.conj(fy[j]), fy), nfft, axis=-1)
            d = signed - signed[:, j:j + 1]                              # (n, m): l_k - l_j
            vals = cc[np.arange(m)[None, :], np.mod(d, nfft)]
            grams[:, j, :] = np.where(np.abs(d) < length, vals, 0.0)
    skip = _excluded(n, m, exclude_self, drop_one)
    for i in range(n):
        g = gram if grams is None else grams[i]
        b = rhs[i]
        if skip[i] >= 0:
            idx = np.r_[0:skip[i], skip[i] + 1:m]
            g, b = g[np.ix_(idx, idx)], b[idx]
        out[i] = _fit(g, b) / ex[i] if ex[i] > 0 else np.nan
    return np.clip(out, 0.0, 1.0)


def memorisation_figures(candidates, comparison, *, same_set=False, sampling_rate=None,
                         length=None, lag=True, drop_one=False) -> dict:
    """Max NCC and mixing R² of every candidate record against a comparison set of records.

    Parameters
    ----------
    candidates, comparison : list of obspy.Stream
        Records (one Stream each), e.g. a station's generated records and its training records.
    same_set : bool
        ``candidates`` is ``comparison`` (leave-one-out: each record against the others).
    sampling_rate : float, optional
        Common rate (default: the first candidate's).
    length : int, optional
        Common length in samples (default: the longest candidate).
    lag : bool
        Lag-aligned mixing fit (default), see :func:`mixing_r2`.
    drop_one : bool
        Each candidate meets one comparison record fewer (matches a leave-one-out baseline).

    Returns
    -------
    dict
        ``ncc``, ``r2`` (lag-aligned unless ``lag=False``) and ``r2_zero_lag``: arrays with
        one value per candidate.

    Examples
    --------
    >>> from obspy import read
    >>> st = read()
    >>> f = memorisation_figures([st], [st.copy()])
    >>> round(float(f["ncc"][0]), 3), round(float(f["r2"][0]), 3)
    (1.0, 1.0)
    """
    if not candidates:
        return {"ncc": np.zeros(0), "r2": np.zeros(0)}
    if sampling_rate is None:
        sampling_rate = candidates[0][0].stats.sampling_rate
    if length is None:
        length = max(record_matrix(r, sampling_rate).shape[1] for r in candidates)
    x = _stack(candidates, sampling_rate, length)
    y = x if same_set else _stack(comparison, sampling_rate, length)
    kw = {"exclude_self": same_set, "drop_one": drop_one and not same_set}
    return {"ncc": max_ncc(x, y, **kw), "r2": mixing_r2(x, y, lag=lag, **kw),
            "r2_zero_lag": mixing_r2(x, y, lag=False, **kw)}

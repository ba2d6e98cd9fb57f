"""Memorisation and mixing: is a generated record a copy, or a linear mix, of known records?

A generator can score well on distributions by replaying its training records (or the
reference records themselves) or by superposing a few of them. Two figures per record find it:

* **max NCC** -- the highest normalised cross-correlation of the record with any record of a
  comparison set, searched over every lag: ``max_lag |sum_c sum_t x_c(t) y_c(t + lag)| /
  sqrt(sum x^2 sum y^2)`` over the three components together (1 for an exact copy at any
  shift or polarity; about 0.1-0.3 for independent earthquakes at one site).
* **mixing R²** -- the cross-validated coefficient of determination of the record's
  least-squares fit (three components concatenated) by ``k`` (default 5) comparison records,
  each shifted to its best lag (a generator's frame need not start where a training record
  starts: TimesNet-Gen centres records in its window), chosen greedily by matching pursuit;
  the fit is made within the record's own window on half of its time blocks and scored on the
  other half (:func:`mixing_r2`). About 1 for a mix of up to ``k`` comparison records, about 0
  for an unrelated record whatever the number of comparison records (the in-sample fit by all
  of them, each lag-shifted, reached R² 0.4-0.6 for held-out simulated records at stations with
  30-110 training records). ``r2_zero_lag``: the same without shifts.

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


#: Comparison records in a mixing fit: the ``K`` best-correlated ones (lag-shifted).
MIX_K = 5
#: Interleaved time blocks of the cross-validated fit (even blocks vs odd blocks).
CV_BLOCKS = 8


def _support(x) -> np.ndarray:
    """Per row: samples up to the last non-zero one of any component (the record's window)."""
    nz = np.abs(x).sum(axis=1) > 0                                 # (n, L)
    last = nz.shape[1] - 1 - np.argmax(nz[:, ::-1], axis=1)
    return np.where(nz.any(axis=1), last + 1, 0)


def _folds(n_samples, length, blocks):
    """Two complementary masks (2, L): even and odd blocks of the first ``n_samples``."""
    t = np.arange(length)
    size = max(1, -(-int(n_samples) // int(blocks)))
    inside = t < n_samples
    even = ((t // size) % 2 == 0) & inside
    return np.stack([even, ~even & inside])


def _shifted(y, lag, nfft, n_samples):
    """``y`` (3, L) shifted by ``-lag`` (aligned with the record), cut to ``n_samples``."""
    s = int(lag - nfft if lag > nfft // 2 else lag)
    out = np.zeros((y.shape[0], n_samples))
    lo, hi = max(0, -s), min(n_samples, y.shape[-1] - s)
    if hi > lo:
        out[:, lo:hi] = y[:, lo + s:hi + s]
    return out


def mixing_r2(x, y, exclude_self=False, lag=True, drop_one=False, k=MIX_K, cv=True,
              blocks=CV_BLOCKS) -> np.ndarray:
    """Per row of ``x``: cross-validated R² of its fit by ``k`` lag-shifted ``y`` records.

    The ``k`` comparison records are chosen greedily (orthogonal matching pursuit): each step
    adds the record, shifted to its lag of highest absolute correlation, that best explains what the
    records chosen so far leave unexplained (zero lag with ``lag=False``), and refits all
    weights by least squares, three components concatenated. The record is compared within its
    own window (its samples up to the last non-zero one; a shifted comparison record is cut to
    it: a generator's window need not hold the whole training record). With ``cv`` (default)
    the fit is cross-validated: the window is cut into ``blocks`` interleaved time blocks;
    records, lags and weights are chosen on the even blocks and scored on the odd ones, and the
    other way round: ``R² = 1 - SSE(held-out blocks) / |x|^2``. A record that *is* a mix of
    (up to ``k``) comparison records is predicted on blocks the fit never saw (R² near 1); one
    that only correlates with them by chance is not (R² near 0), however many comparison
    records there are -- the in-sample fit by all of them (``k=None, cv=False``) grows with
    their number and with the lag search (0.4-0.75 for unrelated narrow-band records).

    Parameters
    ----------
    x : numpy.ndarray, shape (n, 3, L)
    y : numpy.ndarray, shape (m, 3, L)
        Comparison records.
    exclude_self : bool
        ``x`` and ``y`` are the same set: fit each record by the others only.
    lag : bool
        Shift every comparison record to its lag of highest absolute correlation with the record
        (default); ``False``: zero lag.
    drop_one : bool
        Leave one comparison record (fixed pseudo-random) out of each row's fit (as many
        comparison records as a leave-one-out baseline has).
    k : int
        Comparison records in the fit (default :data:`MIX_K` = 5); ``None``: all of them.
    cv : bool
        Cross-validated R² (default); ``False``: the in-sample R² of the fit on all samples.
    blocks : int
        Interleaved time blocks of the cross-validation (default :data:`CV_BLOCKS` = 8).

    Returns
    -------
    numpy.ndarray, shape (n,)
        In [0, 1] (records are demeaned; a held-out fit worse than zero counts as 0); NaN
        without comparison records.

    Examples
    --------
    A mix of two records is found, independent noise is not:

    >>> rng = np.random.default_rng(1)
    >>> y = rng.standard_normal((40, 3, 300))
    >>> mix = 0.5 * y[0] - 0.3 * y[2]
    >>> r2 = mixing_r2(np.stack([mix, rng.standard_normal((3, 300))]), y)
    >>> round(float(r2[0]), 6), float(r2[1]) < 0.05
    (1.0, True)

    The in-sample fit by all 40 records explains a good part of the noise by chance:

    >>> bool(mixing_r2(rng.standard_normal((1, 3, 300)), y, k=None, cv=False)[0] > 0.03)
    True

    A mix of shifted records (zero outside the window) is found with the lag search:

    >>> pad = np.zeros((40, 3, 400))
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
    k = m if k is None else max(1, min(int(k), m))
    length = x.shape[-1]
    if y.shape[-1] != length:
        y = np.pad(y, ((0, 0), (0, 0), (0, max(0, length - y.shape[-1]))))[..., :length]
    skip = _excluded(n, m, exclude_self, drop_one)
    ey = np.sqrt((y * y).sum(axis=(1, 2)))
    ey = np.where(ey > 0, ey, np.inf)
    nfft = scipy.fft.next_fast_len(2 * length - 1, real=True)
    fy = scipy.fft.rfft(y, nfft, axis=-1) if lag else None
    support = _support(x)
    ex = (x * x).sum(axis=(1, 2))
    for i in range(n):
        ns = int(support[i])
        if ns == 0 or ex[i] <= 0:
            continue
        masks = _folds(ns, ns, blocks) if cv else np.ones((1, ns), dtype=bool)
        target = x[i, :, :ns]
        sse = 0.0
        for f in range(masks.shape[0]):
            fit = np.tile(masks[f], 3)
            test = np.tile(masks[1 - f], 3) if cv else fit
            design = _pursuit(target * masks[f], y, fy, ey, nfft, ns, k, skip[i], fit)
            w = np.linalg.lstsq(design[fit], target.ravel()[fit], rcond=1e-10)[0]
            sse += float(((target.ravel()[test] - design[test] @ w) ** 2).sum())
        out[i] = 1.0 - sse / ex[i]
    return np.clip(out, 0.0, 1.0)


def _pursuit(xf, y, fy, ey, nfft, ns, k, skip, fit):
    """Design matrix (3 ns, <=k) chosen greedily on the samples ``fit`` (orthogonal matching
    pursuit): each step adds the comparison record (at its best lag; zero lag when ``fy`` is
    None) best correlated with what the records chosen so far leave unexplained."""
    chosen, cols = [], []
    residual = xf.copy()
    flat = xf.ravel()[fit]
    if k >= y.shape[0] - (skip >= 0):
        # Every record: each at its own best lag with the record (no pursuit needed).
        keep = [j for j in range(y.shape[0]) if j != skip]
        lags = np.zeros(y.shape[0], dtype=np.int64)
        if fy is not None:
            fr = scipy.fft.rfft(xf, nfft, axis=-1)
            cc = scipy.fft.irfft(np.einsum("cf,mcf->mf", np.conj(fr), fy), nfft, axis=-1)
            lags = np.abs(cc).argmax(axis=-1)
        return np.stack([_shifted(y[j], lags[j], nfft, ns).ravel() for j in keep], axis=1)
    for _ in range(k):
        if fy is not None:
            fr = scipy.fft.rfft(residual, nfft, axis=-1)
            cc = scipy.fft.irfft(np.einsum("cf,mcf->mf", np.conj(fr), fy), nfft, axis=-1)
            best = np.abs(cc).argmax(axis=-1)
            vals = np.abs(np.take_along_axis(cc, best[:, None], axis=-1)[:, 0]) / ey
        else:
            best = np.zeros(y.shape[0], dtype=np.int64)
            vals = np.abs(np.einsum("ct,mct->m", residual, y[..., :ns])) / ey
        vals[chosen] = -1.0
        if skip >= 0:
            vals[skip] = -1.0
        j = int(np.argmax(vals))
        if vals[j] <= 0:
            break
        chosen.append(j)
        cols.append(_shifted(y[j], best[j], nfft, ns).ravel())
        design = np.stack(cols, axis=1)
        w = np.linalg.lstsq(design[fit], flat, rcond=1e-10)[0]
        res = np.zeros(3 * ns)
        res[fit] = flat - design[fit] @ w
        residual = res.reshape(3, ns)
    if not cols:
        return np.zeros((3 * ns, 1))
    return np.stack(cols, axis=1)


def memorisation_figures(candidates, comparison, *, same_set=False, sampling_rate=None,
                         length=None, lag=True, drop_one=False, k=MIX_K) -> dict:
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
    k : int
        Comparison records in a mixing fit (default :data:`MIX_K` = 5).

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
    return {"ncc": max_ncc(x, y, **kw), "r2": mixing_r2(x, y, lag=lag, k=k, **kw),
            "r2_zero_lag": mixing_r2(x, y, lag=False, k=k, **kw)}

"""Memorisation and mixing: is a generated record a copy, or a linear mix, of known records?

A generator can score well on distributions by replaying its training records (or the
reference records themselves) or by superposing a few of them. Two figures per record find it:

* **max NCC** -- the highest normalised cross-correlation of the record with any record of a
  comparison set, searched over every lag: ``max_lag |sum_c sum_t x_c(t) y_c(t + lag)| /
  sqrt(sum x^2 sum y^2)`` over the three components together (1 for an exact copy at any
  shift or polarity; about 0.1-0.3 for independent earthquakes at one site).
* **mixing R²** -- the coefficient of determination of the best least-squares fit of the record
  (three components concatenated, zero lag) by a linear combination of the comparison records:
  1 for a linear mix of them, near ``K / (3 L)`` for an unrelated record (K records of L
  samples).

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


def max_ncc(x, y, exclude_self=False, block=None) -> np.ndarray:
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
    n, m = x.shape[0], y.shape[0]
    out = np.full(n, np.nan)
    if n == 0 or m == 0 or (exclude_self and m < 2):
        return out
    length = max(x.shape[-1], y.shape[-1])
    nfft = scipy.fft.next_fast_len(2 * length - 1, real=True)
    fy = scipy.fft.rfft(y, nfft, axis=-1)                       # (m, 3, F)
    ey = np.sqrt((y * y).sum(axis=(1, 2)))                      # (m,)
    ex = np.sqrt((x * x).sum(axis=(1, 2)))
    if block is None:
        block = max(1, int(1.2e7 // (m * fy.shape[-1])))
    for i0 in range(0, n, block):
        fx = scipy.fft.rfft(x[i0:i0 + block], nfft, axis=-1)   # (b, 3, F)
        cross = np.einsum("bcf,mcf->bmf", np.conj(fx), fy)       # summed over components
        cc = scipy.fft.irfft(cross, nfft, axis=-1)
        peak = np.abs(cc).max(axis=-1)                           # (b, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            peak = peak / (ex[i0:i0 + block, None] * ey[None, :])
        if exclude_self:
            for k in range(peak.shape[0]):
                peak[k, i0 + k] = np.nan
        with np.errstate(invalid="ignore"):
            good = np.isfinite(peak).any(axis=1)
            out[i0:i0 + block][good] = np.nanmax(peak[good], axis=1)
    return np.clip(out, 0.0, 1.0)


def mixing_r2(x, y, exclude_self=False) -> np.ndarray:
    """Per row of ``x``: R² of its best least-squares fit by a linear combination of ``y``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, 3, L)
    y : numpy.ndarray, shape (m, 3, L)
        Comparison records at zero lag (components concatenated).
    exclude_self : bool
        ``x`` and ``y`` are the same set: fit each record by the others only.

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
    >>> r2 = mixing_r2(np.stack([mix, rng.standard_normal((3, 300))]), y)
    >>> round(float(r2[0]), 6), float(r2[1]) < 0.05
    (1.0, True)
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    n, m = x.shape[0], y.shape[0]
    out = np.full(n, np.nan)
    if n == 0 or m == 0 or (exclude_self and m < 2):
        return out
    # Normal equations on unit-norm comparison records (R² does not depend on their scale):
    # Gram matrix G = Y Y^T, right-hand sides P = X Y^T; a pseudo-inverse with a relative
    # cut-off keeps nearly dependent comparison records (e.g. two copies) harmless.
    norms = np.sqrt((y * y).sum(axis=1))
    yn = y / np.where(norms > 0, norms, 1.0)[:, None]
    gram = yn @ yn.T
    rhs = x @ yn.T
    ex = (x * x).sum(axis=1)

    def fit(g, b):
        w, v = np.linalg.eigh(g)
        keep = w > w.max() * 1e-10
        c = v[:, keep].T @ b
        return float((c * c / w[keep]).sum())

    if exclude_self:
        vals = np.array([fit(gram[np.ix_(idx, idx)], rhs[i, idx]) for i in range(n)
                         for idx in [np.r_[0:i, i + 1:m]]])
    else:
        w, v = np.linalg.eigh(gram)
        keep = w > w.max() * 1e-10
        c = rhs @ v[:, keep]
        vals = (c * c / w[keep]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ex > 0, vals / np.where(ex > 0, ex, 1.0), np.nan)
    return np.clip(out, 0.0, 1.0)


def memorisation_figures(candidates, comparison, *, same_set=False, sampling_rate=None,
                         length=None) -> dict:
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

    Returns
    -------
    dict
        ``ncc`` and ``r2``: arrays with one value per candidate.

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
    return {"ncc": max_ncc(x, y, exclude_self=same_set),
            "r2": mixing_r2(x, y, exclude_self=same_set)}

"""Konno-Ohmachi (1998) spectral smoothing, numba-compiled and parallel.

The window is ``w(f, fc) = [sin(b log10(f/fc)) / (b log10(f/fc))]**4`` and the smoothed value
is always the normalised weighted average ``sum(w A) / sum(w)``. Two kernel extents:

``truncation="main_lobe"`` (default)
    Only bins with ``10**(-3/b) <= f/fc <= 10**(3/b)``, i.e. ``|b log10(f/fc)| <= 3``: the
    Geopsy / hvsrpy convention. Identical (to rounding) to
    ``hvsrpy.smoothing.konno_and_ohmachi``.
``truncation="full"``
    Every bin with f > 0 (the side lobes too): identical (to rounding) to
    ``obspy.signal.konnoohmachismoothing.konno_ohmachi_smoothing(..., normalize=True)`` when
    ``centers`` is None.

Where the speed comes from: the main lobe of every centre is a contiguous run of bins, so its
weights are computed once per (frequency grid, centres, b) and reused for every spectrum of the
batch (cached); the full kernel builds dense weight blocks with a sine-difference identity and
applies them with one BLAS matrix product per block.
"""
from __future__ import annotations

import functools

import numba
import numpy as np

from obspy_gen.core.jit import njit

_TRUNCATIONS = ("main_lobe", "full")
# Dense weight blocks of the full kernel are kept below this many bytes.
_BLOCK_BYTES = 128 * 2**20
# Up to this many spectra the full kernel is applied on the fly; above, by BLAS on weight blocks.
_FUSED_MAX_SPECTRA = 8


@njit
def _lobe_edges(frequency, fc, lower, upper):
    """First and one-past-last bin of the main lobe of fc, with hvsrpy's exact tests."""
    n = frequency.size
    lo = np.searchsorted(frequency, fc * lower)
    # Step to where the exact ratio test (not the product above) starts to hold.
    while lo > 0 and not (frequency[lo - 1] / fc < lower):
        lo -= 1
    while lo < n and frequency[lo] / fc < lower:
        lo += 1
    while lo < n and frequency[lo] < 1e-6:
        lo += 1
    hi = np.searchsorted(frequency, fc * upper)
    while hi < n and not (frequency[hi] / fc > upper):
        hi += 1
    while hi > lo and frequency[hi - 1] / fc > upper:
        hi -= 1
    return lo, hi


@njit
def _alloc_runs(count):
    """Offsets of each centre's run of weights in one flat array, and the arrays to fill."""
    m = count.size
    offset = np.zeros(m + 1, dtype=np.int64)
    for c in range(m):
        offset[c + 1] = offset[c] + count[c]
    return offset, np.empty(offset[m], dtype=np.float64), np.zeros(m, dtype=np.float64)


@njit
def _main_lobe_weights(frequency, centers, bandwidth):
    """Contiguous-run sparse weights: per centre (start bin, offset into weights, count).

    Serial on purpose: ~3 ms for 512 centres on a 32,769-bin grid, computed once per grid and
    cached; a parallel region here cost 10x more whenever the cores were busy elsewhere.
    """
    lower = 10.0 ** (-3.0 / bandwidth)
    upper = 10.0 ** (3.0 / bandwidth)
    m = centers.size
    start = np.zeros(m, dtype=np.int64)
    count = np.zeros(m, dtype=np.int64)
    for c in range(m):
        fc = centers[c]
        if fc < 1e-6:
            continue
        lo, hi = _lobe_edges(frequency, fc, lower, upper)
        start[c] = lo
        count[c] = max(hi - lo, 0)
    offset, weights, total = _alloc_runs(count)
    # sin(b log f) and cos(b log f) once per bin: the weights' sines then come from
    # sin(a - c) = sin a cos c - cos a sin c, a multiply-add each (see _full_row).
    log_f = np.log10(np.maximum(frequency, 1e-300))
    sin_f = np.sin(bandwidth * log_f)
    cos_f = np.cos(bandwidth * log_f)
    for c in range(m):
        fc = centers[c]
        if count[c] == 0:
            continue
        lfc = np.log10(fc)
        sc = np.sin(bandwidth * lfc)
        cc = np.cos(bandwidth * lfc)
        acc = 0.0
        o = offset[c] - start[c]
        for j in range(start[c], start[c] + count[c]):
            x = bandwidth * (log_f[j] - lfc)
            if abs(x) < 0.1:
                # Close to the centre the identity loses relative precision: direct sine.
                if abs(frequency[j] - fc) < 1e-6:
                    w = 1.0
                else:
                    w = np.sin(x) / x
                    w *= w
                    w *= w
            else:
                w = (sin_f[j] * cc - cos_f[j] * sc) / x
                w *= w
                w *= w
            weights[o + j] = w
            acc += w
        total[c] = acc
    return start, offset, weights, total


@njit(parallel=True, fastmath=False)
def _apply_main_lobe(spectra_t, start, offset, weights, total, zero_bin, centers, order):
    """out[s, c] = sum_k w_ck A[s, start_c + k] / sum_k w_ck, spectra given as (nfreq, nspec).

    Any weights stored as one contiguous run of bins per centre (Konno-Ohmachi main lobe,
    log-Gaussian) go through here.

    Centres are visited in ``order``, which deals them out to the threads in turn: the work per
    centre grows with its frequency, and prange hands each thread one contiguous chunk.
    """
    nspec = spectra_t.shape[1]
    m = start.size
    out = np.empty((m, nspec), dtype=np.float64)
    for i in numba.prange(m):
        c = order[i]
        acc = np.zeros(nspec, dtype=np.float64)
        if centers[c] == 0.0:
            # ObsPy's limit for fc = 0: the window is a spike at f = 0.
            if zero_bin >= 0:
                out[c, :] = spectra_t[zero_bin, :]
            else:
                out[c, :] = np.nan
            continue
        if total[c] == 0.0:
            out[c, :] = np.nan
            continue
        s0 = start[c]
        o = offset[c]
        for k in range(offset[c + 1] - o):
            w = weights[o + k]
            row = spectra_t[s0 + k]
            for s in range(nspec):
                acc[s] += w * row[s]
        inv = 1.0 / total[c]
        for s in range(nspec):
            out[c, s] = acc[s] * inv
    return out


@njit
def _full_row(log_f, sin_f, cos_f, first, fc, bandwidth, row):
    """Full-kernel weights of one centre into ``row``; returns their sum.

    sin(b (log f - log fc)) comes from the identity sin(a - c) = sin a cos c - cos a sin c with
    sin/cos of b log f precomputed once per bin: a multiply-add instead of a sine per weight,
    in branch-free (vectorised) loops. Within |x| < 1 of the centre the sine is evaluated
    directly, where the identity would lose relative precision.
    """
    n = log_f.size
    row[:first] = 0.0
    lfc = np.log10(fc)
    bc = bandwidth * lfc
    sc = np.sin(bc)
    cc = np.cos(bc)
    near_lo = max(first, np.searchsorted(log_f, lfc - 1.0 / bandwidth))
    near_hi = max(near_lo, np.searchsorted(log_f, lfc + 1.0 / bandwidth))
    total = 0.0
    for j in range(first, near_lo):
        x = bandwidth * (log_f[j] - lfc)
        r = (sin_f[j] * cc - cos_f[j] * sc) / x
        r *= r
        row[j] = r * r
        total += row[j]
    for j in range(near_lo, near_hi):
        x = bandwidth * (log_f[j] - lfc)
        if x == 0.0:
            row[j] = 1.0
        else:
            r = np.sin(x) / x
            r *= r
            row[j] = r * r
        total += row[j]
    for j in range(near_hi, n):
        x = bandwidth * (log_f[j] - lfc)
        r = (sin_f[j] * cc - cos_f[j] * sc) / x
        r *= r
        row[j] = r * r
        total += row[j]
    return total


@njit(parallel=True)
def _full_fused(spectra, log_f, sin_f, cos_f, first, centers, bandwidth, zero_bin):
    """Full-kernel smoothing of a few spectra, weights computed on the fly (never stored)."""
    nspec, n = spectra.shape
    m = centers.size
    out = np.empty((nspec, m), dtype=np.float64)
    for c in numba.prange(m):
        fc = centers[c]
        if fc <= 0.0:
            for s in range(nspec):
                out[s, c] = spectra[s, zero_bin] if zero_bin >= 0 else np.nan
            continue
        row = np.empty(n, dtype=np.float64)
        total = _full_row(log_f, sin_f, cos_f, first, fc, bandwidth, row)
        for s in range(nspec):
            acc = 0.0
            for j in range(first, n):
                acc += row[j] * spectra[s, j]
            out[s, c] = acc / total
    return out


@njit(parallel=True)
def _full_weights_block(log_f, sin_f, cos_f, first, centers, bandwidth, w):
    """Dense full-kernel weights (centres x bins) into ``w``, and their row sums.

    ``w`` is a buffer reused from block to block: fresh large arrays cost page faults that
    took as long as computing the weights.
    """
    m = centers.size
    total = np.zeros(m, dtype=np.float64)
    for c in numba.prange(m):
        if centers[c] <= 0.0:
            w[c, :] = 0.0
            continue
        total[c] = _full_row(log_f, sin_f, cos_f, first, centers[c], bandwidth, w[c])
    return total


def _check_inputs(amplitude, frequency, centers, bandwidth, truncation):
    amplitude = np.asarray(amplitude, dtype=np.float64)
    frequency = np.asarray(frequency, dtype=np.float64)
    if frequency.ndim != 1 or frequency.size < 2:
        raise ValueError("frequency must be a 1-D array of at least 2 values")
    if amplitude.ndim not in (1, 2) or amplitude.shape[-1] != frequency.size:
        raise ValueError(f"amplitude must have shape (nfreq,) or (nspec, nfreq) with nfreq = "
                         f"{frequency.size}; got {amplitude.shape}")
    if not np.all(np.isfinite(frequency)) or frequency[0] < 0 or np.any(np.diff(frequency) <= 0):
        raise ValueError("frequency must be finite, non-negative and strictly increasing")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    if truncation not in _TRUNCATIONS:
        raise ValueError(f"truncation={truncation!r} is not one of {', '.join(_TRUNCATIONS)}")
    centers = frequency if centers is None else np.atleast_1d(
        np.asarray(centers, dtype=np.float64))
    if centers.ndim != 1 or not np.all(np.isfinite(centers)) or np.any(centers < 0):
        raise ValueError("centers must be a 1-D array of finite, non-negative frequencies")
    return amplitude, frequency, centers


def _interleaved(m):
    threads = numba.get_num_threads()
    return np.concatenate([np.arange(t, m, threads) for t in range(threads)])


@functools.lru_cache(maxsize=16)
def _cached_main_lobe(freq_bytes, centers_bytes, bandwidth):
    frequency = np.frombuffer(freq_bytes, dtype=np.float64)
    centers = np.frombuffer(centers_bytes, dtype=np.float64)
    return _main_lobe_weights(frequency, centers, float(bandwidth))


# Log-Gaussian weights below this fraction of the peak are skipped (effect < 1e-15 relative).
_LOG_GAUSSIAN_CUTOFF = 1e-18


@njit
def _log_gaussian_weights(frequency, centers, bandwidth):
    """Sparse weights exp(-b ln^2(f/fc)), as contiguous runs like _main_lobe_weights."""
    half = np.sqrt(-np.log(_LOG_GAUSSIAN_CUTOFF) / bandwidth)
    m = centers.size
    start = np.zeros(m, dtype=np.int64)
    count = np.zeros(m, dtype=np.int64)
    for c in range(m):
        fc = centers[c]
        if fc <= 0.0:
            continue
        lo = max(np.searchsorted(frequency, fc * np.exp(-half)),
                 np.searchsorted(frequency, 0.0, side="right"))
        hi = np.searchsorted(frequency, fc * np.exp(half), side="right")
        start[c] = lo
        count[c] = max(hi - lo, 0)
    offset, weights, total = _alloc_runs(count)
    for c in range(m):
        if count[c] == 0:
            continue
        lfc = np.log(centers[c])
        acc = 0.0
        for k in range(count[c]):
            x = np.log(frequency[start[c] + k]) - lfc
            w = np.exp(-bandwidth * x * x)
            weights[offset[c] + k] = w
            acc += w
        total[c] = acc
    return start, offset, weights, total


@functools.lru_cache(maxsize=16)
def _cached_log_gaussian(freq_bytes, centers_bytes, bandwidth):
    frequency = np.frombuffer(freq_bytes, dtype=np.float64)
    centers = np.frombuffer(centers_bytes, dtype=np.float64)
    return _log_gaussian_weights(frequency, centers, float(bandwidth))


def _smooth_runs_t(spectra_t, frequency, centers, bandwidth, cached_weights):
    """Apply cached contiguous-run weights to spectra laid out (nfreq, nspec)."""
    zero = np.flatnonzero(frequency == 0.0)
    start, offset, weights, total = cached_weights(
        np.ascontiguousarray(frequency, dtype=np.float64).tobytes(),
        np.ascontiguousarray(centers, dtype=np.float64).tobytes(), float(bandwidth))
    return _apply_main_lobe(spectra_t, start, offset, weights, total,
                            int(zero[0]) if zero.size else -1, centers,
                            _interleaved(centers.size))


def smooth_log_gaussian_t(spectra_t, frequency, centers, bandwidth):
    """Log-Gaussian smoothing of spectra laid out (nfreq, nspec); returns (ncenters, nspec)."""
    return _smooth_runs_t(spectra_t, frequency, centers, bandwidth, _cached_log_gaussian)


def log_gaussian(amplitude, frequency, centers=None, bandwidth=40.0):
    """Smoothing with a Gaussian in log frequency, ``w = exp(-b ln^2(f/fc))``, normalised.

    This is the window of the TimesNet-Gen authors' evaluation code (not the Konno-Ohmachi
    window, which it resembles); it is here so that their published numbers can be
    reproduced. Weights below 1e-18 of the peak are skipped.

    Parameters
    ----------
    amplitude : array_like, shape (nfreq,) or (nspec, nfreq)
    frequency : array_like, shape (nfreq,)
        Strictly increasing, non-negative (Hz).
    centers : array_like, optional
        Output frequencies (Hz); default ``frequency``.
    bandwidth : float
        b (default 40).

    Returns
    -------
    numpy.ndarray, shape (ncenters,) or (nspec, ncenters)

    Examples
    --------
    >>> import numpy as np
    >>> f = np.linspace(0, 50, 5001)
    >>> log_gaussian(np.ones_like(f), f, centers=[2.0, 20.0])
    array([1., 1.])
    """
    amplitude, frequency, centers = _check_inputs(amplitude, frequency, centers, bandwidth,
                                                  "main_lobe")
    batch = amplitude.reshape(-1, frequency.size)
    out = smooth_log_gaussian_t(np.ascontiguousarray(batch.T), frequency, centers,
                                bandwidth).T
    return out.reshape(amplitude.shape[:-1] + (centers.size,))


def smooth_main_lobe_t(spectra_t, frequency, centers, bandwidth):
    """Main-lobe smoothing of spectra laid out (nfreq, nspec); returns (ncenters, nspec).

    The layout lets the inner loop run over contiguous spectra; callers that build spectra
    themselves (the HVSR pipeline) write them this way directly. Inputs are trusted (use
    :func:`konno_ohmachi` for validated input).
    """
    return _smooth_runs_t(spectra_t, frequency, centers, bandwidth, _cached_main_lobe)


def konno_ohmachi(amplitude, frequency, centers=None, bandwidth=40.0, truncation="main_lobe"):
    """Konno-Ohmachi smoothing of one spectrum or a batch, normalised weighted average.

    Parameters
    ----------
    amplitude : array_like, shape (nfreq,) or (nspec, nfreq)
        Amplitude spectrum or spectra (e.g. ``abs(numpy.fft.rfft(x))``).
    frequency : array_like, shape (nfreq,)
        Frequencies of the bins in Hz, strictly increasing, non-negative (0 is allowed and
        never weighted, except for a centre at 0 Hz, which takes the 0-Hz value as ObsPy does).
    centers : array_like, optional
        Frequencies in Hz at which to evaluate the smoothed spectrum; default: ``frequency``.
    bandwidth : float
        Konno-Ohmachi b (default 40; smaller = smoother).
    truncation : {"main_lobe", "full"}
        ``"main_lobe"``: only bins with ``|b log10(f/fc)| <= 3`` (Geopsy/hvsrpy, default);
        ``"full"``: every positive bin (ObsPy's window).

    Returns
    -------
    numpy.ndarray, shape (ncenters,) or (nspec, ncenters)
        Smoothed amplitudes; NaN at centres whose window holds no bin.

    Examples
    --------
    A flat spectrum stays flat; a single spike spreads symmetrically in log-frequency:

    >>> import numpy as np
    >>> f = np.linspace(0, 50, 5001)
    >>> konno_ohmachi(np.ones_like(f), f, centers=[1.0, 10.0])
    array([1., 1.])
    >>> spike = np.where(np.isclose(f, 10.0), 1.0, 0.0)
    >>> s = konno_ohmachi(spike, f, centers=[9.5, 10.0, 10.5])
    >>> bool(s[1] > s[0] > 0 and s[1] > s[2] > 0)
    True
    """
    amplitude, frequency, centers = _check_inputs(amplitude, frequency, centers, bandwidth,
                                                  truncation)
    batch = amplitude.reshape(-1, frequency.size)
    zero = np.flatnonzero(frequency == 0.0)
    zero_bin = int(zero[0]) if zero.size else -1
    if truncation == "main_lobe":
        out = smooth_main_lobe_t(np.ascontiguousarray(batch.T), frequency, centers,
                                 bandwidth).T
    else:
        out = _smooth_full(batch, frequency, centers, float(bandwidth), zero_bin)
    return out.reshape(amplitude.shape[:-1] + (centers.size,))


def _smooth_full(batch, frequency, centers, bandwidth, zero_bin):
    first = int(np.searchsorted(frequency, 0.0, side="right"))  # first bin with f > 0
    log_f = np.zeros_like(frequency)
    log_f[first:] = np.log10(frequency[first:])
    sin_f, cos_f = np.sin(bandwidth * log_f), np.cos(bandwidth * log_f)
    if batch.shape[0] <= _FUSED_MAX_SPECTRA:
        return _full_fused(np.ascontiguousarray(batch), log_f, sin_f, cos_f, first, centers,
                           bandwidth, zero_bin)
    out = np.empty((batch.shape[0], centers.size))
    step = max(1, min(centers.size, _BLOCK_BYTES // (8 * frequency.size)))
    buffer = np.empty((step, frequency.size))
    for i in range(0, centers.size, step):
        block = centers[i:i + step]
        w = buffer[:block.size]
        total = _full_weights_block(log_f, sin_f, cos_f, first, block, bandwidth, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, i:i + step] = (batch @ w.T) / total
        for j in np.flatnonzero(block == 0.0):
            out[:, i + j] = batch[:, zero_bin] if zero_bin >= 0 else np.nan
    return out

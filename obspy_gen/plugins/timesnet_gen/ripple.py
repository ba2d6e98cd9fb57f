"""Fine structure of a record's H/V ratio: measured on a station's records, restored in new ones.

A single earthquake record's H/V curve is not smooth: source, path and scattering give every
component's spectrum a ripple a few tenths of an octave wide. In a record much of it is common
to the three components (the same source and arrivals) and cancels in H/V: at station 2020 the
sub-0.2-octave ripples of ln H and ln V correlate 0.5-0.6 within a record. A generated record
combines many records, each with its own ripple and its own relation between its components;
in the combination the horizontal and vertical ripples are nearly independent (0.25-0.45 at
1-8 Hz) and its H/V curve is rougher than a real one's. Rough H/V curves have chance peaks next
to chance troughs, and the paper's lowest-clear-peak rule takes such a peak below f0 for the
station's f0: at 2020 10 % of the generated records were off by more than a factor 2, 4 % of
the real ones.

The ripple is what is left of a record's ln H/V after the station's typical curve (the median
over its records, :func:`station_reference`: it holds the site's resonance, whose peak is as
narrow as the ripple) is taken off, and then its own smooth course (:func:`hv_ripple`).
:func:`hv_ripple_level` measures it per octave band; a pool keeps its records' (on their
low-band codes, which are the records' spectra below ``2.5 x crossover`` Hz), and
:func:`restore_hv_ripple` gives a generated record the station's median level: it scales the
ripple in each band to the target by a gain on the vertical alone (``V exp(a d)`` with ``d``
the ripple and ``a = 1 - target/level``), so the horizontals, and every intensity measure of
them, are untouched.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> record = rng.standard_normal((3, 6000))
>>> level = hv_ripple_level(record, 0.01)
>>> new = restore_hv_ripple(record, 0.5 * level, 0.01)
>>> np.round(hv_ripple_level(new, 0.01) / level, 1).tolist()
[0.5, 0.5, 0.5]
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

#: Octave bands (Hz) of the ripple level: where the paper stations' f0 picks go astray
#: (a lower clear peak at 1-8 Hz). The pools measure them on their low-band codes, exact to
#: 2.5 x the crossover (10 Hz for the shipped model).
RIPPLE_BANDS = ((1.0, 2.0), (2.0, 4.0), (4.0, 8.0))
#: Ripple = ln H/V smoothed over :data:`FINE` octave minus smoothed over :data:`COARSE`
#: octave (Gaussian standard deviations in log frequency): what a Konno-Ohmachi (b = 40) curve
#: shows and a third-octave band does not.
FINE = 1.0 / 24.0
COARSE = 0.2
#: Log-frequency grid of the measurement: points per octave and span (Hz; the top is lowered
#: to ``fmax`` where given: a pool's codes hold the records' spectra to 2.5 x the crossover).
PER_OCTAVE = 96
GRID_SPAN = (0.5, 10.0)
#: Largest factor the ripple is scaled by either way.
MAX_SCALE = 2.0
#: Passes of :func:`restore_hv_ripple`: one leaves a third of the change undone (the gain's
#: own fine detail is smaller than the gain), three reach the target within a few per cent.
PASSES = 3


def hv_grid(dt: float, fmax: float | None = None) -> np.ndarray:
    """Frequencies (Hz) of the measurement: :data:`PER_OCTAVE` per octave over
    :data:`GRID_SPAN`, at most to ``fmax`` and the Nyquist frequency of ``dt``.

    Examples
    --------
    >>> g = hv_grid(0.01)
    >>> float(g[0]), float(round(g[-1], 6)), g.size
    (0.5, 10.0, 416)
    """
    lo, hi = GRID_SPAN
    hi = min(hi, fmax or np.inf, 0.5 / dt)
    return np.geomspace(lo, hi, int(round(PER_OCTAVE * np.log2(hi / lo))) + 1)


def smooth_octaves(y, octaves: float) -> np.ndarray:
    """``y`` (..., n) on :func:`hv_grid` smoothed along its last axis by a Gaussian of standard
    deviation ``octaves`` (in octaves; the grid's ends held, not wrapped).

    Examples
    --------
    >>> y = np.zeros(2 * PER_OCTAVE + 1)
    >>> y[PER_OCTAVE] = 1.0
    >>> s = smooth_octaves(y, 0.2)
    >>> bool(abs(s.sum() - 1) < 1e-9), bool(s[PER_OCTAVE] < 0.2)
    (True, True)
    """
    return gaussian_filter1d(y, octaves * PER_OCTAVE, axis=-1, mode="nearest")


def _cell_power(power, freq, grid):
    """Mean of ``power`` (..., nfreq) over each log-grid cell (the bins between the cell's
    edges; fractional bins at the edges, so a cell narrower than a bin interpolates)."""
    half = 0.5 * np.log(grid[1] / grid[0])
    edges = np.concatenate([[grid[0] * np.exp(-half)], grid * np.exp(half)])
    total = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)],
                           axis=-1)
    pos = np.interp(edges, freq, np.arange(freq.size, dtype=float))
    at = np.stack([np.interp(pos, np.arange(total.shape[-1]) - 0.5, t)
                   for t in total.reshape(-1, total.shape[-1])]).reshape(
        power.shape[:-1] + (edges.size,))
    return np.diff(at, axis=-1) / np.maximum(np.diff(pos), 1e-9)


def ln_hv(record, dt: float, fmax: float | None = None) -> np.ndarray:
    """ln H/V of ``record`` (3, n: N, E, Z) on :func:`hv_grid`: the spectra's power averaged
    over log-frequency cells, H the quadratic mean of N and E (the HVSR's
    ``squared_average``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((3, 6000))
    >>> x[2] *= 0.5                                    # V half of N and of E
    >>> round(float(np.median(ln_hv(x, 0.01))), 1)     # ln 2
    0.7
    """
    x = np.asarray(record, dtype=np.float64)
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    cells = np.maximum(_cell_power(power, np.fft.rfftfreq(x.shape[-1], dt), hv_grid(dt, fmax)),
                       1e-300)
    return 0.5 * (np.log(0.5 * (cells[0] + cells[1])) - np.log(cells[2]))


def station_reference(curves) -> np.ndarray:
    """The station's typical ln H/V: the median over its records' :func:`ln_hv` (n, grid).

    Examples
    --------
    >>> station_reference([[0.0, 1.0], [2.0, 3.0], [1.0, 5.0]]).tolist()
    [1.0, 3.0]
    """
    return np.median(np.asarray(curves, dtype=np.float64), axis=0)


def hv_ripple(record, dt: float, fmax: float | None = None, reference=None):
    """``(grid, ripple)``: the fine detail of ``record``'s ln H/V (:func:`ln_hv`), less the
    station's ``reference`` (:func:`station_reference`, on the same grid) where given: the
    deviation smoothed over :data:`FINE` minus over :data:`COARSE` octave.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((3, 6000))
    >>> grid, ripple = hv_ripple(x, 0.01)
    >>> grid.shape == ripple.shape, bool(abs(ripple.mean()) < 0.02)
    (True, True)
    """
    deviation = ln_hv(record, dt, fmax)
    if reference is not None:
        deviation = deviation - reference
    return hv_grid(dt, fmax), _detail(deviation)


def _detail(deviation):
    """The fine detail of ln H/V deviations (..., grid): smoothed over :data:`FINE` minus
    over :data:`COARSE` octave."""
    return smooth_octaves(deviation, FINE) - smooth_octaves(deviation, COARSE)


def hv_ripple_level(record, dt: float, fmax: float | None = None,
                    reference=None) -> np.ndarray:
    """Standard deviation of :func:`hv_ripple` in each of :data:`RIPPLE_BANDS`.

    Parameters
    ----------
    record : array (3, n)
        N, E, Z (any common unit).
    dt : float
        Sampling interval (s).
    fmax : float, optional
        Hz above which the record holds nothing to measure (see :func:`hv_grid`).
    reference : array, optional
        The station's ln H/V on the same grid (:func:`station_reference`).

    Returns
    -------
    numpy.ndarray (len(RIPPLE_BANDS),)
        ln units; NaN where a band reaches above the grid.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).standard_normal((3, 6000))
    >>> np.round(hv_ripple_level(x, 0.01), 1).tolist()        # independent white noises
    [0.2, 0.2, 0.2]
    >>> same = np.stack([x[0], x[0], 2 * x[0]])                # one waveform: H/V constant
    >>> bool(np.all(hv_ripple_level(same, 0.01) < 1e-6))
    True
    """
    return _band_levels(*hv_ripple(record, dt, fmax, reference))


def _band_levels(grid, ripple):
    return np.array([ripple[(grid >= lo) & (grid < hi)].std() if hi <= grid[-1] * 1.001
                     else np.nan for lo, hi in RIPPLE_BANDS])


def curve_ripple_levels(curves, reference, grid) -> np.ndarray:
    """(n, len(RIPPLE_BANDS)) :func:`hv_ripple_level` of records whose :func:`ln_hv` curves
    (n, grid) are already measured, about ``reference``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).standard_normal((3, 6000))
    >>> c = ln_hv(x, 0.01)
    >>> bool(np.array_equal(curve_ripple_levels([c], 0 * c, hv_grid(0.01))[0],
    ...                     hv_ripple_level(x, 0.01, reference=0 * c)))
    True
    """
    ripples = _detail(np.asarray(curves, dtype=np.float64) - reference)
    return np.array([_band_levels(grid, r) for r in ripples])


def filter_vertical(record, ln_gain, dt: float) -> np.ndarray:
    """``record`` (3, n) with its vertical multiplied in frequency by ``exp(ln_gain(freq))``
    (a zero-phase filter applied to the record zero-padded to twice its length, so nothing
    wraps from the end to the start); N and E are returned unchanged.

    ``ln_gain`` maps the frequencies (Hz) of the padded spectrum to the ln gain.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((3, 1000))
    >>> y = filter_vertical(x, lambda f: np.full(f.shape, np.log(2.0)), 0.01)
    >>> bool(np.allclose(y[2], 2 * x[2])), bool(np.array_equal(y[:2], x[:2]))
    (True, True)
    """
    out = np.array(record, dtype=np.float64, copy=True)
    n = out.shape[-1]
    freq = np.fft.rfftfreq(2 * n, dt)
    out[2] = np.fft.irfft(np.fft.rfft(out[2], 2 * n) * np.exp(ln_gain(freq)), 2 * n)[:n]
    return out


def restore_hv_ripple(record, target, dt: float, fmax: float | None = None, reference=None,
                      passes: int = PASSES) -> np.ndarray:
    """``record`` (3, n: N, E, Z) whose H/V ripple has the level ``target`` in each band.

    With ``d`` the ripple (:func:`hv_ripple`) and ``L`` its level per band
    (:func:`hv_ripple_level`), the vertical's spectrum is multiplied by ``exp(a d)`` with
    ``a = 1 - target / L``, constant over each band (its steps smoothed over a sixth of an
    octave, zero outside the bands): the ripple of ln H/V becomes about ``(1 - a) d``. Done
    ``passes`` times, measuring anew (the gain's own fine detail is a little smaller than
    the gain). The gain is smooth in frequency (a short filter: ``d`` is smoothed over a
    24th of an octave) and applied to the record zero-padded to twice its length (nothing
    wraps). N and E are returned unchanged.

    Parameters
    ----------
    record : array (3, n)
    target : array (len(RIPPLE_BANDS),)
        ln units; NaN: leave the band as it is. Clipped to :data:`MAX_SCALE` times the
        record's level either way.
    dt : float
        Sampling interval (s).
    fmax, reference
        As for :func:`hv_ripple_level` (measure as the target was measured).
    passes : int
        Times the scaling is done (:data:`PASSES`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> x = rng.standard_normal((3, 6000))
    >>> y = restore_hv_ripple(x, [0.1, np.nan, 0.1], 0.01)
    >>> bool(np.array_equal(y[:2], x[:2]))
    True
    >>> before, after = hv_ripple_level(x, 0.01), hv_ripple_level(y, 0.01)
    >>> np.round(after[[0, 2]], 2).tolist(), bool(abs(after[1] / before[1] - 1) < 0.1)
    ([0.1, 0.1], True)
    """
    out = np.asarray(record, dtype=np.float64).copy()
    grid, ripple = hv_ripple(out, dt, fmax, reference)
    level = _band_levels(grid, ripple)
    target = np.clip(np.asarray(target, dtype=np.float64).reshape(len(RIPPLE_BANDS)),
                     level / MAX_SCALE, level * MAX_SCALE)
    for k in range(max(int(passes), 1)):
        if k:   # measure anew (the first pass uses the measurement above)
            grid, ripple = hv_ripple(out, dt, fmax, reference)
            level = _band_levels(grid, ripple)
        out = _restore_once(out, target, dt, grid, ripple, level)
    return out


def _restore_once(x, target, dt, grid, ripple, level):
    """One pass of :func:`restore_hv_ripple` on ``x`` measured as ``grid, ripple, level``."""
    ok = np.isfinite(target) & np.isfinite(level) & (level > 0)
    a = np.where(ok, 1.0 - target / np.where(ok, level, 1.0), 0.0)
    if not np.any(a):
        return x.copy()
    step = np.zeros_like(grid)
    for (lo, hi), ab in zip(RIPPLE_BANDS, a):
        step[(grid >= lo) & (grid < hi)] = ab
    exponent = smooth_octaves(step, 1.0 / 6.0) * ripple
    return filter_vertical(x, lambda freq: np.interp(np.log2(np.maximum(freq, grid[0])),
                                                     np.log2(grid), exponent,
                                                     left=0.0, right=0.0), dt)

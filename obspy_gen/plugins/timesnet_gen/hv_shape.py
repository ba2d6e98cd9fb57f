"""Broad shape of a record's H/V ratio: new curves from the station's records, near one of them.

A station's H/V curves differ from record to record not only in level and tilt but in where
their features lie: a shoulder or secondary bump sits at 2.2 Hz in one record and at 2.6 Hz in
the next. A Gaussian combination of *all* the records (what the prior draws, the same weights
for every band) adds such curves' deviations with random signs, and a feature moved in
frequency becomes a bump beside a trough -- a peak that passes the paper's clarity tests. At
station 2020, 10 % of the generated records had their lowest clear peak more than 2x below
f0 against 4 % of the real ones (n = 426), although the curves' medians, per-frequency spreads
and correlations were the records' within a few per cent.

The broad shape of a new record's ln H/V (smoothed over :data:`BROAD` octave, the scale the
ripple step (:mod:`~obspy_gen.plugins.timesnet_gen.ripple`) leaves alone) is therefore made
from the lead record's own curve and those *nearest* it (:func:`local_combination`: the lead's
curve plus :data:`SPREAD` times the deviations of the :data:`NEIGHBOURS` closest curves from
their mean, with random signs -- a smoothed bootstrap): a new curve, not a copy, with its
features where the lead's are. Centred on the neighbourhood's *mean* instead (session 14),
records at the edge of the station's f0 distribution were pulled inwards (their neighbours
all lie on one side) and the generated f0 distribution came out too narrow: at 1716 its
interquartile range was 0.70x the real records' (six simulation seeds, 660 records).
:func:`restore_hv_shape` gives the curve to a record by a smooth gain on the vertical alone,
so the horizontals, and every intensity measure of them, are untouched; the gain fades out
above :data:`TOP` times the crossover, where the decoded band carries the record's own peak.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> record = rng.standard_normal((3, 6000))
>>> target = broad_ln_hv(record, 0.01) + 0.3                   # H/V up by e**0.3
>>> new = restore_hv_shape(record, target, 0.01)
>>> bool(np.allclose(new[:2], record[:2]))                     # N, E untouched
True
>>> round(float(np.median(broad_ln_hv(new, 0.01) - broad_ln_hv(record, 0.01))), 2)
0.3
"""
from __future__ import annotations

import numpy as np

from .ripple import COARSE, filter_vertical, hv_grid, ln_hv, smooth_octaves

#: Octaves (Gaussian standard deviation in log frequency) of the broad shape: the ripple
#: step's coarse scale, so the two steps set complementary parts of the curve.
BROAD = COARSE
#: Records combined into a new record's broad H/V (the lead's and the nearest others').
#: 2020, 300 records paired with the same draws: all 71 records 0.090 off by 2x (0.100
#: without the step), 12 0.037, 6 0.023, 3 0.033; real records 0.042.
NEIGHBOURS = 6
#: Scale of the neighbours' deviations added to the lead's curve (0 copies the lead's broad
#: curve; 1 adds their whole spread). Kolmogorov-Smirnov distance of ln f0 to the real
#: records of six seeds, 300 records, 1716 / 2020 (null 95th percentile 0.07): 0.25 0.048 /
#: 0.045, 0.5 0.045 / 0.062, mean-centred (session 14) 0.139 / 0.108 (docs, "The H/V shape
#: step centred on its lead").
SPREAD = 0.25
#: The step shapes the curve up to this many times the pool's crossover: above it the gain
#: fades to 1 over :data:`BROAD` octave. Shaped to the grid's top (2.5x), the lower flank of
#: a stiff site's peak (3130, f0 12 Hz) moved with the lead's and its median f0 fell 4.5 %.
TOP = 2.0
#: Largest factor one pass changes the vertical by at any frequency.
MAX_GAIN = 2.0
#: Passes of :func:`restore_hv_shape`: the gain is measured on the log grid and interpolated
#: between its points; a second pass closes what the first leaves.
PASSES = 2


def broad_ln_hv(record, dt: float, fmax: float | None = None) -> np.ndarray:
    """The broad shape of ``record``'s (3, n: N, E, Z) ln H/V: :func:`.ripple.ln_hv` on
    :func:`.ripple.hv_grid` smoothed over :data:`BROAD` octave.

    Parameters
    ----------
    record : array (3, n)
    dt : float
        Sampling interval (s).
    fmax : float, optional
        Highest frequency of the grid (Hz; a pool's low-band codes hold the records' spectra
        to 2.5 x the crossover).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((3, 6000))
    >>> c = broad_ln_hv(x, 0.01)
    >>> x[2] *= 0.5                                      # V halved: ln H/V up by ln 2
    >>> c.shape, bool(np.allclose(broad_ln_hv(x, 0.01) - c, np.log(2)))
    ((416,), True)
    """
    return smooth_octaves(ln_hv(record, dt, fmax), BROAD)


def local_combination(curves, lead: int, rng, k: int = NEIGHBOURS,
                      spread: float = SPREAD) -> np.ndarray:
    """A new curve near row ``lead`` of ``curves``: the lead's row plus
    ``spread * sum_j s_j (c_j - m) / sqrt(k)``, the deviations of the ``k`` rows nearest the
    lead's (RMS distance, the lead's own among them) from their mean ``m``, with random signs
    ``s_j`` (a smoothed bootstrap: a copy of the lead where ``spread`` is 0 or ``k`` is 1).

    Parameters
    ----------
    curves : array (n, m)
        The station's records' curves (e.g. :func:`broad_ln_hv`).
    lead : int
        The row the new curve is made near.
    rng : numpy.random.Generator
    k : int
        Rows whose deviations are combined (at most ``n``).
    spread : float
        Scale of the combined deviations (default :data:`SPREAD`).

    Examples
    --------
    >>> import numpy as np
    >>> f = np.linspace(0, 1, 50)
    >>> curves = np.array([np.exp(-((f - c) / 0.05) ** 2) for c in (0.3, 0.31, 0.32, 0.7, 0.71)])
    >>> new = local_combination(curves, 0, np.random.default_rng(0), k=3)
    >>> round(float(f[np.argmax(new)]), 1), bool(new[35] < 0.05)    # the lead's peak, no other
    (0.3, True)
    >>> bool(np.array_equal(local_combination(curves, 3, np.random.default_rng(0), k=1),
    ...                     curves[3]))
    True
    """
    curves = np.asarray(curves, dtype=np.float64)
    lead = int(lead)
    dist = np.sqrt(np.mean((curves - curves[lead]) ** 2, axis=1))
    dist[lead] = -1.0  # the lead first, whatever ties
    near = curves[np.argsort(dist, kind="stable")[: max(1, min(int(k), len(curves)))]]
    signs = np.where(rng.standard_normal(len(near)) < 0, -1.0, 1.0)
    deviation = (signs[:, None] * (near - near.mean(axis=0))).sum(axis=0)
    return curves[lead] + float(spread) * deviation / np.sqrt(len(near))


def _ln_gain_at(ln_gain, grid):
    """``ln_gain`` given on ``grid`` (Hz) as a function of frequency: interpolated in log
    frequency, let fall to 0 beyond the grid's ends over :data:`BROAD` octave."""
    lo, hi = np.log(grid[0]), np.log(grid[-1])
    width = BROAD * np.log(2.0)

    def at(freq):
        lf = np.log(np.maximum(freq, 1e-12))
        g = np.interp(lf, np.log(grid), ln_gain)
        g = np.where(lf < lo, ln_gain[0] * np.exp(-0.5 * ((lf - lo) / width) ** 2), g)
        return np.where(lf > hi, ln_gain[-1] * np.exp(-0.5 * ((lf - hi) / width) ** 2), g)
    return at


def restore_hv_shape(record, target, dt: float, fmax: float | None = None,
                     passes: int = PASSES, ftop: float | None = None) -> np.ndarray:
    """``record`` (3, n: N, E, Z) whose broad ln H/V (:func:`broad_ln_hv`) becomes ``target``
    (on :func:`.ripple.hv_grid` of ``dt`` and ``fmax``), by a smooth gain on the vertical:
    ``V exp(have - target)`` (at most :data:`MAX_GAIN` either way per pass). N and E are
    returned unchanged; below and above the grid the gain falls to 1.

    Parameters
    ----------
    record : array (3, n)
    target : array (m,)
        The broad ln H/V to give the record, on the grid.
    dt : float
        Sampling interval (s).
    fmax : float, optional
        Top of the grid (Hz), as for ``target``.
    passes : int
        Times the gain is measured and applied.
    ftop : float, optional
        Highest frequency shaped (Hz): above it the gain fades to 1 over :data:`BROAD`
        octave (default: the grid's top; the plugin passes :data:`TOP` x the crossover).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> x = rng.standard_normal((3, 6000))
    >>> grid = hv_grid(0.01, 10.0)
    >>> bump = 0.4 * np.exp(-0.5 * (np.log2(grid / 3.0) / 0.3) ** 2)   # H/V up at 3 Hz
    >>> y = restore_hv_shape(x, broad_ln_hv(x, 0.01, 10.0) + bump, 0.01, 10.0)
    >>> got = broad_ln_hv(y, 0.01, 10.0) - broad_ln_hv(x, 0.01, 10.0)
    >>> bool(np.max(np.abs(got - bump)) < 0.05)
    True
    """
    x = np.asarray(record, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    grid = hv_grid(dt, fmax)
    if target.shape != grid.shape:
        raise ValueError(f"target of {target.size} points for a grid of {grid.size} "
                         f"(dt={dt}, fmax={fmax})")
    shaped = grid <= (grid[-1] if ftop is None else float(ftop))
    if not shaped.any():
        raise ValueError(f"ftop={ftop} Hz lies below the grid (from {grid[0]:.3g} Hz)")
    out = x
    cap = np.log(MAX_GAIN)
    for _ in range(max(int(passes), 1)):
        ln_gain = np.clip(broad_ln_hv(out, dt, fmax) - target, -cap, cap)
        out = filter_vertical(out, _ln_gain_at(ln_gain[shaped], grid[shaped]), dt)
    return out

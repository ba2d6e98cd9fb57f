"""Baseline correction of generated accelerograms: zero final velocity, record by record.

A processed strong-motion record starts and ends at rest: its velocity returns to zero (within
the noise) once the shaking is over. A decoder that reproduces the waveform to a small relative
error still leaves a small offset and trend in the acceleration, and integrated over 60 s that
is a velocity drift (measured on the first default: a median 63 % of the PGV left at the end).

The correction is the standard polynomial velocity baseline of strong-motion processing (e.g.
Boore & Bommer 2005, Soil Dyn. Earthq. Eng. 25, 93-115): the velocity ``v`` (plain integral of
the acceleration, at rest before the first sample) is fitted by least squares with the integral
of a linear acceleration baseline ``a_c(t) = c_1 + c_2 t`` -- a quadratic velocity trend --
under the constraint that the corrected velocity is exactly zero at the last sample; ``a_c``
is then subtracted from the acceleration. Only the two lowest polynomial orders are touched,
so the waveform, its spectrum above ~1/(record length) and the PGA are unchanged (the
correction is ~1e-3 of the PGA for the drift above).

Examples
--------
>>> import numpy as np
>>> t = np.arange(6000) * 0.01
>>> acc = np.sin(2 * np.pi * 2 * t) * np.exp(-((t - 20) / 5) ** 2) + 0.002
>>> out = correct_baseline(acc, 0.01)
>>> bool(abs(np.cumsum(out)[-1] * 0.01) < 1e-9), bool(np.allclose(out, acc, atol=0.01))
(True, True)
"""
from __future__ import annotations

import numpy as np

#: Baseline corrections the generator knows ("none": the decoder's output as is).
BASELINES = ("quadratic", "none")


def correct_baseline(acc, dt: float):
    """``acc`` minus the linear acceleration baseline that zeroes the final velocity.

    Parameters
    ----------
    acc : array_like, shape (..., n)
        Acceleration(s); the last axis is time.
    dt : float
        Sampling interval (s).

    Returns
    -------
    numpy.ndarray
        Corrected acceleration (float64), same shape; ``cumsum(out) * dt`` ends at 0.

    Examples
    --------
    >>> import numpy as np
    >>> out = correct_baseline(np.full((2, 100), 0.5), 0.01)
    >>> bool(np.allclose(out, 0))
    True
    """
    a = np.asarray(acc, dtype=np.float64)
    n = a.shape[-1]
    if n < 2:
        return a.copy()
    k = np.arange(n, dtype=np.float64)
    # Velocity of the two acceleration basis functions 1 and k (integrated like the record).
    v1 = (k + 1.0) * dt
    v2 = k * (k + 1.0) / 2.0 * dt
    v = np.cumsum(a, axis=-1) * dt
    end = v[..., -1]
    # Coefficients c (for 1 and k) with c1 v1[-1] + c2 v2[-1] = v[-1]: c = c0 + d * null.
    c0 = end / v1[-1]
    null = np.array([v2[-1], -v1[-1]])
    vn = null[0] * v1 + null[1] * v2
    resid = v - c0[..., None] * v1
    d = (resid * vn).sum(-1) / (vn * vn).sum()
    c1 = c0 + d * null[0]
    c2 = d * null[1]
    return a - (c1[..., None] + c2[..., None] * k)


def final_velocity_ratio(acc, dt: float):
    """``|v(end)| / max|v|`` of each series (``v``: plain integral of ``acc``).

    Examples
    --------
    >>> import numpy as np
    >>> float(final_velocity_ratio(np.ones(10), 0.1))
    1.0
    """
    v = np.cumsum(np.asarray(acc, dtype=np.float64), axis=-1) * dt
    peak = np.abs(v).max(axis=-1)
    return np.where(peak > 0, np.abs(v[..., -1]) / np.where(peak > 0, peak, 1), 0.0)


__all__ = ["correct_baseline", "final_velocity_ratio", "BASELINES"]

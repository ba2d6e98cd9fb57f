"""SESAME (2004) criteria for the reliability and clarity of an HVSR peak.

SESAME European research project (2004), *Guidelines for the implementation of the H/V spectral
ratio technique on ambient vibrations*, deliverable D23.12, section 3.1. Implemented as
hvsrpy 2's ``sesame.reliability`` / ``sesame.clarity`` (its conventions: lognormal curve
statistics, sigma_A = exp(std_ln), peaks of the mean +- std curves searched in the f0 band,
sigma_f = standard deviation in Hz of the window f0s).

They were written for windows of ambient noise. For whole-record earthquake HVSR
(``window_length=None``: one window per record) the reliability criteria (window length and
number of cycles of noise windows) do not apply and are reported as ``None`` with a ``note``;
the clarity criteria that need a spread (iv-vi: sigma_A, f0 spread) use the spread over the
records, and are ``None`` when there is a single window (a spread of one value is trivially 0).
"""
from __future__ import annotations

import numpy as np

# (upper f0 bound in Hz, epsilon as a fraction of f0, theta): SESAME Table 3.
_THRESHOLDS = ((0.2, 0.25, 3.0), (0.5, 0.20, 2.5), (1.0, 0.15, 2.0), (2.0, 0.10, 1.78),
               (np.inf, 0.05, 1.58))


def sesame_criteria(result) -> dict:
    """Reliability (3) and clarity (6) criteria for the f0 of an :class:`~obspy_gen.HVSRResult`.

    Returns
    -------
    dict
        ``reliability``: 3 booleans (f0 > 10/lw; nc = lw * nw * f0 > 200; sigma_A < 2 (3 below
        0.5 Hz) over 0.5-2 f0); ``reliable``: all three; ``clarity``: 6 booleans (A < A0/2 in
        (f0/4, f0); A < A0/2 in (f0, 4 f0); A0 > 2; peaks of mean * sigma_A^+-1 within 5 % of
        f0; sigma_f < epsilon(f0); sigma_A(f0) < theta(f0)); ``clear``: at least 5 of 6;
        ``values``: the quantities tested; ``note``: why criteria are ``None`` (else None).
        A criterion that does not apply is ``None`` (module notes): all reliability criteria
        for whole-record HVSR, the spread criteria for a single window; ``reliable`` and
        ``clear`` are then ``None`` unless the applicable criteria decide them alone.

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen import hvsr
    >>> crit = sesame_criteria(hvsr(read(), fmin=1, fmax=20, nfreq=64))
    >>> len(crit["reliability"]), len(crit["clarity"])
    (3, 6)
    >>> crit["reliable"], crit["clarity"][3:]      # one whole record: nothing to judge these on
    (None, [None, None, None])
    """
    f, mean, std = result.frequency, result.mean, result.std_ln
    f0, a0, lw, nw = result.f0, result.amplitude_f0, result.window_seconds, result.n_windows
    whole_record = result.settings.window_length is None
    notes = []
    if whole_record:
        notes.append("whole-record (earthquake) HVSR: SESAME's reliability criteria are "
                     "defined for ambient-noise windows and do not apply; spreads are over "
                     "records")
    if nw < 2:
        notes.append("a single window: criteria needing a spread (clarity iv-vi) cannot be "
                     "judged")
    if not np.isfinite(f0):
        return {"reliability": [None] * 3 if whole_record else [False] * 3,
                "reliable": None if whole_record else False, "clarity": [False] * 6,
                "clear": False, "values": {"f0": None}, "note": "; ".join(notes) or None}
    i0 = int(np.argmin(np.abs(f - f0)))
    sigma_a = np.exp(std)
    near = (f > 0.5 * f0) & (f < 2 * f0)
    sigma_a_max = float(sigma_a[near].max()) if near.any() else float(sigma_a[i0])
    nc = lw * nw * f0
    spread = nw >= 2
    if whole_record:
        reliability = [None, None, None]
    else:
        reliability = [bool(f0 > 10 / lw), bool(nc > 200),
                       bool(sigma_a_max < (2.0 if f0 > 0.5 else 3.0)) if spread else None]
    lo, hi = result.settings.f0_band
    band = (f >= lo) & (f <= hi)
    idx = np.flatnonzero(band)
    f_plus = f[idx[np.argmax((mean * sigma_a)[idx])]]
    f_minus = f[idx[np.argmax((mean / sigma_a)[idx])]]
    window_f0 = result.f0_windows[np.isfinite(result.f0_windows)]
    sigma_f = float(np.std(window_f0, ddof=1)) if window_f0.size > 1 else None
    eps, theta = next((e, t) for bound, e, t in _THRESHOLDS if f0 < bound)
    below = mean < a0 / 2
    clarity = [bool(np.any(below & (f > f0 / 4) & (f < f0))),
               bool(np.any(below & (f > f0) & (f < 4 * f0))),
               bool(a0 > 2),
               bool(0.95 * f0 < f_plus < 1.05 * f0 and 0.95 * f0 < f_minus < 1.05 * f0)
               if spread else None,
               bool(sigma_f < eps * f0) if sigma_f is not None else None,
               bool(sigma_a[i0] < theta) if spread else None]
    return {"reliability": reliability, "reliable": _all3(reliability),
            "clarity": clarity, "clear": _at_least(clarity, 5),
            "values": {"f0": float(f0), "a0": float(a0), "window_seconds": float(lw),
                       "n_windows": int(nw), "nc": float(nc), "sigma_a_max": sigma_a_max,
                       "sigma_f": sigma_f, "epsilon": eps * f0, "sigma_a_f0": float(sigma_a[i0]),
                       "theta": theta, "f_plus": float(f_plus), "f_minus": float(f_minus)},
            "note": "; ".join(notes) or None}


def _all3(flags):
    """All true -> True; any false -> False; otherwise (something not applicable) None."""
    if any(v is False for v in flags):
        return False
    return True if all(v is True for v in flags) else None


def _at_least(flags, k):
    """At least k true -> True; too few even counting the undecided -> False; else None."""
    yes = sum(v is True for v in flags)
    unknown = sum(v is None for v in flags)
    if yes >= k:
        return True
    return False if yes + unknown < k else None

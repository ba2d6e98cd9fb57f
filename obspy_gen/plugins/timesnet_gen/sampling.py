"""Sampling new records: station latent pools and the paper's Eq. 1.

A station's *pool* holds the latent codes of its records (the encoder's output) with each
record's per-channel mean and standard deviation. A new record of the station is

.. math:: z = \\frac{1}{N} \\sum_{k=1}^{N} z_k + \\text{noise\\_scale} \\cdot \\mathcal{N}(0, \\sigma_s)

with ``N`` codes drawn at random with replacement from the pool (``n_mix``, 5 in the paper),
:math:`\\sigma_s` the element-wise standard deviation of the station's codes, and the record
de-normalised with the mean of the drawn records' means and standard deviations (as the
authors' script). ``noise_scale=0`` reproduces the authors' public script (no noise).

Which Gaussian: by default (``noise="covariance"``) the noise is
:math:`\\mathcal{N}(0, \\Sigma_s)` with :math:`\\Sigma_s` the empirical covariance of the
station's codes -- its element-wise standard deviation is exactly :math:`\\sigma_s`, as the
paper asks, but it varies only along directions in which the station's records vary, so it
decodes to records of the station. ``noise="diagonal"`` draws every latent element
independently (:math:`\\mathcal{N}(0, \\mathrm{diag}\\,\\sigma_s^2)`); in our compact,
time-local latent that decodes to broadband noise without the site's resonance (measured on the
synthetic stations: generated f0 fell to ~1.5 Hz at every station), so it is not the default.

Which codes are mixed (``sampling``):

* ``"mix"`` -- Eq. 1 as the paper and the authors' script: the codes as encoded. A station's
  records start at different times within their windows, so averaging their codes
  superposes several arrivals (measured: generated records were largely linear mixes of the
  training records, least-squares R^2 0.48-0.77 against 0.05-0.24 for held-out records).
* ``"aligned"`` -- Eq. 1 after shifting every drawn code along time so that its anchor (the
  P arrival or the PGA, :data:`ANCHORS`, found when the pool was encoded) falls on the anchor
  of the first drawn record; the mixture keeps one arrival, at a time a real record had.
* ``"prior"`` -- the station prior: Eq. 1 with *all* the station's aligned codes averaged
  (their mean) plus ``noise_scale`` times the covariance-shaped Gaussian of the aligned
  codes, i.e. a draw from the Gaussian with the station's aligned mean and covariance; timing
  from a random record of the pool, amplitude (the per-channel std used to de-normalise) from
  a log-normal fitted to the pool's stds. Not tied to any ``n_mix`` records.
  ``timing_tolerance`` (seconds, opt-in; the pool must know its records' P arrivals,
  ``p_arrival``): the Gaussian of the records whose P-to-PGA time is within it of the lead
  record's (at least :data:`TIMING_MIN` records). Aligned on the PGA, records of different
  P-to-S times put their P waves at different times, and a combination of all of them
  starts with an emergent train of P arrivals (measured on the shipped default: 10-58 % of
  the record's standard deviation before the picked P; the signal-to-noise high-pass then
  goes to its 2-Hz cap). Combining fewer records makes them closer to mixes of training
  records, so it is not the default (figures in docs/generate.rst).
* ``"local"`` -- a local prior: the ``n_mix`` aligned codes nearest (Euclidean) to that of a
  random record of the pool, the record itself included; their mean plus ``noise_scale``
  times the Gaussian of their covariance, amplitude from the same Gaussian weights on their
  log stds. Closer to what the decoder was trained on than ``"prior"``, but measured to be
  near-copies of training records (highest cross-correlation with one of them 0.72-0.76
  against 0.27-0.37 for held-out records; mixing R^2 above the held-out records' + 0.1 at
  2-4 of the 5 paper stations), so it is an option, not the default.

Record ``i`` of a call with seed ``s`` uses ``numpy.random.default_rng([s, i])``: it does not
depend on how many records are asked for. Everything here is numpy; decoding is torch.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> pool = LatentPool("4628", rng.normal(size=(10, 2, 5)), np.zeros((10, 3)), np.ones((10, 3)))
>>> code, mean, std = pool.draw(record_rng(1, 0), n_mix=5, noise_scale=0.0)
>>> code.shape, mean.shape
((2, 5), (3,))
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from obspy_gen.api import record_rng  # noqa: F401 (one per-record generator for all plugins)

#: Codes averaged per generated record (the paper's N).
N_MIX = 5
#: Fewest records a zero-shot pool is built from.
MIN_POOL = 3
#: Below this many records a zero-shot pool warns: its generated records resemble the pool's
#: records more than the site's other records do (two fresh sites, 30 generated records:
#: median highest correlation with a pool record 0.43-0.48 at 5 records against 0.22-0.24 for
#: held-out records, mixing R2 0.10-0.27; 0.38-0.39 / 0.24-0.26 at 10; within 0.05 from 15-20;
#: equal at 30. ``scripts/zero_shot_timesnet_gen.py``, docs "Zero-shot on sites no network
#: saw").
SMALL_POOL = 20
#: Kinds of Gaussian noise of Eq. 1 (see the module docstring).
NOISE_KINDS = ("covariance", "diagonal")
#: Ways of choosing the codes that are mixed (see the module docstring).
SAMPLING_KINDS = ("mix", "aligned", "prior", "local")
#: Weights of the station prior's combination (see :meth:`LatentPool.draw`): standard normal
#: (a draw from the Gaussian), or random signs (the same mean and covariance; no record weighs
#: more than the others).
WEIGHT_KINDS = ("gaussian", "sign")
#: What the codes are aligned on: the P arrival (STA/LTA pick, PGA when none) or the PGA.
ANCHORS = ("p", "pga")
#: Length (s) of the moving window of the records' envelopes (:func:`record_log_envelope`).
ENVELOPE_WINDOW = 1.0
#: ln units below its peak where a record's envelope is floored (silence, zero padding).
ENVELOPE_FLOOR = 7.0
#: Hz above which a generated record takes its envelope (:func:`shape_envelope`) when the
#: model has no crossover (with one: above the crossover, the decoder's band; measured on the
#: shipped default, shaping from 1 Hz instead also took the 1-4 Hz low band and raised the
#: off-by-2x f0 shares, 100 records per station at 60: 2020 0.17 -> 0.25, 1716 0.12 -> 0.20).
#: The long periods below (PGD, Sa(1 s)) are left as they are.
ENVELOPE_ABOVE = 1.0
#: Seconds before a record's P arrival where its pre-event noise is measured up to
#: (:meth:`LatentPool.pre_event`): the 1-s envelope windows end before the P.
PRE_EVENT_GAP = 1.0
#: Fewest seconds of pre-event noise :meth:`LatentPool.pre_event` measures a level on.
PRE_EVENT_MIN = 1.0
#: Ramp (s) of :func:`quiet_before` up to the P arrival, and its smoothing (Gaussian sigma, s).
#: A longer ramp (1 s ending 0.5 s before the P) let the decoder's pre-event content rise
#: early enough that the STA/LTA triggered on it: median P pick 1-2 s early at 3130.
PRE_EVENT_RAMP = 0.3
PRE_EVENT_SMOOTH = 0.1
#: Hz above which :func:`quiet_before` acts and :func:`record_noise_level` measures. Below it
#: a generated record keeps what it had before the P: cut at all frequencies, the long-period
#: motion switched on within the ramp, and H/V at 0.5-1 Hz scattered 1.5x as much between
#: records (100 records per station; 2020's off-by-2x f0 share 0.09 -> 0.19).
PRE_EVENT_ABOVE = 1.0
#: Fewest records ``"prior"`` combines with a ``timing_tolerance`` (the nearest in P-to-anchor
#: time when fewer are within it; :meth:`LatentPool.timing_neighbours`).
TIMING_MIN = 15


def record_anchor(window, std=None, how="pga", sampling_rate=100.0, p_arrival=None) -> float:
    """Sample index of a record's anchor inside its model window (3, T).

    Parameters
    ----------
    window : array (3, T)
        N, E, Z (standardised or physical).
    std : array (3,), optional
        Per-channel std that was divided out (restores the physical N/E ratio for the PGA).
    how : {"pga", "p"}
        Largest absolute horizontal acceleration, or the P arrival picked by
        :func:`obspy_gen.core.picks.pick_arrivals` (the PGA when nothing is picked).
    p_arrival : float, optional
        The record's :func:`record_p_arrival`, when already known (``how="p"`` then does
        not pick again).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((3, 100)); w[1, 42] = -3.0
    >>> record_anchor(w)
    42.0
    """
    if how not in ANCHORS:
        raise ValueError(f"anchor={how!r} is not one of {', '.join(ANCHORS)}")
    x = np.asarray(window, dtype=np.float64)
    if std is not None:
        x = x * np.asarray(std, dtype=np.float64).reshape(-1, 1)
    if how == "p":
        p = (record_p_arrival(x, sampling_rate=sampling_rate) if p_arrival is None
             else float(p_arrival))
        if np.isfinite(p):
            return p
    return float(np.argmax(np.maximum(np.abs(x[0]), np.abs(x[1]))))


def record_p_arrival(window, std=None, sampling_rate=100.0) -> float:
    """Sample index of a record's P arrival inside its model window (3, T), NaN when none is
    picked (:func:`obspy_gen.core.picks.pick_arrivals` on the recorded part only: the step
    from zero padding into the pre-event noise would trigger the STA/LTA).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = 1e-3 * rng.standard_normal((3, 4000))
    >>> w[:, 1500:] += np.exp(-np.arange(2500) / 400) * rng.standard_normal((3, 2500))
    >>> abs(record_p_arrival(w) - 1500) < 20
    True
    >>> bool(np.isnan(record_p_arrival(np.zeros((3, 4000)))))
    True
    """
    from obspy_gen.core.picks import pick_arrivals
    x = np.asarray(window, dtype=np.float64)
    if std is not None:
        x = x * np.asarray(std, dtype=np.float64).reshape(-1, 1)
    live = np.flatnonzero(np.any(x != 0, axis=0))
    lo, hi = (int(live[0]), int(live[-1]) + 1) if live.size else (0, x.shape[1])
    try:
        picks = pick_arrivals(x[2, lo:hi], x[0, lo:hi], x[1, lo:hi], sampling_rate)
    except ValueError:
        picks = None
    if picks is not None and picks.p is not None:
        return float(lo + round(picks.p * sampling_rate))
    return float("nan")


def recorded_extent(window) -> tuple:
    """``(first, one past last)`` sample of the recorded part of a model window (3, T): where
    any channel is non-zero (the padding of :func:`~obspy_gen.io.dataset.preprocess` is exact
    zeros).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((3, 10)); w[0, 2] = 1; w[2, 6] = -1
    >>> recorded_extent(w)
    (2, 7)
    """
    live = np.flatnonzero(np.any(np.asarray(window) != 0, axis=0))
    if live.size == 0:
        return 0, int(np.asarray(window).shape[-1])
    return int(live[0]), int(live[-1]) + 1


def crossover_split(x, crossover: float, sampling_rate: float = 100.0):
    """``(low, high)``: ``x`` (..., T) split at ``crossover`` Hz with the model's weights (an
    order-8 Butterworth amplitude below, its complement above; ``low + high == x``). Without
    a crossover (0) the whole record is ``high``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(6000) / 100.0
    >>> low, high = crossover_split(np.sin(2 * np.pi * 0.5 * t) + np.sin(2 * np.pi * 20 * t), 4.0)
    >>> bool(np.allclose(low, np.sin(2 * np.pi * 0.5 * t), atol=1e-3))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    if not crossover:
        return np.zeros_like(x), x.copy()
    f = np.fft.rfftfreq(x.shape[-1], 1.0 / sampling_rate)
    g = 1.0 / np.sqrt(1.0 + (f / crossover) ** 16)
    low = np.fft.irfft(np.fft.rfft(x, axis=-1) * g, x.shape[-1], axis=-1)
    return low, x - low


def envelope_band(crossover: float) -> float:
    """Hz above which a model's records are given envelopes: its crossover, or
    :data:`ENVELOPE_ABOVE` without one.

    Examples
    --------
    >>> envelope_band(4.0), envelope_band(0.0)
    (4.0, 1.0)
    """
    return float(crossover) if crossover else ENVELOPE_ABOVE


def _per_record_units(window, std=None):
    """``window`` (3, T) as float; with ``std`` (3,), a standardised window brought to
    per-record units (times each channel's std over the mean of the horizontal stds)."""
    x = np.asarray(window, dtype=np.float64)
    if std is not None:
        std = np.asarray(std, dtype=np.float64).reshape(-1)
        x = x * (std / max(std[:2].mean(), 1e-300))[:, None]
    return x


def record_log_envelope(window, std=None, sampling_rate: float = 100.0,
                        above: float = None, stride: int = 1) -> np.ndarray:
    """ln RMS envelope of a record's three components above ``above`` Hz (default
    :data:`ENVELOPE_ABOVE`; 0: all), over :data:`ENVELOPE_WINDOW` seconds, every ``stride``
    samples (the latent rate).

    ``window`` (3, T) is taken in per-record units (:meth:`LatentPool.to_record_units`:
    divided by the mean of its horizontal stds), so envelopes of records of different size
    compare; with ``std`` (3,), ``window`` is standardised and is brought to them first.
    Silence (zero padding) takes a floor :data:`ENVELOPE_FLOOR` below the envelope's peak.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((3, 6000)) * np.r_[np.zeros(3000), np.ones(3000)]
    >>> env = record_log_envelope(w, stride=100)   # every second
    >>> env.shape, bool(abs(env[50] - np.log(np.sqrt(3))) < 0.1), bool(env[10] == env.min())
    ((60,), True, True)
    """
    x = _per_record_units(window, std)
    _, high = crossover_split(x, ENVELOPE_ABOVE if above is None else above, sampling_rate)
    return _log_envelope(high, sampling_rate, stride)


def record_noise_level(window, std=None, p_arrival=float("nan"),
                       sampling_rate: float = 100.0) -> float:
    """ln level of a record's pre-event noise below its peak: the three components' RMS over
    :data:`ENVELOPE_WINDOW`-second windows (above :data:`PRE_EVENT_ABOVE` Hz), the median
    over the windows
    that lie in the recorded part (non-zero samples) and end :data:`PRE_EVENT_GAP` seconds
    before the P arrival (sample ``p_arrival``), minus the largest over the record. NaN
    without a P arrival or with less than :data:`PRE_EVENT_MIN` seconds of such windows.
    ``window`` (3, T) as in :func:`record_log_envelope`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((3, 6000)) * np.r_[np.full(3000, 0.01), np.ones(3000)]
    >>> level = record_noise_level(w, p_arrival=3000.0)     # 1 % of the signal's RMS
    >>> bool(abs(level - np.log(0.01)) < 0.15)
    True
    >>> bool(np.isnan(record_noise_level(w, p_arrival=150.0)))  # no noise before the P
    True
    """
    x = _per_record_units(window, std)
    if not np.isfinite(p_arrival) or not np.any(x != 0):
        return float("nan")
    first, end = recorded_extent(x)
    width = envelope_width(sampling_rate)
    _, high = crossover_split(x[:, first:end], PRE_EVENT_ABOVE, sampling_rate)
    power = (high ** 2).sum(axis=0)
    env = moving_log_rms(power, width, np.arange(power.size))
    # Windows wholly inside the recorded part, ending PRE_EVENT_GAP s before the P.
    last = int(p_arrival) - first - int(round(PRE_EVENT_GAP * sampling_rate)) - width // 2
    quiet = env[width // 2:max(last, width // 2)]
    if quiet.size < PRE_EVENT_MIN * sampling_rate:
        return float("nan")
    return float(np.median(quiet) - env.max())


def envelope_width(sampling_rate: float) -> int:
    """Samples in one :data:`ENVELOPE_WINDOW` (at least 1): the RMS window of every envelope.

    Examples
    --------
    >>> envelope_width(100.0), envelope_width(0.5)
    (100, 1)
    """
    return max(int(round(ENVELOPE_WINDOW * float(sampling_rate))), 1)


def moving_log_rms(power, width: int, centres) -> np.ndarray:
    """ln RMS, ``0.5 ln(mean power)``, of ``power`` (1-D) over a moving window of ``width``
    samples centred at the sample indices ``centres`` (cut at the ends).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.r_[np.zeros(10), np.full(10, 4.0)]     # RMS 2 from sample 10 on
    >>> np.round(moving_log_rms(p, 4, [15, 10]), 3).tolist()   # ln 2; half the window: ln sqrt 2
    [0.693, 0.347]
    """
    power = np.asarray(power, dtype=np.float64)
    centres = np.asarray(centres)
    c = np.concatenate([[0.0], np.cumsum(power)])
    lo = np.clip(centres - width // 2, 0, power.size)
    hi = np.clip(centres + (width + 1) // 2, 0, power.size)
    return 0.5 * np.log(np.maximum((c[hi] - c[lo]) / np.maximum(hi - lo, 1), 1e-300))


def _log_envelope(high, sampling_rate, stride):
    """The envelope of :func:`record_log_envelope` of a band already split off (3, T)."""
    power = (np.asarray(high) ** 2).sum(axis=0)
    width = envelope_width(sampling_rate)
    env = moving_log_rms(power, width, np.arange(0, power.size, max(int(stride), 1)))
    return np.maximum(env, env.max() - ENVELOPE_FLOOR)


def shape_envelope(record, log_envelope, std, sampling_rate: float = 100.0,
                   above: float = None, stride: int = 1, limits=(-3.0, 1.0)):
    """``record`` (3, T, physical) with its band above ``above`` Hz (default
    :data:`ENVELOPE_ABOVE`) multiplied by the smooth gain that gives it the envelope
    ``log_envelope`` (at ``stride``, per-record units of a record of per-channel ``std``;
    :func:`record_log_envelope` with the same ``above``; shape (L,) for all channels, or
    (C, L): channel ``c`` is given the gain that would give the record ``log_envelope[c]``,
    the record's envelope measured on all channels as always). The ln gain is clipped to
    ``limits`` (a generated record's envelope is cut where the target is silent, raised
    little) and smoothed over about a second; the band below ``above`` is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = crossover_split(rng.standard_normal((3, 6000)), 2.0)[1]   # all above 1 Hz
    >>> target = record_log_envelope(x * np.r_[np.ones(3000), 0.1 * np.ones(3000)], stride=4)
    >>> y = shape_envelope(x, target, np.ones(3), stride=4)
    >>> late, early = np.abs(y[:, 4000:]).mean(), np.abs(y[:, :2000]).mean()
    >>> bool(abs(late / early - 0.1) < 0.02)
    True

    Its own envelope gives a record back; around ``above`` nothing is lost (the band there
    lies between the unchanged band below and the shaped one above):

    >>> w = rng.standard_normal((3, 6000))
    >>> own = record_log_envelope(w, stride=4, above=4.0)
    >>> bool(np.allclose(shape_envelope(w, own, np.ones(3), above=4.0, stride=4), w))
    True
    >>> later = record_log_envelope(w * np.r_[np.ones(3000), 0.3 * np.ones(3000)], stride=4,
    ...                             above=4.0)
    >>> v = shape_envelope(w, later, np.ones(3), above=4.0, stride=4)
    >>> f = np.fft.rfftfreq(6000, 0.01)
    >>> def rms(z, lo, hi):
    ...     return np.sqrt((np.abs(np.fft.rfft(z)) ** 2)[:, (f >= lo) & (f < hi)].mean())
    >>> below, near, shaped = [rms(v, lo, hi) / rms(w, lo, hi)
    ...                        for lo, hi in ((2, 3), (3.7, 4.3), (6, 8))]
    >>> round(float(below), 3), bool(shaped < 0.8), bool(shaped < near < below)
    (1.0, True, True)
    """
    x = np.asarray(record, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    unit = max(std[:2].mean(), 1e-300)
    above = ENVELOPE_ABOVE if above is None else above
    _, high = crossover_split(x, above, sampling_rate)
    have = _log_envelope(high / unit, sampling_rate, stride)
    gain = np.clip(np.atleast_2d(np.asarray(log_envelope, dtype=np.float64)) - have, *limits)
    t = np.arange(x.shape[-1])
    steps = np.arange(gain.shape[-1]) * max(int(stride), 1)
    # A gain that changes within a second moves the band above ``above`` below it (the
    # product's spectrum is the two convolved): the gain is smoothed over about a second, and
    # what the change still has below ``above`` is left out, so the long periods (PGD,
    # Sa(1 s)) stay exactly as they were. The *change* is split, not the product: split
    # twice, the band near ``above`` took the split's weight squared and every record had
    # a notch there (-0.2 to -0.26 ln at 4.0-4.7 Hz, the shipped model's crossover, on the
    # horizontals and the vertical alike; gain 0 did not give the record back). Split on the
    # record's own length (not zero-padded, as quiet_before): cutting a padded result back to
    # the record's length leaves part of the filter's response out and leaks below ``above``
    # (0.4 % of the long periods at 1716); the change is a shaped coda, small at the ends.
    gain = np.stack([_gaussian_smooth(np.interp(t, steps, g),
                                      ENVELOPE_WINDOW * sampling_rate / 2) for g in gain])
    return x + crossover_split(high * np.expm1(gain), above, sampling_rate)[1]


def quiet_before(record, p_index: float, noise_level: float, sampling_rate: float = 100.0,
                 floor: float = -8.0):
    """``record`` (C, T) brought down, before sample ``p_index``, to ``noise_level`` (ln,
    below the peak of its 3-component 1-s RMS envelope); unchanged from the P arrival on (but
    for the 1-Hz split's tail, under 0.2 % of the change a second after) and below
    :data:`PRE_EVENT_ABOVE` Hz.

    A real accelerogram is quiet before its P wave: ambient and instrument noise 2.5-3.5
    orders of magnitude (log10) below its peak. A generated record's band below the crossover
    takes no envelope, and its decoder's output before the P carries what the mixed records
    had there (the paper stations, 60 records: 1-4 Hz pre-event level 4-8x the records'), and
    STA/LTA pickers trigger on it or find no onset. The gain acts above
    :data:`PRE_EVENT_ABOVE` Hz (the pickers' band; the level is measured there too), at most
    0 (nothing is raised) and ``floor`` either way, ramped to 0 over :data:`PRE_EVENT_RAMP` s
    up to the P and smoothed over :data:`PRE_EVENT_SMOOTH` s.

    Parameters
    ----------
    record : array (C, T)
    p_index : float
        Sample of the P arrival.
    noise_level : float
        ln level of the pre-event noise below the envelope's peak (e.g. -6.5).
    sampling_rate : float
    floor : float
        Largest ln attenuation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = crossover_split(rng.standard_normal((3, 3000)), 2.0)[1]       # all above 1 Hz
    >>> x *= np.r_[np.full(1000, 0.3), np.ones(2000)]
    >>> y = quiet_before(x, 1000, np.log(0.01))
    >>> round(float(np.std(y[:, :800]) / np.std(x[:, 1200:])), 2)    # was 0.3
    0.01
    >>> bool(np.allclose(y[:, 1200:], x[:, 1200:], rtol=0, atol=1e-3))   # 2 s after the P on
    True
    """
    x = np.asarray(record, dtype=np.float64)
    _, high = crossover_split(x, PRE_EVENT_ABOVE, sampling_rate)
    t = np.arange(x.shape[-1])
    have = moving_log_rms((high ** 2).sum(axis=0), envelope_width(sampling_rate), t)
    gain = np.minimum(0.0, have.max() + float(noise_level) - have)
    ramp = np.clip((float(p_index) - t) / max(PRE_EVENT_RAMP * sampling_rate, 1.0), 0.0, 1.0)
    gain = _gaussian_smooth(np.maximum(gain * ramp, floor), PRE_EVENT_SMOOTH * sampling_rate)
    gain[t >= p_index] = 0.0
    # The change, without what it has below PRE_EVENT_ABOVE (the gain's steps move some
    # energy down): the long periods stay as they were. Zero-padded, so that nothing wraps
    # from the start to the end of the record.
    change = np.concatenate([high * np.expm1(gain), np.zeros_like(high)], axis=-1)
    return x + crossover_split(change, PRE_EVENT_ABOVE, sampling_rate)[1][..., :x.shape[-1]]


def _gaussian_smooth(x, sigma: float):
    """``x`` (1-D) convolved with a unit-area Gaussian of ``sigma`` samples (edges held)."""
    half = int(np.ceil(4 * sigma))
    if half < 1:
        return np.asarray(x, dtype=np.float64)
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    padded = np.pad(np.asarray(x, dtype=np.float64), half, mode="edge")
    return np.convolve(padded, k / k.sum(), mode="valid")


def shift_code(code, steps: int):
    """``code`` (..., L) moved ``steps`` latent steps later in time (earlier when negative);
    the vacated end takes the edge value (the code of the silence/noise before or after).

    Examples
    --------
    >>> import numpy as np
    >>> shift_code(np.array([[1., 2., 3., 4.]]), 1).tolist()
    [[1.0, 1.0, 2.0, 3.0]]
    >>> shift_code(np.array([[1., 2., 3., 4.]]), -2).tolist()
    [[3.0, 4.0, 4.0, 4.0]]
    """
    code = np.asarray(code)
    steps = int(steps)
    length = code.shape[-1]
    if steps == 0:
        return code.copy()
    if abs(steps) >= length:
        edge = code[..., :1] if steps > 0 else code[..., -1:]
        return np.repeat(edge, length, axis=-1)
    if steps > 0:
        return np.concatenate([np.repeat(code[..., :1], steps, axis=-1),
                               code[..., :length - steps]], axis=-1)
    return np.concatenate([code[..., -steps:], np.repeat(code[..., -1:], -steps, axis=-1)],
                          axis=-1)


def fresh_seed() -> int:
    """A new random seed (recorded in the output, so any result can be reproduced).

    Examples
    --------
    >>> 0 <= fresh_seed() < 2 ** 31
    True
    """
    return int(np.random.SeedSequence().entropy % (2 ** 31))


@dataclass
class LatentPool:
    """The latent codes of one station's records, with their normalisation.

    Attributes
    ----------
    station : str
        Station code.
    codes : numpy.ndarray, shape (n, latent_channels, latent_length)
    mean, std : numpy.ndarray, shape (n, 3)
        Per-record, per-channel (N, E, Z) mean and standard deviation (physical units).
    network, location : str
        Codes the generated records carry.
    units : str
        Units of ``mean``/``std`` (and of the generated records).
    onset : numpy.ndarray, shape (n,), optional
        Sample index of each record's anchor (P arrival or PGA) inside its model window;
        needed by ``sampling="aligned"``/``"prior"``.
    latent_stride : int
        Samples per latent step (converts onsets into code shifts).
    anchor : str
        What ``onset`` marks (:data:`ANCHORS`).
    extent : numpy.ndarray, shape (n, 2), optional
        First and one-past-last sample of each record's recorded part inside its window (the
        rest is zero padding); a record generated with the timing of record ``k`` keeps the
        extent of record ``k`` (see :meth:`draw`).
    corner : numpy.ndarray, shape (n,), optional
        Each record's fidelity corner (Hz,
        :func:`~obspy_gen.plugins.timesnet_gen.baseline.fidelity_corner`): below it the
        model's reconstruction of the record is mostly error. Their median,
        :attr:`highpass_floor`, is the lowest high-pass corner of the station's generated
        records.
    p_arrival : numpy.ndarray, shape (n,), optional
        Sample index of each record's P arrival inside its model window (NaN where none was
        picked, :func:`record_p_arrival`); with ``onset`` on the PGA it gives each record's
        P-to-PGA time, which ``"prior"`` can match (:meth:`timing_neighbours`).
    sampling_rate : float
        Samples per second of the model windows (converts ``p_arrival``/``onset`` to seconds).
    band_ratio : numpy.ndarray, shape (n, channels, bands), optional
        Each record's ln ratio of its band amplitudes to its reconstruction's
        (:func:`~obspy_gen.plugins.timesnet_gen.calibration.band_log_ratio`); their median,
        :attr:`decoder_gain`, is divided out of generated records (``calibrate``).
    log_envelope : numpy.ndarray, shape (n, L), optional
        Each record's ln envelope above the crossover (:func:`envelope_band`) at the latent
        rate, in per-record units (:func:`record_log_envelope`); ``"prior"`` and
        ``"aligned"`` combine them like the
        codes (:meth:`draw` with ``return_envelope``), and generation gives a new record that
        envelope (``envelope``, :func:`shape_envelope`).
    log_band : numpy.ndarray, shape (n, channels, bands), optional
        Each record's ln band amplitudes over its recorded part, in per-record units
        (:func:`~obspy_gen.plugins.timesnet_gen.calibration.band_log_amplitude` of the record
        over the mean of its horizontal stds); ``"prior"`` and ``"aligned"`` combine them like
        the codes (:meth:`draw` with ``return_bands``) and generation gives the new record's
        decoder band those amplitudes (``band_shape``).
    coherence : numpy.ndarray, shape (n, bands), optional
        Each record's cross-component coherence
        (:func:`~obspy_gen.plugins.timesnet_gen.coherence.band_coherence`); their median,
        :attr:`coherence_target`, is given to generated records (``coherence``).
    crossover : float
        The model's crossover (Hz; 0: none or unknown): the band where a polarised low-band
        mixture is turned to match the decoder's (see ``low_channels``).
    noise_level : numpy.ndarray, shape (n,), optional
        Each record's pre-event noise level (:func:`record_noise_level`; NaN where it has no
        P pick or too little recorded before it): a new record is made as quiet before its P
        arrival as the record whose timing it takes (``pre_event``, :meth:`pre_event`).
    low_channels : int
        The last ``low_channels`` channels of every code are the linear low-band code of the
        record's N, E, Z (a model with a ``crossover``); 0: none. ``"prior"`` and
        ``"aligned"`` mix them in *physical* channel ratios (each record's channels rescaled
        to a common per-record unit, the mean of its horizontal stds, and back with the new
        record's stds), so a mixture keeps each record's H/V there; the codes themselves are
        standardised per channel, and mixing them as they are weighed a band's H and V by
        different records (measured: ln H/V of 3130 +0.35 at 1 Hz). They also mix each
        record's low-band horizontals *polarised* (:meth:`polarised`: turned so that the
        principal axis of its horizontal motion is N), and the mixture is turned to match
        the same combination of the records as recorded around the crossover
        (:meth:`_matching_turn`): records of different
        azimuths otherwise add their horizontals incoherently and their verticals coherently
        (measured: aligned mixes of 5 records at 1716, 2020, 3130, median ln H/V at 0.5-1 Hz
        0.09-0.11 against 0.24-0.30 held-out, 0.21-0.23 polarised; between-record sd of ln H/V
        at 1-2 Hz of prior draws 0.24-0.30 against 0.17-0.19 held-out, 0.14-0.20 polarised).

    Examples
    --------
    >>> import numpy as np
    >>> p = LatentPool("X", np.zeros((4, 2, 3)), np.zeros((4, 3)), np.ones((4, 3)))
    >>> p.n_records, p.sigma.shape
    (4, (2, 3))
    """

    station: str
    codes: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    network: str = "SY"
    location: str = ""
    units: str = "m/s**2"
    onset: np.ndarray | None = None
    latent_stride: int = 1
    anchor: str = "pga"
    extent: np.ndarray | None = None
    corner: np.ndarray | None = None
    low_channels: int = 0
    p_arrival: np.ndarray | None = None
    sampling_rate: float = 100.0
    band_ratio: np.ndarray | None = None
    log_envelope: np.ndarray | None = None
    log_band: np.ndarray | None = None
    coherence: np.ndarray | None = None
    crossover: float = 0.0
    noise_level: np.ndarray | None = None
    _sigma: list = field(default_factory=list, repr=False, compare=False)
    _centred: list = field(default_factory=list, repr=False, compare=False)
    _low: list = field(default_factory=list, repr=False, compare=False)
    _theta: list = field(default_factory=list, repr=False, compare=False)
    _ripple: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        self.codes = np.asarray(self.codes, dtype=np.float32)
        if self.codes.ndim != 3 or len(self.codes) == 0:
            raise ValueError(f"station {self.station}: pool codes must be a non-empty "
                             f"(n, channels, length) array, got shape {self.codes.shape}")
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(len(self.codes), -1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(len(self.codes), -1)
        if self.onset is not None:
            self.onset = np.asarray(self.onset, dtype=np.float64).reshape(-1)
            if len(self.onset) != len(self.codes):
                raise ValueError(f"station {self.station}: {len(self.onset)} onsets for "
                                 f"{len(self.codes)} codes")
        if self.extent is not None:
            self.extent = np.asarray(self.extent, dtype=np.int64).reshape(len(self.codes), 2)
        if self.corner is not None:
            self.corner = np.asarray(self.corner, dtype=np.float64).reshape(-1)
            if len(self.corner) != len(self.codes):
                raise ValueError(f"station {self.station}: {len(self.corner)} fidelity "
                                 f"corners for {len(self.codes)} codes")
        if self.p_arrival is not None:
            self.p_arrival = np.asarray(self.p_arrival, dtype=np.float64).reshape(-1)
            if len(self.p_arrival) != len(self.codes):
                raise ValueError(f"station {self.station}: {len(self.p_arrival)} P arrivals "
                                 f"for {len(self.codes)} codes")
        if self.noise_level is not None:
            self.noise_level = np.asarray(self.noise_level, dtype=np.float64).reshape(-1)
            if len(self.noise_level) != len(self.codes):
                raise ValueError(f"station {self.station}: {len(self.noise_level)} noise "
                                 f"levels for {len(self.codes)} codes")
        if self.log_envelope is not None:
            self.log_envelope = np.asarray(self.log_envelope, dtype=np.float64)
            if self.log_envelope.shape != (len(self.codes), self.codes.shape[-1]):
                raise ValueError(f"station {self.station}: envelopes of shape "
                                 f"{self.log_envelope.shape} for codes of shape "
                                 f"{self.codes.shape}")
        for name, ndim in (("band_ratio", 3), ("log_band", 3), ("coherence", 2)):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float64)
                if value.ndim != ndim or len(value) != len(self.codes):
                    raise ValueError(f"station {self.station}: {name} of shape {value.shape} "
                                     f"for {len(self.codes)} codes")
                setattr(self, name, value)

    @property
    def n_records(self) -> int:
        """Records in the pool."""
        return len(self.codes)

    @property
    def highpass_floor(self) -> float | None:
        """Median fidelity corner of the pool's records (Hz), ``None`` without corners.

        Examples
        --------
        >>> import numpy as np
        >>> LatentPool("X", np.zeros((3, 1, 2)), np.zeros((3, 3)), np.ones((3, 3)),
        ...            corner=[0.5, 2.0, 1.0]).highpass_floor
        1.0
        """
        if self.corner is None or not np.isfinite(self.corner).any():
            return None
        return float(np.nanmedian(self.corner))

    @property
    def decoder_gain(self) -> np.ndarray | None:
        """The station's decoder correction (channels, bands; ln units): the median of the
        records' :attr:`band_ratio`
        (:func:`~obspy_gen.plugins.timesnet_gen.calibration.station_gain`); ``None`` without
        band ratios.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.zeros((3, 1, 2)), np.zeros((3, 3)), np.ones((3, 3)),
        ...                band_ratio=np.array([0.1, 0.2, 0.4]).reshape(3, 1, 1))
        >>> p.decoder_gain.tolist()
        [[0.2]]
        """
        if self.band_ratio is None:
            return None
        from obspy_gen.plugins.timesnet_gen.calibration import station_gain
        return station_gain(self.band_ratio)

    @property
    def coherence_target(self) -> np.ndarray | None:
        """The station's cross-component coherence per band: the median of the records'
        :attr:`coherence` (:func:`~obspy_gen.plugins.timesnet_gen.coherence.station_coherence`);
        ``None`` without.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.zeros((3, 1, 2)), np.zeros((3, 3)), np.ones((3, 3)),
        ...                coherence=[[0.5, 0.1], [0.7, 0.2], [0.9, np.nan]])
        >>> p.coherence_target.tolist()
        [0.7, 0.15000000000000002]
        """
        if self.coherence is None:
            return None
        from obspy_gen.plugins.timesnet_gen.coherence import station_coherence
        return station_coherence(self.coherence)

    @property
    def hv_reference(self) -> np.ndarray | None:
        """The station's typical ln H/V on
        :func:`~obspy_gen.plugins.timesnet_gen.ripple.hv_grid` (to :attr:`ripple_fmax`): the
        median of its records' (:func:`~obspy_gen.plugins.timesnet_gen.ripple.station_reference`),
        measured on their low-band codes; ``None`` without three low-band channels."""
        stats = self._ripple_stats()
        return None if stats is None else stats[0]

    @property
    def hv_ripple_levels(self) -> np.ndarray | None:
        """(n, bands) each record's H/V ripple level per band of
        :data:`~obspy_gen.plugins.timesnet_gen.ripple.RIPPLE_BANDS`
        (:func:`~obspy_gen.plugins.timesnet_gen.ripple.hv_ripple_level` about
        :attr:`hv_reference`), measured on its low-band code (the record's spectra to
        :attr:`ripple_fmax`); ``None`` without three low-band channels.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> p = LatentPool("X", rng.standard_normal((4, 3, 1500)), np.zeros((4, 3)),
        ...                np.ones((4, 3)), low_channels=3, latent_stride=4, crossover=4.0)
        >>> np.round(np.median(p.hv_ripple_levels, axis=0), 1).tolist()   # white noise codes
        [0.2, 0.2, 0.2]
        """
        stats = self._ripple_stats()
        return None if stats is None else stats[1]

    def hv_ripple_target(self, lead=None) -> np.ndarray | None:
        """The H/V ripple level a new record is given: that of the record ``lead`` (whose
        timing it has), or the median of the station's records without one; ``None`` without
        :attr:`hv_ripple_levels`. The lead's, not the median, so that the new records' levels
        spread as the records' do: at the median every one, none had the rough curves of
        some real records, and at 3130 the share of f0 off by 2x fell below the records'.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> p = LatentPool("X", rng.standard_normal((3, 3, 1500)), np.zeros((3, 3)),
        ...                np.ones((3, 3)), low_channels=3, latent_stride=4, crossover=4.0)
        >>> bool(np.array_equal(p.hv_ripple_target(1), p.hv_ripple_levels[1]))
        True
        >>> p.hv_ripple_target().shape, LatentPool("Y", np.zeros((2, 1, 4)), np.zeros((2, 1)),
        ...                                        np.ones((2, 1))).hv_ripple_target()
        ((3,), None)
        """
        levels = self.hv_ripple_levels
        if levels is None:
            return None
        return levels[int(lead)] if lead is not None else np.nanmedian(levels, axis=0)

    @property
    def has_low_band(self) -> bool:
        """Whether the codes end in the three-channel (N, E, Z) low-band code of a model with
        a crossover: what the H/V steps (:attr:`hv_ripple_levels`) measure.

        Examples
        --------
        >>> import numpy as np
        >>> LatentPool("X", np.zeros((2, 5, 4)), np.zeros((2, 3)), np.ones((2, 3)),
        ...            low_channels=3, crossover=4.0).has_low_band
        True
        >>> LatentPool("X", np.zeros((2, 5, 4)), np.zeros((2, 3)), np.ones((2, 3))).has_low_band
        False
        """
        return self.low_channels == 3 and bool(self.crossover)

    @property
    def hv_curves(self) -> np.ndarray | None:
        """(n, grid) each record's broad ln H/V
        (:func:`~obspy_gen.plugins.timesnet_gen.hv_shape.broad_ln_hv` on
        :func:`~obspy_gen.plugins.timesnet_gen.ripple.hv_grid` to :attr:`ripple_fmax`),
        measured on its low-band code; ``None`` without :attr:`has_low_band`."""
        stats = self._ripple_stats()
        return None if stats is None else stats[2]

    def hv_shape_target(self, lead: int, rng, k: int | None = None) -> np.ndarray | None:
        """The broad ln H/V a new record with the timing of record ``lead`` is given: the
        lead's :attr:`hv_curves` row plus :data:`~obspy_gen.plugins.timesnet_gen.hv_shape.SPREAD`
        times the deviations, with random signs from ``rng``, of the ``k`` (default
        :data:`~obspy_gen.plugins.timesnet_gen.hv_shape.NEIGHBOURS`) rows nearest it
        (:func:`~obspy_gen.plugins.timesnet_gen.hv_shape.local_combination`); ``None``
        without :attr:`hv_curves`.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> p = LatentPool("X", rng.standard_normal((8, 3, 1500)), np.zeros((8, 3)),
        ...                np.ones((8, 3)), low_channels=3, latent_stride=4, crossover=4.0)
        >>> t = p.hv_shape_target(2, np.random.default_rng(1))
        >>> t.shape == p.hv_curves[2].shape
        True
        >>> bool(np.array_equal(p.hv_shape_target(2, rng, k=1), p.hv_curves[2]))
        True
        """
        curves = self.hv_curves
        if curves is None:
            return None
        from obspy_gen.plugins.timesnet_gen.hv_shape import NEIGHBOURS, local_combination
        return local_combination(curves, lead, rng, NEIGHBOURS if k is None else k)

    def _ripple_stats(self):
        """``(hv_reference, hv_ripple_levels, hv_curves)``, computed once; ``None`` without
        :attr:`has_low_band`."""
        if not self.has_low_band:
            return None
        if not self._ripple:
            from obspy_gen.plugins.timesnet_gen.hv_shape import BROAD
            from obspy_gen.plugins.timesnet_gen.ripple import (curve_ripple_levels, hv_grid,
                                                               ln_hv, smooth_octaves,
                                                               station_reference)
            low = self.to_record_units(self.codes.astype(np.float64))[:, -3:, :]
            dt = max(int(self.latent_stride), 1) / self.sampling_rate
            # Every measure below is of these curves, each record's ln H/V measured once.
            curves = np.array([ln_hv(c, dt, self.ripple_fmax) for c in low])
            reference = station_reference(curves)
            levels = curve_ripple_levels(curves, reference, hv_grid(dt, self.ripple_fmax))
            self._ripple.append((reference, levels, smooth_octaves(curves, BROAD)))
        return self._ripple[0]

    @property
    def ripple_fmax(self) -> float:
        """Hz to which the low-band codes hold the records' spectra: 2.5 x :attr:`crossover`
        (:meth:`.model.TimesNetGen.low_code`)."""
        return 2.5 * float(self.crossover)

    def pre_event(self, lead: int):
        """``(P sample, ln noise level)`` of record ``lead`` (its P arrival in its model
        window and :attr:`noise_level`), or ``None`` where either is unknown.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.zeros((2, 1, 4)), np.zeros((2, 3)), np.ones((2, 3)),
        ...                p_arrival=[500.0, np.nan], noise_level=[-6.5, -7.0])
        >>> p.pre_event(0), p.pre_event(1)
        ((500.0, -6.5), None)
        """
        if self.p_arrival is None or self.noise_level is None:
            return None
        p, level = float(self.p_arrival[lead]), float(self.noise_level[lead])
        if not (np.isfinite(p) and np.isfinite(level)):
            return None
        return p, level

    @property
    def sigma(self) -> np.ndarray:
        """Element-wise standard deviation of the codes (the paper's sigma)."""
        if not self._sigma:
            self._sigma.append(self.codes.astype(np.float64).std(axis=0))
        return self._sigma[0]

    def timing_neighbours(self, lead: int, tolerance: float | None = None) -> np.ndarray:
        """Positions of the records that ``"prior"`` combines for a record with the timing of
        record ``lead``: those whose P-to-anchor time (``onset - p_arrival``, seconds) is
        within ``tolerance`` seconds of the lead's, or the :data:`TIMING_MIN` nearest when
        fewer are (the lead always among them). Every record when ``tolerance`` is None, the
        pool has no P arrivals, is aligned on the P arrival itself, or the lead has none
        picked; records without a pick are left out otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.zeros((20, 1, 4)), np.zeros((20, 3)), np.ones((20, 3)),
        ...                onset=np.full(20, 1000.0), p_arrival=1000.0 - 50 * np.arange(20))
        >>> p.timing_neighbours(0, 1.0).tolist()  # P-to-PGA 0 s: the 15 nearest (0-7 s)
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
        >>> p.p_arrival = 1000.0 - 5 * np.arange(20)  # 0-0.95 s: all within 1 s
        >>> len(p.timing_neighbours(0, 1.0)), len(p.timing_neighbours(0))
        (20, 20)
        """
        everyone = np.arange(self.n_records)
        if (tolerance is None or self.p_arrival is None or self.onset is None
                or self.anchor == "p"):
            return everyone
        lag = (self.onset - self.p_arrival) / float(self.sampling_rate)
        if not np.isfinite(lag[lead]):
            return everyone
        dist = np.abs(lag - lag[lead])
        dist[~np.isfinite(dist)] = np.inf
        dist[lead] = -1.0  # the lead first, whatever ties
        near = np.flatnonzero(dist <= float(tolerance))
        if len(near) < TIMING_MIN:
            order = np.argsort(dist, kind="stable")
            near = order[np.isfinite(dist[order])][:TIMING_MIN]
        return np.sort(near)

    def draw(self, rng: np.random.Generator, n_mix: int = N_MIX, noise_scale: float = 1.0,
             noise: str = "covariance", sampling: str = "mix", return_lead: bool = False,
             timing_tolerance: float | None = None, return_envelope: bool = False,
             weights: str = "gaussian", jitter: float = 0.0, return_bands: bool = False,
             p_envelope: bool = False):
        """One new code and its normalisation: ``(code, mean, std)`` (module docstring).

        ``timing_tolerance`` (seconds, ``"prior"`` only): combine the records of about the
        lead's P-to-PGA time (:meth:`timing_neighbours`).

        ``weights`` (``"prior"``/``"aligned"`` with covariance noise): the deviation from the
        mean is ``sum_k w_k (x_k - mean) / sqrt(n)`` over the ``n`` records; ``"gaussian"``
        draws ``w_k`` standard normal (a draw from the Gaussian with the records' mean and
        covariance), ``"sign"`` draws them +-1 at random (the same stream of deviates, their
        signs): the same mean and covariance (``E[w w^T] = I``), but every record weighs
        ``1/sqrt(n)``. With Gaussian weights the largest of 31 is about 2.2: a generated
        record then holds 0.4 of one training record's deviation, and correlates with it
        more than held-out records do (the evaluation's memorisation rows at 3130 and 4628).

        ``jitter`` (seconds, ``"prior"``/``"aligned"`` with covariance noise): every record's
        deviation from the mean, in the decoder's channels and the envelope (not the low
        band), is shifted by its own random lag, normal with this standard deviation, drawn
        anew for every record generated. Without it every new record lies in the span of the
        station's ``n`` aligned codes, an ``n - 1``-dimensional space: at stations of 31-38
        records two generated records resembled each other more than two real ones do (max
        NCC 0.35-0.39 against 0.29-0.30); shifted deviations are new directions.

        With ``return_lead``, also the position of the pool record whose timing the new one
        has (``None`` for ``sampling="mix"``, which has none). With ``return_envelope``, next,
        the new record's target log envelope (at the latent rate, per-record units; ``None``
        for ``"mix"``/``"local"`` or a pool without :attr:`log_envelope`): the same Gaussian
        combination of the records' aligned log envelopes as the code's, so the log-mean
        envelope plus the same weights' deviation. With ``return_bands``, last, the new
        record's target ln band amplitudes (channels, bands; per-record units; ``None`` where
        the envelope would be, or without :attr:`log_band`): the same combination of the
        records' :attr:`log_band` (no lags: band amplitudes have no time).

        ``p_envelope`` (with :attr:`p_arrival`): the envelope has two rows, that combination
        (for the horizontals) and the vertical's: before the lead record's anchor (its PGA)
        the larger of that combination and the same combination of the records aligned on
        their P arrivals, placed at the lead's. Aligned on the PGA, the records' P waves
        arrive at different times and their log-mean is low before the S wave: the generated
        verticals reached 5 % of their energy 1.0-1.4 s before their peak against 2.2-2.3 s in
        records (2020, 1716; 1.8-2.2 s with this).

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.arange(6.0).reshape(2, 1, 3), np.zeros((2, 3)),
        ...                np.ones((2, 3)))
        >>> code, _, _ = p.draw(record_rng(0, 0), n_mix=1, noise_scale=0)
        >>> code.tolist() in ([[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]])
        True
        >>> p.onset = np.array([0.0, 1.0])
        >>> code, _, _ = p.draw(record_rng(0, 0), n_mix=2, noise_scale=0, sampling="aligned")
        >>> code.shape
        (1, 3)
        """
        if sampling not in SAMPLING_KINDS:
            raise ValueError(f"sampling={sampling!r} is not one of {', '.join(SAMPLING_KINDS)}")
        if sampling == "mix":
            if noise == "covariance":
                # The centred float64 pool is computed once per pool, not per record.
                if not self._centred:
                    full = self.codes.astype(np.float64)
                    self._centred.append(full - full.mean(axis=0))
                out = mix(self.codes, self.mean, self.std, rng, n_mix, noise_scale, None,
                          noise, self._centred[0])
            else:
                out = mix(self.codes, self.mean, self.std, rng, n_mix, noise_scale,
                          self.sigma, noise)
            return out + (None,) * (return_lead + return_envelope + return_bands)
        if self.onset is None:
            raise ValueError(f"station {self.station}: the pool has no anchors (onsets) for "
                             f"sampling={sampling!r}; re-encode it (retrain or a newer "
                             f"checkpoint) or use sampling='mix'")
        n_mix, noise_scale = check_sampling_args(n_mix, noise_scale)
        if noise not in NOISE_KINDS:
            raise ValueError(f"noise={noise!r} is not one of {', '.join(NOISE_KINDS)}")
        lead = int(rng.integers(0, self.n_records))
        if sampling == "local":
            ref, code, mean, std, w = self._local(lead, n_mix, rng)
            if noise == "covariance":
                draw = np.tensordot(w, ref - code, axes=1) / np.sqrt(len(ref))
            else:
                draw = ref.std(axis=0) * rng.standard_normal(code.shape)
            if noise_scale:
                code = code + noise_scale * draw
            out = (code.astype(np.float32), np.asarray(mean, float), np.asarray(std, float))
            return out + (lead,) * return_lead + (None,) * (return_envelope + return_bands)
        # Every array below is indexed like the pool. The mixture's mean is that of
        # ``mean_rows`` (the drawn codes, or the prior's records), its Gaussian deviation
        # combines ``w_rows`` (every record, or the prior's).
        full = self.to_record_units(self.aligned_to(self.onset[lead]))
        ref = self.polarised(full)
        if sampling == "aligned":
            mean_rows = np.concatenate([[lead], rng.integers(0, self.n_records,
                                                             size=n_mix - 1)])
            w_rows = np.arange(self.n_records)
            mean = self.mean[mean_rows].mean(axis=0)
            std = self.std[mean_rows].mean(axis=0)
        else:
            # All records, or those of about the lead's P-to-PGA time.
            mean_rows = w_rows = self.timing_neighbours(lead, timing_tolerance)
            # Amplitude: log-normal fitted to their per-channel stds (a new value, not one
            # record's); offsets: the lead record's (tiny; the baseline is corrected).
            ln = np.log(np.maximum(self.std[mean_rows], 1e-30))
            mu = ln.mean(axis=0)
            cov = np.cov(ln.T) if len(ln) > 1 else np.zeros((ln.shape[1],) * 2)
            std = np.exp(rng.multivariate_normal(mu, np.atleast_2d(cov),
                                                 method="eigh"))
            mean = self.mean[lead].copy()
        if weights not in WEIGHT_KINDS:
            raise ValueError(f"weights={weights!r} is not one of {', '.join(WEIGHT_KINDS)}")
        w = rng.standard_normal(len(w_rows)) if noise == "covariance" else None
        if w is not None and weights == "sign":
            w = np.where(w < 0, -1.0, 1.0)
        lags = None
        if w is not None and jitter:
            steps = float(jitter) * self.sampling_rate / max(int(self.latent_stride), 1)
            lags = np.round(rng.normal(0.0, steps, len(w_rows))).astype(int)

        def combined(x, lagged=0):
            """The mixture of ``x`` (indexed like the pool) with the weights ``w``; the first
            ``lagged`` channels (axis 1) of the deviations are shifted by the jitter's lags."""
            out = x[mean_rows].mean(axis=0)
            if w is not None and noise_scale:
                dev = x[w_rows] - x[w_rows].mean(axis=0)
                if lags is not None and lagged:
                    for i, lag in enumerate(lags):
                        dev[i, :lagged] = shift_code(dev[i, :lagged], lag)
                out = out + noise_scale * np.tensordot(w, dev, axes=1) / np.sqrt(len(w_rows))
            return out

        code = combined(ref, lagged=ref.shape[1] - self.low_channels)
        if w is None:
            draw = ref[w_rows].std(axis=0) * rng.standard_normal(code.shape)
            if noise_scale:
                code = code + noise_scale * draw
        if self.low_channels:
            # A Gaussian combination has, in every band, the records' *arithmetic* mean
            # energy, far above a typical record's where amplitudes spread log-normally (it
            # lifted Sa(1 s) of 3130 by 1.5 ln). The low band takes the log-mean band
            # amplitudes of the records (plus the same weights' deviation): its phase and
            # timing stay the mixture's.
            code = self._shape_low(code, combined(self.low_band_log_rms))
            if self.low_channels == 3:
                # Where the new record's low-band horizontals point: the turn that best
                # matches the same combination of the records *as recorded* around the
                # crossover. The decoder's channels are combined as recorded, and there the
                # two bands add up: the better they match, the less the horizontals cancel
                # (n=100 per station: ln H/V at 4-8 Hz 0.07-0.13 below the as-recorded
                # mixture's with a uniform random azimuth or the as-recorded principal
                # axis, 0.06-0.09 with this turn).
                as_recorded = combined(full[:, -3:-1])
                code = self._turned(code, self._matching_turn(code[-3:-1], as_recorded))
        code = self.from_record_units(code, std)
        out = (code.astype(np.float32), np.asarray(mean, float), np.asarray(std, float))
        extra = ()
        if return_envelope:
            envelope = None
            if self.log_envelope is not None:
                # A Gaussian combination of aligned records has their arithmetic-mean energy
                # at every time: it starts with the P arrivals of all of them and ends with
                # the longest coda. A typical record's envelope is their log-mean.
                envelope = combined(self._aligned(self.log_envelope[:, None, :],
                                                  self.onset[lead]), lagged=1)[0]
                if p_envelope and self.p_arrival is not None:
                    on_p = combined(self._aligned(self.log_envelope[:, None, :],
                                                  self.p_arrival[lead],
                                                  anchors=self.p_arrival), lagged=1)[0]
                    step = np.arange(envelope.size) * max(int(self.latent_stride), 1)
                    # Two rows: every component's envelope, and the vertical's.
                    envelope = np.stack([envelope, np.where(step < self.onset[lead],
                                                            np.maximum(envelope, on_p),
                                                            envelope)])
            extra += (envelope,)
        if return_bands:
            extra += (None if self.log_band is None else combined(self.log_band),)
        return out + (lead,) * return_lead + extra

    def _low_bands(self, length):
        """Band edges (FFT bins of a ``length``-step code): about 24 log-spaced bands from the
        third bin to the Nyquist bin."""
        top = length // 2 + 1
        return np.unique(np.round(np.geomspace(2, top, 25)).astype(int))

    def _band_log_rms(self, low):
        """(..., channels, bands) ln RMS amplitude of ``low`` (..., channels, L) per band."""
        edges = self._low_bands(low.shape[-1])
        power = np.abs(np.fft.rfft(low, axis=-1)) ** 2
        bands = [power[..., a:b].mean(axis=-1) for a, b in zip(edges[:-1], edges[1:])]
        return 0.5 * np.log(np.maximum(np.stack(bands, axis=-1), 1e-300))

    @property
    def low_band_log_rms(self) -> np.ndarray:
        """(n, low_channels, bands) ln band amplitudes of each record's low-band code in
        per-record units (:meth:`to_record_units`), horizontals polarised (:meth:`polarised`:
        major axis, minor axis, Z)."""
        if not self._low:
            k = self.low_channels
            low = self.polarised(self.to_record_units(self.codes.astype(np.float64)))
            self._low.append(self._band_log_rms(low[:, -k:, :]))
        return self._low[0]

    @property
    def polarisation(self) -> np.ndarray:
        """(n,) azimuth (radians, from N towards E) of the principal axis of each record's
        low-band horizontal motion (in per-record units), oriented so that it correlates
        positively with the vertical; zeros without three low-band channels.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.linspace(0, 20, 400)
        >>> z = np.sin(t) * np.exp(-0.1 * t)
        >>> low = np.stack([np.cos(0.5) * z, np.sin(0.5) * z, z])   # polarised at 0.5 rad
        >>> p = LatentPool("X", np.stack([low, -low]), np.zeros((2, 3)), np.ones((2, 3)),
        ...                low_channels=3)
        >>> np.round(p.polarisation, 3).tolist()   # the second record: the same axis
        [0.5, 0.5]
        """
        if not self._theta:
            theta = np.zeros(self.n_records)
            if self.low_channels == 3:
                low = self.to_record_units(self.codes.astype(np.float64))[:, -3:, :]
                n, e, z = low[:, 0], low[:, 1], low[:, 2]
                theta = 0.5 * np.arctan2(2 * (n * e).sum(-1), (n * n).sum(-1) - (e * e).sum(-1))
                major = np.cos(theta)[:, None] * n + np.sin(theta)[:, None] * e
                theta = np.where((major * z).sum(-1) < 0, theta + np.pi, theta)
            self._theta.append(theta)
        return self._theta[0]

    def polarised(self, codes):
        """The pool's codes (n, C, L, in :meth:`to_record_units` units) with each record's
        low-band horizontals turned so that N is the principal axis of its motion
        (:attr:`polarisation`); unchanged without three low-band channels."""
        if self.low_channels != 3:
            return codes
        out = np.array(codes, dtype=np.float64, copy=True)
        c, s = np.cos(self.polarisation)[:, None], np.sin(self.polarisation)[:, None]
        n, e = out[:, -3].copy(), out[:, -2].copy()
        out[:, -3] = c * n + s * e
        out[:, -2] = -s * n + c * e
        return out

    def _matching_turn(self, polarised, as_recorded) -> float:
        """The azimuth (radians) to turn a polarised horizontal pair (major, minor; (2, L)) to
        so that it best matches ``as_recorded`` (N, E; (2, L)) in least squares over the band
        around the crossover (0.5-2 x ``crossover``; the whole band without one), where the
        record's low band and the decoder's band add up."""
        length = polarised.shape[-1]
        freq = np.fft.rfftfreq(length, d=max(int(self.latent_stride), 1) / self.sampling_rate)
        keep = ((freq >= 0.5 * self.crossover) & (freq <= 2.0 * self.crossover)
                if self.crossover > 0 else freq > 0)
        p = np.fft.rfft(polarised, axis=-1)[:, keep]
        r = np.fft.rfft(as_recorded, axis=-1)[:, keep]
        # 2-D Procrustes: the rotation angle maximising sum Re(r . conj(R(a) p)).
        cross = (r[1] * np.conj(p[0]) - r[0] * np.conj(p[1])).real.sum()
        dot = (r[0] * np.conj(p[0]) + r[1] * np.conj(p[1])).real.sum()
        return float(np.arctan2(cross, dot))

    @staticmethod
    def _turned(code, azimuth):
        """One code (C, L) whose low-band horizontals (major, minor axis) are turned so that
        the major axis points to ``azimuth`` (radians from N towards E)."""
        out = np.array(code, dtype=np.float64, copy=True)
        c, s = np.cos(azimuth), np.sin(azimuth)
        major, minor = out[-3].copy(), out[-2].copy()
        out[-3] = c * major - s * minor
        out[-2] = s * major + c * minor
        return out

    def _shape_low(self, code, target):
        """``code`` (C, L) with its low-band channels filtered (zero-phase, band gains
        interpolated in log frequency) to the ln band amplitudes ``target`` (k, bands)."""
        k, length = self.low_channels, code.shape[-1]
        edges = self._low_bands(length)
        gain_ln = target - self._band_log_rms(code[-k:])
        centres = np.sqrt(edges[:-1] * np.maximum(edges[1:] - 1, edges[:-1]))
        bins = np.arange(length // 2 + 1)
        gains = np.stack([np.exp(np.interp(np.log(np.maximum(bins, 1)), np.log(centres), g))
                          for g in gain_ln])
        out = np.array(code, dtype=np.float64, copy=True)
        out[-k:] = np.fft.irfft(np.fft.rfft(out[-k:], axis=-1) * gains, length, axis=-1)
        return out

    def _channel_ratio(self, std):
        """(..., low_channels) each channel's std over the mean of the horizontal stds."""
        std = np.asarray(std, dtype=np.float64)
        return (std / np.maximum(std[..., :2].mean(axis=-1, keepdims=True), 1e-300))[
            ..., : self.low_channels]

    def to_record_units(self, codes):
        """The pool's codes (n, C, L; e.g. shifted by :meth:`aligned_to`) with their low-band
        channels (:attr:`low_channels`) in per-record units: times each channel's std over the
        mean of the record's horizontal stds. Unchanged without low-band channels.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.ones((2, 4, 3)), np.zeros((2, 3)),
        ...                np.array([[1., 1., 2.], [2., 2., 1.]]), low_channels=3)
        >>> p.to_record_units(p.codes.astype(float))[:, :, 0].tolist()
        [[1.0, 1.0, 1.0, 2.0], [1.0, 1.0, 1.0, 0.5]]
        """
        if not self.low_channels:
            return codes
        out = np.array(codes, dtype=np.float64, copy=True)
        out[:, -self.low_channels:, :] *= self._channel_ratio(self.std)[:, :, None]
        return out

    def from_record_units(self, code, std):
        """One code (C, L) back from :meth:`to_record_units` units, for a record of per-channel
        ``std``."""
        if not self.low_channels:
            return code
        out = np.array(code, dtype=np.float64, copy=True)
        out[-self.low_channels:, :] /= self._channel_ratio(std)[:, None]
        return out

    def _local(self, lead: int, k: int, rng):
        """The ``k`` aligned codes nearest the lead's (itself included), their mean and the
        new record's normalisation; the Gaussian weights ``w`` (drawn here, so the stream of
        ``rng`` does not depend on ``noise_scale``) set the code's deviation and, coherently,
        its amplitude."""
        ref = self.aligned_to(self.onset[lead])
        k = min(max(int(k), 2), self.n_records)
        flat = ref.reshape(len(ref), -1)
        dist = ((flat - flat[lead]) ** 2).sum(axis=1)
        dist[lead] = -1.0  # the lead first, whatever ties
        idx = np.argsort(dist, kind="stable")[:k]
        near = ref[idx]
        w = rng.standard_normal(k)
        ln = np.log(np.maximum(self.std[idx], 1e-30))
        # Amplitude: the neighbours' log-mean plus the same weighted deviation as the code.
        std = np.exp(ln.mean(axis=0) + np.tensordot(w, ln - ln.mean(axis=0), axes=1)
                     / np.sqrt(k))
        return near, near.mean(axis=0), self.mean[lead].copy(), std, w

    def aligned_to(self, onset: float, pick=None) -> np.ndarray:
        """The codes (all, or those at positions ``pick``) shifted so that every record's
        anchor falls on ``onset`` (samples), as float64.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.array([[[0., 1., 0., 0.]], [[0., 0., 1., 0.]]]),
        ...                np.zeros((2, 3)), np.ones((2, 3)), onset=[1.0, 2.0])
        >>> p.aligned_to(1.0).tolist()
        [[[0.0, 1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0, 0.0]]]
        """
        return self._aligned(self.codes, onset, pick)

    def _aligned(self, values, onset: float, pick=None, anchors=None) -> np.ndarray:
        """``values`` (n, ..., L, indexed like the pool, at the latent rate) shifted as
        :meth:`aligned_to` shifts the codes (or so that ``anchors``, samples per record,
        fall on ``onset``; a record without one -- no P pick -- is placed by its own onset and
        the pool's median anchor-to-onset time)."""
        idx = np.arange(self.n_records) if pick is None else np.asarray(pick, dtype=int)
        stride = max(int(self.latent_stride), 1)
        if anchors is None:
            anchors = self.onset
        else:
            anchors = np.array(anchors, dtype=np.float64)
            missing = ~np.isfinite(anchors)
            if missing.any() and self.onset is not None and not missing.all():
                lag = np.median(self.onset[~missing] - anchors[~missing])
                anchors[missing] = self.onset[missing] - lag
        steps = np.round((float(onset) - anchors[idx]) / stride).astype(int)
        values = np.asarray(values, dtype=np.float64)
        return np.stack([shift_code(values[i], k) for i, k in zip(idx, steps)])


def check_sampling_args(n_mix, noise_scale) -> tuple:
    """Validate ``n_mix`` (positive integer) and ``noise_scale`` (>= 0).

    Examples
    --------
    >>> check_sampling_args(5, 1)
    (5, 1.0)
    >>> check_sampling_args(0, 1)
    Traceback (most recent call last):
    ...
    ValueError: n_mix must be a positive integer, got 0
    """
    if isinstance(n_mix, bool) or int(n_mix) != n_mix or n_mix < 1:
        raise ValueError(f"n_mix must be a positive integer, got {n_mix!r}")
    try:
        noise = float(noise_scale)
    except (TypeError, ValueError):
        raise ValueError(f"noise_scale must be a number >= 0, got {noise_scale!r}") from None
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise_scale must be a number >= 0, got {noise_scale!r}")
    return int(n_mix), noise


def mix(codes, mean, std, rng, n_mix=N_MIX, noise_scale=1.0, sigma=None, noise="covariance",
        centred=None):
    """Eq. 1: average ``n_mix`` codes drawn with replacement, add ``noise_scale * N(0, sigma)``.

    Parameters
    ----------
    codes : array (n, ...)
    mean, std : array (n, channels)
    rng : numpy.random.Generator
    sigma : array, optional
        Element-wise noise standard deviation for ``noise="diagonal"`` (default:
        ``codes.std(axis=0)``).
    noise : {"covariance", "diagonal"}
        Gaussian with the codes' empirical covariance, or independent elements.

    Returns
    -------
    code : array (...), mean, std : array (channels,)

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.ones((3, 2))
    >>> code, mean, std = mix(codes, np.zeros((3, 1)), np.ones((3, 1)),
    ...                       np.random.default_rng(0), 5, 0.0)
    >>> code.tolist(), std.tolist()
    ([1.0, 1.0], [1.0])
    """
    n_mix, noise_scale = check_sampling_args(n_mix, noise_scale)
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise={noise!r} is not one of {', '.join(NOISE_KINDS)}")
    pick = rng.integers(0, len(codes), size=n_mix)
    code = np.asarray(codes[pick], dtype=np.float64).mean(axis=0)
    if noise == "covariance":
        # N(0, Sigma_s) with the pool's empirical covariance: a Gaussian combination of the
        # centred codes. Its element-wise std is exactly sigma (the paper's), and it varies
        # only along directions the station's records vary in.
        if centred is None:
            full = np.asarray(codes, dtype=np.float64)
            centred = full - full.mean(axis=0)
        w = rng.standard_normal(len(codes))
        draw = np.tensordot(w, centred, axes=1) / np.sqrt(len(codes))
    else:
        if sigma is None:
            sigma = np.asarray(codes, dtype=np.float64).std(axis=0)
        draw = np.asarray(sigma) * rng.standard_normal(code.shape)
    # Drawn even when noise_scale is 0, so the scale never shifts the random stream.
    if noise_scale:
        code = code + noise_scale * draw
    return (code.astype(np.float32), np.asarray(mean, dtype=np.float64)[pick].mean(axis=0),
            np.asarray(std, dtype=np.float64)[pick].mean(axis=0))

"""Time series: Boore (2003) stochastic method with P and S windows and a soil column.

For each record, Gaussian white noise is windowed by Saragoni-Hart envelopes (a P window at the
P arrival, an S window at the S arrival followed by a 1/t coda), transformed, normalised to unit
mean-square amplitude spectrum (Boore 2003, step "c"), multiplied by the target Fourier
amplitude spectrum (pyrvt, :mod:`.source`) and by the complex site transfer function (pystrata,
:mod:`.site`: SH for the horizontals, P for the vertical), and transformed back. The soil response
is applied with its phase, so the column rings after each arrival as a real one does; the
source/path spectrum gets its random phase from the windowed noise, as in Boore's method. The
three components mix a common noise series (linearly polarised on the horizontals) with their
own, with a coherence that falls with frequency (:func:`coherence`).

This module is the hand-written glue (random-phase series, envelopes, P/S timing, vertical
component); everything spectral comes from pyrvt and pystrata. For speed the work is batched:
records are grouped by FFT length (a few sizes per octave) so that one ``numpy.fft`` call handles
a whole group, and pystrata's transfer functions are computed once per site and FFT length and
reused (a pystrata call costs about as much as simulating ten records; pyrvt's spectrum costs
~0.2 ms and is simply called per record). Each record draws from its own random generator seeded
by ``(seed, record_index)``, so record ``i`` is the same whatever ``n`` or batch it came with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .source import check_event, source_spectrum

#: Saragoni-Hart envelope shape of Boore (2003): peak at ``EPS * tn``, ``ETA`` of the peak at
#: ``tn = F_TGM * duration``.
EPS, ETA, F_TGM = 0.2, 0.05, 2.0

#: Vertical-to-horizontal Fourier amplitude ratio at the reference rock outcrop (S waves arrive
#: steeply, so the vertical is weaker; rock H/V ratios of earthquake records are ~1-1.5).
V_TO_H = 0.8

#: Median P-window weights relative to the S window: small on the horizontals, large on the
#: vertical (near-vertical incidence puts P motion on Z).
P_WEIGHT_H, P_WEIGHT_V = 0.15, 0.6

#: Coherence of the three components' random phase: ``GAMMA_HI + (GAMMA_LO - GAMMA_HI) *
#: exp(-f / F_GAMMA)``. At long wavelengths all components see the same source and wavefield
#: (the site is transparent), at short ones scattering decorrelates them, as spatial-coherency
#: models do between stations. Fully independent components would make the H/V of short records
#: a ratio of chance spectral holes, with spurious peaks real records do not show.
GAMMA_LO, GAMMA_HI, F_GAMMA = 0.99, 0.6, 10.0

#: S-coda (Aki 1969 single scattering, amplitude ~ 1/lapse time * exp(-t/tau)): level relative
#: to the S-window peak where it starts, and its anelastic decay time (s). Boore's window alone
#: lasts only ~2 s for the small events that dominate strong-motion catalogues; the coda gives
#: records their observed length and a stable spectral ratio.
CODA_LEVEL, CODA_TAU = 0.4, 20.0
#: The record ends when the coda has decayed to this fraction of the S peak (plus 5 s).
CODA_END = 0.02

#: Crustal shear-wave speed (km/s) of pyrvt's regions, for the S-P time; Vp = sqrt(3) Vs.
CRUST_VS = {"wna": 3.5, "cena": 3.6}

#: Supported output sampling rates (Hz): the spectrum is built directly on the output grid,
#: so any rate in this range works without resampling.
SAMPLING_RATE_RANGE = (20.0, 1000.0)

#: Default event sampling: magnitudes from a truncated Gutenberg-Richter law, distances
#: log-uniform out to a magnitude-dependent limit (strong-motion networks trigger on large
#: amplitudes, so small events are recorded only nearby), depths uniform.
DEFAULT_MAGNITUDE = (3.5, 6.5)
DEFAULT_DEPTH = (5.0, 15.0)
DEFAULT_NOISE = 5e-5   # m/s^2 RMS background noise (~0.005 gal, a good strong-motion station)


def coherence(freqs):
    """Inter-component coherence of the random phase at ``freqs`` (Hz), see :data:`GAMMA_LO`.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(coherence(np.array([0.0, 5.0, 50.0])), 2)
    array([0.99, 0.84, 0.6 ])
    """
    freqs = np.asarray(freqs, dtype=float)
    return GAMMA_HI + (GAMMA_LO - GAMMA_HI) * np.exp(-freqs / F_GAMMA)


def check_sampling_rate(sampling_rate: float) -> float:
    """Return ``sampling_rate`` as float or raise a one-line ``ValueError``.

    Examples
    --------
    >>> check_sampling_rate(100)
    100.0
    >>> check_sampling_rate(5)
    Traceback (most recent call last):
    ...
    ValueError: sampling_rate must be between 20 and 1000 Hz, got 5
    """
    try:
        sr = float(sampling_rate)
    except (TypeError, ValueError):
        raise ValueError(f"sampling_rate must be a number in Hz, got {sampling_rate!r}") from None
    lo, hi = SAMPLING_RATE_RANGE
    if not lo <= sr <= hi:
        raise ValueError(f"sampling_rate must be between {lo:g} and {hi:g} Hz, "
                         f"got {sampling_rate}")
    return sr


def saragoni_hart(t, duration, eps: float = EPS, eta: float = ETA, f_tgm: float = F_TGM):
    """Boore (2003, eq. 8) Saragoni-Hart envelope, peak 1 at ``eps * tn``, zero after ``tn``.

    Parameters
    ----------
    t : array_like
        Time after the window onset (s); negative times give 0.
    duration : float or array_like
        Ground-motion duration ``T_gm`` (s); ``tn = f_tgm * duration``. Broadcasts with ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> w = saragoni_hart(np.array([-1.0, 0.0, 0.4, 2.0, 2.5]), 1.0)
    >>> np.round(w, 3)
    array([0.  , 0.  , 1.  , 0.05, 0.  ])
    """
    t = np.asarray(t, dtype=float)
    tn = f_tgm * np.asarray(duration, dtype=float)
    b = -eps * math.log(eta) / (1.0 + eps * (math.log(eps) - 1.0))
    c = b / eps
    a = (math.e / eps) ** b
    x = np.clip(t / tn, 0.0, None)
    w = a * x ** b * np.exp(-c * x)
    return np.where((t >= 0) & (t <= tn), w, 0.0)


def coda_envelope(x, lapse, level: float = CODA_LEVEL, tau: float = CODA_TAU):
    """S-coda envelope ``level * lapse / (lapse + x) * exp(-x / tau)``.

    Parameters
    ----------
    x : array_like
        Time after the S-window peak (s).
    lapse : float or array_like
        Lapse time from the origin to the S-window peak (s).

    Examples
    --------
    >>> round(float(coda_envelope(10.0, 10.0)), 3)
    0.121
    """
    x = np.asarray(x, dtype=float)
    return level * lapse / (lapse + x) * np.exp(-x / tau)


def coda_length(lapse: float, level: float = CODA_LEVEL, tau: float = CODA_TAU,
                end: float = CODA_END) -> float:
    """Time after the S peak (s) when :func:`coda_envelope` falls to ``end`` (bisection).

    Examples
    --------
    >>> x = coda_length(10.0)
    >>> round(float(coda_envelope(x, 10.0)), 3)
    0.02
    """
    lo, hi = 0.0, tau * math.log(max(level / end, 1.0)) + 1e-9  # exp part alone gives hi
    if level <= end:
        return 0.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if float(coda_envelope(mid, lapse, level, tau)) > end:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class Event:
    """Earthquake source parameters of one record.

    Attributes
    ----------
    magnitude : float
        Moment magnitude.
    distance : float
        Epicentral distance (km).
    depth : float
        Hypocentral depth (km).
    stress_drop : float or None
        Brune stress drop (bar); ``None`` = region default.

    Examples
    --------
    >>> Event(5.0, 30.0, 10.0).magnitude
    5.0
    """

    magnitude: float
    distance: float
    depth: float = 10.0
    stress_drop: float | None = None

    def __post_init__(self):
        check_event(self.magnitude, self.distance, self.depth, self.stress_drop)


def _range(value, name):
    """A fixed value -> (v, v); a (lo, hi) pair -> checked pair; None -> None."""
    if value is None:
        return None
    if np.ndim(value) == 0:
        v = float(value)
        return (v, v)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (min, max) pair, got {value!r}") from None
    if not lo <= hi:
        raise ValueError(f"{name} range must have min <= max, got ({lo}, {hi})")
    return (lo, hi)


def sample_event(rng: np.random.Generator, *, magnitude=None, distance=None, depth=None,
                 stress_drop=None, b_value: float = 1.0, region: str = "wna") -> Event:
    """Draw one event: Gutenberg-Richter magnitude, log-uniform distance, uniform depth.

    Parameters
    ----------
    rng : numpy.random.Generator
    magnitude : float or (min, max), optional
        Fixed magnitude or range; default :data:`DEFAULT_MAGNITUDE`.
    distance : float or (min, max), optional
        Fixed epicentral distance (km) or range; default 5 km out to
        ``min(150, 10**(0.4 M + 0.2))`` km (about 40 km for M 3.5, 150 km for M >= 5).
    depth : float or (min, max), optional
        Default :data:`DEFAULT_DEPTH`.
    stress_drop : float or (min, max), optional
        Bar; default lognormal around the region's value (100 bar for wna, sigma_ln 0.4).
    b_value : float
        Gutenberg-Richter b-value.

    Examples
    --------
    >>> import numpy as np
    >>> ev = sample_event(np.random.default_rng(0), magnitude=(4, 6), distance=20.0)
    >>> 4 <= ev.magnitude <= 6, ev.distance
    (True, 20.0)
    """
    m_lo, m_hi = _range(magnitude, "magnitude") or DEFAULT_MAGNITUDE
    check_event(m_lo, 10.0)
    check_event(m_hi, 10.0)
    if m_hi > m_lo:
        # Inverse CDF of the doubly truncated exponential (Gutenberg-Richter) distribution.
        beta = b_value * math.log(10.0)
        u = rng.random()
        mag = m_lo - math.log(1.0 - u * (1.0 - math.exp(-beta * (m_hi - m_lo)))) / beta
    else:
        mag = m_lo
    d_range = _range(distance, "distance")
    if d_range is None:
        d_range = (5.0, max(5.0, min(150.0, 10.0 ** (0.4 * mag + 0.2))))
    d_lo, d_hi = d_range
    check_event(mag, d_lo)
    check_event(mag, d_hi)
    if d_hi > d_lo:
        lo = max(d_lo, 0.1)  # log-uniform needs a positive lower bound
        dist = float(math.exp(rng.uniform(math.log(lo), math.log(d_hi))))
    else:
        dist = d_lo
    z_lo, z_hi = _range(depth, "depth") or DEFAULT_DEPTH
    z = float(rng.uniform(z_lo, z_hi)) if z_hi > z_lo else z_lo
    s_range = _range(stress_drop, "stress_drop")
    if s_range is None:
        median = 100.0 if region == "wna" else None
        if median is None:
            sd = None  # CENA: pyrvt derives the stress drop from magnitude
        else:
            sd = float(np.clip(median * math.exp(0.4 * rng.standard_normal()), 10.0, 1000.0))
    else:
        sd = float(rng.uniform(*s_range)) if s_range[1] > s_range[0] else s_range[0]
    return Event(float(mag), dist, z, sd)


def _fft_length(npts: int) -> int:
    """Smallest of 2^k * {8, 10, 12, 14} / 8 >= npts: few distinct sizes, all FFT-friendly."""
    k = max(int(math.floor(math.log2(npts))) - 3, 0)
    while True:
        for m in (8, 10, 12, 14, 16):
            size = m * 2 ** k
            if size >= npts:
                return size
        k += 1


@dataclass
class SimulatedRecord:
    """One simulated 3-component record: ``data`` rows are N, E, Z (m/s^2).

    Attributes
    ----------
    data : ndarray, shape (3, npts)
    labels : dict
        ``magnitude``, ``distance`` (km, epicentral), ``depth`` (km), ``hypo_distance`` (km),
        ``stress_drop`` (bar), ``corner_frequency`` (Hz), ``duration`` (s), ``kappa0`` (s),
        ``p_arrival`` and ``s_arrival`` (s after the record start), ``travel_time_p`` (s from
        origin to P), ``pga`` (m/s^2, larger horizontal peak).

    Examples
    --------
    >>> import numpy as np
    >>> SimulatedRecord(np.zeros((3, 10)), {"pga": 0.0}).data.shape
    (3, 10)
    """

    data: np.ndarray
    labels: dict = field(default_factory=dict)


class _TFCache:
    """Site transfer functions per FFT length (pystrata set-up is per call; reuse it)."""

    def __init__(self, profile):
        self.profile = profile
        self._cache = {}

    def get(self, nfft: int, dt: float):
        key = (nfft, dt)
        if key not in self._cache:
            freqs = np.fft.rfftfreq(nfft, dt)
            sh, p = self.profile.transfer_functions(freqs)
            self._cache[key] = (freqs, sh, p)
        return self._cache[key]


def simulate_records(profile, n: int, seed: int, *, sampling_rate: float = 100.0,
                     region: str = "wna", magnitude=None, distance=None, depth=None,
                     stress_drop=None, b_value: float = 1.0, kappa0: float | None = None,
                     q0: float | None = None, eta: float | None = None,
                     noise_level: float = DEFAULT_NOISE, events=None,
                     batch_size: int = 32, tf_cache: _TFCache | None = None) -> list:
    """Simulate ``n`` three-component records at a site.

    Parameters
    ----------
    profile : SoilProfile
        Site column (:class:`~obspy_gen.plugins.stochastic.site.SoilProfile`).
    n : int
        Number of records.
    seed : int
        Record ``i`` uses ``numpy.random.default_rng([seed, i])``.
    sampling_rate : float
        Output sampling rate (Hz), see :data:`SAMPLING_RATE_RANGE`.
    region, kappa0, q0, eta
        Source/path model, see :func:`~obspy_gen.plugins.stochastic.source.source_spectrum`.
    magnitude, distance, depth, stress_drop, b_value
        Event sampling, see :func:`sample_event`.
    noise_level : float
        RMS of white background noise added to every sample (m/s^2); 0 for none.
    events : sequence of Event, optional
        Fixed events instead of sampled ones (length ``n``).
    batch_size : int
        Records per FFT batch (peak memory ~ ``batch_size * nfft * 250`` bytes, ~70 MB for
        the default and 80-s records).

    Returns
    -------
    list of SimulatedRecord

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic.site import SoilProfile
    >>> site = SoilProfile([(20, 200, 1800, 0.05)], (800, 2200, 0.01))
    >>> recs = simulate_records(site, 2, seed=1, magnitude=5.0, distance=20.0)
    >>> recs[0].data.shape[0], recs[0].labels["magnitude"]
    (3, 5.0)
    >>> recs[0].labels["p_arrival"] < recs[0].labels["s_arrival"]
    True
    """
    sr = check_sampling_rate(sampling_rate)
    if region not in CRUST_VS:
        raise ValueError(f"region must be one of {', '.join(CRUST_VS)}, got {region!r}")
    if not (isinstance(n, (int, np.integer)) and n >= 0):
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not (np.isfinite(noise_level) and noise_level >= 0):
        raise ValueError(f"noise_level must be >= 0 m/s^2, got {noise_level}")
    if events is not None and len(events) != n:
        raise ValueError(f"events has {len(events)} entries, n is {n}")
    dt = 1.0 / sr
    vs_crust = CRUST_VS[region]
    vp_crust = vs_crust * math.sqrt(3.0)
    tf_cache = tf_cache or _TFCache(profile)

    # 1) Per-record parameters (cheap Python loop): event, timing, length, FFT size.
    plans = []
    for i in range(n):
        rng = np.random.default_rng([int(seed), i])
        ev = events[i] if events is not None else sample_event(
            rng, magnitude=magnitude, distance=distance, depth=depth, stress_drop=stress_drop,
            b_value=b_value, region=region)
        # Duration from pyrvt on a one-bin grid first; the FFT grid depends on it.
        src0 = source_spectrum(ev.magnitude, ev.distance, [1.0], region=region,
                               stress_drop=ev.stress_drop, depth=ev.depth, kappa0=kappa0,
                               q0=q0, eta=eta)
        r = src0.hypo_distance
        tp, ts = r / vp_crust, r / vs_crust
        p_arrival = float(rng.uniform(5.0, 10.0))        # pre-event memory of a trigger
        s_arrival = p_arrival + (ts - tp)
        t_s = src0.duration
        t_p = src0.duration                              # P and S share source + path duration
        lapse_peak = ts + EPS * F_TGM * t_s              # origin -> S-window peak (s)
        # The record ends 5 s after the coda has decayed to CODA_END of the S peak.
        end = s_arrival + EPS * F_TGM * t_s + coda_length(lapse_peak) + 5.0
        npts = int(math.ceil(max(end, 20.0) * sr))
        # 10 s of zero padding so the soil's ringing does not wrap around the circular FFT.
        nfft = _fft_length(npts + int(10.0 * sr))
        p_w = (P_WEIGHT_H * math.exp(0.3 * rng.standard_normal()),
               P_WEIGHT_V * math.exp(0.3 * rng.standard_normal()))
        polarisation = float(rng.uniform(0.0, 2.0 * math.pi))
        plans.append(dict(i=i, rng=rng, ev=ev, src0=src0, tp=tp, p_arrival=p_arrival,
                          lapse_peak=lapse_peak,
                          s_arrival=s_arrival, t_s=t_s, t_p=t_p, npts=npts, nfft=nfft, p_w=p_w,
                          polarisation=polarisation))

    out = [None] * n
    # 2) Batches of equal FFT length: one vectorised rfft/irfft per batch.
    by_size = {}
    for plan in plans:
        by_size.setdefault(plan["nfft"], []).append(plan)
    for nfft, group in sorted(by_size.items()):
        freqs, tf_sh, tf_p = tf_cache.get(nfft, dt)
        t = np.arange(nfft) * dt
        for start in range(0, len(group), batch_size):
            batch = group[start:start + batch_size]
            _simulate_batch(batch, nfft, dt, t, freqs, tf_sh, tf_p, region, kappa0, q0, eta,
                            noise_level, out)
    return out


def _simulate_batch(batch, nfft, dt, t, freqs, tf_sh, tf_p, region, kappa0, q0, eta,
                    noise_level, out):
    nb = len(batch)
    # Row 0-2: each component's own noise; row 3: the noise common to all three components.
    x = np.zeros((nb, 4, nfft))
    amp = np.empty((nb, freqs.size))
    for b, plan in enumerate(batch):
        npts = plan["npts"]
        # Noise only over the record's own length, so the draw does not depend on the batch.
        x[b, :, :npts] = plan["rng"].standard_normal((4, npts))
        ev = plan["ev"]
        src = source_spectrum(ev.magnitude, ev.distance, freqs, region=region,
                              stress_drop=ev.stress_drop, depth=ev.depth, kappa0=kappa0, q0=q0,
                              eta=eta)
        amp[b] = src.fas
        plan["src"] = src
    p_on = np.array([p["p_arrival"] for p in batch])[:, None]
    s_on = np.array([p["s_arrival"] for p in batch])[:, None]
    t_p = np.array([p["t_p"] for p in batch])[:, None]
    t_s = np.array([p["t_s"] for p in batch])[:, None]
    w_p = saragoni_hart(t[None, :] - p_on, t_p)
    w_s = saragoni_hart(t[None, :] - s_on, t_s)
    # Coda after the S peak: lapse time since the origin sets the 1/t decay.
    lapse = np.array([p["lapse_peak"] for p in batch])[:, None]
    t_pk = s_on + EPS * F_TGM * t_s
    x_c = np.clip(t[None, :] - t_pk, 0.0, None)
    coda = coda_envelope(x_c, lapse)
    w_s = np.where(t[None, :] > t_pk, np.maximum(w_s, coda), w_s)
    p_h = np.array([p["p_w"][0] for p in batch])[:, None]
    p_v = np.array([p["p_w"][1] for p in batch])[:, None]
    env_h = w_s + p_h * w_p
    env_v = w_s + p_v * w_p
    # Windowed noise: each component's own series, and the common series under the horizontal
    # and the vertical envelope.
    win = np.empty((nb, 5, nfft))
    win[:, 0] = x[:, 0] * env_h
    win[:, 1] = x[:, 1] * env_h
    win[:, 2] = x[:, 2] * env_v
    win[:, 3] = x[:, 3] * env_h
    win[:, 4] = x[:, 3] * env_v
    del x
    spec5 = np.fft.rfft(win, axis=-1)
    del win
    # Boore (2003): normalise each windowed-noise spectrum to unit mean-square amplitude, so the
    # result's Fourier amplitude follows the target spectrum on average. Done before mixing so
    # that the mixture keeps unit mean square (independent parts add in power).
    spec5 /= np.sqrt(np.mean(np.abs(spec5) ** 2, axis=-1, keepdims=True))
    gam = coherence(freqs)
    own = np.sqrt(1.0 - gam ** 2)
    # The common part is linearly polarised at a random azimuth on the horizontals (as S waves
    # are); sqrt(2) keeps the mean horizontal power of the two components.
    phi = np.array([p["polarisation"] for p in batch])[:, None]
    spec = np.empty((nb, 3, freqs.size), dtype=complex)
    spec[:, 0] = own * spec5[:, 0] + gam * math.sqrt(2.0) * np.cos(phi) * spec5[:, 3]
    spec[:, 1] = own * spec5[:, 1] + gam * math.sqrt(2.0) * np.sin(phi) * spec5[:, 3]
    spec[:, 2] = own * spec5[:, 2] + gam * spec5[:, 4]
    del spec5
    # DFT = continuous FT / dt, hence the 1/dt.
    spec[:, 0:2] *= (amp / dt)[:, None, :] * tf_sh[None, None, :]
    spec[:, 2] *= (V_TO_H / dt) * amp * tf_p[None, :]
    y = np.fft.irfft(spec, n=nfft, axis=-1)
    for b, plan in enumerate(batch):
        npts = plan["npts"]
        data = y[b, :, :npts]
        if noise_level > 0:
            data = data + noise_level * plan["rng"].standard_normal((3, npts))
        ev, src = plan["ev"], plan["src"]
        labels = dict(
            magnitude=ev.magnitude, distance=ev.distance, depth=ev.depth,
            hypo_distance=src.hypo_distance, stress_drop=src.stress_drop,
            corner_frequency=src.corner_frequency, duration=src.duration, kappa0=src.kappa0,
            p_arrival=plan["p_arrival"], s_arrival=plan["s_arrival"], travel_time_p=plan["tp"],
            pga=float(np.abs(data[:2]).max()))
        out[plan["i"]] = SimulatedRecord(np.ascontiguousarray(data), labels)

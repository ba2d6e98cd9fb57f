r"""Ground-motion intensity measures of acceleration records (numba; never imports torch).

Plain functions work on one acceleration array in m/s**2 (or an ObsPy Trace, whose units are
converted, see :func:`acceleration_si`) with its sampling interval ``dt`` in s:

==============================  ========  ====================================================
function                        unit      definition
==============================  ========  ====================================================
:func:`pga`                     m/s**2    max \|a\|
:func:`pgv`, :func:`pgd`        m/s, m    max \|v\|, max \|d\| after :func:`velocity_displacement`
:func:`arias_intensity`         m/s       pi / (2 g) * integral a**2 dt, g = 9.80665 m/s**2
:func:`husid`                   --        normalised cumulative integral of a**2 (0 ... 1)
:func:`significant_duration`    s         time between two Husid levels (D5-95, D5-75)
:func:`cav`                     m/s       integral \|a\| dt (EPRI 1988, no threshold)
:func:`spectral_acceleration`   m/s**2    pseudo-spectral acceleration w**2 max\|u\| (5 %)
==============================  ========  ====================================================

Integrals use the trapezoidal rule. :func:`intensity_measures` computes everything for every
record of a Stream (per component and for two horizontal combinations) and returns an
:class:`IntensityResult` with ``to_dict()``; it is the ``intensity`` site-metric plugin.

Velocity and displacement (PGV, PGD)
    The acceleration's least-squares linear trend is removed. Removing the mean forces the
    velocity back to zero at the record end, removing the first moment as well forces the
    displacement back to zero (d(T) = T v(T) - integral t a(t) dt), so a record that begins and
    ends at rest keeps its true motion. Then an acausal (zero-phase, ``sosfiltfilt``)
    Butterworth high-pass (``highpass`` Hz, default 0.1, order 4) removes the long-period
    drift that offsets *during* the record (tilt, instrument steps) would otherwise integrate
    into. It runs on the record zero-padded at both ends by 1.5 * order / highpass s in total
    (Boore 2005, "On pads and filters"), so the filter's transients live in the pads; the
    velocity and displacement are integrated (cumulative trapezoid) from the start of the
    front pad, then cut back to the record. PGD of small events depends strongly on the
    high-pass corner; set ``highpass`` from the record's signal-to-noise ratio when it matters.
    The other measures use the detrended acceleration without the high-pass (it hardly
    changes them and a corner choice should not).

Spectral acceleration
    The oscillator u'' + 2 zeta w u' + w**2 u = -a(t) is stepped with the exact recurrence of
    Nigam & Jennings (1969) for an excitation linear between samples, compiled with numba and
    parallel over periods. The recurrence is exact; two discretisation errors remain and are
    controlled: (1) linear interpolation of a band-limited record attenuates a component of
    frequency f by sinc**2(f dt) (3 % at 10 Hz and 100 Hz sampling, 12 % at 20 Hz), and (2) the
    peak falls between samples. With ``oversample="auto"`` (default) the record is first
    interpolated band-limited (FFT, zero-padded) by a power-of-two factor (2 to 64) giving at
    least 20 samples per oscillator period -- Boore & Goulet (2014) recommend such resampling
    -- with its spectrum divided by sinc**2 on the new grid so that the linearly interpolated
    excitation has the record's spectrum; and the peak between samples is taken from the cubic
    Hermite interpolant of (u, u') (relative error ~ (w dt)**4 / 384, 2.5e-5 at 20 samples per
    period). After the last sample the ground is at rest and the free vibration's first
    extremum, computed in closed form, counts too. The result is the response to the
    band-limited record: it agrees with the frequency-domain pyrotd at fine output sampling to
    about 2e-4 (``tests/test_intensity.py``). ``oversample=1`` is the plain Nigam-Jennings
    result on the recorded samples.

Horizontal combinations
    ``"geometric_mean"`` (sqrt of the product of the N and E values) and
    ``"maximum_horizontal_value"`` (the larger), the names :func:`obspy_gen.hvsr` uses, applied
    measure by measure and period by period to the as-recorded horizontals (the GMxy
    convention of ground-motion models; not rotation-independent like RotD50).

Units
    Acceleration is converted to m/s**2 from ``stats.units`` (``"m/s**2"``, ``"gal"``,
    ``"cm/s**2"``, ``"g"``, ... -- gal / cm/s**2 x 0.01, g x 9.80665); ObsPy's K-NET/KiK-net
    reader gives counts with ``stats.calib`` to m/s**2, which is applied; with an ``inventory``
    (ObsPy Inventory or StationXML file) the instrument response is removed
    (``output="ACC"``). Data in unknown units (no ``stats.units``, e.g. counts from a
    miniSEED file) are never assumed to be m/s**2: the measures that need physical units
    (PGA, PGV, PGD, Arias, CAV, Sa) are refused with an error naming the trace
    (:class:`UnitsUnknownError`); the significant durations, which do not depend on the scale,
    are still computed. Give ``units=`` or an inventory to get them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
import scipy.fft
from obspy import Stream, Trace

from obspy_gen.core.jit import njit
from obspy_gen.core.records import channel_component, split_records, station_key

#: Standard gravity (m/s**2), used by Arias intensity and the "g" unit.
G = 9.80665
#: Periods (s) of :func:`intensity_measures` when none are given.
DEFAULT_PERIODS = (0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
#: Measures of every component in :class:`IntensityResult` and their units.
UNITS = {"pga": "m/s**2", "pgv": "m/s", "pgd": "m", "arias": "m/s", "cav": "m/s",
         "d5_75": "s", "d5_95": "s", "sa": "m/s**2"}
#: Horizontal combinations (names as in the HVSR settings).
COMBINATIONS = ("geometric_mean", "maximum_horizontal_value")

_UNIT_FACTORS = {"m/s**2": 1.0, "m/s^2": 1.0, "m/s2": 1.0, "m s-2": 1.0, "m/s/s": 1.0,
                 "gal": 0.01, "cm/s**2": 0.01, "cm/s^2": 0.01, "cm/s2": 0.01, "cm s-2": 0.01,
                 "cm/s/s": 0.01, "mm/s**2": 0.001, "mm/s^2": 0.001, "g": G}
# Fewer samples per oscillator period than this triggers band-limited oversampling.
_SAMPLES_PER_PERIOD = 20
_MAX_OVERSAMPLE = 64


# ---------------------------------------------------------------------------------------------
# Units and input handling


def unit_factor(units: str) -> float:
    """Factor that converts acceleration in ``units`` to m/s**2.

    Parameters
    ----------
    units : str
        ``"m/s**2"`` (also ``"m/s^2"``, ``"m/s2"``), ``"gal"``/``"cm/s**2"``, ``"mm/s**2"``
        or ``"g"`` (case-insensitive).

    Examples
    --------
    >>> unit_factor("gal"), unit_factor("M/S**2"), unit_factor("g")
    (0.01, 1.0, 9.80665)
    """
    key = str(units).strip().lower().replace(" ", "") if units is not None else ""
    key = key.replace("sec", "s")
    if key in _UNIT_FACTORS:
        return _UNIT_FACTORS[key]
    if key.replace("**", "^") in _UNIT_FACTORS:
        return _UNIT_FACTORS[key.replace("**", "^")]
    raise ValueError(f"unknown acceleration units {units!r}; use one of m/s**2, gal, cm/s**2, "
                     f"mm/s**2, g")


class UnitsUnknownError(ValueError):
    """The data's units are unknown, so measures in physical units cannot be computed."""


def load_inventory(inventory):
    """An ObsPy Inventory from an Inventory or a StationXML (or any ObsPy-readable) file.

    Examples
    --------
    >>> load_inventory(None) is None
    True
    >>> load_inventory("/nonexistent.xml")
    Traceback (most recent call last):
    ...
    ValueError: /nonexistent.xml: cannot read the inventory: No such file or directory
    """
    if inventory is None:
        return None
    from obspy import Inventory, read_inventory
    if isinstance(inventory, Inventory):
        return inventory
    try:
        return read_inventory(str(inventory))
    except FileNotFoundError as exc:
        raise ValueError(f"{inventory}: cannot read the inventory: {exc.strerror}") from None
    except Exception as exc:  # noqa: BLE001 -- any parser failure: one line naming the file
        raise ValueError(f"{inventory}: cannot read the inventory: {exc}") from None


def acceleration_si(trace: Trace, units: str | None = None, inventory=None):
    """A trace's acceleration in m/s**2 as float64, and what it was converted from.

    Parameters
    ----------
    trace : obspy.Trace
    units : str, optional
        Override: the units the data are in (see :func:`unit_factor`). Default: the trace's
        ``stats.units``; without it, counts times ``stats.calib`` for ObsPy's K-NET/KiK-net
        reader (its calib converts to m/s**2), else the ``inventory``'s response.
    inventory : obspy.Inventory, optional
        Instrument responses (e.g. from StationXML): used for traces without known units
        (``remove_response(output="ACC")``, with ObsPy's defaults otherwise).

    Returns
    -------
    data : numpy.ndarray
    source_units : str
        E.g. ``"gal"``, ``"m/s**2"``, ``"counts*calib (KNET)"``,
        ``"counts (response removed)"``.

    Raises
    ------
    UnitsUnknownError
        No units known and no inventory (the data may well be counts): names the trace.

    Examples
    --------
    >>> import numpy as np
    >>> from obspy import Trace
    >>> tr = Trace(np.array([0.0, 150.0, -300.0]))
    >>> tr.stats.units = "gal"
    >>> acceleration_si(tr)
    (array([ 0. ,  1.5, -3. ]), 'gal')
    >>> acceleration_si(Trace(np.array([1.0, 2.0])))
    Traceback (most recent call last):
    ...
    obspy_gen.core.intensity.UnitsUnknownError: ...: units unknown (no stats.units; counts?): ...
    """
    data = np.asarray(trace.data, dtype=np.float64)
    stats = trace.stats
    if units is None:
        units = stats.get("units")
    if units is not None:
        try:
            return data * unit_factor(units), str(units)
        except ValueError as exc:
            raise ValueError(f"{trace.id}: {exc}") from None
    if stats.get("_format") == "KNET":
        return data * float(stats.calib), "counts*calib (KNET)"
    if inventory is not None:
        tr = trace.copy()
        tr.data = tr.data.astype(np.float64)
        try:
            tr.remove_response(inventory=inventory, output="ACC")
        except Exception as exc:  # noqa: BLE001 -- no matching channel/epoch, bad response
            raise UnitsUnknownError(f"{trace.id}: cannot remove the response with the "
                                    f"inventory: {' '.join(str(exc).split())}") from None
        return np.asarray(tr.data, dtype=np.float64), "counts (response removed)"
    raise UnitsUnknownError(
        f"{trace.id}: units unknown (no stats.units; counts?): PGA, PGV, PGD, Arias, CAV and "
        f"Sa need physical units; give units= ('m/s**2', 'gal', 'g', ...) or an inventory "
        f"(StationXML) to remove the instrument response")


def _acc_dt(acc, dt):
    # Plain functions accept an array (m/s**2) or a Trace (units converted, dt from stats).
    if isinstance(acc, Trace):
        data = acceleration_si(acc)[0]
        dt = acc.stats.delta if dt is None else dt
    else:
        data = np.asarray(acc, dtype=np.float64)
    if data.ndim != 1 or data.size < 2:
        raise ValueError(f"acceleration must be a 1-D array of at least 2 samples, "
                         f"got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("acceleration contains NaN or infinite samples")
    if dt is not None and not dt > 0:
        raise ValueError(f"dt must be positive, got {dt!r}")
    return data, (None if dt is None else float(dt))


def _need_dt(dt):
    if dt is None:
        raise TypeError("dt (the sampling interval in s) is required for an array")
    return dt


def _detrend(a, detrend):
    if detrend is None or detrend is False:
        return a
    if detrend == "constant":
        return a - a.mean()
    if detrend == "linear":
        t = np.arange(a.size, dtype=np.float64)
        t -= t.mean()
        # Least squares with a centred abscissa: the mean and the first moment both vanish.
        return a - a.mean() - t * (t @ a) / (t @ t)
    raise ValueError(f"detrend must be 'linear', 'constant' or None, got {detrend!r}")


# ---------------------------------------------------------------------------------------------
# Peak and integral measures


def pga(acc) -> float:
    """Peak ground acceleration: ``max |a|`` (same units as ``acc``; m/s**2 for a Trace).

    Parameters
    ----------
    acc : array_like or obspy.Trace

    Examples
    --------
    >>> pga([0.0, 0.3, -0.7, 0.2])
    0.7
    """
    a, _ = _acc_dt(acc, None)
    return float(np.max(np.abs(a)))


def velocity_displacement(acc, dt=None, *, detrend="linear", highpass=0.1, order=4):
    """Velocity and displacement of an acceleration record (baseline handling in module notes).

    Parameters
    ----------
    acc : array_like or obspy.Trace
        Acceleration (m/s**2 for m/s and m out).
    dt : float
        Sampling interval in s (taken from a Trace when omitted).
    detrend : {"linear", "constant", None}
        Trend removed from the acceleration first (default ``"linear"``).
    highpass : float or None
        Corner (Hz) of the zero-phase Butterworth high-pass; ``None`` or 0 = none.
    order : int
        Butterworth order (each pass; the zero-phase filter doubles it).

    Returns
    -------
    velocity, displacement : numpy.ndarray
        Same length as ``acc``, integrated from rest at the start of the front pad.

    Examples
    --------
    A one-cycle sine acceleration pulse starting at rest: the velocity is
    A/w (1 - cos wt) and returns to zero, the displacement keeps A/w * T (a permanent offset
    that the linear detrend and the high-pass would remove, hence ``None`` here).

    >>> import numpy as np
    >>> dt, A, T = 0.001, 2.0, 1.0
    >>> t = np.arange(0, 3, dt)
    >>> a = np.where(t < T, A * np.sin(2 * np.pi * t / T), 0.0)
    >>> v, d = velocity_displacement(a, dt, detrend=None, highpass=None)
    >>> round(float(v.max()), 4), round(A * T / np.pi, 4)
    (0.6366, 0.6366)
    >>> round(float(d[-1]), 4), round(A * T**2 / (2 * np.pi), 4)
    (0.3183, 0.3183)
    """
    a, dt = _acc_dt(acc, dt)
    dt = _need_dt(dt)
    a = _detrend(a, detrend)
    n = a.size
    front = 0
    if highpass:
        from scipy.signal import butter, sosfiltfilt
        nyquist = 0.5 / dt
        if not 0 < highpass < nyquist:
            raise ValueError(f"highpass must be in (0, {nyquist:g}) Hz, got {highpass!r}")
        pad = int(math.ceil(0.75 * order / highpass / dt))   # each end: half of Boore's total
        front = pad
        padded = np.concatenate((np.zeros(pad), a, np.zeros(pad)))
        sos = butter(order, highpass, btype="highpass", fs=1.0 / dt, output="sos")
        a = sosfiltfilt(sos, padded, padtype=None)
    vel = np.concatenate(([0.0], np.cumsum(0.5 * dt * (a[1:] + a[:-1]))))
    disp = np.concatenate(([0.0], np.cumsum(0.5 * dt * (vel[1:] + vel[:-1]))))
    return vel[front:front + n], disp[front:front + n]


def pgv(acc, dt=None, **options) -> float:
    """Peak ground velocity: ``max |v|`` of :func:`velocity_displacement` (m/s for m/s**2 in).

    Parameters
    ----------
    acc : array_like or obspy.Trace
    dt : float
        Sampling interval in s (taken from a Trace when omitted).
    **options
        ``detrend``, ``highpass``, ``order`` of :func:`velocity_displacement`.

    Examples
    --------
    >>> import numpy as np
    >>> dt, A, T = 0.001, 2.0, 1.0
    >>> t = np.arange(0, 3, dt)
    >>> a = np.where(t < T, A * np.sin(2 * np.pi * t / T), 0.0)
    >>> round(pgv(a, dt, detrend=None, highpass=None), 4)     # 2 A / w
    0.6366
    """
    return float(np.max(np.abs(velocity_displacement(acc, dt, **options)[0])))


def pgd(acc, dt=None, **options) -> float:
    """Peak ground displacement: ``max |d|`` of :func:`velocity_displacement` (m for m/s**2 in).

    Parameters
    ----------
    acc : array_like or obspy.Trace
    dt : float
        Sampling interval in s (taken from a Trace when omitted).
    **options
        ``detrend``, ``highpass``, ``order`` of :func:`velocity_displacement`.

    Examples
    --------
    A displacement pulse d = D sin**4(pi t / T) (zero velocity and displacement at both ends),
    differentiated twice analytically:

    >>> import numpy as np
    >>> dt, D, T = 0.001, 0.05, 2.0
    >>> t = np.arange(0, 10, dt)
    >>> x = np.clip((t - 4) / T, 0, 1) * np.pi
    >>> s, c, k = np.sin(x), np.cos(x), np.pi / T
    >>> a = D * k**2 * (12 * s**2 * c**2 - 4 * s**4)
    >>> round(pgd(a, dt, highpass=None), 4)
    0.05
    """
    return float(np.max(np.abs(velocity_displacement(acc, dt, **options)[1])))


def arias_intensity(acc, dt=None) -> float:
    """Arias intensity pi / (2 g) * integral a**2 dt in m/s (acceleration in m/s**2).

    Parameters
    ----------
    acc : array_like or obspy.Trace
        Acceleration in m/s**2 (convert gal with x 0.01, or pass a Trace with
        ``stats.units``).
    dt : float
        Sampling interval in s (taken from a Trace when omitted).

    Examples
    --------
    A sine of amplitude A over whole cycles lasting D s: pi / (2 g) * A**2 * D / 2.

    >>> import numpy as np
    >>> dt, A, D = 0.01, 1.5, 10.0
    >>> a = A * np.sin(2 * np.pi * 2.0 * np.arange(0, D + dt / 2, dt))
    >>> round(arias_intensity(a, dt), 6), round(np.pi / (2 * G) * A**2 * D / 2, 6)
    (1.801987, 1.801987)
    """
    a, dt = _acc_dt(acc, dt)
    dt = _need_dt(dt)
    return float(np.pi / (2 * G) * np.trapezoid(a * a, dx=dt))


def husid(acc, dt=None):
    """Normalised Husid plot: cumulative integral of a**2 divided by its total (0 ... 1).

    Parameters
    ----------
    acc : array_like or obspy.Trace
    dt : float
        Sampling interval in s (taken from a Trace when omitted).

    Returns
    -------
    numpy.ndarray
        Same length as ``acc``; all NaN for an all-zero record.

    Examples
    --------
    >>> husid([0.0, 1.0, 1.0, 0.0], 0.01)
    array([0.  , 0.25, 0.75, 1.  ])
    """
    a, dt = _acc_dt(acc, dt)
    dt = _need_dt(dt)
    a2 = a * a
    cum = np.concatenate(([0.0], np.cumsum(0.5 * dt * (a2[1:] + a2[:-1]))))
    total = cum[-1]
    if not total > 0:
        return np.full(a.size, np.nan)
    return cum / total


def _level_time(h, dt, level):
    # First time the (non-decreasing) Husid curve reaches `level`, linearly interpolated.
    i = int(np.searchsorted(h, level, side="left"))
    if i == 0:
        return 0.0
    h0, h1 = h[i - 1], h[i]
    return (i - 1 + (level - h0) / (h1 - h0)) * dt


def significant_duration(acc, dt=None, start=0.05, end=0.95) -> float:
    """Significant duration: time between the ``start`` and ``end`` levels of the Husid plot.

    ``start=0.05, end=0.95`` is D5-95, ``end=0.75`` D5-75 (Trifunac & Brady 1975; Bommer &
    Martinez-Pereira 1999). Crossing times are linearly interpolated between samples.

    Parameters
    ----------
    acc : array_like or obspy.Trace
    dt : float
        Sampling interval in s (taken from a Trace when omitted).
    start, end : float
        Fractions of the total Arias intensity, 0 <= start < end <= 1.

    Returns
    -------
    float
        Seconds; NaN for an all-zero record.

    Examples
    --------
    A boxcar of 1000 samples (10 s of energy with the trapezoidal rule): the Husid plot rises
    linearly, so D5-95 = 9 s and D5-75 = 7 s.

    >>> import numpy as np
    >>> dt = 0.01
    >>> a = np.zeros(3000)
    >>> a[1000:2000] = 0.3
    >>> round(significant_duration(a, dt), 6), round(significant_duration(a, dt, end=0.75), 6)
    (9.0, 7.0)
    """
    if not 0 <= start < end <= 1:
        raise ValueError(f"need 0 <= start < end <= 1, got start={start}, end={end}")
    a, dt = _acc_dt(acc, dt)
    h = husid(a, _need_dt(dt))
    if np.isnan(h[0]):
        return float("nan")
    return float(_level_time(h, dt, end) - _level_time(h, dt, start))


def cav(acc, dt=None) -> float:
    """Cumulative absolute velocity: ``integral |a| dt`` (m/s for m/s**2; EPRI 1988, no threshold).

    Parameters
    ----------
    acc : array_like or obspy.Trace
    dt : float
        Sampling interval in s (taken from a Trace when omitted).

    Examples
    --------
    A boxcar of A = 0.5 m/s**2 and 400 samples (4 s at 100 Hz) has CAV = 2 m/s:

    >>> import numpy as np
    >>> a = np.zeros(1000)
    >>> a[100:500] = 0.5
    >>> round(cav(a, 0.01), 6)
    2.0
    """
    a, dt = _acc_dt(acc, dt)
    return float(np.trapezoid(np.abs(a), dx=_need_dt(dt)))


# ---------------------------------------------------------------------------------------------
# Response spectrum: Nigam & Jennings (1969) exact recurrence


@njit
def _free_vibration_peak(u, v, w, zeta):
    # |u| at the first extremum of the damped free vibration from (u, v); later extrema decay.
    wd = w * math.sqrt(1.0 - zeta * zeta)
    c = (w * u + zeta * v) / math.sqrt(1.0 - zeta * zeta)     # v(t) ~ v cos - c sin
    if v == 0.0:
        return abs(u)
    theta = math.atan2(v, c)
    if theta < 0.0:
        theta += math.pi
    t = theta / wd
    e = math.exp(-zeta * w * t)
    return abs(e * (u * math.cos(wd * t) + (v + zeta * w * u) / wd * math.sin(wd * t)))


@njit
def _hermite_extremum(u0, v0, u1, v1, h):
    # |u| at the stationary point inside a step of the cubic Hermite interpolant of (u, u'),
    # called when u' changes sign in the step. p(s) = u0 + h v0 s + c2 s^2 + c3 s^3.
    c2 = 3.0 * (u1 - u0) - h * (2.0 * v0 + v1)
    c3 = 2.0 * (u0 - u1) + h * (v0 + v1)
    qa, qb, qc = 3.0 * c3, 2.0 * c2, h * v0
    if abs(qa) < 1e-300:
        s = -qc / qb if qb != 0.0 else 0.0
    else:
        disc = max(qb * qb - 4.0 * qa * qc, 0.0)
        # Numerically stable roots; keep the one inside [0, 1].
        q = -0.5 * (qb + math.copysign(math.sqrt(disc), qb))
        r1 = q / qa
        r2 = qc / q if q != 0.0 else r1
        s = r1 if 0.0 <= r1 <= 1.0 else r2
    s = min(max(s, 0.0), 1.0)
    return abs(u0 + h * v0 * s + c2 * s * s + c3 * s * s * s)


@njit(parallel=True)
def _peak_displacements(acc, dt, omegas, zeta):
    out = np.empty(omegas.size)
    n = acc.size
    for j in numba.prange(omegas.size):
        w = omegas[j]
        sq = math.sqrt(1.0 - zeta * zeta)
        wd = w * sq
        e = math.exp(-zeta * w * dt)
        sn = math.sin(wd * dt)
        cs = math.cos(wd * dt)
        k = w * w
        wdt = w * dt
        # Nigam & Jennings (1969) / Chopra Table 5.2.1: u'' + 2 zeta w u' + w^2 u = p(t),
        # p linear between samples, unit mass.
        a11 = e * (zeta / sq * sn + cs)
        a12 = e * sn / wd
        b11 = (2.0 * zeta / wdt + e * (((1.0 - 2.0 * zeta * zeta) / (wd * dt) - zeta / sq) * sn
                                       - (1.0 + 2.0 * zeta / wdt) * cs)) / k
        b12 = (1.0 - 2.0 * zeta / wdt + e * ((2.0 * zeta * zeta - 1.0) / (wd * dt) * sn
                                             + 2.0 * zeta / wdt * cs)) / k
        a21 = -e * w / sq * sn
        a22 = e * (cs - zeta / sq * sn)
        b21 = (-1.0 / dt + e * ((w / sq + zeta / (dt * sq)) * sn + cs / dt)) / k
        b22 = (1.0 - e * (zeta / sq * sn + cs)) / (k * dt)
        u = 0.0
        v = 0.0
        peak = 0.0
        p0 = -acc[0]
        for i in range(1, n):
            p1 = -acc[i]
            un = a11 * u + a12 * v + b11 * p0 + b12 * p1
            vn = a21 * u + a22 * v + b21 * p0 + b22 * p1
            au = abs(un)
            if au > peak:
                peak = au
            if (v > 0.0 and vn < 0.0) or (v < 0.0 and vn > 0.0):
                x = _hermite_extremum(u, v, un, vn, dt)
                if x > peak:
                    peak = x
            u = un
            v = vn
            p0 = p1
        x = _free_vibration_peak(u, v, w, zeta)
        out[j] = max(peak, x)
    return out


def _oversample(a, factor, compensate):
    # Band-limited (FFT) interpolation by an integer factor. Zero padding keeps the end of
    # the record from wrapping onto its start; the Nyquist bin of an even length is split
    # between +/- fN as the real signal's cosine there requires. With `compensate`, the
    # spectrum is divided by sinc**2(f dt_new), the transfer function of linear interpolation
    # on the new grid, so that the piecewise-linear excitation the recurrence assumes has the
    # band-limited record's spectrum (images above the new Nyquist aside).
    n = a.size
    m = scipy.fft.next_fast_len(n + max(n // 2, 256), real=True)
    spec = scipy.fft.rfft(a, m)
    if compensate:
        spec /= np.sinc(np.arange(spec.size) / (m * factor)) ** 2
    if factor == 1:
        return scipy.fft.irfft(spec, m)[:n]
    if m % 2 == 0:
        spec[-1] *= 0.5
    return scipy.fft.irfft(spec, m * factor)[:(n - 1) * factor + 1] * factor


def _oversample_factors(periods, dt, oversample):
    if oversample == "auto":
        # At least x2: on the record's own grid the images of content near Nyquist (which
        # linear interpolation creates) add a little high-frequency jitter to u.
        need = _SAMPLES_PER_PERIOD * dt / periods
        f = 2 ** np.ceil(np.log2(np.maximum(need, 2.0)))
        return np.minimum(f, _MAX_OVERSAMPLE).astype(int)
    if isinstance(oversample, (str, bool, np.bool_)) or not isinstance(oversample, (
            int, np.integer)) or oversample < 1:
        raise ValueError(f"oversample must be 'auto' or an integer >= 1, got {oversample!r}")
    return np.full(periods.size, int(oversample))


def spectral_acceleration(acc, dt=None, periods=DEFAULT_PERIODS, damping=0.05, *,
                          oversample="auto"):
    """Pseudo-spectral acceleration Sa(T) = (2 pi / T)**2 ``max|u|`` (exact recurrence, numba).

    Parameters
    ----------
    acc : array_like or obspy.Trace
        Ground acceleration (Sa comes out in the same units; m/s**2 for a Trace).
    dt : float
        Sampling interval in s (taken from a Trace when omitted).
    periods : float or array_like
        Oscillator periods in s (> 0).
    damping : float
        Fraction of critical damping, 0 <= damping < 1 (default 0.05).
    oversample : "auto" or int
        ``"auto"``: band-limited, sinc**2-compensated interpolation to at least 20 samples per
        oscillator period (x2 to x64; module notes). An integer: plain band-limited
        interpolation by that factor; ``1`` is the Nigam-Jennings result on the recorded
        samples (short periods then come out low by about 1 - sinc**2(dt / T)).

    Returns
    -------
    numpy.ndarray
        Sa at each period (a float for a scalar period).

    Examples
    --------
    A long harmonic excitation at the oscillator's own frequency: the steady-state pseudo
    acceleration is A / (2 zeta) (here 10 A).

    >>> import numpy as np
    >>> dt, T = 0.005, 0.5
    >>> a = np.sin(2 * np.pi / T * np.arange(0, 60, dt))
    >>> round(spectral_acceleration(a, dt, T) / 10, 2)
    1.0
    >>> spectral_acceleration(a, dt, [0.01, 0.5]).round(2)    # a rigid oscillator follows PGA
    array([ 1., 10.])
    """
    a, dt = _acc_dt(acc, dt)
    dt = _need_dt(dt)
    scalar = np.ndim(periods) == 0
    periods = np.atleast_1d(np.asarray(periods, dtype=np.float64))
    if periods.size == 0 or not np.all(np.isfinite(periods)) or np.any(periods <= 0):
        raise ValueError("periods must be positive and finite")
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping!r}")
    factors = _oversample_factors(periods, dt, oversample)
    auto = isinstance(oversample, str)
    omegas = 2 * np.pi / periods
    sa = np.empty(periods.size)
    for f in np.unique(factors):
        sel = factors == f
        series = a if (f == 1 and not auto) else _oversample(a, int(f), auto)
        sa[sel] = omegas[sel] ** 2 * _peak_displacements(series, dt / f, omegas[sel],
                                                         float(damping))
    return float(sa[0]) if scalar else sa


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class RecordIntensity:
    """Intensity measures of one record.

    Attributes
    ----------
    station : str
        ``NET.STA.LOC``.
    starttime : obspy.UTCDateTime
        Earliest start of the record's traces.
    sampling_rate : float
    source_units : dict
        Component -> what its data were converted from (see :func:`acceleration_si`).
    components : dict
        ``"N"``, ``"E"``, ``"Z"`` (those present) and, with both horizontals,
        ``"geometric_mean"`` and ``"maximum_horizontal_value"`` -> dict of measures
        (:data:`UNITS`; ``"sa"`` is a list aligned with the result's periods).
    error : str or None
        Why nothing could be computed (the other records are unaffected), or, for data in
        unknown units, why only the durations were (:class:`UnitsUnknownError`'s message).

    Examples
    --------
    >>> from obspy import UTCDateTime
    >>> r = RecordIntensity("XX.A.", UTCDateTime(2020, 1, 1), 100.0, {}, {}, "no traces")
    >>> r.to_dict()["error"]
    'no traces'
    """

    station: str
    starttime: object
    sampling_rate: float
    source_units: dict
    components: dict
    error: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict of the record (NaN, e.g. the duration of an all-zero trace, as None)."""
        def clean(v):
            if isinstance(v, list):
                return [clean(x) for x in v]
            return None if isinstance(v, float) and math.isnan(v) else v
        return {"station": self.station, "starttime": str(self.starttime),
                "sampling_rate": self.sampling_rate, "source_units": dict(self.source_units),
                "components": {c: {k: clean(v) for k, v in m.items()}
                               for c, m in self.components.items()},
                "error": self.error}


@dataclass
class IntensityResult:
    """Intensity measures of several records (what the ``intensity`` site metric returns).

    Attributes
    ----------
    records : list of RecordIntensity
    periods : numpy.ndarray
        Periods (s) of the ``"sa"`` lists.
    settings : dict
        ``damping``, ``detrend``, ``highpass``, ``order``, ``oversample``, ``units``.
    units : dict
        Unit of every measure (:data:`UNITS`).

    Examples
    --------
    >>> from obspy import read
    >>> result = intensity_measures(read(), periods=[0.2, 1.0])
    >>> d = result.to_dict()
    >>> sorted(d["records"][0]["components"])
    ['E', 'N', 'Z', 'geometric_mean', 'maximum_horizontal_value']
    >>> d["periods"], d["units"]["arias"]
    ([0.2, 1.0], 'm/s')
    """

    records: list
    periods: np.ndarray
    settings: dict
    units: dict = field(default_factory=lambda: dict(UNITS))

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def to_dict(self) -> dict:
        """JSON-ready dict: ``periods``, ``settings``, ``units`` and one entry per record."""
        return {"periods": [float(p) for p in self.periods], "settings": dict(self.settings),
                "units": dict(self.units), "records": [r.to_dict() for r in self.records]}


def _component_measures(a, dt, periods, s):
    vel, disp = velocity_displacement(a, dt, detrend=s["detrend"], highpass=s["highpass"],
                                      order=s["order"])
    a = _detrend(a, s["detrend"])
    return {"pga": pga(a), "pgv": float(np.max(np.abs(vel))), "pgd": float(np.max(np.abs(disp))),
            "arias": arias_intensity(a, dt), "cav": cav(a, dt),
            "d5_75": significant_duration(a, dt, 0.05, 0.75),
            "d5_95": significant_duration(a, dt, 0.05, 0.95),
            "sa": [float(x) for x in spectral_acceleration(a, dt, periods, s["damping"],
                                                           oversample=s["oversample"])]}


def _combine(m1, m2, how):
    f = (lambda x, y: math.sqrt(x * y)) if how == "geometric_mean" else max
    out = {}
    for key in m1:
        if key == "sa":
            out[key] = [float(f(x, y)) for x, y in zip(m1[key], m2[key])]
        else:
            x, y = m1[key], m2[key]
            out[key] = float("nan") if (math.isnan(x) or math.isnan(y)) else float(f(x, y))
    return out


def _unitless_measures(a, dt, periods, s):
    a = _detrend(a, s["detrend"])
    nan = float("nan")
    return {"pga": nan, "pgv": nan, "pgd": nan, "arias": nan, "cav": nan,
            "d5_75": significant_duration(a, dt, 0.05, 0.75),
            "d5_95": significant_duration(a, dt, 0.05, 0.95), "sa": [nan] * len(periods)}


def _record_intensity(record, periods, s, inventory=None):
    unknown = None
    traces = list(record)
    station = station_key(traces[0]) if traces else "?"
    start = min((tr.stats.starttime for tr in traces), default=None)
    rec = RecordIntensity(station, start, traces[0].stats.sampling_rate if traces else 0.0,
                          {}, {})
    try:
        if not traces:
            raise ValueError("no traces")
        by_comp = {}
        for tr in traces:
            comp = channel_component(tr.stats.channel)[0]
            if comp in by_comp:
                raise ValueError(f"{tr.id}: component {comp} appears twice (merge or split "
                                 f"the record first)")
            by_comp[comp] = tr
        for comp in "NEZ":
            tr = by_comp.get(comp)
            if tr is None:
                continue
            if np.ma.isMaskedArray(tr.data) and np.ma.getmaskarray(tr.data).any():
                raise ValueError(f"{tr.id}: has gaps (masked samples)")
            try:
                data, src = acceleration_si(tr, s["units"], inventory)
            except UnitsUnknownError as exc:
                unknown = unknown or str(exc)
                data, src = np.asarray(tr.data, dtype=np.float64), "unknown"
            if data.size < 2 or not np.all(np.isfinite(data)):
                raise ValueError(f"{tr.id}: fewer than 2 samples or NaN/inf samples")
            rec.source_units[comp] = src
            if src == "unknown":  # only what does not depend on the scale
                rec.components[comp] = _unitless_measures(data, tr.stats.delta, periods, s)
            else:
                rec.components[comp] = _component_measures(data, tr.stats.delta, periods, s)
    except ValueError as exc:
        rec.components, rec.error = {}, str(exc)
        return rec
    if unknown:
        # Refused, not assumed: the physical measures stay NaN and the record says why.
        rec.error = unknown
    if "N" in rec.components and "E" in rec.components:
        for how in COMBINATIONS:
            rec.components[how] = _combine(rec.components["N"], rec.components["E"], how)
    return rec


def intensity_measures(records, periods=None, *, damping=0.05, detrend="linear", highpass=0.1,
                       order=4, oversample="auto", units=None,
                       inventory=None) -> IntensityResult:
    """Intensity measures of every record, per component and horizontal combination.

    Parameters
    ----------
    records : obspy.Stream or list of obspy.Stream
        Split into records with :func:`obspy_gen.split_records`. Components missing from a
        record are left out (the horizontal combinations need N and E).
    periods : array_like, optional
        Sa periods in s (default :data:`DEFAULT_PERIODS`).
    damping : float
        Oscillator damping ratio (default 0.05).
    detrend : {"linear", "constant", None}
        Trend removed from each component's acceleration before every measure.
    highpass : float or None
        Zero-phase Butterworth corner (Hz) for PGV/PGD only (module notes); default 0.1.
    order : int
        Butterworth order (default 4).
    oversample : "auto" or int
        See :func:`spectral_acceleration`.
    units : str, optional
        Units of all the data, overriding ``stats.units`` (see :func:`acceleration_si`).
    inventory : obspy.Inventory or str, optional
        Instrument responses (Inventory or StationXML path) for traces without known units.

    Returns
    -------
    IntensityResult
        A record that cannot be used has ``error`` set and no measures; nothing is raised for
        bad data, only for bad settings. A record in unknown units (no ``stats.units``, no
        ``units=``, no inventory) has ``error`` naming the trace, NaN for every measure in
        physical units and only the durations D5-75 and D5-95.

    Examples
    --------
    >>> import obspy_gen
    >>> from obspy_gen.data import read_bundled
    >>> result = intensity_measures(read_bundled("AOM001"), periods=[0.1, 1.0])
    >>> rec = result.records[0]
    >>> rec.station, rec.source_units["N"]
    ('BO.AOM001.', 'counts*calib (KNET)')
    >>> round(rec.components["N"]["pga"] * 100, 2)      # gal; the K-NET header says 4.954
    4.95
    """
    periods = np.atleast_1d(np.asarray(DEFAULT_PERIODS if periods is None else periods,
                                       dtype=np.float64))
    if periods.size == 0 or not np.all(np.isfinite(periods)) or np.any(periods <= 0):
        raise ValueError("periods must be positive and finite")
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping!r}")
    _detrend(np.zeros(2), detrend)                      # validates the name
    _oversample_factors(periods, 0.01, oversample)      # validates the value
    if units is not None:
        unit_factor(units)
    inventory = load_inventory(inventory)
    if highpass is not None and highpass is not False and not highpass >= 0:
        raise ValueError(f"highpass must be a positive frequency or None, got {highpass!r}")
    s = dict(damping=float(damping), detrend=detrend, highpass=highpass or None,
             order=int(order), oversample=oversample, units=units)
    if isinstance(records, Trace):
        records = Stream([records])
    recs = [_record_intensity(r, periods, s, inventory) for r in split_records(records)]
    return IntensityResult(recs, periods, s)

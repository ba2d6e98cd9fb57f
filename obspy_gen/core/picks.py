"""P and S arrival picks of 3-component records (STA/LTA + AIC, or ObsPy's AR picker).

Two methods, both built on :mod:`obspy.signal.trigger`:

``"stalta"`` (default)
    1. Each component is demeaned (linear trend removed) and band-passed with a *causal*
       4-pole Butterworth (``freqmin``-``freqmax``, default 1-20 Hz). Causal, because a
       zero-phase filter spreads energy ahead of the onset and makes picks early.
    2. A classic STA/LTA (:func:`~obspy.signal.trigger.classic_sta_lta`, ``sta``/``lta``
       seconds, default 0.2/2 s) runs on the vertical; :func:`~obspy.signal.trigger.trigger_onset`
       lists where it exceeds ``threshold``. A short LTA lets records with only a few seconds of
       pre-event noise be picked.
    3. A trigger counts only when the vertical's short-term RMS in the second after it reaches
       ``snr`` times the record's noise floor (10th percentile of that RMS over the whole
       record). This rejects noise bursts and the switch-on of noise after a flat start (seen
       in real AFAD records), which a short LTA alone would take for P.
    4. The first accepted trigger is refined with Maeda's (1985) AIC
       (:func:`~obspy.signal.trigger.aic_simple`) on a window around it: the minimum of the AIC
       is the sample where the variance of the trace changes, i.e. the onset.
    5. S: the sum of the AIC of the two horizontals, between P + ``min_sp`` and the peak of the
       horizontal envelope (which follows the S onset for local events).

``"ar"``
    :func:`obspy.signal.trigger.ar_pick` (Akazawa's AR-AIC picker) with ObsPy's documented
    parameters; implausible output (P outside the record, S not after P) is reported as no pick.

Every failure is a pick of ``None`` with the reason, never an exception; a record that begins
after its P arrival (the first ``lta`` seconds are already ``snr`` times the noise floor) gets
no P, and its S is searched from the record start.

On the six labelled AFAD records in ``shared/data/afad_mat`` the ``"stalta"`` P picks fall
within 0.3 s of the labels on the four records whose labels agree with the waveforms and the
catalogue distance (see ``tests/test_picks.py`` for the numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from obspy import Stream, UTCDateTime
from obspy.signal.filter import bandpass
from obspy.signal.trigger import aic_simple, ar_pick, classic_sta_lta, trigger_onset

from obspy_gen.core.records import split_records, station_key, three_components

#: Default settings of :func:`pick_arrivals` (also recorded in every result).
DEFAULTS = dict(method="stalta", freqmin=1.0, freqmax=20.0, sta=0.2, lta=2.0, threshold=4.0,
                snr=5.0, min_sp=0.3, max_sp=60.0)
METHODS = ("stalta", "ar")


@dataclass
class RecordPicks:
    """P and S picks of one record.

    Attributes
    ----------
    p, s : float or None
        Arrival times in seconds from the record start (the first sample), ``None`` when not
        picked.
    p_reason, s_reason : str or None
        Why there is no pick (``None`` when there is one).
    sampling_rate : float
    method : str
    station : str or None
        ``NET.STA.LOC`` when picked from a Stream.
    starttime : obspy.UTCDateTime or None
        Time of the first sample when picked from a Stream.
    notes : list of str
        Warnings about a pick that was made (e.g. little pre-event noise).

    Examples
    --------
    >>> from obspy import UTCDateTime
    >>> r = RecordPicks(p=1.5, s=None, p_reason=None, s_reason="no S onset", sampling_rate=100.0,
    ...                 method="stalta", station="XX.A.", starttime=UTCDateTime(2020, 1, 1))
    >>> r.p_time, r.p_sample, r.s_time
    (UTCDateTime(2020, 1, 1, 0, 0, 1, 500000), 150, None)
    """

    p: float | None
    s: float | None
    p_reason: str | None
    s_reason: str | None
    sampling_rate: float
    method: str
    station: str | None = None
    starttime: UTCDateTime | None = None
    notes: list = field(default_factory=list)

    def _time(self, t):
        return None if t is None or self.starttime is None else self.starttime + t

    def _sample(self, t):
        return None if t is None else int(round(t * self.sampling_rate))

    @property
    def p_time(self):
        """P arrival as UTCDateTime (``None`` without a pick or a start time)."""
        return self._time(self.p)

    @property
    def s_time(self):
        """S arrival as UTCDateTime (``None`` without a pick or a start time)."""
        return self._time(self.s)

    @property
    def p_sample(self):
        """Index of the P sample (``None`` without a pick), e.g. for a P/S mask channel."""
        return self._sample(self.p)

    @property
    def s_sample(self):
        """Index of the S sample (``None`` without a pick)."""
        return self._sample(self.s)

    def to_dict(self) -> dict:
        """JSON-ready dict: station, starttime, P/S in seconds and as ISO times, reasons."""
        iso = (lambda t: None if t is None else str(t))
        return {"station": self.station, "starttime": iso(self.starttime),
                "p": self.p, "s": self.s, "p_time": iso(self.p_time), "s_time": iso(self.s_time),
                "p_reason": self.p_reason, "s_reason": self.s_reason, "method": self.method,
                "notes": list(self.notes)}


@dataclass
class PicksResult:
    """Picks of several records (what the ``picks`` site metric returns).

    Attributes
    ----------
    records : list of RecordPicks
    settings : dict
        The picker settings used.

    Examples
    --------
    >>> r = RecordPicks(None, None, "no trigger", "no P pick", 100.0, "stalta")
    >>> PicksResult([r], dict(DEFAULTS)).to_dict()["records"][0]["p_reason"]
    'no trigger'
    """

    records: list
    settings: dict

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def to_dict(self) -> dict:
        """JSON-ready dict: ``settings`` and one entry per record."""
        return {"settings": dict(self.settings), "records": [r.to_dict() for r in self.records]}


def _moving_rms(x, n):
    # RMS of the n samples starting at each index (cumulative sums: O(len)).
    c = np.concatenate(([0.0], np.cumsum(x * x)))
    m = np.empty(len(x))
    k = len(x) - n + 1
    m[:k] = (c[n:] - c[:-n]) / n
    m[k:] = m[k - 1] if k > 0 else 0.0
    return np.sqrt(np.maximum(m, 0.0))


def _check_settings(s):
    if s["method"] not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {s['method']!r}")
    for key in ("freqmin", "freqmax", "sta", "lta", "threshold", "snr", "max_sp"):
        if not s[key] > 0:
            raise ValueError(f"{key} must be positive, got {s[key]!r}")
    if not s["lta"] > s["sta"]:
        raise ValueError(f"lta ({s['lta']}) must be longer than sta ({s['sta']})")
    if not s["freqmax"] > s["freqmin"]:
        raise ValueError(f"freqmax ({s['freqmax']}) must exceed freqmin ({s['freqmin']})")
    if s["min_sp"] < 0:
        raise ValueError(f"min_sp must be >= 0, got {s['min_sp']!r}")


def pick_arrivals(vertical, north, east, sampling_rate, **settings) -> RecordPicks:
    """Pick P and S on one record given as arrays (the plain function; see the module notes).

    Parameters
    ----------
    vertical, north, east : array_like
        The three components, same length and sampling rate (any units). ``north``/``east``
        may be ``None``: then S is not picked.
    sampling_rate : float
        Hz.
    method : {"stalta", "ar"}
        Picker (module notes). Default ``"stalta"``.
    freqmin, freqmax : float
        Band-pass corners in Hz (default 1, 20; ``freqmax`` is capped at 0.45 x the sampling
        rate).
    sta, lta : float
        STA and LTA window lengths in s (default 0.2, 2).
    threshold : float
        STA/LTA trigger level (default 4).
    snr : float
        Amplitude a trigger must reach, in multiples of the record's noise floor (default 5).
    min_sp, max_sp : float
        The S search starts ``min_sp`` s after P and spans at most ``max_sp`` s (default 0.3, 60).

    Returns
    -------
    RecordPicks
        ``p``/``s`` in seconds from the first sample, or ``None`` with ``p_reason``/``s_reason``.

    Raises
    ------
    ValueError
        Invalid settings (unknown method, non-positive windows, ...). Data problems are never
        raised: they come back as reasons.

    Examples
    --------
    A synthetic event: noise, a P arrival at 10 s on all components, a stronger S on the
    horizontals at 14 s.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fs, n = 100.0, 3000
    >>> t = np.arange(n) / fs
    >>> def wave(t0, amp):
    ...     return np.where(t >= t0, amp * np.exp(-(t - t0) / 3), 0) * rng.standard_normal(n)
    >>> z = 0.01 * rng.standard_normal(n) + wave(10, 1.0)
    >>> north = 0.01 * rng.standard_normal(n) + wave(10, 0.3) + wave(14, 3.0)
    >>> east = 0.01 * rng.standard_normal(n) + wave(10, 0.3) + wave(14, 3.0)
    >>> picks = pick_arrivals(z, north, east, fs)
    >>> round(picks.p, 1), round(picks.s, 1)
    (10.0, 14.0)
    >>> pick_arrivals(np.zeros(n), north, east, fs).p_reason
    'vertical component is constant'
    """
    s = dict(DEFAULTS)
    unknown = set(settings) - set(s)
    if unknown:
        raise TypeError(f"unknown picker setting(s): {', '.join(sorted(unknown))}")
    s.update(settings)
    _check_settings(s)
    fs = float(sampling_rate)
    out = RecordPicks(None, None, None, None, fs, s["method"])
    z = np.asarray(vertical, dtype=np.float64)
    horizontals = None if north is None or east is None else (
        np.asarray(north, dtype=np.float64), np.asarray(east, dtype=np.float64))
    problem = _data_problem(z, horizontals, fs, s)
    if problem:
        out.p_reason = out.s_reason = problem
        return out
    # Linear trend off, then a causal band-pass (see the module notes).
    fmax = min(s["freqmax"], 0.45 * fs)
    if not fmax > s["freqmin"]:
        out.p_reason = out.s_reason = (f"sampling rate {fs} Hz too low for the band "
                                       f"{s['freqmin']}-{s['freqmax']} Hz")
        return out

    def prep(x):
        t = np.arange(len(x))
        x = x - np.polyval(np.polyfit(t, x, 1), t)
        return bandpass(x, s["freqmin"], fmax, fs, corners=4, zerophase=False)

    if s["method"] == "ar":
        _pick_ar(out, z, horizontals, fs, fmax, s)
    else:
        hf = None if horizontals is None else tuple(prep(h) for h in horizontals)
        _pick_stalta(out, prep(z), hf, fs, s)
    return out


def _data_problem(z, horizontals, fs, s):
    arrays = [z] + list(horizontals or ())
    if not fs > 0:
        return f"invalid sampling rate {fs!r}"
    if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) > 1:
        return "components must be 1-D arrays of equal length"
    if not all(np.all(np.isfinite(a)) for a in arrays):
        return "contains NaN or infinite samples"
    need = int(round((s["lta"] + 2 * s["sta"]) * fs))
    if len(z) < need:
        return f"record too short ({len(z) / fs:.2f} s) for lta + 2 sta = {need / fs:.2f} s"
    if not np.any(z != z[0]):
        return "vertical component is constant"
    return None


def _pick_stalta(out, zf, hf, fs, s):
    nsta = max(1, int(round(s["sta"] * fs)))
    nlta = max(nsta + 1, int(round(s["lta"] * fs)))
    rms = _moving_rms(zf, nsta)
    positive = rms[rms > 0]
    floor = np.percentile(positive, 10) if positive.size else 0.0
    if not floor > 0:
        out.p_reason = out.s_reason = "vertical component has no signal after filtering"
        return
    # A record that starts inside the event has no P to find: its first trigger would be a
    # later phase. Say so instead of mislabelling it.
    start_level = rms[:nlta].max() / floor
    p_index = None
    if start_level >= s["snr"]:
        out.p_reason = (f"record starts inside the event (its first {s['lta']:g} s reach "
                        f"{start_level:.1f}x the noise floor): P before the record start?")
    else:
        cft = classic_sta_lta(zf, nsta, nlta)
        cft[~np.isfinite(cft)] = 0.0
        onsets = trigger_onset(cft, s["threshold"], max(1.0, 0.5 * s["threshold"]))
        one_second = max(nsta, int(round(fs)))
        best = 0.0
        for on, _off in onsets:
            level = rms[on:on + one_second].max() / floor
            best = max(best, level)
            if level >= s["snr"]:
                # AIC refinement: from well before the trigger to one STA after it.
                a = max(0, on - max(2 * nsta, one_second))
                b = min(len(zf), on + nsta + 1)
                aic = aic_simple(zf[a:b])
                p_index = a + int(np.argmin(aic[1:-2])) + 2 if b - a > 4 else on
                break
        if p_index is None:
            out.p_reason = (f"no STA/LTA trigger above {s['threshold']:g} reaching "
                            f"{s['snr']:g}x the noise floor"
                            + (f" (best {best:.1f}x)" if len(onsets) else " (no trigger)"))
        else:
            out.p = float(p_index / fs)
            if p_index < nlta:
                out.notes.append(f"P at {out.p:.2f} s: less than lta = {s['lta']:g} s of "
                                 f"pre-event noise; check the pick")
    if hf is None:
        out.s_reason = "no horizontal components"
        return
    if p_index is None and out.p_reason and not out.p_reason.startswith("record starts"):
        out.s_reason = "no P pick"
        return
    _pick_s(out, p_index, hf, fs, nsta, s)


def _pick_s(out, p_index, hf, fs, nsta, s):
    north, east = hf
    n = len(north)
    j0 = 0 if p_index is None else p_index + max(1, int(round(s["min_sp"] * fs)))
    j1 = min(n, j0 + int(round(s["max_sp"] * fs)))
    if j1 - j0 < 4 * nsta:
        out.s_reason = "too little record after P to pick S"
        return
    envelope = _moving_rms(np.hypot(north, east), nsta)
    # The S onset precedes the horizontal peak; ending the AIC window at the peak (+ one STA)
    # keeps later phases and the coda out of it.
    peak = j0 + int(np.argmax(envelope[j0:j1]))
    end = min(n, peak + nsta + 1)
    if end - j0 < 4:
        out.s_reason = "horizontal envelope peaks right after P: no S onset to pick"
        return
    aic = aic_simple(north[j0:end]) + aic_simple(east[j0:end])
    s_index = j0 + int(np.argmin(aic[1:-2])) + 2 if end - j0 > 4 else peak
    out.s = float(s_index / fs)


def _pick_ar(out, z, horizontals, fs, fmax, s):
    # ObsPy's documented example windows (seconds); ar_pick band-passes itself, so it gets the
    # detrended, unfiltered data.
    if horizontals is None:
        out.p_reason = out.s_reason = "ar_pick needs all three components"
        return
    t = np.arange(len(z))
    detr = [(x - np.polyval(np.polyfit(t, x, 1), t)).astype(np.float32)
            for x in (z, *horizontals)]
    try:
        p, s_ = ar_pick(detr[0], detr[1], detr[2], fs, s["freqmin"], fmax, 1.0, 0.1, 4.0, 1.0,
                        2, 8, 0.1, 0.2)
    except Exception as exc:  # the C picker reports bad input with bare exceptions
        out.p_reason = out.s_reason = f"ar_pick failed: {exc}"
        return
    duration = len(z) / fs
    if not (0 < p < duration):
        out.p_reason = out.s_reason = f"ar_pick found no P (returned {p:.2f} s)"
        return
    # ar_pick works in float32: round to the sample it means.
    out.p = round(float(p) * fs) / fs
    if not (p < s_ < duration):
        out.s_reason = f"ar_pick found no S after P (returned {s_:.2f} s)"
    else:
        out.s = round(float(s_) * fs) / fs


def pick_record(record, **settings) -> RecordPicks:
    """Pick P and S on one record (a Stream with Z, N, E traces).

    Parameters
    ----------
    record : obspy.Stream
        One 3-component record (see :func:`obspy_gen.split_records`).
    **settings
        As :func:`pick_arrivals`.

    Returns
    -------
    RecordPicks
        With ``station`` and ``starttime`` (the common start of the three components) set, so
        ``p_time``/``s_time`` are UTCDateTimes. A record that cannot be used (missing component,
        gaps, ...) gives ``p = s = None`` with the reason.

    Examples
    --------
    >>> from obspy import read
    >>> picks = pick_record(read())     # ObsPy's example: a local event
    >>> picks.station, round(picks.p, 1), picks.p_time.isoformat()[:21]
    ('BW.RJOB.', 4.7, '2009-08-24T00:20:07.7')
    >>> pick_record(read()[:2]).p_reason
    'BW.RJOB..EHZ, BW.RJOB..EHN: missing component(s) E'
    """
    record = record if isinstance(record, Stream) else Stream(record)
    station = station_key(record[0]) if len(record) else None
    try:
        north, east, vertical, fs = three_components(record)
    except ValueError as exc:
        s = {**DEFAULTS, **settings}
        _check_settings(s)
        out = RecordPicks(None, None, str(exc), str(exc),
                          record[0].stats.sampling_rate if len(record) else 0.0, s["method"])
    else:
        out = pick_arrivals(vertical, north, east, fs, **settings)
        # three_components cut the traces to their common span; that span starts here.
        out.starttime = max(tr.stats.starttime for tr in record)
    out.station = station
    if out.starttime is None and len(record):
        out.starttime = min(tr.stats.starttime for tr in record)
    return out


def picks(records, **settings) -> PicksResult:
    """P and S picks of every record of a Stream (or list of Streams); never raises on data.

    Parameters
    ----------
    records : obspy.Stream or list of obspy.Stream
        Split into records with :func:`obspy_gen.split_records`.
    **settings
        As :func:`pick_arrivals`.

    Returns
    -------
    PicksResult

    Examples
    --------
    >>> from obspy import read
    >>> result = picks(read())
    >>> [round(r.p, 1) for r in result.records]
    [4.7]
    >>> result.to_dict()["settings"]["method"]
    'stalta'
    """
    s = {**DEFAULTS, **settings}
    _check_settings(s)
    return PicksResult([pick_record(r, **settings) for r in split_records(records)], s)

"""Record windows for the CNN-LSTM Vs30 model (numpy only, no torch).

One record becomes a ``(4, window * sampling_rate)`` float32 array:

* channels 0-2: N-S, E-W and vertical acceleration, resampled to the model's rate when needed,
  each demeaned over the window, then all three divided by ONE common scale (the RMS of the
  three channels together). One scale, not one per channel, keeps the ratios between the
  components (the H/V information a site imprints) and the spectral shape; only the absolute
  level -- which mostly says how big and near the earthquake was -- is removed;
* channel 3: the P/S arrival mask of the paper's Fig. 3: 1 from the P to the S arrival, 0
  elsewhere (all 0 without a P arrival; from P to the window's end without an S arrival).

The window is ``window`` seconds long, centred on the PGA (largest absolute horizontal
sample) or on the P arrival (the paper's two choices). A record too short for the window is
zero-padded (the padding is 0 after normalisation too) and reported; a missing P arrival when
the P-centred window is asked falls back to the PGA-centred window, also reported.

P/S arrivals come from the record's labels when present (``stats.obspy_gen``, ``stats.afad``
or ``stats.labels``: ``p_arrival``/``s_arrival`` as seconds after the record start or as
times; a label table joined by :class:`~obspy_gen.io.dataset.StationDataset`), else from the
project's picker (:func:`obspy_gen.core.picks.pick_record`).

Units: acceleration in any scale (``stats.units`` ``m/s**2``, ``gal``/``cm/s**2``, or unset:
taken as acceleration) -- the window is scale-free. Velocity or displacement (``m/s``, ``m``,
``nm/s``...) is refused with a one-line error naming the trace: the model was trained on
accelerograms and a velocity record has a different spectral shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from obspy import UTCDateTime

from obspy_gen.core.records import three_components

#: Where a window can be centred.
CENTRES = ("pga", "p_arrival")
#: ``stats.units`` values taken as acceleration (compared lower-case, spaces removed).
ACCELERATION_UNITS = {"m/s**2", "m/s^2", "m/s2", "ms-2", "m*s**-2", "gal", "cm/s**2", "cm/s^2",
                      "cm/s2", "mm/s**2", "mm/s^2", "g", "count", "counts"}
#: Label namespaces searched for P/S arrivals, in order.
_NAMESPACES = ("obspy_gen", "afad", "labels", "site")


@dataclass
class Window:
    """One record prepared for the model.

    Attributes
    ----------
    data : numpy.ndarray, shape (4, n), float32
        N, E, Z (common-scale normalised) and the P/S mask.
    centre : str
        The centre actually used (``"pga"`` after a fallback).
    p, s : float or None
        P and S arrival in seconds after the record start (``None`` when unknown).
    ps_source : str
        ``"labels"``, ``"picker"`` or ``"none"``.
    notes : list of str
        What was done to the record (padding, fallback), one line each.
    """

    data: np.ndarray
    centre: str
    p: float | None = None
    s: float | None = None
    ps_source: str = "none"
    notes: list = field(default_factory=list)


def check_units(record) -> None:
    """Raise a one-line ValueError when a trace is not acceleration (see module notes).

    Examples
    --------
    >>> from obspy import read
    >>> st = read()
    >>> check_units(st)
    >>> st[0].stats.units = "m/s"
    >>> check_units(st)
    Traceback (most recent call last):
    ...
    ValueError: BW.RJOB..EHZ: units 'm/s' are not acceleration; the Vs30 model needs accelerograms (m/s**2 or gal)
    """
    for tr in record:
        units = tr.stats.get("units")
        if units is None or str(units).strip() == "":
            continue
        key = str(units).lower().replace(" ", "")
        if key not in ACCELERATION_UNITS:
            raise ValueError(f"{tr.id}: units {units!r} are not acceleration; the Vs30 model "
                             f"needs accelerograms (m/s**2 or gal)")


def _offset(value, start):
    """Seconds after ``start`` of a label (seconds, ISO string or UTCDateTime)."""
    if value is None or value == "":
        return None
    if isinstance(value, UTCDateTime):
        return float(value - start)
    if isinstance(value, str):
        if "T" in value:
            return float(UTCDateTime(value) - start)
        value = float(value)
    value = float(value)
    return value if np.isfinite(value) else None


def label_arrivals(record, labels=None):
    """P and S arrival (seconds after the record's common start) from labels, or ``None``.

    ``labels`` (e.g. a row of ``records.csv``) win over the trace headers. Offsets are given
    relative to the first trace's start; they are moved to the common start of the three
    components.

    Examples
    --------
    >>> from obspy import read
    >>> st = read()
    >>> label_arrivals(st, {"p_arrival": 4.5, "s_arrival": 6.0})
    (4.5, 6.0)
    >>> label_arrivals(st)
    (None, None)
    """
    first = min(tr.stats.starttime for tr in record)
    common = max(tr.stats.starttime for tr in record)
    found = {}
    for key in ("p_arrival", "s_arrival"):
        value = None
        if labels and labels.get(key) not in (None, ""):
            value = labels[key]
        else:
            for ns in _NAMESPACES:
                attrs = record[0].stats.get(ns)
                if attrs is not None and attrs.get(key) not in (None, ""):
                    value = attrs.get(key)
                    break
        off = _offset(value, first)
        found[key] = None if off is None else off - float(common - first)
    return found["p_arrival"], found["s_arrival"]


def arrivals(record, labels=None, pick=True):
    """``(p, s, source)``: label arrivals when there is a P label, else the picker's.

    Examples
    --------
    >>> from obspy import read
    >>> p, s, source = arrivals(read())
    >>> round(p, 1), source
    (4.7, 'picker')
    """
    p, s = label_arrivals(record, labels)
    if p is not None:
        return p, s, "labels"
    if not pick:
        return None, None, "none"
    from obspy_gen.core.picks import pick_record
    picks = pick_record(record)
    if picks.p is None:
        return None, None, "none"
    return picks.p, picks.s, "picker"


def make_window(record, *, window=15.0, sampling_rate=100.0, centre="pga", labels=None,
                pick=True, shift=0.0) -> Window:
    """Prepare one 3-component record for the model (see the module notes).

    Parameters
    ----------
    record : obspy.Stream
        One record (N/E/Z, 1/2/Z or NS/EW/UD channels of one instrument).
    window : float
        Window length in seconds.
    sampling_rate : float
        The model's rate; other rates are resampled (:meth:`obspy.Trace.resample`).
    centre : {"pga", "p_arrival"}
    labels : dict, optional
        ``p_arrival``/``s_arrival`` overriding the trace headers (e.g. a label-table row).
    pick : bool
        Run the picker when no P label is found (the mask and a P centre need it).
    shift : float
        Seconds the window's centre moves after the PGA or P arrival (negative: before);
        the model's several windows per record (:attr:`CNNLSTMConfig.test_shifts`).

    Returns
    -------
    Window

    Raises
    ------
    ValueError
        One line naming the record: not acceleration, missing component, gaps, constant.

    Examples
    --------
    >>> from obspy import read
    >>> w = make_window(read(), centre="p_arrival")
    >>> w.data.shape, w.centre, w.ps_source
    ((4, 1500), 'p_arrival', 'picker')
    >>> float(w.data[3].max()), round(float(np.sqrt((w.data[:3] ** 2).mean())), 3)
    (1.0, 1.0)

    A window shifted by 2 s starts 200 samples later (the P/S mask moves 200 samples earlier):

    >>> later = make_window(read(), centre="p_arrival", shift=2.0)
    >>> int(np.argmax(w.data[3])) - int(np.argmax(later.data[3]))
    200
    """
    if centre not in CENTRES:
        raise ValueError(f"centre={centre!r} is not one of {', '.join(CENTRES)}")
    check_units(record)
    label = ", ".join(tr.id for tr in record)
    rec = record
    if any(tr.stats.sampling_rate != sampling_rate for tr in record):
        rec = record.copy()
        for tr in rec:
            if tr.stats.sampling_rate != sampling_rate:
                tr.resample(sampling_rate)
    north, east, vertical, _ = three_components(rec, label)
    x = np.stack([north, east, vertical]).astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{label}: contains NaN or infinite samples")
    n = x.shape[1]
    seq = int(round(window * sampling_rate))
    notes = []
    p, s, source = arrivals(rec, labels, pick=pick)
    used = centre
    if centre == "p_arrival" and (p is None or not 0 <= p * sampling_rate < n):
        used = "pga"
        notes.append(f"{label}: no P arrival (labels or picker); window centred on the PGA "
                     f"instead")
    if used == "pga":
        middle = int(np.argmax(np.maximum(np.abs(x[0] - x[0].mean()),
                                          np.abs(x[1] - x[1].mean()))))
    else:
        middle = int(round(p * sampling_rate))
    middle += int(round(float(shift) * sampling_rate))
    first = middle - seq // 2
    lo, hi = max(first, 0), min(first + seq, n)
    if n < seq:
        notes.append(f"{label}: record is {n / sampling_rate:.1f} s, shorter than the "
                     f"{window:g}-s window; zero-padded")
    part = x[:, lo:hi]
    part = part - part.mean(axis=1, keepdims=True)
    scale = float(np.sqrt(np.mean(part ** 2)))
    if not scale > 0:
        raise ValueError(f"{label}: the window holds a constant signal")
    out = np.zeros((4, seq), dtype=np.float32)
    out[:3, lo - first:hi - first] = part / scale
    if p is not None:
        a = int(round(p * sampling_rate)) - first
        b = seq if s is None or not s > p else int(round(s * sampling_rate)) - first
        a, b = max(a, 0), min(b, seq)
        if b > a:
            out[3, a:b] = 1.0
    return Window(out, used, p, s, source, notes)


__all__ = ["Window", "make_window", "arrivals", "label_arrivals", "check_units", "CENTRES",
           "ACCELERATION_UNITS"]

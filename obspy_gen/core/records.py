"""Records in Streams: component detection, grouping traces into 3-component records.

A *record* is one 3-component recording (N/E/Z, 1/2/Z, or K-NET style NS/EW/UD channels) of one
NET.STA.LOC by one instrument. Every function that takes "records" accepts a Stream (split with
:func:`split_records`) or a list of Streams.
"""
from __future__ import annotations

import re

import numpy as np
from obspy import Stream

# K-NET/KiK-net and AFAD-style channel names: NS, EW, UD (KiK-net adds a sensor digit: NS1,
# NS2) and AFAD's N-S, E-W, U-D.
_WORD_CHANNEL = re.compile(r"^(N-?S|E-?W|U-?D)(\d?)$", re.IGNORECASE)
_WORD_COMPONENT = {"NS": "N", "EW": "E", "UD": "Z"}
# SEED: last character is the component; the first two (band + instrument) name the sensor.
_SEED_COMPONENT = {"N": "N", "E": "E", "Z": "Z", "1": "N", "2": "E", "3": "Z"}


def channel_component(channel: str) -> tuple[str, str]:
    """Component (``"N"``, ``"E"`` or ``"Z"``) and instrument key of a channel code.

    ``1``/``2`` are taken as the two horizontals in the order N, E (SEED's convention for
    horizontals that are not exactly N/E); ``3`` as vertical.

    Parameters
    ----------
    channel : str
        Channel code, e.g. ``"HNZ"``, ``"BH1"``, ``"NS2"`` (KiK-net surface), ``"U-D"``.

    Returns
    -------
    (component, instrument) : tuple of str
        The instrument key distinguishes co-located sensors (``"HN"`` vs ``"HH"``; KiK-net's
        borehole ``"1"`` vs surface ``"2"``).

    Raises
    ------
    ValueError
        The channel code names no known component.

    Examples
    --------
    >>> channel_component("HNE")
    ('E', 'HN')
    >>> channel_component("UD2")
    ('Z', '2')
    >>> channel_component("BH1")
    ('N', 'BH')
    """
    code = channel.strip()
    m = _WORD_CHANNEL.match(code)
    if m:
        return _WORD_COMPONENT[m.group(1).replace("-", "").upper()], m.group(2)
    if code and code[-1].upper() in _SEED_COMPONENT:
        return _SEED_COMPONENT[code[-1].upper()], code[:-1].upper()
    raise ValueError(f"channel {channel!r}: cannot tell its component (expected Z/N/E, "
                     f"Z/1/2 or NS/EW/UD)")


def station_key(trace) -> str:
    """``NET.STA.LOC`` of a trace (the unit HVSR results are grouped by).

    Examples
    --------
    >>> from obspy import read
    >>> station_key(read()[0])
    'BW.RJOB.'
    """
    s = trace.stats
    return f"{s.network}.{s.station}.{s.location}"


def _record_key(trace):
    comp, instrument = channel_component(trace.stats.channel)
    return station_key(trace), instrument


def split_records(stream) -> list[Stream]:
    """Group a Stream into 3-component records (one per station, instrument and time span).

    Traces of one NET.STA.LOC and instrument whose time spans overlap form one record. The
    result is ordered by station then start time. A list of Streams is returned as it is
    (each taken to be one record already).

    Parameters
    ----------
    stream : obspy.Stream or list of obspy.Stream

    Returns
    -------
    list of obspy.Stream
        One Stream per record, traces ordered N, E, Z when all are present.

    Examples
    --------
    >>> from obspy import read
    >>> st = read()                       # ObsPy's example: one 3-component record
    >>> st2 = st.copy()
    >>> for tr in st2:
    ...     tr.stats.starttime += 3600    # a second event an hour later
    >>> records = split_records(st + st2)
    >>> [len(r) for r in records]
    [3, 3]
    """
    if isinstance(stream, (list, tuple)):
        return [s if isinstance(s, Stream) else Stream(s) for s in stream]
    groups = {}
    for tr in stream:
        groups.setdefault(_record_key(tr), []).append(tr)
    records = []
    for key in sorted(groups):
        traces = sorted(groups[key], key=lambda t: t.stats.starttime)
        current, end = [traces[0]], traces[0].stats.endtime
        for tr in traces[1:]:
            if tr.stats.starttime <= end:
                current.append(tr)
                end = max(end, tr.stats.endtime)
            else:
                records.append(current)
                current, end = [tr], tr.stats.endtime
        records.append(current)
    order = {"N": 0, "E": 1, "Z": 2}
    return [Stream(sorted(r, key=lambda t: order[channel_component(t.stats.channel)[0]]))
            for r in records]


def three_components(record, name: str | None = None):
    """Check one record and return its N, E, Z data as float64 arrays of equal length.

    Parameters
    ----------
    record : obspy.Stream
        One 3-component record (see :func:`split_records`).
    name : str, optional
        How to name the record in error messages (default: its trace ids).

    Returns
    -------
    north, east, vertical : numpy.ndarray
    sampling_rate : float

    Raises
    ------
    ValueError
        One line naming the trace and the problem: missing or duplicated component, mixed
        sampling rates, gaps or masked data, NaN/inf samples, an all-zero vertical.

    Examples
    --------
    >>> from obspy import read
    >>> n, e, z, fs = three_components(read())
    >>> n.shape, fs
    ((3000,), 100.0)
    """
    label = name or ", ".join(tr.id for tr in record) or "empty stream"
    if len(record) == 0:
        raise ValueError(f"{label}: no traces")
    comps = {}
    for tr in record:
        comp, _ = channel_component(tr.stats.channel)
        if comp in comps:
            raise ValueError(f"{tr.id}: component {comp} appears twice in {label} (gaps or "
                             f"several records? merge with Stream.merge() or split first)")
        comps[comp] = tr
    missing = [c for c in "NEZ" if c not in comps]
    if missing:
        raise ValueError(f"{label}: missing component(s) {', '.join(missing)}")
    rates = {tr.stats.sampling_rate for tr in comps.values()}
    if len(rates) > 1:
        raise ValueError(f"{label}: mixed sampling rates {sorted(rates)} Hz; resample first")
    fs = rates.pop()
    arrays = []
    for c in "NEZ":
        tr = comps[c]
        if np.ma.isMaskedArray(tr.data) and np.ma.getmaskarray(tr.data).any():
            raise ValueError(f"{tr.id}: has gaps (masked samples); fill or split the record")
        data = np.asarray(tr.data, dtype=np.float64)
        if not np.all(np.isfinite(data)):
            raise ValueError(f"{tr.id}: contains NaN or infinite samples")
        arrays.append(data)
    # Traces of one record can differ by a sample or two (rounding of start times): use the
    # common span.
    starts = [comps[c].stats.starttime for c in "NEZ"]
    t0 = max(starts)
    offsets = [int(round((t0 - s) * fs)) for s in starts]
    n = min(len(a) - o for a, o in zip(arrays, offsets))
    if n < 2:
        raise ValueError(f"{label}: components do not overlap in time")
    north, east, vertical = (a[o:o + n] for a, o in zip(arrays, offsets))
    if not np.any(vertical != vertical[0]):
        raise ValueError(f"{comps['Z'].id}: vertical component is constant (all zero?)")
    return north, east, vertical, float(fs)

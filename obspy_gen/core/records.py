"""Records in Streams: component detection, grouping traces into 3-component records.

A *record* is one 3-component recording (N/E/Z, 1/2/Z, or K-NET style NS/EW/UD channels) of one
NET.STA.LOC by one instrument. Every function that takes "records" accepts a Stream (split with
:func:`split_records`) or a list of Streams.

Records that come from different files are different records, whatever their times say (PEER
records, and records converted from them, carry no absolute time: all start at the same dummy
time). :func:`obspy_gen.io.read_records` therefore writes the file of origin into every trace,
``trace.stats.obspy_gen_source`` (:data:`SOURCE_KEY`, a str: the path; for a record stored one
component per file -- PEER, K-NET -- the paths of its files joined by :data:`SOURCE_SEPARATOR`),
and :func:`split_records` never puts traces of different origins into one record. A flat,
prefixed key rather than an entry of ``stats.obspy_gen`` (the provenance of generated records,
whose entries the datasets take as labels) or a format namespace (``stats.mseed``, ...): it
belongs to no format, survives ``copy``/``slice``/``trim``/``resample``, and no writer stores it
(a written file is a new origin).
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


#: ``Trace.stats`` key holding the file(s) a trace was read from (see the module docstring).
SOURCE_KEY = "obspy_gen_source"
#: Separates the files of a record stored one component per file in ``stats.obspy_gen_source``.
SOURCE_SEPARATOR = " + "


def trace_source(trace) -> str:
    """The file(s) of origin of a trace (``stats.obspy_gen_source``), ``""`` when unknown.

    Examples
    --------
    >>> from obspy import read
    >>> tr = read()[0]
    >>> trace_source(tr)
    ''
    >>> tr.stats.obspy_gen_source = "a.mseed"
    >>> trace_source(tr)
    'a.mseed'
    """
    return str(trace.stats.get(SOURCE_KEY) or "")


def source_files(source: str) -> list:
    """The file paths named by a ``stats.obspy_gen_source`` value.

    Examples
    --------
    >>> source_files("x/A.AT2 + x/B.AT2")
    ['x/A.AT2', 'x/B.AT2']
    >>> source_files("")
    []
    """
    return [p for p in str(source).split(SOURCE_SEPARATOR) if p]


def record_label(record) -> str:
    """How a record is named in messages: its file(s) of origin (when known) and trace ids.

    Examples
    --------
    >>> from obspy import read
    >>> record_label(read())
    'BW.RJOB..EHZ, BW.RJOB..EHN, BW.RJOB..EHE'
    """
    ids = ", ".join(tr.id for tr in record) or "empty stream"
    sources = list(dict.fromkeys(trace_source(tr) for tr in record if trace_source(tr)))
    return f"{'; '.join(sources)}: {ids}" if sources else ids


def _record_key(trace):
    comp, instrument = channel_component(trace.stats.channel)
    # Traces of different files, or in different units (a PEER .AT2 and .VT2 of one record
    # read together), never form one record.
    return (station_key(trace), instrument, trace_source(trace),
            str(trace.stats.get("units") or ""))


def split_records(stream) -> list[Stream]:
    """Group a Stream into 3-component records (one per file, station, instrument and time span).

    Traces of one file of origin (``stats.obspy_gen_source``, set by
    :func:`obspy_gen.io.read_records`; traces without it count as one origin), NET.STA.LOC,
    instrument and units whose time spans overlap form one record: records from different
    files stay apart even when their times overlap. The result is ordered by station,
    instrument, start time and file. A list of Streams is returned as it is (each taken to be
    one record already).

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
    >>> st3 = st.copy()                   # another file's record at the same time
    >>> for tr in st3:
    ...     tr.stats.obspy_gen_source = "other.mseed"
    >>> [len(r) for r in split_records(st + st3)]
    [3, 3]
    """
    if isinstance(stream, (list, tuple)):
        return [s if isinstance(s, Stream) else Stream(s) for s in stream]
    groups = {}
    for tr in stream:
        groups.setdefault(_record_key(tr), []).append(tr)
    records = []
    for key in groups:
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
    records.sort(key=lambda r: (_record_key(r[0])[:2], min(t.stats.starttime for t in r),
                                _record_key(r[0])[2:]))
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
    label = name or record_label(record)
    if len(record) == 0:
        raise ValueError(f"{label}: no traces")
    comps = {}
    for tr in record:
        comp, _ = channel_component(tr.stats.channel)
        if comp in comps:
            raise ValueError(f"{tr.id}: component {comp} appears twice in {label} (gaps in one "
                             f"recording: fill them with Stream.merge(fill_value=...); several "
                             f"records that overlap in time: keep them apart by reading the "
                             f"files with obspy_gen.io.read_records, or pass one Stream per "
                             f"record)")
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


def horizontal_azimuths(record) -> tuple:
    """Azimuths (degrees clockwise from north) of a record's two horizontals, N then E slot.

    Channels coded N and E are 0 and 90; channels coded 1/2 (or other horizontals) take
    ``stats.azimuth`` (written by the PEER reader), else SAC's ``stats.sac.cmpaz``, else None
    (unknown).

    Examples
    --------
    >>> from obspy import read
    >>> horizontal_azimuths(read())
    (0.0, 90.0)
    """
    found = {}
    for tr in record:
        comp, _ = channel_component(tr.stats.channel)
        if comp == "Z":
            continue
        az = tr.stats.get("azimuth")
        if az is None and "sac" in tr.stats:
            az = tr.stats.sac.get("cmpaz")
        code = tr.stats.channel.strip()[-1:].upper()
        if az is None and code in ("N", "E"):
            az = 0.0 if code == "N" else 90.0
        found[comp] = None if az is None else float(az) % 360.0
    return found.get("N"), found.get("E")


def north_east(record, first, second, name=None):
    """The record's horizontals ``first``, ``second`` (N and E slots) rotated to north and east.

    Needed where the direction matters (``single_azimuth``): channels 1/2 are turned with
    their azimuths; N/E channels come back unchanged.

    Parameters
    ----------
    record : obspy.Stream
        The record (for the channels' azimuths, see :func:`horizontal_azimuths`).
    first, second : numpy.ndarray
        The data of the N-slot and E-slot horizontals (as from :func:`three_components`).
    name : str, optional
        Names the record in messages.

    Raises
    ------
    ValueError
        An azimuth is unknown (channels 1/2 without ``stats.azimuth``), or the two horizontals
        are (nearly) parallel.

    Examples
    --------
    >>> import numpy as np
    >>> from obspy import read
    >>> st = read()
    >>> for tr, code, az in zip(st.select(component="[NE]"), "12", (180.0, 270.0)):
    ...     tr.stats.channel = "EH" + code
    ...     tr.stats.azimuth = az
    >>> n, e = north_east(st, st.select(channel="EH1")[0].data, st.select(channel="EH2")[0].data)
    >>> bool(np.allclose(n, -st.select(channel="EH1")[0].data))
    True
    """
    import numpy as np
    label = name or record_label(record)
    a1, a2 = horizontal_azimuths(record)
    if a1 == 0.0 and a2 == 90.0:
        return first, second
    if a1 is None or a2 is None:
        raise ValueError(f"{label}: the horizontals' azimuths are unknown (channels 1/2 without "
                         f"stats.azimuth), so they cannot be turned to north/east for a "
                         f"direction-dependent combination (single_azimuth); set stats.azimuth "
                         f"or use a combination that needs no direction (e.g. squared_average, "
                         f"total_horizontal_energy, rotd50)")
    r1, r2 = np.radians(a1), np.radians(a2)
    det = np.sin(r2 - r1)  # first = N cos a1 + E sin a1, second = N cos a2 + E sin a2
    if abs(det) < np.sin(np.radians(10.0)):
        raise ValueError(f"{label}: horizontals at azimuths {a1:g} and {a2:g} degrees are "
                         f"(nearly) parallel; cannot turn them to north/east")
    north = (np.sin(r2) * first - np.sin(r1) * second) / det
    east = (np.cos(r1) * second - np.cos(r2) * first) / det
    return north, east

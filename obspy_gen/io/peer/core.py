"""PEER NGA strong-motion records (``.AT2``, ``.VT2``, ``.DT2``) as an ObsPy format.

The format is registered with ObsPy as ``"PEER"`` (entry points ``obspy.plugin.waveform``), so
``obspy.read("RSN6_IMPVALL.I_I-ELC180.AT2")`` works once obspy-gen is installed. One file holds
one component of one record (PEER NGA-West1/West2, NGA-East, NGA-Sub flatfile downloads)::

    PEER NGA STRONG MOTION DATABASE RECORD
    Imperial Valley-06, 10/15/1979, El Centro Array #9, 180
    ACCELERATION TIME SERIES IN UNITS OF G
    NPTS=  3908, DT=   .0100 SEC
      .6300490E-03  .6266801E-03  .6143556E-03  .6030081E-03  .6033451E-03
      ...

Line 2 is "event, date, station, component" (NGA-West2) or "EVENT MM/DD/YY HHMM, STATION,
COMPONENT (AGENCY STATION n)" (NGA-West1); line 4 is either ``NPTS= n, DT= dt SEC`` or
``n dt NPTS, DT``; the values follow, several per line (usually 5). ``.AT2`` holds acceleration
in g, ``.VT2`` velocity in cm/s, ``.DT2`` displacement in cm (line 3 says which).

What the reader returns: a Stream of one trace,

* id ``.<STA>..<band>N<c>``: no network code (PEER gives none); the station code is the
  station abbreviation of an NGA file name (``RSN6_IMPVALL.I_I-ELC180.AT2`` -> ``ELC``), else
  the station name in capitals without spaces or punctuation; the band code follows the
  sampling rate; ``c`` is ``N`` or ``E`` for azimuths 0/360 and 90, ``1``/``2`` for other
  horizontal azimuths (``1`` for azimuth mod 180 in [0, 90), ``2`` in [90, 180): 180/270 ->
  1/2, 045/135 -> 1/2), ``Z`` for UP/V, ``3`` for DWN (down-positive);
* ``stats.azimuth`` (degrees clockwise from north; None for L/T or unknown directions) and
  ``stats.dip`` (SEED: -90 up, 90 down, 0 horizontal), so that direction-dependent HVSR
  combinations can turn 1/2 channels to north/east;
* the data as written, with ``stats.units`` ``"g"``, ``"cm/s"`` or ``"cm"`` (``"cm/s**2"``
  for files in gal); ``to_si=True`` converts to m/s**2 (g = 9.80665 m/s**2), m/s or m and
  says so in ``stats.processing``;
* ``stats.starttime`` 1970-01-01 (PEER files carry no absolute time;
  ``stats.peer.starttime_source`` says so): read several files with
  :func:`obspy_gen.io.read_records` so that records of different events stay apart;
* ``stats.peer``: ``event``, ``date`` (as written), ``station_name``, ``component`` (as
  written), ``quantity`` (``"acceleration"``, ``"velocity"``, ``"displacement"``),
  ``record`` (``"event|date|station"``: the three files of one record share it), ``header``
  (the four header lines) and ``starttime_source``.
"""
from __future__ import annotations

import os
import re

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.util import AttribDict

from obspy_gen.io.afad.core import _band_code, _probe, _read_bytes, _source_name

__all__ = []  # the public interface is obspy.read(..., format="PEER")

#: First line of every PEER NGA file (checked case-insensitively).
SIGNATURE = "PEER NGA STRONG MOTION DATABASE RECORD"
#: Standard gravity, m/s**2 (g -> m/s**2 with ``to_si=True``).
G = 9.80665
ENCODING = "latin-1"  # every byte decodes

_QUANTITIES = ("ACCELERATION", "VELOCITY", "DISPLACEMENT")
# Units as line 3 writes them -> (stats.units, factor to SI, SI units), per quantity.
_UNITS = {
    "ACCELERATION": {"G": ("g", G, "m/s**2"), "CM/S/S": ("cm/s**2", 0.01, "m/s**2"),
                     "CM/S**2": ("cm/s**2", 0.01, "m/s**2"), "CM/S^2": ("cm/s**2", 0.01,
                                                                        "m/s**2"),
                     "CM/SEC/SEC": ("cm/s**2", 0.01, "m/s**2"), "GAL": ("cm/s**2", 0.01,
                                                                      "m/s**2"),
                     "CM/SEC2": ("cm/s**2", 0.01, "m/s**2")},
    "VELOCITY": {"CM/S": ("cm/s", 0.01, "m/s"), "CM/SEC": ("cm/s", 0.01, "m/s")},
    "DISPLACEMENT": {"CM": ("cm", 0.01, "m")},
}
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"
_NPTS_DT = re.compile(rf"NPTS\s*=\s*(\d+)\s*,?\s*DT\s*=\s*({_FLOAT})\s*(?:SEC|S)?\b", re.I)
_NPTS_DT_OLD = re.compile(rf"^\s*(\d+)\s+({_FLOAT})\s+NPTS\s*,\s*DT\b", re.I)
_BEARING = re.compile(r"^([NS])\s*(\d{1,2}(?:\.\d+)?)\s*([EW])$", re.I)
_DATE = re.compile(r"\b(\d{1,2}/\d{1,2}/\d{2,4})\b")
_VERTICAL_UP = {"UP", "V", "VER", "VERT", "VRT", "Z", "UD", "U"}
_VERTICAL_DOWN = {"DWN", "DOWN", "DN", "D"}
_COMPASS = {"N": 0.0, "E": 90.0, "S": 180.0, "W": 270.0}
_UNKNOWN_DIRECTION = {"L": "1", "LONG": "1", "T": "2", "TRAN": "2", "TRANS": "2"}


def _is_peer(filename_or_buf) -> bool:
    """Whether a file is a PEER NGA record (``.AT2``/``.VT2``/``.DT2``; first line only).

    Never raises. Loose on purpose (the signature line only): a damaged PEER file reaches
    :func:`_read_peer` and gets a precise error instead of ObsPy's "Unknown format".

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: File to test.
    :rtype: bool

    Examples
    --------
    >>> import io
    >>> _is_peer(io.BytesIO(_example_text().encode()))
    True
    >>> _is_peer(io.BytesIO(b"STRONG GROUND MOTION RECORDS OF TURKIYE"))
    False
    """
    return _probe(filename_or_buf, 256, lambda head: head.decode(ENCODING).lstrip(
        "\ufeff\xef\xbb\xbf \t\r\n").upper().startswith(SIGNATURE))


def _direction(component: str, source: str):
    """(channel component code, azimuth or None, dip) of a PEER component label."""
    c = re.sub(r"\(.*?\)", "", component).strip().upper().lstrip("-").strip()
    if not c:
        raise ValueError(f"{source}: line 2: no component (expected e.g. '180', 'UP')")
    if c in _VERTICAL_UP:
        return "Z", None, -90.0
    if c in _VERTICAL_DOWN:
        return "3", None, 90.0
    azimuth = None
    if re.fullmatch(r"\d+(?:\.\d+)?", c):
        azimuth = float(c)
        if azimuth > 360:
            raise ValueError(f"{source}: line 2: component azimuth {c} is above 360 degrees")
    elif c in _COMPASS:
        azimuth = _COMPASS[c]
    elif _BEARING.match(c):
        m = _BEARING.match(c)
        angle = float(m.group(2))
        if angle > 90:
            raise ValueError(f"{source}: line 2: bearing {c!r} has an angle above 90 degrees")
        base = 0.0 if m.group(1).upper() == "N" else 180.0
        turn = angle if (m.group(1).upper() == "N") == (m.group(3).upper() == "E") else -angle
        azimuth = base + turn
    elif re.fullmatch(r"[A-Z]{2}[ENZ12]", c):  # a SEED channel code, e.g. HNE
        code = c[-1]
        return code, {"N": 0.0, "E": 90.0}.get(code), (-90.0 if code == "Z" else 0.0)
    elif c in _UNKNOWN_DIRECTION:
        return _UNKNOWN_DIRECTION[c], None, 0.0
    else:
        raise ValueError(f"{source}: line 2: component {component.strip()!r} is neither an "
                         f"azimuth (e.g. 180, N45E) nor a vertical (UP, DWN)")
    azimuth %= 360.0
    if azimuth == 0.0:
        return "N", azimuth, 0.0
    if azimuth == 90.0:
        return "E", azimuth, 0.0
    return ("1" if azimuth % 180.0 < 90.0 else "2"), azimuth, 0.0


def _station_code(source: str, station_name: str, component: str) -> str:
    """The station abbreviation of an NGA file name, else the name without punctuation."""
    stem = os.path.splitext(os.path.basename(source))[0]
    comp = re.sub(r"\(.*?\)", "", component).strip().upper()
    last = stem.rsplit("_", 1)[-1].upper()
    if comp and last.endswith(comp) and len(last) > len(comp):
        abbr = last[:-len(comp)].rstrip("-")
        abbr = abbr.rsplit("-", 1)[-1]  # NGA-West2 prefixes an event letter: I-ELC
        if re.fullmatch(r"[A-Z0-9]{1,5}", abbr):
            return abbr
    code = re.sub(r"[^A-Z0-9]", "", station_name.upper())
    return code or "PEER"


def _header(lines, source):
    """Parse the 4 header lines into a dict (every problem names the file and line)."""
    if len(lines) < 4:
        raise ValueError(f"{source}: {len(lines)} line(s): a PEER NGA file has 4 header lines "
                         f"and data (truncated file?)")
    if not lines[0].lstrip("\ufeff\xef\xbb\xbf \t").upper().startswith(SIGNATURE):
        raise ValueError(f"{source}: line 1: not a PEER NGA record (expected {SIGNATURE!r})")
    fields = [f.strip() for f in lines[1].split(",")]
    if len(fields) < 3 or not all(fields[-3:]):
        raise ValueError(f"{source}: line 2: expected 'event, date, station, component', got "
                         f"{lines[1].strip()!r}")
    component, station_name = fields[-1], fields[-2]
    if len(fields) >= 4:
        event, date = ", ".join(fields[:-3]), fields[-3]
    else:  # NGA-West1: 'EVENT MM/DD/YY HHMM, STATION, COMPONENT'
        event = fields[0]
        m = _DATE.search(event)
        date = m.group(1) if m else None
    text3 = " ".join(lines[2].upper().split())
    quantity = next((q for q in _QUANTITIES if q in text3), None)
    if quantity is None or "UNITS OF" not in text3:
        raise ValueError(f"{source}: line 3: expected e.g. 'ACCELERATION TIME SERIES IN UNITS "
                         f"OF G', got {lines[2].strip()!r}")
    unit_text = text3.split("UNITS OF", 1)[1].strip().rstrip(".,")
    unit_text = unit_text.split()[0] if unit_text else ""
    if unit_text not in _UNITS[quantity]:
        raise ValueError(f"{source}: line 3: units {unit_text!r} of {quantity.lower()} are not "
                         f"one of {', '.join(_UNITS[quantity])}")
    m = _NPTS_DT.search(lines[3]) or _NPTS_DT_OLD.match(lines[3])
    if not m:
        raise ValueError(f"{source}: line 4: expected 'NPTS= n, DT= dt SEC' or 'n dt NPTS, DT', "
                         f"got {lines[3].strip()!r}")
    npts = int(m.group(1))
    dt = float(m.group(2).replace("D", "E").replace("d", "e"))
    if npts < 1:
        raise ValueError(f"{source}: line 4: NPTS must be at least 1, got {npts}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"{source}: line 4: DT must be a positive number, got {m.group(2)!r}")
    return {"event": event, "date": date, "station_name": station_name,
            "component": component, "quantity": quantity, "unit_text": unit_text,
            "npts": npts, "dt": dt}


def _values(lines, npts, text, source):
    """The data values after the header: exactly NPTS finite numbers, else an error."""
    tokens = " ".join(lines[4:]).split()
    if len(tokens) != npts:
        raise ValueError(f"{source}: {len(tokens)} values after the header but NPTS says "
                         f"{npts} (truncated or damaged file?)")
    try:
        data = np.array([t.replace("D", "E").replace("d", "e") for t in tokens],
                        dtype=np.float64)
    except ValueError:
        for k, line in enumerate(lines[4:], start=5):  # slow path only to name the line
            for t in line.split():
                try:
                    float(t.replace("D", "E").replace("d", "e"))
                except ValueError:
                    raise ValueError(f"{source}: line {k}: {t!r} is not a number") from None
        raise  # pragma: no cover -- numpy and float() disagree
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{source}: value {int(np.flatnonzero(~np.isfinite(data))[0]) + 1} "
                         f"is not finite")
    # A cut inside the last number still parses: without a final line break, the last value
    # must be written as long as the one before it (fixed-width columns).
    if npts > 1 and not text.rstrip(" \t").endswith(("\n", "\r")):
        if len(tokens[-1].lstrip("+-")) != len(tokens[-2].lstrip("+-")):
            raise ValueError(f"{source}: the last value {tokens[-1]!r} is cut short (truncated "
                             f"file?)")
    return data


def _read_peer(filename_or_buf, headonly=False, to_si=False, **kwargs) -> Stream:
    """Read a PEER NGA ``.AT2``/``.VT2``/``.DT2`` file into a one-trace Stream.

    Normally called through ``obspy.read(path)`` (format ``"PEER"``).

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: PEER NGA file (4 header lines, then NPTS values).
    :type headonly: bool
    :param headonly: Read the header only (the trace carries ``npts`` but no data).
    :type to_si: bool
    :param to_si: Convert g to m/s**2, cm/s to m/s, cm to m (``stats.units`` says which).
    :rtype: :class:`~obspy.core.stream.Stream`
    :raises ValueError: The file is malformed (the message names the file and the line),
        including fewer or more values than NPTS (a truncated file).

    Examples
    --------
    >>> import io
    >>> st = _read_peer(io.BytesIO(_example_text(npts=7).encode()))
    >>> print(st)  # doctest: +ELLIPSIS
    1 Trace(s) in Stream:
    .ELCENTROARRAY9..HN1 | 1970-01-01T00:00:00.000000Z - 1970-01-01T00:00:00.060000Z | 100.0 Hz, 7 samples
    >>> tr = st[0]
    >>> tr.stats.units, tr.stats.azimuth, tr.stats.peer.event, tr.stats.peer.station_name
    ('g', 180.0, 'Imperial Valley-06', 'El Centro Array #9')
    >>> _read_peer(io.BytesIO(_example_text(npts=7).encode()), to_si=True)[0].stats.units
    'm/s**2'
    """
    source = _source_name(filename_or_buf)
    try:
        raw = _read_bytes(filename_or_buf)
    except OSError as exc:
        raise ValueError(f"{source}: cannot read file: {exc}") from exc
    if isinstance(raw, bytes):
        text = raw.decode(ENCODING)
    else:  # pragma: no cover -- _read_bytes returns bytes
        text = str(raw)
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    h = _header(lines, source)
    code, azimuth, dip = _direction(h["component"], source)
    units, factor, si_units = _UNITS[h["quantity"]][h["unit_text"]]
    data = None if headonly else _values(lines, h["npts"], text, source)
    sampling_rate = 1.0 / h["dt"]
    tr = Trace(data=np.array([]) if data is None else data, header={
        "network": "", "station": _station_code(source, h["station_name"], h["component"]),
        "location": "", "channel": _band_code(sampling_rate) + "N" + code,
        "starttime": UTCDateTime(0), "sampling_rate": sampling_rate})
    if headonly:
        tr.stats.npts = h["npts"]
    tr.stats._format = "PEER"
    tr.stats.azimuth = azimuth
    tr.stats.dip = dip
    tr.stats.peer = AttribDict({
        "event": h["event"], "date": h["date"], "station_name": h["station_name"],
        "component": h["component"], "quantity": h["quantity"].lower(),
        "record": f"{h['event']}|{h['date']}|{h['station_name']}",
        "header": [line.rstrip("\r\n") for line in lines[:4]],
        "starttime_source": "none: PEER files carry no absolute time (1970-01-01 placeholder)",
    })
    if to_si:
        if not headonly:
            tr.data = tr.data * factor
        tr.stats.units = si_units
        tr.stats.processing = [f"obspy_gen.io: converted {units} to {si_units} (x {factor})"]
    else:
        tr.stats.units = units
    return Stream([tr])


def _example_text(npts: int = 12, component: str = "180", quantity: str = "ACCELERATION",
                  units: str = "G", data=None, dt: float = 0.01,
                  description: str = "Imperial Valley-06, 10/15/1979, El Centro Array #9",
                  header4: str | None = None) -> str:
    """A PEER NGA file's text (NGA-West2 layout: 5 values per line in E15.7 columns).

    ``data`` (default: a made-up decaying sine) are written as given, in the file's units.

    Examples
    --------
    >>> print(_example_text(npts=3), end="")
    PEER NGA STRONG MOTION DATABASE RECORD
    Imperial Valley-06, 10/15/1979, El Centro Array #9, 180
    ACCELERATION TIME SERIES IN UNITS OF G
    NPTS=     3, DT=   .0100 SEC
      0.0000000E+00  6.2043074E-03  1.2188275E-02
    """
    if data is None:
        t = np.arange(npts) * dt
        data = 0.05 * np.exp(-t) * np.sin(2 * np.pi * 2.0 * t)
    data = np.asarray(data, dtype=float)
    npts = data.size
    lines = [SIGNATURE, f"{description}, {component}",
             f"{quantity} TIME SERIES IN UNITS OF {units}",
             header4 or f"NPTS={npts:6d}, DT={dt:8.4f} SEC".replace(" 0.", "  .")]
    for i in range(0, npts, 5):
        lines.append("".join(f"{v:15.7E}" for v in data[i:i + 5]))
    return "\n".join(lines) + "\n"

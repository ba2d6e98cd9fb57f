"""AFAD (Turkish national strong-motion network, TR-NSMN) ASCII records as an ObsPy format.

The format is registered with ObsPy as ``"AFAD"`` (entry points ``obspy.plugin.waveform``), so
``obspy.read("20170720223109_0921.txt")`` works once obspy-gen is installed.

File layout (as served by AFAD, e.g. the files gmprocess tests with)::

    STRONG GROUND MOTION RECORDS OF TURKIYE
    PLACE                   : AYDIN GERMENCIK DEVLET HASTANESI
    EARTHQUAKE DATE         : 2017/07/20 22:31:09 (GMT)
    EPICENTER COORDINATES   : 36.91980N-27.44350E
    EARTHQUAKE DEPTH (km)   : 19.44
    EARTHQUAKE MAGNITUDE    : 6.5 Mw
    STATION ID              : 0921
    STATION COORDINATES     : 37.87470N-27.59223E
    STATION ALTITUDE (m)    : 66
    RECORDER TYPE           : Sara acebox
    RECORDER SERIAL NO      : 1856
    RECORD TIME             : 20/07/2017 22:30:58.000000 (GMT)
    NUMBER OF DATA          : 28683
    SAMPLING INTERVAL (sec) : 0.01
    RAW PGA VALUES (gal)    : (N-S) 13.200332 (E-W) 12.163827 (U-D) 9.840572
    Copyright EARTHQUAKE DEPARTMENT
    DISASTER AND EMERGENCY MANAGEMENT PRESIDENCY
           N-S          E-W          U-D
        0.000909     -0.000191    -0.000092
        ...

The text is ISO-8859-9 (Turkish), lines end in CRLF, data are uncorrected acceleration in gal.

What the reader returns (the AFAD ``.mat`` reader, :mod:`obspy_gen.io.afad_mat.core`, returns
the same shape):

* one Stream with three traces ``TK.<station>..HNN``, ``..HNE``, ``..HNZ`` in that order
  (``TK`` is AFAD's FDSN network code; the station id is zero-padded to 4 digits; the band code
  follows the sampling rate, ``H`` for 80-250 Hz);
* data in **gal** with ``stats.units = "gal"`` by default; with ``to_si=True`` in m/s**2 with
  ``stats.units = "m/s**2"`` and a ``stats.processing`` entry (the rest of obspy-gen works in
  m/s**2);
* ``stats.coordinates`` (latitude, longitude, elevation in m);
* every header label in ``stats.afad`` (an AttribDict): ``place``, ``station_id``,
  ``station_latitude``, ``station_longitude``, ``station_altitude`` (m), ``event_time``,
  ``event_latitude``, ``event_longitude``, ``event_depth`` (km), ``magnitude``,
  ``magnitude_type``, ``recorder_type``, ``recorder_serial``, ``component`` (the file's column
  label, e.g. ``"N-S"``), ``pga`` (the header's raw PGA of this component, always in gal, even
  with ``to_si=True``) and ``starttime_source``. Labels missing from a file are ``None``.
"""
from __future__ import annotations

import os
import re

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.util import AttribDict

__all__ = []  # the public interface is obspy.read(..., format="AFAD")

#: AFAD's FDSN network code (the files carry none).
NETWORK = "TK"
#: First line of every AFAD ASCII file ("TURKIYE"; older files say "TURKEY").
SIGNATURE = "STRONG GROUND MOTION RECORDS OF TURK"
#: gal -> m/s**2.
GAL = 0.01
#: Column labels of the file, in output order, with their SEED orientation codes.
COMPONENTS = (("N-S", "N"), ("E-W", "E"), ("U-D", "Z"))
#: The header is Turkish ISO-8859-9 text (every byte decodes, so decoding never fails).
ENCODING = "iso-8859-9"

# Header label (upper case, single spaces) -> key of the parsed header.
_LABELS = {
    "PLACE": "place",
    "EARTHQUAKE DATE": "event_time",
    "EPICENTER COORDINATES": "epicenter",
    "EARTHQUAKE DEPTH (KM)": "event_depth",
    "EARTHQUAKE MAGNITUDE": "magnitude",
    "STATION ID": "station_id",
    "STATION COORDINATES": "station_coordinates",
    "STATION ALTITUDE (M)": "station_altitude",
    "RECORDER TYPE": "recorder_type",
    "RECORDER SERIAL NO": "recorder_serial",
    "RECORD TIME": "record_time",
    "NUMBER OF DATA": "npts",
    "SAMPLING INTERVAL (SEC)": "delta",
    "RAW PGA VALUES (GAL)": "pga",
}
_REQUIRED = ("station_id", "record_time", "npts", "delta")
# The column header is expected on line 18; allow some slack for files with extra labels.
_MAX_HEADER_LINES = 40
_FLOAT = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_COORD_RE = re.compile(rf"^({_FLOAT})\s*([NS])\s*-?\s*({_FLOAT})\s*([EW])$", re.I)
_TZ_RE = r"(?:\s*\((GMT|UTC)\))?"
_RECORD_TIME_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d*)?)" + _TZ_RE + "$", re.I)
_EVENT_TIME_RE = re.compile(
    r"^(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d*)?)" + _TZ_RE + "$", re.I)
_PGA_RE = re.compile(rf"\((N-S|E-W|U-D)\)\s*({_FLOAT})", re.I)
_STATION_RE = re.compile(r"^[A-Za-z0-9]{1,5}$")


# ----------------------------------------------------------------------------- helpers shared
# with the .mat reader (obspy_gen.io.afad_mat.core), so both formats give the same Stream shape.

def _source_name(filename_or_buf) -> str:
    """A name for error messages: the path, or the buffer's name, or ``"<buffer>"``."""
    if isinstance(filename_or_buf, (str, os.PathLike)):
        return os.fspath(filename_or_buf)
    return str(getattr(filename_or_buf, "name", "<buffer>"))


def _read_bytes(filename_or_buf, size: int = -1) -> bytes:
    """Read (the start of) a path or a binary/text file-like object."""
    if isinstance(filename_or_buf, (str, os.PathLike)):
        with open(filename_or_buf, "rb") as fh:
            return fh.read(size)
    data = filename_or_buf.read(size)
    if isinstance(data, str):  # a text-mode buffer
        data = data.encode(ENCODING, errors="replace")
    return data


def _band_code(sampling_rate: float) -> str:
    """SEED band code of an accelerometer sampled at ``sampling_rate`` Hz."""
    for low, high, code in ((1000, 5000, "F"), (250, 1000, "C"), (80, 250, "H"), (10, 80, "B"),
                            (1, 10, "M")):
        if low <= sampling_rate < high:
            return code
    return "L"


def _station_code(value, source: str, field: str) -> str:
    """AFAD station id as a SEED station code: digits zero-padded to 4 (``921`` -> ``"0921"``)."""
    code = str(value).strip()
    if not _STATION_RE.match(code):
        raise ValueError(f"{source}: {field}: station id {code!r} is not 1-5 letters/digits")
    return code.zfill(4) if code.isdigit() else code.upper()


def _build_stream(columns, *, source, station, starttime, delta, npts, labels, per_component,
                  to_si, headonly, fmt):
    """Three traces TK.<station>..HN[NEZ] from the N, E, Z columns and the header labels.

    ``columns`` is None with ``headonly``; ``labels`` go into every trace's ``stats.afad``, the
    dicts of ``per_component`` (N, E, Z order) into the matching trace's only.
    """
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"{source}: sampling interval must be a positive number, got {delta!r}")
    sampling_rate = 1.0 / delta
    band = _band_code(sampling_rate)
    stream = Stream()
    for i, (_, orientation) in enumerate(COMPONENTS):
        stats = {
            "network": NETWORK, "station": station, "location": "",
            "channel": band + "N" + orientation, "starttime": starttime,
            "sampling_rate": sampling_rate, "npts": npts,
        }
        data = np.array([]) if columns is None else np.ascontiguousarray(columns[i],
                                                                         dtype=np.float64)
        tr = Trace(data=data, header=stats)
        if headonly:
            tr.stats.npts = npts
        tr.stats._format = fmt
        afad = AttribDict(labels)
        afad.update(per_component[i])
        tr.stats.afad = afad
        lat, lon = labels.get("station_latitude"), labels.get("station_longitude")
        if lat is not None and lon is not None:
            elev = labels.get("station_altitude")
            tr.stats.coordinates = AttribDict(latitude=lat, longitude=lon,
                                              elevation=0.0 if elev is None else elev)
        if to_si:
            # The rest of obspy-gen works in m/s**2 (design.md); say what was done.
            if not headonly:
                tr.data = tr.data * GAL
            tr.stats.units = "m/s**2"
            tr.stats.processing = [f"obspy_gen.io: converted gal to m/s**2 (x {GAL})"]
        else:
            tr.stats.units = "gal"
        stream.append(tr)
    return stream


def _to_float(text: str, source: str, field: str) -> float:
    """Parse a number, accepting a Turkish decimal comma ("4,6" = 4.6)."""
    s = text.strip()
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"{source}: {field}: {text.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{source}: {field}: {text.strip()!r} is not a finite number")
    return value


def _utc(parts, source: str, field: str) -> UTCDateTime:
    """UTCDateTime from (year, month, day, hour, minute, seconds-with-fraction) strings."""
    year, month, day, hour, minute, second = parts
    try:
        return (UTCDateTime(int(year), int(month), int(day), int(hour), int(minute))
                + float(second))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{source}: {field}: invalid date/time ({exc})") from None


# ----------------------------------------------------------------------------- the format

def _is_afad(filename_or_buf) -> bool:
    """Whether a file is an AFAD ASCII strong-motion record (checks the first line only).

    Never raises: anything unreadable is simply not AFAD. The check is deliberately loose (the
    signature line only) so that a damaged AFAD file reaches :func:`_read_afad` and gets a
    precise error instead of ObsPy's "Unknown format".

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: File to test.
    :rtype: bool

    Examples
    --------
    >>> import io
    >>> _is_afad(io.BytesIO(_example_text().encode("iso-8859-9")))
    True
    >>> _is_afad(io.BytesIO(b"TIMESERIES something else"))
    False
    """
    return _probe(filename_or_buf, 256, lambda head: head.decode(ENCODING).lstrip(
        "\ufeff \t\r\n").upper().startswith(SIGNATURE))


def _probe(filename_or_buf, nbytes, test) -> bool:
    """``test(first nbytes)`` for a format detector: never raises, leaves a buffer in place.

    Shared by the AFAD and AFADMAT detectors.
    """
    start = None
    try:
        if not isinstance(filename_or_buf, (str, os.PathLike)):
            start = filename_or_buf.tell()
        return bool(test(_read_bytes(filename_or_buf, nbytes)))
    except Exception:  # noqa: BLE001 -- a detector must never break obspy.read's probing
        return False
    finally:
        if start is not None:  # leave a buffer where it was
            try:
                filename_or_buf.seek(start)
            except Exception:  # noqa: BLE001
                pass


def _read_afad(filename_or_buf, headonly=False, to_si=False, **kwargs) -> Stream:
    """Read an AFAD ASCII strong-motion record into a 3-trace Stream (N, E, Z).

    Normally called through ``obspy.read(path)`` (format ``"AFAD"``); keyword arguments of
    :func:`obspy.read` arrive here and are passed on.

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: AFAD ``.txt`` file (ISO-8859-9 text, 18 header lines, 3 columns).
    :type headonly: bool
    :param headonly: Read the header only (traces carry ``npts`` but no data).
    :type to_si: bool
    :param to_si: Convert the data from gal to m/s**2 (``stats.units`` says which).
    :rtype: :class:`~obspy.core.stream.Stream`
    :raises ValueError: The file is malformed (the message names the file and the line or
        label), including a data block whose number of lines differs from NUMBER OF DATA or
        whose last line is not terminated (a truncated file).

    Examples
    --------
    >>> import io
    >>> st = _read_afad(io.BytesIO(_example_text(npts=4).encode("iso-8859-9")))
    >>> print(st)  # doctest: +ELLIPSIS
    3 Trace(s) in Stream:
    TK.0921..HNN | 2017-07-20T22:30:58.000000Z - 2017-07-20T22:30:58.030000Z | 100.0 Hz, 4 samples
    TK.0921..HNE | ...
    TK.0921..HNZ | ...
    >>> st[0].stats.units, st[0].stats.afad.pga, st[0].stats.coordinates.latitude
    ('gal', 13.200332, 37.8747)
    >>> _read_afad(io.BytesIO(_example_text().encode("iso-8859-9")), to_si=True)[0].stats.units
    'm/s**2'
    """
    source = _source_name(filename_or_buf)
    try:
        raw = _read_bytes(filename_or_buf)
    except OSError as exc:
        raise ValueError(f"{source}: cannot read file: {exc}") from exc
    text = raw.decode(ENCODING)  # every byte is a character in ISO-8859-9
    lines = text.splitlines()
    if not lines or not lines[0].lstrip("\ufeff \t").upper().startswith(SIGNATURE):
        raise ValueError(f"{source}: line 1: not an AFAD ASCII record (expected "
                         f"{SIGNATURE!r}...)")

    # --- header: 'LABEL : value' lines up to the N-S/E-W/U-D column header
    found, col_line = {}, None
    for i, line in enumerate(lines[1:_MAX_HEADER_LINES], start=1):
        tokens = line.split()
        if ":" not in line and {t.upper() for t in tokens} & {c for c, _ in COMPONENTS}:
            col_line = i
            break
        if ":" not in line:
            continue  # the copyright lines
        label, value = line.split(":", 1)
        key = _LABELS.get(" ".join(label.split()).upper())
        if key is None:
            continue  # unknown labels are kept out; the known set is what AFAD writes
        if key in found:
            raise ValueError(f"{source}: line {i + 1}: label {label.strip()!r} appears twice")
        found[key] = (value.strip(), i + 1, label.strip())
    if col_line is None:
        raise ValueError(f"{source}: no column header line 'N-S E-W U-D' in the first "
                         f"{_MAX_HEADER_LINES} lines")
    for key in _REQUIRED:
        if key not in found:
            label = next(k for k, v in _LABELS.items() if v == key)
            raise ValueError(f"{source}: header label {label!r} is missing")

    def where(key):
        value, lineno, label = found[key]
        return f"line {lineno} ({label})"

    header = _parse_header(found, source, where)
    columns_order = [t.upper() for t in lines[col_line].split()]
    if sorted(columns_order) != sorted(c for c, _ in COMPONENTS):
        raise ValueError(f"{source}: line {col_line + 1}: column header must name N-S, E-W and "
                         f"U-D once each, got {lines[col_line].strip()!r}")

    npts = header.pop("npts")
    columns = None
    if not headonly:
        data = _parse_data(lines, col_line + 1, npts, text, source)
        # Output order is N, E, Z whatever the file's column order.
        columns = [data[:, columns_order.index(label)] for label, _ in COMPONENTS]

    pga = header.pop("pga")
    per_component = [{"component": label, "pga": pga.get(label)} for label, _ in COMPONENTS]
    starttime = header.pop("record_time")
    delta = header.pop("delta")
    header["starttime_source"] = "RECORD TIME header"
    return _build_stream(columns, source=source, station=header["station_id"],
                         starttime=starttime, delta=delta, npts=npts, labels=header,
                         per_component=per_component, to_si=to_si, headonly=headonly,
                         fmt="AFAD")


def _parse_header(found, source, where) -> dict:
    """Turn the raw 'label: value' strings into typed stats.afad values (None if absent)."""
    def raw(key):
        return found[key][0] if key in found and found[key][0] else None

    h = {key: None for key in ("place", "station_id", "station_latitude", "station_longitude",
                               "station_altitude", "event_time", "event_latitude",
                               "event_longitude", "event_depth", "magnitude", "magnitude_type",
                               "recorder_type", "recorder_serial")}
    h["place"] = raw("place")
    h["recorder_type"] = raw("recorder_type")
    h["recorder_serial"] = raw("recorder_serial")
    h["station_id"] = _station_code(raw("station_id") or "", source, where("station_id"))

    m = _RECORD_TIME_RE.match(raw("record_time") or "")
    if not m:
        raise ValueError(f"{source}: {where('record_time')}: expected 'DD/MM/YYYY hh:mm:ss.ffffff"
                         f" (GMT)', got {raw('record_time')!r}")
    day, month, year = m.group(1, 2, 3)
    h["record_time"] = _utc((year, month, day) + m.group(4, 5, 6), source, where("record_time"))

    if raw("event_time"):
        m = _EVENT_TIME_RE.match(raw("event_time"))
        if not m:
            raise ValueError(f"{source}: {where('event_time')}: expected 'YYYY/MM/DD hh:mm:ss "
                             f"(GMT)', got {raw('event_time')!r}")
        h["event_time"] = _utc(m.group(1, 2, 3, 4, 5, 6), source, where("event_time"))

    for key, prefix in (("station_coordinates", "station"), ("epicenter", "event")):
        if raw(key):
            lat, lon = _parse_coordinates(raw(key), source, where(key))
            h[f"{prefix}_latitude"], h[f"{prefix}_longitude"] = lat, lon
    for key, out in (("station_altitude", "station_altitude"), ("event_depth", "event_depth")):
        if raw(key):
            h[out] = _to_float(raw(key), source, where(key))
    if raw("magnitude"):
        parts = raw("magnitude").split()
        h["magnitude"] = _to_float(parts[0], source, where("magnitude"))
        h["magnitude_type"] = " ".join(parts[1:]) or None

    try:
        h["npts"] = int(raw("npts") or "")
    except ValueError:
        raise ValueError(f"{source}: {where('npts')}: {raw('npts')!r} is not an integer") from None
    if h["npts"] < 1:
        raise ValueError(f"{source}: {where('npts')}: must be at least 1, got {h['npts']}")
    h["delta"] = _to_float(raw("delta") or "", source, where("delta"))
    if h["delta"] <= 0:
        raise ValueError(f"{source}: {where('delta')}: must be positive, got {h['delta']}")

    h["pga"] = {}
    if raw("pga"):
        pairs = _PGA_RE.findall(raw("pga"))
        if not pairs:
            raise ValueError(f"{source}: {where('pga')}: expected '(N-S) x (E-W) y (U-D) z', got "
                             f"{raw('pga')!r}")
        h["pga"] = {label.upper(): _to_float(v, source, where("pga")) for label, v in pairs}
    return h


def _parse_coordinates(value, source, where):
    """'37.87470N-27.59223E' -> (37.8747, 27.59223); S and W give negative values."""
    m = _COORD_RE.match(value.strip())
    if not m:
        raise ValueError(f"{source}: {where}: expected coordinates like '37.87470N-27.59223E', "
                         f"got {value!r}")
    lat = _to_float(m.group(1), source, where) * (-1 if m.group(2).upper() == "S" else 1)
    lon = _to_float(m.group(3), source, where) * (-1 if m.group(4).upper() == "W" else 1)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{source}: {where}: coordinates out of range: {value!r}")
    return lat, lon


def _parse_data(lines, first, npts, text, source) -> np.ndarray:
    """The (npts, 3) data block; every inconsistency is an error, never a shorter record."""
    rows = lines[first:]
    while rows and not rows[-1].strip():  # trailing blank lines are harmless
        rows.pop()
    if len(rows) != npts:
        raise ValueError(f"{source}: {len(rows)} data lines after the column header but NUMBER "
                         f"OF DATA says {npts} (truncated or damaged file?)")
    # A cut inside the last line would still parse (a shortened number): AFAD files end every
    # line with CRLF, so a missing final line break means the file was truncated.
    if not text.rstrip(" \t").endswith(("\n", "\r")):
        raise ValueError(f"{source}: line {first + npts}: the last data line is not terminated "
                         f"by a line break (truncated file?)")
    tokens = [row.split() for row in rows]
    for i, tok in enumerate(tokens):
        if len(tok) != 3:
            raise ValueError(f"{source}: line {first + i + 1}: expected 3 numbers (N-S E-W U-D), "
                             f"got {len(tok)}")
    try:
        data = np.array(tokens, dtype=np.float64)
    except ValueError:
        for i, tok in enumerate(tokens):  # slow path only to name the bad line
            for t in tok:
                try:
                    float(t)
                except ValueError:
                    raise ValueError(f"{source}: line {first + i + 1}: {t!r} is not a number"
                                     ) from None
        raise  # pragma: no cover -- numpy and float() disagree
    bad = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if bad.size:
        raise ValueError(f"{source}: line {first + bad[0] + 1}: value is not finite")
    return data


def _example_text(npts: int = 4, station: str = "0921") -> str:
    """A small valid AFAD ASCII record (CRLF lines) for examples and tests.

    Header values are those of the real record 20170720223109_0921.txt; the data are made up.

    Examples
    --------
    >>> _example_text(npts=2).splitlines()[17].split()
    ['N-S', 'E-W', 'U-D']
    """
    header = [
        "STRONG GROUND MOTION RECORDS OF TURKIYE",
        "PLACE                   : AYD\u0131N GERMENCIK DEVLET HASTANESI",
        "EARTHQUAKE DATE         : 2017/07/20 22:31:09 (GMT)",
        "EPICENTER COORDINATES   : 36.91980N-27.44350E",
        "EARTHQUAKE DEPTH (km)   : 19.44",
        "EARTHQUAKE MAGNITUDE    : 6.5 Mw",
        f"STATION ID              : {station}",
        "STATION COORDINATES     : 37.87470N-27.59223E",
        "STATION ALTITUDE (m)    : 66",
        "RECORDER TYPE           : Sara acebox",
        "RECORDER SERIAL NO      : 1856",
        "RECORD TIME             : 20/07/2017 22:30:58.000000 (GMT)",
        f"NUMBER OF DATA          : {npts}",
        "SAMPLING INTERVAL (sec) : 0.01",
        "RAW PGA VALUES (gal)    : (N-S) 13.200332 (E-W) 12.163827 (U-D) 9.840572",
        "Copyright EARTHQUAKE DEPARTMENT",
        "DISASTER AND EMERGENCY MANAGEMENT PRESIDENCY",
        "       N-S          E-W          U-D",
    ]
    rows = [f"{0.001 * i:12.6f} {-0.002 * i:12.6f} {0.0005 * i:12.6f}" for i in range(npts)]
    return "\r\n".join(header + rows) + "\r\n"


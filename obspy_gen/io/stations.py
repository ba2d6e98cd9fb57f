"""Station metadata table: one CSV row per station with site labels (Vs30, NEHRP class, f0).

The file is plain CSV (UTF-8, header row) with the columns of :data:`COLUMNS`, in that order
when written; unknown values are empty cells. Reading accepts the columns in any order,
ignores extra columns, and needs only ``network`` and ``station``.

============  =========================================================================
network       FDSN network code (may be empty: then it matches any network)
station       station code, as in ``trace.stats.station``
location      location code ("" for none)
latitude      degrees north
longitude     degrees east
elevation     metres
vs30          time-averaged shear-wave velocity of the top 30 m, m/s
nehrp_class   NEHRP site class A-E (or F); filled in from vs30 when empty
f0            site fundamental frequency, Hz
place         site name
============  =========================================================================

Typical use: build a table from labelled records (:func:`station_table_from_records`), save it
(:func:`write_station_table`), read it back (:func:`read_station_table`) and put the labels on
any record of those stations (:func:`attach_station_metadata`).
"""
from __future__ import annotations

import csv
import math
import os
import re
import warnings
from dataclasses import asdict, dataclass, fields
from statistics import median

from obspy.core.util import AttribDict

from obspy_gen.io.atomic import atomic_path
from obspy_gen.api import nehrp_class as _nehrp_class

__all__ = ["COLUMNS", "StationEntry", "StationTable", "read_station_table",
           "write_station_table", "attach_station_metadata", "station_table_from_records"]

#: Column order of written tables (design.md: at least network..f0).
COLUMNS = ("network", "station", "location", "latitude", "longitude", "elevation", "vs30",
           "nehrp_class", "f0", "place")
_FLOATS = ("latitude", "longitude", "elevation", "vs30", "f0")
_NEHRP = ("A", "B", "C", "D", "E", "F")
_CODE = re.compile(r"[A-Za-z0-9_-]*")


@dataclass
class StationEntry:
    """One station of a :class:`StationTable`; ``None`` = unknown.

    ``nehrp_class`` is derived from ``vs30`` when not given. Values are checked on creation
    (codes of letters/digits/``_``/``-``, coordinate ranges, Vs30 and f0 positive) and a bad one
    raises ``ValueError``; whitespace in ``place`` is collapsed to single spaces.

    Examples
    --------
    >>> e = StationEntry("TK", "2404", vs30=567.0, f0=4.6)
    >>> e.nehrp_class, e.key
    ('C', 'TK.2404.')
    >>> StationEntry("TK", "0921", latitude=120.0)
    Traceback (most recent call last):
    ...
    ValueError: station TK.0921.: latitude 120.0 is outside [-90, 90]
    """

    network: str
    station: str
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None
    elevation: float | None = None
    vs30: float | None = None
    nehrp_class: str | None = None
    f0: float | None = None
    place: str | None = None

    def __post_init__(self):
        self.network = (self.network or "").strip()
        self.station = (self.station or "").strip()
        self.location = (self.location or "").strip()
        if not self.station:
            raise ValueError("station code is empty")
        for name in ("network", "station", "location"):
            if not _CODE.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} code {getattr(self, name)!r} may only hold letters, "
                                 f"digits, '_' and '-'")
        for name in _FLOATS:
            value = getattr(self, name)
            if value is not None:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(f"station {self.key}: {name} {value} is not finite")
                setattr(self, name, value)
        for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"station {self.key}: {name} {value} is outside [{low}, {high}]")
        for name, unit in (("vs30", "m/s"), ("f0", "Hz")):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"station {self.key}: {name} must be positive ({unit}), "
                                 f"got {value}")
        if self.nehrp_class:
            self.nehrp_class = self.nehrp_class.strip().upper()
            if self.nehrp_class not in _NEHRP:
                raise ValueError(f"station {self.key}: nehrp_class {self.nehrp_class!r} is not "
                                 f"one of {', '.join(_NEHRP)}")
        elif self.vs30 is not None:
            self.nehrp_class = _nehrp_class(self.vs30)
        else:
            self.nehrp_class = None
        # One line of text: CSV cells with line breaks are fragile in other tools.
        self.place = " ".join((self.place or "").split()) or None

    @property
    def key(self) -> str:
        """``"NET.STA.LOC"``, the first three parts of a trace id."""
        return f"{self.network}.{self.station}.{self.location}"

    def to_row(self) -> dict:
        """CSV cells (strings; ``""`` for unknown), floats written exactly (``repr``)."""
        return {k: "" if v is None else repr(v) if isinstance(v, float) else str(v)
                for k, v in asdict(self).items()}


class StationTable:
    """An ordered collection of :class:`StationEntry`, one per ``NET.STA.LOC``.

    Index by position or by ``"NET.STA.LOC"`` key; :meth:`find` matches a trace's codes.

    Examples
    --------
    >>> t = StationTable([StationEntry("TK", "2404", vs30=567.0)])
    >>> t.add(StationEntry("TK", "4806", vs30=323.0))
    >>> len(t), t["TK.4806."].nehrp_class, t[0].station
    (2, 'D', '2404')
    >>> t.find("TK", "4806").vs30
    323.0
    """

    def __init__(self, entries=()):
        self._entries: list[StationEntry] = []
        for entry in entries:
            self.add(entry)

    def add(self, entry: StationEntry) -> None:
        """Append a station; a second entry with the same key is a ``ValueError``."""
        if not isinstance(entry, StationEntry):
            raise TypeError(f"expected a StationEntry, got {type(entry).__name__}")
        if any(e.key == entry.key for e in self._entries):
            raise ValueError(f"station {entry.key} is already in the table")
        self._entries.append(entry)

    def find(self, network: str, station: str, location: str = "") -> StationEntry | None:
        """The entry for these codes, or None.

        An exact ``NET.STA.LOC`` match wins; otherwise an entry of the same station whose
        network is empty or equal, whichever location, when exactly one such entry exists
        (tables built by hand often leave network/location empty).
        """
        for entry in self._entries:
            if (entry.network, entry.station, entry.location) == (network, station, location):
                return entry
        loose = [e for e in self._entries
                 if e.station == station and e.network in ("", network)]
        return loose[0] if len(loose) == 1 else None

    def __getitem__(self, item):
        if isinstance(item, str):
            for entry in self._entries:
                if entry.key == item:
                    return entry
            raise KeyError(f"no station {item!r} in the table")
        return self._entries[item]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def __eq__(self, other):
        return isinstance(other, StationTable) and self._entries == other._entries

    def __repr__(self):
        return f"<StationTable: {len(self)} stations>"


def read_station_table(path) -> StationTable:
    """Read a station table CSV.

    :type path: str or os.PathLike
    :param path: CSV file with at least the columns ``network`` and ``station``.
    :rtype: :class:`StationTable`
    :raises ValueError: A missing required column, a duplicated station or a bad value; the
        message names the file, the line and the column.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "stations.csv")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write("network,station,vs30,f0\\nTK,2404,567,4.6\\nTK,0921,,\\n")
    ...     table = read_station_table(path)
    >>> [(e.station, e.vs30, e.nehrp_class, e.f0) for e in table]
    [('2404', 567.0, 'C', 4.6), ('0921', None, None, None)]
    """
    path = os.fspath(path)
    table = StationTable()
    # utf-8-sig: tables saved from spreadsheets often start with a BOM
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in ("network", "station") if c not in columns]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                             f"(got {columns})")
        reader.fieldnames = columns
        known = {f.name for f in fields(StationEntry)}
        for row in reader:
            line = reader.line_num
            values = {}
            for name in known & set(columns):
                cell = (row.get(name) or "").strip()
                if name in _FLOATS:
                    try:
                        values[name] = float(cell) if cell else None
                    except ValueError:
                        raise ValueError(f"{path}: line {line}: column {name}: {cell!r} is not "
                                         f"a number") from None
                else:
                    values[name] = cell
            try:
                table.add(StationEntry(**values))
            except ValueError as exc:
                raise ValueError(f"{path}: line {line}: {exc}") from None
    return table


def write_station_table(table, path) -> None:
    """Write a station table CSV atomically (a temporary file, then ``os.replace``).

    A reader never sees a half-written table, and an error leaves an existing file untouched.

    :type table: :class:`StationTable` or iterable of :class:`StationEntry`
    :type path: str or os.PathLike
    :param path: Destination; its directory must exist.

    Examples
    --------
    >>> import os, tempfile
    >>> table = StationTable([StationEntry("TK", "2404", latitude=39.90631, vs30=567.0)])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "stations.csv")
    ...     write_station_table(table, path)
    ...     print(open(path).read().splitlines()[1])
    ...     read_station_table(path) == table
    TK,2404,,39.90631,,,567.0,C,,
    True
    """
    path = os.fspath(path)
    entries = list(table)
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for entry in entries:
                writer.writerow(entry.to_row())


def _traces(records):
    """Traces of a Stream, a Trace or a list of Streams."""
    from obspy import Stream, Trace

    if isinstance(records, Trace):
        return [records]
    if isinstance(records, Stream):
        return list(records)
    return [tr for rec in records for tr in (rec if isinstance(rec, Stream) else [rec])]


def attach_station_metadata(records, table, *, strict: bool = False):
    """Put each station's site labels on its traces: ``stats.site`` (and coordinates).

    Sets ``trace.stats.site = AttribDict(vs30=..., f0=..., nehrp_class=...)`` (None where the
    table has no value) for every trace whose station is in the table (see
    :meth:`StationTable.find`), and ``stats.coordinates`` when the trace has none and the table
    has latitude and longitude. Traces of unknown stations are left unchanged.

    :param records: :class:`~obspy.core.stream.Stream`, Trace or list of Streams (changed in
        place).
    :type table: :class:`StationTable` or str or os.PathLike
    :param table: The table, or the path of a table CSV.
    :type strict: bool
    :param strict: Raise ``KeyError`` naming the traces whose station is not in the table.
    :return: ``records`` (for chaining).

    Examples
    --------
    >>> from obspy import read
    >>> st = read()  # ObsPy's example: BW.RJOB..EH?
    >>> table = StationTable([StationEntry("BW", "RJOB", vs30=400.0, f0=2.5)])
    >>> print(attach_station_metadata(st, table)[0].stats.site)
    AttribDict({'vs30': 400.0, 'f0': 2.5, 'nehrp_class': 'C'})
    """
    if isinstance(table, (str, os.PathLike)):
        table = read_station_table(table)
    unmatched = []
    for tr in _traces(records):
        s = tr.stats
        entry = table.find(s.network, s.station, s.location)
        if entry is None:
            unmatched.append(tr.id)
            continue
        s.site = AttribDict(vs30=entry.vs30, f0=entry.f0, nehrp_class=entry.nehrp_class)
        if "coordinates" not in s and entry.latitude is not None and \
                entry.longitude is not None:
            s.coordinates = AttribDict(latitude=entry.latitude, longitude=entry.longitude,
                                       elevation=entry.elevation or 0.0)
    if strict and unmatched:
        raise KeyError(f"no station table entry for: {', '.join(sorted(set(unmatched)))}")
    return records


def _first(*values):
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)


def station_table_from_records(records) -> StationTable:
    """Build a station table from the labels the records carry (e.g. AFAD ``.mat`` records).

    Uses ``stats.afad`` (``vs30``, ``f0``, ``station_*`` coordinates, ``place``) when present,
    else ``stats.site`` and ``stats.coordinates``; one row per ``NET.STA.LOC`` in order of first
    appearance. When records of one station disagree, the median is kept with a warning.

    :param records: :class:`~obspy.core.stream.Stream`, Trace or list of Streams.
    :rtype: :class:`StationTable`

    Examples
    --------
    >>> from obspy import read
    >>> from obspy.core.util import AttribDict
    >>> st = read()
    >>> for tr in st:
    ...     tr.stats.afad = AttribDict(vs30=567.0, f0=4.6, station_latitude=39.9,
    ...                                station_longitude=38.8, station_altitude=1579.0)
    >>> table = station_table_from_records(st)
    >>> e = table[0]
    >>> len(table), e.key, e.vs30, e.nehrp_class, e.f0, e.elevation
    (1, 'BW.RJOB.', 567.0, 'C', 4.6, 1579.0)
    """
    gathered: dict[tuple, dict] = {}
    for tr in _traces(records):
        s = tr.stats
        key = (s.network, s.station, s.location)
        afad = s.get("afad") or {}
        site = s.get("site") or {}
        coords = s.get("coordinates") or {}
        values = {
            "latitude": _first(afad.get("station_latitude"), coords.get("latitude")),
            "longitude": _first(afad.get("station_longitude"), coords.get("longitude")),
            "elevation": _first(afad.get("station_altitude"), coords.get("elevation")),
            "vs30": _first(afad.get("vs30"), site.get("vs30")),
            "f0": _first(afad.get("f0"), site.get("f0")),
            "place": afad.get("place"),
        }
        slot = gathered.setdefault(key, {name: [] for name in values})
        for name, value in values.items():
            if value is not None and value != "":
                slot[name].append(value)
    table = StationTable()
    for (net, sta, loc), slot in gathered.items():
        values = {}
        for name, seen in slot.items():
            distinct = list(dict.fromkeys(seen))
            if not distinct:
                values[name] = None
            elif name == "place":
                values[name] = distinct[0]
            else:
                if len(distinct) > 1:
                    warnings.warn(f"station {net}.{sta}.{loc}: records disagree on {name} "
                                  f"({distinct}); using the median", UserWarning, stacklevel=2)
                values[name] = float(median(float(v) for v in seen))
        table.add(StationEntry(net, sta, loc, **values))
    return table

"""Provenance of written records: the ``records.csv`` table beside the miniSEED files.

miniSEED keeps samples and ids but not ``stats.obspy_gen`` (model, version, seed, record
number, the synthetic flag, the conditions of generation) nor ``stats.units``. Every obspy-gen
command that writes records (``obspy-gen generate``, ``simulate``, ``demo``) therefore writes
one row per record into ``records.csv`` in the same folder, atomically, and
:func:`restore_provenance` puts the values back on the traces when such a file is read again
(the CLI's readers do it), so a generated record read from disk is still known as synthetic,
with its units.

Columns (:data:`COLUMNS`): ``file`` (name in the folder), ``network, station, location``,
``record``, ``model``, ``version``, ``seed``, ``synthetic``, ``checkpoint``, ``units``,
``starttime``, ``npts``, ``sampling_rate`` and ``conditions`` (the other ``stats.obspy_gen``
entries as JSON, e.g. TimesNet-Gen's ``station_pool``, ``n_mix``, ``noise_scale``). Writers
may add columns (the simulator adds its labels: magnitude, distance, f0, ...).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from obspy_gen.io.atomic import atomic_write

#: File name of the provenance table in an output folder.
TABLE = "records.csv"
#: Columns every provenance table has.
COLUMNS = ("file", "network", "station", "location", "record", "model", "version", "seed",
           "synthetic", "checkpoint", "units", "starttime", "npts", "sampling_rate",
           "latitude", "longitude", "conditions")
# Columns that describe the trace rather than stats.obspy_gen.
_TRACE_COLUMNS = {"file", "network", "station", "location", "units", "starttime", "npts",
                  "sampling_rate", "latitude", "longitude", "conditions"}


def _plain(value):
    """A JSON-able version of a stats.obspy_gen value (UTCDateTime, numpy scalars -> str/num)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def record_row(record, file, columns=COLUMNS) -> dict:
    """One provenance row of a record (a Stream of one record's traces) written to ``file``.

    Examples
    --------
    >>> from obspy import read
    >>> from obspy.core.util import AttribDict
    >>> st = read()
    >>> for tr in st:
    ...     tr.stats.units = "m/s**2"
    ...     tr.stats.obspy_gen = AttribDict(model="m", version="1", seed=3, record=0,
    ...                                     synthetic=True, n_mix=5)
    >>> row = record_row(st, "BW.RJOB._m_0000.mseed")
    >>> row["model"], row["seed"], row["synthetic"], row["units"], row["conditions"]
    ('m', 3, True, 'm/s**2', '{"n_mix": 5}')
    """
    s = record[0].stats
    meta = dict(s.get("obspy_gen") or {})
    row = {"file": os.path.basename(os.fspath(file)), "network": s.network,
           "station": s.station, "location": s.location, "units": s.get("units"),
           "starttime": str(min(tr.stats.starttime for tr in record)), "npts": s.npts,
           "sampling_rate": s.sampling_rate}
    coords = s.get("coordinates") or {}  # the site's position (e.g. a GMPE's region)
    row.update({k: coords.get(k) for k in ("latitude", "longitude")})
    for key in columns:
        if key not in _TRACE_COLUMNS:
            row[key] = _plain(meta.pop(key, None))
    extra = {k: _plain(v) for k, v in meta.items() if k not in columns}
    row["conditions"] = json.dumps(extra, sort_keys=True) if extra else ""
    return row


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return value


def write_provenance(folder, rows, columns=COLUMNS, name=TABLE) -> str:
    """Write (or update) ``folder/records.csv`` atomically; returns its path.

    Rows of files already in the table are replaced, rows of other files that still exist in
    the folder are kept (two ``generate`` runs into one folder share one table).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "a.mseed"), "wb").close()
    >>> path = write_provenance(d, [{"file": "a.mseed", "model": "m", "synthetic": True}])
    >>> read_provenance(d)["a.mseed"][0]["model"]
    'm'
    """
    folder = Path(folder)
    columns = list(columns) + [c for c in COLUMNS if c not in columns]
    new_files = {r["file"] for r in rows}
    kept = [r for rows_ in read_provenance(folder, name).values() for r in rows_
            if r.get("file") not in new_files and (folder / r.get("file", "")).is_file()]
    for r in kept + list(rows):
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in kept + list(rows):
        writer.writerow({k: _cell(r.get(k)) for k in columns})
    path = folder / name
    atomic_write(path, buf.getvalue())
    return str(path)


def read_provenance(folder, name=TABLE) -> dict:
    """``file -> list of rows`` (dicts of strings) of ``folder/records.csv``; {} without one.

    Examples
    --------
    >>> import tempfile
    >>> read_provenance(tempfile.mkdtemp())
    {}
    """
    path = Path(folder) / name
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    out = {}
    for r in rows:
        if r.get("file"):
            out.setdefault(r["file"], []).append(r)
    return out


#: Columns that stay text even when they look like numbers (a version "1.0", a code "0205").
_TEXT = {"model", "version", "checkpoint", "station_pool", "nehrp_class", "site", "noise"}


def _value(text, key=None):
    """A table cell back to a Python value: '' -> None, numbers, booleans, else the text."""
    if text is None or text == "":
        return None
    if key in _TEXT:
        return text
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


_TABLES: dict = {}


def _table(folder):
    path = Path(folder) / TABLE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    key = str(path.resolve())
    if key not in _TABLES or _TABLES[key][0] != stamp:
        _TABLES[key] = (stamp, read_provenance(folder))
    return _TABLES[key][1]


def restore_provenance(stream, path):
    """Put ``stats.obspy_gen`` and ``stats.units`` back on records read from ``path``.

    Looks ``path``'s name up in ``records.csv`` of its folder (rows of a file holding several
    records are matched by start time); traces without a row, and anything already set on a
    trace, are left alone. Returns the number of traces restored.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> from obspy.core.util import AttribDict
    >>> d = tempfile.mkdtemp()
    >>> st = read()
    >>> for tr in st:
    ...     tr.stats.units = "m/s**2"
    ...     tr.stats.obspy_gen = AttribDict(model="m", version="1", seed=3, record=0,
    ...                                     synthetic=True)
    >>> st.write(os.path.join(d, "r.mseed"), format="MSEED")
    >>> _ = write_provenance(d, [record_row(st, "r.mseed")])
    >>> again = read(os.path.join(d, "r.mseed"))
    >>> restore_provenance(again, os.path.join(d, "r.mseed"))
    3
    >>> again[0].stats.obspy_gen.seed, again[0].stats.obspy_gen.synthetic, again[0].stats.units
    (3, True, 'm/s**2')
    """
    from obspy import UTCDateTime
    from obspy.core.util import AttribDict
    rows = _table(Path(path).parent).get(Path(path).name)
    if not rows:
        return 0
    starts = []
    for r in rows:
        try:
            starts.append(UTCDateTime(r["starttime"]) if r.get("starttime") else None)
        except (TypeError, ValueError):
            starts.append(None)
    n = 0
    for tr in stream:
        if len(rows) == 1:
            row = rows[0]
        else:  # several records in one file: the row whose record starts nearest this trace
            cands = [(abs(tr.stats.starttime - t), i) for i, t in enumerate(starts)
                     if t is not None and (rows[i].get("station") in (None, "", tr.stats.station))]
            if not cands:
                continue
            dist, i = min(cands)
            if dist > 1.0:
                continue
            row = rows[i]
        if row.get("station") and row["station"] != tr.stats.station:
            continue
        if row.get("units") and "units" not in tr.stats:
            tr.stats.units = row["units"]
        if row.get("latitude") and row.get("longitude") and "coordinates" not in tr.stats:
            try:
                tr.stats.coordinates = AttribDict(latitude=float(row["latitude"]),
                                                  longitude=float(row["longitude"]))
            except ValueError:
                pass
        if "obspy_gen" not in tr.stats:
            meta = {k: _value(v, k) for k, v in row.items()
                    if k not in _TRACE_COLUMNS and v not in (None, "")}
            if row.get("conditions"):
                try:
                    meta.update(json.loads(row["conditions"]))
                except ValueError:
                    pass
            tr.stats.obspy_gen = AttribDict(meta)
        n += 1
    return n

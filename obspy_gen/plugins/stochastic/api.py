"""``simulate()``: a whole catalogue of virtual stations to miniSEED files plus tables."""
from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

from obspy_gen.io.atomic import atomic_path

from .catalog import Station, catalog as _catalog
from .plugin import LABELS, StochasticGenerator, resolve_station, station_seed

#: Columns of ``records.csv`` (one row per simulated record).
#: The provenance columns (:data:`obspy_gen.io.provenance.COLUMNS`) then the labels.
RECORD_COLUMNS = ("file", "network", "station", "location", "record", "model", "version",
                  "seed", "synthetic", "checkpoint", "units", "starttime", "npts",
                  "sampling_rate", "conditions") + tuple(k for k in LABELS if k != "station")

#: Columns of ``stations.csv`` (the design's station table plus provenance columns).
STATION_COLUMNS = ("network", "station", "location", "latitude", "longitude", "vs30",
                   "nehrp_class", "f0", "f0_target", "n_records", "site", "seed")


@dataclass
class SimulationResult:
    """What :func:`simulate` produced.

    Attributes
    ----------
    stations : list of dict
        Station-table rows (:data:`STATION_COLUMNS`).
    records : list of dict
        Label rows (:data:`RECORD_COLUMNS`).
    files : list of str
        miniSEED paths written (empty without ``out``).
    out : str or None
        Output folder.
    streams : dict
        ``NET.STA.LOC`` -> Stream, only when nothing was written (``out=None``).

    Examples
    --------
    >>> res = simulate(profile=[(20, 200, 1800, 0.05), (0, 800, 2200, 0.01)], n=1, seed=2)
    >>> res.stations[0]["nehrp_class"], len(res.records), res.files
    ('D', 1, [])
    """

    stations: list = field(default_factory=list)
    records: list = field(default_factory=list)
    files: list = field(default_factory=list)
    out: str | None = None
    streams: dict = field(default_factory=dict)


def _atomic_write(path: str, write) -> None:
    """Write through ``write(tmp_path)`` atomically (see :mod:`obspy_gen.io.atomic`)."""
    with atomic_path(path) as tmp:
        write(tmp)


def _write_text(path: str, text: str) -> None:
    def w(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    _atomic_write(path, w)


def _csv_text(rows, columns) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Unknown values (None) become empty cells, as the design's station tables ask.
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return buf.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return value


def _stations(catalog, seed, profile, station_code, n, n_stations, records_per_station):
    if profile is not None:
        if catalog not in (None, "paper5"):
            raise ValueError("give a catalog or a profile, not both")
        stations = [resolve_station(None, profile, station_code)]
    elif isinstance(catalog, str):
        kwargs = {}
        if catalog == "corpus":
            kwargs = dict(n_stations=n_stations, records_per_station=records_per_station)
        stations = _catalog(catalog, seed=seed, **kwargs)
    elif catalog is None:
        raise ValueError("give a catalog ('paper5' or 'corpus') or a profile")
    else:
        stations = list(catalog)
        if not all(isinstance(s, Station) for s in stations):
            raise ValueError("catalog must be 'paper5', 'corpus' or a list of Station")
    if n is not None:
        if not (isinstance(n, (int, np.integer)) and n >= 1):
            raise ValueError(f"n must be a positive integer, got {n!r}")
        stations = [Station(s.code, s.profile, int(n), s.network, s.location, s.latitude,
                            s.longitude, s.site, s.f0_target) for s in stations]
    ids = [s.id for s in stations]
    if len(set(ids)) != len(ids):
        raise ValueError("station ids (NET.STA.LOC) must be unique")
    return stations


def simulate_station(sta, seed, options, out=None):
    """Simulate one station's records and write them to ``out`` (atomically, one miniSEED
    per record); a job of :func:`simulate` (top level and picklable, so any Executor runs it).

    Returns
    -------
    (station-table row, label rows, files written, Stream or None when written)

    Examples
    --------
    >>> sta = _stations("paper5", 1, None, None, 1, 300, 20)[1]   # 4628, one record
    >>> row, recs, files, st = simulate_station(sta, 1, {})
    >>> row["station"], len(recs), files, len(st)
    ('4628', 1, [], 3)
    """
    gen = StochasticGenerator()
    sseed = station_seed(seed, sta.code)
    stream = gen.generate(station=sta, n=sta.n_records, seed=sseed, **options)
    row = sta.table_row()
    row["seed"] = sseed
    records, files = [], []
    for i in range(sta.n_records):
        traces = stream[3 * i:3 * i + 3]
        rec = traces.copy() if out is not None else traces
        meta = rec[0].stats.obspy_gen
        fname = f"{sta.id}_stochastic_{i:04d}.mseed"
        if out is not None:
            path = os.path.join(out, fname)
            for tr in rec:
                tr.data = tr.data.astype(np.float32)

            def w(tmp, rec=rec):
                rec.write(tmp, format="MSEED", encoding="FLOAT32")
            _atomic_write(path, w)
            files.append(path)
        s = rec[0].stats
        lab = {k: meta.get(k) for k in LABELS}
        lab["origin_time"] = str(lab["origin_time"])
        records.append(dict(
            lab, file=fname if out is not None else "", network=s.network,
            station=s.station, location=s.location, record=i, seed=sseed,
            model=meta.get("model"), version=meta.get("version"),
            synthetic=meta.get("synthetic"), units=s.get("units"),
            starttime=str(s.starttime), npts=s.npts, sampling_rate=s.sampling_rate))
    return row, records, files, (stream if out is None else None)


def simulate(catalog="paper5", out=None, seed: int = 0, *, profile=None,
             station_code: str | None = None, n: int | None = None, n_stations: int = 300,
             records_per_station: int = 20, progress: bool = False, executor=None,
             **options) -> SimulationResult:
    """Simulate every station of a catalogue; write one miniSEED per record and the tables.

    Files in ``out`` (created): ``<NET.STA.LOC>_stochastic_<i:04d>.mseed`` (float32 samples,
    m/s^2), ``stations.csv`` (network, station, location, latitude, longitude, vs30,
    nehrp_class, f0, f0_target, n_records, site, seed; empty cells where unknown),
    ``records.csv`` (one row of labels per record, :data:`RECORD_COLUMNS`) and ``profiles.json``
    (each station's soil column). Every file is written to a temporary name and renamed, and all
    inputs are checked (one record is dry-run) before anything is written.

    Parameters
    ----------
    catalog : {"paper5", "corpus"} or list of Station
        ``paper5``: the five Table I stations (348 records); ``corpus``: ``n_stations`` random
        stations (classes B-E) with ``records_per_station`` records each.
    out : str or path, optional
        Output folder; ``None`` writes nothing and returns the Streams in ``result.streams``.
    seed : int
        Master seed: station ``code`` uses :func:`~.plugin.station_seed` ``(seed, code)`` (in
        ``stations.csv``), and the corpus profiles are drawn from ``seed``.
    profile : SoilProfile, list of layers or path, optional
        Simulate one custom site instead of the ``paper5`` catalogue; ``station_code`` names it
        (default ``SITE``), ``n`` records (default 20).
    n : int, optional
        Records per station, overriding the catalogue's numbers.
    progress : bool
        Show a tqdm progress bar.
    executor : concurrent.futures.Executor, optional
        Runs one :func:`simulate_station` job per station (a process pool, a Dask client's
        executor, see :func:`obspy_gen.batch.scheduler_executor`); the records do not depend
        on it (each station has its own seed).
    **options
        Passed to :meth:`~.plugin.StochasticGenerator.generate` (``sampling_rate``,
        ``magnitude``, ``distance``, ``region``, ``kappa0``, ...).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        Bad catalogue, profile or option (nothing is written).

    Examples
    --------
    >>> import os, tempfile
    >>> out = tempfile.mkdtemp()
    >>> res = simulate("paper5", out=out, seed=1, n=1)
    >>> len(res.files), sorted(os.listdir(out))[:2]
    (5, ['SY.0205.00_stochastic_0000.mseed', 'SY.1716.00_stochastic_0000.mseed'])
    >>> [r["station"] for r in res.stations]
    ['2020', '4628', '0205', '1716', '3130']
    >>> res = simulate(profile=[(20, 200, 1800, 0.05), (0, 800, 2200, 0.01)], n=2)
    >>> list(res.streams), len(res.streams["SY.SITE.00"])
    (['SY.SITE.00'], 6)
    """
    stations = _stations(catalog, seed, profile, station_code, n, n_stations,
                         records_per_station)
    gen = StochasticGenerator()
    # Dry run: one record of the first station checks every option before any file exists.
    gen.generate(station=stations[0], n=1, seed=0, **options)

    result = SimulationResult(out=None if out is None else os.fspath(out))
    if out is not None:
        os.makedirs(out, exist_ok=True)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=sum(s.n_records for s in stations), unit="rec", desc="simulate")
    profiles = {}
    tasks = [(sta, seed, options, None if out is None else os.fspath(out)) for sta in stations]
    try:
        if executor is None:
            results = []
            for t in tasks:
                results.append(simulate_station(*t))
                if bar is not None:
                    bar.update(t[0].n_records)
        else:
            futures = [executor.submit(simulate_station, *t) for t in tasks]
            for f in concurrent.futures.as_completed(futures):
                if bar is not None and f.exception() is None:
                    bar.update(f.result()[0]["n_records"])
            results = [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()
    for sta, (row, records, files, stream) in zip(stations, results):
        result.stations.append(row)
        profiles[sta.id] = sta.profile.to_dict()
        result.records.extend(records)
        result.files.extend(files)
        if out is None:
            result.streams[sta.id] = stream
    if out is not None:
        _write_text(os.path.join(out, "stations.csv"), _csv_text(result.stations,
                                                                 STATION_COLUMNS))
        _write_text(os.path.join(out, "records.csv"), _csv_text(result.records, RECORD_COLUMNS))
        _write_text(os.path.join(out, "profiles.json"), json.dumps(profiles, indent=1) + "\n")
    return result

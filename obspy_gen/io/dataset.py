"""Station-grouped record datasets for training and evaluating models.

A :class:`StationDataset` indexes 3-component records (files on disk, read lazily one record at
a time, or Streams in memory), groups them by station, and serves each record preprocessed as
in the TimesNet-Gen paper: channels in the fixed order N-S, E-W, vertical; 100 Hz (resampled
when needed); centre-cropped or symmetrically zero-padded to ``seq_len`` samples; standardised
per record and channel, with the means and standard deviations kept so that model outputs can
be de-normalised. Optionally the window is centred on the PGA or on the P arrival instead of
the record's middle (the CNN-LSTM Vs30 paper's two choices, 15 s by default there).

Only the index lives in memory; a 36k-record corpus is read from disk record by record.
"""
from __future__ import annotations

import csv
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from obspy import Stream, UTCDateTime, read

from obspy_gen.core.records import (source_files, split_records, three_components,
                                    trace_source)
from obspy_gen.io.records import read_records

#: Where a record is centred before cropping/padding to ``seq_len``.
CENTRES = ("record", "pga", "p_arrival", "auto")
# Label-table columns that are codes, never numbers.
_CODE_COLUMNS = {"network", "station", "location", "channel", "nehrp_class"}
# Trace.stats namespaces whose entries are taken as record labels.
_LABEL_NAMESPACES = ("afad", "site", "labels", "obspy_gen")


@dataclass
class RecordRef:
    """Where one record is and what is known about it (the dataset's index entry).

    Attributes
    ----------
    station : str
        Station code (``stats.station``), the unit of grouping and splitting.
    source : str or int
        File path (for a record stored one component per file: the paths joined by
        ``" + "``, as in ``stats.obspy_gen_source``), or position in the dataset's in-memory
        list of Streams.
    starttime : obspy.UTCDateTime
        Start of the record (selects it when a file holds several).
    position : int
        Index of the record among the records of its file(s) (a file may hold several
        records, even of other instruments starting at the same time).
    labels : dict
        Plain values gathered from ``stats.afad``, ``stats.site``, ``stats.labels`` and
        ``stats.obspy_gen`` (e.g. ``vs30``, ``f0``, ``p_arrival``), and from label tables.
    """

    station: str
    source: object
    starttime: UTCDateTime
    labels: dict = field(default_factory=dict)
    position: int = 0


@dataclass
class Sample:
    """One preprocessed record.

    Attributes
    ----------
    data : numpy.ndarray, shape (3, seq_len), float32
        Standardised N-S, E-W, vertical channels.
    mean, std : numpy.ndarray, shape (3,)
        Per-channel mean and standard deviation removed (``raw = data * std + mean``).
    station : str
    station_index : int
        Position of the station in :attr:`StationDataset.stations`.
    labels : dict
    """

    data: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    station: str
    station_index: int
    labels: dict

    def denormalised(self) -> np.ndarray:
        """The raw-unit signal ``data * std + mean`` (float64)."""
        return self.data.astype(np.float64) * self.std[:, None] + self.mean[:, None]


def _plain(value):
    if isinstance(value, UTCDateTime):
        return str(value)
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None


def _labels_of(trace) -> dict:
    labels = {}
    for ns in _LABEL_NAMESPACES:
        attrs = trace.stats.get(ns)
        if attrs is None:
            continue
        for key, value in dict(attrs).items():
            value = _plain(value)
            if value is not None:
                labels.setdefault(key, value)
    return labels


def preprocess(record, seq_len, sampling_rate=100.0, centre="record", standardise=True,
               p_arrival=None, return_start=False):
    """Turn one 3-component record into a fixed-length, standardised (3, seq_len) array.

    Parameters
    ----------
    record : obspy.Stream
        One record (N/E/Z, 1/2/Z or NS/EW/UD channels).
    seq_len : int
        Number of samples of the output.
    sampling_rate : float
        Target rate in Hz; other rates are resampled (:meth:`obspy.Trace.resample`, with its
        anti-alias filter).
    centre : {"record", "pga", "p_arrival", "auto"}
        The middle of the record, the sample of the largest absolute horizontal acceleration,
        or the P arrival (from ``stats.afad.p_arrival``, ``stats.obspy_gen.p_arrival`` or
        ``stats.labels.p_arrival``; UTCDateTime or seconds after the start). ``"auto"``: the
        middle of a record that fits in ``seq_len`` (nothing is cut), the PGA of a longer one
        (a centred window would cut the strong motion of a long record).
    standardise : bool
        Remove each channel's mean and divide by its standard deviation.
    p_arrival : UTCDateTime, str or float, optional
        P arrival to use instead of the trace labels (seconds after the record start, or a
        time), e.g. from a label table.
    return_start : bool
        Also return the sample (of the resampled record) where the window starts (negative
        when it begins in the zero padding before the record).

    Returns
    -------
    data : numpy.ndarray, shape (3, seq_len), float32
    mean, std : numpy.ndarray, shape (3,)
    start : int
        Only with ``return_start``.

    Examples
    --------
    >>> from obspy import read
    >>> data, mean, std = preprocess(read(), seq_len=4000)    # 30 s at 100 Hz, padded
    >>> data.shape, bool(abs(data[:, 500:3500].std(axis=1) - 1).max() < 0.05)
    ((3, 4000), True)
    """
    if centre not in CENTRES:
        raise ValueError(f"centre={centre!r} is not one of {', '.join(CENTRES)}")
    record = record.copy()
    label = ", ".join(tr.id for tr in record)
    for tr in record:
        if tr.stats.sampling_rate != sampling_rate:
            tr.resample(sampling_rate)
    north, east, vertical, _ = three_components(record, label)
    x = np.stack([north, east, vertical])
    n = x.shape[1]
    if centre == "auto":
        centre = "record" if n <= seq_len else "pga"
    if centre == "record":
        middle = n // 2
    elif centre == "pga":
        middle = int(np.argmax(np.maximum(np.abs(x[0]), np.abs(x[1]))))
    else:
        p = p_arrival if p_arrival is not None else _labels_of(record[0]).get("p_arrival")
        if p is None:
            raise ValueError(f"{label}: no P arrival label (stats.afad.p_arrival or "
                             f"stats.obspy_gen.p_arrival) for centre='p_arrival'")
        start = max(tr.stats.starttime for tr in record)
        if isinstance(p, UTCDateTime) or (isinstance(p, str) and "T" in p):
            offset = UTCDateTime(p) - start
        else:
            offset = float(p)
        middle = int(round(offset * sampling_rate))
    # Crop (or zero-pad, symmetrically for centre="record") to seq_len samples around middle;
    # statistics come from the recorded part only and padding stays at the channel mean (0).
    first = middle - seq_len // 2
    lo, hi = max(first, 0), min(first + seq_len, n)
    if hi <= lo:
        raise ValueError(f"{label}: the {centre} centre lies outside the record")
    part = x[:, lo:hi]
    mean, std = np.zeros(3), np.ones(3)
    if standardise:
        mean = part.mean(axis=1)
        std = part.std(axis=1)
        std[std == 0] = 1.0
        part = (part - mean[:, None]) / std[:, None]
    out = np.zeros((3, seq_len))
    out[:, lo - first:hi - first] = part
    if return_start:
        return out.astype(np.float32), mean, std, first
    return out.astype(np.float32), mean, std


class StationDataset:
    """Records grouped by station, served preprocessed (see module docstring).

    Build it with :meth:`from_files`, :meth:`from_directory` or :meth:`from_streams`.

    Parameters
    ----------
    refs : list of RecordRef
    seq_len : int, optional
        Samples per record. Default: 6000 (60 s at 100 Hz, the TimesNet-Gen paper) with
        ``centre="record"``; 1500 (15 s, the CNN-LSTM Vs30 paper) centred on the PGA or P.
    sampling_rate : float
        Hz (default 100).
    centre : {"record", "pga", "p_arrival", "auto"}
        Where the ``seq_len`` window is centred (see :func:`preprocess`).
    streams : list of obspy.Stream, optional
        The in-memory records that integer ``RecordRef.source`` values point into.
    stations : list of str, optional
        The station list that fixes ``station_index`` (default: sorted stations of ``refs``);
        pass the training set's list to keep indices consistent across splits.

    Examples
    --------
    >>> from obspy import read
    >>> st = read()
    >>> ds = StationDataset.from_streams([st, st.copy()], seq_len=2000)
    >>> len(ds), ds.stations
    (2, ['RJOB'])
    >>> sample = ds[0]
    >>> sample.data.shape, sample.station
    ((3, 2000), 'RJOB')
    """

    def __init__(self, refs, seq_len=None, sampling_rate=100.0, centre="record", streams=None,
                 stations=None):
        if centre not in CENTRES:
            raise ValueError(f"centre={centre!r} is not one of {', '.join(CENTRES)}")
        if seq_len is None:
            seq_len = int((60.0 if centre in ("record", "auto") else 15.0) * sampling_rate)
        if int(seq_len) != seq_len or seq_len < 2:
            raise ValueError(f"seq_len={seq_len!r} must be an integer >= 2")
        self.refs = list(refs)
        self.seq_len = int(seq_len)
        self.sampling_rate = float(sampling_rate)
        self.centre = centre
        self._streams = streams
        self.stations = list(stations) if stations is not None else sorted(
            {r.station for r in self.refs})
        self._station_index = {s: i for i, s in enumerate(self.stations)}
        self._cache = (None, None)  # last file read: records of one file are often adjacent

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_streams(cls, streams, **kwargs) -> "StationDataset":
        """Dataset over Streams in memory (each split into records).

        Examples
        --------
        >>> from obspy import read
        >>> len(StationDataset.from_streams(read()))
        1
        """
        if isinstance(streams, Stream):
            streams = [streams]
        records = [rec for st in streams for rec in split_records(st)]
        refs = [RecordRef(rec[0].stats.station, i, min(tr.stats.starttime for tr in rec),
                          _labels_of(rec[0])) for i, rec in enumerate(records)]
        return cls(refs, streams=records, **kwargs)

    @classmethod
    def from_files(cls, paths, labels=None, errors="warn", **kwargs) -> "StationDataset":
        """Index record files (any format obspy.read knows) by reading headers only.

        Parameters
        ----------
        paths : iterable of str or Path
        labels : str, Path or dict, optional
            Extra per-record labels: a CSV with a ``file`` column (file name or path) or a dict
            file name -> dict. Joined on the file's name.
        errors : {"warn", "raise"}
            What to do with a file that cannot be read: skip it with a warning naming it, or
            raise.

        Examples
        --------
        >>> import tempfile, os
        >>> from obspy import read
        >>> d = tempfile.mkdtemp()
        >>> read().write(os.path.join(d, "a.mseed"), format="MSEED")
        >>> ds = StationDataset.from_files([os.path.join(d, "a.mseed")], seq_len=1000)
        >>> len(ds), ds.refs[0].station
        (1, 'RJOB')
        """
        import warnings
        table = _label_table(labels)

        def skip(path, exc):
            if errors == "raise":
                raise ValueError(f"{path}: cannot read: {exc}") from exc
            warnings.warn(f"{path}: skipped, cannot read: {exc}")

        # One pass over the headers of all files: records stored one component per file (PEER,
        # K-NET) are put together, and records of different files stay apart (read_records).
        st = read_records(sorted(str(p) for p in paths), headonly=True, on_error=skip)
        refs, seen = [], {}
        for rec in split_records(st):
            source = trace_source(rec[0])
            k = seen.get(source, 0)
            seen[source] = k + 1
            extra = next((table[os.path.basename(f)] for f in source_files(source)
                          if os.path.basename(f) in table), {})
            refs.append(RecordRef(rec[0].stats.station, source,
                                  min(tr.stats.starttime for tr in rec),
                                  {**_labels_of(rec[0]), **extra}, position=k))
        return cls(refs, **kwargs)

    @classmethod
    def from_directory(cls, folder, pattern="*.mseed", recursive=True, **kwargs):
        """Index every file matching ``pattern`` below ``folder``.

        A label table in the folder with a ``file`` column is joined automatically:
        ``labels.csv``, or the ``records.csv`` that ``obspy-gen simulate`` writes (true f0,
        Vs30, P/S arrivals, magnitude, ... of every simulated record).

        Examples
        --------
        >>> import tempfile, os
        >>> from obspy import read
        >>> d = tempfile.mkdtemp()
        >>> read().write(os.path.join(d, "a.mseed"), format="MSEED")
        >>> len(StationDataset.from_directory(d))
        1
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a directory")
        files = folder.rglob(pattern) if recursive else folder.glob(pattern)
        for name in ("labels.csv", "records.csv"):
            if "labels" not in kwargs and (folder / name).is_file():
                kwargs["labels"] = folder / name
        return cls.from_files([p for p in files if p.is_file()], **kwargs)

    # -- access -------------------------------------------------------------------------
    def __len__(self):
        return len(self.refs)

    def __repr__(self):
        return (f"StationDataset({len(self)} records, {len(self.stations)} stations, "
                f"seq_len={self.seq_len}, centre={self.centre!r})")

    def indices_of(self, station) -> list:
        """Positions of the records of ``station``."""
        return [i for i, r in enumerate(self.refs) if r.station == station]

    def record(self, i) -> Stream:
        """Record ``i`` as read (no preprocessing)."""
        ref = self.refs[i]
        if isinstance(ref.source, int):
            return self._streams[ref.source]
        path, cached = self._cache
        if path != ref.source:
            cached = split_records(read_records(source_files(ref.source)))
            self._cache = (ref.source, cached)
        if ref.position < len(cached):
            rec = cached[ref.position]
            if rec[0].stats.station == ref.station and abs(
                    min(tr.stats.starttime for tr in rec) - ref.starttime) < 1e-3:
                return rec
        raise ValueError(f"{ref.source}: record of {ref.station} at {ref.starttime} not found "
                         f"(file changed since indexing?)")

    def __getitem__(self, i) -> Sample:
        ref = self.refs[i]
        data, mean, std = preprocess(self.record(i), self.seq_len, self.sampling_rate,
                                     self.centre, p_arrival=ref.labels.get("p_arrival"))
        return Sample(data, mean, std, ref.station, self._station_index.get(ref.station, -1),
                      ref.labels)

    # -- subsets ------------------------------------------------------------------------
    def subset(self, stations=None, indices=None, keep_station_list=True) -> "StationDataset":
        """A dataset over some stations or record positions (same settings).

        Examples
        --------
        >>> from obspy import read
        >>> ds = StationDataset.from_streams(read(), seq_len=100)
        >>> len(ds.subset(stations=["RJOB"]))
        1
        >>> ds.subset(stations=["NOPE"])
        Traceback (most recent call last):
        ...
        ValueError: unknown station(s) NOPE; known: RJOB
        """
        if stations is not None:
            wanted = set(stations)
            unknown = wanted - set(self.stations)
            if unknown and len(self):
                raise ValueError(f"unknown station(s) {', '.join(sorted(unknown))}; known: "
                                 f"{', '.join(self.stations)}")
            indices = [i for i, r in enumerate(self.refs) if r.station in wanted]
        indices = list(range(len(self))) if indices is None else list(indices)
        return StationDataset([self.refs[i] for i in indices], self.seq_len,
                              self.sampling_rate, self.centre, self._streams,
                              self.stations if keep_station_list else None)

    def split(self, fractions=(0.7, 0.15, 0.15), seed=0):
        """Station-wise split: no station is in two parts.

        Stations are shuffled with ``seed`` and dealt out so that each part holds about its
        fraction of the *records*.

        Returns
        -------
        tuple of StationDataset
            One per fraction (e.g. train, validation, test).

        Examples
        --------
        >>> from obspy import read
        >>> recs = []
        >>> for k in range(10):
        ...     st = read()
        ...     for tr in st:
        ...         tr.stats.station = f"S{k}"
        ...     recs.append(st)
        >>> train, val, test = StationDataset.from_streams(recs, seq_len=100).split(seed=1)
        >>> len(train) + len(val) + len(test), set(train.stations) == set(test.stations)
        (10, True)
        >>> set(r.station for r in train.refs) & set(r.station for r in test.refs)
        set()
        """
        if not math.isclose(sum(fractions), 1.0) or min(fractions) < 0:
            raise ValueError(f"fractions {fractions} must be >= 0 and sum to 1")
        stations = sorted({r.station for r in self.refs})
        random.Random(seed).shuffle(stations)
        counts = {s: 0 for s in stations}
        for r in self.refs:
            counts[r.station] += 1
        targets = np.cumsum(fractions) * len(self)
        parts = [[] for _ in fractions]
        done = 0
        for s in stations:
            # The part whose cumulative target the station's middle record falls under.
            k = int(np.searchsorted(targets, done + counts[s] / 2, side="right"))
            parts[min(k, len(parts) - 1)].append(s)
            done += counts[s]
        return tuple(self.subset(stations=p) if p else self.subset(indices=[]) for p in parts)

    def torch(self):
        """This dataset as a :class:`torch.utils.data.Dataset` (torch imported only here).

        Items are dicts of tensors: ``data`` (3, seq_len) float32, ``mean``/``std`` (3,),
        ``station_index`` (int64).
        """
        import torch

        class _TorchView(torch.utils.data.Dataset):
            def __init__(self, dataset):
                self.dataset = dataset

            def __len__(self):
                return len(self.dataset)

            def __getitem__(self, i):
                s = self.dataset[i]
                return {"data": torch.from_numpy(s.data),
                        "mean": torch.from_numpy(s.mean.astype(np.float32)),
                        "std": torch.from_numpy(s.std.astype(np.float32)),
                        "station_index": torch.tensor(s.station_index, dtype=torch.int64)}

        return _TorchView(self)


def _label_table(labels) -> dict:
    if labels is None:
        return {}
    if isinstance(labels, dict):
        return {os.path.basename(k): dict(v) for k, v in labels.items()}
    table = {}
    with open(labels, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "file" not in reader.fieldnames:
            raise ValueError(f"{labels}: label table needs a 'file' column")
        for row in reader:
            name = os.path.basename(row.pop("file"))
            # Codes stay strings: station "0205" is not the number 205.
            table[name] = {k: (v if k in _CODE_COLUMNS else _number(v))
                           for k, v in row.items() if v not in ("", None)}
    return table


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value

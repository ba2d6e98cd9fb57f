"""Preprocessed records in memory for training torch models, and their splits.

Records are read once (:func:`load_records`, :func:`materialise`: N/E/Z, 100 Hz, centred
window of ``seq_len`` samples, standardised per record and channel with the means and
standard deviations kept) and held as float32 (72 kB per 60-s record), which keeps a 2-core
CPU busy with the network rather than with miniSEED reading. :func:`station_split` holds out
whole stations (pre-training), :func:`record_split` some records of every station
(station-conditioned fine-tuning). Used by TimesNet-Gen and the CVAE alike.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Materialised:
    """Preprocessed records in memory.

    Attributes
    ----------
    data : numpy.ndarray (n, 3, seq_len) float32
        Standardised N, E, Z.
    mean, std : numpy.ndarray (n, 3)
    station : list of str
        Station code of every record.
    meta : list of dict
        ``network``, ``location``, ``units`` of every record.
    source : str
        Where the records came from (for the checkpoint's description).

    Examples
    --------
    >>> m = Materialised(np.zeros((2, 3, 10), np.float32), np.zeros((2, 3)), np.ones((2, 3)),
    ...                  ["B", "A"])
    >>> m.stations, m.indices(["A"]), len(m.torch())
    (['A', 'B'], [1], 2)
    """

    data: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    station: list
    meta: list = field(default_factory=list)
    source: str = ""
    centre: str = "record"

    def __len__(self):
        return len(self.data)

    @property
    def stations(self) -> list:
        """Station codes, sorted."""
        return sorted(set(self.station))

    def indices(self, stations) -> list:
        """Positions of the records of ``stations``."""
        wanted = set(stations)
        return [i for i, s in enumerate(self.station) if s in wanted]

    def torch(self, indices=None, station_order=None):
        """A torch Dataset of dicts ``data``, ``mean``, ``std``, ``station_index``."""
        import torch
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=int)
        order = {s: k for k, s in enumerate(station_order or self.stations)}
        st = torch.tensor([order.get(self.station[i], -1) for i in idx], dtype=torch.long)
        data = torch.from_numpy(self.data[idx])
        mean = torch.from_numpy(self.mean[idx].astype(np.float32))
        std = torch.from_numpy(self.std[idx].astype(np.float32))

        class _Records(torch.utils.data.Dataset):
            def __len__(self):
                return len(idx)

            def __getitem__(self, i):
                return {"data": data[i], "mean": mean[i], "std": std[i],
                        "station_index": st[i]}

        return _Records()


def load_records(data, seq_len, *, sampling_rate=100.0, pattern="*.mseed", centre="record"):
    """A :class:`~obspy_gen.io.dataset.StationDataset` over ``data``.

    Parameters
    ----------
    data : str, Path, StationDataset, Stream or list of Stream
        A folder (searched recursively for ``pattern``; a ``labels.csv`` there is joined),
        a dataset, or records in memory.

    Examples
    --------
    >>> from obspy import read
    >>> load_records(read(), 1000).seq_len
    1000
    """
    from obspy import Stream

    from obspy_gen.io.dataset import StationDataset
    if isinstance(data, StationDataset):
        if data.seq_len != seq_len or data.sampling_rate != sampling_rate:
            return StationDataset(data.refs, seq_len, sampling_rate, data.centre,
                                  data._streams, data.stations)
        return data
    from obspy_gen.io.dataset import CENTRES
    if centre not in CENTRES:
        raise ValueError(f"centre={centre!r} is not one of {', '.join(CENTRES)}")
    if isinstance(data, (str, os.PathLike)):
        if not Path(data).is_dir():
            raise ValueError(f"{data}: not a directory of records")
        ds = StationDataset.from_directory(data, pattern=pattern, seq_len=seq_len,
                                           sampling_rate=sampling_rate, centre=centre)
        if len(ds) == 0:
            raise ValueError(f"{data}: no records matching {pattern!r}")
        return ds
    if isinstance(data, Stream) or isinstance(data, (list, tuple)):
        return StationDataset.from_streams(data, seq_len=seq_len, sampling_rate=sampling_rate,
                                           centre=centre)
    raise TypeError(f"data must be a folder, a StationDataset or Streams, got "
                    f"{type(data).__name__}")


def materialise(dataset, quiet=True, stations=None) -> Materialised:
    """Preprocess every record of ``dataset`` (optionally only ``stations``) into memory.

    Unreadable or broken records are skipped with a warning naming them.

    Examples
    --------
    >>> from obspy import read
    >>> m = materialise(load_records(read(), 1000))
    >>> m.data.shape, m.station
    ((1, 3, 1000), ['RJOB'])
    """
    import warnings

    from obspy_gen.api import progress
    from obspy_gen.io.dataset import preprocess
    wanted = None if stations is None else set(stations)
    idx = [i for i, r in enumerate(dataset.refs) if wanted is None or r.station in wanted]
    n = len(idx)
    data = np.zeros((n, 3, dataset.seq_len), dtype=np.float32)
    mean, std = np.zeros((n, 3)), np.ones((n, 3))
    station, meta, keep = [], [], []
    for k, i in enumerate(progress(idx, quiet, desc="preprocessing", unit="record")):
        try:
            rec = dataset.record(i)
            data[k], mean[k], std[k] = preprocess(
                rec, dataset.seq_len, dataset.sampling_rate, dataset.centre,
                p_arrival=dataset.refs[i].labels.get("p_arrival"))
        except (ValueError, OSError) as exc:
            warnings.warn(f"{dataset.refs[i].source}: record skipped: {exc}")
            continue
        keep.append(k)
        s = rec[0].stats
        station.append(s.station)
        meta.append({"network": s.network, "location": s.location,
                     "units": s.get("units") or "m/s**2"})
    keep = np.asarray(keep, dtype=int)
    return Materialised(data[keep], mean[keep], std[keep], station, meta,
                        getattr(dataset, "source", "") or "",
                        getattr(dataset, "centre", "record"))


def station_split(mat: Materialised, fraction: float, seed: int) -> tuple:
    """Station-wise train/validation split of record positions (no station in both).

    Examples
    --------
    >>> m = Materialised(np.zeros((4, 3, 2), np.float32), np.zeros((4, 3)), np.ones((4, 3)),
    ...                  ["A", "A", "B", "C"])
    >>> tr, va = station_split(m, 0.3, seed=0)
    >>> sorted(tr + va), {m.station[i] for i in tr} & {m.station[i] for i in va}
    ([0, 1, 2, 3], set())
    """
    stations = mat.stations
    if fraction <= 0 or len(stations) < 2:
        return list(range(len(mat))), []
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(stations))
    counts = {s: mat.station.count(s) for s in stations}
    target, val = fraction * len(mat), []
    for s in order:
        if sum(counts[v] for v in val) >= target or len(val) == len(stations) - 1:
            break
        val.append(s)
    val_set = set(val)
    tr = [i for i, s in enumerate(mat.station) if s not in val_set]
    va = [i for i, s in enumerate(mat.station) if s in val_set]
    return tr, va


def record_split(mat: Materialised, fraction: float, seed: int, stations=None) -> tuple:
    """Per-station record split: each station keeps ~``fraction`` of its records for
    validation (at least one when it has 4 or more).

    Examples
    --------
    >>> m = Materialised(np.zeros((8, 3, 2), np.float32), np.zeros((8, 3)), np.ones((8, 3)),
    ...                  ["A"] * 4 + ["B"] * 4)
    >>> tr, va = record_split(m, 0.25, seed=0)
    >>> len(tr), sorted(m.station[i] for i in va)
    (6, ['A', 'B'])
    """
    rng = np.random.default_rng(seed)
    tr, va = [], []
    for s in (stations or mat.stations):
        idx = mat.indices([s])
        k = int(round(fraction * len(idx)))
        if fraction > 0 and len(idx) >= 4:
            k = max(k, 1)
        k = min(k, len(idx) - 1) if idx else 0
        perm = list(rng.permutation(idx))
        va += sorted(int(i) for i in perm[:k])
        tr += sorted(int(i) for i in perm[k:])
    return sorted(tr), sorted(va)


def subset(mat: Materialised, idx) -> Materialised:
    """The records of ``mat`` at positions ``idx`` (a new :class:`Materialised`).

    Examples
    --------
    >>> m = Materialised(np.zeros((3, 3, 2), np.float32), np.zeros((3, 3)), np.ones((3, 3)),
    ...                  ["A", "B", "C"])
    >>> subset(m, [2, 0]).station
    ['C', 'A']
    """
    idx = list(idx)
    return Materialised(mat.data[idx], mat.mean[idx], mat.std[idx],
                        [mat.station[i] for i in idx],
                        [mat.meta[i] for i in idx] if mat.meta else [], mat.source,
                        mat.centre)


__all__ = ["Materialised", "load_records", "materialise", "station_split", "record_split",
           "subset"]

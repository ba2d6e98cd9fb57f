"""Labelled record windows for training and evaluating the CNN-LSTM (numpy only, no torch).

:func:`load_windows` turns a folder of records with Vs30 labels (e.g. what ``obspy-gen
simulate --catalog corpus`` writes: miniSEED files plus ``records.csv`` with ``vs30``,
``p_arrival``, ``s_arrival``) into a :class:`WindowSet` -- every record's 4-channel window
(:func:`~obspy_gen.plugins.cnn_lstm.windows.make_window`) in one float32 array plus its labels.
Building it reads and windows every record (~6000 records: a minute or two on 2 cores), so the
result is cached as ``.npy`` + ``.json`` (never pickles) under ``cache_dir`` (default
``$OBSPY_GEN_CACHE`` or ``<tmp>/obspy-gen-cache``), keyed by the files (names, sizes,
modification times) and the window settings.

:func:`split_stations` deals stations (never records) into train/validation/test parts,
stratified by NEHRP class, so that every part holds every class.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obspy_gen.api import nehrp_class, progress
from obspy_gen.plugins.cnn_lstm.windows import make_window

#: Bumped when the window format changes (invalidates caches).
WINDOW_FORMAT = 1


@dataclass
class WindowSet:
    """Windows of labelled records.

    Attributes
    ----------
    data : numpy.ndarray, shape (n, 4, samples), float32
        N, E, Z and P/S mask (see :mod:`~obspy_gen.plugins.cnn_lstm.windows`).
    vs30 : numpy.ndarray, shape (n,)
        Label of every record (m/s).
    station : list of str
        Station code of every record.
    centre : list of str
        Centre used for every record (``"pga"`` where a P centre fell back).
    ps_source : list of str
        Where the P/S arrivals came from: ``labels``, ``picker`` or ``none``.
    files : list of str
        File of every record.
    source : str
        Where the records came from (for checkpoint descriptions).

    Examples
    --------
    >>> ws = WindowSet(np.zeros((3, 4, 10), np.float32), np.array([300., 300., 800.]),
    ...                ["A", "A", "B"])
    >>> ws.stations, ws.station_vs30()
    (['A', 'B'], {'A': 300.0, 'B': 800.0})
    >>> len(ws.subset(ws.indices(["B"])))
    1
    """

    data: np.ndarray
    vs30: np.ndarray
    station: list
    centre: list = field(default_factory=list)
    ps_source: list = field(default_factory=list)
    files: list = field(default_factory=list)
    source: str = ""

    def __len__(self):
        return len(self.vs30)

    @property
    def stations(self) -> list:
        """Station codes, sorted."""
        return sorted(set(self.station))

    def station_vs30(self) -> dict:
        """Station -> Vs30 label (the median of its records' labels)."""
        out = {}
        for s in self.stations:
            out[s] = float(np.median(self.vs30[self.indices([s])]))
        return out

    def indices(self, stations) -> list:
        """Positions of the records of ``stations``."""
        wanted = set(stations)
        return [i for i, s in enumerate(self.station) if s in wanted]

    def concat(self, other: "WindowSet", prefix: str = "") -> "WindowSet":
        """These records followed by ``other``'s (its station codes prefixed with ``prefix``,
        so that equal codes of two corpora stay two stations).

        Examples
        --------
        >>> a = WindowSet(np.zeros((1, 4, 10), np.float32), np.array([300.0]), ["A"])
        >>> a.concat(a, "x:").station
        ['A', 'x:A']
        """
        def both(mine, theirs, n_mine, n_theirs, fill=""):
            if not mine and not theirs:
                return []
            return (list(mine) or [fill] * n_mine) + (list(theirs) or [fill] * n_theirs)
        n, m = len(self), len(other)
        return WindowSet(np.concatenate([self.data, other.data]),
                         np.concatenate([self.vs30, other.vs30]),
                         list(self.station) + [prefix + s for s in other.station],
                         both(self.centre, other.centre, n, m),
                         both(self.ps_source, other.ps_source, n, m, "none"),
                         both(self.files, other.files, n, m), self.source)

    def subset(self, idx) -> "WindowSet":
        """The records at positions ``idx``."""
        idx = list(idx)

        def pick(values):
            return [values[i] for i in idx] if values else []
        return WindowSet(self.data[idx], self.vs30[idx], pick(self.station), pick(self.centre),
                         pick(self.ps_source), pick(self.files), self.source)


def cache_dir(path=None) -> Path:
    """Folder of cached windows: ``path``, else ``$OBSPY_GEN_CACHE``, else ``<tmp>/obspy-gen-cache``.

    Examples
    --------
    >>> cache_dir("/some/where").name
    'where'
    """
    if path:
        return Path(path)
    return Path(os.environ.get("OBSPY_GEN_CACHE") or
                os.path.join(tempfile.gettempdir(), "obspy-gen-cache"))


def _key(files, settings) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": WINDOW_FORMAT, **settings}, sort_keys=True).encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _save_cache(base: Path, ws: WindowSet) -> None:
    from obspy_gen.io.atomic import atomic_path
    base.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(base.with_suffix(".npy")) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, ws.data, allow_pickle=False)
    meta = {"vs30": ws.vs30.tolist(), "station": ws.station, "centre": ws.centre,
            "ps_source": ws.ps_source, "files": ws.files, "source": ws.source}
    with atomic_path(base.with_suffix(".json")) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh)


def _load_cache(base: Path):
    npy, meta = base.with_suffix(".npy"), base.with_suffix(".json")
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        data = np.load(npy, allow_pickle=False, mmap_mode=None)
        with open(meta, encoding="utf-8") as fh:
            m = json.load(fh)
        ws = WindowSet(data, np.asarray(m["vs30"], dtype=np.float64), m["station"],
                       m["centre"], m["ps_source"], m["files"], m["source"])
    except (OSError, ValueError, KeyError):
        return None
    return ws if len(ws.data) == len(ws.vs30) else None


def load_windows(data, *, window=15.0, sampling_rate=100.0, centre="pga", pattern="*.mseed",
                 cache=True, cache_path=None, quiet=True) -> WindowSet:
    """Windows and Vs30 labels of every labelled record in a folder (cached; module notes).

    Parameters
    ----------
    data : str or Path
        Folder searched recursively for ``pattern``; a ``labels.csv`` or ``records.csv`` with a
        ``file`` column is joined (it must give ``vs30`` unless the traces carry it).
    window, sampling_rate, centre
        As :func:`~obspy_gen.plugins.cnn_lstm.windows.make_window`.
    cache : bool
        Read/write the cache.
    cache_path : str, optional
        Cache folder (see :func:`cache_dir`).
    quiet : bool
        No progress bar.

    Returns
    -------
    WindowSet
        Records without a Vs30 label or that cannot be windowed are skipped with one warning
        naming how many and the first few files and reasons.

    Raises
    ------
    ValueError
        ``data`` is not a folder, or holds no usable labelled record.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> read().write(os.path.join(d, "a.mseed"), format="MSEED")
    >>> with open(os.path.join(d, "labels.csv"), "w") as fh:
    ...     _ = fh.write("file,vs30\\na.mseed,420\\n")
    >>> ws = load_windows(d, window=10.0, cache=False)
    >>> ws.data.shape, ws.vs30.tolist(), ws.ps_source
    ((1, 4, 1000), [420.0], ['picker'])
    """
    from obspy_gen.io.dataset import StationDataset
    folder = Path(data)
    if not folder.is_dir():
        raise ValueError(f"{data}: not a directory of records")
    # The cache key needs only the file list (no header reads): a hit costs a directory walk.
    files = sorted(str(p) for p in folder.rglob(pattern) if p.is_file())
    if not files:
        raise ValueError(f"{data}: no records matching {pattern!r}")
    label_files = [str(folder / n) for n in ("labels.csv", "records.csv")
                   if (folder / n).is_file()]
    settings = {"window": float(window), "sampling_rate": float(sampling_rate),
                "centre": centre, "pattern": pattern}
    base = cache_dir(cache_path) / "cnn_lstm" / _key(files + label_files, settings)
    if cache:
        hit = _load_cache(base)
        if hit is not None:
            return hit
    ds = StationDataset.from_directory(folder, pattern=pattern, centre="pga")
    if len(ds) == 0:
        raise ValueError(f"{data}: no readable records matching {pattern!r}")
    seq = int(round(window * sampling_rate))
    data_out = np.zeros((len(ds), 4, seq), dtype=np.float32)
    vs30, station, centres, sources, used_files, keep = [], [], [], [], [], []
    skipped = []
    for i in progress(range(len(ds)), quiet, desc="windows", unit="record"):
        ref = ds.refs[i]
        v = ref.labels.get("vs30")
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = None
        if v is None or not v > 0:
            skipped.append(f"{ref.source}: no vs30 label")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = make_window(ds.record(i), window=window, sampling_rate=sampling_rate,
                                centre=centre, labels=ref.labels)
        except (ValueError, OSError) as exc:
            skipped.append(f"{ref.source}: {exc}")
            continue
        data_out[i] = w.data
        keep.append(i)
        vs30.append(v)
        station.append(str(ref.station))
        centres.append(w.centre)
        sources.append(w.ps_source)
        used_files.append(str(ref.source))
    if skipped:
        warnings.warn(f"{data}: {len(skipped)} record(s) skipped, e.g. "
                      + "; ".join(skipped[:3]))
    if not keep:
        raise ValueError(f"{data}: no usable record with a vs30 label")
    ws = WindowSet(data_out[keep], np.asarray(vs30), station, centres, sources, used_files,
                   str(folder))
    if cache:
        try:
            _save_cache(base, ws)
        except OSError as exc:  # a read-only /tmp must not stop training
            warnings.warn(f"{base}: window cache not written: {exc}")
    return ws


def renormalise(x: np.ndarray) -> np.ndarray:
    """Normalise cut-out windows again, as :func:`~.windows.make_window` does.

    ``x`` has shape (..., 4, samples): channels 0-2 are demeaned over their non-padded samples
    (padding -- all three channels exactly 0 -- stays 0) and divided by their common RMS; the
    P/S mask (channel 3) is left as it is. A window cut out of a wider window this way equals
    the window :func:`~.windows.make_window` makes with the matching ``shift`` (up to float32
    rounding).

    Examples
    --------
    >>> x = np.zeros((1, 4, 6), np.float32)
    >>> x[0, :3, 1:] = [[1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]
    >>> y = renormalise(x)
    >>> y[0, 0].round(3).tolist(), float(np.sqrt((y[0, :3, 1:] ** 2).mean()))
    ([0.0, -2.449, -1.225, 0.0, 1.225, 2.449], 1.0)
    """
    x = np.array(x, dtype=np.float32, copy=True)
    sig = x[..., :3, :].astype(np.float64)
    valid = np.any(sig != 0, axis=-2, keepdims=True)
    n = np.maximum(valid.sum(axis=-1, keepdims=True), 1)
    sig = np.where(valid, sig - (sig * valid).sum(axis=-1, keepdims=True) / n, 0.0)
    rms = np.sqrt((sig ** 2).sum(axis=(-2, -1), keepdims=True) / (3 * n))
    x[..., :3, :] = np.where(rms > 0, sig / np.where(rms > 0, rms, 1.0), 0.0)
    return x


def crop_windows(data: np.ndarray, samples: int, offsets) -> np.ndarray:
    """Windows of ``samples`` cut out of wider windows at ``offsets`` and renormalised.

    Parameters
    ----------
    data : numpy.ndarray, shape (n, 4, wide)
        Windows made with a longer ``window`` (e.g. by :func:`load_windows`).
    samples : int
        Length of the windows to cut.
    offsets : int or array_like of int, shape (n,)
        First sample of each cut; ``(wide - samples) // 2`` is the centred window, and
        ``(wide - samples) // 2 + round(shift * sampling_rate)`` the window
        :func:`~.windows.make_window` makes with ``shift``.

    Returns
    -------
    numpy.ndarray, shape (n, 4, samples), float32

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.plugins.cnn_lstm.windows import make_window
    >>> wide = make_window(read(), window=20.0, centre="p_arrival").data[None]
    >>> cut = crop_windows(wide, 1000, 500 + 150)
    >>> ref = make_window(read(), window=10.0, centre="p_arrival", shift=1.5).data
    >>> bool(np.allclose(cut[0], ref, atol=1e-4))
    True
    """
    data = np.asarray(data)
    n, wide = len(data), data.shape[-1]
    offsets = np.broadcast_to(np.asarray(offsets, dtype=int), (n,))
    if np.any(offsets < 0) or np.any(offsets + samples > wide):
        raise ValueError(f"cuts of {samples} samples at offsets {offsets.min()}-"
                         f"{offsets.max()} leave the {wide}-sample windows")
    out = np.empty((n, data.shape[1], samples), dtype=np.float32)
    for i, o in enumerate(offsets):
        out[i] = data[i, :, o:o + samples]
    return renormalise(out)


def split_stations(station_vs30: dict, fractions=(0.65, 0.15, 0.2), seed=0) -> tuple:
    """Station-wise split, stratified by NEHRP class: lists of station codes, one per part.

    Within each class the stations are shuffled with ``seed`` and dealt out by the
    fractions (rounded; every part of a class with at least as many stations as parts gets
    at least one where its fraction is positive).

    Examples
    --------
    >>> vs = {f"S{i}": v for i, v in enumerate([300, 310, 320, 330, 800, 810, 820, 830])}
    >>> tr, va, te = split_stations(vs, (0.5, 0.25, 0.25), seed=1)
    >>> len(tr), len(va), len(te), set(tr) & set(te)
    (4, 2, 2, set())
    """
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions {fractions} must be >= 0 and sum to 1")
    by_class = {}
    for s in sorted(station_vs30):
        by_class.setdefault(nehrp_class(station_vs30[s]), []).append(s)
    parts = [[] for _ in fractions]
    rng = np.random.default_rng(seed)
    for cls in sorted(by_class):
        members = list(rng.permutation(by_class[cls]))
        n = len(members)
        counts = [int(round(f * n)) for f in fractions[1:]]
        if n >= len(fractions):
            counts = [max(c, 1) if f > 0 else 0 for c, f in zip(counts, fractions[1:])]
        counts = [min(c, max(0, n - 1 - sum(counts[:k]))) for k, c in enumerate(counts)]
        first = n - sum(counts)
        bounds = np.cumsum([0, first] + counts)
        for k in range(len(fractions)):
            parts[k] += [str(m) for m in members[bounds[k]:bounds[k + 1]]]
    return tuple(sorted(p) for p in parts)


__all__ = ["WindowSet", "load_windows", "split_stations", "cache_dir", "crop_windows",
           "renormalise", "WINDOW_FORMAT"]

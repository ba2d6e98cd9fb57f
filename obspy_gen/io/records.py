"""Reading record files so that records of different files stay apart.

:func:`read_records` reads files with :func:`obspy.read` and writes each trace's file of origin
into ``trace.stats.obspy_gen_source`` (see :mod:`obspy_gen.core.records`), so that
:func:`obspy_gen.split_records`, ``Stream.hvsr()``, the datasets and the generators' zero-shot
pools never take traces of two files for one record, even when their times overlap (PEER
records carry no absolute time). A record stored one component per file (PEER ``.AT2``,
K-NET/KiK-net ``.NS``/``.EW``/``.UD``, one-channel miniSEED files) is put back together: files
that each hold part of a record join when they hold different components of one station,
instrument and units, their times overlap and, where the format names the event (PEER), the
event is the same.
"""
from __future__ import annotations

import os

from obspy import Stream

from obspy_gen.core.records import (SOURCE_KEY, SOURCE_SEPARATOR, channel_component,
                                    station_key)

# Header fields that name the event a trace belongs to, by format namespace: pieces of one
# record must agree on them (PEER files carry no absolute time to tell events apart).
_EVENT_HINTS = (("peer", "record"), ("knet", "evot"))


def _event_of(trace):
    for namespace, key in _EVENT_HINTS:
        attrs = trace.stats.get(namespace)
        if attrs is not None and attrs.get(key) is not None:
            return f"{namespace}:{attrs.get(key)}"
    return ""


def _pieces(path, stream):
    """The partial records of one file: {(station, instrument, units, event): (traces, comps)}.

    A file whose every station/instrument group holds all three components is whole (returns
    {}); traces whose channel names no component are left alone (reported later).
    """
    groups = {}
    for tr in stream:
        try:
            comp, instrument = channel_component(tr.stats.channel)
        except ValueError:
            continue
        key = (station_key(tr), instrument, str(tr.stats.get("units") or ""), _event_of(tr))
        groups.setdefault(key, []).append((comp, tr))
    out = {}
    for key, items in groups.items():
        comps = [c for c, _ in items]
        if set(comps) != {"N", "E", "Z"}:
            out[key] = ([t for _, t in items], comps)
    return out


def _join_pieces(pieces):
    """Give the pieces that form one record a common source (the files joined).

    ``pieces`` maps a key to a list of (path, traces, components). Pieces of one key are
    chained by overlapping time; a chain joins when no component appears twice in it.
    """
    for items in pieces.values():
        items.sort(key=lambda p: (min(t.stats.starttime for t in p[1]), p[0]))
        chains, end = [], None
        for item in items:
            start = min(t.stats.starttime for t in item[1])
            stop = max(t.stats.endtime for t in item[1])
            if chains and start <= end:
                chains[-1].append(item)
                end = max(end, stop)
            else:
                chains.append([item])
                end = stop
        for chain in chains:
            comps = [c for _, _, cs in chain for c in cs]
            paths = list(dict.fromkeys(p for p, _, _ in chain))
            if len(paths) < 2 or len(comps) != len(set(comps)):
                continue  # nothing to join, or ambiguous: each file stays its own record
            source = SOURCE_SEPARATOR.join(sorted(paths))
            for _, traces, _ in chain:
                for tr in traces:
                    tr.stats[SOURCE_KEY] = source


def tag_sources(items) -> list:
    """Tag the traces of files already read with their file of origin, joining the files that
    each hold part of one record (see the module docstring).

    Parameters
    ----------
    items : iterable of (path, obspy.Stream)
        Each file's Stream, as read (modified in place: ``stats.obspy_gen_source`` is set).

    Returns
    -------
    list of (source, obspy.Stream)
        One Stream per source (a file, or the files of a record stored one component per
        file, joined by ``" + "``), in input order.

    Examples
    --------
    >>> from obspy import read
    >>> [(src, len(st)) for src, st in tag_sources([("a.mseed", read()), ("b.mseed", read())])]
    [('a.mseed', 3), ('b.mseed', 3)]
    """
    items = [(os.fspath(path), st) for path, st in items]
    pieces = {}
    for path, st in items:
        for tr in st:
            tr.stats[SOURCE_KEY] = path
        for key, (traces, comps) in _pieces(path, st).items():
            pieces.setdefault(key, []).append((path, traces, comps))
    _join_pieces(pieces)
    out = {}
    for _, st in items:
        for tr in st:
            out.setdefault(tr.stats[SOURCE_KEY], Stream()).append(tr)
    return list(out.items())


def read_records(paths, format=None, *, on_error=None, **kwargs) -> Stream:
    """Read record files into one Stream, each trace tagged with its file of origin.

    Parameters
    ----------
    paths : str, path or iterable of them
        Files any :func:`obspy.read` format (with obspy-gen: also AFAD, AFADMAT, PEER) reads.
    format : str, optional
        Force an ObsPy format (default: detected per file).
    on_error : callable, optional
        ``on_error(path, exception)`` is called for a file that cannot be read (or holds no
        trace), and reading goes on; without it the first such file raises.
    **kwargs
        Passed to :func:`obspy.read` (e.g. ``headonly=True``).

    Returns
    -------
    obspy.Stream
        All traces, in file order, each with ``stats.obspy_gen_source`` = its file's path (for
        a record stored one component per file: the paths of those files, joined by
        ``" + "``; see :func:`tag_sources`).

    Raises
    ------
    ValueError
        A file cannot be read (``"<path>: cannot read: <reason>"``), without ``on_error``.

    Examples
    --------
    Two files holding records of one station that start at the same time are two records:

    >>> import os, tempfile
    >>> from obspy import read
    >>> import obspy_gen
    >>> d = tempfile.mkdtemp()
    >>> for name in ("event1.mseed", "event2.mseed"):
    ...     read().write(os.path.join(d, name), format="MSEED")
    >>> st = read_records([os.path.join(d, "event1.mseed"), os.path.join(d, "event2.mseed")])
    >>> os.path.basename(st[0].stats.obspy_gen_source)
    'event1.mseed'
    >>> len(obspy_gen.split_records(st)), st.hvsr(fmin=1, fmax=20, nfreq=32).n_records
    (2, 2)
    """
    from obspy import read
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    items = []
    for path in paths:
        path = os.fspath(path)
        try:
            st = read(path, format=format, **kwargs) if format else read(path, **kwargs)
            if len(st) == 0:
                raise ValueError("no traces")
        except Exception as exc:  # noqa: BLE001 -- any reader failure: report this file
            if on_error is None:
                raise ValueError(f"{path}: cannot read: {exc}") from exc
            on_error(path, exc)
            continue
        items.append((path, st))
    tag_sources(items)
    out = Stream()
    for _, st in items:
        out += st
    return out

"""Batch engines: many files -> records grouped into stations -> one job per station.

The command line, :mod:`obspy_gen.evaluate` and a cluster all run the same code: every engine
takes a :class:`concurrent.futures.Executor` (``None`` = run here, serially), and its jobs are
top-level functions with picklable arguments, so a ``ProcessPoolExecutor`` (see
:func:`process_pool`) or a Dask client's ``client.get_executor()`` can run them.

Problems with single files or stations never stop a batch: they are handed to ``report(where,
reason)`` (default: a warning) and the batch goes on.

Examples
--------
>>> import tempfile
>>> from obspy_gen.data import bundled_records
>>> out = tempfile.mkdtemp()
>>> summaries, n_failed = run_hvsr(bundled_records()["AOM001"], "default", out, report=print)
>>> n_failed, [round(s["f0"], 2) > 0 for s in summaries.values()]
(0, [True])
"""
from __future__ import annotations

import concurrent.futures
import glob
import json
import multiprocessing
import os
import re
import warnings
from pathlib import Path

from obspy_gen.api import progress as _progress
from obspy_gen.io.atomic import atomic_savefig, atomic_write

#: File suffixes skipped when a folder is expanded (tables, figures and notes, not records).
NOT_RECORDS = {".csv", ".json", ".png", ".html", ".md", ".pdf", ".py", ".pyc", ".log"}


def _warn(where, reason) -> None:
    warnings.warn(f"{where}: {reason}", stacklevel=3)


def expand_inputs(items) -> tuple[list, list]:
    """Files named by paths, globs and directories (recursive), sorted, without duplicates.

    A folder's tables, figures and notes (:data:`NOT_RECORDS` suffixes, e.g. the
    ``stations.csv`` that ``obspy-gen simulate`` writes) are skipped; files named explicitly
    are always taken.

    Returns
    -------
    files : list of str
    unmatched : list of str
        Arguments that matched nothing.

    Examples
    --------
    >>> files, unmatched = expand_inputs(["/nonexistent/*.mseed"])
    >>> files, unmatched
    ([], ['/nonexistent/*.mseed'])
    """
    files, unmatched = [], []
    for item in items:
        item = os.path.expanduser(str(item))
        if os.path.isdir(item):
            found = [str(p) for p in sorted(Path(item).rglob("*")) if p.is_file()
                     and not p.name.startswith(".") and p.suffix.lower() not in NOT_RECORDS]
        elif os.path.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
        if not found:
            unmatched.append(item)
        files.extend(found)
    return list(dict.fromkeys(files)), unmatched


def read_file(path, fmt=None):
    """One file read with :func:`obspy.read`: ``(path, Stream, None)`` or ``(path, None,
    reason)``. Never raises (a job of :func:`read_files`).

    Records that obspy-gen wrote get their ``stats.obspy_gen`` and ``stats.units`` back from
    the ``records.csv`` beside them (:func:`obspy_gen.io.provenance.restore_provenance`).

    Examples
    --------
    >>> read_file("/nonexistent.mseed")[2].startswith("cannot read")
    True
    """
    from obspy import read

    from obspy_gen.io.provenance import restore_provenance
    try:
        st = read(path, format=fmt) if fmt else read(path)
        if len(st) == 0:
            raise ValueError("no traces")
        restore_provenance(st, path)   # miniSEED keeps no stats.obspy_gen / units
        return path, st, None
    except Exception as exc:  # any reader failure: report this file, go on with the rest
        return path, None, f"cannot read: {exc}"


def map_jobs(func, tasks, executor=None, *, quiet=True, desc=None):
    """``[func(*t) for t in tasks]``, run by ``executor`` when given; results in task order.

    Parameters
    ----------
    func : callable
        A top-level (picklable) function.
    tasks : list of tuple
        Arguments of each call.
    executor : concurrent.futures.Executor, optional
        ``None`` runs the jobs here, one after the other.
    quiet : bool
        No progress bar.

    Examples
    --------
    >>> import operator
    >>> map_jobs(operator.add, [(1, 2), (3, 4)])
    [3, 7]
    """
    tasks = list(tasks)
    if executor is None or len(tasks) < 2:
        return [func(*t) for t in _progress(tasks, quiet, desc=desc)]
    futures = [executor.submit(func, *t) for t in tasks]
    for _ in _progress(concurrent.futures.as_completed(futures), quiet, total=len(futures),
                       desc=desc):
        pass
    return [f.result() for f in futures]


def read_files(files, fmt=None, *, executor=None, report=None, quiet=True):
    """Read many files; returns ``(list of (file, Stream), list of failed files)``.

    Unreadable files are handed to ``report(file, reason)`` and skipped. Every trace gets its
    file of origin in ``stats.obspy_gen_source`` (:func:`obspy_gen.io.records.tag_sources`);
    the files of a record stored one component per file (PEER, K-NET) form one item, named
    by the files joined with ``" + "``.

    Examples
    --------
    >>> good, failed = read_files(["/nonexistent.mseed"], report=lambda *a: None)
    >>> good, failed
    ([], ['/nonexistent.mseed'])
    """
    from obspy_gen.io.records import tag_sources
    report = report or _warn
    good, failed = [], []
    for path, st, reason in map_jobs(read_file, [(f, fmt) for f in files], executor,
                                     quiet=quiet, desc="reading"):
        if st is None:
            report(path, reason)
            failed.append(path)
        else:
            good.append((path, st))
    # Each trace keeps its file (records of different files stay apart, whatever their
    # times); a record stored one component per file comes back as one item.
    return tag_sources(good), failed


def group_by_station(streams, per_file=False, *, report=None):
    """Group traces by NET.STA.LOC (and instrument, when a station has several).

    Parameters
    ----------
    streams : list of (file, Stream)
        As :func:`read_files` returns them.
    per_file : bool
        One group per file of a station (``<key>__<file name>``).

    Returns
    -------
    dict
        key -> (list of traces, list of source files), in input order.

    Examples
    --------
    >>> from obspy import read
    >>> list(group_by_station([("example", read())]))
    ['BW.RJOB.']
    """
    from obspy_gen.core.records import channel_component, station_key
    report = report or _warn
    groups = {}
    for path, st in streams:
        for tr in st:
            try:
                _, instrument = channel_component(tr.stats.channel)
            except ValueError as exc:
                report(path, str(exc))
                continue
            key = station_key(tr)
            groups.setdefault(key, {}).setdefault(instrument, []).append((path, tr))
    out = {}
    for key, by_instrument in groups.items():
        for instrument, items in sorted(by_instrument.items()):
            k = key if len(by_instrument) == 1 else f"{key}{instrument}"
            if per_file:
                for path in dict.fromkeys(p for p, _ in items):
                    name = f"{k}__{Path(path).name}"
                    if name in out:  # same file name in another folder
                        name = f"{k}__{Path(path).parent.name}_{Path(path).name}"
                    n = 2
                    while name in out:
                        name, n = f"{k}__{Path(path).name}_{n}", n + 1
                    out[name] = ([t for p, t in items if p == path], [path])
            else:
                out[k] = ([t for _, t in items], list(dict.fromkeys(p for p, _ in items)))
    return out


def safe_name(key) -> str:
    """A station key as a file name.

    Examples
    --------
    >>> safe_name("TK.4628.00__a b.mseed")
    'TK.4628.00__a_b.mseed'
    """
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


def hvsr_station_job(key, traces, files, settings, out, plot):
    """HVSR of one station, written to ``out/<key>.json`` (and ``.png``); a job of
    :func:`run_hvsr`. Bad records are skipped with a message.

    Returns
    -------
    (key, summary dict or None, list of (where, reason) messages)
    """
    from obspy import Stream

    from obspy_gen.core.hvsr import check_record, hvsr
    from obspy_gen.core.records import split_records
    messages, good = [], []
    for rec in split_records(Stream(traces)):
        try:
            check_record(rec, settings)
            good.append(rec)
        except ValueError as exc:
            where = ", ".join(files) if len(files) == 1 else key
            # Messages about records read with their origin already name their file(s).
            messages.append((key if str(exc).startswith(tuple(files)) else where, str(exc)))
    if not good:
        messages.append((key, "no usable record"))
        return key, None, messages
    try:
        result = hvsr(good, settings)
    except ValueError as exc:
        messages.append((key, str(exc)))
        return key, None, messages
    data = result.to_dict()
    data["station"] = key
    data["files"] = files
    base = Path(out) / safe_name(key)
    atomic_write(f"{base}.json", json.dumps(data, indent=1))
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        result.station = key
        fig = result.plot()
        atomic_savefig(fig, f"{base}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
    summary = {k: data[k] for k in ("f0", "f0_windows_median", "f0_windows_std_ln",
                                    "amplitude_f0", "n_windows", "n_records")}
    return key, summary, messages


def _one_thread_per_worker():
    # N worker processes each using all cores would oversubscribe the machine.
    import numba
    numba.set_num_threads(1)


def process_pool(jobs):
    """A process pool of ``jobs`` workers fit for the numba core (spawned, one numba thread
    each), or ``None`` when ``jobs <= 1`` (serial). Use it as a context manager.

    Examples
    --------
    >>> process_pool(1) is None
    True
    """
    if jobs is None or jobs <= 1:
        return None
    # spawn, not fork: numba's OpenMP threads do not survive a fork.
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
        initializer=_one_thread_per_worker)


def run_hvsr(files, settings, out, per_file=False, plot=False, *, executor=None, fmt=None,
             report=None, quiet=True):
    """Read files, group them into stations, compute and write each station's HVSR.

    Parameters
    ----------
    files : list of str
    settings : HVSRSettings, dict or preset name
    out : str or Path
        Output folder (created when the first result is written: a run that writes nothing
        leaves no folder); one ``<station>.json`` (and ``.png`` with ``plot``) each.
    per_file : bool
        One result per file instead of per station.
    executor : concurrent.futures.Executor, optional
        Runs the per-station jobs (``None``: serially here).
    report : callable, optional
        ``report(where, reason)`` for every skipped file, record or station.

    Returns
    -------
    (dict station -> summary, number of failed files and stations)
    """
    from obspy_gen.core.settings import HVSRSettings, resolve_settings
    if not isinstance(settings, HVSRSettings):
        settings = (resolve_settings(preset=settings) if isinstance(settings, str)
                    else resolve_settings(settings))
    report = report or _warn
    streams, failed = read_files(files, fmt, report=report, quiet=quiet)
    groups = group_by_station(streams, per_file, report=report)
    # ``out`` is created by the first file written (atomic_write), never left empty.
    tasks = [(k, traces, srcs, settings, str(out), plot) for k, (traces, srcs) in groups.items()]
    results = map_jobs(hvsr_station_job, tasks, executor, quiet=quiet, desc="stations")
    summaries, n_fail = {}, len(failed)
    for key, summary, messages in sorted(results, key=lambda r: r[0]):
        for where, reason in messages:
            report(where, reason)
        if summary is None:
            n_fail += 1
        else:
            summaries[key] = summary
    return summaries, n_fail


__all__ = ["expand_inputs", "read_file", "read_files", "map_jobs", "group_by_station",
           "hvsr_station_job", "process_pool", "run_hvsr", "safe_name", "NOT_RECORDS"]

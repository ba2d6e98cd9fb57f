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
import contextlib
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


def map_jobs(func, tasks, executor=None, *, quiet=True, desc=None, errors="raise"):
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
    errors : {"raise", "return"}
        What a job that raises (or whose worker dies) gives: its exception is raised here
        (after every other job ended), or returned in its place so that the batch goes on.

    Examples
    --------
    >>> import operator
    >>> map_jobs(operator.add, [(1, 2), (3, 4)])
    [3, 7]
    >>> map_jobs(operator.truediv, [(1, 2), (1, 0)], errors="return")
    [0.5, ZeroDivisionError('division by zero')]
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors={errors!r} is not one of raise, return")
    tasks = list(tasks)
    if executor is None or len(tasks) < 2:
        out = []
        for t in _progress(tasks, quiet, desc=desc):
            try:
                out.append(func(*t))
            except Exception as exc:  # noqa: PERF203 (one failed job, not the batch)
                if errors == "raise":
                    raise
                out.append(exc)
        return out
    futures = [executor.submit(func, *t) for t in tasks]
    for _ in _progress(concurrent.futures.as_completed(futures), quiet, total=len(futures),
                       desc=desc):
        pass
    out = []
    for f in futures:
        exc = f.exception()
        if exc is not None and errors == "raise":
            raise exc
        out.append(f.result() if exc is None else exc)
    return out


#: Values of ``--scheduler`` besides a Dask address (see :func:`parse_scheduler`).
SCHEDULER_HELP = ("Where the jobs run: 'local' (this process, or --jobs N processes), "
                  "'processes:N' (N local processes) or the address of a running "
                  "dask.distributed scheduler, e.g. tcp://10.0.0.1:8786 (needs "
                  "obspy-gen[dask]; the workers need obspy-gen installed and --out under the "
                  "same path).")

_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+|[A-Za-z0-9_.-]+:\d{1,5})$")


def parse_scheduler(scheduler) -> tuple:
    """``--scheduler`` value -> ``("local", None)``, ``("processes", N)`` or
    ``("dask", address)``; a clear ``ValueError`` otherwise.

    Examples
    --------
    >>> parse_scheduler("local"), parse_scheduler("processes:4")
    (('local', None), ('processes', 4))
    >>> parse_scheduler("tcp://10.0.0.1:8786"), parse_scheduler("node7:8786")
    (('dask', 'tcp://10.0.0.1:8786'), ('dask', 'node7:8786'))
    >>> parse_scheduler("processes:0")
    Traceback (most recent call last):
    ...
    ValueError: scheduler 'processes:0': N must be a positive integer
    """
    text = "local" if scheduler is None else str(scheduler).strip()
    if text.lower() == "local":
        return "local", None
    if text.lower().startswith("processes:"):
        n = text.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"scheduler {text!r}: N must be a positive integer")
        return "processes", int(n)
    if _ADDRESS.match(text):
        return "dask", text
    raise ValueError(f"scheduler {text!r} is not 'local', 'processes:N' or a dask scheduler "
                     f"address such as tcp://host:8786")


@contextlib.contextmanager
def scheduler_executor(scheduler="local", jobs=1, *, timeout=30):
    """The :class:`concurrent.futures.Executor` a ``--scheduler`` value asks for, as a context
    manager; ``None`` means "run serially here".

    ``local`` gives a process pool of ``jobs`` workers (:func:`process_pool`; serial when
    ``jobs <= 1``), ``processes:N`` one of N workers, and a Dask address connects a
    ``dask.distributed.Client`` and yields ``client.get_executor()`` (closed on exit). Every
    batch command uses this one helper, so every engine that takes an ``executor`` runs on a
    cluster unchanged.

    Parameters
    ----------
    scheduler : str
        See :func:`parse_scheduler`.
    jobs : int
        Worker processes for ``local``.
    timeout : float
        Seconds to wait for a Dask scheduler.

    Raises
    ------
    ValueError
        Bad value.
    ImportError
        A Dask address without ``dask.distributed`` installed.
    OSError
        No scheduler answers at the address.

    Examples
    --------
    >>> with scheduler_executor("local") as ex:
    ...     map_jobs(pow, [(2, 3), (3, 2)], ex)
    [8, 9]
    """
    kind, value = parse_scheduler(scheduler)
    if kind == "dask":
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("--scheduler with a Dask address needs dask.distributed: "
                              "pip install 'obspy-gen[dask]'") from None
        try:
            client = Client(value, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise OSError(f"no Dask scheduler answers at {value}: {exc}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    pool = process_pool(jobs if kind == "local" else value)
    if pool is None:
        yield None
        return
    with pool:
        yield pool


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


def hvsr_station_job(key, traces, files, settings, out, plot, vs30_model=None,
                     numba_threads=None):
    """HVSR of one station, written to ``out/<key>.json`` (and ``.png``); a job of
    :func:`run_hvsr`. Bad records are skipped with a message.

    The JSON is written last (after the figure), atomically, so its presence with matching
    ``settings``/``files`` means the station is complete (see :func:`station_complete`).
    With ``vs30_model`` (a ``obspy_gen.vs30`` plugin name) the station's Vs30 prediction is
    stored too (``vs30``, ``vs30_model``); a failing predictor costs only the Vs30.
    ``numba_threads`` caps the numba kernels' threads for this job's thread (jobs running side
    by side in a pool or on Dask workers each take one: the results do not change, the
    machine is not oversubscribed).

    Returns
    -------
    (key, summary dict or None, list of (where, reason) messages)
    """
    from obspy import Stream

    from obspy_gen.core.hvsr import check_record, hvsr
    from obspy_gen.core.records import split_records
    if numba_threads:
        import numba
        numba.set_num_threads(max(1, min(int(numba_threads), numba.config.NUMBA_NUM_THREADS)))
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
    s0 = traces[0].stats
    coords = s0.get("coordinates") or {}
    data["id"] = {"network": s0.network, "station": s0.station, "location": s0.location,
                  "latitude": coords.get("latitude"), "longitude": coords.get("longitude")}
    if vs30_model:
        data["vs30_model"] = vs30_model
        data["vs30"] = None
        try:
            from obspy_gen import registry
            data["vs30"] = registry.load("vs30", vs30_model)().predict(good).to_dict()
        except Exception as exc:  # the predictor's failure costs the Vs30, not the station
            messages.append((key, f"Vs30 ({vs30_model}): {exc}"))
    base = Path(out) / safe_name(key)
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        result.station = key
        fig = result.plot()
        atomic_savefig(fig, f"{base}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
    atomic_write(f"{base}.json", json.dumps(data, indent=1))
    return key, station_summary(data), messages


#: Columns of the archive table ``stations.csv`` that :func:`run_hvsr` writes.
ARCHIVE_COLUMNS = ("station", "network", "code", "location", "latitude", "longitude",
                   "records", "windows", "f0", "f0_windows_median", "f0_std_ln", "A0",
                   "sesame_reliable", "sesame_reliability", "sesame_clear", "sesame_clarity",
                   "vs30", "nehrp_class", "vs30_model")


def station_summary(data) -> dict:
    """One station's row of ``stations.csv`` (:data:`ARCHIVE_COLUMNS`) and the CLI table,
    from its result JSON (as a dict).

    ``f0_std_ln`` is the spread of the window f0s (standard deviation of ln f0);
    ``sesame_reliability`` / ``sesame_clarity`` count the criteria met (of 3 / of 6).

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen import hvsr
    >>> row = station_summary(hvsr(read(), fmin=1, fmax=20, nfreq=64).to_dict())
    >>> row["records"], row["sesame_reliability"].endswith("/3")
    (1, True)
    """
    ident = data.get("id") or {}
    ses = data.get("sesame") or {}
    vs30 = data.get("vs30") or {}
    return {
        "station": data.get("station"), "network": ident.get("network"),
        "code": ident.get("station"), "location": ident.get("location"),
        "latitude": ident.get("latitude"), "longitude": ident.get("longitude"),
        "records": data.get("n_records"), "windows": data.get("n_windows"),
        "n_records": data.get("n_records"), "n_windows": data.get("n_windows"),
        "f0": data.get("f0"), "f0_windows_median": data.get("f0_windows_median"),
        "f0_windows_std_ln": data.get("f0_windows_std_ln"),
        "f0_std_ln": data.get("f0_windows_std_ln"), "amplitude_f0": data.get("amplitude_f0"),
        "A0": data.get("amplitude_f0"),
        "sesame_reliable": ses.get("reliable"),
        "sesame_reliability": f"{sum(map(bool, ses.get('reliability', [])))}/3",
        "sesame_clear": ses.get("clear"),
        "sesame_clarity": f"{sum(map(bool, ses.get('clarity', [])))}/6",
        "vs30": vs30.get("vs30"), "nehrp_class": vs30.get("nehrp_class"),
        "vs30_model": data.get("vs30_model"),
    }


def _jsonable_settings(settings) -> dict:
    return json.loads(json.dumps(settings.to_dict()))


def station_complete(out, key, files, settings, plot=False, vs30_model=None):
    """The summary of a station whose outputs in ``out`` are complete for these inputs and
    settings, else ``None`` (a resumed run recomputes it).

    Complete = ``<key>.json`` parses and holds the same ``files`` and ``settings`` (and
    ``vs30_model``), and ``<key>.png`` exists when ``plot``.

    Examples
    --------
    >>> import tempfile
    >>> from obspy_gen import PRESETS
    >>> station_complete(tempfile.mkdtemp(), "TK.4628.", ["a.mseed"], PRESETS["default"])
    """
    base = Path(out) / safe_name(key)
    try:
        data = json.loads(Path(f"{base}.json").read_text())
    except (OSError, ValueError):
        return None
    if (data.get("files") != list(files) or data.get("settings") != _jsonable_settings(settings)
            or data.get("vs30_model") != (vs30_model or None)):
        return None
    if plot and not Path(f"{base}.png").is_file():
        return None
    return station_summary(data)


def _cell(value):
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_archive_table(summaries, out) -> Path:
    """Write ``out/stations.csv`` (:data:`ARCHIVE_COLUMNS`, one row per station, sorted by
    station; empty cells where unknown), atomically.

    Examples
    --------
    >>> import tempfile
    >>> path = write_archive_table({"TK.4628.": {"station": "TK.4628.", "f0": 2.5}},
    ...                            tempfile.mkdtemp())
    >>> path.read_text().splitlines()[1][:14]
    'TK.4628.,,,,,,'
    """
    import csv
    import io
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ARCHIVE_COLUMNS), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for key in sorted(summaries):
        row = summaries[key]
        writer.writerow({c: _cell(row.get(c)) for c in ARCHIVE_COLUMNS})
    path = Path(out) / "stations.csv"
    atomic_write(path, buf.getvalue())
    return path


def archive_figure(summaries, out, dpi=110) -> Path:
    """Write ``out/summary.png``: histogram of the stations' f0 (log bins) and f0 vs A0
    (SESAME-clear peaks filled), atomically.

    Examples
    --------
    >>> import tempfile
    >>> rows = {"a": {"f0": 2.0, "A0": 4.0, "sesame_clear": True},
    ...         "b": {"f0": 5.0, "A0": 2.5, "sesame_clear": False}}
    >>> archive_figure(rows, tempfile.mkdtemp()).name
    'summary.png'
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    rows = [r for r in summaries.values() if r.get("f0") is not None and r.get("A0") is not None]
    f0 = np.array([r["f0"] for r in rows], dtype=float)
    a0 = np.array([r["A0"] for r in rows], dtype=float)
    clear = np.array([bool(r.get("sesame_clear")) for r in rows], dtype=bool)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    if f0.size:
        lo, hi = f0.min(), f0.max()
        edges = np.geomspace(lo / 1.1, hi * 1.1, max(5, min(40, int(np.sqrt(f0.size)) + 3)))
        ax1.hist(f0, bins=edges, color="0.4", edgecolor="white")
        ax2.scatter(f0[clear], a0[clear], s=14, color="C0", label="SESAME clear")
        ax2.scatter(f0[~clear], a0[~clear], s=14, facecolor="none", edgecolor="C1",
                    label="not clear")
        ax2.legend(loc="best", fontsize="small")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("f0 (Hz)")
    ax1.set_ylabel("stations")
    ax1.set_title(f"f0 of {f0.size} station(s)")
    ax2.set_yscale("log")
    ax2.set_ylabel("A0 (H/V at f0)")
    ax2.set_title("f0 vs A0")
    path = Path(out) / "summary.png"
    atomic_savefig(fig, path, dpi=dpi)
    plt.close(fig)
    return path


def vs30_station_job(key, traces, model, device=None, options=None):
    """Vs30 of one station with a ``obspy_gen.vs30`` plugin; a top-level job for
    :func:`map_jobs`, so ``obspy-gen vs30`` runs on any ``--scheduler``.

    Returns
    -------
    (key, Vs30Result or None, list of warning texts, error text or None)
        A ``ValueError``/``OSError`` (or a plugin that cannot load) costs this station only.

    Examples
    --------
    >>> from obspy import read
    >>> vs30_station_job("BW.RJOB.", list(read()), "no-such-model")[1:]
    (None, [], "no plugin 'no-such-model' in obspy_gen.vs30...")
    """
    import warnings as _warnings

    from obspy import Stream

    from obspy_gen import registry
    caught = []
    try:
        predictor = registry.load("vs30", model)()
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            result = predictor.predict(Stream(traces), device=device, **(options or {}))
        return key, result, [str(w.message) for w in caught], None
    except (LookupError, ImportError, ValueError, OSError) as exc:
        return key, None, [str(w.message) for w in caught], str(exc)


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
             report=None, quiet=True, resume=False, vs30_model=None, table=True):
    """Read files, group them into stations, compute and write each station's HVSR.

    Parameters
    ----------
    files : list of str
    settings : HVSRSettings, dict or preset name
    out : str or Path
        Output folder (created when the first result is written: a run that writes nothing
        leaves no folder); one ``<station>.json`` (and ``.png`` with ``plot``) each, written
        atomically as each station ends, and (``table``) the archive table ``stations.csv``
        and figure ``summary.png`` (see :func:`write_archive_table`, :func:`archive_figure`).
    per_file : bool
        One result per file instead of per station.
    executor : concurrent.futures.Executor, optional
        Runs the per-station jobs (``None``: serially here); e.g. from
        :func:`scheduler_executor`.
    report : callable, optional
        ``report(where, reason)`` for every skipped file, record or station; a job that
        raises (or whose worker dies) is reported as its station's failure.
    resume : bool
        Skip stations whose outputs are complete (:func:`station_complete`); an interrupted
        run goes on where it stopped.
    vs30_model : str, optional
        A ``obspy_gen.vs30`` plugin: each station's Vs30 goes into its JSON and the table.
    table : bool
        Write ``stations.csv`` and ``summary.png`` (rows of every station with a result).

    Returns
    -------
    (dict station -> summary, number of failed files and stations)
        Summaries of resumed stations carry ``"resumed": True``.
    """
    from obspy_gen.core.settings import HVSRSettings, resolve_settings
    if not isinstance(settings, HVSRSettings):
        settings = (resolve_settings(preset=settings) if isinstance(settings, str)
                    else resolve_settings(settings))
    report = report or _warn
    streams, failed = read_files(files, fmt, report=report, quiet=quiet)
    groups = group_by_station(streams, per_file, report=report)
    # ``out`` is created by the first file written (atomic_write), never left empty.
    summaries, n_fail = {}, len(failed)
    tasks = []
    for k, (traces, srcs) in groups.items():
        done = station_complete(out, k, srcs, settings, plot, vs30_model) if resume else None
        if done is not None:
            summaries[k] = dict(done, resumed=True)
        else:
            tasks.append((k, traces, srcs, settings, str(out), plot, vs30_model,
                          None if executor is None else 1))
    results = map_jobs(hvsr_station_job, tasks, executor, quiet=quiet, desc="stations",
                       errors="return")
    for task, res in zip(tasks, results):
        if isinstance(res, BaseException):  # the job itself failed: this station only
            res = (task[0], None, [(task[0], f"failed: {type(res).__name__}: {res}")])
        key, summary, messages = res
        for where, reason in messages:
            report(where, reason)
        if summary is None:
            n_fail += 1
        else:
            summaries[key] = summary
    summaries = dict(sorted(summaries.items()))
    if table and summaries:
        write_archive_table(summaries, out)
        archive_figure(summaries, out)
    return summaries, n_fail


__all__ = ["expand_inputs", "read_file", "read_files", "map_jobs", "group_by_station",
           "hvsr_station_job", "process_pool", "run_hvsr", "safe_name", "NOT_RECORDS",
           "parse_scheduler", "scheduler_executor", "station_summary", "station_complete",
           "write_archive_table", "archive_figure", "ARCHIVE_COLUMNS", "SCHEDULER_HELP",
           "vs30_station_job"]


def record_filename(record, model: str, index: int) -> str:
    """``<NET.STA.LOC>_<model>_<i:04d>.mseed`` of one generated record.

    Examples
    --------
    >>> from obspy import read
    >>> record_filename(read(), "timesnet-gen", 3)
    'BW.RJOB._timesnet-gen_0003.mseed'
    """
    def _safe(text):
        return re.sub(r"[^A-Za-z0-9._-]", "_", str(text))
    s = record[0].stats
    return f"{_safe(f'{s.network}.{s.station}.{s.location}')}_{_safe(model)}_{index:04d}.mseed"


def write_record_files(stream, out, model, quiet=True) -> tuple:
    """Write each record of a generated Stream to ``out`` as miniSEED (atomically), without
    touching ``out/records.csv``: returns (summary rows, provenance rows), the latter for
    :func:`obspy_gen.io.provenance.write_provenance`, which the caller writes once.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> rows, table = write_record_files(read(), d, "demo")
    >>> sorted(os.listdir(d)), rows[0][2], table[0]["file"]
    (['BW.RJOB._demo_0000.mseed'], 'BW.RJOB.', 'BW.RJOB._demo_0000.mseed')
    """
    import io as _io

    import numpy as np

    from obspy_gen.core.records import split_records
    from obspy_gen.io.provenance import record_row
    rows, table = [], []
    # split_records sorts by station and time; generated records are already in that order,
    # but the index written is the generator's own record number when it carries one.
    for k, rec in enumerate(_progress(split_records(stream), quiet, desc="writing",
                                      unit="record")):
        meta = rec[0].stats.get("obspy_gen") or {}
        index = int(meta.get("record", k))
        name = record_filename(rec, model, index)
        buf = _io.BytesIO()
        rec.write(buf, format="MSEED")
        atomic_write(Path(out) / name, buf.getvalue())
        table.append(record_row(rec, name))
        horiz = [np.abs(tr.data).max() for tr in rec if not tr.stats.channel.endswith("Z")]
        s = rec[0].stats
        rows.append([index, name, f"{s.network}.{s.station}.{s.location}",
                     str(s.starttime)[:19], f"{s.npts / s.sampling_rate:.1f}",
                     f"{max(horiz) if horiz else float('nan'):.4g}"])
    return rows, table


def generate_station_job(model, station, pool, n, seed, device, options, out):
    """Generate and write one station's records: a top-level job of batch
    ``obspy-gen generate`` (any Executor runs it). The provenance rows come back so that the
    caller writes ``out/records.csv`` once, and workers never race on it.

    Returns
    -------
    (station, summary rows or None, provenance rows, seed used, None or (where, reason, exit))

    Examples
    --------
    >>> import tempfile
    >>> job = generate_station_job("stochastic", "4628", None, 1, 3, None,
    ...                            {"magnitude": 6.0, "distance": 20.0}, tempfile.mkdtemp())
    >>> job[0], len(job[1]), job[2][0]["model"], job[3], job[4]
    ('4628', 1, 'stochastic', 3, None)
    >>> generate_station_job("stochastic", "nope", None, 1, 3, None, {}, ".")[4][2]
    2
    """
    from obspy_gen import registry
    from obspy_gen.io.checkpoints import CheckpointError
    try:
        cls = registry.load("generators", model)
        stream = cls().generate(pool, station=station, n=n, seed=seed, device=device,
                                **(options or {}))
    except CheckpointError as exc:
        where, _, reason = str(exc).partition(": ")
        return station, None, [], seed, (where, reason or str(exc), 1)
    except (ValueError, TypeError, LookupError) as exc:
        return station, None, [], seed, (f"{model}: {station}", str(exc), 2)
    except (RuntimeError, OSError, ImportError) as exc:
        return station, None, [], seed, (f"{model}: {station}", str(exc), 1)
    try:
        rows, table = write_record_files(stream, out, cls.name)
    except OSError as exc:
        return station, None, [], seed, (str(out), f"cannot write: {exc.strerror or exc}", 1)
    if not rows:
        return station, None, [], seed, ("generate", "the generator returned no records", 1)
    used_seed = (stream[0].stats.get("obspy_gen") or {}).get("seed", seed)
    return station, rows, table, used_seed, None

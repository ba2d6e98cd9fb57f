"""``evaluate``: compare labelled groups of records (real, generated, ...) station by station.

The TimesNet-Gen paper's evaluation (Sec. II-E, III-B/C) made reproducible and honest: per
record f0, per station and group the f0 distribution and the mean HVSR curve, the
(groups x stations)^2 similarity matrix with its alignment score, and beside every score its
ceiling (the reference group against itself, see
:func:`obspy_gen.evaluate.bootstrap_ceiling`).
"""
from __future__ import annotations

import concurrent.futures

import importlib
import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from obspy import Stream

from obspy_gen.core.records import channel_component, split_records, station_key
from obspy_gen.core.settings import EVALUATION_F0_RANGE, HVSRSettings, resolve_settings
from obspy_gen.evaluate.distributions import (JS_KINDS, distribution_distances, f0_bin_edges,
                                              f0_histogram)
from obspy_gen.evaluate.similarity import (_summary, alignment_score, bootstrap_ceiling,
                                           ideal_block_matrix, random_halves, similarity_matrix)

#: The definitions behind every number of an :class:`EvaluationReport` (also written into
#: ``report.json`` and the HTML page), including the choices the paper leaves open.
DEFINITIONS = {
    "f0": "Per record: HVSR of that record alone as one whole-record window (settings below; "
          "preset 'timesnet-gen-paper' = quadratic-mean horizontals, Konno-Ohmachi b=40, f0 = "
          "the lowest clear peak in f0_range as the paper's text says, falling back to the "
          "highest peak; 'timesnet-gen-authors' = the authors' script, f0 = argmax); f0 is "
          "picked on the record's own curve by the settings' f0_rule (obspy_gen.hvsr's "
          "per-window f0). Clear = obspy_gen.core.hvsr.is_clear_peak (SESAME clarity i-iii "
          "plus a prominence of A0/2). A record whose curve has no peak in f0_range is left out "
          "('no peak'); a record whose f0 peak is not clear is counted ('unclear') and kept, "
          "as every record gives an f0 in the paper's histograms, unless require_clear=True.",
    "histogram": "f0 histogram on fixed bins over f0_range (default 20 bins over 1-20 Hz, "
                 "linear widths as the authors' np.linspace(1, 20, 21); 'log' spacing on "
                 "request), normalised to probabilities; a station with fewer than min_records "
                 "f0 values in the bins has no distribution (status 'too few records').",
    "similarity": "1 - Jensen-Shannon divergence of two f0 histograms with base-2 logarithms "
                  "(so in [0, 1]: 1 identical, 0 no common bin). With js='distance': 1 - "
                  "sqrt(JSD), the scipy jensenshannon distance the authors' script used.",
    "matrix": "Similarity between every pair of (station, group) distributions, rows "
              "station-major (all groups of station 1, then station 2, ...): the paper's "
              "(groups x stations)^2 matrix. Rows without a distribution are NaN.",
    "alignment": "Normalized cross-correlation = Pearson correlation between all entries "
                 "(diagonal and both triangles) of the similarity matrix and the ideal block "
                 "matrix (1 between rows of the same station, 0 otherwise), NaN entries left "
                 "out of both. 'all_groups' uses every group (the paper's matrix); "
                 "'vs_reference' the matrix of the reference and one other group, the same "
                 "shape as the ceiling's.",
    "ceiling": "Each score computed between two random halves (without replacement, sizes "
               "n//2 and n - n//2) of the reference group's f0 values, per station; repeated "
               "n_bootstrap times; mean, std and 5-95 % range reported. Halves hold half the "
               "records, so the ceiling is slightly pessimistic for full-size comparisons.",
    "intensity_measures": "Per record IMs: by default obspy_gen.core.intensity's "
                          "intensity_measures, the geometric mean of the two horizontals "
                          "(GMxy) of each measure (pga, pgv, pgd, arias, cav, d5_75, d5_95, "
                          "sa(T) per period); or those of the 'intensity' callable. Per "
                          "station, each group against the reference: Wasserstein distance "
                          "and two-sample KS statistic of ln(IM) (scipy.stats), with the same "
                          "two-halves ceiling.",
}

STATUS_OK = "ok"
# Records per hvsr() call: batching shares one FFT plan and one set of smoothing weights.
_CHUNK = 64


def _record_label(rec) -> str:
    if len(rec) == 0:
        return "empty record"
    t0 = min(tr.stats.starttime for tr in rec)
    return f"{station_key(rec[0])} {t0.isoformat()}"


def _group_records(data, by):
    """station -> list of records, and a list of (station, record, reason) input problems."""
    issues = []
    keyfunc = (lambda rec: rec[0].stats.station) if by == "station" else (
        lambda rec: station_key(rec[0]))
    out = {}
    if isinstance(data, Mapping):
        for station, recs in data.items():
            try:
                out[str(station)] = split_records(recs)
            except Exception as exc:  # one bad station must not stop the others
                issues.append((str(station), None, f"cannot split into records: {exc}"))
        return out, issues
    if isinstance(data, Stream):
        # A trace whose channel names no component would stop split_records for all of them.
        keep = Stream()
        for tr in data:
            try:
                channel_component(tr.stats.channel)
                keep.append(tr)
            except ValueError as exc:
                issues.append((None, tr.id, str(exc)))
        data = keep
    if isinstance(data, Stream) or isinstance(data, (list, tuple)):
        try:
            records = split_records(data)
        except Exception as exc:
            return {}, [(None, None, f"cannot split into records: {exc}")]
        for rec in records:
            if len(rec) == 0:
                issues.append((None, None, "empty record"))
                continue
            out.setdefault(keyfunc(rec), []).append(rec)
        return out, issues
    raise TypeError(f"a group must be a Stream, a list of Streams or a mapping station -> "
                    f"records, not {type(data).__name__}")


def _resolve_intensity(intensity):
    """The per-record IM function and, when there is none, why."""
    if intensity is False:
        return None, "switched off"
    if callable(intensity):
        return intensity, None
    if intensity is not None:
        raise TypeError("intensity must be None (auto), False or a callable record -> dict")
    try:
        mod = importlib.import_module("obspy_gen.core.intensity")
    except ImportError:
        return None, "obspy_gen.core.intensity is not available"
    fn = getattr(mod, "intensity_measures", None)
    if not callable(fn):
        return None, "obspy_gen.core.intensity offers no intensity_measures() function"
    return _core_intensity(fn), None


class _core_intensity:
    """Adapter: ``intensity_measures(record)`` -> flat dict of the horizontal IMs.

    The geometric mean of the two horizontals (GMxy, the convention of ground-motion models)
    of every measure; Sa as ``sa(T s)`` per period. A class, so that it pickles (Executors).
    """

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, record):
        fn = self.fn
        result = fn(record)
        recs = getattr(result, "records", None)
        if recs is None:  # not the IntensityResult shape: take whatever scalars it has
            return result
        if len(recs) != 1:
            raise ValueError(f"expected one record, got {len(recs)}")
        rec = recs[0]
        if rec.error:
            raise ValueError(rec.error)
        gm = rec.components.get("geometric_mean")
        if gm is None:
            raise ValueError("needs both horizontal components")
        out = {k: v for k, v in gm.items() if k != "sa"}
        for period, value in zip(result.periods, gm.get("sa", [])):
            out[f"sa({float(period):g} s)"] = value
        return out


def _im_values(result) -> dict:
    """Flatten an IM function's output into name -> float (scalars only)."""
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    if not isinstance(result, Mapping):
        raise TypeError(f"IM function returned {type(result).__name__}, not a mapping")
    out = {}
    for key, value in result.items():
        items = value.items() if isinstance(value, Mapping) else [(None, value)]
        for sub, v in items:
            if isinstance(v, (list, tuple, np.ndarray)) and np.size(v) == 1:
                v = np.ravel(v)[0]
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v):
                out[str(key) if sub is None else f"{key}.{sub}"] = float(v)
    return out


@dataclass
class StationDistribution:
    """f0 distribution, mean HVSR curve and IMs of one station in one group.

    Attributes
    ----------
    station, group : str
    status : str
        ``"ok"``, ``"missing"`` (no record of this station in the group), ``"no usable
        record"`` or ``"too few records"`` (fewer than ``min_records`` f0 values in the bins).
    n_records : int
        Records given.
    n_used : int
        Records whose HVSR could be computed.
    n_no_peak : int
        Used records without any peak in ``f0_range`` (left out of the distribution).
    n_unclear : int
        Used records whose f0 peak is not clear (kept unless ``require_clear``).
    f0, clear, amplitude : numpy.ndarray
        f0 (Hz; NaN without a peak, or without a clear one under ``require_clear``), whether
        its peak is clear, and H/V at f0 of every used record.
    record_ids : list of str
        ``NET.STA.LOC starttime`` of every used record.
    counts, probabilities : numpy.ndarray
        Histogram of the f0 values on the report's bins.
    frequency, mean, std_ln : numpy.ndarray
        Lognormal mean HVSR curve of the used records and its standard deviation in ln units.
    f0_median, f0_std_ln : float
        Median and ``std(ln f0)`` of the f0 values in the bins.
    ims : dict
        IM name -> values of the used records (NaN where an IM is missing).
    """

    station: str
    group: str
    status: str = "missing"
    n_records: int = 0
    n_used: int = 0
    n_no_peak: int = 0
    n_unclear: int = 0
    f0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    clear: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    amplitude: np.ndarray = field(default_factory=lambda: np.zeros(0))
    record_ids: list = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frequency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std_ln: np.ndarray = field(default_factory=lambda: np.zeros(0))
    f0_median: float = float("nan")
    f0_std_ln: float = float("nan")
    ims: dict = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        """Number of f0 values in the histogram."""
        return int(self.counts.sum()) if self.counts.size else 0

    def to_dict(self) -> dict:
        """JSON-ready dict (arrays as lists, NaN as None)."""
        return _jsonable({
            "status": self.status, "n_records": self.n_records, "n_used": self.n_used,
            "n_no_peak": self.n_no_peak, "n_unclear": self.n_unclear, "n_valid": self.n_valid,
            "f0": self.f0, "f0_clear": self.clear,
            "amplitude_f0": self.amplitude, "record_ids": self.record_ids,
            "counts": self.counts, "probabilities": self.probabilities,
            "f0_median": self.f0_median, "f0_std_ln": self.f0_std_ln,
            "hvsr": {"frequency": self.frequency, "mean": self.mean, "std_ln": self.std_ln},
            "intensity_measures": self.ims,
        })


def _jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


@dataclass
class EvaluationReport:
    """Result of :func:`evaluate`: distributions, similarity matrix, scores and ceilings.

    Attributes
    ----------
    groups : list of str
        Group labels in input order; ``reference`` is one of them.
    stations : list of str
        Stations in matrix order (the reference group's, sorted, then the others').
    distributions : dict
        ``distributions[station][group]`` -> :class:`StationDistribution`.
    edges : numpy.ndarray
        f0 histogram bin edges (Hz).
    matrix : numpy.ndarray
        Similarity matrix, rows ``matrix_labels`` = (station, group) station-major.
    ideal : numpy.ndarray
        The ideal block matrix of the same shape.
    alignment : float
        :func:`~obspy_gen.evaluate.alignment_score` of ``matrix`` (all groups).
    alignment_vs_reference : dict
        Group -> alignment score of the matrix of the reference and that group alone.
    similarity : dict
        ``similarity[station][group]`` -> similarity of that group's f0 distribution to the
        reference group's at the station.
    ceiling : dict
        :func:`~obspy_gen.evaluate.bootstrap_ceiling` of the reference group.
    im : dict
        IM comparison (``available``, ``reason``, ``names``, per-station distances and
        ceilings).
    issues : list of dict
        Everything that went wrong, each ``{"group", "station", "record", "reason"}``.
    settings : HVSRSettings
    """

    groups: list
    reference: str
    stations: list
    distributions: dict
    edges: np.ndarray
    spacing: str
    js: str
    matrix: np.ndarray
    matrix_labels: list
    ideal: np.ndarray
    alignment: float
    alignment_vs_reference: dict
    similarity: dict
    ceiling: dict
    im: dict
    issues: list
    settings: HVSRSettings
    min_records: int = 5
    require_clear: bool = False
    n_bootstrap: int = 200
    seed: int | None = None

    @property
    def f0_range(self) -> tuple:
        return tuple(self.settings.f0_band)

    def to_dict(self) -> dict:
        """Every number of the evaluation as a JSON-ready dict (NaN as None).

        Examples
        --------
        >>> from obspy import read
        >>> st = read()
        >>> d = evaluate({"real": [st], "copy": [st.copy()]}, min_records=1,
        ...              n_bootstrap=5).to_dict()
        >>> d["stations"]["RJOB"]["similarity_to_reference"], d["alignment"]["all_groups"]
        ({'copy': 1.0}, None)
        """
        stations = {}
        for s in self.stations:
            stations[s] = {
                "groups": {g: self.distributions[s][g].to_dict() for g in self.groups},
                "similarity_to_reference": self.similarity.get(s, {}),
                "ceiling": self.ceiling["similarity"].get(s),
            }
        return _jsonable({
            "definitions": DEFINITIONS,
            "groups": self.groups, "reference": self.reference, "station_order": self.stations,
            "settings": self.settings.to_dict(),
            "bins": {"edges": self.edges, "spacing": self.spacing,
                     "f0_range": list(self.f0_range)},
            "js": self.js, "min_records": self.min_records,
            "require_clear": self.require_clear,
            "stations": stations,
            "matrix": {"labels": [list(x) for x in self.matrix_labels],
                       "values": self.matrix, "ideal": self.ideal},
            "alignment": {"all_groups": self.alignment,
                          "vs_reference": self.alignment_vs_reference,
                          "ceiling": self.ceiling["alignment"],
                          "excluded_rows": [list(lbl) for k, lbl in
                                            enumerate(self.matrix_labels)
                                            if not np.isfinite(self.matrix[k, k])]},
            "ceiling": {"n_bootstrap": self.ceiling["n_bootstrap"], "seed": self.seed,
                        "half_sizes": self.ceiling["half_sizes"]},
            "intensity_measures": self.im,
            "issues": self.issues,
        })

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as JSON (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)


def _station_hvsr(records, settings, require_clear, issue, done):
    """Used records, their f0, clarity, peak amplitude and curve (one station, one group)."""
    from obspy_gen.core.hvsr import check_record, hvsr, is_clear_peak

    good = []
    for rec in records:
        try:
            check_record(rec, settings)
            good.append(rec)
        except Exception as exc:  # a bad record is reported, the rest go on
            issue(_record_label(rec), str(exc))
            done(1)
    # hvsr() takes one NET.STA.LOC at a time (stations grouped by code may mix networks);
    # chunks bound the memory of the batched FFT (3 x chunk x nfft complex values).
    by_key = {}
    for rec in good:
        by_key.setdefault(station_key(rec[0]), []).append(rec)
    batches = [recs[i:i + _CHUNK] for recs in by_key.values()
               for i in range(0, len(recs), _CHUNK)]
    used, f0, amp, clear, curves, has_peak, freq = [], [], [], [], [], [], None
    for batch in batches:
        try:
            results = [(batch, hvsr(batch, settings))]
        except Exception:  # e.g. one record's vertical makes the batch non-finite: go one by one
            results = []
            for rec in batch:
                try:
                    results.append(([rec], hvsr([rec], settings)))
                except Exception as exc:
                    issue(_record_label(rec), str(exc))
        for recs, res in results:
            freq = res.frequency
            for rec, fw, curve in zip(recs, res.f0_windows, res.curves):
                i = int(np.searchsorted(freq, fw)) if np.isfinite(fw) else -1
                ok = i >= 0 and is_clear_peak(curve, freq, i)
                has_peak.append(i >= 0)   # before require_clear drops unclear peaks
                if require_clear and not ok:
                    i = -1
                used.append(rec)
                f0.append(float(freq[i]) if i >= 0 else np.nan)
                amp.append(float(curve[i]) if i >= 0 else np.nan)
                clear.append(ok)
                curves.append(curve)
        done(len(batch))
    return (used, np.array(f0, dtype=float), np.array(clear, dtype=bool),
            np.array(amp, dtype=float), curves, freq, np.array(has_peak, dtype=bool))


def station_job(records, settings, require_clear, im_fn):
    """One (station, group) of :func:`evaluate`: a top-level, picklable job any Executor runs.

    Returns
    -------
    tuple
        ``(record_ids, f0, clear, amplitude, curves, frequency, has_peak, ims, issues)``;
        ``issues`` is a list of ``(record label or None, reason)``.
    """
    issues = []
    used, f0, clear, amp, curves, freq, has_peak = _station_hvsr(
        records, settings, require_clear, lambda rec, reason: issues.append((rec, reason)),
        lambda n: None)
    ims = None
    if im_fn is not None:
        ims = _station_ims(im_fn, used, lambda rec, reason: issues.append((rec, reason)))
    return ([_record_label(rec) for rec in used], f0, clear, amp, curves, freq, has_peak, ims,
            issues)


def evaluation_settings(settings=None, preset=None, f0_range=EVALUATION_F0_RANGE) -> HVSRSettings:
    """The HVSR settings :func:`evaluate` uses: preset ``"timesnet-gen-paper"`` unless told,
    with ``f0_range`` as the peak-search band (it must lie inside ``fmin``..``fmax``).

    Examples
    --------
    >>> s = evaluation_settings()
    >>> s.window_length, s.combine, s.bandwidth, s.f0_range
    (None, 'squared_average', 40.0, (1.0, 20.0))
    >>> evaluation_settings(f0_range=(1, 30))
    Traceback (most recent call last):
    ...
    ValueError: f0_range=(1.0, 30.0) must lie inside fmin..fmax (0.5..25.0 Hz) of the HVSR settings
    """
    if settings is None and preset is None:
        preset = "timesnet-gen-paper"
    settings = resolve_settings(settings, preset)
    lo, hi = (float(v) for v in f0_range)
    if not 0 < lo < hi:
        raise ValueError(f"f0_range=({lo}, {hi}) must be (low, high) with 0 < low < high")
    if lo < settings.fmin or hi > settings.fmax:
        raise ValueError(f"f0_range=({lo}, {hi}) must lie inside fmin..fmax "
                         f"({settings.fmin}..{settings.fmax} Hz) of the HVSR settings")
    return settings.replace(f0_range=(lo, hi))


def evaluate(groups, *, settings=None, preset=None, bins=20, f0_range=EVALUATION_F0_RANGE,
             spacing="linear", js="divergence", reference=None, n_bootstrap=200, seed=None,
             min_records=5, require_clear=False, by="station", intensity=None,
             progress=None, executor=None) -> EvaluationReport:
    """Compare groups of records station by station through their f0 distributions.

    For every record its own HVSR and f0 (whole record, the paper's settings by default);
    per station and group the f0 histogram, the lognormal mean HVSR curve with its ±σ, and
    IMs when available; the similarity matrix of all (station, group) f0 distributions and its
    alignment score; for each score its ceiling from random halves of the reference group.
    Bad input (unreadable records, a station missing in a group, too few records, records
    without a clear peak) is recorded in ``report.issues`` and the station's status; it never
    stops the evaluation. The exact definitions are in :data:`DEFINITIONS`.

    Parameters
    ----------
    groups : mapping
        Label -> records, e.g. ``{"real": st_real, "generated": st_gen}``. Records of a group
        are a Stream (split with :func:`obspy_gen.split_records` and grouped by station), a
        list of Streams (one per record), or a mapping station -> records.
    settings : HVSRSettings or dict, optional
        HVSR settings; default the preset ``"timesnet-gen-paper"``.
    preset : str, optional
        Preset name instead of ``settings``.
    bins : int or array_like
        Histogram bins (default 20, the paper's) or their edges.
    f0_range : (float, float)
        f0 search band and histogram range in Hz (default 1-20, the paper's); it replaces the
        settings' ``f0_range`` and must lie inside ``fmin``..``fmax``.
    spacing : {"linear", "log"}
        Bin widths, see :func:`obspy_gen.evaluate.f0_bin_edges` (default linear, as the
        authors' code).
    js : {"divergence", "distance"}
        Similarity ``1 - JSD`` (default) or ``1 - sqrt(JSD)``, base-2 logs.
    reference : str, optional
        Group the others are compared with and whose halves give the ceilings; default the
        first group.
    n_bootstrap : int
        Random splits for the ceilings.
    seed : int, optional
        Seed of the random splits.
    min_records : int
        Fewest f0 values a station needs for a distribution (default 5).
    require_clear : bool
        Leave records whose f0 peak is not clear out of the distributions (default: count
        them in ``n_unclear`` and keep them, as the paper's histograms hold every record).
    by : {"station", "id"}
        Group a Stream's records by station code (default, so that real and generated
        records of one site match across networks) or by ``NET.STA.LOC``.
    intensity : None, False or callable
        ``None``: use ``obspy_gen.core.intensity`` when it exists; ``False``: no IMs; a
        callable ``record -> {name: value}``: use it.
    progress : callable, optional
        ``progress(total)`` returning an object with ``update(n)`` and ``close()`` (e.g.
        ``lambda total: tqdm(total=total)``): advanced record by record.
    executor : concurrent.futures.Executor, optional
        Runs the (station, group) HVSR jobs (:func:`station_job`), e.g. a process pool or a
        Dask client's executor (:func:`obspy_gen.batch.scheduler_executor`); the report is
        the same as the serial one. A job that fails is an issue of its station and group.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    The same record twice: the two groups' distributions are identical.

    >>> from obspy import read
    >>> st = read()
    >>> report = evaluate({"real": [st], "copy": [st.copy()]}, min_records=1, n_bootstrap=10)
    >>> report.stations, report.similarity["RJOB"]["copy"]
    (['RJOB'], 1.0)
    >>> report.distributions["RJOB"]["real"].status
    'ok'
    """
    if not isinstance(groups, Mapping) or not groups:
        raise TypeError("groups must be a non-empty mapping label -> records")
    if js not in JS_KINDS:
        raise ValueError(f"js={js!r} is not one of {', '.join(JS_KINDS)}")
    if by not in ("station", "id"):
        raise ValueError(f"by={by!r} is not one of station, id")
    if int(min_records) != min_records or min_records < 1:
        raise ValueError(f"min_records={min_records!r} must be a positive integer")
    labels = [str(g) for g in groups]
    if len(set(labels)) != len(labels):
        raise ValueError("group labels must be distinct")
    reference = labels[0] if reference is None else str(reference)
    if reference not in labels:
        raise ValueError(f"reference={reference!r} is not one of the groups "
                         f"({', '.join(labels)})")
    settings = evaluation_settings(settings, preset, f0_range)
    lo, hi = settings.f0_range
    edges = f0_bin_edges(bins, (lo, hi), spacing)
    im_fn, im_reason = _resolve_intensity(intensity)

    issues = []

    def add_issue(group, station, record, reason):
        issues.append({"group": group, "station": station, "record": record,
                       "reason": " ".join(str(reason).split())})

    by_group = {}
    for label, data in zip(labels, groups.values()):
        grouped, problems = _group_records(data, by)
        for station, record, reason in problems:
            add_issue(label, station, record, reason)
        by_group[label] = grouped

    ref_stations = sorted(by_group[reference])
    others = sorted({s for g in labels for s in by_group[g]} - set(ref_stations))
    stations = ref_stations + others
    total = sum(len(recs) for g in labels for recs in by_group[g].values())
    bar = progress(total) if progress is not None else None
    done = bar.update if bar is not None else (lambda n: None)

    distributions = {s: {} for s in stations}
    tasks = [(g, s) for g in labels for s in stations if by_group[g].get(s)]
    jobs = {}
    try:
        if executor is None:
            for g, s in tasks:
                try:
                    jobs[g, s] = station_job(by_group[g][s], settings, require_clear, im_fn)
                except Exception as exc:  # one station's failure, not the evaluation's
                    jobs[g, s] = exc
                done(len(by_group[g][s]))
        else:
            futures = {executor.submit(station_job, by_group[g][s], settings, require_clear,
                                       im_fn): (g, s) for g, s in tasks}
            for f in concurrent.futures.as_completed(futures):
                g, s = futures[f]
                jobs[g, s] = f.exception() or f.result()
                done(len(by_group[g][s]))
    finally:
        if bar is not None:
            bar.close()
    # Results in the serial order: issues and distributions do not depend on the executor.
    for g in labels:
        for s in stations:
            d = StationDistribution(station=s, group=g)
            distributions[s][g] = d
            records = by_group[g].get(s)
            d.counts = np.zeros(edges.size - 1)
            d.probabilities = np.zeros(edges.size - 1)
            if not records:
                add_issue(g, s, None, "station missing in this group")
                continue
            d.n_records = len(records)
            job = jobs[g, s]
            if isinstance(job, BaseException):
                job = ([], np.array([]), np.array([], dtype=bool), np.array([]), [], None,
                       np.array([], dtype=bool), None,
                       [(None, f"failed: {type(job).__name__}: {job}")])
            record_ids, f0, clear, amp, curves, freq, has_peak, ims, job_issues = job
            for rec, reason in job_issues:
                add_issue(g, s, rec, reason)
            used = record_ids
            d.record_ids = list(record_ids)
            d.f0, d.clear, d.amplitude, d.n_used = f0, clear, amp, len(used)
            d.n_unclear = int(np.sum(~clear))
            d.n_no_peak = int(np.sum(~has_peak))
            if require_clear and d.n_unclear:
                add_issue(g, s, None, f"{d.n_unclear} of {d.n_used} record(s) without a "
                                      f"clear peak in {lo:g}-{hi:g} Hz (left out)")
            elif d.n_unclear:
                n_kept = d.n_unclear - d.n_no_peak
                add_issue(g, s, None, f"{d.n_unclear} of {d.n_used} record(s) without a "
                                      f"clear peak in {lo:g}-{hi:g} Hz" +
                                      (f" ({d.n_no_peak} without any peak, left out)"
                                       if d.n_no_peak else "") +
                                      (f"; {n_kept} unclear f0 kept" if n_kept else ""))
            if not used:
                d.status = "no usable record"
                add_issue(g, s, None, "no usable record")
                continue
            logc = np.log(np.array(curves))
            d.frequency, d.mean = freq, np.exp(logc.mean(axis=0))
            d.std_ln = logc.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(freq.size)
            d.counts, _ = f0_histogram(f0, edges, normalize=False)
            inside = f0[np.isfinite(f0) & (f0 >= edges[0]) & (f0 <= edges[-1])]
            if inside.size:
                # The sample median: a few records peaking far off (e.g. at 1 Hz for a
                # 12-Hz site) drag a geometric mean much further than the median.
                d.f0_median = float(np.median(inside))
                d.f0_std_ln = float(np.log(inside).std(ddof=1)) if inside.size > 1 else 0.0
            if d.n_valid < min_records:
                d.status = "too few records"
                add_issue(g, s, None, f"too few records for a distribution: {d.n_valid} "
                                      f"f0 value(s) in the bins, need {min_records}")
            else:
                d.status = STATUS_OK
                d.probabilities = d.counts / d.counts.sum()
            if ims is not None:
                d.ims = ims

    # The paper's matrix: station-major rows; rows without a distribution stay NaN.
    matrix_labels = [(s, g) for s in stations for g in labels]
    hists = np.array([distributions[s][g].probabilities if distributions[s][g].status ==
                      STATUS_OK else np.full(edges.size - 1, np.nan) for s, g in matrix_labels])
    matrix = similarity_matrix(hists, kind=js) if hists.size else np.zeros((0, 0))
    ideal = ideal_block_matrix([s for s, _ in matrix_labels])
    alignment = alignment_score(matrix, ideal) if matrix.size else float("nan")
    alignment_vs_reference = {}
    for g in labels:
        if g == reference:
            continue
        rows = [k for k, (_, gg) in enumerate(matrix_labels) if gg in (reference, g)]
        sub = matrix[np.ix_(rows, rows)]
        alignment_vs_reference[g] = alignment_score(sub, ideal[np.ix_(rows, rows)])
    similarity = {}
    index = {lbl: k for k, lbl in enumerate(matrix_labels)}
    for s in stations:
        ref_row = index[(s, reference)]
        similarity[s] = {g: float(matrix[ref_row, index[(s, g)]]) for g in labels
                         if g != reference}

    ref_ok = {s: distributions[s][reference].f0 for s in stations
              if distributions[s][reference].status == STATUS_OK}
    ceiling = bootstrap_ceiling(ref_ok, bins=edges, spacing=spacing, kind=js,
                                n_bootstrap=n_bootstrap, seed=seed)
    for s in stations:
        ceiling["similarity"].setdefault(s, _summary([]))
    im = _compare_ims(distributions, stations, labels, reference, n_bootstrap, seed,
                      im_fn is not None, im_reason)
    return EvaluationReport(
        groups=labels, reference=reference, stations=stations, distributions=distributions,
        edges=edges, spacing=spacing if np.ndim(bins) == 0 else "custom", js=js,
        matrix=matrix, matrix_labels=matrix_labels, ideal=ideal, alignment=alignment,
        alignment_vs_reference=alignment_vs_reference, similarity=similarity, ceiling=ceiling,
        im=im, issues=issues, settings=settings, min_records=int(min_records),
        require_clear=bool(require_clear), n_bootstrap=int(n_bootstrap), seed=seed)


def _station_ims(im_fn, used, issue) -> dict:
    """IM name -> values of the used records (those whose HVSR worked), NaN where missing."""
    rows = []
    failures = []
    for rec in used:
        try:
            rows.append(_im_values(im_fn(rec)))
        except Exception as exc:  # an IM failure costs that record's IMs, nothing more
            failures.append(f"{_record_label(rec)}: {exc}")
            rows.append({})
    if failures:
        issue(None, f"IMs failed for {len(failures)} record(s), first: {failures[0]}")
    names = list(dict.fromkeys(k for r in rows for k in r))  # the IM function's order
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=float) for k in names}


def _compare_ims(distributions, stations, labels, reference, n_bootstrap, seed, available,
                 reason) -> dict:
    """Per station and IM: each group against the reference, and the two-halves ceiling."""
    if not available:
        return {"available": False, "reason": reason}
    rng = np.random.default_rng(seed)
    names = list(dict.fromkeys(k for s in stations for g in labels
                               for k in distributions[s][g].ims))
    per_station = {}
    for s in stations:
        ref = distributions[s][reference]
        entry = {}
        for name in names:
            r = ref.ims.get(name, np.zeros(0))
            comp = {g: distribution_distances(r, distributions[s][g].ims.get(name, np.zeros(0)))
                    for g in labels if g != reference}
            w, ks = [], []
            rv = r[np.isfinite(r) & (r > 0)]
            if rv.size >= 2:
                for _ in range(int(n_bootstrap)):
                    a, b = random_halves(rv.size, rng)
                    d = distribution_distances(rv[a], rv[b])
                    w.append(d["wasserstein"])
                    ks.append(d["ks_statistic"])
            entry[name] = {"vs_reference": comp,
                           "ceiling": {"wasserstein": _summary(w), "ks_statistic": _summary(ks)}}
        per_station[s] = entry
    return {"available": True, "reason": None, "names": names, "stations": per_station}

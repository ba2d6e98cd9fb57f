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
from obspy_gen.evaluate.distributions import JS_KINDS, f0_bin_edges, f0_histogram
from obspy_gen.evaluate.memorisation import memorisation_figures
from obspy_gen.evaluate.scores import alignment_scores, bootstrap_median, station_scores
from obspy_gen.evaluate.similarity import alignment_score, ideal_block_matrix, similarity_matrix

#: The definitions behind every number of an :class:`EvaluationReport` (also written into
#: ``report.json`` and the HTML page), including the choices the paper leaves open.
DEFINITIONS = {
    "f0": "Per record: HVSR of that record alone as one whole-record window (settings below; "
          "preset 'timesnet-gen-paper' = quadratic-mean horizontals, Konno-Ohmachi b=40). f0 "
          "is picked on the record's own curve by each rule of 'f0_rules': "
          "'lowest_clear_peak' (the paper's text: the lowest peak in f0_range that is clear "
          "and reaches 0.7 of the highest, falling back to the highest peak), "
          "'highest_peak', 'argmax' (the authors' script). The settings' f0_rule is the "
          "primary rule: the one the verdict judges; every figure is reported for each rule. "
          "Clear = obspy_gen.core.hvsr.is_clear_peak (SESAME clarity i-iii plus a prominence "
          "of A0/2). A record whose curve has no peak in f0_range is left out ('no peak'); an "
          "unclear f0 is kept (counted in 'unclear') unless require_clear=True.",
    "histogram": "f0 histogram on fixed bins over f0_range (default 20 bins over 1-20 Hz, "
                 "linear widths as the authors' np.linspace(1, 20, 21); 'log' spacing on "
                 "request), normalised to probabilities; a station with fewer than min_records "
                 "f0 values in the bins has no distribution (status 'too few records').",
    "similarity": "1 - Jensen-Shannon divergence of two f0 histograms with base-2 logarithms "
                  "(so in [0, 1]: 1 identical, 0 no common bin). With js='distance': 1 - "
                  "sqrt(JSD), the scipy jensenshannon distance the authors' script used.",
    "matrix": "Similarity between every pair of (station, group) distributions on all records "
              "(full sets), rows station-major: the paper's (groups x stations)^2 matrix. "
              "Rows without a distribution are NaN.",
    "alignment": "Normalized cross-correlation = Pearson correlation between the entries of "
                 "the similarity matrix and the ideal block matrix (1 between rows of the same "
                 "station, 0 otherwise), NaN entries left out. 'with_diagonal' counts every "
                 "entry as the authors' np.corrcoef did: that is the number comparable with "
                 "the paper's 0.93 / 0.81; 'without_diagonal' leaves out the always-1 diagonal "
                 "(comparable between matrices of 2 and 3 groups; the verdict uses it). "
                 "'full_sets' = on all records, as the paper; 'matched' = see 'ceiling'.",
    "ceiling": "Sample-matched real-vs-real value of every figure. In each of n_bootstrap "
               "replicates, per station, the reference records are split at random into A "
               "(a = min(n_candidate, n_reference // 2) records) and the rest B; a random "
               "subset G of a candidate records is drawn without replacement. The candidate's "
               "figure is F(G, B), the ceiling F(A, B): same record counts on both sides. "
               "Reported: median and 90 % interval (5th-95th percentile over replicates) of "
               "both. Alignment: the reference split into k = 1 + candidates parts of m = "
               "min(n_reference // k, smallest candidate) records; ceiling = matrix of the k "
               "reference parts, model = first part with every candidate's m-subset.",
    "verdict": "A figure fails when the candidate's 90 % interval lies entirely on the bad "
               "side of the ceiling's: below its 5th percentile for f0 similarity; above its "
               "95th percentile for distances and the share of records off by > 2x; outside "
               "it on either side for the f0 median error, the f0 spread ratio and the "
               "alignment (a score ABOVE the real-vs-real interval is no win: a collapsed "
               "generator separates stations better than real records do). Memorisation fails "
               "when the median figure's bootstrap interval lies above the held-out real "
               "records' one and the median exceeds theirs by more than 0.05, or when the share of records with NCC >= 0.95 exceeds theirs by "
               "more than 0.05. A station passes when every judged figure passes; a group when "
               "every station and its alignment pass; overall when every generated group "
               "passes (reconstructions are reported, not judged overall).",
    "f0_figures": "Per station (primary and secondary rule): f0_similarity (1 - JSD of the "
                  "histograms), f0_median_error (median f0 / reference median - 1), "
                  "f0_spread_ratio (std ln f0 / reference std ln f0), f0_off_2x (share of "
                  "records whose f0 is off the reference median by more than a factor 2).",
    "intensity_measures": "Per record: obspy_gen.core.intensity.intensity_measures, geometric "
                          "mean of the two horizontals (GMxy): pga, pgv, pgd, arias, cav, "
                          "d5_75, d5_95 and sa(T) at 0.1, 0.3, 1 and 3 s (or the 'intensity' "
                          "callable's values). Per station: 1-D Wasserstein distance of ln(IM) "
                          "(ln units: 0.1 ~ a 10 % shift), matched as under 'ceiling'; the "
                          "judged IMs are listed in the report.",
    "memorisation": "Per candidate record: max NCC = highest lag-searched normalised "
                    "cross-correlation (3 components together, |cc| / sqrt(Ex Ey)) with any "
                    "comparison record; mixing R2 = cross-validated R2 of the least-squares fit "
                    "of the record (3 components concatenated, within its own window) by the "
                    "k = 5 comparison records chosen by matching pursuit, each shifted to its "
                    "lag of highest correlation (generators need not place a record where its "
                    "file starts): records, lags and weights are chosen on even time blocks "
                    "(8 interleaved blocks) and scored on the odd ones and vice versa, so a "
                    "mix of up to 5 records scores ~1 and an unrelated record ~0 whatever the "
                    "number of comparison records; r2_zero_lag = the same without shifts "
                    "(reported, not judged). Comparison sets: the training records "
                    "(when given), the reference records (always; a replay of the reference is "
                    "caught), and the group's own other records ('diversity': a collapsed "
                    "generator repeats itself). Baseline: the same figures of the held-out "
                    "reference records (against the training records; against the other "
                    "reference records). Median over records with a bootstrap 90 % interval; "
                    "share of records with NCC >= 0.95 ('copies').",
}

#: IMs the verdict judges (ln units): PGA, PGV, Sa(0.1/0.3/1/3 s), D5-95.
JUDGED_IMS = ("pga", "pgv", "sa(0.1 s)", "sa(0.3 s)", "sa(1 s)", "sa(3 s)", "d5_95")
#: Sa periods (s) of the evaluation's intensity measures.
EVAL_PERIODS = (0.1, 0.3, 1.0, 3.0)
#: The two f0 rules every report carries, the paper's first.
F0_RULES = ("lowest_clear_peak", "highest_peak")
#: NCC at or above which a record counts as a copy of a comparison record.
COPY_NCC = 0.95
#: Tolerated excess of copies over the held-out real records' share.
COPY_SHARE_MARGIN = 0.05
#: Smallest excess of the median NCC or mixing R² over the held-out real records' that fails.
MEMO_MARGIN = 0.05

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
    options = {}
    if isinstance(intensity, Mapping):  # options of the core IMs (units, inventory, periods...)
        options, intensity = dict(intensity), None
    if intensity is not None:
        raise TypeError("intensity must be None (auto), False, a dict of options of "
                        "obspy_gen.core.intensity.intensity_measures or a callable "
                        "record -> dict")
    try:
        mod = importlib.import_module("obspy_gen.core.intensity")
    except ImportError:
        return None, "obspy_gen.core.intensity is not available"
    fn = getattr(mod, "intensity_measures", None)
    if not callable(fn):
        return None, "obspy_gen.core.intensity offers no intensity_measures() function"
    if options:
        import functools
        if options.get("inventory") is not None:   # read a StationXML file once, not per record
            options["inventory"] = mod.load_inventory(options["inventory"])
        fn = functools.partial(fn, **options)
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
        result = fn(record, periods=EVAL_PERIODS)
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
    f0_rules : dict
        f0 rule -> f0 of every used record by that rule (``f0`` is the primary rule's).
    records : list of obspy.Stream
        The used records (for the memorisation figures; not serialised).
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
    f0_rules: dict = field(default_factory=dict)
    records: list = field(default_factory=list, repr=False)

    @property
    def n_valid(self) -> int:
        """Number of f0 values in the histogram."""
        return int(self.counts.sum()) if self.counts.size else 0

    def to_dict(self) -> dict:
        """JSON-ready dict (arrays as lists, NaN as None)."""
        return _jsonable({
            "status": self.status, "n_records": self.n_records, "n_used": self.n_used,
            "n_no_peak": self.n_no_peak, "n_unclear": self.n_unclear, "n_valid": self.n_valid,
            "f0": self.f0, "f0_clear": self.clear, "f0_by_rule": self.f0_rules,
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
    """Result of :func:`evaluate`: distributions, matrices, matched scores, memorisation, verdict.

    Attributes
    ----------
    groups : list of str
        Group labels in input order; ``reference`` is one of them.
    roles : dict
        Group -> ``"reference"``, ``"generated"`` or ``"reconstruction"``.
    stations : list of str
        Stations in matrix order (the reference group's, sorted, then the others').
    distributions : dict
        ``distributions[station][group]`` -> :class:`StationDistribution`.
    edges : numpy.ndarray
        f0 histogram bin edges (Hz).
    rules : list of str
        f0 rules reported; ``rules[0]`` is the primary (judged) one, the settings' f0_rule.
    matrices : dict
        Rule -> similarity matrix on all records, rows ``matrix_labels`` = (station, group)
        station-major; ``matrix`` is the primary rule's.
    ideal : numpy.ndarray
        The ideal block matrix of the same shape.
    alignment : float
        Paper-style score: NCC with the diagonal, all groups, all records, primary rule.
    alignment_full : dict
        Rule -> ``{"all_groups": {"with_diagonal", "without_diagonal"}, "vs_reference":
        {group: {...}}}`` on all records.
    alignment_matched : dict
        Rule -> ``{"all_groups": ..., "vs_reference": {group: ...}}`` from
        :func:`~obspy_gen.evaluate.scores.alignment_scores` (interval, ceiling, pass).
    similarity : dict
        ``similarity[station][group]`` -> 1 - JSD to the reference on all records (primary
        rule).
    scores : dict
        ``scores[group][station]`` -> :func:`~obspy_gen.evaluate.scores.station_scores`.
    memorisation : dict
        ``memorisation[group][station]`` -> figures against training, reference and itself.
    verdict : dict
        ``overall`` (pass, failing) and per group and station.
    im : dict
        ``available``, ``reason``, ``names`` (all IMs) and ``judged`` (those judged).
    issues : list of dict
        Input problems (group, station, record, reason).
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
    im: dict
    issues: list
    settings: HVSRSettings
    roles: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    matrices: dict = field(default_factory=dict)
    alignment_full: dict = field(default_factory=dict)
    alignment_matched: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    memorisation: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    min_records: int = 5
    require_clear: bool = False
    n_bootstrap: int = 200
    seed: int | None = None
    #: :class:`obspy_gen.evaluate.gmpe.GMPECheck` when asked for (``evaluate(gmpe=...)``).
    gmpe: object = None

    @property
    def f0_range(self) -> tuple:
        return tuple(self.settings.f0_band)

    @property
    def candidates(self) -> list:
        """Groups compared with the reference (generated and reconstructions)."""
        return [g for g in self.groups if g != self.reference]

    def to_dict(self) -> dict:
        """Every number of the evaluation as a JSON-ready dict (NaN as None).

        Examples
        --------
        >>> from obspy import read
        >>> st = read()
        >>> d = evaluate({"real": [st], "copy": [st.copy()]}, min_records=1,
        ...              n_bootstrap=5).to_dict()
        >>> d["stations"]["RJOB"]["similarity_to_reference"], d["alignment"]["full_sets"]
        ({'copy': 1.0}, None)
        >>> d["verdict"]["overall"]["pass"] is None    # one record: nothing can be judged
        True
        """
        stations = {}
        for s in self.stations:
            stations[s] = {
                "groups": {g: self.distributions[s][g].to_dict() for g in self.groups},
                "similarity_to_reference": self.similarity.get(s, {}),
                "scores": {g: self.scores.get(g, {}).get(s) for g in self.candidates},
                "memorisation": {g: self.memorisation.get(g, {}).get(s)
                                 for g in self.candidates},
            }
        return _jsonable({
            "definitions": DEFINITIONS,
            "verdict": self.verdict,
            "groups": self.groups, "roles": self.roles, "reference": self.reference,
            "station_order": self.stations,
            "settings": self.settings.to_dict(),
            "f0_rules": {"primary": self.rules[0] if self.rules else None,
                         "reported": self.rules},
            "bins": {"edges": self.edges, "spacing": self.spacing,
                     "f0_range": list(self.f0_range)},
            "js": self.js, "min_records": self.min_records,
            "require_clear": self.require_clear,
            "resampling": {"n_bootstrap": self.n_bootstrap, "seed": self.seed},
            "training": self.training,
            "stations": stations,
            "matrix": {"labels": [list(x) for x in self.matrix_labels],
                       "values": self.matrix, "by_rule": self.matrices, "ideal": self.ideal},
            "alignment": {"full_sets": self.alignment,
                          "full_sets_by_rule": self.alignment_full,
                          "matched": self.alignment_matched,
                          "excluded_rows": [list(lbl) for k, lbl in
                                            enumerate(self.matrix_labels)
                                            if not np.isfinite(self.matrix[k, k])]},
            "intensity_measures": self.im,
            "gmpe": self.gmpe.to_dict() if self.gmpe is not None else None,
            "issues": self.issues,
        })

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as JSON (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)


def _station_hvsr(records, settings, require_clear, issue, done, rules=()):
    """Used records, their f0, clarity, peak amplitude and curve (one station, one group),
    and the f0 of every record by each of ``rules`` (same curves)."""
    from obspy_gen.core.hvsr import _pick_f0, check_record, hvsr, is_clear_peak

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
    by_rule = {r: [] for r in rules}
    rule_settings = {r: settings.replace(f0_rule=r) for r in rules}
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
                for r in rules:
                    if r == settings.f0_rule:
                        by_rule[r].append(f0[-1])
                        continue
                    j, ok_r = _pick_f0(curve, freq, rule_settings[r])
                    by_rule[r].append(float(freq[j]) if j >= 0 and (ok_r or not require_clear)
                                      else np.nan)
        done(len(batch))
    return (used, np.array(f0, dtype=float), np.array(clear, dtype=bool),
            np.array(amp, dtype=float), curves, freq, np.array(has_peak, dtype=bool),
            {r: np.array(v, dtype=float) for r, v in by_rule.items()})


def station_job(records, settings, require_clear, rules, im_fn):
    """The HVSR (and IMs) of one (station, group) of :func:`evaluate`, as a top-level,
    picklable job any Executor runs (``evaluate(..., executor=...)``).

    Returns
    -------
    tuple
        ``(used, f0, clear, amplitude, curves, frequency, has_peak, by_rule, ims,
        hvsr_issues, im_issues)``: ``used`` are indices into ``records``; the issues are lists
        of ``(record label, reason)`` in the order the serial run reports them.
    """
    hvsr_issues, im_issues = [], []
    used, f0, clear, amp, curves, freq, has_peak, by_rule = _station_hvsr(
        records, settings, require_clear, lambda rec, reason: hvsr_issues.append((rec, reason)),
        lambda n: None, rules)
    ims = None
    if im_fn is not None:
        ims = _station_ims(im_fn, used, lambda rec, reason: im_issues.append((rec, reason)))
    index = {id(rec): i for i, rec in enumerate(records)}
    return ([index[id(rec)] for rec in used], f0, clear, amp, curves, freq, has_peak, by_rule,
            ims, hvsr_issues, im_issues)


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
             progress=None, training=None, reconstructions=(), f0_rules=None,
             judged_ims=JUDGED_IMS, memorisation=True, gmpe=None, executor=None) -> EvaluationReport:
    """Compare groups of records station by station, with sample-matched ceilings and a verdict.

    For every record its own HVSR and f0 by each f0 rule (whole record, the paper's settings
    by default); per station and group the f0 histogram, the lognormal mean HVSR curve with its
    ±σ, and IMs when available; the paper's similarity matrix and alignment score on all
    records; and for every candidate group (every group but the reference) the sample-matched
    figures of :mod:`obspy_gen.evaluate.scores` (f0 similarity, median error, spread ratio,
    share off by > 2x, Wasserstein distances of ln IMs, alignment with and without the
    diagonal), each with its 90 % interval beside its real-vs-real ceiling; the memorisation
    and mixing figures of :mod:`obspy_gen.evaluate.memorisation` against the training records
    (when given), the reference records and the group itself; and a verdict per station, group
    and overall naming the failing figures.
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
    intensity : None, False, dict or callable
        ``None``: use ``obspy_gen.core.intensity`` when it exists; a dict: the same with these
        options of its ``intensity_measures`` (e.g. ``{"inventory": "stations.xml"}`` for
        records in counts); ``False``: no IMs; a callable ``record -> {name: value}``: use it.
        Records in unknown units get no IMs (an issue names the trace), never assumed m/s**2.
    progress : callable, optional
        ``progress(total)`` returning an object with ``update(n)`` and ``close()`` (e.g.
        ``lambda total: tqdm(total=total)``): advanced record by record.
    training : records, optional
        The generator's training records (any form a group takes): generated records are
        compared with them (copies, linear mixes), next to the reference records' figures.
    reconstructions : sequence of str
        Labels of groups that are reconstructions (encode -> decode) of real records: their
        figures are reported, their memorisation is not judged and they do not enter the
        overall verdict.
    f0_rules : sequence of str, optional
        f0 rules to report (default the settings' rule first, then ``lowest_clear_peak`` and
        ``highest_peak``); the first is judged.
    judged_ims : sequence of str
        IMs whose distances enter the verdict (others are reported).
    memorisation : bool
        Compute the memorisation and mixing figures (default True).
    gmpe : None, str or dict
        Also check every record with a scenario (magnitude, distance, Vs30) against
        ground-motion models: ``"auto"``, ``"asb14"`` or ``"bssa14"``, or a dict of
        :func:`obspy_gen.evaluate.gmpe.gmpe_check` keywords; the result is ``report.gmpe``.
        Default None: no GMPE check.
    executor : concurrent.futures.Executor, optional
        Runs the per-(station, group) HVSR and IM jobs (:func:`station_job`), e.g. a process
        pool or a Dask client's executor (:func:`obspy_gen.batch.scheduler_executor`); the
        report is the serial one. A job that fails becomes an issue of its station and group.

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
    >>> report.rules
    ['lowest_clear_peak', 'highest_peak']
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
    reconstructions = [str(g) for g in (reconstructions or ())]
    for g in reconstructions:
        if g not in labels or g == reference:
            raise ValueError(f"reconstructions: {g!r} is not one of the candidate groups "
                             f"({', '.join(x for x in labels if x != reference)})")
    settings = evaluation_settings(settings, preset, f0_range)
    if f0_rules is None:
        f0_rules = [settings.f0_rule] + [r for r in F0_RULES if r != settings.f0_rule]
    f0_rules = list(dict.fromkeys(str(r) for r in f0_rules))
    for r in f0_rules:
        settings.replace(f0_rule=r)  # validates the name
    if f0_rules[0] != settings.f0_rule:
        settings = settings.replace(f0_rule=f0_rules[0])
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
    jobs = {}
    if executor is not None:
        futures = {executor.submit(station_job, by_group[g][s], settings, require_clear,
                                   f0_rules, im_fn): (g, s)
                   for g in labels for s in stations if by_group[g].get(s)}
        try:
            for f in concurrent.futures.as_completed(futures):
                g, s = futures[f]
                jobs[g, s] = f.exception() or f.result()
                done(len(by_group[g][s]))
        finally:
            if bar is not None:
                bar.close()
                bar = None
    try:
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
                job = jobs.get((g, s))
                if isinstance(job, BaseException):  # this station and group only
                    add_issue(g, s, None, f"failed: {type(job).__name__}: {job}")
                    job = ([], np.array([]), np.array([], dtype=bool), np.array([]), [], None,
                           np.array([], dtype=bool), {r: np.array([]) for r in f0_rules},
                           None, [], [])
                if job is None:
                    used, f0, clear, amp, curves, freq, has_peak, by_rule = _station_hvsr(
                        records, settings, require_clear,
                        lambda rec, reason, g=g, s=s: add_issue(g, s, rec, reason), done,
                        f0_rules)
                else:
                    (used, f0, clear, amp, curves, freq, has_peak, by_rule, job_ims,
                     hvsr_issues, im_issues) = job
                    used = [records[i] for i in used]
                    for rec, reason in hvsr_issues:
                        add_issue(g, s, rec, reason)
                d.f0_rules, d.records = by_rule, used
                d.record_ids = [_record_label(rec) for rec in used]
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
                if im_fn is not None and job is not None:
                    d.ims = job_ims
                    for rec, reason in im_issues:
                        add_issue(g, s, rec, reason)
                elif im_fn is not None:
                    d.ims = _station_ims(im_fn, used, lambda rec, reason, g=g, s=s:
                                         add_issue(g, s, rec, reason))
    finally:
        if bar is not None:
            bar.close()

    rng = np.random.default_rng(seed)
    candidates = [g for g in labels if g != reference]
    roles = {g: ("reference" if g == reference else
                 "reconstruction" if g in reconstructions else "generated") for g in labels}

    # The paper's matrix on all records, per rule: station-major rows; rows without a
    # distribution stay NaN.
    matrix_labels = [(s, g) for s in stations for g in labels]
    ideal = ideal_block_matrix([s for s, _ in matrix_labels])
    off = ~np.eye(len(matrix_labels), dtype=bool)
    index = {lbl: k for k, lbl in enumerate(matrix_labels)}
    matrices, alignment_full = {}, {}
    for r in f0_rules:
        hists = []
        for s, g in matrix_labels:
            d = distributions[s][g]
            h = f0_histogram(d.f0_rules.get(r, np.zeros(0)), edges, normalize=False)[0]
            ok = d.status == STATUS_OK and h.sum() >= min_records
            hists.append(h / h.sum() if ok else np.full(edges.size - 1, np.nan))
        m = similarity_matrix(np.array(hists), kind=js) if hists else np.zeros((0, 0))
        matrices[r] = m

        def score(rows, m=m):
            sub, idl = m[np.ix_(rows, rows)], ideal[np.ix_(rows, rows)]
            return {"with_diagonal": alignment_score(sub, idl) if sub.size else float("nan"),
                    "without_diagonal": (alignment_score(np.where(off[np.ix_(rows, rows)],
                                                                  sub, np.nan), idl)
                                         if sub.size else float("nan"))}
        alignment_full[r] = {
            "all_groups": score(list(range(len(matrix_labels)))),
            "vs_reference": {g: score([k for k, (_, gg) in enumerate(matrix_labels)
                                       if gg in (reference, g)]) for g in candidates}}
    matrix = matrices[f0_rules[0]]
    alignment = alignment_full[f0_rules[0]]["all_groups"]["with_diagonal"]
    alignment_vs_reference = {g: alignment_full[f0_rules[0]]["vs_reference"][g]["with_diagonal"]
                              for g in candidates}
    similarity = {s: {g: float(matrix[index[(s, reference)], index[(s, g)]])
                      for g in candidates} for s in stations}

    # Sample-matched scores: alignment per rule, figures per group and station.
    alignment_matched = {}
    for r in f0_rules:
        ref_f0 = {s: distributions[s][reference].f0_rules.get(r, np.zeros(0))
                  for s in stations}
        per = {"vs_reference": {}}
        for g in candidates:
            per["vs_reference"][g] = alignment_scores(
                ref_f0, {g: {s: distributions[s][g].f0_rules.get(r, np.zeros(0))
                             for s in stations}}, edges, kind=js, n_bootstrap=n_bootstrap,
                rng=rng, min_records=min_records)
        per["all_groups"] = alignment_scores(
            ref_f0, {g: {s: distributions[s][g].f0_rules.get(r, np.zeros(0))
                         for s in stations} for g in candidates}, edges, kind=js,
            n_bootstrap=n_bootstrap, rng=rng, min_records=min_records) if candidates else {}
        alignment_matched[r] = per
    im_names = list(dict.fromkeys(k for s in stations for g in labels
                                  for k in distributions[s][g].ims))
    judged = [n for n in judged_ims if n in im_names]
    scores = {}
    for g in candidates:
        scores[g] = {}
        for s in stations:
            ref_d, d = distributions[s][reference], distributions[s][g]
            if not ref_d.n_used or not d.n_used:
                scores[g][s] = {"status": "missing", "figures": {}}
                continue
            scores[g][s] = station_scores(
                {"f0": ref_d.f0_rules, "ims": ref_d.ims}, {"f0": d.f0_rules, "ims": d.ims},
                edges, kind=js, ims=im_names, n_bootstrap=n_bootstrap, rng=rng,
                min_records=min_records)
            for n in im_names:
                fig = scores[g][s]["figures"].get("ims", {}).get(n)
                if fig is not None:
                    fig["judged"] = n in judged

    # Memorisation and mixing.
    training_info = {"given": training is not None}
    train_by_station = {}
    if training is not None:
        grouped, problems = _group_records(training, by)
        for station, record, reason in problems:
            add_issue("training", station, record, reason)
        train_by_station = {s: [r for r in recs if len(r)] for s, recs in grouped.items()}
        training_info["stations"] = {s: len(v) for s, v in sorted(train_by_station.items())}
    memo = {}
    if memorisation:
        memo = _memorisation(distributions, stations, reference, candidates, roles,
                             train_by_station, n_bootstrap, rng)

    verdict = _verdict(stations, reference, candidates, roles, scores, alignment_matched,
                       memo, f0_rules[0], judged, memorisation)
    im = {"available": im_fn is not None, "reason": im_reason, "names": im_names,
          "judged": judged}
    gmpe_result = None
    if gmpe is not None and gmpe is not False:
        from obspy_gen.evaluate.gmpe import gmpe_check
        kw = dict(gmpe) if isinstance(gmpe, Mapping) else {"gmpe": gmpe}
        gmpe_result = gmpe_check(dict(zip(labels, groups.values())), **kw)
    return EvaluationReport(
        groups=labels, reference=reference, stations=stations, distributions=distributions,
        edges=edges, spacing=spacing if np.ndim(bins) == 0 else "custom", js=js,
        matrix=matrix, matrix_labels=matrix_labels, ideal=ideal, alignment=alignment,
        alignment_vs_reference=alignment_vs_reference, similarity=similarity,
        im=im, issues=issues, settings=settings, roles=roles, rules=f0_rules,
        matrices=matrices, alignment_full=alignment_full, alignment_matched=alignment_matched,
        scores=scores, memorisation=memo, verdict=verdict, training=training_info,
        min_records=int(min_records), require_clear=bool(require_clear),
        n_bootstrap=int(n_bootstrap), seed=seed, gmpe=gmpe_result)


def _memo_summary(values, n_bootstrap, rng) -> dict:
    v = np.asarray(values, dtype=float)
    out = bootstrap_median(v, n_bootstrap, rng)
    fin = v[np.isfinite(v)]
    out["share_copies"] = float(np.mean(fin >= COPY_NCC)) if fin.size else None
    out["values"] = v
    return out


def _memo_entry(cand, base, what, n_bootstrap, rng) -> dict:
    """Candidate vs baseline summaries of one comparison (ncc and r2) and their judgement."""
    entry = {"against": what}
    for key in ("ncc", "r2"):
        c = _memo_summary(cand[key], n_bootstrap, rng)
        b = _memo_summary(base[key], n_bootstrap, rng)
        ok = None
        if c["p05"] is not None and b["p95"] is not None:
            ok = not (c["p05"] > b["p95"] and c["median"] > b["median"] + MEMO_MARGIN)
            if key == "ncc" and c["share_copies"] is not None and b["share_copies"] is not None:
                ok = ok and not c["share_copies"] > b["share_copies"] + COPY_SHARE_MARGIN
        entry[key] = {"model": c, "held_out": b, "pass": ok}
    if "r2_zero_lag" in cand and "r2_zero_lag" in base:  # reported, not judged
        entry["r2_zero_lag"] = {"model": _memo_summary(cand["r2_zero_lag"], n_bootstrap, rng),
                                "held_out": _memo_summary(base["r2_zero_lag"], n_bootstrap,
                                                          rng), "pass": None}
    return entry


def _memorisation(distributions, stations, reference, candidates, roles, train_by_station,
                  n_bootstrap, rng) -> dict:
    """Per group and station: NCC / R2 against training, reference and the group itself."""
    memo = {g: {} for g in candidates}
    for s in stations:
        ref_recs = distributions[s][reference].records
        if not ref_recs:
            continue
        fs = ref_recs[0][0].stats.sampling_rate
        train = train_by_station.get(s, [])
        cands = {g: distributions[s][g].records for g in candidates
                 if distributions[s][g].records}
        if not cands:
            continue
        from obspy_gen.evaluate.memorisation import record_matrix
        length = max(record_matrix(r, fs).shape[1] for recs in list(cands.values()) +
                     [ref_recs] for r in recs)
        kw = {"sampling_rate": fs, "length": length}
        ref_self = memorisation_figures(ref_recs, ref_recs, same_set=True, **kw)
        ref_train = memorisation_figures(ref_recs, train, **kw) if train else None
        for g, recs in cands.items():
            e = {"n_records": len(recs), "n_reference": len(ref_recs),
                 "n_training": len(train), "judged": roles[g] == "generated"}
            if train:
                e["training"] = _memo_entry(memorisation_figures(recs, train, **kw), ref_train,
                                            "training records", n_bootstrap, rng)
            # One reference record fewer per candidate: as many as the leave-one-out baseline.
            e["reference"] = _memo_entry(memorisation_figures(recs, ref_recs, drop_one=True,
                                                              **kw), ref_self,
                                         "reference records", n_bootstrap, rng)
            own = memorisation_figures(recs, recs, same_set=True, **kw)
            e["diversity"] = _memo_entry(own, ref_self,
                                         "the group's own other records", n_bootstrap, rng)
            memo[g][s] = e
    return memo


_NAMES = {"f0_similarity": "f0 similarity", "f0_median_error": "f0 median error",
          "f0_spread_ratio": "f0 spread ratio", "f0_off_2x": "share of f0 off by >2x"}


def _fmt_interval(m, spec=".2f"):
    return (f"{format(m['median'], spec)} [{format(m['p05'], spec)}-"
            f"{format(m['p95'], spec)}]")


def _figure_text(name, fig):
    c = fig["ceiling"]
    return (f"{name} {_fmt_interval(fig['model'])} vs real-vs-real "
            f"{format(c['p05'], '.2f')}-{format(c['p95'], '.2f')}")


def _verdict(stations, reference, candidates, roles, scores, alignment_matched, memo, rule,
             judged_ims, with_memo) -> dict:
    groups = {}
    for g in candidates:
        failing, per_station = [], {}
        for s in stations:
            sc = scores[g].get(s, {})
            fails, unknown, names = [], [], []
            if sc.get("status") != "ok":
                unknown.append(sc.get("status", "missing"))
            else:
                for k, fig in sc["figures"].get(rule, {}).items():
                    if fig["pass"] is False:
                        fails.append(_figure_text(_NAMES.get(k, k), fig))
                        names.append(_NAMES.get(k, k))
                    elif fig["pass"] is None:
                        unknown.append(f"{_NAMES.get(k, k)}: no value")
                for n in judged_ims:
                    fig = sc["figures"].get("ims", {}).get(n)
                    if fig is None:
                        continue
                    if fig["pass"] is False:
                        fails.append(_figure_text(f"W(ln {n})", fig))
                        names.append(f"W(ln {n})")
            m = memo.get(g, {}).get(s)
            if with_memo and m is not None and roles[g] == "generated":
                for part in ("training", "reference", "diversity"):
                    e = m.get(part)
                    if e is None:
                        continue
                    for key, what in (("ncc", "max NCC"), ("r2", "mixing R2")):
                        if part == "diversity" and key == "r2":
                            continue
                        x = e[key]
                        if x["pass"] is False:
                            label = ("copies of / similar to " if key == "ncc" else
                                     "linear mixes of ") + e["against"]
                            if part == "diversity":
                                label = "collapsed: records repeat each other"
                            names.append(label)
                            fails.append(f"{label}: {what} median "
                                         f"{_fmt_interval(x['model'])}, copies "
                                         f"{x['model']['share_copies']:.2f}; held-out real "
                                         f"{_fmt_interval(x['held_out'])}, copies "
                                         f"{x['held_out']['share_copies']:.2f}")
            ok = False if fails else (None if unknown else True)
            per_station[s] = {"pass": ok, "failing": fails, "failing_figures": names,
                              "not_judged": unknown}
            failing += [f"{s}: {f}" for f in fails]
        al = alignment_matched[rule]["vs_reference"][g]["without_diagonal"]
        if al["pass"] is False:
            failing.append("alignment (no diagonal) " + _figure_text("", al).strip())
        summary = {}
        for s, v in per_station.items():
            for name in v["failing_figures"]:
                summary.setdefault(name, []).append(s)
        if al["pass"] is False:
            summary["alignment (no diagonal)"] = ["all stations"]
        states = [v["pass"] for v in per_station.values()] + [al["pass"]]
        ok = False if failing or False in states else (None if None in states else True)
        groups[g] = {"role": roles[g], "pass": ok, "failing": failing,
                     "failing_summary": summary, "stations": per_station,
                     "alignment": {"pass": al["pass"], "model": al["model"],
                                   "ceiling": al["ceiling"]}, "rule": rule}
    judged = [g for g in candidates if roles[g] == "generated"]
    states = [groups[g]["pass"] for g in judged]
    overall = (None if not judged else False if False in states else
               None if None in states else True)
    return {"overall": {"pass": overall, "rule": rule, "groups": {g: groups[g]["pass"]
                                                                  for g in judged},
                        "failing": [f"{g}: {f}" for g in judged for f in groups[g]["failing"]]},
            "groups": groups}


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

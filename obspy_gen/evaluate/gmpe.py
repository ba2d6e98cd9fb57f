"""GMPE check: records against ground-motion models (pygmm), per group and scenario.

For every record with a known scenario (magnitude, distance, Vs30; see :func:`scenario_of`)
the ln residuals ``ln(observed) - ln(model median)`` of PGA, PGV and Sa(T) at the standard
periods (:data:`STANDARD_PERIODS`, 0.01-4 s) against a spectral model, and of the significant
duration D5-95 against a duration model; per group and per scenario the mean bias with a 90 %
interval and the standard deviation, next to the model's sigma. Models (pygmm, MIT):

========== ==================================  ==========================================
name       pygmm class                         used for
========== ==================================  ==========================================
``asb14``  ``AkkarSandikkayaBommer2014``       Sa, PGA, PGV: Türkiye and Europe
``bssa14`` ``BooreStewartSeyhanAtkinson2014``  Sa, PGA, PGV: other active crustal regions
``as16``   ``AfshariStewart2016``              D5-95 (significant duration)
========== ==================================  ==========================================

``gmpe="auto"`` picks ASB14 for records in Türkiye/Europe (AFAD labels, network ``TK`` or
coordinates in 30-72 N, 25 W-45 E) and BSSA14 elsewhere (with its Japan/Türkiye regional
terms when the record says where it is).

Observed IMs are those of :func:`obspy_gen.core.intensity.intensity_measures`: the geometric
mean of the two as-recorded horizontals (GMxy, ASB14's convention; BSSA14 is fitted to RotD50,
which is on average 0-6 % larger, Boore 2010), 5 % damping. Point-source distances: when a
record gives only the epicentral or hypocentral distance, ASB14 uses its own R_epi / R_hyp
coefficients, BSSA14 takes R_JB = R_epi and AS16 R_rup = R_hyp; every such approximation is
listed with the prediction. A scenario outside a model's range is computed, flagged, warned
about and reported -- never extrapolated silently -- or left out with ``out_of_range="skip"``.

Examples
--------
>>> s = Scenario(magnitude=6.5, vs30=400.0, repi=20.0, depth=10.0)
>>> p = predict(s, "asb14", periods=[0.2, 1.0])
>>> p.model, round(p.median["pga"], 2), round(p.sigma["pga"], 3)
('asb14', 1.91, 0.735)
>>> resolve_gmpe("nga")
Traceback (most recent call last):
...
ValueError: unknown GMPE 'nga'; known: asb14 (AkkarSandikkayaBommer2014), bssa14 (...), as16 (...)
"""
from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

#: Periods (s) of the Sa residuals: the standard 0.01-4 s set of ground-motion models.
STANDARD_PERIODS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5,
                    2.0, 3.0, 4.0)
G = 9.80665

#: name -> (pygmm class name, kind, where it applies).
MODELS = {
    "asb14": ("AkkarSandikkayaBommer2014", "spectral", "Türkiye and Europe"),
    "bssa14": ("BooreStewartSeyhanAtkinson2014", "spectral", "active crustal regions"),
    "as16": ("AfshariStewart2016", "duration", "significant duration D5-95"),
}
#: Parameter of a pygmm model -> (our name, unit) for range messages.
_PARAM_NAMES = {"mag": ("magnitude", "Mw"), "dist_jb": ("R_JB", "km"),
                "dist_epi": ("R_epi", "km"), "dist_hyp": ("R_hyp", "km"),
                "dist_rup": ("R_rup", "km"), "v_s30": ("Vs30", "m/s")}

DEFINITIONS = {
    "residual": "ln(observed) - ln(model median) per record and IM (natural logs).",
    "observed": "obspy_gen.core.intensity: geometric mean of the two as-recorded horizontals "
                "(GMxy) of PGA (m/s^2), PGV (m/s, 0.1-Hz high-pass), Sa(T) (5 % damping) and "
                "D5-95 (s).",
    "bias": "Mean residual of a group (or scenario) with its 90 % interval "
            "(mean ± 1.645 std/sqrt(n)); std = sample standard deviation of the residuals; "
            "sigma = the model's total standard deviation (mean over the records). A model "
            "that describes the records has |bias| inside its interval's reach of 0 and "
            "std close to sigma.",
    "distances": "Point sources: ASB14 uses R_JB when given, else its R_hyp, else its R_epi "
                 "coefficients; BSSA14 takes R_JB = R_epi, AS16 R_rup = R_hyp when those are "
                 "not given (listed per prediction under 'approximations').",
    "range": "A scenario outside a model's range (pygmm's PARAMS limits) is computed, flagged "
             "'out_of_range' and warned about (or skipped with out_of_range='skip').",
}


def resolve_gmpe(name) -> str:
    """Our key of a GMPE name (``asb14``, ``bssa14``, ``as16`` or the pygmm class name).

    Examples
    --------
    >>> resolve_gmpe("ASB14"), resolve_gmpe("BooreStewartSeyhanAtkinson2014")
    ('asb14', 'bssa14')
    """
    key = str(name).strip().lower()
    for k, (cls, _, _) in MODELS.items():
        if key in (k, cls.lower()):
            return k
    known = ", ".join(f"{k} ({v[0]})" for k, v in MODELS.items())
    raise ValueError(f"unknown GMPE {name!r}; known: {known}")


def _pygmm_class(key):
    with warnings.catch_warnings():  # pygmm leaves a data file open at import
        warnings.simplefilter("ignore")
        import pygmm
    return getattr(pygmm, MODELS[key][0])


# ------------------------------------------------------------------------------ scenarios

@dataclass(frozen=True)
class Scenario:
    """An earthquake scenario at a site (what a GMPE needs).

    Attributes
    ----------
    magnitude : float
        Magnitude (taken as Mw; ``magnitude_type`` says what the source gave).
    vs30 : float or None
        m/s.
    repi, rhyp, rjb, rrup : float or None
        Epicentral, hypocentral, Joyner-Boore and rupture distance (km), those known.
    depth : float or None
        Hypocentral depth (km).
    magnitude_type : str or None
    region : str or None
        ``"turkey"``, ``"europe"``, ``"japan"`` or None (unknown).
    mechanism : str or None
        ``"SS"``, ``"NS"``, ``"RS"`` or None (unspecified).
    source : str
        Where the values came from (``stats.obspy_gen``, ``records.csv``, ``stats.afad``,
        ``stats.knet``, ``given``).

    Examples
    --------
    >>> Scenario(magnitude=6.5, vs30=400.0, repi=20.0, depth=10.0).label()
    'M6.5 R20km Vs30=400'
    >>> round(Scenario(magnitude=6.5, repi=20.0, depth=10.0).hypocentral, 2)
    22.36
    """

    magnitude: float
    vs30: float | None = None
    repi: float | None = None
    rhyp: float | None = None
    rjb: float | None = None
    rrup: float | None = None
    depth: float | None = None
    magnitude_type: str | None = None
    region: str | None = None
    mechanism: str | None = None
    source: str = "given"

    @property
    def hypocentral(self):
        """R_hyp (km): given, or from R_epi and depth."""
        if self.rhyp is not None:
            return self.rhyp
        if self.repi is not None and self.depth is not None:
            return math.hypot(self.repi, self.depth)
        return None

    @property
    def distance(self):
        """The distance of the scenario's label (km): R_JB, R_epi, R_hyp or R_rup."""
        for v in (self.rjb, self.repi, self.rhyp, self.rrup):
            if v is not None:
                return v
        return None

    def key(self) -> tuple:
        """Scenario group of a record: M to 0.1, distance to 1 km, Vs30 to 10 m/s."""
        d, v = self.distance, self.vs30
        return (round(self.magnitude, 1), None if d is None else round(d),
                None if v is None else int(round(v / 10.0) * 10))

    def label(self) -> str:
        m, d, v = self.key()
        return (f"M{m:.1f}" + ("" if d is None else f" R{d:g}km") +
                ("" if v is None else f" Vs30={v:g}"))

    def to_dict(self) -> dict:
        return asdict(self)


_TURKEY_BOX = (35.5, 42.5, 25.5, 45.0)
_EUROPE_BOX = (30.0, 72.0, -25.0, 45.0)
_JAPAN_BOX = (24.0, 46.0, 122.0, 150.0)


def _in(box, lat, lon):
    return box[0] <= lat <= box[1] and box[2] <= lon <= box[3]


def region_of(lat=None, lon=None, network=None) -> str | None:
    """``"turkey"``, ``"europe"``, ``"japan"`` or None from coordinates or the network code.

    Examples
    --------
    >>> region_of(39.9, 38.8), region_of(41.5, 140.9), region_of(34.0, -118.0)
    ('turkey', 'japan', None)
    """
    if lat is not None and lon is not None:
        if _in(_TURKEY_BOX, lat, lon):
            return "turkey"
        if _in(_EUROPE_BOX, lat, lon):
            return "europe"
        if _in(_JAPAN_BOX, lat, lon):
            return "japan"
        return None
    if network == "TK":
        return "turkey"
    return None


def _num(v):
    if v is None or isinstance(v, bool):
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _epicentral(lat1, lon1, lat2, lon2):
    from obspy.geodetics import gps2dist_azimuth
    return gps2dist_azimuth(lat1, lon1, lat2, lon2)[0] / 1000.0


def scenario_of(record, vs30=None) -> Scenario:
    """The scenario of a record from its stats, or a ValueError saying what is missing.

    Looked up in this order: ``stats.obspy_gen`` (generated records carry their conditions:
    ``magnitude``, ``distance`` with ``distance_kind`` -- epicentral unless said --,
    ``hypo_distance``, ``depth``, ``vs30``), ``stats.labels`` (a label table such as the
    simulator's ``records.csv``, see :func:`attach_labels`), ``stats.afad`` (AFAD readers:
    ``magnitude``, ``rhyp``, ``vs30``, event and station coordinates), ``stats.knet`` (ObsPy's
    K-NET/KiK-net reader: JMA magnitude, event and station coordinates). Vs30 also from
    ``stats.site`` (station tables); ``vs30`` (a number or a mapping station -> Vs30) fills in
    where the record has none.

    Examples
    --------
    >>> from obspy_gen.data import read_bundled
    >>> s = scenario_of(read_bundled("2404"))
    >>> s.magnitude, s.magnitude_type, round(s.rhyp, 1), s.vs30, s.region
    (4.4, 'ML', 43.4, 567.0, 'turkey')
    >>> scenario_of(read_bundled("AOM001"))
    Traceback (most recent call last):
    ...
    ValueError: BO.AOM001.: no Vs30 (stats.site, labels, or pass vs30=)
    """
    traces = list(record)
    if not traces:
        raise ValueError("empty record")
    s = traces[0].stats
    rid = f"{s.network}.{s.station}.{s.location}"
    coords = s.get("coordinates") or {}
    lat, lon = _num(coords.get("latitude")), _num(coords.get("longitude"))
    vals = {}
    source = None
    for ns in ("obspy_gen", "labels"):
        m = s.get(ns)
        if not m or _num(m.get("magnitude")) is None:
            continue
        kind = str(m.get("distance_kind") or "epicentral")
        d = _num(m.get("distance"))
        key = {"epicentral": "repi", "hypocentral": "rhyp", "joyner_boore": "rjb",
               "rupture": "rrup"}.get(kind, "repi")
        vals = {"magnitude": _num(m.get("magnitude")), key: d,
                "depth": _num(m.get("depth")), "vs30": _num(m.get("vs30")),
                "magnitude_type": "Mw"}
        if vals.get("rhyp") is None and _num(m.get("hypo_distance")) is not None:
            vals["rhyp"] = _num(m.get("hypo_distance"))
        if lat is None and _num(m.get("latitude")) is not None:  # a label table's columns
            lat, lon = _num(m.get("latitude")), _num(m.get("longitude"))
        source = f"stats.{ns}"
        break
    if source is None and s.get("afad") and _num(s.afad.get("magnitude")) is not None:
        a = s.afad
        vals = {"magnitude": _num(a.get("magnitude")), "rhyp": _num(a.get("rhyp")),
                "depth": _num(a.get("event_depth")), "vs30": _num(a.get("vs30")),
                "magnitude_type": a.get("magnitude_type")}
        elat, elon = _num(a.get("event_latitude")), _num(a.get("event_longitude"))
        slat = _num(a.get("station_latitude")) or lat
        slon = _num(a.get("station_longitude")) or lon
        if None not in (elat, elon, slat, slon):
            vals["repi"] = _epicentral(elat, elon, slat, slon)
        source = "stats.afad"
        lat, lon = slat, slon
        vals["region"] = region_of(lat, lon) or "turkey"
    if source is None and s.get("knet") and _num(s.knet.get("mag")) is not None:
        k = s.knet
        vals = {"magnitude": _num(k.get("mag")), "depth": _num(k.get("evdp")),
                "magnitude_type": "MJMA"}
        elat, elon = _num(k.get("evla")), _num(k.get("evlo"))
        lat, lon = _num(k.get("stla")), _num(k.get("stlo"))
        if None not in (elat, elon, lat, lon):
            vals["repi"] = _epicentral(elat, elon, lat, lon)
        source = "stats.knet"
    if source is None:
        raise ValueError(f"{rid}: no scenario (no magnitude in stats.obspy_gen, stats.labels, "
                         f"stats.afad or stats.knet)")
    if vals.get("vs30") is None:
        site = s.get("site") or {}
        vals["vs30"] = _num(site.get("vs30"))
    if vals.get("vs30") is None and vs30 is not None:
        vals["vs30"] = _num(vs30.get(s.station) if isinstance(vs30, Mapping) else vs30)
    if vals.get("vs30") is None:
        raise ValueError(f"{rid}: no Vs30 (stats.site, labels, or pass vs30=)")
    if all(vals.get(k) is None for k in ("repi", "rhyp", "rjb", "rrup")):
        raise ValueError(f"{rid}: no source-to-site distance in {source}")
    if "region" not in vals:
        vals["region"] = region_of(lat, lon, s.network)
    return Scenario(source=source, **{k: v for k, v in vals.items()
                                      if k in Scenario.__dataclass_fields__})


def attach_labels(path, stream, names=("records.csv", "labels.csv", "suite.csv")) -> bool:
    """Copy the row of a label table next to ``path`` (joined on the file name) into
    ``stats.labels`` of every trace of ``stream``; True when a row was found.

    The simulator's ``records.csv`` and a record suite's ``suite.csv`` have a ``file`` column
    and the scenario columns (``magnitude``, ``distance``, ``depth``, ``vs30``).

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "records.csv"), "w").write("file,magnitude,distance,vs30\\n"
    ...                                                     "a.mseed,5.5,12.0,300\\n")
    >>> st = read()
    >>> attach_labels(os.path.join(d, "a.mseed"), st), scenario_of(st).label()
    (True, 'M5.5 R12km Vs30=300')
    """
    from obspy.core.util import AttribDict
    folder, base = os.path.split(os.fspath(path))
    for name in names:
        table = os.path.join(folder, name)
        row = _read_table(table).get(base)
        if row is not None:
            for tr in stream:
                tr.stats.labels = AttribDict(row)
            return True
    return False


_TABLES = {}


def _read_table(path) -> dict:
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return {}
    cached = _TABLES.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    table = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("file"):
                    table[os.path.basename(row["file"])] = {
                        k: (v if _num(v) is None else _num(v)) for k, v in row.items()
                        if k != "file" and v not in ("", None)}
    except (OSError, csv.Error, UnicodeDecodeError):
        table = {}
    _TABLES[path] = (mtime, table)
    return table


# ------------------------------------------------------------------------------ predictions

@dataclass
class Prediction:
    """A GMPE's median and sigma for one scenario.

    Attributes
    ----------
    model : str
        ``asb14``, ``bssa14`` or ``as16``.
    median : dict
        ``pga`` (m/s^2), ``pgv`` (m/s), ``sa`` (array, m/s^2 at ``periods``) or ``d5_95`` (s).
    sigma : dict
        Total ln standard deviation of the same keys.
    periods : numpy.ndarray
    out_of_range : list of str
        Inputs outside the model's range (the prediction is an extrapolation there).
    approximations : list of str
        Distances the model needed and the scenario did not give.
    """

    model: str
    median: dict
    sigma: dict
    periods: np.ndarray
    out_of_range: list = field(default_factory=list)
    approximations: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)


def _range_problems(cls, inputs, key) -> list:
    out = []
    for p in cls.PARAMS:
        lo, hi = getattr(p, "min", None), getattr(p, "max", None)
        v = inputs.get(p.name)
        if v is None or (lo is None and hi is None):
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            name, unit = _PARAM_NAMES.get(p.name, (p.name, ""))
            rng = f"{'-inf' if lo is None else f'{lo:g}'}-{'inf' if hi is None else f'{hi:g}'}"
            out.append(f"{name}={v:g} {unit} is outside {key}'s range {rng} {unit}".replace(
                "  ", " "))
    return out


def predict(scenario, gmpe="asb14", periods=STANDARD_PERIODS, *, warn=True) -> Prediction:
    """Median and sigma of a GMPE for a scenario (SI units).

    Parameters
    ----------
    scenario : Scenario
    gmpe : str
        ``asb14``, ``bssa14`` (PGA, PGV, Sa) or ``as16`` (D5-95); see :func:`resolve_gmpe`.
    periods : array_like
        Sa periods (s); NaN outside the model's period range.
    warn : bool
        Warn (``UserWarning``) when the scenario is outside the model's range; it is always
        listed in ``out_of_range``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     p = predict(Scenario(magnitude=8.5, vs30=400.0, repi=20.0), "asb14", periods=[1.0])
    >>> print(p.out_of_range[0])
    magnitude=8.5 Mw is outside asb14's range 4-8 Mw
    >>> print(w[0].message)
    GMPE asb14: magnitude=8.5 Mw is outside asb14's range 4-8 Mw (extrapolated)
    >>> round(predict(Scenario(magnitude=6.0, vs30=400.0, rhyp=30.0), "as16").median["d5_95"], 1)
    12.4
    """
    key = resolve_gmpe(gmpe)
    cls = _pygmm_class(key)
    periods = np.atleast_1d(np.asarray(periods, dtype=float))
    s = scenario
    inputs = {"mag": float(s.magnitude), "v_s30": s.vs30}
    approx = []
    if s.mechanism:
        inputs["mechanism"] = s.mechanism
    elif key != "bssa14":  # BSSA14 has "unspecified"; ASB14 and AS16 need one
        inputs["mechanism"] = "SS"
        approx.append("mechanism unspecified: strike-slip assumed")
    if key == "asb14":
        if s.rjb is not None:
            inputs["dist_jb"] = s.rjb
        elif s.hypocentral is not None:
            inputs["dist_hyp"] = s.hypocentral
            if s.rhyp is None:
                approx.append("R_hyp from R_epi and depth")
        else:
            inputs["dist_epi"] = s.repi if s.repi is not None else s.rrup
            if s.repi is None:
                approx.append("R_epi = R_rup")
    elif key == "bssa14":
        if s.rjb is not None:
            inputs["dist_jb"] = s.rjb
        else:
            d = s.repi if s.repi is not None else (
                math.sqrt(max(s.hypocentral ** 2 - s.depth ** 2, 0.0))
                if s.hypocentral is not None and s.depth is not None else s.hypocentral
                if s.hypocentral is not None else s.rrup)
            inputs["dist_jb"] = d
            approx.append("R_JB = R_epi (point source)")
        if s.region in ("japan", "turkey"):
            inputs["region"] = s.region
    else:
        if s.rrup is not None:
            inputs["dist_rup"] = s.rrup
        else:
            d = s.hypocentral
            if d is None:
                d = s.rjb if s.rjb is not None else s.repi
                approx.append("R_rup = R_epi (no depth)")
            else:
                approx.append("R_rup = R_hyp (point source)")
            inputs["dist_rup"] = d
    if inputs["v_s30"] is None:
        raise ValueError(f"{key} needs Vs30")
    problems = _range_problems(cls, inputs, key)
    if warn:
        for p in problems:
            warnings.warn(f"GMPE {key}: {p} (extrapolated)", UserWarning, stacklevel=2)
    import logging
    log = logging.getLogger()
    level = log.level
    with warnings.catch_warnings():  # our own range messages replace pygmm's
        warnings.simplefilter("ignore")
        log.setLevel(logging.ERROR)  # BSSA14 logs mechanism-range messages
        try:
            import pygmm
            m = cls(pygmm.Scenario(**inputs))
        finally:
            log.setLevel(level)
    if key == "as16":
        median = {"d5_95": float(m.duration.D_5t95)}
        sigma = {"d5_95": float(m.std_err.D_5t95)}
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sa = m.interp_spec_accels(periods) * G
            sa_sd = m.interp_ln_stds(periods)
        median = {"pga": float(m.pga) * G, "pgv": float(m.pgv) / 100.0, "sa": sa}
        sigma = {"pga": float(m.ln_std_pga), "pgv": float(m.ln_std_pgv), "sa": sa_sd}
    return Prediction(key, median, sigma, periods, problems, approx,
                      {k: v for k, v in inputs.items()})


def auto_gmpe(scenario) -> str:
    """ASB14 for Türkiye and Europe, BSSA14 elsewhere.

    Examples
    --------
    >>> auto_gmpe(Scenario(5.0, 400.0, 10.0, region="turkey"))
    'asb14'
    >>> auto_gmpe(Scenario(5.0, 400.0, 10.0))
    'bssa14'
    """
    return "asb14" if scenario.region in ("turkey", "europe") else "bssa14"


# ------------------------------------------------------------------------------ the check

IM_NAMES = ("pga", "pgv", "d5_95")


def sa_name(period) -> str:
    """``"sa(0.2 s)"``: the key of Sa at a period (as the evaluation's IMs)."""
    return f"sa({float(period):g} s)"


def record_ims(record, periods=STANDARD_PERIODS) -> dict:
    """PGA, PGV, D5-95 and Sa (GMxy of the horizontals) of one record, in SI units.

    Examples
    --------
    >>> from obspy_gen.data import read_bundled
    >>> ims = record_ims(read_bundled("AOM001"), periods=[0.1, 1.0])
    >>> sorted(ims), round(ims["pga"] * 100, 2)
    (['d5_95', 'pga', 'pgv', 'sa'], 4.49)
    """
    from obspy_gen.core.intensity import intensity_measures
    res = intensity_measures(record, periods=periods)
    if len(res.records) != 1:
        raise ValueError(f"expected one record, got {len(res.records)}")
    rec = res.records[0]
    if rec.error:
        raise ValueError(rec.error)
    gm = rec.components.get("geometric_mean")
    if gm is None:
        raise ValueError(f"{rec.station}: needs both horizontal components")
    return {"pga": gm["pga"], "pgv": gm["pgv"], "d5_95": gm["d5_95"],
            "sa": np.asarray(gm["sa"], dtype=float)}


def _residual(obs, med):
    obs, med = np.asarray(obs, dtype=float), np.asarray(med, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(obs) - np.log(med)
    return np.where(np.isfinite(r), r, np.nan)


def _stats(values, sigmas) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    sig = np.asarray(sigmas, dtype=float)
    sig = sig[np.isfinite(sig)]
    out = {"n": n, "bias": None, "bias_90": None, "std": None,
           "sigma": float(sig.mean()) if sig.size else None}
    if n:
        mean = float(v.mean())
        out["bias"] = mean
        if n > 1:
            sd = float(v.std(ddof=1))
            half = 1.645 * sd / math.sqrt(n)
            out["std"], out["bias_90"] = sd, [mean - half, mean + half]
    return out


@dataclass
class GMPECheck:
    """Result of :func:`gmpe_check`.

    Attributes
    ----------
    groups : list of str
    periods : numpy.ndarray
    records : dict
        Group -> list of per-record dicts: ``id``, ``scenario``, ``model``, ``observed``,
        ``median``, ``sigma``, ``residual`` (IM name -> value), ``out_of_range``,
        ``approximations``.
    summary : dict
        Group -> IM -> ``n``, ``bias``, ``bias_90``, ``std``, ``sigma``.
    scenarios : dict
        Group -> scenario label -> ``scenario``, ``models``, ``n`` and per IM the same
        statistics; plus the records' median Sa spectrum and the model's.
    issues : list of dict
        ``{"group", "record", "reason"}``: records without a scenario, IM failures, scenarios
        outside a model's range.
    """

    groups: list
    periods: np.ndarray
    gmpe: str
    duration_model: str | None
    records: dict
    summary: dict
    scenarios: dict
    issues: list

    @property
    def im_names(self) -> list:
        return ["pga", "pgv"] + [sa_name(p) for p in self.periods] + (
            ["d5_95"] if self.duration_model else [])

    @property
    def n_records(self) -> int:
        return sum(len(v) for v in self.records.values())

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN as None)."""
        from obspy_gen.evaluate.core import _jsonable
        return _jsonable({"definitions": DEFINITIONS, "gmpe": self.gmpe,
                          "duration_model": self.duration_model, "periods": self.periods,
                          "im_names": self.im_names, "summary": self.summary,
                          "scenarios": self.scenarios, "records": self.records,
                          "issues": self.issues})


def _records_of(data):
    from obspy import Stream

    from obspy_gen.core.records import split_records
    if isinstance(data, Mapping):
        out = []
        for v in data.values():
            out.extend(_records_of(v))
        return out
    if isinstance(data, Stream):
        return split_records(data) if len(data) else []
    out = []
    for item in data:
        out.extend(split_records(item) if isinstance(item, Stream) else [item])
    return out


def _record_id(rec):
    s = rec[0].stats
    t0 = min(tr.stats.starttime for tr in rec)
    return f"{s.network}.{s.station}.{s.location} {t0.isoformat()}"


def gmpe_check(groups, *, gmpe="auto", duration_model="as16", periods=STANDARD_PERIODS,
               vs30=None, out_of_range="warn", progress=None) -> GMPECheck:
    """ln residuals of every record's IMs against ground-motion models, per group and scenario.

    Parameters
    ----------
    groups : mapping
        Label -> records (a Stream, a list of Streams, or a mapping station -> records).
    gmpe : str
        ``"auto"`` (ASB14 in Türkiye/Europe, BSSA14 elsewhere), ``"asb14"`` or ``"bssa14"``.
    duration_model : str or None
        ``"as16"`` for D5-95, or None for none.
    periods : array_like
        Sa periods (s), default :data:`STANDARD_PERIODS`.
    vs30 : float or mapping, optional
        Vs30 (m/s) for records that carry none (a number, or station code -> Vs30).
    out_of_range : {"warn", "skip"}
        A scenario outside a model's range: compute, flag and warn (default), or leave the
        record out; either way it is listed in ``issues``.
    progress : callable, optional
        ``progress(total)`` returning an object with ``update(n)`` and ``close()``.

    Returns
    -------
    GMPECheck

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator
    >>> st = StochasticGenerator().generate(station="4628", n=3, seed=1, magnitude=6.0,
    ...                                     distance=20.0)
    >>> chk = gmpe_check({"simulated": st}, periods=[0.2, 1.0])
    >>> chk.summary["simulated"]["pga"]["n"], chk.records["simulated"][0]["model"]
    (3, 'asb14')
    """
    if out_of_range not in ("warn", "skip"):
        raise ValueError(f"out_of_range={out_of_range!r} is not one of warn, skip")
    if not isinstance(groups, Mapping) or not groups:
        raise TypeError("groups must be a non-empty mapping label -> records")
    fixed = None if str(gmpe).lower() == "auto" else resolve_gmpe(gmpe)
    if fixed is not None and MODELS[fixed][1] != "spectral":
        raise ValueError(f"gmpe={gmpe!r} predicts no spectra; use asb14, bssa14 or auto")
    dur = None if duration_model in (None, False, "none") else resolve_gmpe(duration_model)
    if dur is not None and MODELS[dur][1] != "duration":
        raise ValueError(f"duration_model={duration_model!r} is not a duration model (as16)")
    periods = np.atleast_1d(np.asarray(periods, dtype=float))
    names = ["pga", "pgv"] + [sa_name(p) for p in periods] + (["d5_95"] if dur else [])
    issues, records, warned = [], {}, set()
    labels = [str(g) for g in groups]
    per_group = {lbl: _records_of(data) for lbl, data in zip(labels, groups.values())}
    total = sum(len(v) for v in per_group.values())
    bar = progress(total) if progress is not None else None
    try:
        for g in labels:
            rows = []
            for rec in per_group[g]:
                rid = _record_id(rec) if len(rec) else "empty record"
                try:
                    sc = scenario_of(rec, vs30=vs30)
                except ValueError as exc:
                    issues.append({"group": g, "record": rid, "reason": str(exc)})
                    if bar is not None:
                        bar.update(1)
                    continue
                preds = [predict(sc, fixed or auto_gmpe(sc), periods, warn=False)]
                if dur:
                    preds.append(predict(sc, dur, periods, warn=False))
                problems = [p for pr in preds for p in pr.out_of_range]
                for p in problems:
                    issues.append({"group": g, "record": rid, "reason": p + (
                        " (left out)" if out_of_range == "skip" else " (extrapolated)")})
                    if p not in warned:
                        warned.add(p)
                        what = "left out" if out_of_range == "skip" else "extrapolated"
                        warnings.warn(f"GMPE check: {p} ({what}; see the report)",
                                      UserWarning, stacklevel=2)
                if problems and out_of_range == "skip":
                    if bar is not None:
                        bar.update(1)
                    continue
                try:
                    ims = record_ims(rec, periods)
                except ValueError as exc:
                    issues.append({"group": g, "record": rid, "reason": f"IMs: {exc}"})
                    if bar is not None:
                        bar.update(1)
                    continue
                obs, med, sig = {}, {}, {}
                sp = preds[0]
                for k in ("pga", "pgv"):
                    obs[k], med[k], sig[k] = ims[k], sp.median[k], sp.sigma[k]
                for i, p in enumerate(periods):
                    n = sa_name(p)
                    obs[n], med[n], sig[n] = ims["sa"][i], sp.median["sa"][i], sp.sigma["sa"][i]
                if dur:
                    obs["d5_95"] = ims["d5_95"]
                    med["d5_95"] = preds[1].median["d5_95"]
                    sig["d5_95"] = preds[1].sigma["d5_95"]
                res = {k: float(_residual(obs[k], med[k])) for k in obs}
                rows.append({"id": rid, "scenario": sc.to_dict(), "scenario_label": sc.label(),
                             "model": sp.model, "duration_model": dur,
                             "observed": obs, "median": med, "sigma": sig, "residual": res,
                             "out_of_range": problems,
                             "approximations": sorted({a for pr in preds
                                                       for a in pr.approximations})})
                if bar is not None:
                    bar.update(1)
            records[g] = rows
    finally:
        if bar is not None:
            bar.close()

    summary, scenarios = {}, {}
    for g in labels:
        rows = records[g]
        summary[g] = {k: _stats([r["residual"][k] for r in rows], [r["sigma"][k] for r in rows])
                      for k in names}
        by = {}
        for r in rows:
            by.setdefault(r["scenario_label"], []).append(r)
        scen = {}
        for lbl, rs in by.items():
            sa_obs = np.array([[r["observed"][sa_name(p)] for p in periods] for r in rs])
            with np.errstate(divide="ignore", invalid="ignore"):
                med_obs = np.exp(np.nanmean(np.log(sa_obs), axis=0))
            scen[lbl] = {
                "n": len(rs), "scenario": rs[0]["scenario"],
                "models": sorted({r["model"] for r in rs}),
                "out_of_range": sorted({p for r in rs for p in r["out_of_range"]}),
                "median_sa_observed": med_obs,
                "median_sa_model": np.exp(np.mean(np.log([[r["median"][sa_name(p)]
                                                            for p in periods] for r in rs]),
                                                   axis=0)),
                "sigma_sa_model": np.mean([[r["sigma"][sa_name(p)] for p in periods]
                                           for r in rs], axis=0),
                "ims": {k: _stats([r["residual"][k] for r in rs], [r["sigma"][k] for r in rs])
                        for k in names}}
        scenarios[g] = scen
    return GMPECheck(labels, periods, "auto" if fixed is None else fixed, dur, records,
                     summary, scenarios, issues)


# ------------------------------------------------------------------------------ figures / HTML

_RES_X = (("magnitude", "magnitude", "M"), ("distance", "distance", "R (km)"),
          ("vs30", "vs30", "Vs30 (m/s)"))


def _x_of(r, what):
    s = r["scenario"]
    if what == "distance":
        for k in ("rjb", "repi", "rhyp", "rrup"):
            if s.get(k) is not None:
                return s[k]
        return np.nan
    v = s.get(what)
    return np.nan if v is None else v


def figures(check, max_scenarios=6) -> list:
    """Figures of a check: list of (file name, title, Figure).

    Residuals of PGA, PGV, Sa(0.2 s), Sa(1 s) (those computed) and D5-95 against M, R and
    Vs30; and per scenario (the ``max_scenarios`` with most records per group) the records'
    median Sa spectrum with the model median ±sigma.

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator
    >>> st = StochasticGenerator().generate(station="4628", n=2, seed=1, magnitude=6.0,
    ...                                     distance=20.0)
    >>> [n for n, _, _ in figures(gmpe_check({"sim": st}, periods=[0.2, 1.0]))]
    ['gmpe_residuals.png', 'gmpe_spectra.png']
    """
    from matplotlib.figure import Figure
    if check.n_records == 0:
        return []
    out = []
    names = [n for n in ("pga", "pgv", sa_name(0.2), sa_name(1.0), "d5_95")
             if n in check.im_names]
    colors = [f"C{i}" for i in range(10)]
    fig = Figure(figsize=(11, 2.3 * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 3, squeeze=False, sharey="row")
    for i, name in enumerate(names):
        for j, (what, _, xlabel) in enumerate(_RES_X):
            ax = axes[i, j]
            for gi, g in enumerate(check.groups):
                rows = check.records[g]
                x = [_x_of(r, what) for r in rows]
                y = [r["residual"].get(name, np.nan) for r in rows]
                ax.plot(x, y, "o", ms=4, alpha=0.7, color=colors[gi % 10],
                        label=g if (i, j) == (0, 0) else None)
            sig = [check.summary[g][name]["sigma"] for g in check.groups
                   if check.summary[g][name]["sigma"] is not None]
            if sig:
                s = float(np.mean(sig))
                ax.axhspan(-s, s, color="0.9", zorder=0)
            ax.axhline(0, color="k", lw=0.8)
            if what == "distance":
                from matplotlib.ticker import NullFormatter, ScalarFormatter
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(ScalarFormatter())
                ax.xaxis.set_minor_formatter(NullFormatter())
            if i == len(names) - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(f"ln res. {name}")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("ln residuals vs M, R, Vs30 (grey: ±model sigma)")
    out.append(("gmpe_residuals.png", "GMPE residuals against M, R and Vs30", fig))

    panels = []
    for g in check.groups:
        top = sorted(check.scenarios[g].items(), key=lambda kv: -kv[1]["n"])[:max_scenarios]
        panels += [(g, lbl, sc) for lbl, sc in top]
    if panels:
        ncol = min(3, len(panels))
        nrow = int(math.ceil(len(panels) / ncol))
        fig = Figure(figsize=(4 * ncol, 3.2 * nrow), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
        T = check.periods
        for ax, (g, lbl, sc) in zip(axes, panels):
            med = np.asarray(sc["median_sa_model"], dtype=float) / G
            sig = np.asarray(sc["sigma_sa_model"], dtype=float)
            ax.fill_between(T, med * np.exp(-sig), med * np.exp(sig), color="0.85",
                            label="model ±σ")
            ax.plot(T, med, "k-", label=f"{'/'.join(sc['models'])} median")
            ax.plot(T, np.asarray(sc["median_sa_observed"], dtype=float) / G, "C0o-", ms=3,
                    label=f"{g} median (n={sc['n']})")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{g}: {lbl}" + (" (out of range)" if sc["out_of_range"] else ""),
                         fontsize=9)
            ax.set_xlabel("T (s)")
            ax.set_ylabel("Sa (g)")
            ax.legend(fontsize=7)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        out.append(("gmpe_spectra.png", "Median spectra against the GMPE median ±sigma", fig))
    return out


def _f(v, spec=".2f"):
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(
        v, spec)


def html_section(check) -> str:
    """The GMPE check's part of the HTML report (tables; figures go with the others).

    Examples
    --------
    >>> from obspy import read
    >>> "No record with a scenario" in html_section(gmpe_check({"real": read()}))
    True
    """
    import html
    e = html.escape
    parts = [f"<h2>GMPE check</h2><p>Spectral model: {e(check.gmpe)} "
             f"({e(', '.join(f'{k}: {v[2]}' for k, v in MODELS.items()))}); duration model: "
             f"{e(str(check.duration_model))}. ln residual = ln(observed) - ln(median); "
             f"bias = mean residual [90 % interval]; std next to the model's sigma.</p>"]
    if check.n_records == 0:
        parts.append("<p>No record with a scenario (magnitude, distance, Vs30): no residuals."
                     "</p>")
    else:
        parts.append("<table><tr><th class=l>group</th><th class=l>IM</th><th>n</th>"
                     "<th>bias</th><th>90 %</th><th>std</th><th>model sigma</th></tr>")
        for g in check.groups:
            for name in check.im_names:
                st = check.summary[g][name]
                if not st["n"]:
                    continue
                iv = st["bias_90"]
                parts.append(f"<tr><td class=l>{e(g)}</td><td class=l>{e(name)}</td>"
                             f"<td>{st['n']}</td><td>{_f(st['bias'])}</td>"
                             f"<td>{'-' if iv is None else f'{iv[0]:.2f} – {iv[1]:.2f}'}</td>"
                             f"<td>{_f(st['std'])}</td><td>{_f(st['sigma'])}</td></tr>")
        parts.append("</table><h3>Scenarios</h3><table><tr><th class=l>group</th>"
                     "<th class=l>scenario</th><th>n</th><th class=l>model</th>"
                     "<th>bias PGA</th><th>bias PGV</th><th>bias Sa(1 s)</th>"
                     "<th class=l>range</th></tr>")
        for g in check.groups:
            for lbl, sc in check.scenarios[g].items():
                ims = sc["ims"]
                parts.append(
                    f"<tr><td class=l>{e(g)}</td><td class=l>{e(lbl)}</td><td>{sc['n']}</td>"
                    f"<td class=l>{e('/'.join(sc['models']))}</td>"
                    f"<td>{_f(ims['pga']['bias'])}</td><td>{_f(ims['pgv']['bias'])}</td>"
                    f"<td>{_f(ims.get(sa_name(1.0), {}).get('bias'))}</td>"
                    f"<td class=l{' bad' if sc['out_of_range'] else ''}>"
                    f"{e('; '.join(sc['out_of_range']) or 'in range')}</td></tr>")
        parts.append("</table>")
    if check.issues:
        parts.append(f"<h3>GMPE check issues ({len(check.issues)})</h3><ul>")
        for it in check.issues:
            parts.append(f"<li class=bad>{e(it['group'])}/{e(it['record'])}: "
                         f"{e(it['reason'])}</li>")
        parts.append("</ul>")
    return "\n".join(parts)


__all__ = ["STANDARD_PERIODS", "MODELS", "Scenario", "Prediction", "GMPECheck", "predict",
           "gmpe_check", "scenario_of", "attach_labels", "resolve_gmpe",
           "auto_gmpe", "record_ims", "region_of", "figures", "html_section", "sa_name"]

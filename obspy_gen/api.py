"""The plugin API: base classes, result types and the helpers every plugin shares.

This is the bottom layer of obspy-gen's plugin machinery: the registry, ``io``, ``plugins`` and
``cli`` import it; it imports nothing of obspy-gen (and never torch), so a plugin package can
depend on it alone.

Every plugin class has three class attributes:

``name``
    The name it is registered under (lower case, dashes allowed), e.g. ``"timesnet-gen"``.
``version``
    Its own version string (recorded in outputs for provenance).
``requires``
    Import names it needs beyond obspy-gen's own dependencies, e.g. ``("torch",)``. A plugin
    module imports such packages lazily (inside methods); ``obspy-gen plugins`` imports them
    to say whether the plugin can run.

Then one method per group:

* :class:`Generator` -- ``generate(records=None, *, station=None, n=1, seed=None, device=None,
  **conditions_and_options) -> Stream``. A generator declares the scenario ``conditions`` and
  the ``options`` it accepts; the base turns the call into a validated
  :class:`GenerationRequest` and hands it to the plugin's ``generate_request(request)``, which
  builds its Stream with :func:`build_stream`.
* :class:`Vs30Predictor` -- ``predict(records, *, device=None, **options) -> Vs30Result``;
* :class:`SiteMetric` -- ``compute(records, **settings) -> result`` where the result has
  ``to_dict()``.

A plugin may also be *trainable*: it defines ``TrainSettings`` (a dataclass whose fields carry
their help text in ``metadata["help"]``) and a classmethod ``train(data, out, settings, *,
device=None, resume=False, log=None) -> dict``; ``obspy-gen train <name>`` builds its flags from
the dataclass (see :func:`is_trainable`).

``records`` is a :class:`~obspy.core.stream.Stream` (split into records with
:func:`obspy_gen.split_records`) or a list of Streams, one per record.

Examples
--------
>>> req = GenerationRequest.create(station="TK.4628.00", n=2, seed=3, magnitude=5.5)
>>> req.station.code, req.station.network, req.n, req.conditions["magnitude"]
('4628', 'TK', 2, 5.5)
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import numbers
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------
# Plugins
# --------------------------------------------------------------------------------------------


class Plugin:
    """Common part of every plugin.

    Examples
    --------
    >>> class Demo(Plugin):
    ...     name, version, requires = "demo", "1.0", ("surely_not_installed_pkg",)
    >>> Demo.missing_requirements()
    ('surely_not_installed_pkg',)
    >>> Demo.import_requirements()
    'needs surely_not_installed_pkg'
    """

    name: str = ""
    version: str = "0"
    requires: tuple = ()

    @classmethod
    def missing_requirements(cls) -> tuple:
        """Import names in ``requires`` that are not installed (checked without importing)."""
        missing = []
        for m in cls.requires:
            try:
                if importlib.util.find_spec(m) is None:
                    missing.append(m)
            except (ImportError, ValueError):  # parent package missing / broken
                missing.append(m)
        return tuple(missing)

    @classmethod
    def check_requirements(cls) -> None:
        """Raise a clear ImportError when something in ``requires`` is not installed."""
        missing = cls.missing_requirements()
        if missing:
            raise ImportError(f"plugin {cls.name!r} needs {', '.join(missing)}: "
                              f"pip install {' '.join(missing)}")

    @classmethod
    def import_requirements(cls) -> str:
        """Import every module in ``requires``; ``"ok"``, ``"needs ..."`` or ``"fails: ..."``.

        Unlike :meth:`missing_requirements` this really imports them, so a requirement that is
        installed but broken (e.g. a missing dependency of its own) is reported too.
        """
        missing = cls.missing_requirements()
        if missing:
            return "needs " + ", ".join(missing)
        for m in cls.requires:
            try:
                importlib.import_module(m)
            except Exception as exc:  # any import-time failure of third-party code
                reason = " ".join(str(exc).split())
                return f"fails: {m}: {type(exc).__name__}: {reason}"
        return "ok"

    def __repr__(self):
        return f"<{type(self).__name__} plugin {self.name!r} v{self.version}>"


def is_trainable(cls) -> bool:
    """Whether a plugin class has the training hook (``TrainSettings`` dataclass + ``train``).

    Examples
    --------
    >>> is_trainable(Plugin)
    False
    """
    settings = getattr(cls, "TrainSettings", None)
    return (settings is not None and dataclasses.is_dataclass(settings)
            and callable(getattr(cls, "train", None)))


# --------------------------------------------------------------------------------------------
# Station ids and generation requests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationId:
    """A station named by ``"4628"``, ``"TK.4628"`` or ``"TK.4628.00"`` (parsed once).

    Attributes
    ----------
    code : str
        Bare station code (``"4628"``).
    network, location : str or None
        When given in the id.

    Examples
    --------
    >>> StationId.parse("TK.4628.00")
    StationId(code='4628', network='TK', location='00')
    >>> StationId.parse(4628).code, StationId.parse("TK.4628").network
    ('4628', 'TK')
    >>> str(StationId.parse("TK.4628"))
    'TK.4628'
    >>> StationId.parse("a.b.c.d")
    Traceback (most recent call last):
    ...
    ValueError: station id 'a.b.c.d' is not STA, NET.STA or NET.STA.LOC
    """

    code: str
    network: str | None = None
    location: str | None = None

    @classmethod
    def parse(cls, value) -> "StationId":
        if isinstance(value, StationId):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
            raise TypeError(f"station id must be a string such as 'TK.4628', got "
                            f"{type(value).__name__}")
        text = str(value).strip()
        parts = text.split(".")
        if len(parts) > 3 or not all(parts[:2]):
            raise ValueError(f"station id {text!r} is not STA, NET.STA or NET.STA.LOC")
        if len(parts) == 1:
            return cls(parts[0])
        return cls(parts[1], parts[0], parts[2] if len(parts) == 3 else None)

    def __str__(self):
        return ".".join(p for p in (self.network, self.code) if p) + (
            f".{self.location}" if self.location is not None else "")


#: Scenario conditions a generator may support: name -> (unit, lowest, highest).
CONDITIONS = {
    "magnitude": ("Mw", -2.0, 10.0),
    "distance": ("km", 0.0, 1000.0),
    "depth": ("km", 0.0, 700.0),
    "vs30": ("m/s", 50.0, 5000.0),
}
#: Kinds of source-to-site distance a request can name (``distance_kind``).
DISTANCE_KINDS = ("epicentral", "hypocentral", "rupture", "joyner_boore")


def _check_condition(name, value):
    unit, lo, hi = CONDITIONS[name]
    values = value if isinstance(value, (tuple, list)) else (value,)
    if isinstance(value, (tuple, list)) and len(value) != 2:
        raise ValueError(f"{name}={value!r}: give a value or a (min, max) range in {unit}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"{name}={value!r} must be a number in {unit}")
        if not lo <= v <= hi:
            raise ValueError(f"{name}={v!r} {unit} is outside {lo:g}-{hi:g} {unit}")
        out.append(float(v))
    if len(out) == 2 and not out[0] <= out[1]:
        raise ValueError(f"{name} range must have min <= max, got {tuple(value)!r} {unit}")
    return tuple(out) if isinstance(value, (tuple, list)) else out[0]


def fresh_seed() -> int:
    """A new random seed (recorded in the output so that the run can be repeated).

    Examples
    --------
    >>> 0 <= fresh_seed() < 2**31
    True
    """
    import numpy as np
    return int(np.random.SeedSequence().entropy % (2 ** 31))


def record_rng(seed: int, index: int):
    """The random generator of record ``index`` of a run with ``seed`` (so that record ``i``
    does not depend on how many records are asked for).

    Examples
    --------
    >>> float(record_rng(1, 2).random()) == float(record_rng(1, 2).random())
    True
    >>> float(record_rng(1, 2).random()) == float(record_rng(1, 3).random())
    False
    """
    import numpy as np
    return np.random.default_rng([int(seed), int(index)])


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request to a generator.

    Build one with :meth:`create` (or let :meth:`Generator.generate` do it).

    Attributes
    ----------
    records : list of Stream or None
        The records given (zero-shot pool / template), split into records; None when none.
    station : StationId, object or None
        The station asked for, parsed once from ``"4628"``, ``"TK.4628"``, ``"TK.4628.00"``;
        a non-string object (e.g. a soil profile a simulator understands) is kept as given.
    n : int
        Number of records (>= 0).
    seed : int
        Seed of the run; drawn with :func:`fresh_seed` when none was given.
    device : str or None
        Torch device asked for (None: the plugin's choice).
    conditions : dict
        Scenario conditions: ``magnitude`` (Mw), ``distance`` (km, of kind ``distance_kind``),
        ``depth`` (km), ``vs30`` (m/s); each a value or a (min, max) range; only those given.
    distance_kind : str or None
        ``"epicentral"``, ``"hypocentral"``, ``"rupture"`` or ``"joyner_boore"`` when a
        distance was given.
    options : dict
        Plugin-specific options.

    Examples
    --------
    >>> r = GenerationRequest.create(station="4628", n=1, seed=0, distance=(10, 30),
    ...                              distance_kind="hypocentral")
    >>> r.conditions, r.distance_kind
    ({'distance': (10.0, 30.0)}, 'hypocentral')
    >>> GenerationRequest.create(n=1, magnitude=12)
    Traceback (most recent call last):
    ...
    ValueError: magnitude=12 Mw is outside -2-10 Mw
    """

    records: list | None = None
    station: object = None
    n: int = 1
    seed: int = 0
    device: object = None
    conditions: dict = field(default_factory=dict)
    distance_kind: str | None = None
    options: dict = field(default_factory=dict)

    @classmethod
    def create(cls, records=None, *, station=None, n=1, seed=None, device=None,
               distance_kind=None, options=None, **conditions) -> "GenerationRequest":
        """Validate the arguments of a ``generate`` call; see the class attributes."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if seed is None:
            seed = fresh_seed()
        elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if isinstance(station, (str, numbers.Integral)) and not isinstance(station, bool):
            station = StationId.parse(station)
        unknown = sorted(set(conditions) - set(CONDITIONS))
        if unknown:
            raise TypeError(f"unknown condition(s) {', '.join(unknown)}; scenario conditions "
                            f"are {', '.join(CONDITIONS)}")
        conds = {k: _check_condition(k, v) for k, v in conditions.items() if v is not None}
        if distance_kind is not None and distance_kind not in DISTANCE_KINDS:
            raise ValueError(f"distance_kind={distance_kind!r} is not one of "
                             f"{', '.join(DISTANCE_KINDS)}")
        if "distance" not in conds:
            distance_kind = None
        recs = None
        if records is not None:
            from obspy import Stream
            if isinstance(records, Stream):
                if len(records):
                    from obspy_gen.core.records import split_records
                    recs = split_records(records)
            else:
                recs = list(records) or None
        return cls(recs, station, int(n), int(seed), device, conds, distance_kind,
                   dict(options or {}))

    @property
    def station_code(self) -> str | None:
        """Bare station code asked for (None when no station id was given)."""
        return self.station.code if isinstance(self.station, StationId) else None


# --------------------------------------------------------------------------------------------
# Generated records -> Stream (one helper for every generator)
# --------------------------------------------------------------------------------------------


@dataclass
class GeneratedRecord:
    """One generated 3-component record, before it becomes Traces.

    Attributes
    ----------
    data : array (n_channels, npts)
        Samples of each channel.
    sampling_rate : float
        Hz.
    meta : dict
        Extra provenance/labels stored in every trace's ``stats.obspy_gen``.
    header : dict
        Extra ``stats`` entries (e.g. ``coordinates``).
    """

    data: object
    sampling_rate: float
    meta: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)


#: Channel codes of generated records (accelerometer, N/E/Z), in output order.
CHANNELS = ("HNN", "HNE", "HNZ")


def build_stream(records, *, model, version, seed, station, network="SY", location="",
                 starttime=None, gap=10.0, slot=None, channels=CHANNELS, units="m/s**2",
                 dtype=None):
    """The Stream of generated records: traces record by record, provenance on every trace.

    Every trace carries ``stats.obspy_gen = AttribDict(model, version, seed, record=i,
    synthetic=True, **record.meta)``; record ``i`` starts after record ``i - 1`` ends (``gap``
    seconds later, or on the next multiple of ``slot`` seconds when ``slot`` is given), so
    ``Stream.merge`` never mixes records.

    Parameters
    ----------
    records : iterable of GeneratedRecord
    model, version : str
        The generator's name and version.
    seed : int or None
        Seed of the run (``None``: none is recorded, e.g. for reconstructions).
    station, network, location : str
        Codes written in the traces.
    starttime : UTCDateTime or str, optional
        Start of the first record (default 2000-01-01, fixed so seeded runs are identical).
    gap : float
        Seconds between the end of one record and the start of the next.
    slot : float, optional
        Instead of ``gap``: record ``i`` starts at ``starttime + i * slot``.
    channels : tuple of str
        Channel codes, one per data row.
    units : str
        ``stats.units``.
    dtype : numpy dtype, optional
        Cast the data (default: keep).

    Examples
    --------
    >>> import numpy as np
    >>> recs = [GeneratedRecord(np.zeros((3, 100)), 100.0, {"label": k}) for k in range(2)]
    >>> st = build_stream(recs, model="demo", version="1", seed=5, station="4628")
    >>> len(st), st[3].stats.obspy_gen.record, st[3].stats.starttime > st[2].stats.endtime
    (6, 1, True)
    >>> st[0].id, st[0].stats.obspy_gen.synthetic, st[4].stats.obspy_gen.label
    ('SY.4628..HNN', True, 1)
    """
    import numpy as np
    from obspy import Stream, Trace, UTCDateTime
    from obspy.core.util import AttribDict

    t0 = UTCDateTime(starttime if starttime is not None else DEFAULT_STARTTIME)
    start = t0
    gap = float(gap)
    if not gap >= 0:
        raise ValueError(f"gap must be >= 0 s, got {gap}")
    out = Stream()
    for i, rec in enumerate(records):
        data = np.asarray(rec.data)
        if data.ndim != 2 or data.shape[0] != len(channels):
            raise ValueError(f"{model}: record {i} has data of shape {data.shape}; expected "
                             f"({len(channels)}, npts)")
        fs = float(rec.sampling_rate)
        if slot is not None:
            start = t0 + i * float(slot)
        meta = AttribDict(model=model, version=version)
        if seed is not None:
            meta.seed = int(seed)
        meta.update({"record": i, "synthetic": True})
        meta.update(rec.meta)
        for row, cha in zip(data, channels):
            row = np.ascontiguousarray(row if dtype is None else row.astype(dtype))
            tr = Trace(row.copy() if row.base is not None else row, header={
                "network": network, "station": station, "location": location or "",
                "channel": cha, "sampling_rate": fs, "starttime": start})
            tr.stats.units = units
            tr.stats.obspy_gen = AttribDict(meta)
            for k, v in rec.header.items():
                tr.stats[k] = AttribDict(v) if isinstance(v, dict) else v
            out.append(tr)
        if slot is None:
            start = start + data.shape[1] / fs + gap
    return out


def reconstruction_stream(record, data, lead, npts=None, *, sampling_rate, model, version, index,
                          checkpoint, station=None, channels=CHANNELS, dtype=None):
    """One record passed through a generator's encoder and decoder, on the record's time axis.

    ``data`` is the model's window; it starts ``lead`` samples (at ``sampling_rate``) after
    the latest trace start of ``record`` -- negative when it begins in the zero padding
    before a short record. Only the part within the record's first ``npts`` samples is kept,
    so a reconstruction overlaps nothing the original did not. Network, location and units
    come from ``record[0]`` (station too unless ``station`` is given); every trace carries
    ``stats.obspy_gen = AttribDict(model, version, record=index, synthetic=True,
    reconstructed=True, checkpoint)`` (built by :func:`build_stream`, without a seed).

    Parameters
    ----------
    record : obspy.Stream
        The original record (one trace per channel).
    data : array (n_channels, seq_len)
        The model's output window.
    lead : int
        Sample of the record where the window starts.
    npts : int, optional
        Samples of the record (at ``sampling_rate``); default: from the latest trace start to
        the earliest trace end.
    sampling_rate : float
        Hz of ``data``.
    model, version, checkpoint : str
        Provenance: the generator, its version and the checkpoint used.
    index : int
        Position of the record in the input (``stats.obspy_gen.record``).
    station : str, optional
        Station code of the output (default the record's).
    channels : tuple of str
        Channel codes, one per data row.
    dtype : numpy dtype, optional
        Cast the data (default: keep).

    Examples
    --------
    >>> import numpy as np
    >>> from obspy import read
    >>> rec = read()                                        # 30 s at 100 Hz
    >>> st = reconstruction_stream(rec, np.ones((3, 4000)), -500, 3000, sampling_rate=100.0,
    ...                            model="demo", version="1", index=2, checkpoint="c")
    >>> st[0].stats.npts, st[0].stats.starttime == rec[0].stats.starttime
    (3000, True)
    >>> st[2].id, dict(st[2].stats.obspy_gen)["record"], st[2].stats.obspy_gen.reconstructed
    ('BW.RJOB..HNZ', 2, True)
    """
    import numpy as np

    data = np.asarray(data)
    first = record[0].stats
    t_start = max(tr.stats.starttime for tr in record)
    fs = float(sampling_rate)
    if npts is None:
        npts = min(int(round((tr.stats.endtime - t_start) * fs)) + 1 for tr in record)
    lo, hi = max(lead, 0), min(lead + data.shape[1], npts)
    cut = GeneratedRecord(data[:, lo - lead:hi - lead], fs,
                          {"record": index, "reconstructed": True, "checkpoint": checkpoint})
    return build_stream([cut], model=model, version=version, seed=None,
                        station=station or first.station, network=first.network,
                        location=first.location, starttime=t_start + lo / fs,
                        channels=channels, units=first.get("units") or "m/s**2", dtype=dtype)


#: Start of the first generated record unless a generator is told otherwise.
DEFAULT_STARTTIME = "2000-01-01T00:00:00"


def progress(iterable=None, quiet=False, **kwargs):
    """A tqdm bar on stderr, off when ``quiet`` or when stderr is not a terminal.

    Examples
    --------
    >>> list(progress(range(3), quiet=True))
    [0, 1, 2]
    """
    import sys

    from tqdm import tqdm
    return tqdm(iterable, disable=quiet or not sys.stderr.isatty(), file=sys.stderr,
                leave=False, **kwargs)


# --------------------------------------------------------------------------------------------
# Plugin base classes
# --------------------------------------------------------------------------------------------


class Generator(Plugin):
    """Generates new records; returns one Stream holding ``n`` records.

    Subclasses declare ``conditions`` (names in :data:`CONDITIONS` they understand),
    ``distance_kinds`` (the distance kinds they accept, first = default) and ``options``
    (plugin-specific keyword names with their defaults, a dict, or a tuple of names), and
    implement :meth:`generate_request`. Traces are ordered record by record and carry
    ``stats.obspy_gen`` (``model``, ``version``, ``seed``, ``record``, ``synthetic=True``);
    record ``i`` starts after record ``i - 1`` ends: build the Stream with
    :func:`build_stream`.

    Examples
    --------
    >>> import numpy as np
    >>> class Noise(Generator):
    ...     name, version, conditions, options = "noise", "1", ("magnitude",), {"scale": 1.0}
    ...     def generate_request(self, req):
    ...         rng = np.random.default_rng(req.seed)
    ...         recs = [GeneratedRecord(rng.normal(size=(3, 50)) * req.options["scale"], 50.0)
    ...                 for _ in range(req.n)]
    ...         return build_stream(recs, model=self.name, version=self.version,
    ...                             seed=req.seed, station=req.station_code or "X")
    >>> len(Noise().generate(station="TK.4628", n=2, seed=1, magnitude=5))
    6
    >>> Noise().generate(n=1, distance=10)
    Traceback (most recent call last):
    ...
    ValueError: noise does not support the condition 'distance'; it supports: magnitude
    """

    conditions: tuple = ()
    distance_kinds: tuple = ("epicentral",)
    options: dict | tuple = {}

    @classmethod
    def option_defaults(cls) -> dict:
        """The plugin's options and their defaults (a tuple of names gives None defaults)."""
        opts = cls.options
        return dict(opts) if isinstance(opts, dict) else dict.fromkeys(opts)

    def request(self, records=None, *, station=None, n=1, seed=None, device=None,
                **kwargs) -> GenerationRequest:
        """Validate a ``generate`` call into a :class:`GenerationRequest` for this plugin."""
        conditions = {k: kwargs.pop(k) for k in list(kwargs) if k in CONDITIONS}
        distance_kind = kwargs.pop("distance_kind", None)
        unsupported = [k for k, v in conditions.items()
                       if k not in self.conditions and v is not None]
        if unsupported:
            supported = ", ".join(self.conditions) or "no scenario conditions"
            raise ValueError(f"{self.name} does not support the condition "
                             f"{', '.join(map(repr, unsupported))}; it supports: {supported}")
        if "distance" in conditions and conditions["distance"] is not None:
            distance_kind = distance_kind or self.distance_kinds[0]
            if distance_kind not in self.distance_kinds:
                raise ValueError(f"{self.name} takes distance as "
                                 f"{' or '.join(self.distance_kinds)}, not {distance_kind!r}")
        defaults = self.option_defaults()
        unknown = sorted(set(kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"{self.name}: unexpected option(s) {', '.join(unknown)} (unknown "
                            f"option; supported: "
                            f"{', '.join(list(defaults) + list(self.conditions)) or 'none'})")
        options = {**defaults, **kwargs}
        return GenerationRequest.create(records, station=station, n=n, seed=seed,
                                        device=device, distance_kind=distance_kind,
                                        options=options, **conditions)

    @staticmethod
    def station_records(records, station=None) -> tuple:
        """``(NET.STA.LOC, records)``: the records (one Stream each, input order) of the one
        station in ``records``, e.g. for zero-shot generation. Among several stations,
        ``station`` (code or ``NET.STA[.LOC]``) picks one; several left, or none of
        ``station``: a one-line ValueError. No records: ``(None, [])``.

        Examples
        --------
        >>> from obspy import read
        >>> other = read()
        >>> for tr in other:
        ...     tr.stats.station = "NEW"
        >>> key, recs = Generator.station_records(read() + other, station="NEW")
        >>> key, len(recs), recs[0][0].stats.station
        ('BW.NEW.', 1, 'NEW')
        >>> Generator.station_records(read() + other)
        Traceback (most recent call last):
        ...
        ValueError: records of 2 stations (BW.NEW., BW.RJOB.); give one station's records or pick one with station=
        """
        groups = records_by_station(records)
        if station is not None and len(groups) > 1:
            sid = StationId.parse(station)
            groups = {k: v for k, v in groups.items()
                      if v[0][0].stats.station == sid.code
                      and sid.network in (None, v[0][0].stats.network)
                      and sid.location in (None, v[0][0].stats.location)}
            if not groups:
                raise ValueError(f"no records of station {str(station)!r} in the given "
                                 f"records")
        keys = sorted(groups)
        if len(keys) > 1:
            raise ValueError(f"records of {len(keys)} stations ({', '.join(keys[:5])}); give "
                             f"one station's records or pick one with station=")
        return (keys[0], groups[keys[0]]) if keys else (None, [])

    def generate(self, records=None, *, station=None, n=1, seed=None, device=None, **kwargs):
        """Generate ``n`` records: validates the call (see :meth:`request`), then runs
        :meth:`generate_request`.

        Parameters
        ----------
        records : Stream or list of Stream, optional
            Records the generator may use (zero-shot pool, template).
        station : str, optional
            ``"4628"``, ``"TK.4628"`` or ``"TK.4628.00"``.
        n : int
            Number of records.
        seed : int, optional
            Seed (drawn and recorded when None).
        device : str, optional
            Torch device.
        **kwargs
            Scenario conditions the plugin declares (``magnitude``, ``distance`` with
            ``distance_kind``, ``depth``, ``vs30``) and its options.
        """
        return self.generate_request(self.request(records, station=station, n=n, seed=seed,
                                                  device=device, **kwargs))

    def generate_request(self, request: GenerationRequest):
        raise NotImplementedError(f"{type(self).__name__} implements no generate_request()")


@dataclass
class Vs30Result:
    """Result of a Vs30 predictor.

    Attributes
    ----------
    vs30 : float
        Predicted time-averaged shear-wave velocity of the top 30 m (m/s); with several
        records, the median of ``per_record`` (see :meth:`from_values`).
    nehrp_class : str
        NEHRP site class of ``vs30`` (see :func:`nehrp_class`).
    per_record : list of float
        Prediction of each record the station estimate was combined from.
    spread : float
        Standard deviation of ``ln(per_record)`` (ddof=1; 0 for one record): 0.1 means the
        records scatter by about 10 %.
    station : str
        ``NET.STA.LOC`` of the records.
    model : str
        Plugin that made the prediction.
    n_records, n_skipped : int
        Records used, and records that could not be used (reasons in ``notes``).
    notes : list of str
        What was done to the records (padding, fallbacks) and why records were skipped.
    details : dict
        Plugin-specific provenance (checkpoint, f0, relation, ...).

    Examples
    --------
    >>> Vs30Result(vs30=310.0, nehrp_class="D", per_record=[300.0, 320.0]).to_dict()["nehrp_class"]
    'D'
    """

    vs30: float
    nehrp_class: str
    per_record: list = field(default_factory=list)
    spread: float = 0.0
    station: str = ""
    model: str = ""
    n_records: int = 0
    n_skipped: int = 0
    notes: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @classmethod
    def from_values(cls, station, values, model, n_given=None, notes=(),
                    details=None) -> "Vs30Result":
        """Combine per-record values: median, its NEHRP class, spread of ln values.

        Examples
        --------
        >>> r = Vs30Result.from_values("SY.A.00", [300.0, 400.0, 500.0], "demo")
        >>> r.vs30, r.nehrp_class, round(r.spread, 3), r.n_records
        (400.0, 'C', 0.256, 3)
        """
        values = [float(v) for v in values]   # record order kept
        if not values or not all(v > 0 and math.isfinite(v) for v in values):
            raise ValueError(f"{station}: per-record Vs30 values must be positive, got "
                             f"{values}")
        k = len(values)
        ordered = sorted(values)
        vs30 = ordered[k // 2] if k % 2 else 0.5 * (ordered[k // 2 - 1] + ordered[k // 2])
        logs = [math.log(v) for v in values]
        mean = sum(logs) / k
        spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / (k - 1)) if k > 1 else 0.0
        return cls(vs30=vs30, nehrp_class=nehrp_class(vs30), per_record=values, spread=spread,
                   station=station, model=model, n_records=k,
                   n_skipped=0 if n_given is None else n_given - k, notes=list(notes),
                   details=dict(details or {}))

    def to_dict(self) -> dict:
        return {"station": self.station, "model": self.model, "vs30": float(self.vs30),
                "nehrp_class": self.nehrp_class, "spread": float(self.spread),
                "n_records": int(self.n_records or len(self.per_record)),
                "n_skipped": int(self.n_skipped),
                "per_record": [float(v) for v in self.per_record],
                "notes": list(self.notes), "details": dict(self.details)}


def records_by_station(records) -> dict:
    """``NET.STA.LOC`` -> list of records (Streams) in input order.

    Examples
    --------
    >>> from obspy import read
    >>> list(records_by_station(read()))
    ['BW.RJOB.']
    """
    from obspy_gen.core.records import split_records
    groups = {}
    for rec in split_records(records):
        if len(rec):
            s = rec[0].stats
            groups.setdefault(f"{s.network}.{s.station}.{s.location}", []).append(rec)
    return groups


def nehrp_class(vs30: float) -> str:
    """NEHRP site class from Vs30 in m/s (BSSC 2003 boundaries 1500/760/360/180).

    Examples
    --------
    >>> [nehrp_class(v) for v in (2000, 800, 400, 200, 150)]
    ['A', 'B', 'C', 'D', 'E']
    """
    if not vs30 > 0:
        raise ValueError(f"Vs30 must be positive, got {vs30}")
    for bound, cls in ((1500.0, "A"), (760.0, "B"), (360.0, "C"), (180.0, "D")):
        if vs30 > bound:
            return cls
    return "E"


class Vs30Predictor(Plugin):
    """Predicts a station's Vs30 from its records: ``predict(records, *, device=None,
    **options) -> Vs30Result``."""

    def predict(self, records, *, device=None, **options) -> Vs30Result:
        raise NotImplementedError

    @classmethod
    def one_station(cls, records) -> tuple:
        """``(NET.STA.LOC, records)`` of the single station in ``records``; a one-line
        ValueError for none or several.

        Examples
        --------
        >>> from obspy import read
        >>> Vs30Predictor.one_station(read())[0]
        'BW.RJOB.'
        """
        groups = records_by_station(records)
        if not groups:
            raise ValueError(f"{cls.name or cls.__name__}: no records given")
        if len(groups) > 1:
            keys = ", ".join(list(groups)[:5])
            raise ValueError(f"records of {len(groups)} stations ({keys}): give one "
                             f"station's records (obspy-gen vs30 groups files by station)")
        return next(iter(groups.items()))


class SiteMetric(Plugin):
    """Computes a site metric from records; the result has ``to_dict()``."""

    def compute(self, records, **settings):
        raise NotImplementedError


#: Entry-point group -> base class its plugins must subclass.
BASES = {
    "obspy_gen.generators": Generator,
    "obspy_gen.vs30": Vs30Predictor,
    "obspy_gen.site_metrics": SiteMetric,
}

__all__ = ["Plugin", "Generator", "Vs30Predictor", "SiteMetric", "Vs30Result", "nehrp_class",
           "records_by_station",
           "StationId", "GenerationRequest", "GeneratedRecord", "build_stream",
           "reconstruction_stream", "fresh_seed",
           "record_rng",
           "is_trainable", "progress", "CONDITIONS", "DISTANCE_KINDS", "CHANNELS", "BASES"]

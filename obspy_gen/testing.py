"""Conformance kit: checks any plugin package can run on its plugins (pytest or plain Python).

Each ``check_*`` function exercises a plugin class through the contract of its group (see
:mod:`obspy_gen.api`) and raises :class:`ConformanceError` (an ``AssertionError``) naming the
plugin and what is wrong; on success it returns a short dict of what it saw. Run them in the
plugin package's own tests::

    from obspy_gen.testing import check_site_metric
    def test_conformance():
        check_site_metric(PGAMetric)

Examples
--------
>>> from obspy_gen.plugins.hvsr_metric import HVSRMetric
>>> check_site_metric(HVSRMetric, settings={"fmin": 1, "fmax": 20, "nfreq": 32})["to_dict_keys"] > 3
True
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import re

from obspy_gen.api import (CONDITIONS, Generator, Plugin, SiteMetric, Vs30Predictor, Vs30Result,
                           is_trainable, nehrp_class)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ConformanceError(AssertionError):
    """A plugin does not follow the obspy-gen plugin contract."""


def _fail(cls, message):
    raise ConformanceError(f"plugin {getattr(cls, 'name', '') or cls.__name__!r}: {message}")


def _default_records():
    from obspy import read
    return read()


def check_plugin(cls, base=Plugin) -> dict:
    """Class attributes every plugin has; the training hook when it has one.

    Checks ``name`` (lower case, dashes allowed), ``version`` (a string), ``requires`` (a tuple
    of import names, all importable) and, for a trainable plugin, that ``TrainSettings`` is a
    dataclass whose fields have defaults and help text and that ``train(data, out, settings,
    *, device, resume, log)`` is a classmethod.

    Examples
    --------
    >>> from obspy_gen.plugins.picks import PicksMetric
    >>> check_plugin(PicksMetric)["trainable"]
    False
    """
    if not (isinstance(cls, type) and issubclass(cls, base)):
        _fail(cls, f"is not a subclass of obspy_gen.api.{base.__name__}")
    if not isinstance(cls.name, str) or not _NAME.match(cls.name or ""):
        _fail(cls, f"name={cls.name!r} must be a lower-case identifier (dashes allowed)")
    if not isinstance(cls.version, str) or not cls.version:
        _fail(cls, f"version={cls.version!r} must be a non-empty string")
    if not isinstance(cls.requires, tuple) or not all(isinstance(m, str) for m in cls.requires):
        _fail(cls, f"requires={cls.requires!r} must be a tuple of import names")
    state = cls.import_requirements()
    if state != "ok":
        _fail(cls, f"requirements do not import: {state}")
    trainable = is_trainable(cls)
    if hasattr(cls, "TrainSettings") and not trainable:
        _fail(cls, "has TrainSettings but no dataclass + train() hook")
    if trainable:
        for f in dataclasses.fields(cls.TrainSettings):
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                _fail(cls, f"TrainSettings.{f.name} has no default")
            if not f.metadata.get("help"):
                _fail(cls, f"TrainSettings.{f.name} has no help text (metadata['help'])")
        cls.TrainSettings()  # the defaults must validate
        if not inspect.ismethod(cls.train):
            _fail(cls, "train must be a classmethod")
        params = inspect.signature(cls.train).parameters
        for p in ("data", "out", "settings", "device", "resume", "log"):
            if p not in params:
                _fail(cls, f"train() lacks the parameter {p!r}")
    return {"name": cls.name, "trainable": trainable}


def _records_of(stream):
    from obspy_gen.core.records import split_records
    return split_records(stream)


def check_generator(cls, *, station=None, records=None, n=2, seed=1, **options) -> dict:
    """A generator follows the generation contract.

    Generates ``n`` records twice with the same ``seed`` (from ``station`` and/or the zero-shot
    ``records``) and checks: a Stream of ``n`` 3-component records; every trace's
    ``stats.obspy_gen`` (``model``, ``version``, ``seed``, ``record``, ``synthetic=True``);
    record ``i`` starting after record ``i - 1`` ends; same seed, same data; ``n=0`` gives an
    empty Stream; bad ``n`` and an unknown option are errors; the declared ``conditions`` are
    known ones and a condition it does not declare is a one-line ValueError naming those it
    supports.

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator
    >>> check_generator(StochasticGenerator, station="4628")["records"]
    2
    """
    import numpy as np
    from obspy import Stream
    check_plugin(cls, Generator)
    unknown = set(cls.conditions) - set(CONDITIONS)
    if unknown:
        _fail(cls, f"declares unknown condition(s) {sorted(unknown)}; known: {list(CONDITIONS)}")
    gen = cls()
    kwargs = dict(station=station, seed=seed, **options)
    st = gen.generate(records, n=n, **kwargs)
    if not isinstance(st, Stream):
        _fail(cls, f"generate() returned {type(st).__name__}, not an obspy Stream")
    recs = _records_of(st)
    if len(recs) != n:
        _fail(cls, f"asked for {n} records, got {len(recs)}")
    ends = None
    for i, rec in enumerate(sorted(recs, key=lambda r: r[0].stats.obspy_gen.record)):
        if len(rec) != 3:
            _fail(cls, f"record {i} has {len(rec)} traces, not 3")
        for tr in rec:
            meta = tr.stats.get("obspy_gen")
            if meta is None:
                _fail(cls, f"{tr.id}: no stats.obspy_gen")
            for key, want in (("model", cls.name), ("version", cls.version), ("seed", seed),
                              ("record", i), ("synthetic", True)):
                if meta.get(key) != want:
                    _fail(cls, f"{tr.id}: stats.obspy_gen.{key}={meta.get(key)!r}, "
                               f"expected {want!r}")
        start = min(tr.stats.starttime for tr in rec)
        if ends is not None and not start > ends:
            _fail(cls, f"record {i} starts at {start}, before record {i - 1} ends ({ends})")
        ends = max(tr.stats.endtime for tr in rec)
    again = gen.generate(records, n=n, **kwargs)
    if len(again) != len(st) or not all(np.array_equal(a.data, b.data)
                                        for a, b in zip(st, again)):
        _fail(cls, f"seed={seed} did not reproduce the same records")
    if len(gen.generate(records, n=0, **kwargs)) != 0:
        _fail(cls, "n=0 did not give an empty Stream")
    for bad in (-1, 1.5):
        try:
            gen.generate(records, n=bad, **kwargs)
        except (ValueError, TypeError):
            pass
        else:
            _fail(cls, f"n={bad!r} was accepted")
    try:
        gen.generate(records, n=1, no_such_option_xyz=1, **kwargs)
    except TypeError:
        pass
    else:
        _fail(cls, "an unknown option was accepted silently")
    missing = [c for c in CONDITIONS if c not in cls.conditions]
    if missing:
        probe = {"magnitude": 5.0, "distance": 10.0, "depth": 10.0, "vs30": 400.0}[missing[0]]
        try:
            gen.generate(records, n=1, **{missing[0]: probe}, **kwargs)
        except ValueError as exc:
            text = str(exc)
            if "\n" in text or "support" not in text:
                _fail(cls, f"unsupported condition error is not one line naming what it "
                           f"supports: {text!r}")
        else:
            _fail(cls, f"condition {missing[0]!r} is not declared but was accepted")
    return {"name": cls.name, "records": len(recs), "conditions": tuple(cls.conditions)}


def check_vs30_predictor(cls, records=None, **options) -> dict:
    """A Vs30 predictor returns a consistent :class:`~obspy_gen.api.Vs30Result`.

    Checks vs30 > 0 (m/s), ``nehrp_class == nehrp_class(vs30)``, one ``per_record`` value per
    record, and a JSON-ready ``to_dict()``.
    """
    check_plugin(cls, Vs30Predictor)
    records = _default_records() if records is None else records
    n_rec = len(_records_of(records)) if hasattr(records, "traces") else len(records)
    result = cls().predict(records, **options)
    if not isinstance(result, Vs30Result):
        _fail(cls, f"predict() returned {type(result).__name__}, not Vs30Result")
    if not result.vs30 > 0:
        _fail(cls, f"vs30={result.vs30!r} is not a positive velocity")
    if result.nehrp_class != nehrp_class(result.vs30):
        _fail(cls, f"nehrp_class={result.nehrp_class!r} but Vs30 {result.vs30:.0f} m/s is "
                   f"class {nehrp_class(result.vs30)}")
    if len(result.per_record) != n_rec:
        _fail(cls, f"{len(result.per_record)} per-record values for {n_rec} records")
    json.dumps(result.to_dict())
    return {"name": cls.name, "vs30": float(result.vs30)}


def check_site_metric(cls, records=None, settings=None) -> dict:
    """A site metric's ``compute(records, **settings)`` returns a result with a JSON-ready
    ``to_dict()``; the records are left unchanged."""
    import numpy as np
    check_plugin(cls, SiteMetric)
    records = _default_records() if records is None else records
    before = [tr.data.copy() for tr in records] if hasattr(records, "traces") else None
    result = cls().compute(records, **(settings or {}))
    if not callable(getattr(result, "to_dict", None)):
        _fail(cls, f"compute() returned {type(result).__name__} without to_dict()")
    d = result.to_dict()
    if not isinstance(d, dict):
        _fail(cls, "to_dict() did not return a dict")
    try:
        json.dumps(d, default=str)
    except (TypeError, ValueError) as exc:
        _fail(cls, f"to_dict() is not JSON-ready: {exc}")
    if before is not None and not all(np.array_equal(a, tr.data)
                                      for a, tr in zip(before, records)):
        _fail(cls, "compute() changed the records it was given")
    return {"name": cls.name, "to_dict_keys": len(d)}


CHECKS = {"obspy_gen.generators": check_generator, "obspy_gen.vs30": check_vs30_predictor,
          "obspy_gen.site_metrics": check_site_metric}

__all__ = ["ConformanceError", "check_plugin", "check_generator", "check_vs30_predictor",
           "check_site_metric", "CHECKS"]

"""Base classes, one per plugin group. A plugin is a short subclass registered by entry point.

Every plugin class has three class attributes:

``name``
    The name it is registered under (lower case, dashes allowed), e.g. ``"timesnet-gen"``.
``version``
    Its own version string (recorded in outputs for provenance).
``requires``
    Import names it needs beyond obspy-gen's own dependencies, e.g. ``("torch",)``. The
    registry reports a plugin whose requirements are missing instead of failing on import, so
    a plugin module must import such packages lazily (inside methods).

Then one method per group:

* :class:`Generator` -- ``generate(records=None, *, station=None, n=1, seed=None, device=None,
  **options) -> Stream`` (records = the zero-shot pool when given);
* :class:`Vs30Predictor` -- ``predict(records, *, device=None) -> Vs30Result``;
* :class:`SiteMetric` -- ``compute(records, **settings) -> result`` where the result has
  ``to_dict()``.

``records`` is a :class:`~obspy.core.stream.Stream` (split into records with
:func:`obspy_gen.split_records`) or a list of Streams, one per record.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field


class Plugin:
    """Common part of every plugin.

    Examples
    --------
    >>> class Demo(Plugin):
    ...     name, version, requires = "demo", "1.0", ("surely_not_installed_pkg",)
    >>> Demo.missing_requirements()
    ('surely_not_installed_pkg',)
    """

    name: str = ""
    version: str = "0"
    requires: tuple = ()

    @classmethod
    def missing_requirements(cls) -> tuple:
        """Import names in ``requires`` that are not installed (checked without importing)."""
        return tuple(m for m in cls.requires if importlib.util.find_spec(m) is None)

    @classmethod
    def check_requirements(cls) -> None:
        """Raise a clear ImportError when something in ``requires`` is not installed."""
        missing = cls.missing_requirements()
        if missing:
            raise ImportError(f"plugin {cls.name!r} needs {', '.join(missing)}: "
                              f"pip install {' '.join(missing)}")

    def __repr__(self):
        return f"<{type(self).__name__} plugin {self.name!r} v{self.version}>"


class Generator(Plugin):
    """Generates new records; returns one Stream holding ``n`` records.

    Traces are ordered record by record and carry ``stats.obspy_gen`` (``model``, ``version``,
    ``seed``, ``record``, ``synthetic=True``); record ``i`` starts after record ``i - 1`` ends.
    """

    def generate(self, records=None, *, station=None, n=1, seed=None, device=None, **options):
        raise NotImplementedError


@dataclass
class Vs30Result:
    """Result of a Vs30 predictor.

    Attributes
    ----------
    vs30 : float
        Predicted time-averaged shear-wave velocity of the top 30 m (m/s); with several
        records, the median of ``per_record``.
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

    def to_dict(self) -> dict:
        return {"station": self.station, "model": self.model, "vs30": float(self.vs30),
                "nehrp_class": self.nehrp_class, "spread": float(self.spread),
                "n_records": int(self.n_records or len(self.per_record)),
                "n_skipped": int(self.n_skipped),
                "per_record": [float(v) for v in self.per_record],
                "notes": list(self.notes), "details": dict(self.details)}


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
    """Predicts a station's Vs30 from its records."""

    def predict(self, records, *, device=None) -> Vs30Result:
        raise NotImplementedError


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

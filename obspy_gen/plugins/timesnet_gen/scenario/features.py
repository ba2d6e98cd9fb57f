"""Scenario features and the amplitude model of the scenario-conditioned TimesNet-Gen (numpy).

A scenario is (magnitude Mw, hypocentral distance km, depth km, Vs30 m/s). The network sees it
as four standardised numbers ``[M, ln R_hyp, ln depth, ln Vs30]`` (:class:`FeatureScaler`),
injected into every TimesBlock like the station one-hot of the paper. TimesNet-Gen
standardises each record per channel, so the record's amplitude is not in the network: the
per-channel ``ln std`` of a record is predicted from the scenario by :class:`AmplitudeModel`
(least squares on the training labels, with per-station terms and the residual covariances,
so that generated amplitudes scatter as the training records do).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Scenario features, in the order the network sees them.
FEATURES = ("magnitude", "ln_hypo_distance", "ln_depth", "ln_vs30")
#: Distance kinds the variant accepts (first = default, as the stochastic simulator's labels).
DISTANCE_KINDS = ("epicentral", "hypocentral")


def hypocentral(distance: float, depth: float, kind: str = "epicentral") -> float:
    """Hypocentral distance (km) from an epicentral or hypocentral one and the depth.

    Examples
    --------
    >>> hypocentral(30.0, 40.0)
    50.0
    >>> hypocentral(50.0, 40.0, "hypocentral")
    50.0
    >>> hypocentral(10.0, 40.0, "hypocentral")
    Traceback (most recent call last):
    ...
    ValueError: hypocentral distance 10 km is shorter than the depth 40 km
    >>> hypocentral(10.0, 5.0, "joyner_boore")
    Traceback (most recent call last):
    ...
    ValueError: distance_kind='joyner_boore' is not one of epicentral, hypocentral
    """
    if kind not in DISTANCE_KINDS:
        raise ValueError(f"distance_kind={kind!r} is not one of {', '.join(DISTANCE_KINDS)}")
    if kind == "hypocentral":
        if distance < depth:
            raise ValueError(f"hypocentral distance {distance:g} km is shorter than the depth "
                             f"{depth:g} km")
        return float(distance)
    return float(math.hypot(distance, depth))


def raw_features(magnitude, hypo_distance, depth, vs30) -> np.ndarray:
    """``[M, ln R_hyp, ln depth, ln Vs30]`` (arrays broadcast), shape (..., 4).

    Examples
    --------
    >>> raw_features(6.0, math.e, 1.0, 1.0).tolist()
    [6.0, 1.0, 0.0, 0.0]
    """
    m, r, d, v = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                       for x in (magnitude, hypo_distance, depth, vs30)))
    if np.any(r <= 0) or np.any(d <= 0) or np.any(v <= 0):
        raise ValueError("distance, depth and vs30 must be positive")
    return np.stack([m, np.log(r), np.log(d), np.log(v)], axis=-1)


@dataclass
class FeatureScaler:
    """Standardisation of the raw features (fitted on the training labels).

    Examples
    --------
    >>> raw = raw_features([4.0, 6.0], [10.0, 100.0], [5.0, 15.0], [200.0, 800.0])
    >>> sc = FeatureScaler.fit(raw)
    >>> sc(raw).round(6).tolist()
    [[-1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0]]
    >>> FeatureScaler.from_dict(sc.to_dict()) == sc
    True
    """

    centre: list
    scale: list

    @classmethod
    def fit(cls, raw) -> "FeatureScaler":
        raw = np.asarray(raw, dtype=np.float64)
        scale = raw.std(axis=0)
        return cls(raw.mean(axis=0).tolist(), np.where(scale > 1e-6, scale, 1.0).tolist())

    def __call__(self, raw) -> np.ndarray:
        return (np.asarray(raw, dtype=np.float64) - np.asarray(self.centre)) / np.asarray(
            self.scale)

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "centre": list(self.centre),
                "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data) -> "FeatureScaler":
        if list(data.get("features", FEATURES)) != list(FEATURES):
            raise ValueError(f"features {data.get('features')} are not {list(FEATURES)}")
        return cls(list(map(float, data["centre"])), list(map(float, data["scale"])))


def design(z) -> np.ndarray:
    """Regressors of the amplitude model from standardised features ``z`` (n, 4): a cubic in
    magnitude m, r and r^2, m r and m^2 r, e^r (anelastic, in units of the training spread),
    depth d, and v, v^2, m v for Vs30 (:data:`REGRESSORS`).

    Examples
    --------
    >>> design(np.zeros((2, 4))).shape
    (2, 13)
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    m, r, d, v = z.T
    return np.stack([np.ones_like(m), m, m * m, m ** 3, r, m * r, m * m * r, r * r,
                     np.exp(r), d, v, v * v, m * v], axis=1)


#: Names of the columns of :func:`design`.
REGRESSORS = ("1", "m", "m^2", "m^3", "r", "m r", "m^2 r", "r^2", "exp(r)", "d", "v", "v^2",
              "m v")


@dataclass
class AmplitudeModel:
    """Per-channel ``ln std`` of a record from its scenario: fixed effects + station terms.

    ``ln std = design(z) @ coef + delta_station + eps``: ``coef`` by (lightly ridged) least
    squares, ``delta_station`` the shrunk mean residual of each training station (one value
    for the two horizontals of a 3-channel record, one for the vertical), ``eps`` ~
    N(0, ``within``) for a station the model knows and N(0, ``total``) (within + between
    stations) for one it does not (its site is then only its Vs30).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(300, 4))
    >>> y = 1.5 * z[:, :1] - 0.8 * z[:, 1:2] + 0.1 * rng.normal(size=(300, 3))
    >>> st = [f"S{i % 10}" for i in range(300)]
    >>> amp = AmplitudeModel.fit(z, y, st)
    >>> amp.predict([[1.0, 0.0, 0.0, 0.0]]).round(1).tolist()
    [[1.5, 1.5, 1.5]]
    >>> bool(np.sqrt(np.diag(amp.within)).max() < 0.12)
    True
    >>> AmplitudeModel.from_dict(amp.to_dict()).predict([[0.0, 1.0, 0, 0]]).round(1).tolist()
    [[-0.8, -0.8, -0.8]]
    """

    coef: np.ndarray
    within: np.ndarray
    total: np.ndarray
    station_terms: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, z, ln_std, stations=None, ridge: float = 1e-6,
            shrink: float = 1.0) -> "AmplitudeModel":
        x = design(z)
        y = np.asarray(ln_std, dtype=np.float64)
        coef = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
        res = y - x @ coef
        terms, within_res = {}, res.copy()
        if stations is not None:
            stations = np.asarray(stations)
            for s in np.unique(stations):
                sel = stations == s
                delta = res[sel].sum(axis=0) / (sel.sum() + shrink)
                if len(delta) == 3:
                    # N and E share one site term (their orientation is arbitrary).
                    delta[:2] = delta[:2].mean()
                terms[str(s)] = delta
                within_res[sel] = res[sel] - delta
        return cls(coef, np.atleast_2d(np.cov(within_res.T)), np.atleast_2d(np.cov(res.T)),
                   terms)

    def predict(self, z, station=None) -> np.ndarray:
        """Median ``ln std`` (n, channels), with the station's term when it is known."""
        out = design(z) @ self.coef
        if station is not None and station in self.station_terms:
            out = out + self.station_terms[station]
        return out

    def sample(self, z, rng, station=None, scale: float = 1.0,
               site_scatter: str = "total") -> np.ndarray:
        """One ``ln std`` per row of ``z``: the median plus residual scatter (x ``scale``).

        The scatter is the within-station one for a station the model knows; for another one
        ``site_scatter`` says which: ``"total"`` (within + between stations: the record of
        any site with this Vs30) or ``"within"`` (the records of one median site).
        """
        if site_scatter not in ("total", "within"):
            raise ValueError(f"site_scatter={site_scatter!r} is not one of total, within")
        mu = self.predict(z, station)
        cov = (self.within if station in self.station_terms or site_scatter == "within"
               else self.total)
        eps = rng.multivariate_normal(np.zeros(cov.shape[0]), cov, size=len(mu),
                                      method="eigh")
        return mu + scale * eps

    def to_dict(self) -> dict:
        return {"regressors": list(REGRESSORS),
                "coef": np.asarray(self.coef).tolist(), "within": self.within.tolist(),
                "total": self.total.tolist(),
                "station_terms": {k: np.asarray(v).tolist()
                                  for k, v in self.station_terms.items()}}

    @classmethod
    def from_dict(cls, data) -> "AmplitudeModel":
        if list(data.get("regressors", REGRESSORS)) != list(REGRESSORS):
            raise ValueError(f"amplitude regressors {data.get('regressors')} are not "
                             f"{list(REGRESSORS)}")
        return cls(np.asarray(data["coef"], float), np.asarray(data["within"], float),
                   np.asarray(data["total"], float),
                   {k: np.asarray(v, float) for k, v in data.get("station_terms", {}).items()})


__all__ = ["FEATURES", "DISTANCE_KINDS", "hypocentral", "raw_features", "FeatureScaler",
           "design", "REGRESSORS", "AmplitudeModel"]

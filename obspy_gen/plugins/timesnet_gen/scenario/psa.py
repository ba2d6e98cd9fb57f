"""The lnPSA correction of the scenario sampler, learned on the training records (numpy).

What is left after the spectral-shape correction (:func:`~.sampler.calibrate`) and the
amplitude model is measured where an engineer looks: in the response spectrum. For every
training record the sampler makes records of the record's own scenario -- as the generator
does (:func:`~.sampler.scenario_record`), the record itself left out of the latent prior --
and the difference of their lnPSA (mean of the two horizontals, 5 %) from the record's is
modelled per period as

* ``known`` (the station is in the checkpoint): fixed effects of the scenario
  (:func:`psa_design`: magnitude, distance, Vs30) plus a station term, the station's mean
  residual shrunk toward zero by its record count (random-effects estimate of the
  between-station variance, per period: ``n_s / (n_s + sigma_w^2 / tau^2)``);
* ``new`` (only the site's Vs30 is known): the same fixed effects, learned with every record
  of the record's own station left out of the latent prior and no station term -- the
  situation of a new site, so the Vs30 terms carry what Vs30 says about the site (with one
  station only, the known mode's fixed effects).

Generation then filters the scaled record (zero-phase) with ln gain ``-prediction`` at the
frequencies ``1 / T``. A response ordinate is not one Fourier frequency, so the calibration
runs in ``passes`` (each learns the remaining residual of the sampler corrected by the ones
before, and adds it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Periods (s) of the correction (the gains are interpolated in log frequency between them).
PSA_PERIODS = np.geomspace(0.04, 4.0, 15)
#: Names of the columns of :func:`psa_design`.
PSA_REGRESSORS = ("1", "m", "m^2", "r", "m r", "v", "v^2")


def psa_design(z) -> np.ndarray:
    """Regressors of the lnPSA correction from standardised features ``z`` (n, 4).

    Examples
    --------
    >>> psa_design(np.zeros((2, 4))).shape
    (2, 7)
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    m, r, _, v = z.T
    return np.stack([np.ones_like(m), m, m * m, r, m * r, v, v * v], axis=1)


def ln_psa(data, fs, periods=PSA_PERIODS) -> np.ndarray:
    """lnPSA (5 %) of a record (3, n) or (2, n): mean of the ln Sa of rows 0 and 1.

    Examples
    --------
    >>> t = np.arange(3000) / 100.0
    >>> x = np.stack([np.sin(2 * np.pi * t) * np.exp(-((t - 10) / 3) ** 2)] * 3)
    >>> y = ln_psa(x, 100.0, [0.2, 1.0, 3.0])
    >>> int(np.argmax(y))
    1
    """
    from obspy_gen.core.intensity import spectral_acceleration
    x = np.asarray(data, dtype=np.float64)
    return np.mean([np.log(np.maximum(spectral_acceleration(x[c], 1.0 / fs,
                                                            np.asarray(periods, float)),
                                      1e-30)) for c in (0, 1)], axis=0)


def _station_terms(res, stations):
    """Shrunk per-station mean residuals (random effects, per period) and the shrink
    constants."""
    codes = np.asarray(stations)
    uniq = np.unique(codes)
    n_s = np.array([(codes == s).sum() for s in uniq], dtype=float)
    means = np.array([res[codes == s].mean(axis=0) for s in uniq])
    within = np.concatenate([res[codes == s] - m for s, m in zip(uniq, means)])
    dof = max(len(res) - len(uniq), 1)
    sigma2 = (within ** 2).sum(axis=0) / dof
    tau2 = np.maximum(means.var(axis=0, ddof=1) - (sigma2[None] / n_s[:, None]).mean(axis=0),
                      1e-6) if len(uniq) > 1 else np.full(res.shape[1], 1e-6)
    shrink = sigma2 / tau2
    terms = means * (n_s[:, None] / (n_s[:, None] + shrink[None]))
    return {str(s): t for s, t in zip(uniq, terms)}, shrink


def fit_increment(res, z, stations=None, ridge: float = 1e-2) -> tuple:
    """Fixed effects (regressors x periods) and, with ``stations``, shrunk station terms of
    the residuals ``res`` (n, periods).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(400, 4))
    >>> st = np.repeat([f"S{i}" for i in range(40)], 10)
    >>> site = np.repeat(rng.normal(0, 0.3, 40), 10)
    >>> res = (0.2 + 0.1 * z[:, 0] + site + 0.3 * rng.normal(size=400))[:, None]
    >>> coef, terms, _ = fit_increment(res, z, st)
    >>> coef[:2, 0].round(1).tolist()
    [0.2, 0.1]
    >>> bool(np.corrcoef([terms[f"S{i}"][0] for i in range(40)], site[::10])[0, 1] > 0.8)
    True
    """
    x = psa_design(z)
    res = np.asarray(res, dtype=np.float64)
    lhs = x.T @ x + ridge * np.eye(x.shape[1])
    coef = np.linalg.solve(lhs, x.T @ res)
    if stations is None:
        return coef, {}, None
    terms, shrink = {}, None
    for _ in range(2):
        terms, shrink = _station_terms(res - x @ coef, stations)
        site = np.array([terms[str(s)] for s in stations])
        coef = np.linalg.solve(lhs, x.T @ (res - site))
    return coef, terms, shrink


@dataclass
class PsaCorrection:
    """The lnPSA correction (module docstring): fixed effects for a known and a new station,
    and the known stations' terms.

    Examples
    --------
    >>> c = PsaCorrection.zero()
    >>> c.known = c.known + 0.1
    >>> f, g = c.gain(np.zeros(4))
    >>> bool(np.all(np.diff(f) > 0)), float(g[0].round(2))
    (True, -0.1)
    >>> float(np.abs(PsaCorrection.from_dict(c.to_dict()).gain(np.zeros(4), new=True)[1]).max())
    0.0
    """

    periods: np.ndarray
    known: np.ndarray
    new: np.ndarray
    station_terms: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @classmethod
    def zero(cls, periods=PSA_PERIODS) -> "PsaCorrection":
        p = np.asarray(periods, dtype=np.float64)
        shape = (len(PSA_REGRESSORS), len(p))
        return cls(p, np.zeros(shape), np.zeros(shape), {}, {})

    def predict(self, z, station=None, new=False) -> np.ndarray:
        """Predicted ln(generated / recorded) PSA at :attr:`periods` for features ``z`` (4,)."""
        x = psa_design(np.asarray(z).reshape(1, -1))[0]
        if new:
            return x @ self.new
        out = x @ self.known
        if station is not None and str(station) in self.station_terms:
            out = out + self.station_terms[str(station)]
        return out

    def gain(self, z, station=None, new=False) -> tuple:
        """``(frequencies Hz ascending, ln gains)`` of the correcting filter."""
        g = -self.predict(z, station, new)
        return (1.0 / self.periods)[::-1], g[::-1]

    def to_dict(self) -> dict:
        return {"periods": self.periods.round(6).tolist(), "regressors": list(PSA_REGRESSORS),
                "known": np.round(self.known, 5).tolist(),
                "new": np.round(self.new, 5).tolist(),
                "station_terms": {k: np.round(v, 4).tolist()
                                  for k, v in self.station_terms.items()},
                **self.info}

    @classmethod
    def from_dict(cls, data) -> "PsaCorrection":
        if list(data.get("regressors", PSA_REGRESSORS)) != list(PSA_REGRESSORS):
            raise ValueError(f"psa regressors {data.get('regressors')} are not "
                             f"{list(PSA_REGRESSORS)}")
        info = {k: v for k, v in data.items()
                if k not in ("periods", "regressors", "known", "new", "station_terms")}
        return cls(np.asarray(data["periods"], float), np.asarray(data["known"], float),
                   np.asarray(data["new"], float),
                   {k: np.asarray(v, float) for k, v in data.get("station_terms", {}).items()},
                   info)


def calibrate_psa(model, pool, scaler, amplitude, records, raw, stations, pool_rows, *,
                  pool_stations, shape_calibration=None, periods=PSA_PERIODS, passes=2,
                  draws=1, seed=0, k=8, noise_scale=1.0, fs=100.0, baseline="quadratic",
                  site_scatter="within", log=None) -> PsaCorrection:
    """Learn the lnPSA correction (module docstring) on training records.

    Parameters
    ----------
    model, pool, scaler, amplitude
        The network, its latent source, feature scaler and amplitude model.
    records : list of array (3, n)
        The training records (physical units, recorded span).
    raw : array (n, 4)
        Their raw scenario features.
    stations : list of str
        Their station codes.
    pool_rows : array (n,)
        Each record's row in the latent source (-1 when it is not there).
    pool_stations : array
        Station code of every row of the latent source.
    shape_calibration : dict, optional
        The spectral-shape calibration the sampler applies (:func:`~.sampler.calibrate`).
    passes, draws : int
        Calibration passes; generated records per training record and pass.

    Returns
    -------
    PsaCorrection
        With ``info``: per mode and pass the mean and RMS over periods of the mean residual
        (``mean_residual``), and the station shrink constants.
    """
    from obspy_gen.plugins.timesnet_gen.scenario.sampler import (correction_for, prior_pool,
                                                                 scenario_record)
    log = log or (lambda line: None)
    raw = np.asarray(raw, dtype=np.float64)
    z_all = scaler(raw)
    pool_stations = np.asarray(pool_stations)
    true = np.array([ln_psa(r, fs, periods) for r in records])
    corr = PsaCorrection.zero(periods)
    stride = int(model.config.latent_stride)
    history = {}
    for mode in ("known", "new"):
        if mode == "new" and len(np.unique(pool_stations)) < 2:
            # No other station to leave one out for: a new site gets the known fixed effects.
            corr.new = corr.known.copy()
            history["new"] = "fixed effects of the known mode (one station in the source)"
            break
        for p in range(int(passes)):
            res = np.zeros((len(records), len(periods)))
            for i in range(len(records)):
                if mode == "known":
                    excl = pool_rows[i] if pool_rows[i] >= 0 else None
                    key = stations[i] if stations[i] in amplitude.station_terms else None
                else:
                    excl = np.flatnonzero(pool_stations == stations[i])
                    key = None
                prior = prior_pool(pool, scaler, raw[i], stride, k, exclude=excl)
                gain = corr.gain(z_all[i], key, new=mode == "new")
                acc = np.zeros(len(periods))
                for d in range(int(draws)):
                    rng = np.random.default_rng([int(seed), p, i, d, mode == "new"])
                    data, _ = scenario_record(
                        model, prior, z_all[i], amplitude, rng, station=key,
                        noise_scale=noise_scale,
                        correction=correction_for(shape_calibration, z_all[i]),
                        psa_gain=gain, fs=fs, baseline=baseline, site_scatter=site_scatter)
                    acc += ln_psa(data, fs, periods)
                res[i] = acc / int(draws) - true[i]
            mean = res.mean(axis=0)
            history[f"{mode}_pass{p + 1}"] = {"mean_residual": mean.round(4).tolist(),
                                               "rms_mean_residual": float(
                                                   np.sqrt((mean ** 2).mean()).round(4))}
            log(f"lnPSA calibration {mode} pass {p + 1}: mean residual "
                f"{mean.min():+.3f}..{mean.max():+.3f}")
            if mode == "known":
                coef, terms, shrink = fit_increment(res, z_all, stations)
                corr.known = corr.known + coef
                for s, t in terms.items():
                    corr.station_terms[s] = corr.station_terms.get(s, 0.0) + t
                history[f"known_pass{p + 1}"]["station_shrink"] = np.round(shrink, 2).tolist()
            else:
                coef, _, _ = fit_increment(res, z_all)
                corr.new = corr.new + coef
    corr.info = {"passes": int(passes), "draws": int(draws), "n_records": len(records),
                 "site_scatter": site_scatter, "history": history}
    return corr


__all__ = ["PSA_PERIODS", "PSA_REGRESSORS", "psa_design", "ln_psa", "fit_increment",
           "PsaCorrection", "calibrate_psa"]

"""The ``hvsr-f0`` Vs30 predictor: a published f0-Vs30 relation applied to the station's HVSR f0.

The relation is the quarter-wavelength rule of a 30-m column, ``f0 = Vs30 / (4 * 30 m)``,
i.e. ``Vs30 = 120 m * f0``. It is the line on which every class boundary of the H/V
site-classification scheme of Zhao et al. (2006) lies (predominant period T = 1/f0 against
Vs30: 0.2 s -> 600 m/s, 0.4 s -> 300 m/s, 0.6 s -> 200 m/s; T * Vs30 = 120 m each time):

    Zhao, J. X., Irikura, K., Zhang, J., Fukushima, Y., Somerville, P. G., Asano, A.,
    Ohno, Y., Oouchi, T., Takahashi, T. & Ogawa, H. (2006). An empirical site-classification
    method for strong-motion stations in Japan using H/V response spectral ratio. Bulletin of
    the Seismological Society of America 96(3), 914-925.

The result is clipped to ``VS30_RANGE`` (100-1500 m/s, NEHRP classes E to B). A thick soft
column has a low f0 whatever its top 30 m are, and a thin layer on rock a high one, so the
relation is a coarse proxy: it is here as the empirical baseline the CNN-LSTM must beat.
``relation=(a, b)`` replaces it with ``ln Vs30 = a + b ln f0`` (e.g. refitted on training
stations, as ``docs/vs30.rst`` reports too).

f0 is the peak of the station's lognormal-mean HVSR curve over its records (whole-record
windows, :func:`obspy_gen.hvsr`, ``default`` preset unless settings are given); each record's
own f0 gives its per-record value.
"""
from __future__ import annotations

import math

import numpy as np

from obspy_gen.api import Vs30Predictor, Vs30Result, nehrp_class

#: Vs30 = QUARTER_WAVE_DEPTH_M * 4 * f0 (m/s, f0 in Hz): 30 m quarter wavelength.
QUARTER_WAVE_DEPTH_M = 30.0
#: Clip of the predictions (m/s).
VS30_RANGE = (100.0, 1500.0)


def vs30_from_f0(f0, relation=None):
    """Vs30 (m/s) from f0 (Hz) by the published relation (or ``relation=(a, b)``), clipped.

    Examples
    --------
    >>> vs30_from_f0(2.5), vs30_from_f0(100.0), vs30_from_f0(0.1)
    (300.0, 1500.0, 100.0)
    >>> round(vs30_from_f0(2.0, relation=(5.0, 0.5)), 1)
    209.9
    """
    f0 = float(f0)
    if not (math.isfinite(f0) and f0 > 0):
        raise ValueError(f"f0 must be a positive frequency, got {f0!r}")
    if relation is None:
        v = 4.0 * QUARTER_WAVE_DEPTH_M * f0
    else:
        a, b = (float(c) for c in relation)
        v = math.exp(a + b * math.log(f0))
    return float(min(max(v, VS30_RANGE[0]), VS30_RANGE[1]))


def fit_relation(f0, vs30) -> tuple:
    """Least-squares ``(a, b)`` of ``ln Vs30 = a + b ln f0`` (e.g. on training stations).

    Examples
    --------
    >>> a, b = fit_relation([1.0, 2.0, 4.0], [100.0, 200.0, 400.0])
    >>> round(a, 3), round(b, 3)
    (4.605, 1.0)
    """
    x, y = np.log(np.asarray(f0, float)), np.log(np.asarray(vs30, float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        raise ValueError("need at least two stations with an f0 to fit a relation")
    b, a = np.polyfit(x[ok], y[ok], 1)
    return float(a), float(b)


class HVSRF0Predictor(Vs30Predictor):
    """Vs30 from the HVSR f0 of the station's records (see the module notes).

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator, SoilProfile
    >>> site = SoilProfile([(20, 240, 1800, 0.03)], halfspace=(900, 2300, 0.01))
    >>> st = StochasticGenerator().generate(station=site, n=3, seed=2)
    >>> r = HVSRF0Predictor().predict(st)
    >>> r.n_records, bool(abs(r.details["f0"] / site.f0 - 1) < 0.15)   # H/V peaks at f0
    (3, True)
    >>> r.vs30 == vs30_from_f0(r.details["f0"]), r.nehrp_class, site.nehrp_class
    (True, 'D', 'D')
    """

    name = "hvsr-f0"
    version = "1.0"
    requires = ()

    def __init__(self, relation=None, settings=None, **hvsr_kwargs):
        self.relation = relation
        self.settings = settings
        self.hvsr_kwargs = hvsr_kwargs

    def predict(self, records, *, device=None, relation=None, settings=None,
                **hvsr_kwargs):
        """Vs30 of ONE station from the f0 of its records' HVSR.

        Parameters
        ----------
        records : obspy.Stream or list of obspy.Stream
            Records of one station.
        device : ignored
            (No torch here; accepted for the common signature.)
        relation : (a, b), optional
            ``ln Vs30 = a + b ln f0`` instead of the published relation.
        settings : HVSRSettings or dict, optional
            HVSR settings (default preset); ``**hvsr_kwargs`` override single ones.

        Raises
        ------
        ValueError
            Several stations, no usable record, or no HVSR peak in the f0 band.
        """
        from obspy_gen.core.hvsr import hvsr
        station, recs = self.one_station(records)
        relation = relation if relation is not None else self.relation
        kwargs = {**self.hvsr_kwargs, **hvsr_kwargs}
        use = settings if settings is not None else self.settings
        problems = []
        try:
            res = hvsr(recs, use, **kwargs)
        except ValueError:
            # Find the records that spoil it, keep the rest.
            usable = []
            for rec in recs:
                try:
                    hvsr(rec, use, **kwargs)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                usable.append(rec)
            if not usable:
                raise ValueError(f"{station}: no usable record ({'; '.join(problems[:3])})")
            res = hvsr(usable, use, **kwargs)
        if not np.isfinite(res.f0):
            raise ValueError(f"{station}: no HVSR peak in the f0 band "
                             f"{res.settings.f0_band} Hz")
        per = [vs30_from_f0(f, relation) for f in res.f0_windows if np.isfinite(f) and f > 0]
        out = Vs30Result.from_values(
                      station, per or [vs30_from_f0(res.f0, relation)], self.name, len(recs),
                      [f"skipped: {p}" for p in problems],
                      {"f0": float(res.f0), "f0_clear": bool(res.f0_clear),
                       "relation": "Vs30 = 120 m x f0 (quarter wavelength of 30 m; Zhao et al. "
                                   "2006 class boundaries)" if relation is None else
                                   f"ln Vs30 = {relation[0]:.4g} + {relation[1]:.4g} ln f0",
                       "clip": list(VS30_RANGE)})
        # The station value is the relation at the station f0 (the mean curve's peak), not the
        # median over records.
        out.vs30 = vs30_from_f0(res.f0, relation)
        out.nehrp_class = nehrp_class(out.vs30)
        return out


__all__ = ["HVSRF0Predictor", "vs30_from_f0", "fit_relation", "QUARTER_WAVE_DEPTH_M",
           "VS30_RANGE"]

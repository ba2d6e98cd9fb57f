"""The ``timesnet-gen-scenario`` generator: ``Stream.generate(station=..., magnitude=6.5,
distance=20, model="timesnet-gen-scenario")``."""
from __future__ import annotations

import math
import warnings

import numpy as np

from obspy_gen.api import GeneratedRecord, Generator, build_stream
from obspy_gen.plugins.timesnet_gen.baseline import BASELINES
from obspy_gen.plugins.timesnet_gen.sampling import LatentPool, record_rng
from obspy_gen.plugins.timesnet_gen.scenario.features import (DISTANCE_KINDS, hypocentral,
                                                              raw_features)
from obspy_gen.plugins.timesnet_gen.scenario.psa import PsaCorrection
from obspy_gen.plugins.timesnet_gen.scenario.sampler import (correction_for, prior_pool,
                                                             scenario_record)
from obspy_gen.plugins.timesnet_gen.scenario.store import (DEFAULT_CHECKPOINT, DEFAULT_SAMPLING,
                                                           PLUGIN, VERSION, load_scenario_model)
from obspy_gen.plugins.timesnet_gen.scenario.train import ScenarioTrainSettings
from obspy_gen.torchkit import CheckpointModelPlugin

CHANNELS = ("HNN", "HNE", "HNZ")
#: Depth (km) of a request that gives none (the middle of the simulator's default range).
DEFAULT_DEPTH = 10.0
OPTION_DEFAULTS = {"checkpoint": None, "k": None, "own_records": False, "noise_scale": None,
                   "amplitude_scatter": None, "baseline": "quadratic", "trim": True,
                   "psa_correction": True, "site_scatter": None,
                   "starttime": None, "network": None, "location": None}


class ScenarioTimesNetGenGenerator(CheckpointModelPlugin, Generator):
    """TimesNet-Gen conditioned on a scenario: magnitude, distance, depth and Vs30.

    The network is TimesNet-Gen with the standardised features ``[M, ln R_hyp, ln depth,
    ln Vs30]`` injected into every TimesBlock like the paper's station code
    (:mod:`~obspy_gen.plugins.timesnet_gen.scenario.model`). A record is made of

    * a latent code drawn from the Gaussian of the PGA-aligned codes of the ``k`` training
      records whose scenarios (M, R, depth, Vs30) are nearest the requested one;
    * the code decoded with the requested features, re-standardised over the recorded span of
      the code's lead record and shaped by the sampler's spectral correction (calibrated on
      the training records at the end of training; see ``sampler``);
    * an amplitude (per-channel standard deviation) from the amplitude model: median from the
      scenario, plus the station's term when the checkpoint knows the station, and the
      training residual scatter (within-station; ``site_scatter="total"`` adds the
      between-station one for a new station);
    * the lnPSA correction (a zero-phase filter) learned on the training records: what the
      sampler's response spectra still get wrong on average, from the scenario, plus the
      station's shrunk term for a known station (``psa``);
    * the recorded span of the lead record and a baseline correction (zero final velocity).

    The shipped checkpoint ``timesnet-gen-scenario-synthetic`` was trained on SYNTHETIC
    records of the stochastic simulator (75 stations incl. the five ``paper5`` ones, M 4-7.5);
    it is a working example of the method, not a model of real ground motion.

    Conditions: ``magnitude`` (Mw), ``distance`` (km; ``distance_kind`` ``"epicentral"``,
    default, or ``"hypocentral"``), ``depth`` (km, default 10) and ``vs30`` (m/s; default the
    station's when the checkpoint knows it). Conditions outside the training labels' range
    are generated but warned about.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("torch")
    >>> gen = ScenarioTimesNetGenGenerator()
    >>> st = gen.generate(station="4628", magnitude=6.5, distance=20, n=2, seed=1)
    >>> len(st), st[0].stats.obspy_gen.magnitude, st[0].stats.obspy_gen.distance_kind
    (6, 6.5, 'epicentral')
    >>> gen.generate(station="4628", magnitude=6.5, distance=20, n=1, seed=1,
    ...              distance_kind="joyner_boore")
    Traceback (most recent call last):
    ...
    ValueError: timesnet-gen-scenario takes distance as epicentral or hypocentral, not 'joyner_boore'
    """

    name = PLUGIN
    version = VERSION
    requires = ("torch", "safetensors")
    conditions = ("magnitude", "distance", "depth", "vs30")
    distance_kinds = DISTANCE_KINDS
    options = OPTION_DEFAULTS
    default_checkpoint = DEFAULT_CHECKPOINT
    _load_model = staticmethod(load_scenario_model)
    TrainSettings = ScenarioTrainSettings

    @classmethod
    def train(cls, data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
        """Train a scenario-conditioned checkpoint on records with scenario labels.

        The hook behind ``obspy-gen train timesnet-gen-scenario``; see
        :func:`~obspy_gen.plugins.timesnet_gen.scenario.train.run_training`.
        """
        from obspy_gen.plugins.timesnet_gen.scenario.train import run_training
        return run_training(data, out, settings, device=device, resume=resume, log=log)

    def _checkpoint_content(self):
        from obspy_gen.io.checkpoints import load_checkpoint
        ck = load_checkpoint(self.load().path, plugin=PLUGIN)
        return dict(ck.tensors), dict(ck.config)

    def generate(self, records=None, *, station=None, n=1, seed=None, device=None,
                 **options):
        """Generate ``n`` 3-component records of a scenario.

        Parameters
        ----------
        records : None
            Not supported (the scenario, not records, conditions this model).
        station : str, optional
            Station code of the output; a station the checkpoint knows also gives its site
            term (amplitude) and its Vs30.
        n, seed, device
            As every generator (same seed, same records; record ``i`` does not depend on
            ``n``).
        **options
            ``magnitude`` (required), ``distance`` (required), ``distance_kind``, ``depth``,
            ``vs30`` (required for a station the checkpoint does not know); ``checkpoint``,
            ``k`` (nearest training records of the latent prior, default 8),
            ``noise_scale`` (of the prior's noise, default 1), ``amplitude_scatter``
            (multiplies the amplitude residual scatter, default 1; 0 = median amplitude),
            ``own_records`` (True: the latent prior from the known station's own records
            only; default False: measured worse, their magnitudes are too far apart),
            ``psa_correction`` (default True: the lnPSA correction learned on the training
            records, with the station's term for a known station and the Vs30 terms for a
            new one, see ``psa``; False: without it), ``site_scatter`` (amplitude scatter for
            a station the checkpoint does not know: ``"within"``, default, the
            record-to-record scatter of one site, as the simulator's records of one station
            scatter; ``"total"``: within + between stations, the records of any site with
            this Vs30), ``baseline`` (``"quadratic"``, default: zero final velocity;
            ``"highpass"``: also high-pass at the signal-to-noise corner -- it doubles the
            long-period spread; ``"none"``), ``trim`` (default True: the lead record's
            recorded span; False: the model's whole window), ``starttime``, ``network``,
            ``location``.

        Returns
        -------
        obspy.Stream
            Traces ``HNN, HNE, HNZ`` at 100 Hz in m/s**2, record by record, each with
            ``stats.obspy_gen`` (model, version, seed, record, synthetic, checkpoint,
            magnitude, distance, distance_kind, hypo_distance, depth, vs30, site_term,
            ln_std_median, spectral_correction, psa_correction, site_scatter, k,
            noise_scale, amplitude_scatter, baseline).
        """
        return super().generate(records, station=station, n=n, seed=seed, device=device,
                                **options)

    def generate_request(self, request):
        if request.records:
            raise ValueError(f"{PLUGIN} is conditioned on a scenario, not on records; give "
                             f"magnitude=, distance= (and vs30= for an unknown station)")
        opts, cond = request.options, request.conditions
        loaded = self.load(opts["checkpoint"], request.device)
        for key in ("magnitude", "distance"):
            if key not in cond:
                raise ValueError(f"{PLUGIN}: give {key}= (the scenario); conditions: "
                                 f"{', '.join(self.conditions)}")
        for key, value in cond.items():
            if isinstance(value, tuple):
                raise ValueError(f"{PLUGIN}: {key} must be one value, not a range {value}")
        code = request.station_code
        known = loaded.station_codes
        st_meta = loaded.stations[known.index(code)] if code in known else None
        vs30 = cond.get("vs30")
        if vs30 is None:
            if st_meta is None:
                raise ValueError(f"{PLUGIN}: give vs30= for station {code!r} (the checkpoint "
                                 f"knows the Vs30 of {', '.join(known[:8])}"
                                 f"{'...' if len(known) > 8 else ''})")
            vs30 = float(st_meta["vs30"])
        depth = float(cond.get("depth", DEFAULT_DEPTH))
        kind = request.distance_kind or self.distance_kinds[0]
        r_hyp = hypocentral(float(cond["distance"]), max(depth, 0.1), kind)
        raw = raw_features(cond["magnitude"], r_hyp, max(depth, 0.1), vs30)
        self._warn_range(loaded, {"magnitude": float(cond["magnitude"]),
                                  "hypo_distance": r_hyp, "depth": depth, "vs30": vs30})
        sampling = loaded.config.get("sampling") or {}
        k = int(opts["k"] if opts["k"] is not None else sampling.get("k", 8))
        noise_scale = float(opts["noise_scale"] if opts["noise_scale"] is not None
                            else sampling.get("noise_scale", 1.0))
        scatter = float(opts["amplitude_scatter"] if opts["amplitude_scatter"] is not None
                        else sampling.get("amplitude_scatter", 1.0))
        if k < 1 or noise_scale < 0 or scatter < 0:
            raise ValueError("k must be >= 1, noise_scale and amplitude_scatter >= 0")
        baseline = opts["baseline"] or "quadratic"
        if baseline not in BASELINES:
            raise ValueError(f"baseline={baseline!r} is not one of {', '.join(BASELINES)}")
        station_key = code if (st_meta is not None and code in
                               loaded.amplitude.station_terms) else None
        prior = self.prior(loaded, raw, code if st_meta is not None else None, k,
                           bool(opts["own_records"]))
        z = loaded.scaler(raw)
        ln_median = loaded.amplitude.predict(z[None], station_key)[0]
        correction = correction_for(loaded.config.get("calibration"), z)
        psa_cal = loaded.config.get("psa_calibration")
        psa_gain = None
        if psa_cal and opts["psa_correction"]:
            psa_gain = PsaCorrection.from_dict(psa_cal).gain(
                z, station_key if st_meta is not None else None, new=st_meta is None)
        site_scatter = opts["site_scatter"] or sampling.get("site_scatter",
                                                            DEFAULT_SAMPLING["site_scatter"])
        if site_scatter not in ("total", "within"):
            raise ValueError(f"site_scatter={site_scatter!r} is not one of total, within")
        arch = loaded.arch
        fs = float(arch.sampling_rate)
        slot = math.ceil(arch.seq_len / fs / 60.0 + 1.0) * 60.0
        meta = dict(checkpoint=loaded.name, magnitude=float(cond["magnitude"]),
                    distance=float(cond["distance"]), distance_kind=kind,
                    hypo_distance=round(r_hyp, 3), depth=depth, vs30=float(vs30),
                    site_term=station_key is not None, k=k, noise_scale=noise_scale,
                    amplitude_scatter=scatter, baseline=baseline,
                    spectral_correction=correction is not None,
                    psa_correction=psa_gain is not None, site_scatter=site_scatter,
                    ln_std_median=[round(float(v), 4) for v in ln_median])
        recs = []
        for i in range(request.n):
            rng = record_rng(request.seed, i)
            data, corner = scenario_record(
                loaded.model, prior, z, loaded.amplitude, rng, station=station_key,
                scatter=scatter, noise_scale=noise_scale, correction=correction,
                psa_gain=psa_gain, fs=fs, trim=bool(opts["trim"]), baseline=baseline,
                site_scatter=site_scatter)
            recs.append(GeneratedRecord(data, fs, {**meta, "highpass": corner}))
        net = opts["network"] or (st_meta or {}).get("network") or "SY"
        loc = opts["location"] if opts["location"] is not None else (
            (st_meta or {}).get("location") or "")
        return build_stream(recs, model=PLUGIN, version=VERSION, seed=request.seed,
                            station=code or "SCEN", network=net, location=loc,
                            starttime=opts["starttime"] or "2000-01-01T00:00:00", slot=slot,
                            channels=CHANNELS, units="m/s**2", dtype=np.float32)

    @staticmethod
    def prior(loaded, raw, station=None, k=8, own=False) -> LatentPool:
        """The latent pool of the ``k`` training records nearest the scenario ``raw``.

        Nearness: Euclidean in the standardised features (magnitude and distance count
        double). A station the checkpoint knows draws from its own records; otherwise every
        record is a candidate.

        Examples
        --------
        >>> import pytest
        >>> _ = pytest.importorskip("torch")
        >>> from obspy_gen.plugins.timesnet_gen.scenario.features import raw_features
        >>> loaded = ScenarioTimesNetGenGenerator().load()
        >>> p = ScenarioTimesNetGenGenerator.prior(loaded, raw_features(6, 20, 10, 400), k=5)
        >>> p.n_records
        5
        """
        if not loaded.pool:
            raise ValueError(f"{loaded.name}: no latent source (training unfinished?)")
        index = loaded.station_codes.index(station) if station is not None else None
        return prior_pool(loaded.pool, loaded.scaler, raw, loaded.arch.latent_stride, k,
                          index, own)

    @staticmethod
    def _warn_range(loaded, values):
        ranges = loaded.config.get("label_ranges") or {}
        out = [f"{k}={v:g} outside {lo:g}-{hi:g}" for k, v in values.items()
               for lo, hi in [ranges.get(k) or (-np.inf, np.inf)] if not lo <= v <= hi]
        if out:
            warnings.warn(f"{loaded.name}: {'; '.join(out)} (the training labels' range): "
                          f"extrapolated, check the records", stacklevel=3)

__all__ = ["ScenarioTimesNetGenGenerator", "CHANNELS", "DEFAULT_DEPTH"]

"""The ``timesnet-gen`` generator plugin: ``Stream.generate(station="4628", n=50)``."""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from obspy import Stream, UTCDateTime

from obspy_gen.io.checkpoints import CheckpointError
from obspy_gen.api import (GeneratedRecord, Generator, StationId, build_stream,
                           reconstruction_stream)
from obspy_gen.plugins.timesnet_gen.baseline import BASELINES, process
from obspy_gen.plugins.timesnet_gen.calibration import (apply_band_gain, band_log_amplitude,
                                                        shape_bands)
from obspy_gen.plugins.timesnet_gen.coherence import restore_coherence
from obspy_gen.plugins.timesnet_gen.hv_shape import TOP as HV_SHAPE_TOP, restore_hv_shape
from obspy_gen.plugins.timesnet_gen.ripple import restore_hv_ripple
from obspy_gen.plugins.timesnet_gen.sampling import (ANCHORS, MIN_POOL, N_MIX, NOISE_KINDS,
                                                     SAMPLING_KINDS, SMALL_POOL, WEIGHT_KINDS,
                                                     LatentPool, check_sampling_args,
                                                     envelope_band, quiet_before,
                                                     record_rng, shape_envelope)
from obspy_gen.plugins.timesnet_gen.store import (DEFAULT_CHECKPOINT, PLUGIN, VERSION,
                                                  load_model)
from obspy_gen.plugins.timesnet_gen.train import TimesNetGenTrainSettings
from obspy_gen.torchkit import CheckpointModelPlugin
from obspy_gen.torchkit.base import clear_loaded

#: Channel codes of generated records (accelerometer, N/E/Z), in output order.
CHANNELS = ("HNN", "HNE", "HNZ")
#: Start of the first generated record unless ``starttime`` is given (fixed, so that the same
#: seed gives byte-identical files).
DEFAULT_START = UTCDateTime(2000, 1, 1)
#: Options ``generate`` accepts beyond the base signature, with their defaults (None for
#: ``n_mix``, ``noise_scale``, ``noise``, ``sampling``: the checkpoint's ``sampling`` entry).
OPTION_DEFAULTS = {"checkpoint": None, "n_mix": None, "noise_scale": None, "starttime": None,
                   "network": None, "location": None, "noise": None, "batch_size": None,
                   "sampling": None, "baseline": None, "anchor": "pga", "trim": True,
                   "fidelity_floor": True, "timing_tolerance": None,
                   "seam_energy": None, "calibrate": None, "envelope": None,
                   "weights": None, "jitter": None, "band_shape": None, "coherence": None,
                   "p_envelope": None, "pre_event": None, "hv_shape": None,
                   "hv_ripple": None}
OPTIONS = tuple(OPTION_DEFAULTS)
#: Sampler of checkpoints that do not name one (made before aligned sampling existed).
LEGACY_SAMPLING = {"n_mix": N_MIX, "noise_scale": 1.0, "noise": "covariance",
                   "sampling": "mix"}


def _centre(loaded) -> str:
    """Where the checkpoint's training windows were centred (older ones: the record's middle)."""
    return (loaded.config.get("normalisation") or {}).get("centre") or "record"


class TimesNetGenGenerator(CheckpointModelPlugin, Generator):
    """TimesNet-Gen: station-conditioned strong-motion generation (Yilmaz et al.).

    ``generate(station="4628", n=50)`` draws records of a station the checkpoint knows
    (its latent pool, Eq. 1 of the paper); ``generate(records, n=50)`` is zero-shot: the
    records' own latent codes, encoded by the unconditioned network, form the pool.

    The shipped default checkpoint ``timesnet-gen-synthetic`` was trained on SYNTHETIC
    records of the stochastic simulator (pre-trained on a multi-station corpus, fine-tuned on
    the five ``paper5`` virtual stations 2020, 4628, 0205, 1716, 3130); it is a working
    example of the method, not a model of the real AFAD stations.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("torch")
    >>> gen = TimesNetGenGenerator()
    >>> st = gen.generate(station="4628", n=2, seed=1)
    >>> len(st), st[0].id, st[0].stats.sampling_rate
    (6, 'SY.4628.00.HNN', 100.0)
    >>> st[3].stats.obspy_gen.record, st[3].stats.starttime > st[2].stats.endtime
    (1, True)
    """

    name = PLUGIN
    version = VERSION
    requires = ("torch", "safetensors")
    #: Conditioned on a station (its latent pool); no scenario conditions.
    conditions = ()
    options = OPTION_DEFAULTS
    checkpoint_package = "obspy_gen.plugins.timesnet_gen"
    default_checkpoint = DEFAULT_CHECKPOINT
    _load_model = staticmethod(load_model)

    #: Settings of :meth:`train` (each field is an ``obspy-gen train timesnet-gen`` flag).
    TrainSettings = TimesNetGenTrainSettings

    @classmethod
    def train(cls, data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
        """Train a checkpoint: phase 1 (pretrain) or phase 2 (finetune) of the paper.

        The training hook behind ``obspy-gen train timesnet-gen``; see
        :func:`~obspy_gen.plugins.timesnet_gen.train.run_training`. Works under ``torchrun``
        (DistributedDataParallel).
        """
        from obspy_gen.plugins.timesnet_gen.train import run_training
        return run_training(data, out, settings, device=device, resume=resume, log=log)

    def _checkpoint_content(self):
        from obspy_gen.torchkit.base import state_dict_numpy
        loaded = self.load()
        tensors = state_dict_numpy(loaded.model, "model.")
        from obspy_gen.io.checkpoints import load_checkpoint
        ck = load_checkpoint(loaded.path, plugin=PLUGIN)
        tensors.update({k: v for k, v in ck.tensors.items() if k.startswith("pool.")})
        return tensors, {k: v for k, v in ck.config.items()}

    # -- loading ---------------------------------------------------------------------------
    def _zero_shot_model(self, loaded, device):
        if not loaded.arch.conditioned:
            return loaded
        base = loaded.config.get("base_checkpoint")
        if not base:
            raise CheckpointError(f"{loaded.path}: station-conditioned checkpoint without an "
                                  f"unconditioned base for zero-shot generation; pass "
                                  f"checkpoint=<an unconditioned checkpoint>")
        sibling = loaded.path.with_name(base)
        target = sibling if sibling.with_name(base + ".json").is_file() else base
        unconditioned = self.load(target, device)
        crossover = loaded.arch.crossover
        if crossover and unconditioned.arch.crossover != crossover:
            # The fine-tuned network's linear low band has no weights: the unconditioned base
            # takes the same crossover, so zero-shot records are not demodulated either.
            # Built once per loaded base (a reloaded checkpoint is a new object).
            cache = self.__dict__.setdefault("_with_crossover", {})
            base_seen, derived = cache.get(crossover, (None, None))
            if base_seen is not unconditioned:
                net = unconditioned.model.with_crossover(crossover).eval()
                derived = dataclasses.replace(unconditioned, model=net, arch=net.config)
                cache[crossover] = (unconditioned, derived)
            return derived
        return unconditioned

    # -- generation ------------------------------------------------------------------------
    def generate(self, records=None, *, station=None, n=1, seed=None, device=None,
                 checkpoint=None, n_mix=None, noise_scale=None, **options) -> Stream:
        """Generate ``n`` 3-component records of one station.

        Parameters
        ----------
        records : Stream or list of Stream, optional
            Zero-shot pool: records of ONE station (at least 3); their codes under the
            unconditioned network form the pool. ``None``: use the checkpoint's pool of
            ``station``.
        station : str, optional
            Station code (required without ``records``; with records it picks one station
            out of several, or renames the output).
        n : int
            Number of records.
        seed : int, optional
            Same seed, same records (record ``i`` does not depend on ``n``); ``None`` draws
            one and records it in ``stats.obspy_gen.seed``.
        device : str, optional
            ``"cuda"``, ``"cpu"``... (default CUDA when available).
        checkpoint : str, optional
            Shipped name or path (default ``timesnet-gen-synthetic``).
        n_mix : int, optional
            Latent codes averaged per record (the paper's N = 5; default: the checkpoint's).
        noise_scale : float, optional
            Multiplies the Gaussian noise of Eq. 1 (station latent std); 0 = the authors'
            public script (no noise); default: the checkpoint's.
        **options
            ``starttime`` (UTCDateTime of the first record, default 2000-01-01),
            ``network``/``location`` (codes of the output), ``noise`` (``"covariance"``,
            default, or ``"diagonal"``: the Gaussian of Eq. 1), ``sampling`` (``"mix"``,
            ``"aligned"``, ``"prior"`` or ``"local"``; default: the checkpoint's, else
            ``"mix"``), see :mod:`~obspy_gen.plugins.timesnet_gen.sampling`), ``anchor``
            (``"pga"`` or
            ``"p"``: what zero-shot pools are aligned on), ``trim`` (default True: with
            ``sampling="aligned"``/``"prior"`` a record spans the recorded part of the pool
            record whose timing it has -- its window's zero padding is cut; False: always
            ``seq_len`` samples), ``baseline`` (default: the checkpoint's, ``"floor"`` for
            the shipped one: high-pass at the station's fidelity corner, then zero final
            velocity; ``"highpass"``, the default of checkpoints that name none: high-pass at
            the corner where the signal-to-noise ratio against the record's pre-event part
            falls below 3, or at the fidelity corner when higher, then zero final velocity;
            ``"quadratic"``: the velocity baseline only; ``"none"``: the decoder's output;
            see :mod:`~obspy_gen.plugins.timesnet_gen.baseline`),
            ``fidelity_floor`` (default True; False: the signal-to-noise corner alone, as
            before the pools stored fidelity corners), ``timing_tolerance`` (seconds;
            ``sampling="prior"`` combines only the pool records whose P-to-PGA time is within
            it of the lead record's: cleaner onsets and durations, closer to mixes of
            training records; default None: all records), ``seam_energy`` (join the low band
            and the decoder's band at the crossover with the energy of in-phase bands),
            ``calibrate`` (divide the station's decoder band gain out,
            :mod:`~obspy_gen.plugins.timesnet_gen.calibration`), ``envelope`` (``"prior"``/
            ``"aligned"``: the band above the crossover takes the log-mean envelope of the
            station's aligned records, :func:`~.sampling.shape_envelope`), ``band_shape``
            (``"prior"``/``"aligned"``: the decoder's band, from 5 Hz, takes per channel and
            third octave the same combination of the station's records' band amplitudes as the
            code, :func:`~.calibration.shape_bands`), ``coherence`` (the vertical's coherence
            with the horizontals is made the station records' median,
            :mod:`~obspy_gen.plugins.timesnet_gen.coherence`), ``p_envelope`` (with
            ``envelope``: before the PGA the vertical's envelope also follows the records
            aligned on their P arrivals, so it keeps its P wave, its band amplitudes kept; see
            :meth:`~.sampling.LatentPool.draw`), ``pre_event`` (before the P arrival of the
            record whose timing it takes, the new record is brought down to that record's
            pre-event noise level, :func:`~.sampling.quiet_before`, so that P pickers find its
            onset; see :doc:`/generate`), ``hv_shape`` (after ``coherence``: the broad shape
            of the record's H/V ratio, 0.5 to 2.5 x the crossover, is made from the records
            nearest the one whose timing it takes, by a gain on the vertical,
            :mod:`~obspy_gen.plugins.timesnet_gen.hv_shape`; not for ``"mix"``, which has
            no such record), ``hv_ripple`` (after ``hv_shape``: the fine ripple
            of the record's H/V ratio at 1-8 Hz is given the level of the record whose timing
            it takes -- the station's median for ``"mix"`` -- by a gain on the vertical,
            :mod:`~obspy_gen.plugins.timesnet_gen.ripple`) -- each
            True/False, default: the checkpoint's (shipped one: all but ``calibrate``,
            ``p_envelope`` and ``pre_event``), else False;
            ``weights``
            (``"gaussian"`` or ``"sign"``: the prior's combination weights, see
            :meth:`~.sampling.LatentPool.draw`; default: the checkpoint's, else
            ``"gaussian"``), ``jitter`` (seconds: random lags of the records' deviations in
            the decoder's band; default: the checkpoint's, 0.1 for the shipped one, else 0);
            ``batch_size`` (ignored: records are decoded one by one so that a record never
            depends on its batch).

        Returns
        -------
        obspy.Stream
            ``n`` records, traces ``HNN, HNE, HNZ`` (100 Hz, ``stats.units = "m/s**2"``),
            ordered record by record, record ``i`` starting after record ``i - 1`` ends, each
            trace with ``stats.obspy_gen`` (model, version, seed, record, synthetic,
            checkpoint, station_pool, n_mix, noise_scale, the sampling and processing
            options, ``highpass``, and ``p_arrival``: with ``pre_event``, where the record's P
            wave starts, seconds after its first sample -- the P pick of the record whose
            timing it takes, before which it was made quiet; else None).

        Raises
        ------
        ValueError
            Unknown station (the message lists the known ones), no station, too few pool
            records, several stations in ``records``, bad ``n``/``n_mix``/``noise_scale``.
        """
        return super().generate(records, station=station, n=n, seed=seed, device=device,
                                checkpoint=checkpoint, n_mix=n_mix, noise_scale=noise_scale,
                                **options)

    def generate_request(self, request) -> Stream:
        """Generate the records of a validated :class:`~obspy_gen.api.GenerationRequest`."""
        import torch

        opts = request.options
        n, seed, device, station = request.n, request.seed, request.device, request.station
        loaded = self.load(opts["checkpoint"], device)
        # The checkpoint's "sampling" entry: the default of every sampling and processing option.
        named = loaded.config.get("sampling") or {}
        defaults = {**LEGACY_SAMPLING, **named}
        pick = {k: defaults[k] if opts.get(k) is None else opts[k] for k in LEGACY_SAMPLING}
        n_mix, noise_scale = check_sampling_args(pick["n_mix"], pick["noise_scale"])
        noise, sampling = pick["noise"], pick["sampling"]
        if noise not in NOISE_KINDS:
            raise ValueError(f"noise={noise!r} is not one of {', '.join(NOISE_KINDS)}")
        if sampling not in SAMPLING_KINDS:
            raise ValueError(f"sampling={sampling!r} is not one of "
                             f"{', '.join(SAMPLING_KINDS)}")
        # The checkpoint's processing (its "sampling" entry; "floor" for checkpoints trained
        # since 2026-12-02), else "highpass" (what older checkpoints were measured with).
        baseline = opts["baseline"] or named.get("baseline") or "highpass"
        if baseline not in BASELINES:
            raise ValueError(f"baseline={baseline!r} is not one of {', '.join(BASELINES)}")
        # The checkpoint's (True for the shipped one), else False (what older checkpoints were
        # measured with).
        flags = {}
        for name in ("seam_energy", "calibrate", "envelope", "band_shape", "coherence",
                     "p_envelope", "pre_event", "hv_shape", "hv_ripple"):
            value = named.get(name, False) if opts[name] is None else opts[name]
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {value!r}")
            flags[name] = bool(value)
        weights = opts["weights"] or named.get("weights") or "gaussian"
        if weights not in WEIGHT_KINDS:
            raise ValueError(f"weights={weights!r} is not one of {', '.join(WEIGHT_KINDS)}")
        jitter = named.get("jitter", 0.0) if opts["jitter"] is None else opts["jitter"]
        try:
            jitter = float(jitter)
        except (TypeError, ValueError):
            jitter = float("nan")
        if not (np.isfinite(jitter) and jitter >= 0):
            raise ValueError(f"jitter must be a number of seconds >= 0, got {opts['jitter']!r}")
        anchor = opts["anchor"] or "pga"
        if anchor not in ANCHORS:
            raise ValueError(f"anchor={anchor!r} is not one of {', '.join(ANCHORS)}")
        trim = bool(opts["trim"])
        timing = opts["timing_tolerance"]
        if timing is not None:
            try:
                timing = float(timing)
            except (TypeError, ValueError):
                timing = float("nan")
            if not (np.isfinite(timing) and timing > 0):
                raise ValueError(f"timing_tolerance must be a positive number of seconds, "
                                 f"got {opts['timing_tolerance']!r}")
        if request.records:
            model = self._zero_shot_model(loaded, device if device is not None
                                          else self._device)
            pool = self._zero_shot_pool(model, request.records, station, anchor)
            label, mode = None, "zero-shot"
        else:
            model = loaded
            if not loaded.arch.conditioned:
                raise ValueError(f"{loaded.name} is unconditioned: give records of the "
                                 f"station (zero-shot pool) instead of a station code")
            pool, label = self._station_pool(loaded, station)
            mode = "conditioned"
        # Asked for explicitly, a step the pool has no measurements for is an error; as the
        # checkpoint's default it is quietly left out.
        for name, have, what in (("calibrate", pool.band_ratio, "band ratios"),
                                 ("coherence", pool.coherence, "coherences"),
                                 ("band_shape", pool.log_band, "band amplitudes"),
                                 ("pre_event", pool.noise_level, "pre-event noise levels"),
                                 ("hv_shape", pool.has_low_band or None,
                                  "three-channel low-band codes"),
                                 ("hv_ripple", pool.has_low_band or None,
                                  "three-channel low-band codes")):
            if opts[name] and have is None:
                raise ValueError(f"{name}=True: the pool of station {pool.station} has no "
                                 f"{what}; re-pool the checkpoint (train.repool)")
        gain = pool.decoder_gain if flags["calibrate"] else None
        coherence = pool.coherence_target if flags["coherence"] else None
        ripple = flags["hv_ripple"] and pool.hv_ripple_levels is not None
        # The broad H/V is made near the record whose timing the new one has ("mix": none).
        shape = flags["hv_shape"] and sampling != "mix" and pool.hv_curves is not None
        arch = model.arch
        fs = float(arch.sampling_rate)
        # Records never touch: a gap of a whole minute keeps Stream.merge from joining them.
        slot = math.ceil(arch.seq_len / fs / 60.0 + 1.0) * 60.0
        network = opts["network"] or pool.network or "SY"
        location = (opts["location"] if opts["location"] is not None else pool.location) or ""
        # The pool knows its bare station code; `station` may be given as NET.STA(.LOC).
        code = pool.station or request.station_code
        dev = model.device
        st_tensor = None if label is None else torch.tensor([label], device=dev)
        # What each record gets, not only what was asked: the envelope, band amplitudes and
        # pre-event level follow one lead record, which "mix"/"local" sampling has not.
        timed = sampling in ("prior", "aligned")
        envelope_on = flags["envelope"] and timed and pool.log_envelope is not None
        meta = dict(checkpoint=model.name, station_pool=mode, n_mix=n_mix,
                    noise_scale=noise_scale, noise=noise, sampling=sampling, baseline=baseline,
                    seam_energy=flags["seam_energy"], calibrate=gain is not None,
                    envelope=envelope_on, weights=weights, jitter=jitter,
                    band_shape=flags["band_shape"] and timed and pool.log_band is not None,
                    coherence=coherence is not None, hv_shape=shape, hv_ripple=ripple,
                    p_envelope=flags["p_envelope"] and envelope_on and pool.p_arrival is not None,
                    pre_event=flags["pre_event"] and timed and pool.noise_level is not None)
        if timing is not None:
            meta["timing_tolerance"] = timing
        # The station's fidelity corner: below it a decoded record is the model's error.
        floor = pool.highpass_floor if opts["fidelity_floor"] else None
        recs = []
        with torch.no_grad():
            for i in range(n):
                rng = record_rng(seed, i)
                z, mean, std, lead, envelope, bands = pool.draw(
                    rng, n_mix, noise_scale, noise, sampling, return_lead=True,
                    timing_tolerance=timing, return_envelope=True, weights=weights,
                    jitter=jitter, return_bands=True, p_envelope=flags["p_envelope"])
                y = model.model.decode(torch.from_numpy(z[None]).to(dev),
                                       torch.tensor(mean[None], dtype=torch.float32,
                                                    device=dev),
                                       torch.tensor(std[None], dtype=torch.float32,
                                                    device=dev), st_tensor,
                                       seam_energy=flags["seam_energy"])
                data = y[0].float().cpu().numpy()
                # The recorded span of the record whose timing this one has: outside it the
                # training windows were zero padding, not ground motion.
                span = (None if lead is None or pool.extent is None or not trim
                        else tuple(int(v) for v in pool.extent[lead]))
                if flags["band_shape"] and bands is not None:
                    # Before the envelope: the band amplitudes say how the energy is spread
                    # in frequency, the envelope when it comes (shaped after the envelope,
                    # the records' D5-95 came out 0.03-0.05 ln longer).
                    data = shape_bands(data, bands, 1.0 / fs, unit=std[:2].mean(), span=span)
                if flags["envelope"] and envelope is not None:
                    data = _shape_envelope(data, envelope, std, fs, envelope_band(arch.crossover),
                                           arch.latent_stride, span)
                if span is not None:
                    data = data[:, span[0]:span[1]]
                if gain is not None:
                    data = apply_band_gain(data, gain, 1.0 / fs)
                if coherence is not None:
                    data = restore_coherence(data, coherence, 1.0 / fs)
                if shape:
                    # After the coherence step, which rescales the vertical band by band; the
                    # signs of the combination continue the record's random stream.
                    data = restore_hv_shape(data, pool.hv_shape_target(lead, rng), 1.0 / fs,
                                            pool.ripple_fmax, ftop=HV_SHAPE_TOP * pool.crossover)
                if ripple:
                    # After the coherence step (how much of the vertical the horizontals
                    # explain per third octave) and the shape step (the curve at 0.2 octave
                    # and wider); this sets the finer detail.
                    data = restore_hv_ripple(data, pool.hv_ripple_target(lead), 1.0 / fs,
                                             pool.ripple_fmax, pool.hv_reference)
                quiet = pool.pre_event(lead) if flags["pre_event"] and lead is not None else None
                p_arrival = None
                if quiet is not None:
                    # Last before the processing: the coherence step mixes the horizontals
                    # into the vertical, and what they had before the P with them.
                    p_index = quiet[0] - (0 if span is None else span[0])
                    data = quiet_before(data, p_index, quiet[1], fs)
                    p_arrival = round(float(p_index) / fs, 3)
                data, corner = process(data, 1.0 / fs, baseline, floor)
                recs.append(GeneratedRecord(data, fs, {**meta, "highpass": corner,
                                                       "p_arrival": p_arrival}))
        return build_stream(recs, model=PLUGIN, version=VERSION, seed=seed, station=code,
                            network=network, location=location,
                            starttime=opts["starttime"] or DEFAULT_START, slot=slot,
                            channels=CHANNELS, units=pool.units, dtype=np.float32)

    def _station_pool(self, loaded, station):
        known = loaded.station_codes
        if station is None:
            raise ValueError(f"give station=<code> (known to {loaded.name}: "
                             f"{', '.join(known)}) or records for a zero-shot pool")
        code = StationId.parse(station).code
        if code not in known:
            raise ValueError(f"unknown station {str(station)!r} for {loaded.name}; known: "
                             f"{', '.join(known)} (or pass its records for zero-shot "
                             f"generation)")
        if code not in loaded.pools:
            raise CheckpointError(f"{loaded.path}: no latent pool for station {code} "
                                  f"(training unfinished?)")
        return loaded.pools[code], known.index(code)

    def _zero_shot_pool(self, loaded, records, station, anchor="pga") -> LatentPool:
        import torch

        from obspy_gen.io.dataset import preprocess
        key, recs = self.station_records(records, station)
        if len(recs) < MIN_POOL:
            raise ValueError(f"zero-shot generation needs at least {MIN_POOL} records of the "
                             f"station for its pool, got {len(recs)}")
        if len(recs) < SMALL_POOL:
            warnings.warn(f"{key}: a zero-shot pool of {len(recs)} records; below {SMALL_POOL} "
                          f"the generated records resemble the pool's more than the site's "
                          f"other records do (give more records of the station)")
        arch = loaded.arch
        fs, seq_len = float(arch.sampling_rate), arch.seq_len
        rates = sorted({tr.stats.sampling_rate for r in recs for tr in r} - {fs})
        if rates:
            warnings.warn(f"{key}: records at {', '.join(f'{r:g}' for r in rates)} Hz "
                          f"resampled to {fs:g} Hz for {loaded.name}")
        from obspy_gen.plugins.timesnet_gen.train import pool_columns, pool_record
        codes, means, stds, short, entries = [], [], [], [], []
        label = None
        dev = loaded.device
        with torch.no_grad():
            for rec in recs:
                npts = min(int(round((tr.stats.npts - 1) * fs / tr.stats.sampling_rate)) + 1
                           for tr in rec)
                if npts < seq_len:
                    short.append(npts / fs)
                data, mean, std = preprocess(rec, seq_len, fs, _centre(loaded))
                z, _, _ = loaded.model.encode(
                    torch.from_numpy(data[None]).to(dev), label,
                    torch.tensor(mean[None], dtype=torch.float32, device=dev),
                    torch.tensor(std[None], dtype=torch.float32, device=dev))
                codes.append(z[0].float().cpu().numpy())
                entries.append(pool_record(loaded.model, z, label, data, mean, std, anchor))
                means.append(mean)
                stds.append(std)
        if short:  # one warning per pool, not one per record
            warnings.warn(f"{key}: {len(short)} of {len(recs)} records shorter than the "
                          f"model's {seq_len / fs:.1f} s (shortest {min(short):.1f} s); "
                          f"zero-padded")
        first = recs[0][0].stats
        units = {r[0].stats.get("units") for r in recs} - {None}
        return LatentPool(first.station, np.stack(codes), np.stack(means), np.stack(stds),
                          network=first.network or "SY", location=first.location,
                          units=units.pop() if len(units) == 1 else "m/s**2",
                          anchor=anchor, **pool_columns(loaded.model, entries))

    def reconstruct(self, records, *, station=None, device=None, checkpoint=None) -> Stream:
        """Records passed through encoder and decoder (the paper's "reconstructed" group).

        With a conditioned checkpoint the records' station must be one it knows (or named by
        ``station``); otherwise the unconditioned base is used.

        Examples
        --------
        >>> import pytest
        >>> _ = pytest.importorskip("torch")
        >>> gen = TimesNetGenGenerator()
        >>> st = gen.generate(station="3130", n=1, seed=0)
        >>> len(gen.reconstruct(st))
        3
        """
        import torch

        from obspy_gen.core.records import split_records
        from obspy_gen.io.dataset import preprocess
        loaded = self.load(checkpoint, device)
        out = Stream()
        for k, rec in enumerate(split_records(records)):
            code = station or rec[0].stats.station
            model, label = loaded, None
            if loaded.arch.conditioned:
                if code in loaded.station_codes:
                    label = torch.tensor([loaded.station_codes.index(code)],
                                         device=loaded.device)
                else:
                    model = self._zero_shot_model(loaded, device if device is not None
                                                  else self._device)
            arch = model.arch
            data, mean, std, lead = preprocess(rec, arch.seq_len, float(arch.sampling_rate),
                                               _centre(model), return_start=True)
            with torch.no_grad():
                dev = model.device
                y = model.model(torch.from_numpy(data[None]).to(dev), label,
                                torch.tensor(mean[None], dtype=torch.float32, device=dev),
                                torch.tensor(std[None], dtype=torch.float32, device=dev))
            # Back onto the original's time axis: the model's window, without the zero padding
            # a short record got (so reconstructions overlap nothing the originals did not).
            out += reconstruction_stream(rec, y[0].float().cpu().numpy(), lead,
                                         sampling_rate=float(arch.sampling_rate),
                                         model=PLUGIN, version=VERSION,
                                         index=k, checkpoint=model.name, station=code)
        return out


def _shape_envelope(data, envelope, std, fs, above, stride, span):
    """The envelope step of :meth:`TimesNetGenGenerator.generate_request`: ``envelope`` (L,)
    for every channel, or (2, L) from ``p_envelope`` (all channels; the vertical's, with its
    P wave): then the horizontals take the first as always and the vertical the second, with
    its band amplitudes (third octaves, in ``span``) put back to what the first gives it --
    the P wave moves the vertical's energy in time, not its level (a vertical envelope that
    added energy moved ln H/V at 8-16 Hz by 0.2-0.4)."""
    if np.ndim(envelope) == 1:
        return shape_envelope(data, envelope, std, fs, above, stride)
    common = shape_envelope(data, envelope[0], std, fs, above, stride)
    vertical = shape_envelope(data, envelope[[0, 0, 1]], std, fs, above, stride)[2:3]
    unit = max(float(np.asarray(std)[:2].mean()), 1e-300)
    part = common[2:3] if span is None else common[2:3, span[0]:span[1]]
    common[2:3] = shape_bands(vertical, band_log_amplitude(part / unit, 1.0 / fs), 1.0 / fs,
                              unit=unit, above=0.0, span=span)
    return common


def clear_cache() -> None:
    """Forget loaded checkpoints (e.g. after replacing one in place within a second).

    Examples
    --------
    >>> clear_cache()
    """
    clear_loaded()


__all__ = ["TimesNetGenGenerator", "CHANNELS", "clear_cache"]

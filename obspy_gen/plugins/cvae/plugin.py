"""The ``cvae`` generator plugin: ``Stream.generate(station="4628", n=50, model="cvae")``."""
from __future__ import annotations

import math
import warnings

import numpy as np
from obspy import Stream, UTCDateTime

from obspy_gen.api import (CHANNELS, GeneratedRecord, Generator, StationId, build_stream,
                           reconstruction_stream, record_rng)
from obspy_gen.plugins.cvae.store import DEFAULT_CHECKPOINT, PLUGIN, VERSION, load_model
from obspy_gen.plugins.cvae.train import CVAETrainSettings
from obspy_gen.torchkit import CheckpointModelPlugin
from obspy_gen.torchkit.base import clear_loaded

#: Start of the first generated record unless ``starttime`` is given.
DEFAULT_START = UTCDateTime(2000, 1, 1)
#: Fewest records of a station for zero-shot generation.
MIN_POOL = 3
#: Options ``generate`` accepts beyond the base signature, with their defaults.
OPTION_DEFAULTS = {"checkpoint": None, "temperature": 1.0, "starttime": None, "network": None,
                   "location": None}
OPTIONS = tuple(OPTION_DEFAULTS)


class CVAEGenerator(CheckpointModelPlugin, Generator):
    """Conditional VAE on STFT images (the TimesNet-Gen paper's baseline).

    ``generate(station="4628", n=50)`` samples the station's prior N(tiled one-hot, I) and
    decodes it (dB amplitude and unwrapped phase images, inverse STFT);
    ``generate(records, n=50)`` samples the posteriors of the given records of one station
    instead (zero-shot: a record is drawn, then a code from its posterior).

    The shipped default ``cvae-synthetic`` was trained on the same SYNTHETIC records as
    ``timesnet-gen-synthetic`` (pre-trained on the simulator's multi-station corpus,
    fine-tuned on the five ``paper5`` virtual stations 2020, 4628, 0205, 1716, 3130): a
    working example of the baseline, not a model of the real AFAD stations.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("torch")
    >>> st = CVAEGenerator().generate(station="4628", n=2, seed=1)
    >>> len(st), st[0].id, st[0].stats.sampling_rate, st[0].stats.units
    (6, 'SY.4628.00.HNN', 100.0, 'm/s**2')
    >>> st[3].stats.obspy_gen.record, st[3].stats.starttime > st[2].stats.endtime
    (1, True)
    """

    name = PLUGIN
    version = VERSION
    requires = ("torch", "safetensors")
    #: Conditioned on a station (its prior); no scenario conditions.
    conditions = ()
    options = OPTION_DEFAULTS
    checkpoint_package = "obspy_gen.plugins.cvae"
    default_checkpoint = DEFAULT_CHECKPOINT
    _load_model = staticmethod(load_model)
    #: The training settings (``obspy-gen train cvae`` builds its flags from them).
    TrainSettings = CVAETrainSettings

    def _checkpoint_content(self):
        from obspy_gen.torchkit.base import state_dict_numpy
        loaded = self.load()
        return state_dict_numpy(loaded.model, "model."), dict(loaded.config)

    @classmethod
    def train(cls, data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
        """Train a CVAE checkpoint: pretrain (unconditioned) or finetune (station priors, then
        DEC clustering).

        The training hook behind ``obspy-gen train cvae`` (see
        :func:`obspy_gen.plugins.cvae.train.train`); ``log`` receives the epoch lines
        (``None``: quiet, no progress bars).

        Examples
        --------
        >>> CVAEGenerator.train(None, "x", CVAEGenerator.TrainSettings(phase="finetune",
        ...                     init="surely-not-there"))
        Traceback (most recent call last):
        ...
        obspy_gen.io.checkpoints.CheckpointError: surely-not-there: no such checkpoint (not shipped: cvae-synthetic, cvae-synthetic-pretrain; not a file either)
        """
        from obspy_gen.plugins.cvae.train import train
        return train(data, out, settings, device=device, resume=resume,
                     log=log if log is not None else (lambda line: None), quiet=log is None)

    def generate(self, records=None, *, station=None, n=1, seed=None, device=None,
                 checkpoint=None, temperature=1.0, **options) -> Stream:
        """Generate ``n`` 3-component records of one station.

        Parameters
        ----------
        records : Stream or list of Stream, optional
            Zero-shot: records of ONE station (at least 3); codes are drawn from their
            posteriors. ``None``: sample the checkpoint's prior of ``station``.
        station : str, optional
            Station code (``"4628"``, ``"TK.4628"``...); required without ``records``.
        n : int
            Number of records.
        seed : int, optional
            Same seed, same records (record ``i`` does not depend on ``n``); ``None`` draws
            one and records it in ``stats.obspy_gen.seed``.
        device : str, optional
            ``"cuda"``, ``"cpu"``... (default CUDA when available).
        checkpoint : str, optional
            Shipped name or path (default ``cvae-synthetic``).
        temperature : float
            Standard deviation of the latent sample around the prior (or posterior) mean in
            units of the model's (1 = the paper's prior).
        **options
            ``starttime`` (first record's start, default 2000-01-01), ``network``,
            ``location``.

        Returns
        -------
        obspy.Stream
            ``n`` records, traces ``HNN, HNE, HNZ`` (``stats.units = "m/s**2"``), ordered record
            by record, each starting after the previous one ends, each trace with
            ``stats.obspy_gen`` (model, version, seed, record, synthetic, checkpoint, mode,
            temperature).

        Raises
        ------
        ValueError
            Unknown station (the message lists the known ones), no station, fewer than 3
            records or several stations in ``records``, bad ``n`` or ``temperature``.
        """
        return super().generate(records, station=station, n=n, seed=seed, device=device,
                                checkpoint=checkpoint, temperature=temperature, **options)

    def generate_request(self, request) -> Stream:
        """Generate the records of a validated :class:`~obspy_gen.api.GenerationRequest`."""
        import torch

        opts = request.options
        temperature = opts["temperature"]
        if isinstance(temperature, bool) or not (isinstance(temperature, (int, float))
                                                 and math.isfinite(temperature)
                                                 and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        n, seed, station = request.n, request.seed, request.station
        loaded = self.load(opts["checkpoint"], request.device)
        arch, dev = loaded.arch, loaded.device
        if request.records:
            mus, sigmas, meta = self._posteriors(loaded, request.records, station)
            mode = "zero-shot"
        else:
            meta = self._station_meta(loaded, station)
            label = torch.tensor([loaded.station_codes.index(meta["station"])], device=dev)
            mus = loaded.model.prior_mean(label).cpu().numpy().astype(np.float64)
            sigmas = np.ones_like(mus)
            mode = "prior"
        fs = float(arch.sampling_rate)
        # Records never touch: a gap of a whole minute keeps Stream.merge from joining them.
        slot = math.ceil(arch.seq_len / fs / 60.0 + 1.0) * 60.0
        info = dict(checkpoint=loaded.name, mode=mode, temperature=float(temperature))
        recs = []
        with torch.no_grad():
            for i in range(n):
                rng = record_rng(seed, i)
                k = int(rng.integers(len(mus))) if len(mus) > 1 else 0
                z = mus[k] + temperature * sigmas[k] * rng.standard_normal(arch.latent_dim)
                img = loaded.model.decode(torch.tensor(z[None], dtype=torch.float32,
                                                       device=dev))
                recs.append(GeneratedRecord(loaded.model.records(img)[0].cpu().numpy(), fs,
                                            info))
        return build_stream(recs, model=PLUGIN, version=VERSION, seed=seed,
                            station=meta["station"],
                            network=opts["network"] or meta.get("network") or "SY",
                            location=(opts["location"] if opts["location"] is not None
                                      else meta.get("location")) or "",
                            starttime=opts["starttime"] or DEFAULT_START, slot=slot,
                            channels=CHANNELS, units=meta.get("units") or "m/s**2",
                            dtype=np.float32)

    def _station_meta(self, loaded, station) -> dict:
        known = loaded.station_codes
        if not loaded.arch.conditioned:
            raise ValueError(f"{loaded.name} is unconditioned: give records of the station "
                             f"(zero-shot) instead of a station code")
        if station is None:
            raise ValueError(f"give station=<code> (known to {loaded.name}: "
                             f"{', '.join(known)}) or records for zero-shot generation")
        code = StationId.parse(station).code
        if code not in known:
            raise ValueError(f"unknown station {str(station)!r} for {loaded.name}; known: "
                             f"{', '.join(known)} (or pass its records for zero-shot "
                             f"generation)")
        return dict(loaded.stations[known.index(code)])

    def _encode(self, loaded, recs, key):
        """Posterior means and standard deviations of ``recs`` (warns once about resampled
        and zero-padded records)."""
        import torch

        from obspy_gen.io.dataset import preprocess
        arch = loaded.arch
        fs, seq_len = float(arch.sampling_rate), arch.seq_len
        rates = sorted({tr.stats.sampling_rate for r in recs for tr in r} - {fs})
        if rates:
            warnings.warn(f"{key}: records at {', '.join(f'{r:g}' for r in rates)} Hz "
                          f"resampled to {fs:g} Hz for {loaded.name}")
        mus, sigmas, short, windows = [], [], [], []
        dev = loaded.device
        with torch.no_grad():
            for rec in recs:
                npts = min(int(round((tr.stats.npts - 1) * fs / tr.stats.sampling_rate)) + 1
                           for tr in rec)
                if npts < seq_len:
                    short.append(npts / fs)
                data, _, std = preprocess(rec, seq_len, fs, "record")
                x = torch.from_numpy((data * std[:, None]).astype(np.float32)[None]).to(dev)
                mu, logvar = loaded.model.encode(loaded.model.image(x))
                mus.append(mu[0].double().cpu().numpy())
                sigmas.append(torch.exp(0.5 * logvar[0]).double().cpu().numpy())
                windows.append(npts)
        if short:
            warnings.warn(f"{key}: {len(short)} of {len(recs)} records shorter than the "
                          f"model's {seq_len / fs:.1f} s (shortest {min(short):.1f} s); "
                          f"zero-padded")
        return np.stack(mus), np.stack(sigmas), windows

    def _posteriors(self, loaded, records, station):
        key, recs = self.station_records(records, station)
        if len(recs) < MIN_POOL:
            raise ValueError(f"zero-shot generation needs at least {MIN_POOL} records of the "
                             f"station, got {len(recs)}")
        mus, sigmas, _ = self._encode(loaded, recs, key)
        first = recs[0][0].stats
        units = {r[0].stats.get("units") for r in recs} - {None}
        meta = {"station": StationId.parse(station).code if station else first.station,
                "network": first.network or "SY", "location": first.location,
                "units": units.pop() if len(units) == 1 else "m/s**2"}
        return mus, sigmas, meta

    def reconstruct(self, records, *, device=None, checkpoint=None) -> Stream:
        """Records passed through encoder (posterior mean) and decoder (the paper's
        "reconstructed" group), on the time axis of each record's centre window.

        Examples
        --------
        >>> import pytest
        >>> _ = pytest.importorskip("torch")
        >>> gen = CVAEGenerator()
        >>> st = gen.generate(station="3130", n=1, seed=0)
        >>> rec = gen.reconstruct(st)
        >>> len(rec), rec[0].stats.obspy_gen.reconstructed
        (3, True)
        """
        import torch

        from obspy_gen.core.records import split_records
        loaded = self.load(checkpoint, device)
        arch = loaded.arch
        fs, seq_len = float(arch.sampling_rate), arch.seq_len
        out = Stream()
        for k, rec in enumerate(split_records(records)):
            mus, _, windows = self._encode(loaded, [rec], rec[0].id.rsplit(".", 1)[0])
            with torch.no_grad():
                img = loaded.model.decode(torch.tensor(mus, dtype=torch.float32,
                                                       device=loaded.device))
                data = loaded.model.records(img)[0].cpu().numpy()
            npts = windows[0]
            out += reconstruction_stream(rec, data, npts // 2 - seq_len // 2, npts,
                                         sampling_rate=fs, model=PLUGIN, version=VERSION,
                                         index=k, checkpoint=loaded.name, dtype=np.float32)
        return out


def clear_cache() -> None:
    """Forget loaded checkpoints.

    Examples
    --------
    >>> clear_cache()
    """
    clear_loaded()


__all__ = ["CVAEGenerator", "CHANNELS", "clear_cache"]

"""Two-phase training of TimesNet-Gen (paper Sec. II-D) on :func:`obspy_gen.torchkit.fit`.

* :func:`pretrain` -- phase 1: the unconditioned autoencoder on a multi-station corpus
  (target stations excluded), validated on a station-wise split.
* :func:`finetune` -- phase 2: the station-conditioned network, started from the phase-1
  weights (conditioning convolutions initialised to the identity), trained on the target
  stations and validated on held-out records of each of them (a station-conditioned model
  can only be validated on stations it knows); at the end every target station's latent pool
  is encoded and stored in the checkpoint.
* :func:`train` -- either phase by name (what ``obspy-gen train timesnet-gen`` calls).

Records are preprocessed once (:func:`materialise`) and kept in memory as float32 (72 kB per
60-s record), which keeps a 2-core CPU busy with the network rather than with miniSEED reading.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from obspy_gen.plugins.timesnet_gen.sampling import LatentPool
from obspy_gen.plugins.timesnet_gen.store import PLUGIN, VERSION, load_model, save_model
# Records in memory and their splits are shared by every torch model (obspy_gen.torchkit).
from obspy_gen.torchkit.records import (Materialised, load_records, materialise,  # noqa: F401
                                        record_split, station_split)
from obspy_gen.torchkit.records import subset as _subset

#: The shipped default's architecture: small enough to train on 2 CPU cores.
DEFAULT_ARCH = dict(seq_len=6000, d_model=16, d_ff=16, e_layers=1, d_layers=1, num_kernels=3,
                    top_k=2, dropout=0.0, latent_channels=8, latent_stride=4)
PHASES = ("pretrain", "finetune")
#: The sampler a new checkpoint generates with unless told (chosen by measurement; see
#: :mod:`~obspy_gen.plugins.timesnet_gen.sampling`).
DEFAULT_SAMPLING = {"sampling": "prior", "n_mix": 5, "noise_scale": 1.0, "noise": "covariance",
                    "baseline": "floor", "seam_energy": True, "calibrate": False,
                    "envelope": True, "weights": "sign", "jitter": 0.1, "band_shape": True,
                    "coherence": True, "hv_shape": True, "hv_ripple": True}
#: Centres of the spectral and H/V loss terms (:class:`.model.SpectralSmoother`): the band
#: of the HVSR preset ``timesnet-gen-paper`` (0.5-25 Hz, Konno-Ohmachi b=40), 64 log-spaced.
SPECTRAL_BAND = dict(fmin=0.5, fmax=25.0, nfreq=64, bandwidth=40.0)
#: Window (s) of the spectral loss term's spectrogram (half-overlapping windows; None = the
#: whole record). The H/V term always takes the whole record, as the HVSR does.
SPECTRAL_WINDOW = None
#: Water level of the spectral and H/V loss terms: a fraction of the target's peak.
SPECTRAL_WATER = 0.01
#: Smoothing window (s) and water level (fraction of the target's peak envelope) of the
#: envelope loss term (:func:`.model.envelope_loss`).
ENVELOPE_WINDOW = 1.0
ENVELOPE_WATER = 0.01
#: Power of the Husid loss term (:func:`.model.husid_loss`): 1 = mean absolute difference of
#: the Husid curves (the earth mover's distance of the energy in time), 2 = mean squared.
HUSID_POWER = 1
#: Fewest records of a station that training accepts without a warning.
MIN_STATION_RECORDS = 3


def warn_small_stations(mat, stations=None) -> list:
    """Warn (one line each) for stations with fewer than :data:`MIN_STATION_RECORDS` records;
    returns their codes.

    Examples
    --------
    >>> import warnings
    >>> m = Materialised(np.zeros((4, 3, 2), np.float32), np.zeros((4, 3)), np.ones((4, 3)),
    ...                  ["A", "A", "A", "B"])
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_small_stations(m)
    ['B']
    >>> print(w[0].message)
    station B: only 1 record(s); a station needs at least 3 for new records (with fewer, every generated record is a copy or mix of the same ones)
    """
    import warnings
    small = []
    for s in (stations or mat.stations):
        k = mat.station.count(s)
        if k < MIN_STATION_RECORDS:
            small.append(s)
            warnings.warn(f"station {s}: only {k} record(s); a station needs at least "
                          f"{MIN_STATION_RECORDS} for new records (with fewer, every generated "
                          f"record is a copy or mix of the same ones)", stacklevel=2)
    return small


class LatentNoise:
    """The paper's training-time noise: per station, the element-wise standard deviation of
    its records' latent codes (refreshed at the start of every epoch, as the encoder moves),
    times ``scale``.

    Training the decoder on codes with this noise added makes the noisy mixtures of Eq. 1
    decode to records of the station instead of to noise.

    Parameters
    ----------
    mat : Materialised
        Training records.
    indices : list of int
        Positions (in ``mat``) whose codes define each station's spread.
    station_order : list of str
        Station of each ``station_index`` value.
    scale : float
        Multiplier of the standard deviation (1 = the paper's sigma).

    Examples
    --------
    >>> import torch
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> model = TimesNetGen(TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1,
    ...                                       d_layers=1, latent_channels=2,
    ...                                       latent_stride=10))
    >>> mat = Materialised(np.random.default_rng(0).normal(size=(4, 3, 100)).astype("f4"),
    ...                    np.zeros((4, 3)), np.ones((4, 3)), ["A", "A", "B", "B"])
    >>> noise = LatentNoise(mat, range(4), ["A", "B"])
    >>> noise.refresh(model)
    >>> noise(torch.tensor([1, 0, 0])).shape
    torch.Size([3, 2, 10])
    """

    def __init__(self, mat, indices, station_order, scale=1.0, batch_size=32):
        self.mat, self.indices = mat, list(indices)
        self.order = list(station_order)
        self.scale = float(scale)
        self.batch_size = batch_size
        self.sigma = None

    def refresh(self, model, epoch=None):
        """Encode the training records with the current weights; update the spreads."""
        import torch
        dev = next(model.parameters()).device
        cfg = model.config
        was_training = model.training
        model.eval()
        index = {s: k for k, s in enumerate(self.order)}
        sums = torch.zeros((len(self.order),) + cfg.latent_shape, dtype=torch.float64)
        squares = torch.zeros_like(sums)
        counts = torch.zeros(len(self.order), dtype=torch.float64)
        with torch.no_grad():
            for start in range(0, len(self.indices), self.batch_size):
                idx = self.indices[start:start + self.batch_size]
                st = torch.tensor([index[self.mat.station[i]] for i in idx])
                z, _, _ = model.encode(
                    torch.from_numpy(self.mat.data[idx]).to(dev),
                    st.to(dev) if cfg.conditioned else None,
                    torch.from_numpy(self.mat.mean[idx].astype(np.float32)).to(dev),
                    torch.from_numpy(self.mat.std[idx].astype(np.float32)).to(dev))
                z = z.double().cpu()
                sums.index_add_(0, st, z)
                squares.index_add_(0, st, z * z)
                counts.index_add_(0, st, torch.ones(len(idx), dtype=torch.float64))
        n = counts.clamp(min=1)[:, None, None]
        var = (squares / n - (sums / n) ** 2).clamp(min=0)
        self.sigma = (var.sqrt() * self.scale).float().to(dev)
        model.train(was_training)

    def __call__(self, station_index):
        return self.sigma[station_index.to(self.sigma.device)]


def make_loss(conditioned: bool, weighting: str = "record", noise: LatentNoise | None = None,
              velocity_weight: float = 0.0, spectral_weight: float = 0.0,
              hv_weight: float = 0.0, envelope_weight: float = 0.0,
              husid_weight: float = 0.0):
    """``loss_fn(model, batch)`` for :func:`~obspy_gen.torchkit.base.fit`: MSE of the
    de-normalised reconstruction (see :func:`.model.reconstruction_loss`), with the latent
    noise of ``noise`` in training mode, plus ``velocity_weight`` times the relative velocity
    error (:func:`.model.velocity_loss`), ``spectral_weight`` times the ln smoothed spectra
    error (:func:`.model.spectral_loss`) and ``hv_weight`` times the ln H/V error
    (:func:`.model.hv_loss`; both on :data:`SPECTRAL_BAND`), ``envelope_weight`` times
    the ln smoothed envelope error (:func:`.model.envelope_loss`, :data:`ENVELOPE_WINDOW`,
    :data:`ENVELOPE_WATER`) and ``husid_weight`` times the Husid curve error
    (:func:`.model.husid_loss`, :data:`HUSID_POWER`).

    Examples
    --------
    >>> import torch
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> model = TimesNetGen(TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1,
    ...                                       d_layers=1, latent_channels=2,
    ...                                       latent_stride=10))
    >>> batch = {"data": torch.randn(2, 3, 100), "mean": torch.zeros(2, 3),
    ...          "std": torch.ones(2, 3), "station_index": torch.tensor([0, 0])}
    >>> float(make_loss(False)(model, batch).detach()) > 0
    True
    """
    from obspy_gen.plugins.timesnet_gen.model import (SpectralSmoother, envelope_loss,
                                                      husid_loss, hv_loss, reconstruction_loss,
                                                      spectral_loss, velocity_loss)
    smoothers = {}

    def loss_fn(net, batch):
        x, mean, std = batch["data"], batch["mean"], batch["std"]
        raw = x * std[:, :, None] + mean[:, :, None]
        noise_std = noise(batch["station_index"]) if (
            noise is not None and noise.scale and net.training) else None
        y = net(x, batch["station_index"] if conditioned else None, mean, std, noise_std)
        loss = reconstruction_loss(y.float(), raw, std, weighting)
        if velocity_weight:
            loss = loss + velocity_weight * velocity_loss(y.float(), raw, mean, std)
        if spectral_weight or hv_weight:
            fs = float(net.config.sampling_rate)
            n = raw.shape[-1]
            frame = min(n, int(round(SPECTRAL_WINDOW * fs))) if SPECTRAL_WINDOW else n
            for key in {(n, fs), (frame, fs)}:
                if key not in smoothers:
                    smoothers[key] = SpectralSmoother(*key, **SPECTRAL_BAND)
            sm = smoothers[(n, fs)]
            if spectral_weight:
                loss = loss + spectral_weight * spectral_loss(y.float(), raw,
                                                              smoothers[(frame, fs)],
                                                              SPECTRAL_WATER)
            if hv_weight:
                loss = loss + hv_weight * hv_loss(y.float(), raw, sm, SPECTRAL_WATER)
        if envelope_weight:
            loss = loss + envelope_weight * envelope_loss(
                y.float(), raw, float(net.config.sampling_rate), ENVELOPE_WINDOW,
                ENVELOPE_WATER)
        if husid_weight:
            loss = loss + husid_weight * husid_loss(y.float(), raw, HUSID_POWER)
        return loss

    return loss_fn


def encode_pools(model, mat: Materialised, stations, station_order=None, device=None,
                 quiet=True, anchor="pga") -> dict:
    """Latent pools of ``stations`` from their records in ``mat`` (one record at a time, so a
    code does not depend on its batch).

    anchor : {"pga", "p"}
        What each record's onset (stored with the pool, for aligned sampling) marks.

    Returns
    -------
    dict station -> LatentPool

    Examples
    --------
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> model = TimesNetGen(TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1,
    ...                                       d_layers=1, latent_channels=2,
    ...                                       latent_stride=10))
    >>> mat = Materialised(np.zeros((2, 3, 100), np.float32), np.zeros((2, 3)),
    ...                    np.ones((2, 3)), ["A", "A"])
    >>> encode_pools(model, mat, ["A"])["A"].codes.shape
    (2, 2, 10)
    """
    import torch

    from obspy_gen.api import progress
    dev = next(model.parameters()).device if device is None else device
    order = {s: k for k, s in enumerate(station_order or [])}
    model.eval()
    pools = {}
    with torch.no_grad():
        for s in progress(stations, quiet, desc="latent pools", unit="station"):
            idx = mat.indices([s])
            if not idx:
                continue
            label = torch.tensor([order[s]], device=dev) if model.config.conditioned else None
            codes, entries = [], []
            for i in idx:
                x = torch.from_numpy(mat.data[i:i + 1]).to(dev)
                mean = torch.from_numpy(mat.mean[i:i + 1].astype(np.float32)).to(dev)
                std = torch.from_numpy(mat.std[i:i + 1].astype(np.float32)).to(dev)
                z, _, _ = model.encode(x, label, mean, std)
                codes.append(z[0].float().cpu().numpy())
                entries.append(pool_record(model, z, label, mat.data[i], mat.mean[i],
                                           mat.std[i], anchor))
            meta = mat.meta[idx[0]] if mat.meta else {}
            pools[s] = LatentPool(s, np.stack(codes), mat.mean[idx], mat.std[idx],
                                  network=meta.get("network", "SY"),
                                  location=meta.get("location", ""),
                                  units=meta.get("units", "m/s**2"), anchor=anchor,
                                  **pool_columns(model, entries))
    return pools


def pool_record(model, code, label, window, mean, std, anchor="pga") -> dict:
    """What a latent pool keeps of one record besides its code and normalisation: its
    fidelity corner and band ratios (:func:`record_fidelity`, one decode), P arrival, anchor
    (the same pick when ``anchor="p"``), log envelope, recorded extent, ln band amplitudes
    (per-record units: the mean of its horizontal stds), cross-component coherence of its
    recorded part and pre-event noise level (``window`` (3, T) standardised, ``mean``/``std``
    (3,), ``code`` from ``model.encode``)."""
    from obspy_gen.plugins.timesnet_gen.calibration import band_log_amplitude
    from obspy_gen.plugins.timesnet_gen.coherence import band_coherence
    from obspy_gen.plugins.timesnet_gen.sampling import (envelope_band, record_anchor,
                                                         record_log_envelope,
                                                         record_noise_level,
                                                         record_p_arrival, recorded_extent)
    cfg = model.config
    fs = float(cfg.sampling_rate)
    corner, ratio = record_fidelity(model, code, label, window, mean, std, fs, band_ratio=True)
    p_arrival = record_p_arrival(window, std, fs)
    extent = recorded_extent(window)
    std = np.asarray(std, dtype=np.float64)
    recorded = (np.asarray(window, np.float64)[:, extent[0]:extent[1]] * std[:, None]
                / max(std[:2].mean(), 1e-30))
    return {"corner": corner, "band_ratio": ratio, "p_arrival": p_arrival,
            "onset": record_anchor(window, std, anchor, fs, p_arrival),
            "log_envelope": record_log_envelope(window, std, fs, envelope_band(cfg.crossover),
                                                cfg.latent_stride),
            "extent": extent, "log_band": band_log_amplitude(recorded, 1.0 / fs),
            "coherence": band_coherence(recorded, 1.0 / fs),
            "noise_level": record_noise_level(window, std, p_arrival, fs)}


def pool_columns(model, entries) -> dict:
    """:class:`~.sampling.LatentPool` keywords from the :func:`pool_record` of its records
    (stacked) and ``model``'s configuration."""
    cfg = model.config
    return {**{k: np.asarray([e[k] for e in entries]) for k in entries[0]},
            "latent_stride": cfg.latent_stride, "sampling_rate": float(cfg.sampling_rate),
            "low_channels": cfg.low_channels, "crossover": cfg.crossover}


def record_fidelity(model, code, label, window, mean, std, fs=100.0, band_ratio=False):
    """Fidelity corner (Hz) of one record's reconstruction: ``code`` (1, C, L, a torch tensor
    from ``model.encode``) decoded and compared with the record (``window`` (3, T)
    standardised, ``mean``/``std`` (3,)) over its recorded part
    (:func:`~obspy_gen.plugins.timesnet_gen.baseline.fidelity_corner`).

    With ``band_ratio``, ``(corner, ratio)``: also the ln ratio (3, bands) of the record's band
    amplitudes to its reconstruction's
    (:func:`~obspy_gen.plugins.timesnet_gen.calibration.band_log_ratio`).

    Examples
    --------
    >>> import torch
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> model = TimesNetGen(TimesNetGenConfig(seq_len=1000, d_model=4, d_ff=4, e_layers=1,
    ...                                       d_layers=1, latent_channels=2,
    ...                                       latent_stride=10)).eval()
    >>> w = np.random.default_rng(0).normal(size=(3, 1000)).astype("f4")
    >>> z, _, _ = model.encode(torch.from_numpy(w[None]), None, torch.zeros(1, 3),
    ...                        torch.ones(1, 3))
    >>> 0.05 <= record_fidelity(model, z, None, w, np.zeros(3), np.ones(3)) <= 2.0
    True
    """
    import torch

    from obspy_gen.plugins.timesnet_gen.baseline import fidelity_corner
    from obspy_gen.plugins.timesnet_gen.sampling import recorded_extent
    dev = code.device
    m = torch.tensor(np.asarray(mean, np.float32)[None], device=dev)
    s = torch.tensor(np.asarray(std, np.float32)[None], device=dev)
    with torch.no_grad():
        y = model.decode(code, m, s, label)[0].float().cpu().numpy().astype(np.float64)
    real = (np.asarray(window, np.float64) * np.asarray(std, np.float64).reshape(-1, 1)
            + np.asarray(mean, np.float64).reshape(-1, 1))
    lo, hi = recorded_extent(window)
    corner = fidelity_corner(real[:, lo:hi], y[:, lo:hi], 1.0 / fs)
    if band_ratio:
        from obspy_gen.plugins.timesnet_gen.calibration import band_log_ratio
        return corner, band_log_ratio(real[:, lo:hi], y[:, lo:hi], 1.0 / fs)
    return corner


def _loss_text(weighting, velocity=0.0, spectral=0.0, hv=0.0, envelope=0.0,
               husid=0.0) -> str:
    """The loss as recorded in a checkpoint's training description."""
    text = f"MSE of de-normalised output, weighting={weighting!r}"
    if velocity:
        text += f" + {velocity} x relative velocity MSE"
    if spectral:
        text += (f" + {spectral} x MSE of ln smoothed amplitude spectra ({SPECTRAL_BAND}, "
                 f"water {SPECTRAL_WATER}"
                 + (f", {SPECTRAL_WINDOW}-s windows" if SPECTRAL_WINDOW else "") + ")")
    if hv:
        text += f" + {hv} x MSE of ln H/V ({SPECTRAL_BAND}, water {SPECTRAL_WATER})"
    if envelope:
        text += (f" + {envelope} x MSE of ln {ENVELOPE_WINDOW}-s RMS envelopes "
                 f"(water {ENVELOPE_WATER})")
    if husid:
        text += (f" + {husid} x mean " + ("absolute" if HUSID_POWER == 1 else "squared")
                 + " difference of the Husid curves (normalised cumulative Arias intensity)")
    return text


def _describe(mat, phase, synthetic, description, extra=None) -> dict:
    return {"phase": phase, "synthetic": synthetic, "description": description,
            "source": mat.source, "n_records": len(mat), "n_stations": len(mat.stations),
            "stations": mat.stations if len(mat.stations) <= 50 else
            f"{len(mat.stations)} stations", **(extra or {})}


def pretrain(data, out, *, arch=None, epochs=10, batch_size=16, lr=1e-3, weight_decay=1e-2,
             seed=0, device=None, val_fraction=0.15, stations=None, exclude_stations=(),
             resume=False, quiet=False, log=None, amp=None, loss_weighting="record",
             latent_noise=0.0, synthetic=None, description="", source=None,
             materialised=None, centre="record", velocity_loss=0.0, spectral_loss=0.0,
             hv_loss=0.0, husid_loss=0.0) -> dict:
    """Phase 1: train the unconditioned autoencoder; checkpoint ``out`` every epoch.

    Parameters
    ----------
    data : folder, StationDataset, Stream or list of Streams
        The corpus.
    out : str or Path
        Checkpoint base path (``out.safetensors`` + ``out.json``; training state next to it).
    arch : dict, str or TimesNetGenConfig, optional
        Architecture (default :data:`DEFAULT_ARCH`; a name of
        :data:`~.model.NAMED_CONFIGS`, e.g. ``"paper"``); ``n_stations`` is forced to 0.
    stations, exclude_stations : list of str, optional
        Use only these stations / leave these out (the fine-tuning targets).
    val_fraction : float
        Share of the records (whole stations) held out for validation.
    latent_noise : float
        Scale of the Gaussian noise added to the codes in training, in units of each
        station's element-wise latent standard deviation (:class:`LatentNoise`); 0 (default)
        = a plain autoencoder. See :func:`finetune`.
    synthetic : bool, optional
        Whether the data are synthetic (recorded in the checkpoint; ``None`` = unknown).
    description, source : str, optional
        Free text on the data, and where they came from (default: the folder given).
    materialised : Materialised, optional
        Already preprocessed records (skips reading ``data``).
    centre : {"record", "pga", "p_arrival", "auto"}
        Where each record's window is centred (:func:`obspy_gen.io.dataset.preprocess`).
    velocity_loss : float
        Weight of the relative velocity error in the loss (:func:`.model.velocity_loss`).
    spectral_loss, hv_loss, husid_loss : float
        Weights of the ln smoothed spectra error, of the ln H/V error and of the Husid curve
        error in the loss (see :func:`finetune`).

    Returns
    -------
    dict
        Training history.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> arch = dict(seq_len=500, d_model=4, d_ff=4, e_layers=1, d_layers=1, num_kernels=1,
    ...             latent_stride=10, latent_channels=2)
    >>> h = pretrain(read(), out, arch=arch, epochs=1, quiet=True, device="cpu")
    >>> len(h["epochs"]), os.path.exists(out + ".safetensors")
    (1, True)
    """
    from obspy_gen.plugins.timesnet_gen.model import TimesNetGen
    from obspy_gen.torchkit.base import TrainSettings, fit, seed_everything
    arch = _arch(arch).replace(n_stations=0)
    if materialised is None:
        ds = load_records(data, arch.seq_len, sampling_rate=arch.sampling_rate, centre=centre)
        materialised = materialise(ds, quiet)
        materialised.source = str(data) if isinstance(data, (str, os.PathLike)) else "in memory"
    mat = materialised
    if source is not None:
        mat.source = str(source)
    keep = set(stations) if stations else set(mat.stations)
    keep -= set(exclude_stations or ())
    idx = mat.indices(keep)
    if not idx:
        raise ValueError("no records left for pre-training (check stations/exclusions)")
    sub = _subset(mat, idx)
    tr, va = station_split(sub, val_fraction, seed)
    seed_everything(seed)
    model = TimesNetGen(arch)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr,
                             weight_decay=weight_decay, seed=seed, amp=amp)
    training = _describe(sub, "pretrain", synthetic, description,
                         {"excluded_stations": sorted(exclude_stations or ()),
                          "validation": {"kind": "station-wise", "fraction": val_fraction,
                                         "stations": sorted({sub.station[i] for i in va})},
                          "loss": _loss_text(loss_weighting, velocity_loss, spectral_loss,
                                             hv_loss, husid=husid_loss),
                          "latent_noise": latent_noise,
                          "settings": settings.to_dict()})
    t0 = time.perf_counter()

    def save(m, path, epoch, history):
        save_model(path, m, arch, training={**training, "epochs_done": epoch,
                                            "history": history["epochs"],
                                            "train_seconds": round(time.perf_counter() - t0,
                                                                   1)},
                   centre=mat.centre, sampling=sampling_defaults)

    sampling_defaults = dict(DEFAULT_SAMPLING)
    noise = LatentNoise(sub, tr, sub.stations, latent_noise) if latent_noise else None
    return fit(model, sub.torch(tr), sub.torch(va) if va else None,
               make_loss(False, loss_weighting, noise, velocity_loss, spectral_loss, hv_loss,
                         husid_weight=husid_loss),
               out=out, save_fn=save,
               settings=settings, device=device, resume=resume, quiet=quiet, log=log,
               load_fn=lambda m, path: _load_weights(m, path),
               on_epoch_start=noise.refresh if noise else None)


def finetune(data, out, *, init=None, stations=None, epochs=10, batch_size=16, lr=5e-4,
             weight_decay=1e-2, seed=0, device=None, val_fraction=0.15, resume=False,
             quiet=False, log=None, amp=None, loss_weighting="record", latent_noise=0.0,
             synthetic=None, description="", source=None, base_name=None, arch=None,
             materialised=None, centre=None, anchor="pga", sampling=None,
             grow=None, velocity_loss=0.0, spectral_loss=0.0, hv_loss=0.0,
             envelope_loss=0.0, husid_loss=0.0, crossover=0.0) -> dict:
    """Phase 2: station-conditioned fine-tuning; stores the stations' latent pools at the end.

    Parameters
    ----------
    data : folder, StationDataset, Stream or list of Streams
        Records of the target stations (others are ignored when ``stations`` is given).
    out : str or Path
        Checkpoint base path.
    init : str or Path, optional
        Phase-1 checkpoint to start from (an unconditioned one gets identity conditioning;
        a conditioned one with the same stations continues). ``None``: from scratch with
        ``arch``.
    stations : list of str, optional
        Target stations (default: all in ``data``), in one-hot order.
    base_name : str, optional
        Checkpoint name recorded for zero-shot generation (default: ``init``'s name).
    latent_noise : float
        Noise injected into the codes while fine-tuning, in units of each station's
        element-wise latent standard deviation (the paper's phase 2, :class:`LatentNoise`).
        Default 0: with the sampler's covariance-shaped noise (see
        :mod:`~obspy_gen.plugins.timesnet_gen.sampling`) the plain autoencoder already
        decodes noisy mixtures into records of the station, while 1.0 (independent noise on
        every element) cost the 12.8-Hz station its f0 in our short CPU runs.
    centre : {"record", "pga", "p_arrival", "auto"}, optional
        Where each record's window is centred (default: as ``init`` was trained, else
        ``"record"``).
    anchor : {"pga", "p"}
        What the pools' onsets mark (aligned sampling).
    sampling : dict, optional
        The checkpoint's default sampler (``sampling``, ``n_mix``, ``noise_scale``,
        ``noise``; default :data:`DEFAULT_SAMPLING`).
    velocity_loss : float
        Weight of the relative velocity error added to the loss
        (:func:`.model.velocity_loss`): it trains away the offsets and long-period error that
        integrate into velocity drift and PGD.
    spectral_loss : float
        Weight of the error of the ln smoothed amplitude spectra of the three channels
        (:func:`.model.spectral_loss`, Konno-Ohmachi b=40 on :data:`SPECTRAL_BAND`, water level
        :data:`SPECTRAL_WATER` of the target's peak): every frequency band counts alike, where
        the time-domain MSE is carried by the strongest one.
    hv_loss : float
        Weight of the error of ln H/V itself (:func:`.model.hv_loss`, the HVSR definition of
        :func:`obspy_gen.core.hvsr.hvsr`).
    crossover : float
        Hz; the record below it travels by the linear low-band code of the latent
        (:class:`~.model.TimesNetGenConfig` ``crossover``); ``init``'s network takes it
        without new weights (:meth:`~.model.TimesNetGen.with_crossover`). 0 (default): the
        network as ``init`` has it.
    envelope_loss : float
        Weight of the error of the ln smoothed envelopes (:func:`.model.envelope_loss`,
        :data:`ENVELOPE_WINDOW`-s RMS, water level :data:`ENVELOPE_WATER`): where in time the
        energy lies, i.e. the duration (D5-95) the spectral terms do not see. Measured, not
        used by the shipped checkpoints (docs/generate.rst).
    husid_loss : float
        Weight of the error of the normalised Husid curves (:func:`.model.husid_loss`, power
        :data:`HUSID_POWER`): where the Arias intensity accumulates, weighed linearly by
        energy, which pins D5-95 directly. Measured, not used by the shipped checkpoints
        (docs/generate.rst).
    grow : (int, int), optional
        Encoder and decoder TimesBlocks of the fine-tuned network when ``init`` has fewer:
        the pre-trained blocks plus new ones that start as the identity
        (:meth:`.model.TimesNetGen.grown`).

    Warns
    -----
    UserWarning
        For every target station with fewer than 3 records (a pool of one record gives
        copies of it, whatever the sampler).

    Returns
    -------
    dict
        Training history.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> st = read()
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> arch = dict(seq_len=500, d_model=4, d_ff=4, e_layers=1, d_layers=1, num_kernels=1,
    ...             latent_stride=10, latent_channels=2)
    >>> h = finetune([st, st.copy()], out, arch=arch, epochs=1, quiet=True, device="cpu")
    >>> load_model(out).station_codes
    ['RJOB']
    """
    from obspy_gen.plugins.timesnet_gen.model import TimesNetGen
    from obspy_gen.torchkit.base import (TrainSettings, choose_device, fit,
                                              seed_everything)
    seed_everything(seed)
    base = None
    if init is not None:
        from obspy_gen.torchkit.base import resolve_checkpoint
        init_path = resolve_checkpoint(init, "obspy_gen.plugins.timesnet_gen")
        base = load_model(init_path, "cpu")
        arch0 = base.arch
    else:
        arch0 = _arch(arch)
    if centre is None:
        centre = ((base.config.get("normalisation") or {}).get("centre") if base is not None
                  else None) or "record"
    if materialised is None:
        ds = load_records(data, arch0.seq_len, sampling_rate=arch0.sampling_rate,
                          centre=centre)
        materialised = materialise(ds, quiet, stations)
        materialised.source = str(data) if isinstance(data, (str, os.PathLike)) else "in memory"
    mat = materialised
    if source is not None:
        mat.source = str(source)
    targets = list(stations) if stations else mat.stations
    missing = [s for s in targets if s not in set(mat.station)]
    if missing:
        raise ValueError(f"no records of station(s) {', '.join(missing)} in the data; "
                         f"found: {', '.join(mat.stations[:20])}")
    warn_small_stations(mat, targets)
    if base is not None and base.arch.conditioned:
        if base.station_codes != targets:
            raise ValueError(f"{init}: conditioned on {base.station_codes}, not {targets}; "
                             f"start from an unconditioned (pre-trained) checkpoint")
        model = base.model.train()
    elif base is not None:
        net = base.model.grown(*grow) if grow else base.model
        model = net.with_stations(len(targets))
    else:
        model = TimesNetGen(arch0.replace(n_stations=len(targets)))
    if crossover:
        model = model.with_crossover(crossover)
    arch = model.config
    sub = _subset(mat, mat.indices(targets))
    tr, va = record_split(sub, val_fraction, seed, targets)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr,
                             weight_decay=weight_decay, seed=seed, amp=amp)
    station_meta = []
    for s in targets:
        i = sub.indices([s])[0]
        m = sub.meta[i] if sub.meta else {}
        station_meta.append({"station": s, "network": m.get("network", "SY"),
                             "location": m.get("location", ""),
                             "n_records": len(sub.indices([s])),
                             "units": m.get("units", "m/s**2")})
    if base_name is None and base is not None:
        base_name = base.config.get("base_checkpoint") if base.arch.conditioned else base.name
    training = _describe(sub, "finetune", synthetic, description,
                         {"init": None if base is None else base.name,
                          "validation": {"kind": "per-station records",
                                         "fraction": val_fraction, "n_records": len(va)},
                          "loss": _loss_text(loss_weighting, velocity_loss, spectral_loss,
                                             hv_loss, envelope_loss, husid_loss),
                          "pools": "latent codes of all fine-tuning records of each station",
                          "latent_noise": latent_noise,
                          "settings": settings.to_dict()})
    if base is not None and base.config.get("training"):
        prev = base.config["training"]
        training["pretraining"] = {k: prev.get(k) for k in (
            "phase", "synthetic", "description", "n_records", "n_stations", "source",
            "epochs_done", "train_seconds")}
    t0 = time.perf_counter()

    def save(m, path, epoch, history):
        # Pools only once training is over: they are what generation needs, and encoding
        # every record each epoch would cost as much as a training epoch.
        pools = encode_pools(m, sub, targets, targets, quiet=True, anchor=anchor) \
            if epoch == settings.epochs else None
        save_model(path, m, arch, stations=station_meta, pools=pools, base=base_name,
                   centre=mat.centre, sampling={**DEFAULT_SAMPLING, **(sampling or {})},
                   training={**training, "epochs_done": epoch, "history": history["epochs"],
                             "train_seconds": round(time.perf_counter() - t0, 1)})

    noise = LatentNoise(sub, tr, targets, latent_noise) if latent_noise else None
    return fit(model, sub.torch(tr, targets), sub.torch(va, targets) if va else None,
               make_loss(True, loss_weighting, noise, velocity_loss, spectral_loss, hv_loss,
                         envelope_loss, husid_loss),
               out=out, save_fn=save,
               settings=settings,
               device=device if device is not None else choose_device(None), resume=resume,
               quiet=quiet, log=log, load_fn=lambda m, path: _load_weights(m, path),
               on_epoch_start=noise.refresh if noise else None)


def repool(checkpoint, data, out=None, *, anchor="pga", sampling=None, quiet=True) -> dict:
    """Re-encode a conditioned checkpoint's latent pools from ``data`` (its stations' records)
    with anchors and recorded extents (what aligned / prior sampling need), and save it to
    ``out`` (default: in place). Returns the pools.

    Use it for checkpoints made before anchors were stored, or to change ``anchor``.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from obspy import read
    >>> st = read()
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> arch = dict(seq_len=500, d_model=4, d_ff=4, e_layers=1, d_layers=1, num_kernels=1,
    ...             latent_stride=10, latent_channels=2)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = finetune([st, st.copy()], out, arch=arch, epochs=1, quiet=True, device="cpu")
    ...     pools = repool(out, [st, st.copy(), st.copy()], anchor="pga")
    >>> pools["RJOB"].n_records, load_model(out).pools["RJOB"].extent.shape
    (3, (3, 2))
    """
    from obspy_gen.torchkit.base import resolve_checkpoint
    path = resolve_checkpoint(checkpoint, "obspy_gen.plugins.timesnet_gen")
    loaded = load_model(path, "cpu")
    if not loaded.arch.conditioned:
        raise ValueError(f"{path}: unconditioned checkpoint: it has no station pools")
    centre = (loaded.config.get("normalisation") or {}).get("centre") or "record"
    targets = loaded.station_codes
    mat = materialise(load_records(data, loaded.arch.seq_len,
                                   sampling_rate=loaded.arch.sampling_rate, centre=centre),
                      quiet, targets)
    pools = encode_pools(loaded.model, mat, targets, targets, quiet=quiet, anchor=anchor)
    cfg = loaded.config
    save_model(out or path, loaded.model, loaded.arch, stations=loaded.stations, pools=pools,
               training=cfg.get("training"), base=cfg.get("base_checkpoint"),
               sampling={**(cfg.get("sampling") or {}), **(sampling or {})}, centre=centre)
    return pools


def train(data, out, phase="pretrain", **kwargs) -> dict:
    """Run one training phase by name (``"pretrain"`` or ``"finetune"``).

    Examples
    --------
    >>> train(None, "x", phase="nope")
    Traceback (most recent call last):
    ...
    ValueError: phase='nope' is not one of pretrain, finetune
    """
    if phase not in PHASES:
        raise ValueError(f"phase={phase!r} is not one of {', '.join(PHASES)}")
    return (pretrain if phase == "pretrain" else finetune)(data, out, **kwargs)


def _arch(arch):
    from obspy_gen.plugins.timesnet_gen.model import TimesNetGenConfig
    if arch is None:
        return TimesNetGenConfig(**DEFAULT_ARCH)
    if isinstance(arch, str):
        return TimesNetGenConfig.named(arch)
    if isinstance(arch, TimesNetGenConfig):
        return arch
    return TimesNetGenConfig(**{**DEFAULT_ARCH, **dict(arch)})


def _load_weights(model, path):
    from obspy_gen.io.checkpoints import load_checkpoint
    from obspy_gen.torchkit.base import load_state
    load_state(model, load_checkpoint(path, plugin=PLUGIN), "model.")


__all__ = ["pretrain", "finetune", "train", "materialise", "load_records", "encode_pools",
           "warn_small_stations", "DEFAULT_SAMPLING", "MIN_STATION_RECORDS", "repool",
           "station_split", "record_split", "Materialised", "DEFAULT_ARCH", "PHASES",
           "VERSION", "make_loss", "SPECTRAL_BAND", "SPECTRAL_WINDOW", "SPECTRAL_WATER",
           "ENVELOPE_WINDOW", "ENVELOPE_WATER", "HUSID_POWER"]


# -- the training hook of the plugin (``obspy-gen train timesnet-gen``) ------------------------
def _help(text, **extra):
    return field(default=extra.pop("default", None), metadata={"help": text, **extra})


@dataclass
class TimesNetGenTrainSettings:
    """Settings of ``TimesNetGenGenerator.train`` (one ``obspy-gen train timesnet-gen`` flag
    each; architecture fields left None take :data:`DEFAULT_ARCH` or the ``init`` checkpoint's).

    Examples
    --------
    >>> TimesNetGenTrainSettings(phase="finetune", init="pre", d_model=8)
    Traceback (most recent call last):
    ...
    ValueError: --init fixes the architecture; drop d_model
    """

    phase: str = _help("pretrain: unconditioned, multi-station corpus; finetune: "
                       "station-conditioned on target stations.", default="pretrain",
                       choices=PHASES)
    stations: tuple = _help("Stations to use (comma-separated or repeated); finetune: the "
                            "targets (default all in --data).", default=())
    exclude_stations: tuple = _help("Stations left out of pre-training (e.g. the fine-tuning "
                                    "targets).", default=())
    init: str | None = _help("Checkpoint to start fine-tuning from (phase-1 output or "
                             "shipped name).")
    epochs: int = _help("Passes over the training records.", default=10)
    batch_size: int = _help("Records per optimiser step.", default=16)
    lr: float | None = _help("AdamW learning rate (default 1e-3 pretrain, 5e-4 finetune).")
    weight_decay: float = _help("AdamW weight decay.", default=1e-2)
    val_fraction: float = _help("Validation share: whole stations (pretrain) or each "
                                "station's records (finetune).", default=0.15)
    seed: int = _help("Seed of initialisation, splits and batches.", default=0)
    amp: str | None = _help("Mixed precision on CUDA.", choices=("bf16", "fp16"))
    seq_len: int | None = _help("Samples per record (default 6000; pretrain / from-scratch "
                                "only).")
    d_model: int | None = _help("Model width.")
    d_ff: int | None = _help("Feed-forward width.")
    e_layers: int | None = _help("Encoder TimesBlocks.")
    d_layers: int | None = _help("Decoder TimesBlocks.")
    num_kernels: int | None = _help("Inception kernels per block.")
    top_k: int | None = _help("Periods per TimesBlock.")
    latent_channels: int | None = _help("Channels of the latent code.")
    latent_stride: int | None = _help("Time downsampling of the latent code.")
    latent_noise: float = _help("Latent noise injected in training (units of each station's "
                                "latent std).", default=0.0)
    synthetic: bool | None = _help("Say whether --data is synthetic (recorded in the "
                                   "checkpoint).")
    pattern: str = _help("File name pattern inside --data.", default="*.mseed")
    centre: str | None = _help("Where each record's window is centred: auto (the record's "
                               "middle when it fits, else its PGA), record, pga, p_arrival "
                               "(needs P labels); default auto, finetune --init: as init.",
                               choices=("auto", "record", "pga", "p_arrival"))
    config: str | None = _help("Named architecture: default (the shipped size), large-cpu "
                               "(2+2 blocks), paper (seq 6000, d_model 128, d_ff 256, 2+2 "
                               "blocks, 6 kernels, top-k 2: a GPU model); single fields "
                               "override it.", choices=("default", "large-cpu", "paper"))
    spectral_loss: float = _help("Weight of the ln smoothed amplitude spectra error in the "
                                 "loss (0.5-25 Hz, Konno-Ohmachi b=40).", default=0.0)
    hv_loss: float = _help("Weight of the ln H/V error in the loss (the HVSR's H/V, "
                           "0.5-25 Hz).", default=0.0)
    velocity_loss: float = _help("Weight of the relative velocity error in the loss (trains "
                                 "away offsets and long-period error).", default=0.0)
    husid_loss: float = _help("Weight of the Husid curve error in the loss (mean absolute "
                              "difference of the normalised cumulative Arias intensity per "
                              "channel: pins D5-95).", default=0.0)
    envelope_loss: float = _help("Weight of the ln smoothed envelope error in the loss "
                                 "(1-s RMS envelopes per channel; finetune only).", default=0.0)
    crossover: float = _help("Hz: below it a record travels by the linear low-band code of "
                             "the latent instead of the decoder (which demodulates strong "
                             "motion into spurious low-frequency content); finetune: added "
                             "to --init's network (0 = as --init has it), pretrain: part of "
                             "the architecture. The shipped model: 4.", default=0.0)

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError(f"phase={self.phase!r} is not one of {', '.join(PHASES)}")
        for name, lo in (("epochs", 1), ("batch_size", 1), ("seq_len", 16), ("d_model", 1),
                         ("d_ff", 1), ("e_layers", 0), ("d_layers", 0), ("num_kernels", 1),
                         ("top_k", 1), ("latent_channels", 1), ("latent_stride", 1)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or int(v) != v or v < lo):
                raise ValueError(f"{name}={v!r} must be an integer >= {lo}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} must be > 0")
        if not self.weight_decay >= 0 or not self.latent_noise >= 0:
            raise ValueError("weight_decay and latent_noise must be >= 0")
        if not 0 <= self.val_fraction <= 0.9:
            raise ValueError(f"val_fraction={self.val_fraction!r} must be in [0, 0.9]")
        if self.amp not in (None, "bf16", "fp16"):
            raise ValueError(f"amp={self.amp!r} is not one of bf16, fp16")
        if isinstance(self.stations, str):
            self.stations = (self.stations,)
        if isinstance(self.exclude_stations, str):
            self.exclude_stations = (self.exclude_stations,)
        if self.centre not in (None, "auto", "record", "pga", "p_arrival"):
            raise ValueError(f"centre={self.centre!r} is not one of auto, record, pga, "
                             f"p_arrival")
        if self.config not in (None, "default", "large-cpu", "paper"):
            raise ValueError(f"config={self.config!r} is not one of default, large-cpu, paper")
        for name in ("velocity_loss", "spectral_loss", "hv_loss", "husid_loss",
                     "envelope_loss", "crossover"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0")
        if self.phase == "pretrain" and self.envelope_loss:
            raise ValueError("envelope_loss is a finetune option (the pretraining loss has "
                             "no envelope term)")
        if self.phase == "finetune" and self.init is not None and (self.architecture()
                                                                   or self.config):
            raise ValueError(f"--init fixes the architecture; drop "
                             f"{', '.join(sorted(self.architecture()) + (['config'] if self.config else []))}")

    def architecture(self) -> dict:
        """The architecture fields that were set."""
        return {k: getattr(self, k) for k in DEFAULT_ARCH if getattr(self, k, None) is not None}


def _codes(values) -> list:
    out = []
    for v in values or ():
        out += [c.strip() for c in str(v).split(",") if c.strip()]
    return out


def run_training(data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
    """Train TimesNet-Gen as ``settings`` say (the plugin's training hook).

    Parameters
    ----------
    data : str or Path
        Folder of records (searched recursively for ``settings.pattern``).
    out : str or Path
        Checkpoint base path (``out.safetensors`` + ``out.json``, every epoch).
    settings : TimesNetGenTrainSettings, optional
    device : str, optional
    resume : bool
        Continue from ``out``'s training state.
    log : callable, optional
        Receives progress lines; ``None`` = quiet.

    Returns
    -------
    dict
        Training history (``epochs``: list of dicts with ``epoch``, ``train_loss``,
        ``val_loss``, ``seconds``, ``records_per_s``; ``world_size``; ``phase``).
    """
    s = settings if settings is not None else TimesNetGenTrainSettings()
    if not os.path.isdir(data):
        raise ValueError(f"{data}: not a directory of records")
    quiet = log is None
    rank = int(os.environ.get("RANK", "0"))
    arch = s.architecture()
    if s.config is not None:
        from obspy_gen.plugins.timesnet_gen.model import NAMED_CONFIGS
        arch = {**NAMED_CONFIGS[s.config], **arch}
    centre = s.centre
    if s.init is None:
        seq_len = arch.get("seq_len") or DEFAULT_ARCH["seq_len"]
    else:
        from obspy_gen.io.checkpoints import read_config
        from obspy_gen.torchkit import resolve_checkpoint
        path = resolve_checkpoint(s.init, "obspy_gen.plugins.timesnet_gen")
        init_cfg = read_config(path, "timesnet-gen")
        seq_len = int(init_cfg["architecture"]["seq_len"])
        if centre is None and s.phase == "finetune":
            centre = (init_cfg.get("normalisation") or {}).get("centre") or "record"
    centre = centre or "auto"
    ds = load_records(data, seq_len, pattern=s.pattern, centre=centre)
    mat = materialise(ds, quiet or rank > 0,
                      _codes(s.stations) or None if s.phase == "finetune" else None)
    mat.source = str(data)
    mat.centre = centre
    common = dict(epochs=s.epochs, batch_size=s.batch_size, weight_decay=s.weight_decay,
                  seed=s.seed, device=device, val_fraction=s.val_fraction, resume=resume,
                  quiet=quiet, log=log or (lambda line: None), amp=s.amp,
                  synthetic=s.synthetic, latent_noise=s.latent_noise, materialised=mat)
    if s.lr is not None:
        common["lr"] = s.lr
    if s.phase == "pretrain":
        if s.crossover:
            arch = {**arch, "crossover": float(s.crossover)}
        history = pretrain(data, out, arch=arch or None, stations=_codes(s.stations) or None,
                           exclude_stations=_codes(s.exclude_stations),
                           velocity_loss=s.velocity_loss, spectral_loss=s.spectral_loss,
                           hv_loss=s.hv_loss, husid_loss=s.husid_loss, **common)
    else:
        history = finetune(data, out, init=s.init, stations=_codes(s.stations) or None,
                           arch=arch or None, velocity_loss=s.velocity_loss,
                           spectral_loss=s.spectral_loss, hv_loss=s.hv_loss,
                           husid_loss=s.husid_loss, envelope_loss=s.envelope_loss,
                           crossover=s.crossover, **common)
    history.setdefault("phase", s.phase)
    return history

"""Training of the CVAE baseline (TimesNet-Gen paper, Sec. II-B and II-D) on the shared loop.

Phases (:class:`CVAETrainSettings` ``phase``):

``pretrain``
    The unconditioned VAE (prior N(0, I)) on a multi-station corpus, validated on held-out
    stations; sets the image scaling from its training records (the paper's phase 0).
``finetune``
    Station conditioning on the target stations, validated on held-out records of each:
    ``epochs`` epochs of reconstruction + KL to the station prior N(tiled one-hot, I)
    (sub-phase 1), then ``cluster_epochs`` more adding ``cluster_weight`` x the DEC clustering
    loss on the latent means, with cluster centres started at each station's mean code
    (sub-phase 2, Eq. 3-5). Starts from a pre-trained checkpoint (``init``) or from scratch.

Both run through :func:`obspy_gen.torchkit.fit` (AdamW, resume, DDP, AMP) and
share the record handling of TimesNet-Gen (:mod:`obspy_gen.torchkit.records`: reading,
preprocessing into memory, station-wise and per-station splits).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from obspy_gen.plugins.cvae.store import PLUGIN, load_model, save_model
from obspy_gen.torchkit.records import load_records, materialise, record_split, station_split
from obspy_gen.torchkit.records import subset as _subset

PHASES = ("pretrain", "finetune")


def _help(text, *, default, **meta):
    # A settings field with its flag's help (and e.g. choices) in the metadata.
    return field(default=default, metadata={"help": text, **meta})


@dataclass
class CVAETrainSettings:
    """Settings of one CVAE training run (``obspy-gen train cvae`` builds its flags from
    these fields; each field's ``metadata["help"]`` is its flag's help).

    Examples
    --------
    >>> s = CVAETrainSettings(phase="finetune", epochs=2, cluster_epochs=1)
    >>> s.total_epochs, s.arch()["latent_dim"]
    (3, 510)
    >>> CVAETrainSettings(phase="nope")
    Traceback (most recent call last):
    ...
    ValueError: phase='nope' is not one of pretrain, finetune
    """

    phase: str = _help("pretrain: unconditioned VAE on a corpus; finetune: station priors "
                       "(+ DEC clustering for the last --cluster-epochs).",
                       default="finetune", choices=PHASES)
    epochs: int = _help("Epochs (finetune: of the prior-only sub-phase).", default=20)
    cluster_epochs: int = _help("finetune: further epochs adding the DEC clustering loss.",
                                default=5)
    cluster_weight: float = _help("Weight of the DEC clustering loss (paper: 100).",
                                  default=100.0)
    beta: float = _help("Weight of the KL term.", default=1.0)
    db_range: float = _help("Dynamic range (dB) of each amplitude row's [0, 1] scaling below "
                            "its maximum (set from the data when training from scratch).",
                            default=80.0)
    batch_size: int = _help("Records per batch.", default=16)
    lr: float = _help("AdamW learning rate.", default=1e-3)
    weight_decay: float = _help("AdamW weight decay.", default=1e-2)
    val_fraction: float = _help("Validation share: whole stations (pretrain) or each "
                                "station's records (finetune).", default=0.15)
    seed: int = _help("Seed of splits, initialisation and shuffling.", default=0)
    stations: tuple = _help("Stations to use (finetune: the targets, in one-hot order; "
                            "default all in the data).", default=())
    exclude_stations: tuple = _help("Stations left out of pre-training (the targets).",
                                    default=())
    init: str | None = _help("Checkpoint to start from (a pretrain output or shipped name); "
                             "it fixes the architecture.", default=None)
    latent_dim: int = _help("Latent size (paper: 510; a multiple of the station count).",
                            default=510)
    widths: tuple = _help("Channels of the four encoder convolutions.",
                          default=(16, 32, 32, 64))
    n_fft: int = _help("STFT window length (samples).", default=128)
    hop: int = _help("STFT hop (samples).", default=64)
    seq_len: int = _help("Samples per record (60 s at 100 Hz).", default=6000)
    amp: str | None = _help("Mixed precision on CUDA (bf16 or fp16).", default=None,
                            choices=("bf16", "fp16"))
    synthetic: bool | None = _help("Whether the data are synthetic (recorded in the "
                                   "checkpoint).", default=None)
    description: str = _help("Free text on the data (recorded in the checkpoint).",
                             default="")
    pattern: str = _help("File name pattern inside the data folder.", default="*.mseed")

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError(f"phase={self.phase!r} is not one of {', '.join(PHASES)}")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if int(self.cluster_epochs) < 0:
            raise ValueError(f"cluster_epochs must be >= 0, got {self.cluster_epochs!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if not self.db_range > 0:
            raise ValueError(f"db_range must be positive, got {self.db_range!r}")
        for name in ("cluster_weight", "beta"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        self.stations = tuple(self.stations or ())
        self.exclude_stations = tuple(self.exclude_stations or ())
        self.widths = tuple(int(w) for w in self.widths)

    @property
    def total_epochs(self) -> int:
        """Epochs of the whole run (finetune: both sub-phases)."""
        return self.epochs + (self.cluster_epochs if self.phase == "finetune" else 0)

    def arch(self) -> dict:
        """Architecture arguments given by these settings."""
        return dict(seq_len=self.seq_len, n_fft=self.n_fft, hop=self.hop, widths=self.widths,
                    latent_dim=self.latent_dim)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("stations", "exclude_stations", "widths"):
            d[k] = list(d[k])
        return d

    @classmethod
    def field_help(cls) -> dict:
        """``{field name: help text}``."""
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


def normalisation_range(model, mat, indices, batch_size=32, db_range=None):
    """Per image channel and frequency row minimum and maximum over records ``indices``
    (STFT frames beyond the record and amplitudes at the dB floor left out; with
    ``db_range``, amplitude minima at most that many dB below the row's maximum).

    Examples
    --------
    >>> from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    >>> from obspy_gen.torchkit.records import Materialised
    >>> model = CVAE(CVAEConfig(seq_len=1000, n_fft=64, hop=32, widths=(2, 2, 2, 2),
    ...                         latent_dim=4))
    >>> rng = np.random.default_rng(0)
    >>> mat = Materialised(rng.normal(size=(3, 3, 1000)).astype("f4"), np.zeros((3, 3)),
    ...                    np.ones((3, 3)), ["A"] * 3)
    >>> lo, hi = normalisation_range(model, mat, [0, 1, 2])
    >>> lo.shape, bool((hi > lo).all())
    ((6, 32), True)
    """
    import torch

    from obspy_gen.plugins.cvae.model import AMIN, spectrogram
    cfg = model.config
    n_frames = 1 + cfg.seq_len // cfg.hop
    floor = 20.0 * np.log10(AMIN) + 1.0
    lo = torch.full((6, cfg.freq_bins), float("inf"), dtype=torch.float64)
    hi = torch.full((6, cfg.freq_bins), float("-inf"), dtype=torch.float64)
    idx = list(indices)
    with torch.no_grad():
        for start in range(0, len(idx), batch_size):
            part = idx[start:start + batch_size]
            x = torch.from_numpy(mat.data[part] * mat.std[part][:, :, None].astype(np.float32))
            img = spectrogram(x.double(), cfg)[..., :n_frames]
            masked = img.clone()
            masked[:, :3][masked[:, :3] <= floor] = float("inf")
            lo = torch.minimum(lo, masked.amin(dim=(0, 3)))
            hi = torch.maximum(hi, img.amax(dim=(0, 3)))
    lo = torch.where(torch.isfinite(lo), lo, torch.full_like(lo, floor))
    if db_range is not None:
        lo[:3] = torch.maximum(lo[:3], hi[:3] - float(db_range))
    return lo.float().numpy(), hi.float().numpy()


class Objective:
    """``loss_fn(net, batch)`` for :func:`~obspy_gen.torchkit.base.fit`: reconstruction
    (sum of squared errors of the [0, 1] image) + ``beta`` x KL to the prior, plus
    ``cluster_weight`` x the DEC loss once :meth:`start_epoch` reaches ``cluster_from``.

    Examples
    --------
    >>> import torch
    >>> from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    >>> model = CVAE(CVAEConfig(seq_len=1000, n_fft=64, hop=32, widths=(2, 2, 2, 2),
    ...                         latent_dim=4, n_stations=2))
    >>> batch = {"data": torch.randn(2, 3, 1000), "std": torch.ones(2, 3),
    ...          "station_index": torch.tensor([0, 1])}
    >>> obj = Objective(cluster_from=1)
    >>> float(obj(model, batch).detach()) > 0, obj.clustering
    (True, False)
    """

    def __init__(self, beta=1.0, cluster_weight=100.0, cluster_from=None, mat=None,
                 indices=(), station_order=()):
        self.beta, self.cluster_weight = float(beta), float(cluster_weight)
        self.cluster_from = cluster_from
        self.mat, self.indices, self.order = mat, list(indices), list(station_order)
        self.clustering = False

    def __call__(self, net, batch):
        import torch

        from obspy_gen.plugins.cvae.model import (clustering_loss, kl_to_prior,
                                                  reconstruction_loss)
        m = getattr(net, "module", net)
        x = batch["data"] * batch["std"][:, :, None]
        with torch.no_grad():
            img = m.image(x.float())
        recon, mu, logvar = net(img)
        prior = m.prior_mean(batch["station_index"])
        loss = (reconstruction_loss(recon.float(), img)
                + self.beta * kl_to_prior(mu.float(), logvar.float(), prior)).mean()
        if m.config.conditioned:
            if self.clustering:
                loss = loss + self.cluster_weight * clustering_loss(mu.float(), m.centres)
            else:  # keeps every parameter in the graph (DistributedDataParallel)
                loss = loss + 0.0 * m.centres.sum()
        return loss

    def start_epoch(self, model, epoch):
        """Switch the clustering term on at ``cluster_from``; centres start at each
        station's mean latent code of the training records."""
        self.clustering = self.cluster_from is not None and epoch >= self.cluster_from
        if self.clustering and epoch == self.cluster_from:
            self.init_centres(model)

    def init_centres(self, model, batch_size=32):
        import torch
        dev = next(model.parameters()).device
        was = model.training
        model.eval()
        order = {s: k for k, s in enumerate(self.order)}
        sums = torch.zeros_like(model.centres, dtype=torch.float64)
        counts = torch.zeros(len(self.order), dtype=torch.float64, device=dev)
        with torch.no_grad():
            for start in range(0, len(self.indices), batch_size):
                part = self.indices[start:start + batch_size]
                x = torch.from_numpy(self.mat.data[part] *
                                     self.mat.std[part][:, :, None].astype(np.float32))
                mu, _ = model.encode(model.image(x.to(dev)))
                st = torch.tensor([order[self.mat.station[i]] for i in part], device=dev)
                sums.index_add_(0, st, mu.double())
                counts.index_add_(0, st, torch.ones(len(part), dtype=torch.float64,
                                                    device=dev))
            keep = counts > 0
            model.centres[keep] = (sums[keep] / counts[keep, None]).to(model.centres.dtype)
        model.train(was)


def _station_meta(sub, targets) -> list:
    out = []
    for s in targets:
        idx = sub.indices([s])
        m = sub.meta[idx[0]] if sub.meta else {}
        out.append({"station": s, "network": m.get("network", "SY"),
                    "location": m.get("location", ""), "n_records": len(idx),
                    "units": m.get("units", "m/s**2")})
    return out


def train(data, out, settings=None, *, device=None, resume=False, log=None, quiet=False,
          materialised=None, source=None) -> dict:
    """Train the CVAE (one phase); checkpoint ``out`` after every epoch; returns the history.

    Parameters
    ----------
    data : folder, StationDataset, Stream or list of Streams
        Records (a folder is searched recursively for ``settings.pattern``; wrong sampling
        rates are resampled, short records zero-padded).
    out : str or Path
        Checkpoint base path (``out.safetensors`` + ``out.json``; training state next to it).
    settings : CVAETrainSettings
    device : str, optional
        Default CUDA when available.
    resume : bool
        Continue from the training state next to ``out``.
    log : callable, optional
        Receives one line per epoch.
    quiet : bool
        No progress bars.
    materialised : Materialised, optional
        Already preprocessed records (skips reading ``data``).
    source : str, optional
        Where the data came from (default: the folder given).

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> st = read()
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> s = CVAETrainSettings(phase="finetune", epochs=1, cluster_epochs=1, seq_len=1000,
    ...                       n_fft=64, hop=32, widths=(2, 2, 2, 2), latent_dim=4)
    >>> h = train([st, st.copy()], out, s, quiet=True, device="cpu")
    >>> len(h["epochs"]), load_model(out).station_codes
    (2, ['RJOB'])
    """
    import os

    from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    from obspy_gen.torchkit.base import (TrainSettings, fit, resolve_checkpoint,
                                              seed_everything)
    settings = settings or CVAETrainSettings()
    seed_everything(settings.seed)
    base = None
    if settings.init is not None:
        base = load_model(resolve_checkpoint(settings.init, "obspy_gen.plugins.cvae"), "cpu")
        arch0 = base.arch
    else:
        arch0 = CVAEConfig(**settings.arch())
    finetune = settings.phase == "finetune"
    if materialised is None:
        ds = load_records(data, arch0.seq_len, sampling_rate=arch0.sampling_rate,
                          pattern=settings.pattern)
        materialised = materialise(ds, quiet, list(settings.stations) or None
                                   if finetune else None)
        materialised.source = str(data) if isinstance(data, (str, os.PathLike)) \
            else "in memory"
    mat = materialised
    if source is not None:
        mat.source = str(source)
    if finetune:
        targets = list(settings.stations) or mat.stations
        missing = [s for s in targets if s not in set(mat.station)]
        if missing:
            raise ValueError(f"no records of station(s) {', '.join(missing)} in the data; "
                             f"found: {', '.join(mat.stations[:20])}")
        sub = _subset(mat, mat.indices(targets))
        tr, va = record_split(sub, settings.val_fraction, settings.seed, targets)
        if arch0.latent_dim % len(targets):
            raise ValueError(f"latent_dim={arch0.latent_dim} is not a multiple of the "
                             f"{len(targets)} target stations (the prior means tile their "
                             f"one-hot codes); choose e.g. "
                             f"{max(1, arch0.latent_dim // len(targets)) * len(targets)}")
        arch = arch0.replace(n_stations=len(targets))
    else:
        keep = set(settings.stations) if settings.stations else set(mat.stations)
        keep -= set(settings.exclude_stations)
        idx = mat.indices(keep)
        if not idx:
            raise ValueError("no records left for pre-training (check stations/exclusions)")
        sub = _subset(mat, idx)
        targets = sub.stations
        tr, va = station_split(sub, settings.val_fraction, settings.seed)
        arch = arch0.replace(n_stations=0)
    model = CVAE(arch)
    if base is not None:
        if base.arch.conditioned and finetune and base.station_codes != targets:
            raise ValueError(f"{settings.init}: conditioned on {base.station_codes}, not "
                             f"{targets}; start from an unconditioned (pre-trained) "
                             f"checkpoint")
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in base.model.state_dict().items()
                               if k in own and v.shape == own[k].shape}, strict=False)
    else:
        model.set_normalisation(*normalisation_range(model, sub, tr,
                                                     db_range=settings.db_range))
    fit_settings = TrainSettings(epochs=settings.total_epochs, batch_size=settings.batch_size,
                                 lr=settings.lr, weight_decay=settings.weight_decay,
                                 seed=settings.seed, amp=settings.amp)
    objective = Objective(settings.beta, settings.cluster_weight,
                          settings.epochs if finetune and settings.cluster_epochs else None,
                          sub, tr, targets)
    base_name = None
    if base is not None:
        base_name = base.config.get("base_checkpoint") if base.arch.conditioned else base.name
    training = {
        "phase": settings.phase, "synthetic": settings.synthetic,
        "description": settings.description, "source": mat.source,
        "n_records": len(sub), "n_stations": len(sub.stations),
        "stations": sub.stations if len(sub.stations) <= 50 else f"{len(sub.stations)} stations",
        "init": None if base is None else base.name,
        "validation": ({"kind": "per-station records", "fraction": settings.val_fraction,
                        "n_records": len(va)} if finetune else
                       {"kind": "station-wise", "fraction": settings.val_fraction,
                        "stations": sorted({sub.station[i] for i in va})}),
        "loss": "sum of squared image errors + beta KL(q || station prior)"
                + (f"; + {settings.cluster_weight:g} DEC KL(P || Q) from epoch "
                   f"{settings.epochs + 1}" if finetune and settings.cluster_epochs else ""),
        # The start checkpoint by name, not by the folder it was read from.
        "settings": {**settings.to_dict(), "init": None if base is None else base.name},
        "loop": fit_settings.to_dict(),
    }
    if base is not None and base.config.get("training"):
        prev = base.config["training"]
        training["pretraining"] = {k: prev.get(k) for k in (
            "phase", "synthetic", "description", "n_records", "n_stations", "source",
            "epochs_done", "train_seconds")}
    station_meta = _station_meta(sub, targets) if finetune else []
    t0 = time.perf_counter()

    def save(m, path, epoch, history):
        save_model(path, m, stations=station_meta, base=base_name,
                   training={**training, "epochs_done": epoch, "history": history["epochs"],
                             "train_seconds": round(time.perf_counter() - t0, 1)})

    def load(m, path):
        from obspy_gen.io.checkpoints import load_checkpoint
        from obspy_gen.torchkit.base import load_state
        load_state(m, load_checkpoint(path, plugin=PLUGIN), "model.")

    order = targets if finetune else sub.stations
    return fit(model, sub.torch(tr, order), sub.torch(va, order) if va else None, objective,
               out=out, save_fn=save, settings=fit_settings, device=device, resume=resume,
               quiet=quiet, log=log, load_fn=load, on_epoch_start=objective.start_epoch)


__all__ = ["train", "CVAETrainSettings", "Objective", "normalisation_range", "PHASES"]

"""The conditional VAE baseline of the TimesNet-Gen paper (Sec. II-B): network and transforms.

Layout::

    x (B, 3, T) m/s^2 -- STFT per component (Hann window n_fft, hop)
      -> 6 image channels: amplitude in dB (N, E, Z) and phase unwrapped along time (N, E, Z),
         Nyquist row dropped, frames zero-padded to a multiple of 16, each channel and
         frequency row scaled to [0, 1] with the training set's minimum and maximum
      -> 4 x [Conv2d 3x3 stride 2 -> LeakyReLU] -> flatten -> Linear -> mu, Linear -> log var
      -> z = mu + sigma * eps                                   (latent_dim = 510 in the paper)
      -> Linear -> reshape -> 3 x [ConvTranspose2d 3x3 stride 2 -> LeakyReLU]
      -> ConvTranspose2d 3x3 stride 2 -> sigmoid                       (the image again)
      -- de-normalise, 10^(dB/20) * exp(i phase), inverse STFT -> (B, 3, T) m/s^2

Station conditioning lives in the latent prior only: station ``c`` of ``S`` has the prior
``N(mu_c, I)`` whose mean is the one-hot code of ``c`` tiled ``latent_dim / S`` times (the
paper's Eq. 2; ``latent_dim`` must be a multiple of ``S``). ``n_stations = 0`` is the
unconditioned VAE (prior ``N(0, I)``), the paper's pre-training phase. The DEC cluster centres
(Eq. 3-5) are a parameter of the conditioned network.

torch is imported by this module: import it only from torch code paths.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

#: Floor of the STFT amplitude before taking dB (m/s^2 times window sum): -160 dB.
AMIN = 1e-8


@dataclass(frozen=True)
class CVAEConfig:
    """Architecture arguments of :class:`CVAE` (stored in every checkpoint).

    Attributes
    ----------
    seq_len : int
        Samples per record (6000 = 60 s at 100 Hz, as TimesNet-Gen).
    sampling_rate : float
        Hz of the records.
    n_fft, hop : int
        STFT window length and hop in samples (Hann window); ``n_fft`` must be even.
    widths : tuple of int
        Channels of the four encoder convolutions (the decoder mirrors them).
    latent_dim : int
        Size of the latent code (paper: 510 = 5 stations x 102).
    n_stations : int
        Stations of the conditional prior; 0 = unconditioned (prior N(0, I)).
    negative_slope : float
        Of the LeakyReLUs.

    Examples
    --------
    >>> cfg = CVAEConfig(seq_len=1000, n_fft=64, hop=32, latent_dim=10, n_stations=5)
    >>> cfg.image_shape, cfg.frames
    ((6, 32, 32), 32)
    >>> CVAEConfig.from_dict(cfg.to_dict()) == cfg
    True
    >>> CVAEConfig(latent_dim=512, n_stations=5)
    Traceback (most recent call last):
    ...
    ValueError: latent_dim=512 must be a multiple of n_stations=5 (tiled one-hot prior means)
    """

    seq_len: int = 6000
    sampling_rate: float = 100.0
    n_fft: int = 128
    hop: int = 64
    widths: tuple = (16, 32, 32, 64)
    latent_dim: int = 510
    n_stations: int = 0
    negative_slope: float = 0.2

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        for name in ("seq_len", "n_fft", "hop", "latent_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if len(self.widths) != 4 or min(self.widths) < 1:
            raise ValueError(f"widths must be four positive integers, got {self.widths!r}")
        if self.n_fft % 2 or self.n_fft < 32:
            raise ValueError(f"n_fft must be even and >= 32, got {self.n_fft}")
        if self.hop > self.n_fft:
            raise ValueError(f"hop={self.hop} must not exceed n_fft={self.n_fft}")
        if self.seq_len < self.n_fft:
            raise ValueError(f"seq_len={self.seq_len} is shorter than n_fft={self.n_fft}")
        if not (isinstance(self.n_stations, int) and self.n_stations >= 0):
            raise ValueError(f"n_stations must be a non-negative integer, got "
                             f"{self.n_stations!r}")
        if self.n_stations and self.latent_dim % self.n_stations:
            raise ValueError(f"latent_dim={self.latent_dim} must be a multiple of "
                             f"n_stations={self.n_stations} (tiled one-hot prior means)")
        if not self.sampling_rate > 0:
            raise ValueError(f"sampling_rate must be positive, got {self.sampling_rate}")

    @property
    def freq_bins(self) -> int:
        """Frequency rows of the image (the Nyquist row is dropped)."""
        return self.n_fft // 2

    @property
    def frames(self) -> int:
        """STFT frames, padded up to a multiple of 16 (four stride-2 layers)."""
        raw = 1 + self.seq_len // self.hop
        return -(-raw // 16) * 16

    @property
    def image_shape(self) -> tuple:
        """``(6, freq_bins, frames)``."""
        return (6, self.freq_bins, self.frames)

    @property
    def conditioned(self) -> bool:
        return self.n_stations > 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d) -> "CVAEConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown architecture argument(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def replace(self, **changes) -> "CVAEConfig":
        return CVAEConfig(**{**asdict(self), **changes})


# -- the spectrogram representation -------------------------------------------------------------
def unwrap(phase, dim=-1):
    """Unwrap ``phase`` along ``dim`` (as :func:`numpy.unwrap`, differentiable-free torch).

    Examples
    --------
    >>> import numpy as np
    >>> p = torch.tensor([0.0, 3.0, -3.0, -0.5])
    >>> bool(torch.allclose(unwrap(p), torch.from_numpy(np.unwrap(p.numpy()))))
    True
    """
    d = torch.diff(phase, dim=dim)
    dd = torch.remainder(d + math.pi, 2 * math.pi) - math.pi
    dd = torch.where((dd == -math.pi) & (d > 0), torch.full_like(dd, math.pi), dd)
    correction = torch.cumsum(dd - d, dim=dim)
    first = phase.narrow(dim, 0, 1)
    rest = phase.narrow(dim, 1, phase.shape[dim] - 1) + correction
    return torch.cat([first, rest], dim=dim)


def spectrogram(x, cfg: CVAEConfig):
    """``(B, 3, T)`` records (m/s^2) -> ``(B, 6, F, frames)`` dB amplitude + unwrapped phase
    (not yet scaled to [0, 1]).

    Examples
    --------
    >>> cfg = CVAEConfig(seq_len=1000, n_fft=64, hop=32, latent_dim=10)
    >>> spectrogram(torch.randn(2, 3, 1000), cfg).shape
    torch.Size([2, 6, 32, 32])
    """
    b, c, t = x.shape
    window = torch.hann_window(cfg.n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.reshape(b * c, t), cfg.n_fft, cfg.hop, window=window, center=True,
                      return_complex=True)[:, :cfg.freq_bins]
    db = 20.0 * torch.log10(spec.abs().clamp(min=AMIN))
    phase = unwrap(torch.angle(spec), dim=-1)
    img = torch.cat([db.reshape(b, c, cfg.freq_bins, -1),
                     phase.reshape(b, c, cfg.freq_bins, -1)], dim=1)
    pad = cfg.frames - img.shape[-1]
    if pad > 0:  # padding frames: amplitude floor, phase held
        img = torch.cat([img, img[..., -1:].expand(-1, -1, -1, pad).clone()], dim=-1)
        img[:, :c, :, -pad:] = 20.0 * math.log10(AMIN)
    return img


def waveform(img, cfg: CVAEConfig):
    """Inverse of :func:`spectrogram`: ``(B, 6, F, frames)`` -> ``(B, 3, seq_len)`` m/s^2.

    Examples
    --------
    >>> cfg = CVAEConfig(seq_len=1000, n_fft=64, hop=32, latent_dim=10)
    >>> t = torch.arange(1000, dtype=torch.float64) / 100.0          # 10 s at 100 Hz
    >>> x = torch.stack([torch.sin(6.3 * t), torch.sin(45.9 * t) * torch.exp(-t / 3),
    ...                  torch.cos(7.0 * t)])[None]
    >>> y = waveform(spectrogram(x, cfg), cfg)      # exact but for the Nyquist row dropped
    >>> bool((x - y)[..., 64:-64].abs().max() < 1e-4)
    True
    """
    b = img.shape[0]
    n_frames = 1 + cfg.seq_len // cfg.hop
    db, phase = img[:, :3, :, :n_frames], img[:, 3:, :, :n_frames]
    amp = torch.pow(10.0, db / 20.0)
    amp = torch.where(amp <= AMIN * 1.0001, torch.zeros_like(amp), amp)
    spec = torch.polar(amp, phase).reshape(b * 3, cfg.freq_bins, n_frames)
    spec = torch.cat([spec, torch.zeros_like(spec[:, :1])], dim=1)  # the Nyquist row
    window = torch.hann_window(cfg.n_fft, device=img.device, dtype=amp.dtype)
    x = torch.istft(spec, cfg.n_fft, cfg.hop, window=window, center=True, length=cfg.seq_len)
    return x.reshape(b, 3, cfg.seq_len)


# -- the network ----------------------------------------------------------------------------------
class CVAE(nn.Module):
    """Convolutional VAE on STFT images with a station-conditional Gaussian prior.

    Buffers ``norm_lo``/``norm_hi`` (6, F) scale the image to [0, 1] (set from training data
    with :meth:`set_normalisation`; saved with the weights).

    Examples
    --------
    >>> cfg = CVAEConfig(seq_len=1000, n_fft=64, hop=32, widths=(4, 4, 4, 4), latent_dim=10,
    ...                  n_stations=5)
    >>> model = CVAE(cfg)
    >>> model.prior_mean(torch.tensor([1]))[0].tolist()
    [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    >>> img = model.normalise(spectrogram(torch.randn(2, 3, 1000), cfg))
    >>> recon, mu, logvar = model(img)
    >>> recon.shape, mu.shape
    (torch.Size([2, 6, 32, 32]), torch.Size([2, 10]))
    """

    #: Parameters the shared training loop does not decay (the DEC centres).
    no_weight_decay = ("centres",)

    def __init__(self, config: CVAEConfig):
        super().__init__()
        self.config = config
        w = config.widths
        slope = config.negative_slope
        chans = (6,) + w
        enc = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            enc += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(slope)]
        self.encoder = nn.Sequential(*enc)
        self.h, self.w = config.freq_bins // 16, config.frames // 16
        flat = w[-1] * self.h * self.w
        self.fc_mu = nn.Linear(flat, config.latent_dim)
        self.fc_logvar = nn.Linear(flat, config.latent_dim)
        self.fc_dec = nn.Linear(config.latent_dim, flat)
        dec = []
        back = tuple(reversed(chans))  # (w4, w3, w2, w1, 6)
        for k, (cin, cout) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1))
            dec.append(nn.LeakyReLU(slope) if k < 3 else nn.Sigmoid())
        self.decoder = nn.Sequential(*dec)
        f = config.freq_bins
        self.register_buffer("norm_lo", torch.zeros(6, f))
        self.register_buffer("norm_hi", torch.ones(6, f))
        if config.conditioned:
            self.centres = nn.Parameter(self.prior_mean(torch.arange(config.n_stations)))

    # representation
    def set_normalisation(self, lo, hi) -> None:
        """Per channel and frequency row minimum and maximum of the training images."""
        lo = torch.as_tensor(lo, dtype=torch.float32)
        hi = torch.as_tensor(hi, dtype=torch.float32)
        self.norm_lo.copy_(lo)
        self.norm_hi.copy_(torch.maximum(hi, lo + 1e-3))

    def normalise(self, img):
        lo, hi = self.norm_lo[None, :, :, None], self.norm_hi[None, :, :, None]
        return ((img - lo) / (hi - lo)).clamp(0.0, 1.0)

    def denormalise(self, img):
        lo, hi = self.norm_lo[None, :, :, None], self.norm_hi[None, :, :, None]
        return img * (hi - lo) + lo

    def image(self, x):
        """Records ``(B, 3, T)`` (m/s^2) -> normalised images in [0, 1]."""
        return self.normalise(spectrogram(x, self.config))

    def records(self, img):
        """Normalised images -> records ``(B, 3, T)`` in m/s^2."""
        return waveform(self.denormalise(img.float()), self.config)

    # prior
    def prior_mean(self, station_index):
        """Prior means: the station's one-hot code tiled over the latent (zeros when
        unconditioned or for index -1)."""
        cfg = self.config
        n = station_index.shape[0]
        if not cfg.conditioned:
            return torch.zeros(n, cfg.latent_dim, device=station_index.device)
        onehot = F.one_hot(station_index.clamp(min=0), cfg.n_stations).float()
        onehot = onehot * (station_index >= 0).float()[:, None]
        return onehot.repeat(1, cfg.latent_dim // cfg.n_stations)

    # VAE
    def encode(self, img):
        h = self.encoder(img).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h).clamp(-20.0, 10.0)

    def decode(self, z):
        h = self.fc_dec(z).reshape(z.shape[0], self.config.widths[-1], self.h, self.w)
        return self.decoder(h)

    def forward(self, img):
        mu, logvar = self.encode(img)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar


def kl_to_prior(mu, logvar, prior_mu):
    """KL(N(mu, exp(logvar)) || N(prior_mu, I)) per record (paper Eq. 2, prior variance 1).

    Examples
    --------
    >>> z = torch.zeros(1, 4)
    >>> kl_to_prior(z, z, z).tolist(), kl_to_prior(z, z, torch.ones(1, 4)).tolist()
    ([0.0], [2.0])
    """
    return 0.5 * (logvar.exp() + (mu - prior_mu) ** 2 - 1.0 - logvar).sum(dim=1)


def soft_assignment(z, centres):
    """DEC soft assignments q_ij (Student's t, one degree of freedom; paper Eq. 3).

    Examples
    --------
    >>> q = soft_assignment(torch.zeros(1, 2), torch.tensor([[0.0, 0.0], [3.0, 0.0]]))
    >>> [round(v, 3) for v in q[0].tolist()]
    [0.909, 0.091]
    """
    d2 = torch.cdist(z, centres) ** 2
    q = 1.0 / (1.0 + d2)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q):
    """DEC's sharpened targets p_ij (paper Eq. 4), from the batch's assignments.

    Examples
    --------
    >>> p = target_distribution(torch.tensor([[0.9, 0.1], [0.2, 0.8]]))
    >>> bool(torch.allclose(p.sum(1), torch.ones(2))), bool(p[0, 0] > 0.9)
    (True, True)
    """
    w = q ** 2 / q.sum(dim=0, keepdim=True)
    return w / w.sum(dim=1, keepdim=True)


def clustering_loss(z, centres):
    """KL(P || Q) of the DEC clustering (paper Eq. 5's L_c), mean over the batch; the targets
    are held fixed (no gradient through P).

    Examples
    --------
    >>> c = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    >>> tight = clustering_loss(torch.tensor([[0.0, 0.0], [4.0, 0.0]]), c)
    >>> loose = clustering_loss(torch.tensor([[1.5, 0.0], [2.5, 0.0]]), c)
    >>> bool(tight < loose)
    True
    """
    q = soft_assignment(z, centres)
    p = target_distribution(q).detach()
    return (p * (torch.log(p.clamp(min=1e-12)) - torch.log(q.clamp(min=1e-12)))).sum(1).mean()


def reconstruction_loss(recon, target):
    """Sum of squared errors over the image per record (the Gaussian log-likelihood term)."""
    return ((recon - target) ** 2).flatten(1).sum(dim=1)


__all__ = ["CVAE", "CVAEConfig", "spectrogram", "waveform", "unwrap", "kl_to_prior",
           "soft_assignment", "target_distribution", "clustering_loss",
           "reconstruction_loss", "AMIN"]

"""The TimesNet-Gen network: a TimesNet autoencoder with a compact latent bottleneck.

Layout (Yilmaz et al., TimesNet-Gen, Sec. II-A; TimesNet: Wu et al. 2023)::

    x (B, T, 3) -- per record/channel standardise -- token conv + sinusoidal positions
      -> e_layers x [TimesBlock -> LayerNorm]                       (encoder)
      -> strided Conv1d d_model -> latent_channels, stride r         (latent z: (B, c, T/r))
      -> ConvTranspose1d back to d_model + positions
      -> d_layers x [TimesBlock -> LayerNorm]                       (decoder)
      -> Linear d_model -> 3 -- de-normalise (x std + mean)

A TimesBlock takes the FFT of its input, keeps the ``top_k`` dominant periods, folds the
sequence into a (T/p, p) grid per period (zero-padded to a multiple of p), runs an
Inception-style multi-kernel 2-D convolution (d_model -> d_ff -> GELU -> d_model), unfolds,
weights the branches by the softmax of their FFT amplitudes and adds the input (residual).

Station conditioning (``n_stations > 0``): inside every TimesBlock the one-hot station map is
concatenated to the 2-D feature map and a 1x1 convolution maps the d_model + S channels back to
d_model, before the Inception convolutions. ``n_stations=0`` is the unconditioned variant of
the same network.

The latent is *deterministic* (no KL term); it is compact -- ``latent_channels`` values every
``latent_stride`` samples instead of the reference's whole T x d_model feature map -- so that
the per-station latent pools the sampler needs fit in a shipped checkpoint.

torch is imported by this module: import it only from torch code paths.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

#: Added to the standard deviation before dividing (as the reference implementation).
EPS = 1e-5


@dataclass(frozen=True)
class TimesNetGenConfig:
    """Architecture arguments of :class:`TimesNetGen` (stored in every checkpoint).

    Attributes
    ----------
    seq_len : int
        Samples per record (6000 = 60 s at 100 Hz in the paper).
    c_in : int
        Input/output channels (N, E, Z).
    d_model, d_ff : int
        Feature width and the Inception blocks' inner width (paper: 128, 256).
    e_layers, d_layers : int
        TimesBlocks in the encoder and in the decoder (paper: 2 TimesBlocks).
    num_kernels : int
        Inception branches with kernel sizes 1, 3, ..., 2 num_kernels - 1 (paper: 6).
    top_k : int
        Dominant periods per TimesBlock (paper: 2).
    dropout : float
        Dropout after the embeddings.
    latent_channels, latent_stride : int
        Latent code: ``latent_channels`` values every ``latent_stride`` samples.
    n_stations : int
        Size of the station one-hot; 0 = unconditioned.
    sampling_rate : float
        Hz of the records the model works on (metadata; the network itself is rate-blind).
    positional : bool
        Add the reference's fixed sinusoidal positional encoding to the embeddings. Off by
        default: at seq_len 6000 its pure tones (amplitude T/2 per dimension) outweigh a
        record's spectrum in every TimesBlock's FFT, so the "dominant periods" would always
        be the encoding's (e.g. 6000 and 2000 samples for d_model 16) instead of the record's.
    distinct_periods : bool
        Neighbouring FFT bins of one spectral peak often give the same integer period
        ``T // k`` (e.g. bins 700 and 701 of 6000 samples: both 8); the reference then runs
        the same branch twice. True: such duplicates are run once with their softmax weights
        added -- exactly the same output, fewer convolutions.
    crossover : float
        Hz; 0 = off (the paper's decoder). Otherwise the record below ``crossover`` travels
        by a *linear* code: ``c_in`` more latent channels carry each channel's own waveform
        band-limited to ``2.5 crossover`` Hz and resampled to the latent rate (exact FFT
        resampling, lossless for that band), and the output is that band times ``L(f)`` plus
        the decoder's output times ``1 - L(f)`` (``L`` an 8th-order Butterworth amplitude,
        zero-phase; the two paths are complementary). Why: the decoder's nonlinearities
        demodulate a record's strong high-frequency motion into low-frequency content that
        follows its envelope (in the 1+1-block default 3-8x the record's own horizontal
        energy at 0.7-1 Hz, 30-100x at 0.25-0.5 Hz); it lifts H/V there and makes spurious
        f0 peaks. A linear code cannot demodulate. The latent then has
        ``latent_channels + c_in`` channels (:attr:`latent_shape`).

    Examples
    --------
    >>> cfg = TimesNetGenConfig(seq_len=600, d_model=8, d_ff=8, latent_stride=10)
    >>> cfg.latent_shape
    (8, 60)
    >>> TimesNetGenConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    seq_len: int = 6000
    c_in: int = 3
    d_model: int = 16
    d_ff: int = 32
    e_layers: int = 2
    d_layers: int = 2
    num_kernels: int = 3
    top_k: int = 2
    dropout: float = 0.0
    latent_channels: int = 8
    latent_stride: int = 4
    n_stations: int = 0
    sampling_rate: float = 100.0
    positional: bool = False
    distinct_periods: bool = True
    crossover: float = 0.0

    def __post_init__(self):
        for name in ("seq_len", "c_in", "d_model", "d_ff", "num_kernels", "top_k",
                     "latent_channels", "latent_stride"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("e_layers", "d_layers", "n_stations"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not 0.0 <= self.crossover < self.sampling_rate / 2:
            raise ValueError(f"crossover must be in [0, Nyquist), got {self.crossover}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.seq_len < 2 * self.top_k + 2:
            raise ValueError(f"seq_len={self.seq_len} is too short for top_k={self.top_k}")

    @property
    def latent_length(self) -> int:
        """Time steps of the latent code, ``ceil(seq_len / latent_stride)``."""
        return -(-self.seq_len // self.latent_stride)

    @property
    def low_channels(self) -> int:
        """Low-band channels at the end of a code: ``c_in`` with a ``crossover``, else 0."""
        return self.c_in if self.crossover else 0

    @property
    def latent_shape(self) -> tuple:
        """``(channels, latent_length)`` of one record's code: ``latent_channels``, plus
        :attr:`low_channels`."""
        return (self.latent_channels + self.low_channels, self.latent_length)

    @property
    def conditioned(self) -> bool:
        """Whether the network takes a station label."""
        return self.n_stations > 0

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TimesNetGenConfig":
        """Config from :meth:`to_dict` output; unknown keys are an error (a newer format)."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown architecture argument(s) {', '.join(sorted(unknown))}")
        return cls(**data)

    def replace(self, **changes) -> "TimesNetGenConfig":
        """A copy with some arguments changed."""
        return type(self).from_dict({**self.to_dict(), **changes})

    @classmethod
    def named(cls, name: str, **changes) -> "TimesNetGenConfig":
        """A named configuration (:data:`NAMED_CONFIGS`), optionally changed.

        Examples
        --------
        >>> cfg = TimesNetGenConfig.named("paper")
        >>> cfg.seq_len, cfg.d_model, cfg.d_ff, cfg.e_layers, cfg.num_kernels, cfg.top_k
        (6000, 128, 256, 2, 6, 2)
        >>> TimesNetGenConfig.named("nope")
        Traceback (most recent call last):
        ...
        ValueError: unknown configuration 'nope'; known: paper, default, large-cpu
        """
        if name not in NAMED_CONFIGS:
            raise ValueError(f"unknown configuration {name!r}; known: "
                             f"{', '.join(NAMED_CONFIGS)}")
        return cls(**{**NAMED_CONFIGS[name], **changes})


#: Named architectures. ``paper``: the TimesNet-Gen paper's generator (seq_len 6000, d_model
#: 128, d_ff 256, 2 TimesBlocks in the encoder and 2 in the decoder, 6 Inception kernels,
#: top-k 2, dropout 0.1) with our compact latent (8 channels every 4 samples instead of the
#: whole 6000 x 128 feature map, so that station pools fit a checkpoint) -- a GPU model
#: (see ``benchmarks/gpu_timesnet_gen.py``); ``default``: the shipped default (d_model 16,
#: 1 block each side; trains on 2 CPU cores); ``large-cpu``: the same width with 2 blocks each
#: side (``scripts/train_default_timesnet_gen.py --grow 2,2`` warm-starts it from phase 1).
NAMED_CONFIGS = {
    "paper": dict(seq_len=6000, d_model=128, d_ff=256, e_layers=2, d_layers=2, num_kernels=6,
                  top_k=2, dropout=0.1, latent_channels=8, latent_stride=4),
    "default": dict(seq_len=6000, d_model=16, d_ff=16, e_layers=1, d_layers=1, num_kernels=3,
                    top_k=2, dropout=0.0, latent_channels=8, latent_stride=4),
    "large-cpu": dict(seq_len=6000, d_model=16, d_ff=16, e_layers=2, d_layers=2,
                      num_kernels=3, top_k=2, dropout=0.0, latent_channels=8, latent_stride=4),
}


class InceptionBlock(nn.Module):
    """Mean of parallel same-padded Conv2d with kernel sizes 1, 3, ..., 2 n - 1.

    The separate kernels are the parameters (as in TimesNet's ``Inception_Block_V1``); the
    forward pass averages them -- zero-padded to the largest size -- into ONE kernel and runs
    one convolution. Averaging same-padded convolutions is linear, so this is exact (to float
    rounding) and faster: 121 instead of 286 taps and one launch for the paper's 6 kernels
    (~2.5x on a GPU); 1.75x for a training step of the 3-kernel default on 2 CPU cores.

    Examples
    --------
    >>> import torch
    >>> blk = InceptionBlock(2, 3, num_kernels=3)
    >>> x = torch.randn(1, 2, 5, 7)
    >>> blk(x).shape
    torch.Size([1, 3, 5, 7])
    >>> bool(torch.allclose(blk(x), blk.forward_separate(x), atol=1e-5))
    True
    """

    def __init__(self, in_channels: int, out_channels: int, num_kernels: int = 6):
        super().__init__()
        self.num_kernels = num_kernels
        self.kernels = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, kernel_size=2 * i + 1, padding=i)
            for i in range(num_kernels))
        for conv in self.kernels:  # TimesNet's initialisation
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def merged_weight(self) -> tuple:
        """The single equivalent kernel and bias (mean of the zero-padded kernels)."""
        n = self.num_kernels
        weight = sum(F.pad(conv.weight, [n - 1 - i] * 4) for i, conv in enumerate(self.kernels))
        bias = sum(conv.bias for conv in self.kernels)
        return weight / n, bias / n

    def forward(self, x):
        weight, bias = self.merged_weight()
        return F.conv2d(x, weight, bias, padding=self.num_kernels - 1)

    def forward_separate(self, x):
        """The literal form: every convolution run, outputs averaged (for tests/benchmarks)."""
        return torch.stack([conv(x) for conv in self.kernels], dim=-1).mean(-1)


def fft_periods(x, k: int):
    """Top-``k`` periods of ``x`` (B, T, C) and the per-record amplitude of each.

    As TimesNet: the rfft amplitude averaged over batch and channels, DC zeroed; period
    ``T // index``. Returns (list of int periods, tensor (B, k)).

    Examples
    --------
    >>> import torch
    >>> t = torch.arange(200.0)
    >>> x = torch.sin(2 * torch.pi * t / 20)[None, :, None]
    >>> fft_periods(x, 1)[0]
    [20]
    """
    # The FFT runs in float32 even under autocast (half-precision FFTs need powers of two).
    xf = torch.fft.rfft(x.float(), dim=1)
    amp = xf.abs()
    freq = amp.mean(0).mean(-1)
    freq[0] = 0
    _, top = torch.topk(freq, k)
    top = top.clamp(min=1).tolist()
    periods = [max(1, x.shape[1] // int(i)) for i in top]
    return periods, amp.mean(-1)[:, top]


class TimesBlock(nn.Module):
    """One TimesBlock (see the module docstring), optionally station-conditioned.

    Parameters
    ----------
    d_model, d_ff, num_kernels, top_k : int
    n_stations : int
        0 = unconditioned; otherwise the one-hot size of the 1x1 conditioning convolution.

    Examples
    --------
    >>> import torch
    >>> blk = TimesBlock(4, 8, num_kernels=2, top_k=2, n_stations=3)
    >>> onehot = torch.eye(3)[[0, 2]]
    >>> blk(torch.randn(2, 50, 4), onehot).shape
    torch.Size([2, 50, 4])
    """

    def __init__(self, d_model: int, d_ff: int, num_kernels: int, top_k: int,
                 n_stations: int = 0):
        super().__init__()
        self.k = top_k
        self.n_stations = n_stations
        self.conv = nn.Sequential(InceptionBlock(d_model, d_ff, num_kernels), nn.GELU(),
                                  InceptionBlock(d_ff, d_model, num_kernels))
        if n_stations:
            self.cond = nn.Conv2d(d_model + n_stations, d_model, kernel_size=1)
            self.reset_conditioning()
        else:
            self.cond = None

    def reset_conditioning(self) -> None:
        """Identity on the features, zero on the station map: the block starts out as its
        unconditioned counterpart (fine-tuning begins from the pre-trained network)."""
        d = self.cond.out_channels
        with torch.no_grad():
            self.cond.weight.zero_()
            self.cond.weight[:, :d, 0, 0] = torch.eye(d)
            self.cond.bias.zero_()

    def _condition(self, x2d, onehot):
        # Equal to conv1x1(cat([x2d, onehot broadcast over the grid])) without materialising
        # the (B, S, H, W) one-hot map: the station part of a 1x1 kernel is a per-record bias.
        d = x2d.shape[1]
        w = self.cond.weight[:, :, 0, 0]
        out = F.conv2d(x2d, w[:, :d, None, None])
        bias = onehot.to(w.dtype) @ w[:, d:].T + self.cond.bias
        return out + bias[:, :, None, None].to(out.dtype)

    def forward(self, x, onehot=None, distinct=True):
        B, T, N = x.shape
        periods, weights = fft_periods(x, self.k)
        w = F.softmax(weights, dim=1)
        if distinct and len(set(periods)) < len(periods):
            # Equal periods give equal branches: run each once with the weights added.
            unique = sorted(set(periods), key=periods.index)
            w = torch.stack([w[:, [i for i, p in enumerate(periods) if p == q]].sum(1)
                             for q in unique], dim=1)
            periods = unique
        res = []
        for p in periods:
            length = -(-T // p) * p
            out = F.pad(x, (0, 0, 0, length - T)) if length != T else x
            out = out.reshape(B, length // p, p, N).permute(0, 3, 1, 2)
            if self.cond is not None:
                if onehot is None:
                    raise ValueError("this TimesBlock is station-conditioned: give a station")
                out = self._condition(out, onehot)
            out = self.conv(out)
            out = out.permute(0, 2, 3, 1).reshape(B, -1, N)
            res.append(out[:, :T, :])
        res = torch.stack(res, dim=-1)
        w = w.to(res.dtype)
        return (res * w[:, None, None, :]).sum(-1) + x


def positional_encoding(length: int, d_model: int):
    """Fixed sinusoidal positional encoding (length, d_model), as Transformer/TimesNet.

    Examples
    --------
    >>> positional_encoding(10, 4).shape
    torch.Size([10, 4])
    """
    pe = torch.zeros(length, d_model)
    position = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                    * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: d_model // 2])
    return pe


class TimesNetGen(nn.Module):
    """TimesNet autoencoder with a compact deterministic latent (see the module docstring).

    Parameters
    ----------
    config : TimesNetGenConfig

    Examples
    --------
    >>> import torch
    >>> cfg = TimesNetGenConfig(seq_len=200, d_model=8, d_ff=8, e_layers=1, d_layers=1,
    ...                         latent_channels=4, latent_stride=10, n_stations=2)
    >>> model = TimesNetGen(cfg)
    >>> x = torch.randn(3, 3, 200)                      # (batch, channel, time)
    >>> st = torch.tensor([0, 1, 1])
    >>> z, mean, std = model.encode(x, st)
    >>> z.shape
    torch.Size([3, 4, 20])
    >>> model.decode(z, mean, std, st).shape
    torch.Size([3, 3, 200])
    """

    def __init__(self, config: TimesNetGenConfig):
        super().__init__()
        self.config = config
        c = config
        self.token = nn.Conv1d(c.c_in, c.d_model, kernel_size=3, padding=1,
                               padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.token.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.register_buffer("pe", positional_encoding(c.seq_len, c.d_model), persistent=False)
        self.dropout = nn.Dropout(c.dropout)
        self.encoder = nn.ModuleList(
            TimesBlock(c.d_model, c.d_ff, c.num_kernels, c.top_k, c.n_stations)
            for _ in range(c.e_layers))
        self.enc_norm = nn.ModuleList(nn.LayerNorm(c.d_model) for _ in range(c.e_layers))
        self.to_latent = nn.Conv1d(c.d_model, c.latent_channels, kernel_size=c.latent_stride,
                                   stride=c.latent_stride)
        self.from_latent = nn.ConvTranspose1d(c.latent_channels, c.d_model,
                                              kernel_size=c.latent_stride,
                                              stride=c.latent_stride)
        self.decoder = nn.ModuleList(
            TimesBlock(c.d_model, c.d_ff, c.num_kernels, c.top_k, c.n_stations)
            for _ in range(c.d_layers))
        if c.crossover:
            f = torch.fft.rfftfreq(c.seq_len, 1.0 / c.sampling_rate)
            self.register_buffer("low_gain", 1.0 / torch.sqrt(1.0 + (f / c.crossover) ** 16),
                                 persistent=False)
            nyquist = c.latent_length // 2 + 1
            # FFT bins the low-band code keeps: below 2.5 x crossover (L < 1e-3 above) and
            # below the latent's Nyquist frequency.
            self.low_bins = min(nyquist, int((f < 2.5 * c.crossover).sum()))
        self.dec_norm = nn.ModuleList(nn.LayerNorm(c.d_model) for _ in range(c.d_layers))
        self.projection = nn.Linear(c.d_model, c.c_in)

    # -- helpers ---------------------------------------------------------------------------
    def _onehot(self, station):
        if not self.config.conditioned:
            return None
        if station is None:
            raise ValueError("this model is station-conditioned: give station indices")
        station = torch.as_tensor(station, device=self.pe.device).long().reshape(-1)
        if station.min() < 0 or station.max() >= self.config.n_stations:
            raise ValueError(f"station index out of range 0..{self.config.n_stations - 1}")
        return F.one_hot(station, self.config.n_stations).float()

    @staticmethod
    def normalise(x):
        """Per record and channel standardisation of ``x`` (B, C, T): (x_norm, mean, std)."""
        mean = x.mean(-1, keepdim=True)
        std = torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + EPS)
        return (x - mean) / std, mean.squeeze(-1), std.squeeze(-1)

    def _check(self, x):
        c = self.config
        if x.dim() != 3 or x.shape[1] != c.c_in or x.shape[2] != c.seq_len:
            raise ValueError(f"expected input of shape (batch, {c.c_in}, {c.seq_len}), "
                             f"got {tuple(x.shape)}")

    # -- the network -------------------------------------------------------------------------
    def encode(self, x, station=None, mean=None, std=None):
        """Latent codes of records ``x`` (B, C, T) in physical units.

        Parameters
        ----------
        x : torch.Tensor (B, C, T)
            Raw records, or already standardised ones when ``mean``/``std`` are given.
        station : tensor of int, optional
            Station indices (conditioned models).
        mean, std : torch.Tensor (B, C), optional
            Statistics already removed from ``x`` (e.g. by
            :class:`~obspy_gen.io.dataset.StationDataset`, which standardises over the
            recorded part only); default: standardise here.

        Returns
        -------
        z : (B, latent_channels, latent_length), mean, std : (B, C)
        """
        self._check(x)
        if mean is None or std is None:
            xn, mean, std = self.normalise(x)
        else:
            xn = x
        onehot = self._onehot(station)
        h = self.token(xn).transpose(1, 2)
        if self.config.positional:
            h = h + self.pe[None]
        h = self.dropout(h)
        for block, norm in zip(self.encoder, self.enc_norm):
            h = norm(block(h, onehot, self.config.distinct_periods))
        h = h.transpose(1, 2)
        pad = self.config.latent_length * self.config.latent_stride - self.config.seq_len
        if pad:
            h = F.pad(h, (0, pad))
        z = self.to_latent(h)
        if self.config.crossover:
            z = torch.cat([z, self.low_code(xn).to(z.dtype)], dim=1)
        return z, mean, std

    def low_code(self, xn):
        """The low-band code of standardised records ``xn`` (B, C, T): each channel's spectrum
        below ``2.5 crossover`` Hz resampled to the latent rate (B, C, latent_length)."""
        n, m = self.config.seq_len, self.config.latent_length
        spec = torch.fft.rfft(xn.float())[..., : self.low_bins]
        return torch.fft.irfft(spec, m) * (m / n)

    def decode(self, z, mean, std, station=None, normalised=False, seam_energy=None):
        """Records (B, C, T) from latent codes; de-normalised with ``mean``/``std`` (B, C)
        unless ``normalised``."""
        onehot = self._onehot(station)
        low = None
        if self.config.crossover:
            z, low = z[:, : self.config.latent_channels], z[:, self.config.latent_channels:]
        h = self.from_latent(z)[:, :, : self.config.seq_len].transpose(1, 2)
        if self.config.positional:
            h = h + self.pe[None]
        h = self.dropout(h)
        for block, norm in zip(self.decoder, self.dec_norm):
            h = norm(block(h, onehot, self.config.distinct_periods))
        y = self.projection(h).transpose(1, 2)
        if low is not None:
            n, m = self.config.seq_len, self.config.latent_length
            g = self.low_gain
            spec = torch.fft.rfft(y.float()) * (1 - g)
            k = self.low_bins
            low_spec = torch.fft.rfft(low.float())[..., :k] * (n / m)
            both = spec[..., :k] + low_spec * g[:k]
            if seam_energy:
                both = both * self._seam_gain(spec[..., :k], low_spec * g[:k], both)
            spec = torch.cat([both, spec[..., k:]], dim=-1)
            y = torch.fft.irfft(spec, n).to(y.dtype)
        if normalised:
            return y
        return y * std[:, :, None] + mean[:, :, None]

    #: Half-width (ratio) of the frequency window over which :meth:`_seam_gain` compares
    #: energies: one sixth of an octave each side.
    SEAM_WINDOW = 2.0 ** (1.0 / 6.0)

    def _seam_gain(self, high, low, both):
        """Gain (.., k) that gives the sum ``both`` of the decoder's band ``high`` and the
        low band ``low`` (both already weighted by the crossover) the energy the two would
        have if they were in phase, compared over :attr:`SEAM_WINDOW` in frequency.

        A record's own bands are the same waveform at the crossover and add to its
        amplitude (gain 1); a generated record's two bands are different combinations of
        the station's records, partly incoherent, and their weighted sum loses up to a
        quarter of the amplitude there (more on the horizontals, whose low band is mixed
        polarised: a dip of H/V at the crossover)."""
        k = both.shape[-1]
        idx = torch.arange(k, device=both.device, dtype=torch.float64)
        lo = torch.floor(idx / self.SEAM_WINDOW).long().clamp(0, k - 1)
        hi = torch.ceil(idx * self.SEAM_WINDOW).long().clamp(0, k - 1) + 1
        width = (hi - lo).to(both.real.dtype)

        def smooth(power):
            c = torch.nn.functional.pad(torch.cumsum(power, dim=-1), (1, 0))
            return (c[..., hi] - c[..., lo]) / width

        target = smooth((high.abs() + low.abs()) ** 2)
        have = smooth(both.abs() ** 2)
        return torch.sqrt(target / have.clamp_min(1e-30 * target.amax(-1, keepdim=True)
                                                  + 1e-30)).clamp(1.0, 2.0)

    def forward(self, x, station=None, mean=None, std=None, noise_std=None):
        """Reconstruction of ``x`` (B, C, T), de-normalised (physical units).

        With ``mean``/``std`` given, ``x`` is taken as standardised and the output is in the
        units of ``x * std + mean``. ``noise_std`` (broadcastable to the latent) adds
        Gaussian noise of that standard deviation to the codes in training mode: the paper's
        noise injection, which teaches the decoder the noisy codes Eq. 1 produces.
        """
        z, mean, std = self.encode(x, station, mean, std)
        if noise_std is not None and self.training:
            z = z + noise_std.to(z.dtype) * torch.randn_like(z)
        return self.decode(z, mean, std, station)

    # -- fine-tuning ---------------------------------------------------------------------------
    def grown(self, e_layers: int, d_layers: int) -> "TimesNetGen":
        """A deeper copy: the same blocks, then new TimesBlocks that start as the identity.

        The new blocks' last Inception convolutions are zero (a TimesBlock then returns its
        input, and the LayerNorm after it re-normalises an already normalised feature map), so
        the learned affine of the last trained LayerNorm moves to the new last one, so the
        grown network computes what this one does (up to the LayerNorm's epsilon) until
        training moves them: a warm start
        for a larger model from a smaller pre-trained one.

        Examples
        --------
        >>> import torch
        >>> _ = torch.manual_seed(0)  # the LayerNorm-epsilon gap exceeds 0.02 for ~1 in 5 inits
        >>> cfg = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
        ...                         latent_channels=2, latent_stride=10)
        >>> small = TimesNetGen(cfg).eval()
        >>> big = small.grown(2, 2).eval()
        >>> x = torch.randn(2, 3, 100)
        >>> with torch.no_grad():
        ...     _ = [n.weight.uniform_(0.5, 2) for n in small.enc_norm]   # trained-like affine
        >>> big = small.grown(2, 2).eval()
        >>> diff = float((small(x) - big(x)).abs().max() / small(x).abs().max())
        >>> big.config.e_layers, diff < 0.02     # equal up to the LayerNorm's epsilon
        (2, True)
        """
        c = self.config
        if e_layers < c.e_layers or d_layers < c.d_layers:
            raise ValueError("grown() only adds blocks")
        new = TimesNetGen(c.replace(e_layers=int(e_layers), d_layers=int(d_layers)))
        missing, unexpected = new.load_state_dict(self.state_dict(), strict=False)
        if unexpected:
            raise RuntimeError(f"cannot grow: unexpected {unexpected}")
        with torch.no_grad():
            for blocks, norms, start in ((new.encoder, new.enc_norm, c.e_layers),
                                         (new.decoder, new.dec_norm, c.d_layers)):
                for block in list(blocks)[start:]:
                    for conv in block.conv[-1].kernels:
                        conv.weight.zero_()
                        conv.bias.zero_()
                if start and len(norms) > start:
                    # The learned affine of the last trained LayerNorm moves to the last new
                    # one (norm(norm(h)) = norm(h)), the trained one becomes plain.
                    last, top = norms[start - 1], norms[len(norms) - 1]
                    top.weight.copy_(last.weight)
                    top.bias.copy_(last.bias)
                    last.weight.fill_(1.0)
                    last.bias.zero_()
        return new.to(self.pe.device)

    def with_crossover(self, frequency: float) -> "TimesNetGen":
        """A copy whose output below ``frequency`` Hz travels by the linear low-band code (see
        :class:`TimesNetGenConfig`'s ``crossover``); same weights (the code has none), so its
        reconstructions are this network's above the crossover and the record's own below.

        Examples
        --------
        >>> cfg = TimesNetGenConfig(seq_len=200, d_model=4, d_ff=4, e_layers=1, d_layers=1,
        ...                         latent_channels=2, latent_stride=10)
        >>> TimesNetGen(cfg).with_crossover(2.0).config.crossover
        2.0
        """
        if float(frequency) == self.config.crossover:
            return self
        new = TimesNetGen(self.config.replace(crossover=float(frequency)))
        new.load_state_dict(self.state_dict())
        return new.to(self.pe.device)

    def with_stations(self, n_stations: int) -> "TimesNetGen":
        """A station-conditioned copy of this network (same weights, identity conditioning).

        The returned network computes exactly what this one does until fine-tuning moves the
        conditioning convolutions; that is phase 2's starting point.

        Examples
        --------
        >>> import torch
        >>> cfg = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
        ...                         latent_channels=2, latent_stride=10)
        >>> base = TimesNetGen(cfg).eval()
        >>> cond = base.with_stations(3).eval()
        >>> x = torch.randn(2, 3, 100)
        >>> bool(torch.allclose(base(x), cond(x, torch.tensor([0, 2])), atol=1e-5))
        True
        """
        new = TimesNetGen(self.config.replace(n_stations=int(n_stations)))
        own = self.state_dict()
        missing, unexpected = new.load_state_dict(
            {k: v for k, v in own.items() if not k.split(".")[2:3] == ["cond"]}, strict=False)
        if unexpected or any(".cond." not in k for k in missing):
            raise RuntimeError(f"cannot add conditioning: missing {missing}, "
                               f"unexpected {unexpected}")
        return new.to(self.pe.device)


def reconstruction_loss(y, x, std=None, weighting="record"):
    """Mean squared error between de-normalised output ``y`` and the record ``x`` (B, C, T).

    Parameters
    ----------
    weighting : {"record", "none"}
        ``"none"``: plain MSE in physical units (the reference). Strong-motion amplitudes span
        orders of magnitude, so that loss is carried by the few strongest records of a batch;
        ``"record"`` (default) divides each record's squared error by its mean channel variance
        (``std`` (B, C)), so every record counts alike while the channels of one record keep
        their physical ratio -- the H/V amplitude the site response lives in.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(2, 3, 10)
    >>> float(reconstruction_loss(x, x, torch.ones(2, 3)))
    0.0
    """
    err = (y - x) ** 2
    if weighting == "none":
        return err.mean()
    if weighting != "record":
        raise ValueError(f"weighting={weighting!r} is not one of record, none")
    if std is None:
        raise ValueError("weighting='record' needs the records' std")
    scale = (std.float() ** 2).mean(-1) + EPS
    return (err.mean(dim=(1, 2)) / scale).mean()


def velocity_loss(y, x, mean, std):
    """Relative squared error of the velocities of ``y`` and ``x`` (B, C, T), per record.

    Velocity = running sum of the standardised acceleration ``(a - mean) / std`` (per record
    and channel, (B, C); the unit of time is one sample: the loss is a ratio). It weights the
    error at frequency f by 1 / f^2 relative to the acceleration MSE, so it is carried by what
    the acceleration loss hardly sees: offsets and long-period error, which integrate into the
    velocity left at the end of a record and into the PGD. Each record's error is divided by
    its own velocity's mean square, so every record counts alike (in physical units the
    velocities of weak records are so small that any fixed epsilon dominates them).

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(2, 3, 50)
    >>> m, s = x.mean(-1), x.std(-1)
    >>> float(velocity_loss(x, x, m, s))
    0.0
    >>> float(velocity_loss(x + 0.1, x, m, s)) > 0
    True
    """
    m = mean[:, :, None].to(y.dtype)
    s = std[:, :, None].to(y.dtype)
    vy = torch.cumsum((y - m) / s, dim=-1)
    vx = torch.cumsum((x - m) / s, dim=-1)
    scale = (vx.float() ** 2).mean(dim=(1, 2)) + 1.0
    return (((vy - vx).float() ** 2).mean(dim=(1, 2)) / scale).mean()


class SpectralSmoother:
    """Smoothed amplitude spectra of (B, 3, T) records (channels N, E, Z) as a fixed linear map:
    mean removal, a Tukey taper (alpha 0.1), the FFT, and Konno-Ohmachi smoothing (main lobe,
    the HVSR pipeline's :func:`obspy_gen.core.smoothing.konno_ohmachi`, precomputed as a
    matrix) onto ``nfreq`` log-spaced centres ``fmin``-``fmax`` Hz. The horizontal spectrum is
    the quadratic mean sqrt((N^2 + E^2) / 2) before smoothing, as
    :func:`obspy_gen.core.hvsr.hvsr` with ``combine="squared_average"`` (the preset
    ``timesnet-gen-paper``).

    Parameters
    ----------
    seq_len : int
        Samples per record.
    sampling_rate : float
        Hz.
    fmin, fmax : float
        Band of the centres (Hz).
    nfreq : int
        Number of centres.
    bandwidth : float
        Konno-Ohmachi b.

    Examples
    --------
    >>> sm = SpectralSmoother(1000, 100.0, nfreq=8)
    >>> x = torch.randn(2, 3, 1000)
    >>> sm.channels(x).shape, sm.hv(x).shape
    (torch.Size([2, 3, 8]), torch.Size([2, 2, 8]))
    """

    def __init__(self, seq_len: int, sampling_rate: float = 100.0, fmin: float = 0.5,
                 fmax: float = 25.0, nfreq: int = 64, bandwidth: float = 40.0):
        import numpy as np
        import scipy.signal

        from obspy_gen.core.smoothing import konno_ohmachi
        self.seq_len = int(seq_len)
        freq = np.fft.rfftfreq(int(seq_len), 1.0 / float(sampling_rate))
        fmax = min(float(fmax), float(freq[-1]))
        self.centres = np.geomspace(fmin, fmax, int(nfreq))
        # Row k of the identity smoothed = the weights bin k gets at every centre.
        weights = konno_ohmachi(np.eye(freq.size), freq, self.centres, bandwidth)
        self.weights = torch.from_numpy(np.nan_to_num(weights).astype(np.float32))
        self.taper = torch.from_numpy(scipy.signal.windows.tukey(int(seq_len), 0.1)
                                      .astype(np.float32))

    def _amplitude(self, x):
        x = x.float()
        x = (x - x.mean(dim=-1, keepdim=True)) * self.taper.to(x.device)
        spec = torch.fft.rfft(x, dim=-1)
        return spec.real ** 2 + spec.imag ** 2  # power, (B, C, nbins)

    def channels(self, x):
        """Smoothed amplitude spectra of every channel, (B, C, nfreq)."""
        power = self._amplitude(x)
        return torch.sqrt(power + 1e-30) @ self.weights.to(power.device)

    def hv(self, x):
        """Smoothed horizontal (quadratic mean of channels 0 and 1) and vertical (channel 2)
        amplitude spectra, (B, 2, nfreq)."""
        power = self._amplitude(x)
        h = torch.sqrt((power[:, 0] + power[:, 1]) / 2 + 1e-30)
        v = torch.sqrt(power[:, 2] + 1e-30)
        return torch.stack([h, v], dim=1) @ self.weights.to(power.device)


def _log_water(s_y, s_x, water):
    """ln of two sets of smoothed spectra (..., nfreq), each lifted by ``water`` times the
    target's (``s_x``) peak in the band, so that bins at the noise level do not dominate."""
    level = water * s_x.detach().amax(dim=-1, keepdim=True) + 1e-30
    return torch.log(s_y + level), torch.log(s_x + level)


def _frames(x, length):
    """(B, C, T) -> (B, C * W, length): windows of ``length`` samples overlapping by half
    (the last one ends at the record's end)."""
    b, c, t = x.shape
    if length >= t:
        return x
    hop = length // 2
    starts = list(range(0, t - length + 1, hop))
    if starts[-1] != t - length:
        starts.append(t - length)
    return torch.stack([x[..., s:s + length] for s in starts], dim=2).reshape(b, -1, length)


def spectral_loss(y, x, smoother: SpectralSmoother, water: float = 0.01):
    """Mean squared difference of the ln smoothed amplitude spectra (every channel) of ``y``
    and ``x`` (B, 3, T), each with a water level of ``water`` times the target's peak.

    Scale-free (a ratio per frequency), so every record counts alike. It weights every
    frequency band alike, where the time-domain MSE is carried by the strongest part of the
    spectrum and leaves the weak bands -- where a spurious H/V peak comes from -- to chance.
    With a ``smoother`` for windows shorter than the records, the spectra are those of
    half-overlapping windows (a spectrogram; the water level is the target's peak over all
    windows of a channel): energy moved in time -- into the coda, lengthening the record --
    costs as much as energy at the wrong frequency.

    Examples
    --------
    >>> x = torch.randn(2, 3, 1000)
    >>> sm = SpectralSmoother(1000, 100.0, nfreq=16)
    >>> float(spectral_loss(x, x, sm))
    0.0
    >>> float(spectral_loss(0.5 * x, x, sm)) > 0
    True
    """
    b, c = x.shape[:2]
    sy = smoother.channels(_frames(y, smoother.seq_len)).reshape(b, c, -1)
    sx = smoother.channels(_frames(x, smoother.seq_len)).reshape(b, c, -1)
    ly, lx = _log_water(sy, sx, water)
    return ((ly - lx) ** 2).mean()


def hv_loss(y, x, smoother: SpectralSmoother, water: float = 0.01):
    """Mean squared difference of ln H/V of ``y`` and ``x`` (B, 3, T; channels N, E, Z): H =
    the smoothed quadratic mean of the horizontals, V = the smoothed vertical (each with a
    water level of ``water`` times the target's peak), the HVSR of
    :func:`obspy_gen.core.hvsr.hvsr` (``combine="squared_average"``, Konno-Ohmachi).

    Examples
    --------
    >>> x = torch.randn(2, 3, 1000)
    >>> sm = SpectralSmoother(1000, 100.0, nfreq=16)
    >>> float(hv_loss(x, x, sm))
    0.0
    >>> y = x.clone(); y[:, 2] *= 0.3        # a weaker vertical: H/V up everywhere
    >>> round(float(hv_loss(y, x, sm)), 2) > 1
    True
    """
    ly, lx = _log_water(smoother.hv(y), smoother.hv(x), water)
    return (((ly[:, 0] - ly[:, 1]) - (lx[:, 0] - lx[:, 1])) ** 2).mean()


def envelope_loss(y, x, sampling_rate: float, window_s: float = 1.0, water: float = 0.01):
    """Mean squared difference of the ln smoothed envelopes of ``y`` and ``x`` (B, C, T), per
    channel: the RMS of the de-meaned acceleration in ``window_s``-s windows (half-overlapping),
    each lifted by ``water`` times the target's peak envelope of that channel.

    Scale-free (a ratio per window), so every record counts alike; it sees where in time the
    energy lies -- a record lengthened by a coda, or shifted in time, costs in proportion to
    the ln amplitude it puts where the target has little -- which the spectral terms
    (:func:`spectral_loss`, :func:`hv_loss`) do not see. It pins the Husid curve and so
    D5-75 / D5-95.

    Parameters
    ----------
    sampling_rate : float
        Hz.
    window_s : float
        Length of the smoothing windows (s).
    water : float
        Water level, a fraction of the target's peak envelope per channel.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 2000); x[..., 500:700] = torch.randn(1, 3, 200)
    >>> float(envelope_loss(x, x, 100.0))
    0.0
    >>> float(envelope_loss(torch.roll(x, 300, -1), x, 100.0)) > 1
    True
    """
    k = max(1, int(round(window_s * sampling_rate)))
    k = min(k, x.shape[-1])
    stride = max(1, k // 2)

    def env(a):
        a = a.float()
        a = a - a.mean(dim=-1, keepdim=True)
        return torch.sqrt(torch.nn.functional.avg_pool1d(a * a, k, stride) + 1e-30)

    ey, ex = env(y), env(x)
    level = water * ex.detach().amax(dim=-1, keepdim=True) + 1e-20
    return ((torch.log(ey + level) - torch.log(ex + level)) ** 2).mean()


def husid_curves(a):
    """Normalised Husid curves of ``a`` (..., T), per channel: the running trapezoidal
    integral of the squared de-meaned acceleration divided by its total (0 ... 1, float64) --
    :func:`obspy_gen.core.intensity.husid` of each de-meaned trace, differentiable. An
    all-zero channel gives zeros (``husid`` gives NaN).

    Examples
    --------
    >>> husid_curves(torch.tensor([[0.0, 1.0, -1.0, 0.0]]))
    tensor([[0.0000, 0.2500, 0.7500, 1.0000]], dtype=torch.float64)
    """
    a = a.double()
    a = a - a.mean(dim=-1, keepdim=True)
    e = a * a
    cum = torch.cumsum(0.5 * (e[..., 1:] + e[..., :-1]), dim=-1)
    cum = torch.cat([torch.zeros_like(cum[..., :1]), cum], dim=-1)
    return cum / cum[..., -1:].clamp_min(1e-300)


def husid_loss(y, x, power: int = 1):
    """Mean ``power``-th power of the absolute difference of the normalised Husid curves
    (:func:`husid_curves`: cumulative Arias intensity over its total, per channel) of ``y``
    and ``x`` (B, C, T), over records, channels and samples.

    With ``power=1`` (the default) it is the earth mover's (Wasserstein-1) distance between
    the two records' energy distributions in time, as a fraction of the window: a record
    moved by ``s`` samples costs ``s / T``. It pins where the Arias intensity accumulates and
    so D5-75 / D5-95, and -- unlike :func:`envelope_loss` on ln envelopes, which weighs a weak
    coda as much as the strong motion -- it weighs the energy linearly: a coda carrying 1 % of
    the energy moves the curve by at most 0.01. Scale-free (each curve ends at 1): it sees
    when the energy comes, not how much of it there is.

    Parameters
    ----------
    power : {1, 2}
        1: mean absolute difference; 2: mean squared difference.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.zeros(1, 3, 2000); x[..., 500:700] = torch.randn(1, 3, 200, generator=g)
    >>> float(husid_loss(x, x))
    0.0
    >>> round(float(husid_loss(torch.roll(x, 300, -1), x)), 3)   # 300 of 2000 samples later
    0.15
    >>> float(husid_loss(2 * x, x)) < 1e-12
    True
    """
    if power not in (1, 2):
        raise ValueError(f"power={power!r} must be 1 or 2")
    d = (husid_curves(y) - husid_curves(x)).abs()
    return (d if power == 1 else d * d).mean().to(y.dtype)


def count_parameters(model) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

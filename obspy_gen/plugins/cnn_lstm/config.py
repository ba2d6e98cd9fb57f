"""Architecture settings of the CNN-LSTM Vs30 model (no torch: the CLI and the training
settings read them without importing torch).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class CNNLSTMConfig:
    """Architecture of :class:`CNNLSTM` (stored in every checkpoint).

    Attributes
    ----------
    sampling_rate : float
        Hz of the input.
    window : float
        Window length in s (the paper: 15 s around P, or around the PGA).
    segment : float
        Segment length in s (1-5; the paper's 1 s); ``window`` must be a multiple of it.
    ps_channel : bool
        Whether the P/S arrival mask is the 4th input channel.
    centre : str
        ``"pga"`` or ``"p_arrival"`` (how the training windows were centred; prediction
        uses the same).
    conv_channels : tuple of int
        Output channels of the three convolutions.
    kernel : int
        Kernel size of the first convolution (the others use ``kernel - 2``, at least 3).
    hidden : int
        LSTM hidden size.
    lstm_layers : int
        Stacked LSTM layers.
    dropout : float
        Dropout before the head.
    test_shifts : tuple of float
        Prediction: seconds by which the centre of each of a record's windows moves from the
        PGA (or P arrival); the record's value is the median of its windows' ln Vs30. ``(0,)``:
        one window.
    test_p_centred : bool
        Prediction: one more window per record centred on the P arrival (when a P-centred
        ``centre`` is not already the model's; skipped without a P arrival).

    Examples
    --------
    >>> cfg = CNNLSTMConfig()
    >>> cfg.n_segments, cfg.segment_samples, cfg.in_channels
    (15, 100, 4)
    """

    sampling_rate: float = 100.0
    window: float = 15.0
    segment: float = 1.0
    ps_channel: bool = True
    centre: str = "pga"
    conv_channels: tuple = (8, 16, 16)
    kernel: int = 7
    hidden: int = 32
    lstm_layers: int = 1
    dropout: float = 0.1
    test_shifts: tuple = (0.0,)
    test_p_centred: bool = False

    def __post_init__(self):
        object.__setattr__(self, "test_shifts", tuple(float(v) for v in self.test_shifts))
        if not self.test_shifts:
            raise ValueError("test_shifts needs at least one value (0: the centred window)")
        if not 1.0 <= self.segment <= 5.0:
            raise ValueError(f"segment must be 1-5 s (the paper's range), got {self.segment}")
        if self.window < self.segment:
            raise ValueError(f"window ({self.window} s) is shorter than a segment "
                             f"({self.segment} s)")
        ratio = self.window / self.segment
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(f"window ({self.window} s) must be a whole number of segments "
                             f"({self.segment} s)")
        if self.centre not in ("pga", "p_arrival"):
            raise ValueError(f"centre={self.centre!r} is not one of pga, p_arrival")
        if len(self.conv_channels) != 3 or min(self.conv_channels) < 1:
            raise ValueError(f"conv_channels must be 3 positive integers, got "
                             f"{self.conv_channels}")
        if self.kernel < 3 or self.hidden < 1 or self.lstm_layers < 1:
            raise ValueError("kernel >= 3, hidden >= 1 and lstm_layers >= 1 are required")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        seg = self.segment * self.sampling_rate
        if abs(seg - round(seg)) > 1e-6:
            raise ValueError(f"segment * sampling_rate must be whole samples, got {seg}")

    @property
    def in_channels(self) -> int:
        return 4 if self.ps_channel else 3

    @property
    def segment_samples(self) -> int:
        return int(round(self.segment * self.sampling_rate))

    @property
    def n_segments(self) -> int:
        return int(round(self.window / self.segment))

    @property
    def samples(self) -> int:
        return self.n_segments * self.segment_samples

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conv_channels"] = list(self.conv_channels)
        d["test_shifts"] = list(self.test_shifts)
        return d

    @classmethod
    def from_dict(cls, d) -> "CNNLSTMConfig":
        d = dict(d)
        if "conv_channels" in d:
            d["conv_channels"] = tuple(int(c) for c in d["conv_channels"])
        if "test_shifts" in d:
            d["test_shifts"] = tuple(float(v) for v in d["test_shifts"])
        return cls(**d)

    def replace(self, **kw) -> "CNNLSTMConfig":
        return replace(self, **kw)


__all__ = ["CNNLSTMConfig"]

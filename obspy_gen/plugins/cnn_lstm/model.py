"""The CNN-LSTM network of Yilmaz, Akagunduz & Tileylioglu (the second seed paper).

Unrolled in time (the paper's Fig. 2): the window (``window`` s, 3 or 4 channels) is cut into
``window / segment`` consecutive segments (1 s by default, 1-5 s allowed); ONE convolutional
encoder, shared by all segments, turns each segment into a feature vector; an LSTM reads the
segment features in order, carrying its hidden and cell state from segment to segment; a
fully connected head maps the last hidden state to Vs30.

Reading of the paper used here (documented because the paper leaves it open): the encoder is a
1-D CNN on the raw (normalised) waveform of each segment -- three strided convolutions with
ReLU, then the mean and the maximum over time of the last feature map (an "energy in learned
frequency bands" summary). The authors' public code runs a 2-D CNN on spectrogram windows
instead; both are faithful to the text.

Target normalisation: the network predicts ``y = (ln Vs30 - mu) / sigma`` where ``mu`` and
``sigma`` are the mean and standard deviation of ``ln Vs30`` over the training records (stored
in the checkpoint as ``normalisation``); ``Vs30 = exp(mu + sigma * y)``. Training in log space
makes the loss a relative error, as the paper's percentage errors are.

torch is imported here at module level: import this module only from torch code paths.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from obspy_gen.plugins.cnn_lstm.config import CNNLSTMConfig


class SegmentEncoder(nn.Module):
    """The CNN shared by all segments: (batch, channels, samples) -> (batch, features).

    Examples
    --------
    >>> enc = SegmentEncoder(4, (8, 16, 16), 7)
    >>> enc(torch.zeros(5, 4, 100)).shape
    torch.Size([5, 32])
    """

    def __init__(self, in_channels, channels, kernel):
        super().__init__()
        c1, c2, c3 = channels
        k2 = max(3, kernel - 2)
        self.convs = nn.Sequential(
            nn.Conv1d(in_channels, c1, kernel, stride=2, padding=kernel // 2), nn.ReLU(),
            nn.Conv1d(c1, c2, k2, stride=2, padding=k2 // 2), nn.ReLU(),
            nn.Conv1d(c2, c3, k2, stride=2, padding=k2 // 2), nn.ReLU())
        self.out_features = 2 * c3

    def forward(self, x):
        h = self.convs(x)
        return torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)


class CNNLSTM(nn.Module):
    """Segments -> shared CNN -> LSTM (state carried across segments) -> FC -> normalised
    ln Vs30 (see the module notes).

    Examples
    --------
    >>> model = CNNLSTM(CNNLSTMConfig(window=5.0))
    >>> model(torch.zeros(2, 4, 500)).shape
    torch.Size([2])
    >>> model(torch.zeros(2, 4, 400))
    Traceback (most recent call last):
    ...
    ValueError: input of shape (2, 4, 400): expected (batch, 4, 500)
    """

    def __init__(self, config: CNNLSTMConfig):
        super().__init__()
        self.config = config
        self.encoder = SegmentEncoder(config.in_channels, config.conv_channels, config.kernel)
        self.lstm = nn.LSTM(self.encoder.out_features, config.hidden,
                            num_layers=config.lstm_layers, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, 1)

    def forward(self, x):
        cfg = self.config
        if x.dim() != 3 or x.shape[1] != cfg.in_channels or x.shape[2] != cfg.samples:
            raise ValueError(f"input of shape {tuple(x.shape)}: expected (batch, "
                             f"{cfg.in_channels}, {cfg.samples})")
        b = x.shape[0]
        s, n = cfg.n_segments, cfg.segment_samples
        seg = x.reshape(b, cfg.in_channels, s, n).permute(0, 2, 1, 3).reshape(
            b * s, cfg.in_channels, n)
        feats = self.encoder(seg).reshape(b, s, -1)
        _, (h, _c) = self.lstm(feats)
        return self.head(self.dropout(h[-1])).squeeze(-1)


def n_parameters(model) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> n_parameters(CNNLSTM(CNNLSTMConfig())) < 100_000
    True
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def to_vs30(y, mu: float, sigma: float):
    """Vs30 (m/s) from the network's normalised output (tensor or array).

    Examples
    --------
    >>> round(float(to_vs30(torch.tensor(0.0), math.log(400.0), 0.5)), 3)
    400.0
    """
    return torch.exp(y * sigma + mu) if torch.is_tensor(y) else math.exp(y * sigma + mu)


__all__ = ["CNNLSTM", "CNNLSTMConfig", "SegmentEncoder", "n_parameters", "to_vs30"]

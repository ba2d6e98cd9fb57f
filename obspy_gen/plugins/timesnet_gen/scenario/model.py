"""The scenario-conditioned TimesNet-Gen network (torch; import from torch code paths only).

:class:`ScenarioTimesNetGen` is :class:`~obspy_gen.plugins.timesnet_gen.model.TimesNetGen`
whose conditioning vector is the record's standardised scenario features
(:data:`~.features.FEATURES`) instead of a station one-hot: inside every TimesBlock the
vector is concatenated to the 2-D feature map and a 1x1 convolution maps the channels back
(implemented as a per-record bias, exactly as the station code). ``config.n_stations`` is the
size of that vector (4).
"""
from __future__ import annotations

import torch

from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
from obspy_gen.plugins.timesnet_gen.scenario.features import FEATURES


class ScenarioTimesNetGen(TimesNetGen):
    """TimesNet-Gen conditioned on scenario features (B, 4) in every TimesBlock.

    Examples
    --------
    >>> cfg = TimesNetGenConfig(seq_len=200, d_model=8, d_ff=8, e_layers=1, d_layers=1,
    ...                         latent_channels=4, latent_stride=10, n_stations=4)
    >>> model = ScenarioTimesNetGen(cfg).eval()
    >>> x, f = torch.randn(2, 3, 200), torch.zeros(2, 4)
    >>> z, mean, std = model.encode(x, f)
    >>> model.decode(z, mean, std, f).shape
    torch.Size([2, 3, 200])
    >>> model.decode(z, mean, std, torch.zeros(2, 3))
    Traceback (most recent call last):
    ...
    ValueError: scenario features must have shape (batch, 4), got (2, 3)
    """

    def _onehot(self, features):
        if features is None:
            raise ValueError(f"this model is scenario-conditioned: give the features "
                             f"{', '.join(FEATURES)}")
        f = torch.as_tensor(features, dtype=torch.float32, device=self.pe.device)
        if f.dim() == 1:
            f = f[None]
        if f.dim() != 2 or f.shape[1] != self.config.n_stations:
            raise ValueError(f"scenario features must have shape (batch, "
                             f"{self.config.n_stations}), got {tuple(f.shape)}")
        return f

    @classmethod
    def from_base(cls, base: TimesNetGen) -> "ScenarioTimesNetGen":
        """A scenario-conditioned copy of an unconditioned network: same weights, conditioning
        convolutions that start as the identity with zero weight on the features (so the copy
        computes what ``base`` does until training moves them).

        Examples
        --------
        >>> cfg = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
        ...                         latent_channels=2, latent_stride=10)
        >>> base = TimesNetGen(cfg).eval()
        >>> new = ScenarioTimesNetGen.from_base(base).eval()
        >>> x = torch.randn(2, 3, 100)
        >>> bool(torch.allclose(base(x), new(x, torch.randn(2, 4)), atol=1e-5))
        True
        """
        if base.config.conditioned:
            raise ValueError("from_base needs an unconditioned network")
        new = cls(base.config.replace(n_stations=len(FEATURES)))
        missing, unexpected = new.load_state_dict(base.state_dict(), strict=False)
        if unexpected or any(".cond." not in k for k in missing):
            raise RuntimeError(f"cannot add conditioning: missing {missing}, "
                               f"unexpected {unexpected}")
        return new.to(base.pe.device)


__all__ = ["ScenarioTimesNetGen", "TimesNetGenConfig"]

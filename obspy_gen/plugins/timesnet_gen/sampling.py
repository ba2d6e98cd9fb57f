"""Sampling new records: station latent pools and the paper's Eq. 1.

A station's *pool* holds the latent codes of its records (the encoder's output) with each
record's per-channel mean and standard deviation. A new record of the station is

.. math:: z = \\frac{1}{N} \\sum_{k=1}^{N} z_k + \\text{noise\\_scale} \\cdot \\mathcal{N}(0, \\sigma_s)

with ``N`` codes drawn at random with replacement from the pool (``n_mix``, 5 in the paper),
:math:`\\sigma_s` the element-wise standard deviation of the station's codes, and the record
de-normalised with the mean of the drawn records' means and standard deviations (as the
authors' script). ``noise_scale=0`` reproduces the authors' public script (no noise).

Which Gaussian: by default (``noise="covariance"``) the noise is
:math:`\\mathcal{N}(0, \\Sigma_s)` with :math:`\\Sigma_s` the empirical covariance of the
station's codes -- its element-wise standard deviation is exactly :math:`\\sigma_s`, as the
paper asks, but it varies only along directions in which the station's records vary, so it
decodes to records of the station. ``noise="diagonal"`` draws every latent element
independently (:math:`\\mathcal{N}(0, \\mathrm{diag}\\,\\sigma_s^2)`); in our compact,
time-local latent that decodes to broadband noise without the site's resonance (measured on the
synthetic stations: generated f0 fell to ~1.5 Hz at every station), so it is not the default.

Record ``i`` of a call with seed ``s`` uses ``numpy.random.default_rng([s, i])``: it does not
depend on how many records are asked for. Everything here is numpy; decoding is torch.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> pool = LatentPool("4628", rng.normal(size=(10, 2, 5)), np.zeros((10, 3)), np.ones((10, 3)))
>>> code, mean, std = pool.draw(record_rng(1, 0), n_mix=5, noise_scale=0.0)
>>> code.shape, mean.shape
((2, 5), (3,))
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from obspy_gen.api import record_rng  # noqa: F401 (one per-record generator for all plugins)

#: Codes averaged per generated record (the paper's N).
N_MIX = 5
#: Fewest records a zero-shot pool is built from.
MIN_POOL = 3
#: Kinds of Gaussian noise of Eq. 1 (see the module docstring).
NOISE_KINDS = ("covariance", "diagonal")


def fresh_seed() -> int:
    """A new random seed (recorded in the output, so any result can be reproduced).

    Examples
    --------
    >>> 0 <= fresh_seed() < 2 ** 31
    True
    """
    return int(np.random.SeedSequence().entropy % (2 ** 31))


@dataclass
class LatentPool:
    """The latent codes of one station's records, with their normalisation.

    Attributes
    ----------
    station : str
        Station code.
    codes : numpy.ndarray, shape (n, latent_channels, latent_length)
    mean, std : numpy.ndarray, shape (n, 3)
        Per-record, per-channel (N, E, Z) mean and standard deviation (physical units).
    network, location : str
        Codes the generated records carry.
    units : str
        Units of ``mean``/``std`` (and of the generated records).

    Examples
    --------
    >>> import numpy as np
    >>> p = LatentPool("X", np.zeros((4, 2, 3)), np.zeros((4, 3)), np.ones((4, 3)))
    >>> p.n_records, p.sigma.shape
    (4, (2, 3))
    """

    station: str
    codes: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    network: str = "SY"
    location: str = ""
    units: str = "m/s**2"
    _sigma: list = field(default_factory=list, repr=False, compare=False)
    _centred: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        self.codes = np.asarray(self.codes, dtype=np.float32)
        if self.codes.ndim != 3 or len(self.codes) == 0:
            raise ValueError(f"station {self.station}: pool codes must be a non-empty "
                             f"(n, channels, length) array, got shape {self.codes.shape}")
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(len(self.codes), -1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(len(self.codes), -1)

    @property
    def n_records(self) -> int:
        """Records in the pool."""
        return len(self.codes)

    @property
    def sigma(self) -> np.ndarray:
        """Element-wise standard deviation of the codes (the paper's sigma)."""
        if not self._sigma:
            self._sigma.append(self.codes.astype(np.float64).std(axis=0))
        return self._sigma[0]

    def draw(self, rng: np.random.Generator, n_mix: int = N_MIX, noise_scale: float = 1.0,
             noise: str = "covariance"):
        """One mixed code (Eq. 1) and its normalisation: ``(code, mean, std)``.

        Examples
        --------
        >>> import numpy as np
        >>> p = LatentPool("X", np.arange(6.0).reshape(2, 1, 3), np.zeros((2, 3)),
        ...                np.ones((2, 3)))
        >>> code, _, _ = p.draw(record_rng(0, 0), n_mix=1, noise_scale=0)
        >>> code.tolist() in ([[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]])
        True
        """
        if noise == "covariance":
            # The centred float64 pool is computed once per pool, not per record.
            if not self._centred:
                full = self.codes.astype(np.float64)
                self._centred.append(full - full.mean(axis=0))
            return mix(self.codes, self.mean, self.std, rng, n_mix, noise_scale, None, noise,
                       self._centred[0])
        return mix(self.codes, self.mean, self.std, rng, n_mix, noise_scale, self.sigma, noise)


def check_sampling_args(n_mix, noise_scale) -> tuple:
    """Validate ``n_mix`` (positive integer) and ``noise_scale`` (>= 0).

    Examples
    --------
    >>> check_sampling_args(5, 1)
    (5, 1.0)
    >>> check_sampling_args(0, 1)
    Traceback (most recent call last):
    ...
    ValueError: n_mix must be a positive integer, got 0
    """
    if isinstance(n_mix, bool) or int(n_mix) != n_mix or n_mix < 1:
        raise ValueError(f"n_mix must be a positive integer, got {n_mix!r}")
    try:
        noise = float(noise_scale)
    except (TypeError, ValueError):
        raise ValueError(f"noise_scale must be a number >= 0, got {noise_scale!r}") from None
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise_scale must be a number >= 0, got {noise_scale!r}")
    return int(n_mix), noise


def mix(codes, mean, std, rng, n_mix=N_MIX, noise_scale=1.0, sigma=None, noise="covariance",
        centred=None):
    """Eq. 1: average ``n_mix`` codes drawn with replacement, add ``noise_scale * N(0, sigma)``.

    Parameters
    ----------
    codes : array (n, ...)
    mean, std : array (n, channels)
    rng : numpy.random.Generator
    sigma : array, optional
        Element-wise noise standard deviation for ``noise="diagonal"`` (default:
        ``codes.std(axis=0)``).
    noise : {"covariance", "diagonal"}
        Gaussian with the codes' empirical covariance, or independent elements.

    Returns
    -------
    code : array (...), mean, std : array (channels,)

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.ones((3, 2))
    >>> code, mean, std = mix(codes, np.zeros((3, 1)), np.ones((3, 1)),
    ...                       np.random.default_rng(0), 5, 0.0)
    >>> code.tolist(), std.tolist()
    ([1.0, 1.0], [1.0])
    """
    n_mix, noise_scale = check_sampling_args(n_mix, noise_scale)
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise={noise!r} is not one of {', '.join(NOISE_KINDS)}")
    pick = rng.integers(0, len(codes), size=n_mix)
    code = np.asarray(codes[pick], dtype=np.float64).mean(axis=0)
    if noise == "covariance":
        # N(0, Sigma_s) with the pool's empirical covariance: a Gaussian combination of the
        # centred codes. Its element-wise std is exactly sigma (the paper's), and it varies
        # only along directions the station's records vary in.
        if centred is None:
            full = np.asarray(codes, dtype=np.float64)
            centred = full - full.mean(axis=0)
        w = rng.standard_normal(len(codes))
        draw = np.tensordot(w, centred, axes=1) / np.sqrt(len(codes))
    else:
        if sigma is None:
            sigma = np.asarray(codes, dtype=np.float64).std(axis=0)
        draw = np.asarray(sigma) * rng.standard_normal(code.shape)
    # Drawn even when noise_scale is 0, so the scale never shifts the random stream.
    if noise_scale:
        code = code + noise_scale * draw
    return (code.astype(np.float32), np.asarray(mean, dtype=np.float64)[pick].mean(axis=0),
            np.asarray(std, dtype=np.float64)[pick].mean(axis=0))

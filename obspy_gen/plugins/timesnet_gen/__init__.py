"""TimesNet-Gen: site-specific strong-motion generation with a TimesNet autoencoder.

Yilmaz, Cilgin, Akagunduz & Tileylioglu, "TimesNet-Gen: Deep Learning-based Site Specific
Strong Motion Generation". A TimesNet encoder-decoder (FFT period selection, 2-D Inception
convolutions) with a compact deterministic latent bottleneck and station-ID conditioning
inside every TimesBlock; new records of a station average ``N`` latent codes of its records
plus Gaussian noise (the paper's Eq. 1) and decode them.

Modules: :mod:`~obspy_gen.plugins.timesnet_gen.model` (the network, torch), :mod:`.sampling` (pools and Eq. 1, numpy),
:mod:`.train` (two-phase training), :mod:`.store` (checkpoints), :mod:`.plugin` (the
``timesnet-gen`` generator). Importing this package does not import torch.

Examples
--------
>>> from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator
>>> TimesNetGenGenerator.name, TimesNetGenGenerator.requires
('timesnet-gen', ('torch', 'safetensors'))
"""
from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator, clear_cache
from obspy_gen.plugins.timesnet_gen.store import DEFAULT_CHECKPOINT, PLUGIN, VERSION

__all__ = ["TimesNetGenGenerator", "clear_cache", "DEFAULT_CHECKPOINT", "PLUGIN", "VERSION"]

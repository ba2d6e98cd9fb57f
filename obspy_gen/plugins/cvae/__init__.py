"""CVAE: the conditional variational autoencoder baseline of the TimesNet-Gen paper.

Yilmaz, Cilgin, Akagunduz & Tileylioglu, "TimesNet-Gen", Sec. II-B: a convolutional VAE on
STFT images (amplitude in dB and unwrapped phase of each component), four 3x3 convolutions
with LeakyReLU in the encoder and four 3x3 transposed convolutions in the decoder, a latent of
510 dimensions, station-conditional Gaussian priors whose means tile the station's one-hot
code (variance 1), and a second fine-tuning sub-phase adding the DEC clustering loss.
New records sample the station's prior, decode, and go back through the inverse STFT.

Modules: :mod:`.model` (the network and the STFT images, torch), :mod:`.train` (training
phases and :class:`.train.CVAETrainSettings`), :mod:`.store` (checkpoints), :mod:`.plugin`
(the ``cvae`` generator). Importing this package does not import torch.

Examples
--------
>>> from obspy_gen.plugins.cvae import CVAEGenerator
>>> CVAEGenerator.name, CVAEGenerator.requires
('cvae', ('torch', 'safetensors'))
"""
from obspy_gen.plugins.cvae.plugin import CVAEGenerator, clear_cache
from obspy_gen.plugins.cvae.store import DEFAULT_CHECKPOINT, PLUGIN, VERSION

__all__ = ["CVAEGenerator", "clear_cache", "DEFAULT_CHECKPOINT", "PLUGIN", "VERSION"]

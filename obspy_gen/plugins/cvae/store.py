"""CVAE checkpoints: what goes into the safetensors + JSON pair, and back.

Tensors: ``model.<parameter or buffer>`` (float32; the buffers ``norm_lo``/``norm_hi`` are the
image scaling, the parameter ``centres`` the DEC cluster centres of a conditioned model).
JSON: ``architecture`` (:class:`~.model.CVAEConfig`), ``conditioned``, ``normalisation``,
``stations`` (one-hot order, with network, location, units, n_records), ``prior``,
``training`` (data description with ``synthetic``, settings, history).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obspy_gen.io.checkpoints import save_checkpoint
from obspy_gen.torchkit.base import LoadedStations

#: Registered plugin name and its version (recorded in checkpoints and outputs).
PLUGIN = "cvae"
VERSION = "0.1.0"
#: The shipped checkpoint the plugin loads when none is named.
DEFAULT_CHECKPOINT = "cvae-synthetic"


def normalisation(arch) -> dict:
    """The ``normalisation`` entry of a checkpoint for architecture ``arch``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> normalisation(SimpleNamespace(seq_len=600, sampling_rate=100.0, n_fft=64,
    ...                               hop=32))["stft"]["window"]
    'hann'
    """
    return {
        "kind": "records in m/s**2 with each channel's mean removed (centred window of "
                "seq_len samples, zero-padded when short) -> STFT -> amplitude in dB "
                "(floor -160 dB) and phase unwrapped along time, Nyquist row dropped; each "
                "image channel and frequency row scaled to [0, 1] with the training set's "
                "minimum and maximum (tensors model.norm_lo / model.norm_hi)",
        "channel_order": ["N", "E", "Z"],
        "image_channels": ["dB N", "dB E", "dB Z", "phase N", "phase E", "phase Z"],
        "stft": {"n_fft": int(arch.n_fft), "hop": int(arch.hop), "window": "hann",
                 "center": True},
        "seq_len": int(arch.seq_len),
        "sampling_rate": float(arch.sampling_rate),
        "units": "m/s**2",
    }


def save_model(path, model, *, stations=(), training=None, base=None) -> tuple:
    """Write a CVAE checkpoint (weights, scaling, description); returns the paths.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    >>> arch = CVAEConfig(seq_len=1000, n_fft=64, hop=32, widths=(2, 2, 2, 2), latent_dim=4,
    ...                   n_stations=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "m")
    >>> _ = save_model(path, CVAE(arch), stations=[{"station": "A"}, {"station": "B"}])
    >>> loaded = load_model(path, "cpu")
    >>> loaded.station_codes, loaded.arch.latent_dim
    (['A', 'B'], 4)
    """
    from obspy_gen.torchkit.base import state_dict_numpy
    arch = model.config
    training = dict(training or {})
    training.setdefault("synthetic", None)
    config = {
        "name": Path(str(path)).name.removesuffix(".json").removesuffix(".safetensors"),
        "architecture": arch.to_dict(),
        "conditioned": bool(arch.conditioned),
        "normalisation": normalisation(arch),
        "stations": list(stations),
        "prior": {"kind": "N(tiled one-hot of the station, I)" if arch.conditioned
                  else "N(0, I)", "variance": 1.0},
        "base_checkpoint": base,
        "training": training,
    }
    return save_checkpoint(path, state_dict_numpy(model, "model."), config, plugin=PLUGIN,
                           plugin_version=VERSION)


@dataclass
class LoadedModel(LoadedStations):
    """A CVAE checkpoint ready to run (see :func:`load_model`).

    Attributes
    ----------
    path : pathlib.Path
    config : dict
        Its JSON description.
    arch : CVAEConfig
    model : CVAE
        In eval mode, on ``device``.
    stations : list of dict
    device : torch.device
    """


def load_model(path, device=None) -> LoadedModel:
    """Load a CVAE checkpoint (base path) onto ``device`` (example: :func:`save_model`).

    Raises
    ------
    CheckpointError
        Not a CVAE checkpoint, or tensors that do not fit its architecture.
    """
    from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    from obspy_gen.torchkit.base import load_network
    ck, arch, model, stations, dev = load_network(path, PLUGIN, CVAEConfig, CVAE, device)
    return LoadedModel(ck.path, ck.config, arch, model, stations, dev)


__all__ = ["PLUGIN", "VERSION", "DEFAULT_CHECKPOINT", "save_model", "load_model",
           "LoadedModel", "normalisation"]

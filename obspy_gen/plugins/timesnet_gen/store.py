"""TimesNet-Gen checkpoints: what goes into the safetensors + JSON pair, and back.

Tensors: ``model.<parameter>`` (float32), and per station ``pool.<k>.codes`` (float16, n x
latent_channels x latent_length), ``pool.<k>.mean`` and ``pool.<k>.std`` (float32, n x 3) for
the station at position ``k`` of the JSON's ``stations`` list. JSON: see
:func:`checkpoint_config`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obspy_gen.io.checkpoints import CheckpointError, save_checkpoint
from obspy_gen.plugins.timesnet_gen.sampling import LatentPool
from obspy_gen.torchkit.base import LoadedCheckpoint

#: Registered plugin name and its version (recorded in checkpoints and outputs).
PLUGIN = "timesnet-gen"
VERSION = "0.1.0"
#: The shipped checkpoint the plugin loads when none is named.
DEFAULT_CHECKPOINT = "timesnet-gen-synthetic"
#: The optional per-record arrays of a latent pool (:class:`~.sampling.LatentPool` fields)
#: and the dtype each is stored with; a checkpoint lacking one loads it as ``None``.
POOL_ARRAYS = {"onset": np.float32, "extent": np.int32, "corner": np.float32,
               "p_arrival": np.float32, "band_ratio": np.float32, "log_envelope": np.float16,
               "log_band": np.float32, "coherence": np.float32, "noise_level": np.float32}
#: What a TimesNet-Gen model expects of its input (the dataset's preprocessing).
NORMALISATION = {
    "kind": "per-record per-channel standardisation (mean/std over the recorded part); "
            "outputs de-normalised with the record's mean and std",
    "channel_order": ["N", "E", "Z"],
    "centre": "record",
    "padding": "symmetric zeros (after standardisation)",
    "units": "m/s**2",
    "eps": 1e-5,
}


def normalisation(arch, centre="record") -> dict:
    """The ``normalisation`` entry of a checkpoint for architecture ``arch``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> normalisation(SimpleNamespace(seq_len=600, sampling_rate=100.0))["seq_len"]
    600
    """
    return {**NORMALISATION, "seq_len": int(arch.seq_len),
            "sampling_rate": float(arch.sampling_rate), "centre": centre}


def checkpoint_config(arch, *, stations=(), pools=None, training=None, base=None,
                      sampling=None, centre="record") -> dict:
    """The JSON description of a TimesNet-Gen checkpoint.

    Parameters
    ----------
    arch : TimesNetGenConfig
    stations : list of dict
        ``{"station", "network", "location", "n_records", "units"}`` in one-hot order.
    pools : dict station -> LatentPool, optional
    training : dict, optional
        Data description (``synthetic``: bool or None when unknown), settings, history.
    base : str, optional
        Name of the unconditioned checkpoint used for zero-shot generation.
    sampling : dict, optional
        Default ``n_mix``, ``noise_scale``, ``noise`` and ``sampling``.
    centre : str
        Where the training windows were centred (the zero-shot pools are centred alike).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> arch = SimpleNamespace(seq_len=600, sampling_rate=100.0, to_dict=lambda: {},
    ...                        conditioned=False)
    >>> checkpoint_config(arch)["training"]["synthetic"] is None
    True
    """
    pools = pools or {}
    training = dict(training or {})
    training.setdefault("synthetic", None)
    return {
        "name": None,
        "architecture": arch.to_dict(),
        "conditioned": bool(arch.conditioned),
        "normalisation": normalisation(arch, centre),
        "stations": list(stations),
        "latent_pools": {s: {"shape": list(p.codes.shape), "dtype": "float16",
                             "n_records": p.n_records,
                             "anchor": p.anchor if p.onset is not None else None}
                         for s, p in pools.items()},
        "sampling": sampling or {"n_mix": 5, "noise_scale": 1.0, "noise": "covariance",
                                 "sampling": "mix"},
        "base_checkpoint": base,
        "training": training,
    }


def save_model(path, model, arch, *, stations=(), pools=None, training=None, base=None,
               sampling=None, centre="record") -> tuple:
    """Write a TimesNet-Gen checkpoint (weights, pools, description); returns the paths.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> arch = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
    ...                          latent_channels=2, latent_stride=10, n_stations=1)
    >>> pool = LatentPool("S1", np.zeros((3, 2, 10)), np.zeros((3, 3)), np.ones((3, 3)))
    >>> path = os.path.join(tempfile.mkdtemp(), "m")
    >>> _ = save_model(path, TimesNetGen(arch), arch, pools={"S1": pool},
    ...                stations=[{"station": "S1", "network": "XX"}])
    >>> loaded = load_model(path, "cpu")
    >>> loaded.station_codes, loaded.pools["S1"].codes.shape
    (['S1'], (3, 2, 10))
    """
    from obspy_gen.torchkit.base import state_dict_numpy
    tensors = state_dict_numpy(model, "model.")
    pools = pools or {}
    order = [s["station"] for s in stations]
    for station, pool in pools.items():
        if station not in order:
            raise ValueError(f"pool of station {station} not in the station list")
        k = order.index(station)
        tensors[f"pool.{k}.codes"] = pool.codes.astype(np.float16)
        tensors[f"pool.{k}.mean"] = pool.mean.astype(np.float32)
        tensors[f"pool.{k}.std"] = pool.std.astype(np.float32)
        for name, dtype in POOL_ARRAYS.items():
            if getattr(pool, name) is not None:
                tensors[f"pool.{k}.{name}"] = getattr(pool, name).astype(dtype)
    config = checkpoint_config(arch, stations=stations, pools=pools, training=training,
                               base=base, sampling=sampling, centre=centre)
    config["name"] = Path(str(path)).name.removesuffix(".json").removesuffix(".safetensors")
    return save_checkpoint(path, tensors, config, plugin=PLUGIN, plugin_version=VERSION)


@dataclass
class LoadedModel(LoadedCheckpoint):
    """A TimesNet-Gen checkpoint ready to run (see :func:`load_model`, :func:`save_model`).

    Attributes
    ----------
    path : pathlib.Path
        Base path of the checkpoint.
    config : dict
        Its JSON description.
    arch : TimesNetGenConfig
    model : TimesNetGen
        In eval mode, on ``device``.
    pools : dict station -> LatentPool
    stations : list of dict
    device : torch.device
    """

    pools: dict = field(default_factory=dict)
    stations: list = field(default_factory=list)
    device: object = None


def load_model(path, device=None) -> LoadedModel:
    """Load a TimesNet-Gen checkpoint (base path) onto ``device`` (example: :func:`save_model`).

    Raises
    ------
    CheckpointError
        Not a TimesNet-Gen checkpoint, or tensors that do not fit its architecture.
    """
    from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    from obspy_gen.torchkit.base import load_network

    ck, arch, model, stations, dev = load_network(path, PLUGIN, TimesNetGenConfig,
                                                  TimesNetGen, device)
    pools = {}
    for k, meta in enumerate(stations):
        if f"pool.{k}.codes" not in ck.tensors:
            continue
        codes = ck.tensors[f"pool.{k}.codes"].astype(np.float32)
        if codes.shape[1:] != arch.latent_shape:
            raise CheckpointError(f"{ck.path}.safetensors: pool of station {meta['station']} "
                                  f"has codes {codes.shape[1:]}, the model's latent is "
                                  f"{arch.latent_shape}")
        pool_meta = (ck.config.get("latent_pools") or {}).get(meta["station"]) or {}
        pools[meta["station"]] = LatentPool(
            meta["station"], codes, ck.tensors[f"pool.{k}.mean"], ck.tensors[f"pool.{k}.std"],
            network=meta.get("network") or "SY", location=meta.get("location") or "",
            units=meta.get("units") or "m/s**2",
            latent_stride=arch.latent_stride, anchor=pool_meta.get("anchor") or "pga",
            **{name: ck.tensors.get(f"pool.{k}.{name}") for name in POOL_ARRAYS},
            sampling_rate=float(arch.sampling_rate), low_channels=arch.low_channels,
            crossover=arch.crossover)
    return LoadedModel(ck.path, ck.config, arch, model, pools, stations, dev)

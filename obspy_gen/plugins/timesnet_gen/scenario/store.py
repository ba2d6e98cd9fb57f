"""Checkpoints of the scenario-conditioned TimesNet-Gen (safetensors + JSON, no pickles).

Tensors: ``model.<parameter>`` (float32) and the latent source ``pool.codes`` (float16, n x
latent_channels x latent_length), ``pool.mean``/``pool.std`` (n x 3), ``pool.onset`` (PGA
sample in the window), ``pool.extent`` (recorded span), ``pool.raw`` (n x 4 raw features
``[M, ln R_hyp, ln depth, ln Vs30]``) and ``pool.station`` (index into the JSON's
``stations``). JSON: architecture, ``features`` (standardisation), ``amplitude``
(:class:`~.features.AmplitudeModel`), ``stations`` (code, network, location, vs30,
n_records), ``label_ranges``, ``sampling`` defaults, ``calibration`` (the sampler's spectral
correction, :func:`~.sampler.calibrate`), ``psa_calibration`` (the lnPSA correction,
:class:`~.psa.PsaCorrection`) and ``training`` (``synthetic``...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obspy_gen.io.checkpoints import CheckpointError, save_checkpoint
from obspy_gen.plugins.timesnet_gen.store import normalisation
from obspy_gen.plugins.timesnet_gen.scenario.features import AmplitudeModel, FeatureScaler
from obspy_gen.torchkit.base import LoadedCheckpoint

PLUGIN = "timesnet-gen-scenario"
VERSION = "0.1.0"
DEFAULT_CHECKPOINT = "timesnet-gen-scenario-synthetic"
#: Sampler defaults: nearest training records whose codes form the latent prior, noise scale,
#: amplitude scatter and, for a station the checkpoint does not know, which scatter.
DEFAULT_SAMPLING = {"k": 8, "noise_scale": 1.0, "amplitude_scatter": 1.0,
                    "site_scatter": "within"}
POOL_KEYS = ("codes", "mean", "std", "onset", "extent", "raw", "station")


@dataclass
class LoadedScenarioModel(LoadedCheckpoint):
    """A loaded checkpoint: network (eval mode), scaler, amplitude model, latent source."""

    scaler: FeatureScaler
    amplitude: AmplitudeModel
    pool: dict
    stations: list = field(default_factory=list)
    device: object = None


def save_scenario_model(path, model, *, scaler, amplitude, pool=None, stations=(),
                        label_ranges=None, training=None, sampling=None, centre="auto",
                        base=None, calibration=None, psa_calibration=None) -> tuple:
    """Write a checkpoint (see the module docstring); returns the two paths.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from obspy_gen.plugins.timesnet_gen.scenario.model import (ScenarioTimesNetGen,
    ...                                                           TimesNetGenConfig)
    >>> cfg = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
    ...                         latent_channels=2, latent_stride=10, n_stations=4)
    >>> sc = FeatureScaler([5.0, 3.0, 2.0, 6.0], [1.0, 1.0, 0.5, 0.5])
    >>> amp = AmplitudeModel(np.zeros((13, 3)), np.eye(3), np.eye(3))
    >>> pool = {"codes": np.zeros((2, 2, 10)), "mean": np.zeros((2, 3)),
    ...         "std": np.ones((2, 3)), "onset": np.zeros(2), "extent": [[0, 100]] * 2,
    ...         "raw": np.zeros((2, 4)), "station": [0, 0]}
    >>> path = os.path.join(tempfile.mkdtemp(), "m")
    >>> _ = save_scenario_model(path, ScenarioTimesNetGen(cfg), scaler=sc, amplitude=amp,
    ...                         pool=pool, stations=[{"station": "S1"}])
    >>> loaded = load_scenario_model(path, "cpu")
    >>> loaded.pool["codes"].shape, loaded.station_codes
    ((2, 2, 10), ['S1'])
    """
    from obspy_gen.torchkit.base import state_dict_numpy
    arch = model.config
    tensors = state_dict_numpy(model, "model.")
    dtypes = {"codes": np.float16, "mean": np.float32, "std": np.float32,
              "onset": np.float32, "extent": np.int32, "raw": np.float32, "station": np.int32}
    for key, value in (pool or {}).items():
        tensors[f"pool.{key}"] = np.asarray(value).astype(dtypes[key])
    config = {
        "name": Path(str(path)).name.removesuffix(".json").removesuffix(".safetensors"),
        "architecture": arch.to_dict(),
        "conditioned": "scenario",
        "conditions": ["magnitude", "distance", "depth", "vs30"],
        "distance_kinds": ["epicentral", "hypocentral"],
        "features": scaler.to_dict(),
        "amplitude": amplitude.to_dict(),
        "normalisation": normalisation(arch, centre),
        "stations": list(stations),
        "label_ranges": label_ranges or {},
        "sampling": {**DEFAULT_SAMPLING, **(sampling or {})},
        "calibration": calibration,
        "psa_calibration": psa_calibration,
        "base_checkpoint": base,
        "training": {"synthetic": None, **(training or {})},
    }
    return save_checkpoint(path, tensors, config, plugin=PLUGIN, plugin_version=VERSION)


def load_scenario_model(path, device=None) -> LoadedScenarioModel:
    """Load a checkpoint written by :func:`save_scenario_model` (example there).

    Raises
    ------
    CheckpointError
        Not a checkpoint of this plugin, or parts missing or not fitting the architecture.
    """
    from obspy_gen.plugins.timesnet_gen.scenario.model import (ScenarioTimesNetGen,
                                                              TimesNetGenConfig)
    from obspy_gen.torchkit.base import load_network
    # The network's conditioning inputs are the scenario features, not stations.
    ck, arch, model, stations, dev = load_network(path, PLUGIN, TimesNetGenConfig,
                                                  ScenarioTimesNetGen, device,
                                                  station_inputs=False)
    cfg = ck.config
    try:
        scaler = FeatureScaler.from_dict(cfg["features"])
        amplitude = AmplitudeModel.from_dict(cfg["amplitude"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{ck.path}.json: bad description: {exc}") from None
    pool = {k: ck.tensors[f"pool.{k}"] for k in POOL_KEYS if f"pool.{k}" in ck.tensors}
    if pool:
        missing = [k for k in POOL_KEYS if k not in pool]
        if missing:
            raise CheckpointError(f"{ck.path}.safetensors: latent source lacks "
                                  f"{', '.join(missing)}")
        pool["codes"] = pool["codes"].astype(np.float32)
        if pool["codes"].shape[1:] != arch.latent_shape:
            raise CheckpointError(f"{ck.path}.safetensors: codes {pool['codes'].shape[1:]} "
                                  f"do not fit the latent {arch.latent_shape}")
    return LoadedScenarioModel(ck.path, cfg, arch, model, scaler, amplitude, pool, stations,
                               dev)


__all__ = ["PLUGIN", "VERSION", "DEFAULT_CHECKPOINT", "DEFAULT_SAMPLING",
           "LoadedScenarioModel", "save_scenario_model", "load_scenario_model"]

"""The torch machinery every torch plugin shares, written once.

* :func:`choose_device` -- ``"cuda"`` when available unless told otherwise;
* :func:`seed_everything`, :func:`derived_seed` -- Python, numpy and torch generators;
* :class:`TorchPlugin` -- mixin: ``list_pretrained()``, ``from_pretrained(name_or_path)``
  (shipped checkpoints first), ``save(path)`` (safetensors + JSON);
  :class:`CachedCheckpointPlugin` adds the constructor and the cached ``load()`` of a
  plugin's checkpoint, :class:`CheckpointModelPlugin` also ``stations()`` for a plugin whose
  loader returns a :class:`LoadedCheckpoint` (:class:`LoadedStations`);
  :func:`list_pretrained`, :func:`resolve_checkpoint`, :func:`state_dict_numpy`,
  :func:`load_state`;
* :func:`fit` with :class:`FitSettings` (alias of ``TrainSettings``) -- AdamW, epochs,
  checkpoint every epoch, exact resume, progress, validation, mixed precision, and
  DistributedDataParallel under ``torchrun`` (:func:`setup_distributed`, :class:`DistInfo`);
  opt-in ``keep_best=True``: end with the weights of the epoch of lowest validation loss
  (kept across a resume; off by default, so a plugin that does not ask is unchanged).

The package is named ``torchkit`` so that it can never shadow the real ``torch``; torch itself
is imported inside functions, so importing this package is cheap.

Examples
--------
>>> import obspy_gen.torchkit as tk
>>> tk.FitSettings(epochs=2).epochs
2
"""
from obspy_gen.torchkit.base import (SHARED_CHECKPOINTS, CachedCheckpointPlugin,  # noqa: F401
                                     CheckpointModelPlugin, DistInfo, LoadedCheckpoint, LoadedStations, TorchPlugin,
                                     TrainSettings, choose_device, derived_seed,
                                     evaluate_loss, fit, history_json, list_pretrained,
                                     load_state, resolve_checkpoint, seed_everything,
                                     setup_distributed, shipped_checkpoint_dirs,
                                     shipped_checkpoints, state_dict_numpy, state_paths)

#: Hyper-parameters of :func:`fit` (the name ``TrainSettings`` is kept for existing code; a
#: plugin's own ``TrainSettings`` for ``obspy-gen train`` is a different dataclass).
FitSettings = TrainSettings

__all__ = ["SHARED_CHECKPOINTS", "CachedCheckpointPlugin", "CheckpointModelPlugin", "DistInfo", "LoadedCheckpoint",
           "LoadedStations", "TorchPlugin", "TrainSettings", "FitSettings",
           "choose_device", "derived_seed", "evaluate_loss", "fit", "history_json",
           "list_pretrained", "load_state", "resolve_checkpoint", "seed_everything",
           "setup_distributed", "shipped_checkpoint_dirs", "shipped_checkpoints",
           "state_dict_numpy", "state_paths"]

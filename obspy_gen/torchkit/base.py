"""The one torch helper every torch plugin uses: device, seeding, checkpoints, training loop.

* :func:`choose_device` -- ``"cuda"`` when available unless told otherwise; a clear error for a
  device that is not there.
* :func:`seed_everything` -- Python, numpy and torch (CPU and CUDA) generators.
* :class:`TorchPlugin` -- a mixin for plugin classes: ``from_pretrained(name_or_path)`` looks in
  the plugin's shipped checkpoints (``<plugin package>/checkpoints/``, then
  ``obspy_gen/checkpoints/``) before the file system; ``save(path)`` writes safetensors + JSON
  through :mod:`obspy_gen.io.checkpoints`.
* :func:`fit` -- the training-loop skeleton: AdamW, epochs, a checkpoint every epoch, exact
  resume, tqdm progress with the loss, validation on a held-out (station-wise) set, optional
  mixed precision on CUDA, and DistributedDataParallel when started by ``torchrun``.

torch is imported inside functions, so importing this module is cheap; only torch plugins
import it, and ``import obspy_gen`` never does.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from obspy_gen.io.checkpoints import (CheckpointError, checkpoint_paths, load_checkpoint,
                                      read_config, save_checkpoint)

#: Shared folder of shipped checkpoints (searched after the plugin's own folder).
SHARED_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


# -- device and seeding ------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _cached_load(loader, path: str, mtime: float, device: str):
    return loader(path, device)


def load_cached(loader, path, device=None):
    """``loader(path, device)`` once per checkpoint file, modification time and device.

    Keyed by the newest modification time of ``path``'s two files, so a checkpoint retrained
    at the same path is loaded again. One cache serves every torch plugin.

    Examples
    --------
    >>> import tempfile, os
    >>> base = os.path.join(tempfile.mkdtemp(), "m")
    >>> open(base + ".json", "w").close()
    >>> calls = []
    >>> def loader(path, device):
    ...     calls.append(path)
    ...     return len(calls)
    >>> load_cached(loader, base, "cpu"), load_cached(loader, base, "cpu"), len(calls)
    (1, 1, 1)
    """
    from obspy_gen.io.checkpoints import checkpoint_paths
    weights, meta = checkpoint_paths(path)
    mtime = max(weights.stat().st_mtime if weights.exists() else 0,
                meta.stat().st_mtime if meta.exists() else 0)
    return _cached_load(loader, str(meta.with_suffix("")), mtime, str(choose_device(device)))


def clear_loaded() -> None:
    """Forget every checkpoint :func:`load_cached` holds.

    Examples
    --------
    >>> clear_loaded()
    """
    _cached_load.cache_clear()


def choose_device(device=None):
    """The torch device to run on.

    Parameters
    ----------
    device : str or torch.device, optional
        ``None`` or ``"auto"``: ``"cuda"`` when a GPU is usable, else ``"cpu"``. Anything else
        is checked (``"cuda"`` without a GPU is a clear error, not a crash later).

    Examples
    --------
    >>> choose_device("cpu")
    device(type='cpu')
    """
    import torch
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available (torch "
                             f"{torch.__version__}); use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} GPU(s)")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError(f"device {device!r}: MPS is not available")
    return dev


def seed_everything(seed) -> int:
    """Seed Python's, numpy's and torch's global generators (all GPUs too); returns the seed.

    ``None`` draws a fresh seed (returned, so it can be recorded).

    Examples
    --------
    >>> import torch
    >>> _ = seed_everything(3); a = torch.rand(2)
    >>> _ = seed_everything(3); bool((a == torch.rand(2)).all())
    True
    """
    import torch
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2 ** 31))
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def derived_seed(*parts) -> int:
    """A 31-bit seed derived from several integers (e.g. ``(seed, epoch)``), stable across runs.

    Examples
    --------
    >>> derived_seed(1, 2) == derived_seed(1, 2), derived_seed(1, 2) == derived_seed(2, 1)
    (True, False)
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] >> 1)


# -- checkpoints ---------------------------------------------------------------------------------
def shipped_checkpoint_dirs(package: str | None) -> list:
    """Folders holding a plugin's shipped checkpoints: ``<package>/checkpoints`` then the shared
    ``obspy_gen/checkpoints``.

    Examples
    --------
    >>> [p.name for p in shipped_checkpoint_dirs("obspy_gen.plugins")]
    ['checkpoints', 'checkpoints']
    """
    dirs = []
    if package:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            dirs.append(Path(list(spec.submodule_search_locations)[0]) / "checkpoints")
    dirs.append(SHARED_CHECKPOINTS)
    return dirs


def shipped_checkpoints(package: str | None) -> list:
    """Names of the checkpoints shipped for ``package`` (and shared ones), sorted.

    Examples
    --------
    >>> isinstance(shipped_checkpoints(None), list)
    True
    """
    names = set()
    for d in shipped_checkpoint_dirs(package):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.json")
                         if p.with_suffix(".safetensors").is_file())
    return sorted(names)


def list_pretrained(package: str | None) -> list:
    """Names ``from_pretrained`` accepts without a path: the checkpoints shipped for
    ``package`` and the shared ones (same as :func:`shipped_checkpoints`).

    Examples
    --------
    >>> "timesnet-gen-synthetic" in list_pretrained("obspy_gen.plugins.timesnet_gen")
    True
    """
    return shipped_checkpoints(package)


def resolve_checkpoint(name_or_path, package: str | None = None) -> Path:
    """Base path (no suffix) of a checkpoint given by shipped name or by path.

    A bare name (no folder part) is looked up in :func:`shipped_checkpoint_dirs` first; then
    it is taken as a path. A missing checkpoint is a :class:`CheckpointError` that lists the
    shipped names.

    Examples
    --------
    >>> resolve_checkpoint("surely-not-there", "obspy_gen.plugins")
    Traceback (most recent call last):
    ...
    obspy_gen.io.checkpoints.CheckpointError: surely-not-there: no such checkpoint (not shipped: none shipped; not a file either)
    """
    text = os.fspath(name_or_path)
    plain = Path(text)
    if plain.suffix in (".json", ".safetensors"):
        plain = plain.with_suffix("")
    if os.sep not in text and "/" not in text:
        for d in shipped_checkpoint_dirs(package):
            weights, meta = checkpoint_paths(d / plain.name)
            if meta.is_file() and weights.is_file():
                return meta.with_suffix("")
    weights, meta = checkpoint_paths(plain)
    if meta.is_file() or weights.is_file() or Path(text).is_file():
        return meta.with_suffix("")
    shipped = ", ".join(shipped_checkpoints(package)) or "none shipped"
    raise CheckpointError(f"{text}: no such checkpoint (not shipped: {shipped}; not a file "
                          f"either)")


def state_dict_numpy(module, prefix: str = "model.") -> dict:
    """A module's parameters and persistent buffers as ``{prefix + name: numpy array}``.

    Examples
    --------
    >>> import torch
    >>> sorted(state_dict_numpy(torch.nn.Linear(2, 1)))
    ['model.bias', 'model.weight']
    """
    return {prefix + k: v.detach().cpu().float().numpy() if v.is_floating_point()
            else v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_state(module, checkpoint, prefix: str = "model.") -> None:
    """Load the tensors under ``prefix`` into ``module``; shape mismatches are one-line errors.

    Examples
    --------
    >>> import torch
    >>> from obspy_gen.io.checkpoints import Checkpoint
    >>> lin = torch.nn.Linear(2, 1)
    >>> ck = Checkpoint({}, state_dict_numpy(torch.nn.Linear(2, 1)))
    >>> load_state(lin, ck)
    """
    import torch

    from obspy_gen.io.checkpoints import check_shapes
    own = module.state_dict()
    check_shapes(checkpoint, {k: tuple(v.shape) for k, v in own.items()}, prefix)
    tensors = checkpoint.with_prefix(prefix)
    module.load_state_dict({k: torch.from_numpy(np.array(tensors[k])).to(own[k].dtype)
                            for k in own})


def load_network(path, plugin, config_cls, model_cls, device=None, *, station_inputs=True):
    """A plugin's network from its checkpoint, in eval mode on ``device``.

    Reads the checkpoint (``plugin`` must match its JSON), builds ``config_cls.from_dict`` of
    its ``"architecture"`` and ``model_cls(arch)``, loads the ``model.*`` tensors. With
    ``station_inputs`` a conditioned architecture (``arch.conditioned``) must list as many
    stations as it has station inputs (``arch.n_stations``).

    Returns
    -------
    checkpoint : obspy_gen.io.checkpoints.Checkpoint
    arch : the config dataclass
    model : torch.nn.Module
        In eval mode, on ``device``.
    stations : list of dict
        The checkpoint's ``"stations"`` (empty when none).
    device : torch.device

    Raises
    ------
    CheckpointError
        Not a checkpoint of ``plugin``, a bad architecture description, a station list that
        does not fit it, or tensors that do not fit the network.

    Examples
    --------
    >>> import os, tempfile
    >>> import pytest
    >>> torch = pytest.importorskip("torch")
    >>> class Arch:
    ...     def __init__(self, n):
    ...         self.n = n
    ...     @classmethod
    ...     def from_dict(cls, d):
    ...         return cls(**d)
    >>> class Net(torch.nn.Linear):
    ...     def __init__(self, arch):
    ...         super().__init__(arch.n, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "net")
    >>> _ = save_checkpoint(path, state_dict_numpy(Net(Arch(2)), "model."),
    ...                     {"architecture": {"n": 2}}, plugin="demo")
    >>> ck, arch, model, stations, dev = load_network(path, "demo", Arch, Net, "cpu")
    >>> arch.n, model.training, stations, str(dev)
    (2, False, [], 'cpu')
    >>> load_network(path, "demo", Arch, lambda arch: Net(Arch(3)), "cpu")
    Traceback (most recent call last):
    ...
    obspy_gen.io.checkpoints.CheckpointError: ...
    """
    ck = load_checkpoint(path, plugin=plugin)
    try:
        arch = config_cls.from_dict(ck.config["architecture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{ck.path}.json: bad architecture description: {exc}") from None
    stations = list(ck.config.get("stations") or [])
    if station_inputs and getattr(arch, "conditioned", False) and \
            len(stations) != arch.n_stations:
        raise CheckpointError(f"{ck.path}.json: {arch.n_stations} conditioned stations but "
                              f"{len(stations)} listed")
    model = model_cls(arch)
    load_state(model, ck, "model.")
    dev = choose_device(device)
    return ck, arch, model.to(dev).eval(), stations, dev

class TorchPlugin:
    """Mixin for torch plugin classes: shipped/pretrained checkpoints, save, device.

    Subclasses set ``checkpoint_package`` (the package whose ``checkpoints/`` folder holds the
    shipped files; default: the subclass's own package) and ``default_checkpoint``, and
    implement two hooks:

    ``_load_checkpoint(self, checkpoint, device)``
        Build the model(s) from a :class:`~obspy_gen.io.checkpoints.Checkpoint`.
    ``_checkpoint_content(self) -> (tensors, config)``
        What :meth:`save` writes.

    Examples
    --------
    >>> from obspy_gen.api import Plugin
    >>> class Tiny(TorchPlugin, Plugin):
    ...     name, version = "tiny", "1"
    ...     def _checkpoint_content(self):
    ...         return {"w": np.zeros(2)}, {"architecture": {}}
    ...     def _load_checkpoint(self, checkpoint, device):
    ...         self.w = checkpoint.tensors["w"]
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> _ = Tiny().save(path)
    >>> Tiny.from_pretrained(path).w.shape
    (2,)
    """

    checkpoint_package: str | None = None
    default_checkpoint: str | None = None

    @classmethod
    def _package(cls) -> str:
        return cls.checkpoint_package or cls.__module__.rsplit(".", 1)[0]

    @classmethod
    def resolve(cls, name_or_path=None) -> Path:
        """Base path of a checkpoint (shipped name or path; ``None`` = the default)."""
        name_or_path = name_or_path or cls.default_checkpoint
        if name_or_path is None:
            raise CheckpointError(f"{getattr(cls, 'name', cls.__name__)}: no checkpoint given "
                                  f"and none is the default")
        return resolve_checkpoint(name_or_path, cls._package())

    @classmethod
    def list_pretrained(cls) -> list:
        """Names of the checkpoints shipped for this plugin (see :func:`list_pretrained`)."""
        return list_pretrained(cls._package())

    @classmethod
    def from_pretrained(cls, name_or_path=None, device=None, **kwargs):
        """An instance with the checkpoint ``name_or_path`` loaded (shipped names first)."""
        path = cls.resolve(name_or_path)
        checkpoint = load_checkpoint(path, plugin=getattr(cls, "name", None) or None)
        obj = cls(**kwargs)
        obj.checkpoint = checkpoint
        obj._load_checkpoint(checkpoint, choose_device(device) if device is not None
                             else None)
        return obj

    def save(self, path) -> tuple:
        """Write this plugin's state as ``path.safetensors`` + ``path.json``."""
        tensors, config = self._checkpoint_content()
        return save_checkpoint(path, tensors, config, plugin=getattr(self, "name", ""),
                               plugin_version=getattr(self, "version", "0"))

    def _checkpoint_content(self):  # pragma: no cover - hook
        raise NotImplementedError

    def _load_checkpoint(self, checkpoint, device):  # pragma: no cover - hook
        raise NotImplementedError



class CachedCheckpointPlugin(TorchPlugin):
    """A :class:`TorchPlugin` whose checkpoint is loaded on first use and cached.

    Subclasses set ``_load_model = staticmethod(loader)`` with ``loader(path, device)``
    returning what :meth:`load` gives (the network and whatever else the plugin needs); they
    get the constructor ``(checkpoint=None, device=None)``, :meth:`load` and the
    ``from_pretrained`` hook.

    Examples
    --------
    >>> from obspy_gen.api import Plugin
    >>> import os, tempfile
    >>> base = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> open(base + ".json", "w").close()
    >>> class Tiny(CachedCheckpointPlugin, Plugin):
    ...     name, version = "tiny", "1"
    ...     _load_model = staticmethod(lambda path, device: (str(path), device))
    >>> Tiny(base, device="cpu").load() == (base, "cpu")
    True
    >>> Tiny(base).load() is Tiny(base).load()     # cached per file and device
    True
    """

    _load_model = None

    def __init__(self, checkpoint=None, device=None):
        self._checkpoint = checkpoint
        self._device = device

    def _load_checkpoint(self, checkpoint, device):
        self._checkpoint = str(checkpoint.path)
        self._device = device

    def load(self, checkpoint=None, device=None):
        """The loaded ``checkpoint`` (default: this instance's, else the shipped default),
        cached per file, modification time and device (:func:`load_cached`)."""
        path = self.resolve(checkpoint or self._checkpoint)
        return load_cached(self._load_model, path,
                           device if device is not None else self._device)


class CheckpointModelPlugin(CachedCheckpointPlugin):
    """A :class:`CachedCheckpointPlugin` whose loader returns a :class:`LoadedCheckpoint` (or
    anything with ``station_codes``): it adds :meth:`stations`.

    Examples
    --------
    >>> from obspy_gen.api import Plugin
    >>> import os, tempfile
    >>> base = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> open(base + ".json", "w").close()
    >>> class Tiny(CheckpointModelPlugin, Plugin):
    ...     name, version = "tiny", "1"
    ...     _load_model = staticmethod(lambda path, device: LoadedStations(
    ...         path, {}, None, None, [{"station": "4628"}]))
    >>> Tiny(base).stations()
    ['4628']
    """

    def stations(self, checkpoint=None) -> list:
        """Station codes the checkpoint knows (its conditioning or latent pools)."""
        return self.load(checkpoint).station_codes


@dataclass
class LoadedCheckpoint:
    """A checkpoint ready to run: the fields every torch plugin's loaded model has.

    Subclasses add their own fields (latent pools, scalers, ...) and a ``stations`` list of
    dicts with a ``"station"`` key.

    Attributes
    ----------
    path : pathlib.Path
        Base path of the checkpoint.
    config : dict
        Its JSON description.
    arch : object
        The architecture (a config dataclass).
    model : torch.nn.Module
        In eval mode.
    """

    path: Path
    config: dict
    arch: object
    model: object

    @property
    def name(self) -> str:
        """File name of the checkpoint (without suffix)."""
        return Path(self.path).name

    @property
    def station_codes(self) -> list:
        """Codes of :attr:`stations`, in order."""
        return [s["station"] for s in getattr(self, "stations", ())]


@dataclass
class LoadedStations(LoadedCheckpoint):
    """A :class:`LoadedCheckpoint` with a station list and a device (the common case).

    Examples
    --------
    >>> LoadedStations("m", {}, None, None, [{"station": "2020"}]).station_codes
    ['2020']
    """

    stations: list = field(default_factory=list)
    device: object = None

# -- distributed -----------------------------------------------------------------------------
@dataclass
class DistInfo:
    """Where this process stands in a (possibly one-process) run.

    Examples
    --------
    >>> DistInfo().is_main, DistInfo(rank=1, world_size=2).distributed
    (True, True)
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device=None) -> tuple:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1).

    Backend ``nccl`` on CUDA, ``gloo`` on CPU; each process takes GPU ``LOCAL_RANK``. Returns
    ``(DistInfo, device)``; a plain run gets ``DistInfo()`` and :func:`choose_device`'s pick.

    Examples
    --------
    >>> info, dev = setup_distributed("cpu")
    >>> info.world_size, dev.type
    (1, 'cpu')
    """
    import torch
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = choose_device(device)
    if world <= 1:
        return DistInfo(), dev
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    here = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        here = True
    return DistInfo(rank, world, local, here), dev


# -- training loop ---------------------------------------------------------------------------
@dataclass
class TrainSettings:
    """Hyper-parameters of :func:`fit` (recorded in every checkpoint).

    Examples
    --------
    >>> TrainSettings(epochs=3).to_dict()["optimizer"]
    'AdamW'
    """

    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-2
    betas: tuple = (0.9, 0.999)
    schedule: str = "cosine"
    warmup_steps: int = 0
    grad_clip: float | None = 1.0
    seed: int = 0
    amp: str | bool | None = None
    num_workers: int = 0
    optimizer: str = "AdamW"
    #: Opt-in: end with the weights of the epoch of lowest validation loss (see :func:`fit`).
    keep_best: bool = False

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule={self.schedule!r} is not one of cosine, constant")
        # Checked here, not only on CUDA: a typo must not pass silently on a CPU run.
        if self.amp not in (None, False, True, "bf16", "fp16"):
            raise ValueError(f"amp={self.amp!r} is not one of None, 'bf16', 'fp16'")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        if not self.keep_best:
            # Off by default: runs without it record the same settings as before it existed.
            d.pop("keep_best")
        return d


def _lr_factor(settings: TrainSettings, step: int, total: int) -> float:
    if settings.warmup_steps and step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    if settings.schedule == "constant" or total <= 0:
        return 1.0
    progress = min(1.0, (step - settings.warmup_steps) / max(1, total - settings.warmup_steps))
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))


def _autocast(device, amp):
    import contextlib

    import torch
    if not amp or device.type != "cuda":
        return contextlib.nullcontext(), None
    if amp is True or amp == "bf16":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif amp == "fp16":
        dtype = torch.float16
    else:
        raise ValueError(f"amp={amp!r} is not one of None, 'bf16', 'fp16'")
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def state_paths(out) -> tuple:
    """Training-state files that go with checkpoint ``out`` (optimizer, epoch, history).

    Examples
    --------
    >>> [p.name for p in state_paths("/tmp/run/model")]
    ['model.state.safetensors', 'model.state.json']
    """
    weights, _ = checkpoint_paths(out)
    base = weights.with_suffix("")
    return checkpoint_paths(base.with_name(base.name + ".state"))


def _save_state(out, optimizer, model, epoch, step, history, settings, best=None):
    # Optimizer moments as named tensors (no pickles); scalars in the JSON. ``best``:
    # (epoch, val_loss, state_dict) of the best epoch so far when ``keep_best``.
    names = {id(p): n for n, p in model.named_parameters()}
    tensors, scalars = {}, {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p, {})
            name = names[id(p)]
            for key, value in st.items():
                if hasattr(value, "dim") and value.dim() > 0:
                    tensors[f"optim.{name}.{key}"] = value
                else:
                    scalars[f"{name}.{key}"] = float(value)
    config = {"epoch": epoch, "step": step, "history": history,
              "optimizer_scalars": scalars, "settings": settings.to_dict()}
    if best is not None:
        # ``out`` ends with the best weights: the last ones travel here for a resume.
        tensors.update({f"best.{k}": v for k, v in best[2].items()})
        tensors.update({f"last.{k}": v for k, v in model.state_dict().items()})
        config["best"] = {"epoch": best[0], "val_loss": best[1]}
    weights, _ = state_paths(out)
    save_checkpoint(weights.with_suffix(""), tensors, config, plugin="training-state")


def _load_best(out, model):
    """(epoch, val_loss, state_dict) of the best epoch stored in the training state; the
    model gets the last epoch's weights stored there (``out`` may hold the best ones)."""
    import torch
    weights, _ = state_paths(out)
    ck = load_checkpoint(weights.with_suffix(""), plugin="training-state")
    info = ck.config.get("best")
    if not info:
        return None
    ref = model.state_dict()

    def tensors(prefix):
        return {k: torch.from_numpy(np.array(v)).to(ref[k].device, ref[k].dtype)
                for k, v in ck.with_prefix(prefix).items() if k in ref}
    last = tensors("last.")
    if last:
        model.load_state_dict(last)
    return int(info["epoch"]), float(info["val_loss"]), tensors("best.")


def _load_state(out, optimizer, model):
    import torch
    weights, _ = state_paths(out)
    ck = load_checkpoint(weights.with_suffix(""), plugin="training-state")
    names = dict(model.named_parameters())
    scalars = ck.config.get("optimizer_scalars", {})
    for name, p in names.items():
        st = {}
        for key, arr in ck.with_prefix(f"optim.{name}.").items():
            st[key] = torch.from_numpy(np.array(arr)).to(p.device, p.dtype)
        for key, value in scalars.items():
            if key.startswith(name + ".") and key[len(name) + 1:].count(".") == 0:
                st[key[len(name) + 1:]] = torch.tensor(value)
        if st:
            optimizer.state[p] = st
    return ck.config


def _is_tty() -> bool:
    return sys.stderr.isatty()


def fit(model, train_data, val_data, loss_fn, *, out, save_fn, settings=None, device=None,
        resume=False, quiet=False, log=None, load_fn=None, on_epoch_start=None) -> dict:
    """Train ``model`` (the skeleton all torch plugins share); returns the history.

    Parameters
    ----------
    model : torch.nn.Module
        Parameters named in its ``no_weight_decay`` attribute (and all 0-/1-D ones) are not
        weight-decayed.
    train_data, val_data : torch.utils.data.Dataset
        Items are dicts of tensors. ``val_data`` may be ``None`` or empty; make it a
        station-wise (or, for station-conditioned fine-tuning, a per-station record) split.
    loss_fn : callable
        ``loss_fn(model, batch) -> scalar tensor`` (``batch`` already on the device; under
        DDP ``model`` is the wrapped module).
    out : str or Path
        Checkpoint base path, written every epoch by ``save_fn``; the training state (optimizer
        moments, epoch, history) goes next to it (:func:`state_paths`) for ``resume``.
    save_fn : callable
        ``save_fn(model, out, epoch, history)`` writes the checkpoint (main process only).
    settings : TrainSettings
    device : str, optional
        Default CUDA when available. Under ``torchrun`` each process takes its local GPU (or the
        CPU with the gloo backend).
    resume : bool
        Continue from the state next to ``out`` (the same epochs are not repeated; with the
        same settings the result equals an uninterrupted run). Without a state: start afresh.
    quiet : bool
        No progress bar (it is also off when stderr is not a terminal).
    log : callable, optional
        Receives one line per epoch (default: print to stderr unless quiet).
    load_fn : callable, optional
        ``load_fn(model, out)`` restores the weights from ``out`` on resume (default: the
        ``model.`` tensors of the checkpoint).
    on_epoch_start : callable, optional
        ``on_epoch_start(model, epoch)`` before each epoch, in every process (e.g. to refresh
        statistics the loss uses).

    Returns
    -------
    dict
        ``{"epochs": [{"epoch", "train_loss", "val_loss", "seconds", "records_per_s"}, ...],
        "settings": ..., "world_size": ...}``; with ``settings.keep_best`` also
        ``"best_epoch"``.

    Notes
    -----
    ``settings.keep_best`` (opt-in, off by default): a copy of the weights of the epoch of
    lowest validation loss is kept (in memory and in the training state, so that ``resume``
    keeps it too); after the last epoch the model gets those weights back and ``save_fn`` is
    called once more with ``history["best_epoch"]`` set, so ``out`` holds the best epoch's
    weights. Without validation data it changes nothing.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> data = [{"x": torch.randn(4)} for _ in range(8)]
    >>> model = torch.nn.Linear(4, 4)
    >>> loss = lambda m, b: ((m(b["x"]) - b["x"]) ** 2).mean()
    >>> def save(m, out, epoch, history):
    ...     save_checkpoint(out, state_dict_numpy(m), {"history": history}, plugin="demo")
    >>> out = os.path.join(tempfile.mkdtemp(), "demo")
    >>> hist = fit(model, data, data[:2], loss, out=out, save_fn=save, quiet=True,
    ...            settings=TrainSettings(epochs=2, batch_size=4), device="cpu")
    >>> [e["epoch"] for e in hist["epochs"]], os.path.exists(out + ".state.json")
    ([1, 2], True)
    """
    import torch
    from torch.utils.data import DataLoader

    settings = settings or TrainSettings()
    info, dev = setup_distributed(device)
    say = log if log is not None else (lambda line: None if quiet else print(line,
                                                                           file=sys.stderr))
    if not info.is_main:
        say = lambda line: None  # noqa: E731 - one voice in a DDP run
    model = model.to(dev)
    history = {"epochs": [], "settings": settings.to_dict(), "world_size": info.world_size}
    decay, no_decay = [], []
    # Biases, norms and what the model lists in ``no_weight_decay`` (e.g. cluster centres)
    # are not decayed.
    exempt = set(getattr(model, "no_weight_decay", ()))
    for n, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.dim() <= 1 or n in exempt else decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr,
        betas=tuple(settings.betas))
    start_epoch, step = 0, 0
    best = None  # (epoch, val_loss, state_dict) when settings.keep_best
    state_weights, _ = state_paths(out)
    if resume and state_weights.is_file():
        if load_fn is not None:
            load_fn(model, out)
        else:
            load_state(model, load_checkpoint(out))
        state = _load_state(out, optimizer, model)
        start_epoch, step = int(state["epoch"]), int(state["step"])
        done = read_config(out).get("training", {}).get("epochs_done")
        if done is not None and int(done) != start_epoch:
            # The weights and the optimizer state are written one after the other; a run
            # stopped in between leaves them an epoch apart.
            raise CheckpointError(f"{out}: weights are after epoch {done} but the training "
                                  f"state after epoch {start_epoch} (a run stopped between "
                                  f"the two writes); start afresh or restore a matching pair")
        history["epochs"] = list(state.get("history", {}).get("epochs", []))
        if settings.keep_best:
            best = _load_best(out, model)
        say(f"resuming from {out} after epoch {start_epoch}")
    elif resume:
        say(f"no training state next to {out}: starting afresh")

    net = model
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda"
                                      else None)
    from torch.utils.data.distributed import DistributedSampler

    def loader(data, shuffle, epoch):
        if data is None or len(data) == 0:
            return None
        if info.distributed:
            sampler = DistributedSampler(data, info.world_size, info.rank, shuffle=shuffle,
                                         seed=settings.seed, drop_last=False)
            sampler.set_epoch(epoch)
            return DataLoader(data, batch_size=settings.batch_size, sampler=sampler,
                              num_workers=settings.num_workers)
        gen = torch.Generator().manual_seed(derived_seed(settings.seed, epoch, 1))
        return DataLoader(data, batch_size=settings.batch_size, shuffle=shuffle,
                          generator=gen if shuffle else None, num_workers=settings.num_workers)

    def to_device(batch):
        return {k: v.to(dev, non_blocking=True) if hasattr(v, "to") else v
                for k, v in batch.items()}

    autocast, scaler = _autocast(dev, settings.amp)
    steps_per_epoch = math.ceil(len(train_data) / (settings.batch_size * info.world_size))
    total_steps = steps_per_epoch * settings.epochs
    from tqdm import tqdm
    try:
        for epoch in range(start_epoch, settings.epochs):
            # Every epoch reseeds from (seed, epoch): a resumed run shuffles and drops out
            # exactly as an uninterrupted one.
            torch.manual_seed(derived_seed(settings.seed, epoch, info.rank))
            t0 = time.perf_counter()
            if on_epoch_start is not None:
                on_epoch_start(model, epoch)
            net.train()
            total, count = 0.0, 0
            batches = loader(train_data, True, epoch)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch",
                       leave=False, file=sys.stderr,
                       disable=quiet or not info.is_main or not _is_tty())
            for batch in bar:
                batch = to_device(batch)
                for group in optimizer.param_groups:
                    group["lr"] = settings.lr * _lr_factor(settings, step, total_steps)
                optimizer.zero_grad(set_to_none=True)
                with autocast:
                    loss = loss_fn(net, batch)
                # One device-to-host copy per step (each read of a CUDA scalar syncs).
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    raise FloatingPointError(f"epoch {epoch + 1}: loss is {loss_value}; lower "
                                             f"the learning rate")
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if settings.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                step += 1
                n = len(next(iter(batch.values())))
                total += loss_value * n
                count += n
                bar.set_postfix(loss=f"{total / max(count, 1):.4g}")
            train_loss = _reduce_mean(total, count, dev, info)
            val_loss = evaluate_loss(net, loader(val_data, False, epoch), loss_fn, to_device,
                                     autocast, dev, info)
            seconds = time.perf_counter() - t0
            n_train = count * info.world_size
            entry = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
                     "seconds": round(seconds, 3),
                     "records_per_s": round(n_train / seconds, 3) if seconds > 0 else None}
            history["epochs"].append(entry)
            if settings.keep_best and val_loss is not None and (best is None
                                                                or val_loss < best[1]):
                best = (epoch + 1, val_loss, {k: v.detach().clone()
                                              for k, v in model.state_dict().items()})
            if info.is_main:
                save_fn(model, out, epoch + 1, history)
                _save_state(out, optimizer, model, epoch + 1, step, history, settings, best)
            if info.distributed:
                import torch.distributed as dist
                dist.barrier()
            val_text = "-" if val_loss is None else f"{val_loss:.4g}"
            say(f"epoch {epoch + 1}/{settings.epochs}: train loss {train_loss:.4g}, "
                f"validation loss {val_text}, {seconds:.1f} s "
                f"({entry['records_per_s'] or 0:.1f} records/s)")
        if settings.keep_best and best is not None:
            # The training state keeps the last epoch's weights and moments (for a resume
            # with more epochs); ``out`` gets the best epoch's weights.
            model.load_state_dict(best[2])
            history["best_epoch"] = best[0]
            if info.is_main:
                save_fn(model, out, len(history["epochs"]), history)
            say(f"kept the weights of epoch {best[0]} (validation loss {best[1]:.4g})")
    finally:
        if info.initialised_here:
            import torch.distributed as dist
            dist.destroy_process_group()
    return history


def _reduce_mean(total, count, dev, info):
    if not info.distributed:
        return total / count if count else float("nan")
    import torch
    import torch.distributed as dist
    t = torch.tensor([total, count], dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return float(t[0] / t[1]) if t[1] > 0 else float("nan")


def evaluate_loss(net, batches, loss_fn, to_device, autocast, dev, info):
    """Mean loss over ``batches`` without gradients (``None`` when there are none); under
    DDP the mean over all processes' batches.

    Examples
    --------
    >>> import contextlib, torch
    >>> net = torch.nn.Identity()
    >>> batches = [{"x": torch.ones(2)}, {"x": torch.zeros(2)}]
    >>> evaluate_loss(net, batches, lambda m, b: m(b["x"]).mean(), lambda b: b,
    ...               contextlib.nullcontext(), torch.device("cpu"), DistInfo())
    0.5
    """
    import torch
    if batches is None:
        return None
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad(), autocast:
        for batch in batches:
            batch = to_device(batch)
            n = len(next(iter(batch.values())))
            total += float(loss_fn(net, batch)) * n
            count += n
    return _reduce_mean(total, count, dev, info)


def history_json(history) -> str:
    """Compact JSON of a training history (for logs).

    Examples
    --------
    >>> history_json({"epochs": []})
    '{"epochs": []}'
    """
    return json.dumps(history)

"""Model checkpoints: safetensors weights + a JSON description, never pickles.

A checkpoint named ``NAME`` is two files side by side:

``NAME.safetensors``
    Every tensor (weights, latent pools, ...), readable with :mod:`safetensors` alone; its
    header metadata entry ``obspy-gen-checkpoint`` (a JSON string) names the format version
    and the plugin.
``NAME.json``
    What the tensors are: ``format``, ``format_version``, ``plugin``, ``plugin_version``,
    ``architecture`` (constructor arguments), ``normalisation``, ``stations``,
    ``latent_pools`` (shapes), ``training`` (data description, including ``synthetic``),
    ``tensors`` (name -> dtype and shape) and ``weights_sha256`` of the safetensors file.

Loading never executes code from the file (no :mod:`pickle`, no ``torch.load``), and anything
that is not a checkpoint of the expected plugin and shapes is refused with a one-line
:class:`CheckpointError` naming the file. This module needs numpy and safetensors, not torch.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> base = os.path.join(tempfile.mkdtemp(), "demo")
>>> paths = save_checkpoint(base, {"w": np.ones((2, 3), np.float32)}, {"architecture": {}},
...                         plugin="demo", plugin_version="1.0")
>>> [os.path.basename(p) for p in paths]
['demo.safetensors', 'demo.json']
>>> ckpt = load_checkpoint(base, plugin="demo")
>>> ckpt.tensors["w"].shape, ckpt.config["plugin"]
((2, 3), 'demo')
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obspy_gen.io.atomic import atomic_path

#: Value of the ``format`` key (JSON) and of the safetensors metadata entry ``format``.
FORMAT = "obspy-gen-checkpoint"
#: Version of the layout this code writes; it reads this and older ones.
FORMAT_VERSION = 1
SUFFIXES = (".safetensors", ".json")


class CheckpointError(ValueError):
    """A file is not a usable checkpoint (one line: ``<path>: <reason>``)."""


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes
    ----------
    config : dict
        The JSON description.
    tensors : dict of str -> numpy.ndarray
        Every tensor (empty when loaded with ``tensors=False``).
    path : pathlib.Path
        Base path (without suffix).
    """

    config: dict
    tensors: dict = field(default_factory=dict)
    path: Path = Path()

    @property
    def name(self) -> str:
        """File name without suffix."""
        return self.path.name

    @property
    def plugin(self) -> str:
        """Plugin the checkpoint belongs to."""
        return self.config.get("plugin", "")

    def with_prefix(self, prefix: str) -> dict:
        """Tensors whose names start with ``prefix``, the prefix removed.

        Examples
        --------
        >>> Checkpoint({}, {"model.a": 1, "pool.b": 2}).with_prefix("model.")
        {'a': 1}
        """
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def checkpoint_paths(path) -> tuple:
    """``(NAME.safetensors, NAME.json)`` for ``NAME``, ``NAME.json`` or ``NAME.safetensors``.

    Examples
    --------
    >>> [p.name for p in checkpoint_paths("/tmp/model.json")]
    ['model.safetensors', 'model.json']
    """
    path = Path(os.fspath(path)).expanduser()
    if path.suffix in SUFFIXES:
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def _to_numpy(value) -> np.ndarray:
    # torch tensors (without importing torch): detach, move to the CPU, bfloat16 -> float32
    # (numpy has no bfloat16).
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.ascontiguousarray(value)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _replace_atomically(write, target: Path) -> None:
    with atomic_path(target) as tmp:
        write(tmp)


def save_checkpoint(path, tensors: dict, config: dict, *, plugin: str,
                    plugin_version: str = "0") -> tuple:
    """Write ``NAME.safetensors`` and ``NAME.json`` atomically; returns their paths.

    Parameters
    ----------
    path : str or Path
        ``NAME`` (a ``.json``/``.safetensors`` suffix is dropped); folders are created.
    tensors : dict of str -> array
        numpy arrays or torch tensors (moved to the CPU; bfloat16 stored as float32).
    config : dict
        JSON-serialisable description (``architecture``, ``normalisation``, ``stations``,
        ``latent_pools``, ``training``, ...); ``format``, ``plugin``, ``tensors`` and the
        checksum are filled in here.
    plugin, plugin_version : str
        Owner of the checkpoint.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> d = tempfile.mkdtemp()
    >>> _ = save_checkpoint(os.path.join(d, "m"), {"x": np.zeros(3)}, {}, plugin="demo")
    >>> sorted(os.listdir(d))
    ['m.json', 'm.safetensors']
    """
    from safetensors.numpy import save_file

    weights, meta = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    arrays = {str(k): _to_numpy(v) for k, v in tensors.items()}
    # One metadata entry (a JSON string): safetensors writes its metadata map in arbitrary
    # order, and a single key keeps the same weights byte-identical from run to run.
    header = {FORMAT: json.dumps({"format_version": FORMAT_VERSION, "plugin": plugin,
                                  "plugin_version": str(plugin_version)}, sort_keys=True)}
    _replace_atomically(lambda tmp: save_file(arrays, tmp, metadata=header), weights)
    from obspy_gen import __version__
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "plugin": plugin,
            "plugin_version": str(plugin_version), "obspy_gen_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            **{k: v for k, v in config.items() if k not in (
                "format", "format_version", "plugin", "plugin_version", "tensors",
                "weights_sha256")},
            "tensors": {k: {"dtype": str(a.dtype), "shape": list(a.shape)}
                        for k, a in sorted(arrays.items())},
            "weights_sha256": _sha256(weights)}
    text = json.dumps(full, indent=1, sort_keys=False, allow_nan=False)

    def write_json(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    # The JSON goes last: a reader never sees a description of weights that are not there.
    _replace_atomically(write_json, meta)
    return weights, meta


def _looks_pickled(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    # torch.save writes a zip archive ("PK"); plain pickles start with the PROTO opcode.
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def read_config(path, plugin: str | None = None) -> dict:
    """The JSON description of a checkpoint, validated (no tensors read).

    Parameters
    ----------
    path : str or Path
        ``NAME``, ``NAME.json`` or ``NAME.safetensors``.
    plugin : str, optional
        Refuse a checkpoint of another plugin.

    Raises
    ------
    CheckpointError
        Missing files, not an obspy-gen checkpoint, a newer format, another plugin.

    Examples
    --------
    >>> read_config("/nonexistent/model")
    Traceback (most recent call last):
    ...
    obspy_gen.io.checkpoints.CheckpointError: /nonexistent/model.json: no such checkpoint (needs model.json and model.safetensors)
    """
    weights, meta = checkpoint_paths(path)
    given = Path(os.fspath(path))
    if given.suffix not in SUFFIXES and given.is_file():
        if _looks_pickled(given):
            raise CheckpointError(f"{given}: looks like a pickle/torch.save file; obspy-gen "
                                  f"loads only NAME.safetensors + NAME.json checkpoints")
        raise CheckpointError(f"{given}: not a checkpoint (expected NAME.safetensors + "
                              f"NAME.json)")
    if not meta.is_file() or not weights.is_file():
        if weights.is_file() and not meta.is_file():
            raise CheckpointError(f"{meta}: missing (the weights {weights.name} need their "
                                  f"JSON description)")
        raise CheckpointError(f"{meta}: no such checkpoint (needs {meta.name} and "
                              f"{weights.name})")
    try:
        with open(meta, encoding="utf-8") as fh:
            config = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        hint = " (a pickle?)" if _looks_pickled(meta) else ""
        raise CheckpointError(f"{meta}: not an obspy-gen checkpoint description{hint}: "
                              f"{str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise CheckpointError(f"{meta}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{meta}: not an obspy-gen checkpoint (no \"format\": "
                              f"\"{FORMAT}\")")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{meta}: checkpoint format version {version!r} is newer than "
                              f"this obspy-gen reads ({FORMAT_VERSION}); upgrade obspy-gen")
    if plugin is not None and config.get("plugin") != plugin:
        raise CheckpointError(f"{meta}: checkpoint is for plugin {config.get('plugin')!r}, "
                              f"not {plugin!r}")
    return config


def load_checkpoint(path, *, plugin: str | None = None, tensors: bool = True,
                    verify: bool = True) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
        ``NAME``, ``NAME.json`` or ``NAME.safetensors``.
    plugin : str, optional
        Refuse a checkpoint of another plugin.
    tensors : bool
        Read the tensors (else only the description is checked and returned).
    verify : bool
        Check the safetensors file against the JSON's checksum and tensor list.

    Raises
    ------
    CheckpointError
        One line naming the file: not a checkpoint, a pickle, another plugin, a damaged or
        mismatched weights file.

    Examples
    --------
    >>> import os, tempfile
    >>> bad = os.path.join(tempfile.mkdtemp(), "bad")
    >>> for suffix in (".json", ".safetensors"):
    ...     _ = open(bad + suffix, "w").write("hello")
    >>> try:
    ...     load_checkpoint(bad)
    ... except CheckpointError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    not an obspy-gen checkpoint description: Expecting value: line 1 column 1 (char 0)
    """
    config = read_config(path, plugin)
    weights, meta = checkpoint_paths(path)
    base = weights.with_suffix("")
    from safetensors import safe_open
    try:
        with safe_open(str(weights), framework="np") as fh:
            meta_map = fh.metadata() or {}
            names = list(fh.keys())
            shapes = {k: list(fh.get_slice(k).get_shape()) for k in names}
            arrays = {k: fh.get_tensor(k) for k in names} if tensors else {}
    except Exception as exc:  # safetensors raises its own error types for any bad file
        hint = " (looks like a pickle/torch.save file)" if _looks_pickled(weights) else ""
        raise CheckpointError(f"{weights}: not a safetensors file{hint}: "
                              f"{str(exc).splitlines()[0]}") from None
    try:
        header = json.loads(meta_map[FORMAT])
        assert isinstance(header, dict)
    except (KeyError, ValueError, AssertionError):
        raise CheckpointError(f"{weights}: safetensors file without obspy-gen metadata "
                              f"(not written by obspy-gen)") from None
    if header.get("plugin") != config.get("plugin"):
        raise CheckpointError(f"{weights}: weights are for plugin {header.get('plugin')!r} "
                              f"but {meta.name} describes {config.get('plugin')!r}")
    if verify:
        listed = config.get("tensors", {})
        if set(listed) != set(names):
            extra = sorted(set(names) - set(listed))
            missing = sorted(set(listed) - set(names))
            raise CheckpointError(f"{weights}: tensors do not match {meta.name} (missing "
                                  f"{missing[:3]}, unexpected {extra[:3]})")
        for k in names:
            if list(listed[k]["shape"]) != shapes[k]:
                raise CheckpointError(f"{weights}: tensor {k!r} has shape {tuple(shapes[k])}"
                                      f" but {meta.name} says {tuple(listed[k]['shape'])}")
        digest = config.get("weights_sha256")
        if digest and digest != _sha256(weights):
            raise CheckpointError(f"{weights}: checksum differs from {meta.name} (file "
                                  f"replaced or damaged)")
    return Checkpoint(config, arrays, base)


def check_shapes(checkpoint: Checkpoint, expected: dict, prefix: str = "") -> None:
    """Raise a one-line :class:`CheckpointError` unless the tensors under ``prefix`` have
    exactly the names and shapes of ``expected`` (name -> shape).

    Examples
    --------
    >>> import numpy as np
    >>> ck = Checkpoint({}, {"model.w": np.zeros((2, 3))}, Path("m"))
    >>> check_shapes(ck, {"w": (2, 3)}, "model.")
    >>> check_shapes(ck, {"w": (4, 3)}, "model.")
    Traceback (most recent call last):
    ...
    obspy_gen.io.checkpoints.CheckpointError: m.safetensors: tensor 'model.w' has shape (2, 3), the model needs (4, 3) (checkpoint for another architecture?)
    """
    have = checkpoint.with_prefix(prefix)
    where = (checkpoint.path.with_name(checkpoint.path.name + ".safetensors")
             if checkpoint.path.name else "checkpoint")
    missing = sorted(set(expected) - set(have))
    extra = sorted(set(have) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{where}: tensors do not fit the model (missing "
                              f"{[prefix + m for m in missing[:3]]}, unexpected "
                              f"{[prefix + e for e in extra[:3]]})")
    for name, shape in expected.items():
        if tuple(have[name].shape) != tuple(shape):
            raise CheckpointError(f"{where}: tensor {prefix + name!r} has shape "
                                  f"{tuple(have[name].shape)}, the model needs {tuple(shape)} "
                                  f"(checkpoint for another architecture?)")

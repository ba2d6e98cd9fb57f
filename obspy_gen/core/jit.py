"""numba compilation with the on-disk JIT cache kept out of the installed package.

``numba.njit(cache=True)`` writes its cache files (``*.nbi``, ``*.nbc``) into the
``__pycache__`` folder beside the module when that folder is writable. In a site-packages
install those files are not in pip's RECORD, so ``pip uninstall`` (or the switch from
``pip install .`` to ``pip install -e .``) leaves ``site-packages/obspy_gen/`` behind without
its ``__init__.py``, and Python then imports it as an empty namespace package. obspy-gen's
compiled functions therefore cache in a user folder (:func:`cache_dir`): ``NUMBA_CACHE_DIR``
when set, else ``$XDG_CACHE_HOME/obspy-gen/numba`` (``~/.cache/obspy-gen/numba``; the usual
per-user cache folder on macOS and Windows), else a folder in the temporary directory, else no
cache at all -- never the package folder. Only obspy-gen's functions are affected: the numba
setting is changed for the moment each function is decorated and restored at once.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from pathlib import Path

import numba
from numba.core import config as _numba_config


def _user_cache_root() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def cache_dir() -> str | None:
    """The folder of obspy-gen's numba cache, or None when no folder is writable.

    ``NUMBA_CACHE_DIR`` when set (numba's own setting), else ``<user cache>/obspy-gen/numba``
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux), else ``<tmp>/obspy-gen-<user>/numba``.

    Examples
    --------
    >>> import obspy_gen
    >>> d = cache_dir()
    >>> d is None or not d.startswith(os.path.dirname(obspy_gen.__file__))
    True
    """
    env = os.environ.get("NUMBA_CACHE_DIR") or _numba_config.CACHE_DIR
    candidates = [Path(env)] if env else []
    candidates.append(_user_cache_root() / "obspy-gen" / "numba")
    user = os.environ.get("USER") or os.environ.get("USERNAME") or str(os.getuid()
                                                                        if hasattr(os, "getuid")
                                                                        else "user")
    candidates.append(Path(tempfile.gettempdir()) / f"obspy-gen-{user}" / "numba")
    package = Path(__file__).resolve().parents[1]
    for path in candidates:
        path = path.expanduser().resolve()
        if path == package or package in path.parents:
            continue
        if _writable(path):
            return str(path)
    return None


@contextlib.contextmanager
def _numba_cache_dir(path):
    old = _numba_config.CACHE_DIR
    _numba_config.CACHE_DIR = path
    try:
        yield
    finally:
        _numba_config.CACHE_DIR = old


def njit(*args, cache: bool = True, **kwargs):
    """``numba.njit`` whose on-disk cache lives in :func:`cache_dir` (never in the package).

    Used exactly like ``numba.njit`` (with or without arguments); ``cache=True`` by default.
    Without a writable cache folder the function compiles on every run instead.

    Examples
    --------
    >>> @njit
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    >>> @njit(cache=False)
    ... def thrice(x):
    ...     return 3 * x
    >>> thrice(2)
    6
    """
    def decorate(func):
        folder = cache_dir() if cache else None
        if folder is None:
            return numba.njit(cache=False, **kwargs)(func)
        # numba picks the cache folder when the function is decorated (its cache locator reads
        # numba.config.CACHE_DIR then), so the setting is needed only for this moment.
        with _numba_cache_dir(folder):
            try:
                return numba.njit(cache=True, **kwargs)(func)
            except RuntimeError:  # no source file to key a cache on (e.g. a doctest)
                return numba.njit(cache=False, **kwargs)(func)

    if args and callable(args[0]) and len(args) == 1:
        return decorate(args[0])
    if args:
        raise TypeError("njit takes keyword arguments only (besides the function)")
    return decorate

"""The one place that discovers and loads obspy-gen plugins.

Plugins are entry points in three groups (see :data:`GROUPS`); a built-in plugin registers in
``setup.cfg`` exactly like a third-party package would, so the path third parties take is the
tested path. Discovery reads package metadata only (cheap, no imports) and is cached; a plugin is
imported when it is loaded. A plugin that fails to import is reported with its name, distribution
and error, and every other plugin keeps working.
"""
from __future__ import annotations

import functools
import importlib.metadata as importlib_metadata
from dataclasses import dataclass

#: Short group name -> entry-point group.
GROUPS = {
    "generators": "obspy_gen.generators",
    "vs30": "obspy_gen.vs30",
    "site_metrics": "obspy_gen.site_metrics",
}


class PluginNotFoundError(LookupError):
    """No plugin of that name is installed in the group."""


class PluginLoadError(ImportError):
    """A plugin is registered but cannot be imported or does not fit its group."""


@dataclass(frozen=True)
class PluginInfo:
    """What the metadata says about one registered plugin (nothing imported).

    Attributes
    ----------
    group : str
        Entry-point group, e.g. ``"obspy_gen.generators"``.
    name : str
        Plugin name as registered (lookups are case-insensitive).
    value : str
        ``module:Class`` the entry point names.
    distribution : str
        Distribution (pip package) that registers it, ``"?"`` when unknown.
    distribution_version : str
        Version of that distribution.
    """

    group: str
    name: str
    value: str
    distribution: str
    distribution_version: str


def _group(group: str) -> str:
    if group in GROUPS:
        return GROUPS[group]
    if group in GROUPS.values():
        return group
    raise ValueError(f"unknown plugin group {group!r}; use one of {sorted(GROUPS)}")


@functools.lru_cache(maxsize=None)
def _scan(group: str) -> dict:
    found = {}
    for ep in importlib_metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(group, ep.name, ep.value,
                          dist.metadata["Name"] if dist is not None else "?",
                          dist.version if dist is not None else "?")
        # First registration wins, like importlib's own search order.
        found.setdefault(ep.name.lower(), (info, ep))
    return found


def refresh() -> None:
    """Forget the cached scan (after installing a plugin at run time, e.g. in tests).

    Examples
    --------
    >>> from obspy_gen import registry
    >>> registry.refresh()
    """
    _scan.cache_clear()
    _load_cached.cache_clear()


def plugins(group: str) -> list[PluginInfo]:
    """Metadata of every plugin registered in ``group``, sorted by name; imports nothing.

    Parameters
    ----------
    group : str
        ``"generators"``, ``"vs30"``, ``"site_metrics"`` or the full entry-point group name.

    Examples
    --------
    >>> from obspy_gen import registry
    >>> [p.name for p in registry.plugins("site_metrics")][:1]
    ['hvsr']
    """
    return [info for _, (info, _) in sorted(_scan(_group(group)).items())]


def available(group: str) -> list[str]:
    """Names of the plugins registered in ``group`` (no plugin is imported).

    Examples
    --------
    >>> import obspy_gen
    >>> "hvsr" in obspy_gen.plugins.available("site_metrics")
    True
    """
    return [info.name for info in plugins(group)]


@functools.lru_cache(maxsize=None)
def _load_cached(group: str, key: str):
    info, ep = _scan(group)[key]
    try:
        obj = ep.load()
    except Exception as exc:  # any import-time failure of third-party code
        raise PluginLoadError(
            f"plugin {info.name!r} ({group}) from distribution {info.distribution} "
            f"{info.distribution_version} failed to load: {type(exc).__name__}: {exc}") from exc
    from obspy_gen.api import BASES
    base = BASES[group]
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginLoadError(
            f"plugin {info.name!r} ({group}) from distribution {info.distribution}: "
            f"{info.value} is not a subclass of obspy_gen.api.{base.__name__}")
    return obj


def load(group: str, name: str):
    """The plugin class registered as ``name`` in ``group``.

    Parameters
    ----------
    group : str
        ``"generators"``, ``"vs30"``, ``"site_metrics"`` (or the full group name).
    name : str
        Plugin name, case-insensitive.

    Raises
    ------
    PluginNotFoundError
        No such plugin; the message lists those available.
    PluginLoadError
        The plugin is registered but its import failed; the message names plugin and distribution.

    Examples
    --------
    >>> import obspy_gen
    >>> cls = obspy_gen.plugins.load("site_metrics", "HVSR")
    >>> cls.name
    'hvsr'
    """
    full = _group(group)
    key = name.lower()
    if key not in _scan(full):
        known = ", ".join(available(full)) or "none installed"
        raise PluginNotFoundError(f"no plugin {name!r} in {full}; available: {known}")
    return _load_cached(full, key)


def status(group: str) -> list[tuple[PluginInfo, str]]:
    """Load every plugin of ``group``, import its requirements, and say how it went.

    ``"ok"``; ``"needs X, Y"`` when a requirement is not installed; ``"fails: <error>"`` when
    the plugin or one of its requirements fails to import.

    Examples
    --------
    >>> from obspy_gen import registry
    >>> dict((i.name, s) for i, s in registry.status("site_metrics"))["hvsr"]
    'ok'
    """
    rows = []
    for info in plugins(group):
        try:
            cls = load(group, info.name)
        except PluginLoadError as exc:
            reason = " ".join(str(exc.__cause__ or exc).split())
            if exc.__cause__ is not None:
                reason = f"{type(exc.__cause__).__name__}: {reason}"
            rows.append((info, f"fails: {reason}"))
            continue
        rows.append((info, cls.import_requirements()))
    return rows

"""Plugin access for users: what is installed and how to get one.

Built-in plugins live in sub-folders of this package (one folder per plugin) and register through
the same entry points as third-party ones; see :mod:`obspy_gen.registry`.

Examples
--------
>>> import obspy_gen
>>> "hvsr" in obspy_gen.plugins.available("site_metrics")
True
"""
from obspy_gen.registry import (GROUPS, PluginLoadError, PluginNotFoundError, available, load,
                                plugins, refresh, status)
from obspy_gen.api import (GenerationRequest, GeneratedRecord, Generator, Plugin, SiteMetric,
                           StationId, Vs30Predictor, Vs30Result, build_stream)

__all__ = ["GROUPS", "PluginLoadError", "PluginNotFoundError", "available", "load", "plugins",
           "refresh", "status", "Plugin", "Generator", "Vs30Predictor", "Vs30Result", "SiteMetric",
           "GenerationRequest", "GeneratedRecord", "StationId", "build_stream"]

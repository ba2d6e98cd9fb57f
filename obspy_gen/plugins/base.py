"""Backward-compatible home of the plugin base classes: they live in :mod:`obspy_gen.api`.

``from obspy_gen.plugins.base import SiteMetric`` keeps working for plugin packages written
before the API moved; new code imports from :mod:`obspy_gen.api` (or :mod:`obspy_gen.plugins`).
"""
from obspy_gen.api import (BASES, Generator, Plugin, SiteMetric, Vs30Predictor,  # noqa: F401
                           Vs30Result, nehrp_class)

__all__ = ["BASES", "Generator", "Plugin", "SiteMetric", "Vs30Predictor", "Vs30Result",
           "nehrp_class"]

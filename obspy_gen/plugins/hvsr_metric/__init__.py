"""Built-in site metric ``hvsr``: the core HVSR as a plugin (registered in setup.cfg).

Examples
--------
>>> from obspy import read
>>> import obspy_gen
>>> metric = obspy_gen.plugins.load("site_metrics", "hvsr")()
>>> metric.compute(read(), fmin=1, fmax=20, nfreq=64).to_dict()["n_windows"]
1
"""
from obspy_gen.core.hvsr import hvsr
from obspy_gen.api import SiteMetric


class HVSRMetric(SiteMetric):
    """HVSR curve and f0 of a station; settings as :func:`obspy_gen.hvsr` (incl. ``preset``)."""

    name = "hvsr"
    version = "1.0"

    def compute(self, records, **settings):
        return hvsr(records, **settings)

"""Built-in site metric ``picks``: P and S arrival times of every record.

STA/LTA + AIC (default) or ObsPy's AR picker; see :mod:`obspy_gen.core.picks`. A record without
a pick gets ``None`` and the reason, never an exception. For arrays (e.g. to build a P/S mask
channel for a model) use :func:`obspy_gen.core.picks.pick_arrivals` directly.

Examples
--------
>>> from obspy import read
>>> import obspy_gen
>>> result = read().site_metrics("picks")
>>> entry = result.to_dict()["records"][0]
>>> entry["station"], round(entry["p"], 1), entry["p_time"][:21]
('BW.RJOB.', 4.7, '2009-08-24T00:20:07.7')
"""
from obspy_gen.core.picks import picks
from obspy_gen.api import SiteMetric


class PicksMetric(SiteMetric):
    """P and S picks per record; settings as :func:`obspy_gen.core.picks.pick_arrivals`.

    Examples
    --------
    >>> from obspy import read
    >>> PicksMetric().compute(read(), method="ar").records[0].method
    'ar'
    """

    name = "picks"
    version = "1.0"

    def compute(self, records, **settings):
        return picks(records, **settings)

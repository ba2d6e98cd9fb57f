"""Built-in site metric ``intensity``: ground-motion intensity measures of every record.

PGA, PGV, PGD, Arias intensity, CAV, significant durations D5-75/D5-95 and 5 %-damped
pseudo-spectral acceleration at ``periods``, per component and for the horizontal geometric
mean and maximum; see :mod:`obspy_gen.core.intensity` for definitions, units and processing.
Registered in setup.cfg like a third-party plugin.

Examples
--------
>>> from obspy import read
>>> import obspy_gen
>>> result = read().site_metrics("intensity", periods=[0.1, 0.2, 0.5, 1.0, 2.0])
>>> record = result.to_dict()["records"][0]
>>> record["station"], len(record["components"]["geometric_mean"]["sa"])
('BW.RJOB.', 5)
"""
from obspy_gen.core.intensity import intensity_measures
from obspy_gen.api import SiteMetric


class IntensityMetric(SiteMetric):
    """Intensity measures per record; settings as
    :func:`obspy_gen.core.intensity.intensity_measures`.

    Examples
    --------
    >>> from obspy import read
    >>> IntensityMetric().compute(read(), periods=[1.0]).periods.tolist()
    [1.0]
    """

    name = "intensity"
    version = "1.0"

    def compute(self, records, **settings):
        return intensity_measures(records, **settings)

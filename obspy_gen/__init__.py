"""obspy-gen: site characterisation and site-specific strong-motion generation for ObsPy.

Importing the package attaches ``hvsr``, ``generate``, ``vs30`` and ``site_metrics`` methods to
:class:`obspy.core.stream.Stream`. It never imports torch: the torch plugins import it lazily.

Examples
--------
>>> import obspy_gen
>>> from obspy_gen.data import read_bundled
>>> st = read_bundled("AOM001")
>>> result = st.hvsr(window_length=None)
>>> 0.2 <= result.f0 <= 25.0
True
"""
__version__ = "0.1.0"

from obspy_gen.core.settings import HVSRSettings, PRESETS  # noqa: E402
from obspy_gen.core.smoothing import konno_ohmachi  # noqa: E402
from obspy_gen.core.hvsr import hvsr, HVSRResult  # noqa: E402
from obspy_gen.core.records import split_records, station_key  # noqa: E402
from obspy_gen.core.stream import attach_stream_methods  # noqa: E402
from obspy_gen import plugins  # noqa: E402

attach_stream_methods()

__all__ = ["HVSRSettings", "PRESETS", "HVSRResult", "hvsr", "konno_ohmachi", "split_records",
           "station_key", "plugins", "__version__"]

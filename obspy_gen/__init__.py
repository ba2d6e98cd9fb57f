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
from obspy_gen.core.records import split_records, station_key  # noqa: E402
from obspy_gen.core.stream import attach_stream_methods  # noqa: E402
from obspy_gen import plugins  # noqa: E402

attach_stream_methods()

# The numerical core (numba, scipy.signal: ~1.5 s to import) loads on first use, so that
# `import obspy_gen` stays cheap -- ObsPy imports this package when it probes a file against
# the AFAD format plugins.
_LAZY = {"hvsr": "obspy_gen.core.hvsr", "HVSRResult": "obspy_gen.core.hvsr",
         "konno_ohmachi": "obspy_gen.core.smoothing"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'obspy_gen' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))

__all__ = ["HVSRSettings", "PRESETS", "HVSRResult", "hvsr", "konno_ohmachi", "split_records",
           "station_key", "plugins", "__version__"]

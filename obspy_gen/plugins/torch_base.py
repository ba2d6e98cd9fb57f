"""Former home of the torch helpers, now :mod:`obspy_gen.torchkit` (``obspy_gen.torchkit.base``).

Kept so that ``from obspy_gen.plugins.torch_base import fit`` (and any other name) keeps working;
new code imports :mod:`obspy_gen.torchkit`. To patch a helper in tests, patch
``obspy_gen.torchkit.base``.
"""
from obspy_gen.torchkit.base import *  # noqa: F401,F403
from obspy_gen.torchkit import base as _base


def __getattr__(name):  # private helpers too (e.g. _save_state)
    return getattr(_base, name)

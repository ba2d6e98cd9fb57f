"""Former home of the torch helpers, now :mod:`obspy_gen.torchkit` (``obspy_gen.torchkit.base``).

Importing this module gives that very module object (so code that patches
``obspy_gen.plugins.torch_base.X`` patches the real thing); new code imports
:mod:`obspy_gen.torchkit`.
"""
import sys

from obspy_gen.torchkit import base as _base

sys.modules[__name__] = _base

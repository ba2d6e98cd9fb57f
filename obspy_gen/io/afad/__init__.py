"""AFAD ASCII strong-motion records (TR-NSMN ``.txt``), ObsPy format ``"AFAD"``.

See :mod:`obspy_gen.io.afad.core` for the layout and what the reader returns.
"""

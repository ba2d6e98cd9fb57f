"""AFAD records stored as MATLAB ``.mat`` files with labels, ObsPy format ``"AFADMAT"``.

See :mod:`obspy_gen.io.afad_mat.core` for the fields and what the reader returns.
"""

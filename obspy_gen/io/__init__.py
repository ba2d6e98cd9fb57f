"""File formats: ObsPy waveform plugins and obspy-gen's own tables.

* :mod:`obspy_gen.io.afad` -- AFAD ASCII records, ``obspy.read(path)`` (format ``"AFAD"``);
* :mod:`obspy_gen.io.afad_mat` -- AFAD records stored as MATLAB ``.mat`` with labels
  (format ``"AFADMAT"``);
* :mod:`obspy_gen.io.stations` -- the station metadata table (CSV).

The waveform readers register through ObsPy's entry points (``obspy.plugin.waveform``), so
they need no import: install obspy-gen and call :func:`obspy.read`.
"""

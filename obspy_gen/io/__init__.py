"""File formats: ObsPy waveform plugins and obspy-gen's own tables.

* :mod:`obspy_gen.io.afad` -- AFAD ASCII records, ``obspy.read(path)`` (format ``"AFAD"``);
* :mod:`obspy_gen.io.afad_mat` -- AFAD records stored as MATLAB ``.mat`` with labels
  (format ``"AFADMAT"``);
* :mod:`obspy_gen.io.peer` -- PEER NGA ``.AT2``/``.VT2``/``.DT2`` records (format ``"PEER"``);
* :mod:`obspy_gen.io.stations` -- the station metadata table (CSV);
* :func:`read_records` -- read files keeping each trace's file of origin, so that records of
  different files stay apart (:mod:`obspy_gen.io.records`).

The waveform readers register through ObsPy's entry points (``obspy.plugin.waveform``), so
they need no import: install obspy-gen and call :func:`obspy.read`.
"""

from obspy_gen.io.records import read_records  # noqa: E402

__all__ = ["read_records"]

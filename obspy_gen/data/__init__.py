"""Small real 3-component records shipped with obspy-gen for the demo, docs and tests.

See ``NOTICE.md`` in this folder for sources, licences and credits (NIED K-NET/KiK-net, AFAD).

Examples
--------
>>> from obspy_gen.data import bundled_records, read_bundled
>>> sorted(bundled_records())
['0921', '2404', 'AOM001', 'NGNH31']
>>> st = read_bundled("AOM001")
>>> len(st), st[0].stats.sampling_rate
(3, 100.0)
"""
from __future__ import annotations

from pathlib import Path

from obspy import Stream, read

DATA_DIR = Path(__file__).resolve().parent

#: Record name -> (folder, glob) of its files inside this package.
_RECORDS = {
    "AOM001": ("knet", "AOM0011801241951.*"),
    "NGNH31": ("kiknet", "NGNH311106302345.*2"),   # KiK-net surface sensor
    "0921": ("afad", "20170720223109_0921.txt.gz"),  # AFAD ASCII (gal), Mw 6.5 Bodrum-Kos
    "2404": ("afad_mat", "20120114055233_2404.mat"),  # AFAD .mat with Vs30/P/S/f0 labels
}


def bundled_records() -> dict:
    """Names of the bundled records and their files.

    Returns
    -------
    dict
        Record name -> sorted list of file paths (str).

    Examples
    --------
    >>> len(bundled_records()["AOM001"])
    3
    """
    out = {}
    for name, (folder, pattern) in _RECORDS.items():
        files = sorted(str(p) for p in (DATA_DIR / folder).glob(pattern))
        if files:
            out[name] = files
    return out


def read_bundled(name: str | None = None) -> Stream:
    """Read one bundled record (or all, ``name=None``) with :func:`obspy.read`.

    Parameters
    ----------
    name : str, optional
        A key of :func:`bundled_records`.

    Examples
    --------
    >>> st = read_bundled("NGNH31")
    >>> sorted(tr.stats.channel for tr in st)
    ['EW2', 'NS2', 'UD2']
    """
    records = bundled_records()
    if name is not None and name not in records:
        raise ValueError(f"no bundled record {name!r}; bundled: {', '.join(records)}")
    st = Stream()
    for key in ([name] if name else records):
        for path in records[key]:
            st += read(path)
    return st

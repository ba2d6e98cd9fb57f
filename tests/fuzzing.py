"""The shared skeleton of the readers' fuzz tests (AFAD text, AFAD .mat, PEER).

Each reader must answer junk, cut and mutated files with a clear error (:data:`ALLOWED`) or a
whole record; what a whole record is stays in each test module (its ``_check_stream``).
"""
import io
import os
import tempfile
import traceback
import warnings

import obspy
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
ALLOWED = (ValueError, TypeError)  # TypeError: obspy's "Unknown format"


def edits(size, max_size=8):
    """Strategy: 1 to ``max_size`` byte edits ``(position, byte, kind)`` of a ``size``-byte
    file, ``kind`` one of replace, insert, delete (see :func:`mutate`)."""
    return st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255),
                              st.sampled_from(["replace", "insert", "delete"])),
                    min_size=1, max_size=max_size)


def mutate(data, mutations):
    """``data`` with the edits of :func:`edits` applied one after the other (a position past
    the end of the shortened data means its last byte).

    >>> mutate(b"abc", [(0, 120, "replace"), (9, 121, "insert"), (1, 0, "delete")])
    b'xyc'
    """
    out = bytearray(data)
    for pos, byte, kind in mutations:
        pos = min(pos, len(out) - 1)
        if kind == "replace":
            out[pos] = byte
        elif kind == "insert":
            out.insert(pos, byte)
        else:
            del out[pos]
    return bytes(out)


def write(folder, data, name):
    """Write ``data`` to ``folder/name``; returns the path."""
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def read_file(data, name, readers, quiet=False, detector=None):
    """``data`` written to a file called ``name`` and read by each of ``readers`` (e.g. the
    format's reader and ``obspy.read``); returns the Streams of the reads that did not fail
    with a clear error (:data:`ALLOWED`; anything else propagates). ``quiet``: ignore
    warnings while reading; ``detector``: also check that it answers True or False for the
    path and for the bytes."""
    out = []
    with tempfile.TemporaryDirectory() as d:
        path = write(d, data, name)
        if detector is not None:
            assert detector(path) in (True, False)
            assert detector(io.BytesIO(data)) in (True, False)
        for read in readers:
            try:
                with warnings.catch_warnings():
                    if quiet:
                        warnings.simplefilter("ignore")
                    out.append(read(path))
            except ALLOWED:
                continue
    return out


def check_random_bytes(data, detector, reader, check):
    """Junk bytes: the detector answers True or False, the reader a ValueError or a whole
    record (``check(stream, data)``)."""
    assert detector(io.BytesIO(data)) in (True, False)
    try:
        st_ = reader(io.BytesIO(data))
    except ValueError:
        return
    check(st_, data)


def check_obspy_read_probing(data, name, detector):
    """Whatever ``obspy.read`` does with the junk in a file called ``name``, no exception
    comes out of obspy-gen's detectors and readers unless it is one a reader raised on
    purpose (:data:`ALLOWED`); no function whose name starts with ``detector`` raises."""
    with tempfile.TemporaryDirectory() as d:
        path = write(d, data, name)
        try:
            obspy.read(path)
        except Exception as exc:  # noqa: BLE001 -- built-in obspy readers may raise anything
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f.filename for f in frames if f"obspy_gen{os.sep}io" in f.filename]
            assert not ours or isinstance(exc, ALLOWED), (type(exc), ours)
            assert not any(f.name.startswith(detector) for f in frames), "a detector raised"

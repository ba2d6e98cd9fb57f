"""AFAD ASCII reader (obspy format "AFAD"): real records, damaged files, fuzzing."""
import glob
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import obspy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from obspy import UTCDateTime

from obspy_gen.io.afad.core import _example_text, _is_afad, _read_afad

from .fuzzing import (ALLOWED, FUZZ, check_obspy_read_probing, check_random_bytes, edits,
                      mutate, read_file)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AFAD = SHARED / "afad"
needs_data = pytest.mark.skipif(not AFAD.is_dir(), reason=f"shared data {AFAD} not present")

# MANIFEST.md / gmprocess nsmn_test.py values: station, place, lat, lon, alt, recorder,
# start (UTC), npts, RAW PGA N-S / E-W / U-D (gal).
REAL = {
    "20170720223109_0921.txt": ("0921", "AYD\u0131N GERMENCIK DEVLET HASTANESI", 37.87470,
                                27.59223, 66.0, "Sara acebox", "2017-07-20T22:30:58", 28683,
                                (13.200332, 12.163827, 9.840572)),
    "20170720223109_4304.txt": ("4304", None, 38.99478, 29.40040, 735.0, "Guralp cmg5td",
                                "2017-07-20T22:31:14", 37671, (1.218825, 1.207812, 0.645862)),
    "20170720223109_5405.txt": ("5405", "SAKARYA HENDEK ORMAN ISLETME MUD", 40.79609, 30.73520,
                                173.0, "GeoSig gmsplus", "2017-07-20T22:31:58", 42516,
                                (1.023915, 1.107856, 0.385138)),
}
SMALL = _example_text(npts=50).encode("iso-8859-9")


def _write(tmpdir, data, name="record.txt"):
    path = os.path.join(tmpdir, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def _text(lines_replaced=None, npts=50):
    """The small example with some lines replaced (1-based line number -> new text)."""
    lines = _example_text(npts=npts).split("\r\n")
    for number, text in (lines_replaced or {}).items():
        lines[number - 1] = text
    return "\r\n".join(lines).encode("iso-8859-9")


# ----------------------------------------------------------------------------- real records

@needs_data
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_records_via_obspy_read(name):
    sta, place, lat, lon, alt, recorder, start, npts, pga = REAL[name]
    st = obspy.read(str(AFAD / name))  # no format=: found by the AFAD entry point
    assert [tr.id for tr in st] == [f"TK.{sta}..HNN", f"TK.{sta}..HNE", f"TK.{sta}..HNZ"]
    for tr, component, peak in zip(st, ("N-S", "E-W", "U-D"), pga):
        s = tr.stats
        assert s._format == "AFAD"
        assert s.starttime == UTCDateTime(start)
        assert s.sampling_rate == 100.0 and s.npts == npts and len(tr.data) == npts
        assert s.units == "gal"
        assert np.abs(tr.data).max() == pytest.approx(peak, rel=1e-9)
        assert s.afad.pga == peak and s.afad.component == component
        assert (s.coordinates.latitude, s.coordinates.longitude, s.coordinates.elevation) == \
            (lat, lon, alt)
        assert s.afad.station_id == sta and s.afad.recorder_type == recorder
        assert s.afad.event_time == UTCDateTime("2017-07-20T22:31:09")
        assert (s.afad.event_latitude, s.afad.event_longitude) == (36.9198, 27.4435)
        assert s.afad.event_depth == 19.44
        assert (s.afad.magnitude, s.afad.magnitude_type) == (6.5, "Mw")
        if place:
            assert s.afad.place == place  # ISO-8859-9: the dotless i survives
    assert st[0].stats.endtime - st[0].stats.starttime == pytest.approx((npts - 1) * 0.01)


@needs_data
def test_real_record_to_si_headonly_and_buffer():
    path = AFAD / "20170720223109_0921.txt"
    gal = obspy.read(str(path))
    si = obspy.read(str(path), to_si=True)
    assert si[0].stats.units == "m/s**2" and "gal to m/s**2" in si[0].stats.processing[0]
    np.testing.assert_allclose(si[0].data, gal[0].data * 0.01)
    assert si[0].stats.afad.pga == 13.200332  # the header label stays in gal
    head = obspy.read(str(path), headonly=True)
    assert head[0].stats.npts == 28683 and len(head[0].data) == 0
    with open(path, "rb") as fh:
        buf = io.BytesIO(fh.read())
    from_buffer = obspy.read(buf)
    assert from_buffer == gal


def test_example_text_round_trip_and_column_order():
    st = _read_afad(io.BytesIO(SMALL))
    assert len(st) == 3 and all(tr.stats.npts == 50 for tr in st)
    np.testing.assert_allclose(st[1].data, -0.002 * np.arange(50), atol=1e-12)
    # A file with the columns in another order still gives N, E, Z traces.
    swapped = []
    for i, line in enumerate(_example_text(npts=5).split("\r\n")):
        tok = line.split()
        if i == 17:
            line = "   E-W   U-D   N-S"
        elif i > 17 and tok:
            line = f"{tok[1]} {tok[2]} {tok[0]}"
        swapped.append(line)
    st2 = _read_afad(io.BytesIO("\r\n".join(swapped).encode()))
    for a, b in zip(st2, _read_afad(io.BytesIO(_example_text(npts=5).encode()))):
        np.testing.assert_array_equal(a.data, b.data)
        assert a.id == b.id


# ----------------------------------------------------------------------------- detection

def test_detection_on_other_formats():
    """_is_afad never claims ObsPy's own test files, K-NET files, or unreadable things."""
    root = Path(obspy.__file__).parent
    others = [f for f in glob.glob(str(root / "io" / "*" / "tests" / "data" / "**" / "*"),
                                   recursive=True) if os.path.isfile(f)]
    others += glob.glob(str(SHARED / "knet" / "*")) + glob.glob(str(SHARED / "afad_mat" / "*"))
    assert others
    for path in others:
        assert _is_afad(path) is False, path
    with tempfile.TemporaryDirectory() as d:
        assert _is_afad(d) is False  # a directory
        assert _is_afad(os.path.join(d, "missing.txt")) is False
        assert _is_afad(_write(d, b"")) is False
    assert _is_afad(io.BytesIO(SMALL)) is True
    assert _is_afad(io.StringIO(SMALL.decode("iso-8859-9"))) is True
    assert _is_afad(object()) is False


# ----------------------------------------------------------------------------- damaged files

@pytest.mark.parametrize("change, message", [
    ({13: "NUMBER OF DATA          : 51"}, "50 data lines .* NUMBER OF DATA says 51"),
    ({13: "NUMBER OF DATA          : 49"}, "NUMBER OF DATA says 49"),
    ({13: "NUMBER OF DATA          : many"}, r"line 13 \(NUMBER OF DATA\).*not an integer"),
    ({13: "NUMBER OF DATA          : 0"}, "at least 1"),
    ({13: "nothing here"}, "'NUMBER OF DATA' is missing"),
    ({14: "SAMPLING INTERVAL (sec) : 0"}, "must be positive"),
    ({12: "RECORD TIME             : 2017-07-20"}, r"line 12 \(RECORD TIME\)"),
    ({12: "RECORD TIME             : 32/07/2017 22:30:58.000000 (GMT)"}, "invalid date"),
    ({8: "STATION COORDINATES     : 37.87470-27.59223"}, r"line 8 \(STATION COORDINATES\)"),
    ({8: "STATION COORDINATES     : 97.87470N-27.59223E"}, "out of range"),
    ({7: "STATION ID              : 09/21"}, "station id"),
    ({5: "EARTHQUAKE DEPTH (km)   : deep"}, r"line 5 .* not a number"),
    ({15: "RAW PGA VALUES (gal)    : 13.2 12.1 9.8"}, "RAW PGA"),
    ({6: "STATION ID              : 0921"}, "appears twice"),
    ({18: "       N-S          E-W"}, "line 18: column header"),
    ({18: "no columns here"}, "no column header"),
    ({1: "STRONG MOTION"}, "line 1: not an AFAD"),
    ({20: "  0.1 0.2"}, "line 20: expected 3 numbers"),
    ({21: "  0.1 x 0.2"}, "line 21: 'x' is not a number"),
    ({22: "  0.1 nan 0.2"}, "line 22: value is not finite"),
    ({30: ""}, "line 30: expected 3 numbers"),
])
def test_malformed_files_give_clear_errors(change, message):
    with tempfile.TemporaryDirectory() as d:
        path = _write(d, _text(change))
        with pytest.raises(ValueError, match=message) as info:
            _read_afad(path)
        assert path in str(info.value)  # the message names the file
        if 1 in change:  # no AFAD signature: obspy.read finds no format at all
            with pytest.raises(TypeError, match="Unknown format"):
                obspy.read(path)
        else:
            with pytest.raises(ValueError, match=message):
                obspy.read(path)  # the same error through obspy.read


def test_truncated_last_line_is_an_error():
    data = SMALL.rstrip(b"\r\n")  # the last line lost its line break: cut inside a number?
    with pytest.raises(ValueError, match="not terminated"):
        _read_afad(io.BytesIO(data))
    # Trailing blank lines are harmless.
    assert len(_read_afad(io.BytesIO(SMALL + b"\r\n\r\n"))[0]) == 50


# ----------------------------------------------------------------------------- fuzzing

def _check_stream(st, data):
    """A successful read is a whole record: 3 traces of NUMBER OF DATA samples each."""
    m = re.search(rb"NUMBER OF DATA\s*:\s*(\d+)", data)
    assert len(st) == 3 and m is not None
    assert all(tr.stats.npts == len(tr.data) == int(m.group(1)) for tr in st)
    assert all(np.isfinite(tr.data).all() for tr in st)


@FUZZ
@given(st.binary(max_size=3000), st.booleans())
def test_fuzz_random_bytes(data, with_signature):
    if with_signature:
        data = b"STRONG GROUND MOTION RECORDS OF TURKIYE\r\n" + data
    check_random_bytes(data, _is_afad, _read_afad, _check_stream)


@FUZZ
@given(st.integers(0, len(SMALL) - 1))
def test_fuzz_truncated_small_file(cut):
    data = SMALL[:cut]
    for st_ in read_file(data, "record.txt", (_read_afad, obspy.read)):
        # Only a cut of the final line break alone can leave the record whole.
        assert data.rstrip(b"\n") == SMALL.rstrip(b"\n")
        _check_stream(st_, data)


@FUZZ
@given(edits(len(SMALL)))
def test_fuzz_mutated_small_file(mutations):
    data = mutate(SMALL, mutations)
    for st_ in read_file(data, "record.txt", (_read_afad, obspy.read)):
        if st_[0].stats._format == "AFAD":
            _check_stream(st_, data)


@needs_data
@settings(max_examples=8, deadline=None, database=None)
@given(st.floats(0.0, 1.0, exclude_max=True))
def test_fuzz_truncated_real_file(fraction):
    full = (AFAD / "20170720223109_0921.txt").read_bytes()
    # Cutting only the final LF leaves a whole record (tested on the small file above).
    data = full[:min(int(fraction * len(full)), len(full) - 2)]
    with tempfile.TemporaryDirectory() as d:
        path = _write(d, data)
        with pytest.raises(ALLOWED):
            obspy.read(path)


@settings(max_examples=30, deadline=None, database=None)
@given(st.binary(min_size=1, max_size=2000))
def test_fuzz_obspy_read_probing_never_breaks_in_our_code(data):
    """Whatever obspy.read does with junk, no exception comes out of our detectors/readers
    unless it is a ValueError/TypeError raised by a reader."""
    check_obspy_read_probing(data, "junk.bin", "_is_afad")

"""AFAD .mat reader (obspy format "AFADMAT"): real labelled records, damaged files, fuzzing."""
import csv
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import obspy
import pytest
import scipy.io
from hypothesis import given
from hypothesis import strategies as st
from obspy import UTCDateTime

from obspy_gen.io.afad_mat.core import _is_afad_mat, _read_afad_mat, _write_example_mat

from .fuzzing import ALLOWED, FUZZ, read_file

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MAT = SHARED / "afad_mat"
needs_data = pytest.mark.skipif(not MAT.is_dir(), reason=f"shared data {MAT} not present")

# Record start decoded from the MATLAB datetime 'recordtime' (the file name holds the event
# time, which is also 'date'): checked against the P/S labels in test_real_records.
RECORD_START = {"6501": "2012-01-06T00:16:42", "4306": "2012-01-11T03:43:52",
                "2507": "2012-01-13T14:10:13", "2404": "2012-01-14T05:52:27",
                "4801": "2017-07-29T02:24:01", "4806": "2017-08-02T04:02:44"}


def _labels():
    with open(MAT / "labels.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _opt(text):
    return float(text.replace(",", ".")) if text else None


def _example(d, name="20120114055233_2404.mat", **changes):
    """Write the module's example .mat, then change fields of EQ.anEQ (None = remove)."""
    path = _write_example_mat(os.path.join(d, name))
    if changes:
        rec = scipy.io.loadmat(path)["EQ"][0, 0]["anEQ"][0, 0]
        fields = {k: rec[k] for k in rec.dtype.names}
        for key, value in changes.items():
            if value is None:
                fields.pop(key)
            else:
                fields[key] = value
        scipy.io.savemat(path, {"EQ": {"anEQ": fields}})
    return path


def _read_quiet(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_afad_mat(path, **kwargs)


# ----------------------------------------------------------------------------- real records

@needs_data
@pytest.mark.parametrize("row", _labels() if MAT.is_dir() else [], ids=lambda r: r["file"])
def test_real_records(row):
    path = MAT / row["file"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the datetimes decode: no file-name fallback warning
        st_ = obspy.read(str(path))  # no format=: found by the AFADMAT entry point
    sta = row["station"].zfill(4)
    assert [tr.id for tr in st_] == [f"TK.{sta}..HNN", f"TK.{sta}..HNE", f"TK.{sta}..HNZ"]
    start = UTCDateTime(RECORD_START[sta])
    event = UTCDateTime(row["event_time_utc_from_filename"])
    for i, tr in enumerate(st_):
        s, a = tr.stats, tr.stats.afad
        assert s._format == "AFADMAT" and s.units == "gal"
        assert s.npts == len(tr.data) == int(row["npts"])
        assert s.delta == pytest.approx(float(row["dt_s"]))
        assert s.starttime == start and a.starttime_source == "recordtime"
        assert a.event_time == event and start < event  # records start before the origin
        assert np.abs(tr.data).max() == pytest.approx(float(row[f"pga_col{i + 1}_gal"]))
        assert a.pga == pytest.approx(float(row[f"pga_col{i + 1}_gal"]))
        assert a.vs30 == float(row["Vs30_m_s"])
        assert a.f0 == _opt(row["F0_label"])
        assert a.slope == (row["slope_label"] or None)
        assert a.p_arrival_offset == pytest.approx(float(row["Ptime_s"]))
        assert a.s_arrival_offset == pytest.approx(float(row["Stime_s"]))
        assert a.p_arrival == start + float(row["Ptime_s"])
        assert a.s_arrival == start + float(row["Stime_s"])
        assert a.rhyp == pytest.approx(float(row["Rhyp_km"]))
        assert a.event_depth == pytest.approx(float(row["depth_m"]) / 1000)
        assert (a.event_latitude, a.event_longitude) == (float(row["epi_lat"]),
                                                         float(row["epi_lon"]))
        assert a.magnitude == float(row["magnitude"]) and a.magnitude_type == row["mag_type"]
        assert a.recorder_type == row["recorder"]
        assert (s.coordinates.latitude, s.coordinates.longitude, s.coordinates.elevation) == \
            (float(row["station_lat"]), float(row["station_lon"]), float(row["altitude_m"]))
        assert len(a.hsvr) == 30 and len(a.sa) == len(a.sa_periods) == 10
        assert a.place and "\u00d0" not in a.place and "\u00dd" not in a.place  # repaired


@needs_data
def test_real_record_details():
    st_ = obspy.read(str(MAT / "20120114055233_2404.mat"), to_si=True)
    assert st_[0].stats.units == "m/s**2"
    assert np.abs(st_[0].data).max() == pytest.approx(5.77304 * 0.01)
    assert st_[0].stats.afad.f0 == 4.6  # "4,6" with a Turkish decimal comma
    place = obspy.read(str(MAT / "20120106001648_6501.mat"))[0].stats.afad.place
    assert place == ("VAN MERKEZ BAY\u0130ND\u0130RL\u0130K VE \u0130SKAN "
                     "M\u00dcD\u00dcRL\u00dc\u011e\u00dc")
    assert obspy.read(str(MAT / "20170802040246_4806.mat"))[0].stats.afad.recorder_serial == \
        "101126"
    head = obspy.read(str(MAT / "20120106001648_6501.mat"), headonly=True)
    assert head[0].stats.npts == 7523 and len(head[0].data) == 0
    with open(MAT / "20120106001648_6501.mat", "rb") as fh:
        buf = io.BytesIO(fh.read())
    assert _is_afad_mat(buf) and buf.tell() == 0
    assert obspy.read(buf) == obspy.read(str(MAT / "20120106001648_6501.mat"))


# ----------------------------------------------------------------------------- example files

def test_example_file_falls_back_to_file_name_with_warning():
    with tempfile.TemporaryDirectory() as d:
        path = _example(d)
        with pytest.warns(UserWarning, match="event time"):
            st_ = obspy.read(path)
        assert st_[0].stats.starttime == UTCDateTime("2012-01-14T05:52:33")
        assert st_[0].stats.afad.starttime_source == "file name (event time)"
        assert st_[0].stats.afad.recorder_serial is None
        renamed = _example(d, name="record.mat")
        with pytest.raises(ValueError, match="no start time"):
            _read_afad_mat(renamed)


def test_long_record_with_saturated_numofdata():
    # numofData is uint16 in AFAD's files: 65535 stands for "at least 65535".
    n = 70000
    with tempfile.TemporaryDirectory() as d:
        path = _example(d, Accel=np.zeros((n, 3)), numofData=np.array([[65535]], np.uint16))
        assert _read_quiet(path)[0].stats.npts == n


@pytest.mark.parametrize("changes, message", [
    ({"numofData": np.array([[6]], np.uint16)}, "'numofData' says 6 .* 'Accel' has 5 rows"),
    ({"Accel": np.zeros((5, 2))}, r"'Accel': expected an \(npts, 3\)"),
    ({"Accel": None}, r"'Accel': expected an \(npts, 3\)"),
    ({"Accel": np.array([[0.0, np.nan, 0.0]] * 5)}, "'Accel': row 1 is not finite"),
    ({"Accel": np.array(["abc"])}, "'Accel'"),
    ({"sampling": np.array([[0.0]])}, "'sampling'.*positive"),
    ({"sampling": None}, "'sampling' is missing"),
    ({"sampling": np.array([[0.01, 0.01]])}, "'sampling': expected one number"),
    ({"statID": None}, "'statID' is missing"),
    ({"statID": "24/04"}, "station id"),
    ({"F0": "about four"}, "'F0'.*not a number"),
    ({"statco": np.array([[1.0, 2.0, 3.0]])}, "'statco': expected 2 numbers"),
    ({"place": np.array([[1.0]])}, "'place': expected text"),
])
def test_malformed_fields_give_clear_errors(changes, message):
    with tempfile.TemporaryDirectory() as d:
        path = _example(d, **changes)
        with pytest.raises(ValueError, match=message) as info:
            _read_quiet(path)
        assert path in str(info.value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match=message):
                obspy.read(path)


def test_other_mat_files_and_formats():
    with tempfile.TemporaryDirectory() as d:
        other = os.path.join(d, "other.mat")
        scipy.io.savemat(other, {"x": np.arange(3)})
        assert _is_afad_mat(other) is False
        with pytest.raises(TypeError, match="Unknown format"):
            obspy.read(other)
        with pytest.raises(ValueError, match="no struct variable 'EQ'"):
            _read_afad_mat(other)
        v73 = os.path.join(d, "v73.mat")
        with open(v73, "wb") as fh:
            fh.write(b"MATLAB 7.3 MAT-file".ljust(512, b" "))
        assert _is_afad_mat(v73) is False
        with pytest.raises(ValueError, match="v7.3"):
            _read_afad_mat(v73)
        assert _is_afad_mat(d) is False and _is_afad_mat(os.path.join(d, "nope.mat")) is False
    for path in list((SHARED / "afad").glob("*")) + list((SHARED / "knet").glob("*")):
        assert _is_afad_mat(str(path)) is False
    root = Path(obspy.__file__).parent
    for path in root.glob("io/*/tests/data/**/*"):
        if path.is_file():
            assert _is_afad_mat(str(path)) is False, path


# ----------------------------------------------------------------------------- fuzzing

def _check_stream(st_):
    assert len(st_) == 3
    n = st_[0].stats.npts
    assert n > 0 and all(tr.stats.npts == len(tr.data) == n for tr in st_)
    assert all(np.isfinite(tr.data).all() for tr in st_)


def _read_both_ways(data, name="20120106001648_6501.mat"):
    """Read the bytes with the reader and with obspy.read; only clear errors or whole records."""
    for st_ in read_file(data, name, (_read_quiet, obspy.read), quiet=True,
                         detector=_is_afad_mat):
        if st_[0].stats._format == "AFADMAT":
            _check_stream(st_)


def _real_bytes():
    path = MAT / "20120106001648_6501.mat"
    return path.read_bytes() if path.is_file() else None


REAL_BYTES = _real_bytes() if MAT.is_dir() else None


@FUZZ
@given(st.binary(max_size=2000), st.booleans())
def test_fuzz_random_bytes(data, with_header):
    if with_header:
        data = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + b"\x00" * 8 + b"\x00\x01IM" + data
    _read_both_ways(data)


@needs_data
@FUZZ
@given(st.floats(0.0, 1.0, exclude_max=True))
def test_fuzz_truncated_real_file(fraction):
    data = REAL_BYTES[:int(fraction * len(REAL_BYTES))]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "20120106001648_6501.mat")
        with open(path, "wb") as fh:
            fh.write(data)
        with pytest.raises(ALLOWED):
            _read_afad_mat(path)
        with pytest.raises(ALLOWED):
            obspy.read(path)


@needs_data
@FUZZ
@given(st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_fuzz_mutated_real_file(mutations):
    data = bytearray(REAL_BYTES)
    for where, byte in mutations:
        data[int(where * len(data))] = byte
    _read_both_ways(bytes(data))


@FUZZ
@given(st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_fuzz_mutated_uncompressed_example(mutations):
    """The example file is not compressed, so mutations hit headers and sizes, not zlib."""
    with tempfile.TemporaryDirectory() as d:
        path = _write_example_mat(os.path.join(d, "20120114055233_2404.mat"), npts=20)
        data = bytearray(Path(path).read_bytes())
    for where, byte in mutations:
        data[128 + int(where * (len(data) - 128))] = byte
    _read_both_ways(bytes(data), name="20120114055233_2404.mat")


# ----------------------------------------------------------------------------- the MAT parser

def _same(mine, theirs, where):
    """Compare a value of our parser with scipy.io.loadmat's (struct_as_record=True)."""
    from obspy_gen.io.afad_mat.core import _Cell, _Struct

    if isinstance(mine, _Struct):
        assert theirs.dtype.names == tuple(mine.fields) and theirs.size == len(mine), where
        for rec, sc in zip(mine, theirs.ravel(order="F")):
            for f in mine.fields:
                _same(rec[f], sc[f], f"{where}.{f}")
    elif isinstance(mine, _Cell):
        assert theirs.size == len(mine), where
        for item, sc in zip(mine, theirs.ravel(order="F")):
            _same(item, sc, where + "{}")
    elif isinstance(mine, dict):  # opaque
        assert theirs[0]["s2"].decode() == mine["class"], where
        _same(mine["arr"], theirs[0]["arr"], where + ".arr")
    elif isinstance(mine, str):
        assert "".join(np.asarray(theirs).ravel().tolist()) == mine.replace("\n", ""), where
    else:
        if mine.size == 0:
            assert theirs.size == 0, where
        else:
            np.testing.assert_array_equal(mine, theirs, err_msg=where)
            assert mine.shape == theirs.shape, where


@pytest.mark.parametrize("compress", [False, True])
def test_parser_matches_scipy_on_many_types(compress):
    from obspy_gen.io.afad_mat.core import _parse_mat

    values = {"d": np.arange(6.0).reshape(2, 3), "i": np.array([[1, -2]], np.int16),
              "u": np.array([[7]], np.uint16), "c": np.array([[1 + 2j, 3 - 4j]]),
              "b": np.array([[True, False]]), "s": "text \u0130\u011e",
              "rows": np.array(["ab", "cd"]), "e": np.zeros((0, 0)),
              "nested": {"x": np.array([[1.5]]), "inner": {"y": "z"}},
              "cell": np.array([[np.array([[1.0]]), "two"]], dtype=object)}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "types.mat")
        scipy.io.savemat(path, values, do_compression=compress)
        mine = _parse_mat(Path(path).read_bytes())
        theirs = scipy.io.loadmat(path)
    for key in values:
        _same(mine[key], theirs[key], key)


@needs_data
@pytest.mark.parametrize("name", sorted(p.name for p in MAT.glob("*.mat")) if MAT.is_dir()
                         else [])
def test_parser_matches_scipy_on_real_files(name):
    from obspy_gen.io.afad_mat.core import _parse_mat

    mine = _parse_mat((MAT / name).read_bytes())
    theirs = scipy.io.loadmat(MAT / name)
    _same(mine["EQ"], theirs["EQ"], "EQ")
    np.testing.assert_array_equal(mine["__function_workspace__"],
                                  theirs["__function_workspace__"])


def test_compressed_example_is_detected():
    with tempfile.TemporaryDirectory() as d:
        path = _write_example_mat(os.path.join(d, "20120114055233_2404.mat"))
        rec = scipy.io.loadmat(path)["EQ"][0, 0]["anEQ"][0, 0]
        scipy.io.savemat(path, {"EQ": {"anEQ": {k: rec[k] for k in rec.dtype.names}}},
                         do_compression=True)
        assert _is_afad_mat(path)
        assert _read_quiet(path)[2].stats.afad.pga == pytest.approx(0.02)

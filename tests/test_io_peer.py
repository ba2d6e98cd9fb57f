"""PEER NGA reader (obspy format "PEER"): files written from physically simulated records in
the published NGA-West1/West2 layouts, one record from its three files, damaged files, fuzzing."""
import glob
import io
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import obspy
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import obspy_gen
from obspy_gen.cli import main
from obspy_gen.io import read_records
from obspy_gen.io.afad.core import _is_afad
from obspy_gen.io.peer.core import G, _example_text, _is_peer, _read_peer

from .fuzzing import FUZZ, check_obspy_read_probing, check_random_bytes, edits, mutate, read_file

SMALL = _example_text(npts=23).encode()
# Events of the simulated station, in NGA-West2's header and file-name style.
EVENTS = [("Imperial Valley-02", "5/19/1940", "IMPVALL.I", "I"),
          ("Imperial Valley-06", "10/15/1979", "IMPVALL.H", "H"),
          ("Westmorland", "4/26/1981", "WESMORL", "W"),
          ("Superstition Hills-02", "11/24/1987", "SUPER.B", "B"),
          ("Brawley", "6/2/1979", "BRAWLEY", "R")]


@pytest.fixture(scope="module")
def simulated():
    """Five stochastic records (Boore 2003 source/path, SH site column of station 4628, f0
    1.8 Hz) of one station, m/s**2."""
    from obspy_gen.plugins.stochastic import StochasticGenerator
    stream = StochasticGenerator().generate(station="4628", n=5, seed=11)
    return obspy_gen.split_records(stream)


def write_peer_record(folder, rec, k, components=("180", "270", "UP"), station="ELC",
                      name="El Centro Array #9", ext="AT2"):
    """One record as three PEER files (NGA-West2 names, RSN<k>_<EVENT>_<X>-<STA><COMP>)."""
    event, date, tag, prefix = EVENTS[k]
    n = rec.select(component="N")[0].data
    e = rec.select(component="E")[0].data
    z = rec.select(component="Z")[0].data
    paths = []
    for comp in components:
        if comp in ("UP",):
            data = z
        else:
            az = np.radians(float(comp))
            data = n * np.cos(az) + e * np.sin(az)
        suffix = f"-{comp}" if comp == "UP" else comp
        path = Path(folder) / f"RSN{k + 1}_{tag}_{prefix}-{station}{suffix}.{ext}"
        path.write_text(_example_text(data=data / G, dt=rec[0].stats.delta, component=comp,
                                      description=f"{event}, {date}, {name}"))
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- reading

def test_three_files_of_a_simulated_record(simulated, tmp_path):
    rec = simulated[0]
    paths = write_peer_record(tmp_path, rec, 0)
    traces = [obspy.read(str(p)) for p in paths]            # no format=: the PEER plugin
    for st_, code, az, dip in zip(traces, "12Z", (180.0, 270.0, None), (0.0, 0.0, -90.0)):
        tr = st_[0]
        assert len(st_) == 1 and tr.stats._format == "PEER"
        assert tr.id == f".ELC..HN{code}"
        assert tr.stats.azimuth == az and tr.stats.dip == dip
        assert tr.stats.units == "g" and tr.stats.sampling_rate == 100.0
        assert tr.stats.npts == rec[0].stats.npts
        assert tr.stats.peer.event == "Imperial Valley-02"
        assert tr.stats.peer.date == "5/19/1940"
        assert tr.stats.peer.station_name == "El Centro Array #9"
        assert tr.stats.peer.quantity == "acceleration"
    # The values are the simulated ones (E15.7: 8 significant digits).
    np.testing.assert_allclose(traces[0][0].data * G, -rec.select(component="N")[0].data,
                               rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(traces[2][0].data * G, rec.select(component="Z")[0].data,
                               rtol=1e-7, atol=1e-12)
    si = obspy.read(str(paths[1]), to_si=True)[0]
    assert si.stats.units == "m/s**2" and "g to m/s**2" in si.stats.processing[0]
    np.testing.assert_allclose(si.data, -rec.select(component="E")[0].data, rtol=1e-7,
                               atol=1e-12)
    # Read together: one record, whose HVSR is that of the simulated record.
    together = read_records(paths)
    records = obspy_gen.split_records(together)
    assert len(records) == 1 and len(records[0]) == 3
    assert all(" + " in tr.stats.obspy_gen_source for tr in together)
    ours = together.hvsr(preset="timesnet-gen-paper")
    ref = rec.hvsr(preset="timesnet-gen-paper")
    np.testing.assert_allclose(ours.mean, ref.mean, rtol=1e-5)
    # Direction-dependent combination: 180/270 are turned back to north/east.
    np.testing.assert_allclose(together.hvsr(combine="single_azimuth", azimuth=30).mean,
                               rec.hvsr(combine="single_azimuth", azimuth=30).mean, rtol=1e-5)


def test_cli_hvsr_on_a_folder_of_peer_files_of_five_events(simulated, tmp_path):
    folder = tmp_path / "ELC"
    folder.mkdir()
    for k, rec in enumerate(simulated):
        write_peer_record(folder, rec, k, components=("360", "090", "UP") if k % 2 else
                          ("180", "270", "UP"))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["hvsr", str(folder), "--preset", "timesnet-gen-paper",
                                    "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / ".ELC..json").read_text())
    assert data["n_records"] == 5 and len(data["files"]) == 5
    assert abs(np.log(data["f0"] / 1.8)) < np.log(1.25)   # the site column's 1.8 Hz
    # The same as the simulated records' HVSR.
    ref = obspy_gen.hvsr(simulated, preset="timesnet-gen-paper")
    np.testing.assert_allclose(data["mean"], ref.mean, rtol=1e-5)
    # 360/090 are N/E.
    st_ = obspy.read(str(next(folder.glob("RSN2_*360.AT2"))))
    assert st_[0].stats.channel == "HNN" and st_[0].stats.azimuth == 0.0


@pytest.mark.parametrize("component, code, azimuth, dip", [
    ("000", "N", 0.0, 0.0), ("360", "N", 0.0, 0.0), ("090", "E", 90.0, 0.0),
    ("180", "1", 180.0, 0.0), ("270", "2", 270.0, 0.0), ("045", "1", 45.0, 0.0),
    ("135", "2", 135.0, 0.0), ("N45E", "1", 45.0, 0.0), ("S45W", "1", 225.0, 0.0),
    ("N04W", "2", 356.0, 0.0), ("UP", "Z", None, -90.0), ("V", "Z", None, -90.0),
    ("DWN", "3", None, 90.0), ("E", "E", 90.0, 0.0), ("L", "1", None, 0.0),
    ("T", "2", None, 0.0), ("164 (CDMG STATION 279)", "2", 164.0, 0.0),
])
def test_component_codes(component, code, azimuth, dip):
    tr = _read_peer(io.BytesIO(_example_text(component=component).encode()))[0]
    assert tr.stats.channel == "HN" + code
    assert tr.stats.azimuth == azimuth and tr.stats.dip == dip


def test_nga_west1_layout_velocity_displacement_and_station_codes():
    # The published header of NGA-West1's PUL164.AT2 (San Fernando 1971, Pacoima Dam), with
    # simulated values.
    text = _example_text(
        npts=4164, component="164 (CDMG STATION 279)",
        description="SAN FERNANDO 02/09/71 14:00, PACOIMA DAM", quantity="ACCELERATION",
        header4="4164    0.0100    NPTS, DT").replace("TIME SERIES", "TIME HISTORY")
    tr = _read_peer(io.BytesIO(text.encode()))[0]
    assert tr.stats.npts == 4164 and tr.stats.delta == 0.01
    assert tr.stats.peer.event == "SAN FERNANDO 02/09/71 14:00"
    assert tr.stats.peer.date == "02/09/71" and tr.stats.station == "PACOIMADAM"
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "PUL164.AT2")
        Path(path).write_text(text)
        assert obspy.read(path)[0].stats.station == "PUL"    # from the file name
    vel = _read_peer(io.BytesIO(_example_text(quantity="VELOCITY", units="CM/S").encode()))[0]
    assert vel.stats.units == "cm/s" and vel.stats.peer.quantity == "velocity"
    dis = _read_peer(io.BytesIO(_example_text(quantity="DISPLACEMENT", units="CM").encode()),
                     to_si=True)[0]
    assert dis.stats.units == "m" and "cm to m" in dis.stats.processing[0]
    np.testing.assert_allclose(
        dis.data, 0.01 * _read_peer(io.BytesIO(_example_text(quantity="DISPLACEMENT",
                                                              units="CM").encode()))[0].data)
    head = _read_peer(io.BytesIO(SMALL), headonly=True)[0]
    assert head.stats.npts == 23 and len(head.data) == 0


def test_acceleration_and_velocity_of_one_record_stay_two_records(simulated, tmp_path):
    paths = write_peer_record(tmp_path, simulated[0], 0)
    vel = []
    for p in paths:
        v = p.with_suffix(".VT2")
        v.write_text(p.read_text().replace("ACCELERATION TIME SERIES IN UNITS OF G",
                                           "VELOCITY TIME SERIES IN UNITS OF CM/S"))
        vel.append(v)
    records = obspy_gen.split_records(read_records(paths + vel))
    assert len(records) == 2
    assert sorted(r[0].stats.units for r in records) == ["cm/s", "g"]


def test_bundled_peer_record_through_obspy_read_and_the_cli(tmp_path):
    from obspy_gen.data import DATA_DIR
    files = sorted((DATA_DIR / "peer").glob("*.AT2"))
    assert len(files) == 3
    for f in files:
        tr = obspy.read(str(f))[0]
        assert tr.stats._format == "PEER" and tr.stats.station == "S4628"
        assert tr.stats.npts == 4212 and tr.stats.peer.station_name == "Synthetic station 4628"
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["hvsr", str(DATA_DIR / "peer"), "--preset", "geopsy",
                                    "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / ".S4628..json").read_text())
    assert data["n_records"] == 1 and len(data["files"]) == 1 and " + " in data["files"][0]
    assert data["settings"]["nfft"] == "window"
    assert 1.4 < data["f0"] < 2.6          # the simulated site column's f0 is 1.8 Hz


# ----------------------------------------------------------------------------- detection

def test_detection_never_claims_other_formats():
    root = Path(obspy.__file__).parent
    others = [f for f in glob.glob(str(root / "io" / "*" / "tests" / "data" / "**" / "*"),
                                   recursive=True) if os.path.isfile(f)]
    from obspy_gen.data import DATA_DIR
    others += [str(p) for p in DATA_DIR.rglob("*") if p.is_file() and p.parent.name != "peer"]
    assert len(others) > 100
    for path in others:
        assert _is_peer(path) is False, path
    assert _is_peer(io.BytesIO(SMALL)) is True
    assert _is_peer(io.StringIO(SMALL.decode())) is True
    assert _is_peer(object()) is False
    assert _is_afad(io.BytesIO(SMALL)) is False
    with tempfile.TemporaryDirectory() as d:
        assert _is_peer(d) is False and _is_peer(os.path.join(d, "missing.AT2")) is False


# ----------------------------------------------------------------------------- damaged files

def _lines(changes, npts=23):
    lines = _example_text(npts=npts).split("\n")
    for number, text in changes.items():
        lines[number - 1] = text
    return "\n".join(lines).encode()


@pytest.mark.parametrize("change, message", [
    ({2: "Imperial Valley-06"}, "line 2: expected 'event, date, station, component'"),
    ({2: "Imperial Valley-06, 10/15/1979, El Centro Array #9, sideways"},
     "line 2: component 'sideways'"),
    ({2: "Imperial Valley-06, 10/15/1979, El Centro Array #9, 400"}, "above 360"),
    ({3: "ACCELERATION TIME SERIES"}, "line 3: expected"),
    ({3: "ACCELERATION TIME SERIES IN UNITS OF FURLONGS"}, "line 3: units 'FURLONGS'"),
    ({3: "VELOCITY TIME SERIES IN UNITS OF G"}, "units 'G' of velocity"),
    ({4: "NPTS=  many, DT= .01 SEC"}, "line 4: expected"),
    ({4: "NPTS=  23, DT= 0 SEC"}, "line 4: DT must be a positive"),
    ({4: "NPTS=  0, DT= .01 SEC"}, "line 4: NPTS must be at least 1"),
    ({4: "NPTS=  24, DT= .01 SEC"}, "23 values after the header but NPTS says 24"),
    ({4: "NPTS=  22, DT= .01 SEC"}, "23 values after the header but NPTS says 22"),
    ({6: "  1.0E-02  x  3.0E-02  4.0E-02  5.0E-02"}, "line 6: 'x' is not a number"),
    ({7: "  1.0E-02  nan  3.0E-02  4.0E-02  5.0E-02"}, "value 12 is not finite"),
    ({1: "PEER STRONG MOTION"}, "line 1: not a PEER NGA record"),
])
def test_malformed_files_give_clear_errors(change, message):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "RSN1_X_A-ABC180.AT2")
        Path(path).write_bytes(_lines(change))
        with pytest.raises(ValueError, match=message) as info:
            _read_peer(path)
        assert path in str(info.value) and "\n" not in str(info.value)
        if 1 in change:
            with pytest.raises(TypeError, match="Unknown format"):
                obspy.read(path)
        else:
            with pytest.raises(ValueError, match=message):
                obspy.read(path)


def test_a_value_cut_short_at_the_end_is_an_error():
    full = _example_text(npts=23)
    assert len(_read_peer(io.BytesIO(full.rstrip("\n").encode()))[0]) == 23  # whole value
    with pytest.raises(ValueError, match="cut short"):
        _read_peer(io.BytesIO(full.rstrip("\n")[:-1].encode()))   # 1.2E-0


# ----------------------------------------------------------------------------- fuzzing

def _check_stream(st_, data):
    """A successful read is a whole component: one trace of NPTS finite samples."""
    m = re.search(rb"NPTS\s*=\s*(\d+)", data) or re.search(rb"(\d+)\s+\S+\s+NPTS", data)
    assert len(st_) == 1 and m is not None
    assert st_[0].stats.npts == len(st_[0].data) == int(m.group(1))
    assert np.isfinite(st_[0].data).all()


@FUZZ
@given(st.binary(max_size=2000), st.booleans())
def test_fuzz_random_bytes(data, with_signature):
    if with_signature:
        data = b"PEER NGA STRONG MOTION DATABASE RECORD\n" + data
    check_random_bytes(data, _is_peer, _read_peer, _check_stream)


@FUZZ
@given(st.integers(0, len(SMALL) - 1))
def test_fuzz_truncated_file(cut):
    data = SMALL[:cut]
    for st_ in read_file(data, "x.AT2", (_read_peer, obspy.read)):
        # Only a cut of the final line break can leave the component whole.
        assert data.rstrip(b"\n") == SMALL.rstrip(b"\n")
        _check_stream(st_, data)


@FUZZ
@given(edits(len(SMALL)))
def test_fuzz_mutated_file(mutations):
    data = mutate(SMALL, mutations)
    for st_ in read_file(data, "x.AT2", (_read_peer, obspy.read)):
        if st_[0].stats._format == "PEER":
            _check_stream(st_, data)


@settings(max_examples=30, deadline=None, database=None)
@given(st.binary(min_size=1, max_size=1500))
def test_fuzz_obspy_read_probing_never_breaks_in_our_code(data):
    check_obspy_read_probing(b"PEER NGA STRONG MOTION DATABASE RECORD\n" + data, "junk.AT2",
                             "_is_peer")

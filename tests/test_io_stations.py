"""Station metadata table: entries, CSV read/write, joining to records, building from labels."""
import math
import os
import tempfile
import warnings
from pathlib import Path

import obspy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from obspy.core.util import AttribDict

from obspy_gen.io import stations
from obspy_gen.io.stations import (COLUMNS, StationEntry, StationTable, attach_station_metadata,
                                   read_station_table, station_table_from_records,
                                   write_station_table)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED / "afad_mat").is_dir(),
                                reason=f"shared data {SHARED} not present")


def _csv(d, text, name="stations.csv"):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


# ----------------------------------------------------------------------------- entries

def test_entry_derives_nehrp_class_and_validates():
    assert StationEntry("TK", "0921", vs30=800.0).nehrp_class == "B"
    assert StationEntry("TK", "0921", vs30=300.0, nehrp_class="e").nehrp_class == "E"  # kept
    assert StationEntry("TK", "0921").nehrp_class is None
    assert StationEntry(None, "0921", place="").place is None
    for kwargs, message in [({"latitude": -91.0}, "latitude"), ({"longitude": 181.0}, "longitude"),
                            ({"vs30": 0.0}, "vs30 must be positive"), ({"f0": -1.0}, "f0"),
                            ({"vs30": math.nan}, "not finite"), ({"nehrp_class": "G"}, "G")]:
        with pytest.raises(ValueError, match=message):
            StationEntry("TK", "0921", **kwargs)
    with pytest.raises(ValueError, match="station code is empty"):
        StationEntry("TK", " ")
    with pytest.raises(ValueError, match="may only hold"):
        StationEntry("TK", "09.21")
    assert StationEntry("TK", "0921", place=" Van\r\nMerkez\t").place == "Van Merkez"


def test_table_keys_and_lookup():
    table = StationTable([StationEntry("TK", "0921"), StationEntry("", "4304", vs30=300.0),
                          StationEntry("TK", "5405", "00"), StationEntry("XX", "5405", "01")])
    with pytest.raises(ValueError, match="already in the table"):
        table.add(StationEntry("TK", "0921"))
    with pytest.raises(TypeError):
        table.add({"network": "TK"})
    assert table["TK.0921."].station == "0921" and table[1].station == "4304"
    with pytest.raises(KeyError):
        table["TK.9999."]
    assert table.find("TK", "0921", "").station == "0921"
    assert table.find("TK", "4304", "").vs30 == 300.0  # empty network matches any
    assert table.find("TK", "5405", "00").location == "00"  # exact
    assert table.find("TK", "5405", "10").location == "00"  # only one TK/any-network 5405
    assert table.find("XX", "0921") is None
    assert "4 stations" in repr(table)


# ----------------------------------------------------------------------------- CSV files

def test_write_read_round_trip_and_layout():
    table = StationTable([
        StationEntry("TK", "2404", "", 39.90631, 38.77056, 1579.0, 567.0, None, 4.6,
                     "ERZ\u0130NCAN REFAH\u0130YE"),
        StationEntry("TK", "0921"),
    ])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "stations.csv")
        write_station_table(table, path)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        assert lines[0] == ",".join(COLUMNS)
        assert lines[0].startswith("network,station,location,latitude,longitude")
        assert lines[2] == "TK,0921,,,,,,,,"  # unknown = empty
        assert read_station_table(path) == table
        assert read_station_table(Path(path))[0].place == "ERZ\u0130NCAN REFAH\u0130YE"
        assert os.listdir(d) == ["stations.csv"]  # no temporary file left


def test_read_accepts_any_column_order_bom_and_extra_columns():
    with tempfile.TemporaryDirectory() as d:
        path = _csv(d, "\ufeffvs30,comment,station,network\n350,hello,0921,TK\n")
        (entry,) = read_station_table(path)
        assert (entry.network, entry.station, entry.location, entry.vs30, entry.nehrp_class) == \
            ("TK", "0921", "", 350.0, "D")


@pytest.mark.parametrize("text, message", [
    ("network,vs30\nTK,300\n", "line 1: missing column.*station"),
    ("network,station,vs30\nTK,0921,fast\n", "line 2: column vs30: 'fast' is not a number"),
    ("network,station,vs30\nTK,0921,300\nTK,0921,310\n", "line 3: station TK.0921. is already"),
    ("network,station,latitude\nTK,0921,95\n", "line 2: .*latitude 95.0 is outside"),
    ("network,station,nehrp_class\nTK,0921,Q\n", "line 2: .*nehrp_class 'Q'"),
    ("network,station\nTK,\n", "line 2: station code is empty"),
])
def test_read_errors_name_file_line_and_column(text, message):
    with tempfile.TemporaryDirectory() as d:
        path = _csv(d, text)
        with pytest.raises(ValueError, match=message) as info:
            read_station_table(path)
        assert path in str(info.value)


def test_write_is_atomic(monkeypatch):
    with tempfile.TemporaryDirectory() as d:
        path = _csv(d, "network,station\nOLD,KEEP\n")

        def boom(*args):
            raise OSError("disk full")

        monkeypatch.setattr(stations.os, "replace", boom)
        with pytest.raises(OSError, match="disk full"):
            write_station_table([StationEntry("TK", "0921")], path)
        assert Path(path).read_text() == "network,station\nOLD,KEEP\n"  # untouched
        assert os.listdir(d) == ["stations.csv"]  # temporary file removed


@settings(max_examples=50, deadline=None, database=None)
@given(st.lists(st.builds(
    StationEntry,
    network=st.sampled_from(["TK", "", "XX"]),
    station=st.from_regex(r"[A-Z0-9]{1,5}", fullmatch=True),
    location=st.sampled_from(["", "00"]),
    latitude=st.none() | st.floats(-90, 90),
    longitude=st.none() | st.floats(-180, 180),
    elevation=st.none() | st.floats(-500, 9000),
    vs30=st.none() | st.floats(50, 3000),
    f0=st.none() | st.floats(0.05, 50),
    place=st.none() | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                              max_size=20),
), max_size=6, unique_by=lambda e: e.key))
def test_round_trip_property(entries):
    table = StationTable(entries)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.csv")
        write_station_table(table, path)
        assert read_station_table(path) == table  # floats are written exactly (repr)


# ----------------------------------------------------------------------------- records

def test_attach_station_metadata():
    st_ = obspy.read()  # BW.RJOB..EHZ/N/E
    other = obspy.read()
    for tr in other:
        tr.stats.station = "NONE"
    st_ += other
    st_[1].stats.coordinates = AttribDict(latitude=1.0, longitude=2.0, elevation=3.0)
    table = StationTable([StationEntry("BW", "RJOB", latitude=47.7, longitude=12.8,
                                       vs30=250.0)])
    assert attach_station_metadata(st_, table) is st_
    assert st_[0].stats.site == AttribDict(vs30=250.0, f0=None, nehrp_class="D")
    assert st_[0].stats.coordinates.latitude == 47.7
    assert st_[1].stats.coordinates.latitude == 1.0  # existing coordinates are kept
    assert "site" not in st_[3].stats  # unknown station: unchanged
    with pytest.raises(KeyError, match="BW.NONE..EHZ"):
        attach_station_metadata(st_, table, strict=True)
    with tempfile.TemporaryDirectory() as d:  # a path works too, and a list of Streams
        path = os.path.join(d, "s.csv")
        write_station_table(table, path)
        fresh = obspy.read()
        attach_station_metadata([fresh], path)
        assert fresh[2].stats.site.nehrp_class == "D"


@needs_data
def test_table_from_real_mat_records_and_join():
    expected = {"6501": (363.0, "C", None), "4306": (304.0, "D", None),
                "2507": (316.0, "D", None), "2404": (567.0, "C", 4.6),
                "4801": (466.0, "C", None), "4806": (323.0, "D", None)}
    records = [obspy.read(str(p)) for p in sorted((SHARED / "afad_mat").glob("*.mat"))]
    table = station_table_from_records(records)
    assert len(table) == 6
    for entry in table:
        assert entry.network == "TK" and entry.location == ""
        assert (entry.vs30, entry.nehrp_class, entry.f0) == expected[entry.station]
        assert entry.latitude is not None and entry.elevation is not None and entry.place
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "afad_stations.csv")
        write_station_table(table, path)
        # Join onto records that carry no labels (stats.afad removed) by station code.
        st_ = obspy.read(str(SHARED / "afad_mat" / "20120114055233_2404.mat"))
        for tr in st_:
            del tr.stats.afad
        attach_station_metadata(st_, path)
        assert st_[0].stats.site == AttribDict(vs30=567.0, f0=4.6, nehrp_class="C")
    # The AFAD text records are of other stations: nothing attached.
    txt = obspy.read(str(SHARED / "afad" / "20170720223109_0921.txt"))
    attach_station_metadata(txt, table)
    assert not any("site" in tr.stats for tr in txt)
    # ...but they give a table with coordinates and unknown site labels.
    (entry,) = station_table_from_records(txt)
    assert (entry.key, entry.latitude, entry.vs30, entry.nehrp_class) == \
        ("TK.0921.", 37.8747, None, None)


def test_table_from_disagreeing_records_warns_and_takes_median():
    st_ = obspy.read()[:1] * 3
    for tr, vs30 in zip(st_, (300.0, 340.0, 500.0)):
        tr.stats.site = AttribDict(vs30=vs30, f0=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (entry,) = station_table_from_records(st_)
    assert entry.vs30 == 340.0 and entry.nehrp_class == "D"
    assert any("disagree on vs30" in str(w.message) for w in caught)

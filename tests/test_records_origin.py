"""Records of different files stay apart (PEER-style dummy start times): split_records,
read_records, Stream.hvsr, obspy-gen hvsr, the dataset and the zero-shot pool of generate."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from obspy import Stream, UTCDateTime, read

import obspy_gen
from obspy_gen.cli import main
from obspy_gen.core.records import SOURCE_KEY, three_components
from obspy_gen.data import bundled_records
from obspy_gen.io import read_records
from obspy_gen.io.dataset import StationDataset

from .conftest import resonance_record

F0 = (2.0, 2.2, 1.9, 2.1, 2.0)


@pytest.fixture
def cwc(tmp_path):
    """The issue's station folder: five miniSEED files of PE.CWC (HH?), one event each,
    all converted from PEER records and so all starting at the same dummy time."""
    folder = tmp_path / "CWC"
    folder.mkdir()
    for i, f0 in enumerate(F0):
        st = resonance_record(f0, duration=90, seed=20 + i, station="CWC", network="PE",
                              start=UTCDateTime(0), channels=("HHN", "HHE", "HHZ"))
        st.write(str(folder / f"RSN{100 + i}_CWC.mseed"), format="MSEED")
    return folder


def test_split_records_keeps_files_apart(cwc):
    files = sorted(str(p) for p in cwc.glob("*.mseed"))
    merged = read(str(cwc / "*.mseed"))                        # ObsPy: no origin kept
    with pytest.raises(ValueError, match="appears twice") as info:
        three_components(obspy_gen.split_records(merged)[0])
    message = str(info.value)
    assert "read_records" in message and "merge with Stream.merge() or split" not in message
    st = read_records(files)
    assert [tr.stats[SOURCE_KEY] for tr in st[::3]] == files
    records = obspy_gen.split_records(st)
    assert len(records) == 5
    assert [r[0].stats[SOURCE_KEY] for r in records] == files
    assert all([tr.stats.channel for tr in r] == ["HHN", "HHE", "HHZ"] for r in records)
    # The tag survives what users do to Streams.
    copy = st.copy().slice(UTCDateTime(0) + 10, UTCDateTime(0) + 50)
    assert len(obspy_gen.split_records(copy)) == 5


def test_stream_hvsr_of_five_files(cwc):
    st = read_records(sorted(cwc.glob("*.mseed")))
    result = st.hvsr(window_length=None)
    assert result.n_records == 5 and result.n_windows == 5
    singles = [obspy_gen.hvsr(r) for r in obspy_gen.split_records(st)]
    np.testing.assert_allclose(result.curves, np.concatenate([s.curves for s in singles]),
                               rtol=1e-10)
    assert 1.7 < result.f0 < 2.4


def test_cli_hvsr_gives_one_result_of_five_records(cwc, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["hvsr", str(cwc), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "PE.CWC..json").read_text())
    assert data["n_records"] == 5 and len(data["files"]) == 5
    assert "appears twice" not in res.output
    ref = obspy_gen.hvsr([resonance_record(f0, duration=90, seed=20 + i, station="CWC",
                                           network="PE", start=UTCDateTime(0),
                                           channels=("HHN", "HHE", "HHZ"))
                          for i, f0 in enumerate(F0)])
    np.testing.assert_allclose(data["mean"], ref.mean, rtol=1e-5)   # float32 miniSEED


def test_one_component_per_file_is_joined_back(tmp_path):
    # K-NET: a record is three files (.NS, .EW, .UD) of one station and time.
    files = bundled_records()["AOM001"]
    st = read_records(files)
    records = obspy_gen.split_records(st)
    assert len(records) == 1 and len(records[0]) == 3
    assert st[0].stats[SOURCE_KEY] == " + ".join(sorted(files))
    # Single-channel miniSEED files of two events with the same dummy time: joined per
    # event only when unambiguous; here each channel appears twice, so nothing is joined and
    # the message says what is missing instead of mixing events.
    for i in range(2):
        rec = resonance_record(3.0, duration=30, seed=i, start=UTCDateTime(0))
        for tr in rec:
            Stream([tr]).write(str(tmp_path / f"ev{i}_{tr.stats.channel}.mseed"),
                               format="MSEED")
    st = read_records(sorted(tmp_path.glob("ev*.mseed")))
    records = obspy_gen.split_records(st)
    assert len(records) == 6
    with pytest.raises(ValueError, match=r"ev0_HNE.mseed: XX.SITE..HNE: missing component"):
        three_components(records[0])
    # With one event the three channel files join into one record.
    one = read_records(sorted(tmp_path.glob("ev0_*.mseed")))
    assert len(obspy_gen.split_records(one)) == 1


def test_read_records_errors(tmp_path):
    bad = tmp_path / "bad.mseed"
    bad.write_bytes(b"not a record")
    with pytest.raises(ValueError, match=r"bad.mseed: cannot read"):
        read_records([bad])
    seen = []
    st = read_records([bad, bundled_records()["0921"][0]], on_error=lambda p, e: seen.append(p))
    assert seen == [str(bad)] and len(st) == 3


def test_dataset_keeps_files_apart(cwc, tmp_path):
    ds = StationDataset.from_files(sorted(cwc.glob("*.mseed")), seq_len=2000)
    assert len(ds) == 5 and ds.stations == ["CWC"]
    for i in range(5):
        assert ds.record(i)[0].stats[SOURCE_KEY] == ds.refs[i].source
        assert ds[i].data.shape == (3, 2000)
    # A PEER-like record of three files is one dataset record.
    knet = StationDataset.from_files(bundled_records()["AOM001"], seq_len=1000)
    assert len(knet) == 1 and len(knet.record(0)) == 3


def test_generate_zero_shot_pool_from_five_files(cwc, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from obspy_gen.plugins.torch_base import shipped_checkpoints
    if "timesnet-gen-synthetic" not in shipped_checkpoints("obspy_gen.plugins.timesnet_gen"):
        pytest.skip("shipped checkpoint not present")
    out = tmp_path / "gen"
    res = CliRunner().invoke(main, ["generate", "--records", str(cwc), "-n", "2", "--seed", "3",
                                    "--out", str(out), "--quiet", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "got 1" not in res.output
    assert len(list(out.glob("*.mseed"))) == 2

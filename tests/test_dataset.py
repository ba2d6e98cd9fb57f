"""StationDataset: preprocessing, lazy indexing, station-wise splits, torch view."""
import numpy as np
import pytest
from obspy import Stream, UTCDateTime

from obspy_gen.io.dataset import StationDataset, preprocess

from .conftest import resonance_record


def station_records(stations=("A", "B", "C", "D", "E"), per_station=4, duration=20.0):
    records = []
    for s, station in enumerate(stations):
        for k in range(per_station):
            st = resonance_record(2.0 + s, duration=duration, seed=10 * s + k, station=station,
                                  start=UTCDateTime(2024, 1, 1) + 3600 * k)
            records.append(st)
    return records


def test_channel_order_crop_and_denormalise():
    st = resonance_record(3.0, duration=30)
    st.traces = st.traces[::-1]                      # Z, E, N on input
    data, mean, std = preprocess(st, seq_len=2000)
    raw = np.stack([st.select(component=c)[0].data for c in "NEZ"])
    middle = raw[:, 1500 - 1000:1500 + 1000]          # centre crop of 3000 samples
    np.testing.assert_allclose(data * std[:, None] + mean[:, None], middle, rtol=1e-5,
                               atol=1e-5 * np.abs(middle).max())
    np.testing.assert_allclose(data.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(data.std(axis=1), 1, atol=1e-5)


def test_short_record_is_padded_symmetrically():
    st = resonance_record(3.0, duration=10)          # 1000 samples
    data, mean, std = preprocess(st, seq_len=1600)
    assert np.all(data[:, :300] == 0) and np.all(data[:, 1300:] == 0)
    assert np.all(data[:, 300:1300].std(axis=1) > 0.9)


def test_resampling_to_100_hz():
    st = resonance_record(3.0, duration=20, fs=200.0)
    data, _, _ = preprocess(st, seq_len=2000)
    assert data.shape == (3, 2000) and np.all(data[:, 0] != 0) and np.all(data[:, -1] != 0)


def test_pga_and_p_arrival_centres():
    st = resonance_record(3.0, duration=60, seed=2)
    st.select(component="N")[0].data[4321] = 1e3     # an obvious PGA at 43.21 s
    data, _, _ = preprocess(st, seq_len=1500, centre="pga")
    assert np.argmax(np.abs(data[0])) == 750
    for tr in st:
        tr.stats.afad = {"p_arrival": 12.0}
    data_p, mean, std = preprocess(st, seq_len=1500, centre="p_arrival")
    raw_n = st.select(component="N")[0].data
    np.testing.assert_allclose(data_p[0, :10] * std[0] + mean[0], raw_n[450:460], rtol=1e-5)
    for tr in st:
        tr.stats.pop("afad", None)
    with pytest.raises(ValueError, match="no P arrival label"):
        preprocess(st, seq_len=1500, centre="p_arrival")


def test_station_wise_split_is_disjoint_and_reproducible():
    ds = StationDataset.from_streams(station_records(), seq_len=500)
    assert ds.stations == ["A", "B", "C", "D", "E"] and len(ds) == 20
    parts = ds.split((0.6, 0.2, 0.2), seed=3)
    seen = [set(r.station for r in p.refs) for p in parts]
    assert sum(len(p) for p in parts) == 20
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert all(seen)
    again = ds.split((0.6, 0.2, 0.2), seed=3)
    assert [set(r.station for r in p.refs) for p in again] == seen
    # station_index stays that of the full station list in every part
    test = parts[2]
    sample = test[0]
    assert ds.stations[sample.station_index] == sample.station


def test_from_directory_reads_lazily_and_joins_labels(tmp_path):
    for i, st in enumerate(station_records(("X", "Y"), per_station=3)):
        st.write(str(tmp_path / f"r{i}.mseed"), format="MSEED")
    (tmp_path / "labels.csv").write_text("file,vs30,f0\nr0.mseed,250,2.0\n")
    ds = StationDataset.from_directory(tmp_path, seq_len=800)
    assert len(ds) == 6 and ds.stations == ["X", "Y"]
    assert ds.refs[0].labels == {"vs30": 250, "f0": 2.0}
    assert not any(hasattr(r, "data") for r in ds.refs)      # only an index in memory
    assert ds[5].data.shape == (3, 800)


def test_unreadable_file_is_skipped_with_a_warning(tmp_path):
    station_records(("X",), per_station=1)[0].write(str(tmp_path / "ok.mseed"), format="MSEED")
    (tmp_path / "bad.mseed").write_bytes(b"garbage" * 20)
    with pytest.warns(UserWarning, match="bad.mseed: skipped"):
        ds = StationDataset.from_directory(tmp_path, seq_len=100)
    assert len(ds) == 1
    with pytest.raises(ValueError, match="bad.mseed: cannot read"):
        StationDataset.from_directory(tmp_path, seq_len=100, errors="raise")


def test_torch_view():
    torch = pytest.importorskip("torch")
    ds = StationDataset.from_streams(station_records(("A", "B"), per_station=2), seq_len=256)
    loader = torch.utils.data.DataLoader(ds.torch(), batch_size=4)
    batch = next(iter(loader))
    assert batch["data"].shape == (4, 3, 256) and batch["data"].dtype == torch.float32
    assert batch["station_index"].tolist() == [0, 0, 1, 1]


def test_simulated_corpus_labels_are_joined(tmp_path):
    from obspy_gen.plugins.stochastic import simulate
    simulate(catalog="paper5", out=tmp_path, seed=2, n=2)
    ds = StationDataset.from_directory(tmp_path, centre="p_arrival")
    assert ds.seq_len == 1500 and len(ds) == 10
    assert ds.stations == ["0205", "1716", "2020", "3130", "4628"]
    ref = ds.refs[ds.indices_of("4628")[0]]
    assert ref.labels["f0"] == pytest.approx(1.8, rel=0.01) and ref.labels["vs30"] > 0
    sample = ds[ds.indices_of("4628")[0]]     # centred on the labelled P arrival
    assert sample.data.shape == (3, 1500)


def test_two_instruments_in_one_file_are_two_records(tmp_path):
    a = resonance_record(3.0, duration=20, seed=1, station="X")
    b = resonance_record(3.0, duration=20, seed=2, station="X", channels=("EHN", "EHE", "EHZ"))
    (a + b).write(str(tmp_path / "both.mseed"), format="MSEED")
    ds = StationDataset.from_directory(tmp_path, seq_len=500)
    assert len(ds) == 2
    channels = {ds.record(i)[0].stats.channel[:2] for i in range(2)}
    assert channels == {"EH", "HN"}


def test_label_table_keeps_codes_as_strings(tmp_path):
    resonance_record(3.0, duration=20, station="0205").write(str(tmp_path / "r.mseed"),
                                                             format="MSEED")
    (tmp_path / "labels.csv").write_text("file,station,location,vs30\nr.mseed,0205,00,300\n")
    ds = StationDataset.from_directory(tmp_path, seq_len=500)
    assert ds.refs[0].labels == {"station": "0205", "location": "00", "vs30": 300}

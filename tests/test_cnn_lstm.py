"""CNN-LSTM Vs30 plugin: windows, network, data split, training smoke test, prediction."""
import json
import os
import warnings

import numpy as np
import pytest
from obspy import read

from obspy_gen.plugins.cnn_lstm.data import load_windows, split_stations
from obspy_gen.plugins.cnn_lstm.windows import make_window

torch = pytest.importorskip("torch")

from obspy_gen.plugins.cnn_lstm import CNNLSTMPredictor, TrainSettings  # noqa: E402
from obspy_gen.plugins.cnn_lstm.config import CNNLSTMConfig  # noqa: E402
from obspy_gen.plugins.cnn_lstm.model import CNNLSTM  # noqa: E402
from obspy_gen.plugins.cnn_lstm.train import train  # noqa: E402


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """12 simulated stations (3 per NEHRP class B-E), 2 records each, with records.csv."""
    from obspy_gen.plugins.stochastic import simulate
    out = tmp_path_factory.mktemp("corpus")
    simulate("corpus", out=str(out), seed=11, n_stations=12, records_per_station=2)
    return out


# -- windows ---------------------------------------------------------------------------------
def test_window_pga_centre_and_common_scale():
    st = read()
    w = make_window(st, window=10.0, centre="pga")
    assert w.data.shape == (4, 1000) and w.centre == "pga"
    # PGA sample (largest horizontal) sits in the middle of the window.
    h = np.maximum(np.abs(w.data[0]), np.abs(w.data[1]))
    assert abs(int(np.argmax(h)) - 500) <= 1
    # One common scale: the channel RMS ratios of the raw record survive.
    raw = np.stack([tr.data.astype(float) for tr in
                    (st.select(component="N")[0], st.select(component="E")[0],
                     st.select(component="Z")[0])])
    assert np.isclose(np.sqrt((w.data[:3] ** 2).mean()), 1.0, atol=1e-4)
    ratio_w = w.data[2].std() / w.data[0].std()
    assert 0.2 < ratio_w / (raw[2].std() / raw[0].std()) < 5.0


def test_window_mask_from_labels_and_p_centre():
    st = read()
    w = make_window(st, window=10.0, centre="p_arrival",
                    labels={"p_arrival": 5.0, "s_arrival": 7.5})
    assert w.ps_source == "labels" and w.centre == "p_arrival"
    mask = w.data[3]
    # P at the window middle (sample 500), S 2.5 s later.
    assert mask[499] == 0 and mask[500] == 1 and mask[749] == 1 and mask[750] == 0
    assert mask.sum() == 250


def test_window_gal_equals_si():
    st = read()
    si = st.copy()
    for tr in si:
        tr.data = tr.data.astype(float) * 0.01
        tr.stats.units = "m/s**2"
    for tr in st:
        tr.stats.units = "gal"
    a = make_window(st, window=10.0, labels={"p_arrival": 5.0}).data
    b = make_window(si, window=10.0, labels={"p_arrival": 5.0}).data
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_window_rejects_velocity_and_pads_short_records():
    st = read()
    for tr in st:
        tr.stats.units = "m/s"
    with pytest.raises(ValueError, match=r"BW.RJOB..EHZ: units 'm/s' are not acceleration"):
        make_window(st)
    short = read()
    for tr in short:
        tr.stats.units = "m/s**2"
    w = make_window(short, window=40.0, centre="p_arrival", labels={"p_arrival": 15.0})
    assert any("zero-padded" in n for n in w.notes)
    assert w.data.shape == (4, 4000)
    # The padding is exactly zero: all 30 s of data in the 40-s window around 15 s.
    assert (np.abs(w.data[:3]).sum(axis=0) > 0).sum() == 3000


def test_window_p_centre_falls_back_to_pga():
    st = read()
    for tr in st:
        tr.data = np.random.default_rng(0).normal(size=tr.stats.npts)  # no event: no P
    w = make_window(st, window=10.0, centre="p_arrival")
    assert w.centre == "pga" and w.ps_source == "none"
    assert any("centred on the PGA instead" in n for n in w.notes)
    assert w.data[3].sum() == 0


# -- network ---------------------------------------------------------------------------------
def test_segments_share_one_encoder_and_lstm_carries_state():
    cfg = CNNLSTMConfig(window=4.0, segment=1.0, ps_channel=False, dropout=0.0)
    model = CNNLSTM(cfg).eval()
    x = torch.randn(2, 3, 400)
    y = model(x)
    assert y.shape == (2,)
    # Changing only the FIRST segment changes the output: the state is carried to the end.
    x2 = x.clone()
    x2[:, :, :100] = torch.randn(2, 3, 100)
    assert not torch.allclose(model(x2), y)
    # One encoder for all segments (no per-segment weights).
    assert sum(1 for m in model.modules() if isinstance(m, torch.nn.Conv1d)) == 3
    with pytest.raises(ValueError, match="segment must be 1-5 s"):
        CNNLSTMConfig(segment=6.0, window=12.0)
    with pytest.raises(ValueError, match="whole number of segments"):
        CNNLSTMConfig(segment=2.0, window=15.0)


# -- data ------------------------------------------------------------------------------------
def test_split_is_station_wise_and_stratified():
    rng = np.random.default_rng(0)
    vs = {f"S{i:03d}": float(v) for i, v in enumerate(
        np.concatenate([rng.uniform(800, 1400, 20), rng.uniform(400, 700, 20),
                        rng.uniform(200, 350, 20), rng.uniform(100, 170, 20)]))}
    tr, va, te = split_stations(vs, (0.65, 0.15, 0.2), seed=3)
    assert not (set(tr) & set(va) or set(tr) & set(te) or set(va) & set(te))
    assert len(tr) + len(va) + len(te) == 80
    from obspy_gen.api import nehrp_class
    for part in (tr, va, te):
        assert {nehrp_class(vs[s]) for s in part} == {"B", "C", "D", "E"}
    assert len(te) == 16
    assert split_stations(vs, (0.65, 0.15, 0.2), seed=3) == (tr, va, te)


def test_load_windows_uses_simulator_labels_and_caches(tiny_corpus, tmp_path):
    ws = load_windows(tiny_corpus, window=15.0, centre="p_arrival", cache_path=tmp_path)
    assert len(ws) == 24 and len(ws.stations) == 12
    assert set(ws.ps_source) == {"labels"} and set(ws.centre) == {"p_arrival"}
    rows = {r.split(",")[0]: r.split(",") for r in
            open(tiny_corpus / "records.csv").read().splitlines()[1:]}
    header = open(tiny_corpus / "records.csv").readline().strip().split(",")
    first = os.path.basename(ws.files[0])
    assert ws.vs30[0] == pytest.approx(float(rows[first][header.index("vs30")]))
    # The P arrival of the label is the window middle: the mask starts there.
    assert ws.data[0, 3, 749] == 0 and ws.data[0, 3, 750] == 1
    cached = list((tmp_path / "cnn_lstm").glob("*.npy"))
    assert len(cached) == 1
    again = load_windows(tiny_corpus, window=15.0, centre="p_arrival", cache_path=tmp_path)
    np.testing.assert_array_equal(again.data, ws.data)


# -- training (smoke, end to end) ------------------------------------------------------------
def test_training_smoke_resume_and_prediction(tiny_corpus, tmp_path):
    s = TrainSettings(epochs=2, batch_size=8, window=15.0, val_fraction=0.25,
                      test_fraction=0.25, width=4, hidden=8, synthetic=True,
                      cache_dir=str(tmp_path / "cache"))
    out = tmp_path / "m"
    h = train(str(tiny_corpus), out, s, device="cpu", log=lambda line: None)
    assert [e["epoch"] for e in h["epochs"]] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) and np.isfinite(e["val_loss"])
               for e in h["epochs"])
    cfg = json.load(open(str(out) + ".json"))
    assert cfg["plugin"] == "cnn-lstm" and cfg["training"]["synthetic"] is True
    split = cfg["training"]["split"]
    assert len(split["test"]) == 4 and len(split["validation"]) == 4
    assert not set(split["test"]) & set(split["train"])
    assert cfg["architecture"]["ps_channel"] is True
    assert cfg["normalisation"]["ln_vs30_std"] > 0
    # A run stopped after epoch 1 and resumed gives the uninterrupted run's weights.
    out2 = tmp_path / "r"

    class Stop(Exception):
        pass

    def stop_after_first(line):
        if line.startswith("epoch 1/2"):
            raise Stop()
    with pytest.raises(Stop):
        train(str(tiny_corpus), out2, s, device="cpu", log=stop_after_first)
    assert json.load(open(str(out2) + ".json"))["training"]["epochs_done"] == 1
    train(str(tiny_corpus), out2, s, device="cpu", resume=True, log=lambda line: None)
    assert json.load(open(str(out2) + ".json"))["weights_sha256"] == cfg["weights_sha256"]
    # The checkpoint predicts through the plugin (path given).
    from obspy import Stream
    st = Stream()
    for f in sorted(tiny_corpus.glob("SY.C0001.00_*.mseed")):
        st += read(str(f))
    r = CNNLSTMPredictor(checkpoint=str(out)).predict(st, device="cpu")
    assert r.n_records == 2 and r.station == "SY.C0001.00" and len(r.per_record) == 2
    assert r.vs30 == pytest.approx(float(np.median(r.per_record)))
    assert r.spread >= 0 and r.nehrp_class in "ABCDE"


def test_shifted_windows_are_cut_from_wider_ones(tiny_corpus, tmp_path):
    from obspy_gen.plugins.cnn_lstm.data import crop_windows
    wide = load_windows(tiny_corpus, window=19.0, centre="pga", cache_path=tmp_path)
    rec = read(str(wide.files[3]))
    import csv
    with open(tiny_corpus / "records.csv") as fh:
        labels = {r["file"]: r for r in csv.DictReader(fh)}[os.path.basename(wide.files[3])]
    for shift in (-2.0, 0.0, 1.5):
        ref = make_window(rec, centre="pga", shift=shift, labels=labels).data
        cut = crop_windows(wide.data[3:4], 1500, 200 + int(shift * 100))[0]
        np.testing.assert_allclose(cut, ref, atol=2e-4)
        assert np.sqrt((cut[:3] ** 2).mean()) == pytest.approx(1.0, abs=1e-5)
    # A later centre moves the PGA earlier in the window.
    late = make_window(rec, centre="pga", shift=2.0).data
    peak = np.argmax(np.maximum(np.abs(late[0]), np.abs(late[1])))
    assert peak == 750 - 200
    with pytest.raises(ValueError, match="leave the 1900-sample windows"):
        crop_windows(wide.data[:1], 1500, 401)


def test_random_shift_augmentation_is_seeded(tiny_corpus, tmp_path):
    from obspy_gen.plugins.cnn_lstm.data import crop_windows
    from obspy_gen.plugins.cnn_lstm.train import torch_dataset
    wide = load_windows(tiny_corpus, window=19.0, centre="pga", cache_path=tmp_path)
    d = torch_dataset(wide, range(4), 4, 6.0, 0.5, margin=200, shuffle_shift=True)
    fixed = torch_dataset(wide, range(4), 4, 6.0, 0.5, margin=200)
    cuts = {o: crop_windows(wide.data[:1], 1500, o)[0] for o in range(401)}

    def offset(x):  # which cut an item is
        return [o for o, c in cuts.items() if np.allclose(c, x, atol=1e-5)]
    torch.manual_seed(1)
    a = [offset(d[0]["x"].numpy()) for _ in range(6)]
    torch.manual_seed(1)
    b = [offset(d[0]["x"].numpy()) for _ in range(6)]
    assert a == b and all(len(o) == 1 for o in a) and len({o[0] for o in a}) > 1
    assert offset(fixed[0]["x"].numpy()) == [200]  # validation: the centred window
    assert d[0]["x"].shape == (4, 1500)


def test_multi_window_training_and_prediction(tiny_corpus, tmp_path):
    """Window-shift augmentation, best-epoch keeping, an extra training-only corpus and the
    median over several windows per record, end to end on simulated records."""
    from obspy import Stream

    from obspy_gen.plugins.cnn_lstm.plugin import aggregate_windows, record_windows
    s = TrainSettings(epochs=3, batch_size=8, val_fraction=0.25, test_fraction=0.25, width=4,
                      hidden=8, train_shift=2.0, keep_best=True, test_shifts=(-2.0, 0.0, 2.0),
                      test_p_centred=True, extra_data=str(tiny_corpus), synthetic=True,
                      cache_dir=str(tmp_path / "cache"))
    out = tmp_path / "mw"
    h = train(str(tiny_corpus), out, s, device="cpu", log=lambda line: None)
    cfg = json.load(open(str(out) + ".json"))
    vals = [e["val_loss"] for e in h["epochs"]]
    assert cfg["training"]["best_epoch"] == h["best_epoch"] == int(np.argmin(vals)) + 1
    assert cfg["architecture"]["test_shifts"] == [-2.0, 0.0, 2.0]
    split = cfg["training"]["split"]
    extra = cfg["training"]["extra_training"]
    assert extra["n_stations"] == 12 and extra["n_records"] == 24
    assert not any(st.startswith("extra:") for part in ("train", "validation", "test")
                   for st in split[part])
    assert cfg["training"]["n_records"] == 2 * len(split["train"]) + 24
    # predict(): 3 shifted windows + 1 P-centred per record, median of ln per record.
    pred = CNNLSTMPredictor(checkpoint=str(out))
    st = Stream()
    files = sorted(tiny_corpus.glob("SY.C0002.00_*.mseed"))
    for f in files:
        st += read(str(f))
    r = pred.predict(st, device="cpu")
    arch = pred.load(device="cpu")[1]
    manual = []
    for f in files:
        ws = record_windows(read(str(f)), arch)
        assert [w.centre for w in ws] == ["pga"] * 3 + ["p_arrival"]
        v = pred.predict_windows(np.stack([w.data for w in ws]), device="cpu")
        manual.append(float(np.exp(np.median(np.log(v)))))
        assert min(v) <= manual[-1] <= max(v)
    np.testing.assert_allclose(r.per_record, manual, rtol=1e-6)
    # predict_labelled (cached wide windows, evaluation) gives the same values.
    ws, values = pred.predict_labelled(str(tiny_corpus), stations=["C0002"], device="cpu",
                                       cache_path=str(tmp_path / "cache"))
    order = [files.index(type(files[0])(f)) for f in ws.files]
    np.testing.assert_allclose(values, np.asarray(manual)[order], rtol=2e-3)
    assert aggregate_windows(np.array([1.0, 100.0, 10.0]), [0, 0, 0]) == pytest.approx([10.0])


def test_checkpoint_with_data_descriptions_does_not_depend_on_the_folders(tiny_corpus,
                                                                          tmp_path):
    """With source/extra_source the same training from copies of the data in other folders
    writes the same bytes (weights and JSON); without them the JSON names the folders."""
    import shutil
    s = TrainSettings(epochs=1, batch_size=8, val_fraction=0.25, test_fraction=0.25, width=4,
                      hidden=8, train_shift=1.0, synthetic=True,
                      cache_dir=str(tmp_path / "cache"))
    outs = []
    for k in range(2):
        data = shutil.copytree(tiny_corpus, tmp_path / f"copy{k}" / "corpus")
        extra = shutil.copytree(tiny_corpus, tmp_path / f"copy{k}" / "extra")
        s.extra_data = str(extra)
        outs.append(tmp_path / f"m{k}")
        train(str(data), outs[-1], s, device="cpu", log=lambda line: None, created="fixed",
              source="tiny corpus", extra_source="tiny corpus again")
    for suffix in (".safetensors", ".json"):
        assert (tmp_path / ("m0" + suffix)).read_bytes() == \
            (tmp_path / ("m1" + suffix)).read_bytes()
    tr = json.load(open(str(outs[0]) + ".json"))["training"]
    assert tr["source"] == "tiny corpus"
    assert tr["extra_training"]["source"] == tr["settings"]["extra_data"] == "tiny corpus again"
    train(str(tmp_path / "copy1" / "corpus"), tmp_path / "paths", s, device="cpu",
          log=lambda line: None)
    tr = json.load(open(str(tmp_path / "paths") + ".json"))["training"]
    assert tr["source"] == str(tmp_path / "copy1" / "corpus")
    assert tr["extra_training"]["source"] == tr["settings"]["extra_data"] == s.extra_data


def test_cli_train_builds_flags_from_settings(tiny_corpus, tmp_path):
    from click.testing import CliRunner

    from obspy_gen.cli import main
    res = CliRunner().invoke(main, ["train", "cnn-lstm", "--help"])
    assert res.exit_code == 0
    for flag in ("--ps-channel / --no-ps-channel", "--segment", "--centre", "--test-fraction"):
        assert flag in res.output
    out = tmp_path / "cli"
    res = CliRunner().invoke(main, ["train", "cnn-lstm", "--data", str(tiny_corpus), "--out",
                                    str(out), "--epochs", "1", "--width", "4", "--hidden", "4",
                                    "--no-ps-channel", "--synthetic", "--cache-dir",
                                    str(tmp_path / "c"), "--device", "cpu", "--quiet"])
    assert res.exit_code == 0, res.output
    cfg = json.load(open(str(out) + ".json"))
    assert cfg["architecture"]["ps_channel"] is False and cfg["training"]["synthetic"] is True
    res = CliRunner().invoke(main, ["train", "cnn-lstm", "--data", str(tiny_corpus), "--out",
                                    str(out), "--segment", "7"])
    assert res.exit_code == 2 and "segment must be 1-5 s" in res.output
    assert TrainSettings(test_shifts=("-3", "0", "1.5")).architecture().test_shifts == (
        -3.0, 0.0, 1.5)
    res = CliRunner().invoke(main, ["train", "cnn-lstm", "--data", str(tiny_corpus), "--out",
                                    str(out), "--test-shifts", "-2,x"])
    assert res.exit_code == 2 and "test_shifts must be seconds" in res.output


def test_predict_rejects_several_stations_and_unusable_records(tiny_corpus):
    st = read(str(tiny_corpus / "SY.C0001.00_stochastic_0000.mseed"))
    st += read(str(tiny_corpus / "SY.C0002.00_stochastic_0000.mseed"))
    with pytest.raises(ValueError, match="records of 2 stations"):
        CNNLSTMPredictor().predict(st, device="cpu")
    bad = read(str(tiny_corpus / "SY.C0001.00_stochastic_0000.mseed"))
    for tr in bad:
        tr.stats.units = "m/s"
    with pytest.raises(ValueError, match=r"SY.C0001.00: no usable record \(.*not acceleration"):
        CNNLSTMPredictor().predict(bad, device="cpu")


def test_stream_vs30_dispatches_to_the_default():
    import obspy_gen  # noqa: F401 (attaches Stream.vs30)
    from obspy_gen.plugins.stochastic import SoilProfile, StochasticGenerator
    site = SoilProfile([(30, 180, 1750, 0.03)], halfspace=(700, 2200, 0.01))
    st = StochasticGenerator().generate(station=site, n=2, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 60-s simulated records: no padding warning
        r = st.vs30(device="cpu")
    assert r.model == "cnn-lstm" and r.n_records == 2 and 90 < r.vs30 < 2000
    h = st.vs30(model="hvsr-f0")
    assert h.model == "hvsr-f0" and h.details["f0"] > 0


def test_both_vs30_plugins_pass_the_conformance_kit():
    from obspy_gen import registry
    from obspy_gen.plugins.stochastic import SoilProfile, StochasticGenerator
    from obspy_gen.testing import check_vs30_predictor
    site = SoilProfile([(12, 300, 1850, 0.02)], halfspace=(1100, 2300, 0.01))
    st = StochasticGenerator().generate(station=site, n=3, seed=8)
    for name in ("cnn-lstm", "hvsr-f0"):
        out = check_vs30_predictor(registry.load("vs30", name), st)
        assert out["vs30"] > 0

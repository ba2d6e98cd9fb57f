"""TimesNet-Gen training on a tiny model: both phases end to end, save/load/resume, errors."""
import json

import numpy as np
import pytest
from obspy import UTCDateTime

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.io.checkpoints import (CheckpointError, checkpoint_paths,  # noqa: E402
                                      save_checkpoint)
from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator, clear_cache  # noqa: E402
from obspy_gen.plugins.timesnet_gen import train as T  # noqa: E402
from obspy_gen.plugins.timesnet_gen.store import load_model  # noqa: E402

from .conftest import resonance_record  # noqa: E402

ARCH = dict(seq_len=400, d_model=4, d_ff=4, e_layers=1, d_layers=1, num_kernels=2, top_k=2,
            latent_channels=2, latent_stride=4)


def records(stations=("AAA", "BBB", "CCC"), n=4, duration=5.0):
    out = []
    for k, (code, f0) in enumerate(zip(stations, (2.0, 5.0, 9.0, 3.0))):
        for i in range(n):
            out.append(resonance_record(f0, duration, 100.0, seed=10 * k + i, station=code,
                                        start=UTCDateTime(2024, 1, 1) + 600 * i))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("tg")
    corpus = records(("AAA", "BBB", "CCC"))
    targets = records(("TA", "TB"))
    h1 = T.pretrain(corpus, d / "pre", arch=ARCH, epochs=1, batch_size=4, seed=0,
                    device="cpu", quiet=True, synthetic=True, description="tiny test")
    h2 = T.finetune(targets, d / "ft", init=d / "pre", epochs=2, batch_size=4, seed=0,
                    device="cpu", quiet=True, synthetic=True, base_name="pre")
    return d, h1, h2


def test_pretrain_writes_an_unconditioned_checkpoint(trained):
    d, h1, _ = trained
    assert len(h1["epochs"]) == 1 and np.isfinite(h1["epochs"][0]["train_loss"])
    m = load_model(d / "pre", "cpu")
    assert not m.arch.conditioned and m.pools == {}
    cfg = m.config
    assert cfg["training"]["phase"] == "pretrain" and cfg["training"]["synthetic"] is True
    assert cfg["training"]["validation"]["kind"] == "station-wise"
    assert cfg["architecture"]["seq_len"] == 400 and cfg["normalisation"]["sampling_rate"] == 100


def test_finetune_conditions_and_stores_pools(trained):
    d, _, h2 = trained
    assert [e["epoch"] for e in h2["epochs"]] == [1, 2]
    m = load_model(d / "ft", "cpu")
    assert m.arch.conditioned and m.arch.n_stations == 2
    assert m.station_codes == ["TA", "TB"]
    assert {s: p.codes.shape for s, p in m.pools.items()} == {"TA": (4, 2, 100),
                                                              "TB": (4, 2, 100)}
    assert m.pools["TA"].network == "XX"
    cfg = m.config
    assert cfg["latent_pools"]["TA"]["shape"] == [4, 2, 100]
    assert cfg["base_checkpoint"] == "pre" and cfg["training"]["init"] == "pre"
    assert cfg["training"]["pretraining"]["n_stations"] == 3
    # The shared trunk started from phase 1; only conditioning (and fine-tuning) differ.
    assert cfg["training"]["validation"]["kind"] == "per-station records"


def test_generate_and_zero_shot_with_the_trained_checkpoints(trained):
    d, _, _ = trained
    gen = TimesNetGenGenerator(checkpoint=str(d / "ft"))
    st = gen.generate(station="TB", n=2, seed=0)
    assert len(st) == 6 and st[0].stats.npts == 400 and st[0].id == "XX.TB..HNN"
    zs = gen.generate(records(("NEW",), n=3, duration=4.0), n=1, seed=0)
    assert zs[0].stats.obspy_gen.checkpoint == "pre"  # the sibling base checkpoint


def test_encode_pools_is_batch_independent(trained):
    d, _, _ = trained
    m = load_model(d / "ft", "cpu")
    mat = T.materialise(T.load_records(records(("TA", "TB")), 400))
    pools = T.encode_pools(m.model, mat, ["TA"], ["TA", "TB"])
    np.testing.assert_allclose(pools["TA"].codes, m.pools["TA"].codes, rtol=2e-3, atol=2e-3)


def test_resume_after_an_interruption_equals_a_straight_run(tmp_path, monkeypatch):
    data = records(("TA", "TB"))
    kw = dict(arch=ARCH, epochs=3, batch_size=4, seed=1, device="cpu", quiet=True)
    T.finetune(data, tmp_path / "straight", **kw)
    real_save = T.save_model

    class Killed(Exception):
        pass

    def dying_save(path, *a, training=None, **k):
        if training["epochs_done"] == 2:
            raise Killed
        return real_save(path, *a, training=training, **k)

    monkeypatch.setattr(T, "save_model", dying_save)
    with pytest.raises(Killed):
        T.finetune(data, tmp_path / "resumed", **kw)
    monkeypatch.setattr(T, "save_model", real_save)
    h = T.finetune(data, tmp_path / "resumed", resume=True, **kw)
    assert [e["epoch"] for e in h["epochs"]] == [1, 2, 3]
    a, b = load_model(tmp_path / "straight", "cpu"), load_model(tmp_path / "resumed", "cpu")
    for (k, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), k
    np.testing.assert_array_equal(a.pools["TA"].codes, b.pools["TA"].codes)


def test_save_load_round_trip_is_exact(trained, tmp_path):
    d, _, _ = trained
    clear_cache()
    g = TimesNetGenGenerator(checkpoint=str(d / "ft"))
    g.save(tmp_path / "copy")
    a = load_model(d / "ft", "cpu")
    b = load_model(tmp_path / "copy", "cpu")
    for (k, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), k
    assert b.station_codes == a.station_codes


def test_architecture_mismatch_is_a_clear_error(trained, tmp_path):
    d, _, _ = trained
    for p in checkpoint_paths(d / "ft"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    meta = checkpoint_paths(tmp_path / "ft")[1]
    cfg = json.loads(meta.read_text())
    cfg["architecture"]["d_model"] = 8
    meta.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="another architecture") as e:
        load_model(tmp_path / "ft", "cpu")
    assert "\n" not in str(e.value)


def test_checkpoint_of_another_plugin_is_refused(tmp_path):
    save_checkpoint(tmp_path / "cnn", {"w": np.zeros(2)}, {}, plugin="cnn-lstm")
    with pytest.raises(CheckpointError, match="for plugin 'cnn-lstm', not 'timesnet-gen'"):
        TimesNetGenGenerator().generate(station="4628", checkpoint=str(tmp_path / "cnn"))


def test_unconditioned_checkpoint_needs_records(trained):
    d, _, _ = trained
    with pytest.raises(ValueError, match="unconditioned"):
        TimesNetGenGenerator(checkpoint=str(d / "pre")).generate(station="AAA")


def test_finetune_errors(trained, tmp_path):
    d, _, _ = trained
    with pytest.raises(ValueError, match="no records of station"):
        T.finetune(records(("TA",)), tmp_path / "x", init=d / "pre", stations=["ZZ"],
                   epochs=1, device="cpu", quiet=True)
    with pytest.raises(ValueError, match="conditioned on"):
        T.finetune(records(("TA",)), tmp_path / "x", init=d / "ft", stations=["TA"],
                   epochs=1, device="cpu", quiet=True)
    with pytest.raises(ValueError, match="phase"):
        T.train(None, tmp_path / "x", phase="phase3")


def test_latent_noise_injection_runs(tmp_path):
    h = T.finetune(records(("TA", "TB")), tmp_path / "noisy", arch=ARCH, epochs=1,
                   batch_size=4, device="cpu", quiet=True, latent_noise=1.0)
    assert np.isfinite(h["epochs"][0]["train_loss"])
    assert load_model(tmp_path / "noisy").config["training"]["latent_noise"] == 1.0


def test_splits():
    mat = T.materialise(T.load_records(records(("A", "B", "C", "D"), n=4), 400))
    tr, va = T.station_split(mat, 0.25, seed=0)
    assert {mat.station[i] for i in tr}.isdisjoint({mat.station[i] for i in va})
    assert len(va) == 4 and len(tr) == 12
    tr, va = T.record_split(mat, 0.25, seed=0)
    assert sorted(mat.station[i] for i in va) == ["A", "B", "C", "D"]


def test_training_records_are_preprocessed_as_the_dataset_does():
    from obspy_gen.io.dataset import StationDataset
    recs = records(("A",), n=2, duration=6.0)
    mat = T.materialise(T.load_records(recs, 400))
    ds = StationDataset.from_streams(recs, seq_len=400)
    np.testing.assert_array_equal(mat.data[0], ds[0].data)
    np.testing.assert_allclose(mat.std[0], ds[0].std)
    assert len(split_records(recs[0])) == 1


def test_resume_refuses_weights_and_state_from_different_epochs(tmp_path, monkeypatch):
    import obspy_gen.torchkit.base as TB
    data = records(("TA", "TB"))
    kw = dict(arch=ARCH, epochs=3, batch_size=4, seed=1, device="cpu", quiet=True)
    real_state = TB._save_state

    class Killed(Exception):
        pass

    def dying_state(out, optimizer, model, epoch, *a, **k):
        if epoch == 2:          # weights of epoch 2 written, state still at epoch 1
            raise Killed
        return real_state(out, optimizer, model, epoch, *a, **k)

    monkeypatch.setattr(TB, "_save_state", dying_state)
    with pytest.raises(Killed):
        T.finetune(data, tmp_path / "m", **kw)
    monkeypatch.setattr(TB, "_save_state", real_state)
    with pytest.raises(CheckpointError, match="after epoch 2 but the training state after "
                                              "epoch 1"):
        T.finetune(data, tmp_path / "m", resume=True, **kw)

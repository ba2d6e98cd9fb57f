"""CVAE training (phases, DEC sub-phase, checkpoints) and ``obspy-gen train cvae``."""
import os

import numpy as np
import pytest
from click.testing import CliRunner
from obspy import UTCDateTime

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.cli.generate import generate_command  # noqa: E402
from obspy_gen.cli.train import train_command  # noqa: E402
from obspy_gen.io.checkpoints import load_checkpoint  # noqa: E402
from obspy_gen.plugins.cvae import CVAEGenerator  # noqa: E402
from obspy_gen.plugins.cvae.store import load_model  # noqa: E402
from obspy_gen.plugins.cvae.train import CVAETrainSettings, Objective, train  # noqa: E402

from .conftest import resonance_record  # noqa: E402

TINY = dict(seq_len=800, n_fft=64, hop=32, widths=(2, 4, 4, 4), latent_dim=6, batch_size=4)
TINY_FLAGS = ["--seq-len", "800", "--n-fft", "64", "--hop", "32", "--widths", "2,4,4,4",
              "--latent-dim", "6", "--batch-size", "4"]


def write_records(folder, stations=("AAA", "BBB", "CCC"), n=4, duration=8.0):
    """Records of layered sites (f0 2, 5, 9 Hz), anti-alias filtered, in m/s^2."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, (code, f0) in enumerate(zip(stations, (2.0, 5.0, 9.0))):
        for i in range(n):
            st = resonance_record(f0, duration, 100.0, seed=10 * k + i, station=code,
                                  start=UTCDateTime(2024, 1, 1) + 600 * i)
            st.filter("lowpass", freq=30.0, corners=8)
            for tr in st:
                tr.data = (tr.data * 1e-2).astype(np.float32)
            st.write(str(folder / f"{code}_{i}.mseed"), format="MSEED")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("cvae")
    return (write_records(base / "corpus"),
            write_records(base / "targets", stations=("TA", "TB"), n=5))


def test_pretrain_then_finetune_with_dec(folders, tmp_path):
    corpus, targets = folders
    pre = tmp_path / "pre"
    h = train(str(corpus), pre, CVAETrainSettings(phase="pretrain", epochs=2, seed=1, **TINY),
              quiet=True, device="cpu")
    assert [e["epoch"] for e in h["epochs"]] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) for e in h["epochs"])
    assert h["epochs"][0]["val_loss"] is not None  # a held-out station
    base = load_model(pre, "cpu")
    assert not base.arch.conditioned and base.config["training"]["phase"] == "pretrain"
    lo, hi = base.model.norm_lo.numpy(), base.model.norm_hi.numpy()
    assert np.all(hi > lo) and lo[0, 5] > -160  # dB rows scaled to the data, not the floor
    assert np.all(hi[:3] - lo[:3] <= 80 + 1e-3)  # db_range
    assert np.all(lo[3:, 1:] < 0) and np.all(hi[3:, 1:] > 0)  # unwrapped phase: both signs

    ft = tmp_path / "ft"
    h = train(str(targets), ft, CVAETrainSettings(phase="finetune", init=str(pre), epochs=2,
                                                  cluster_epochs=1, stations=("TB", "TA"),
                                                  latent_dim=6, batch_size=4, seed=1,
                                                  synthetic=True), quiet=True, device="cpu")
    assert len(h["epochs"]) == 3
    m = load_model(ft, "cpu")
    assert m.station_codes == ["TB", "TA"] and m.arch.n_stations == 2
    assert m.config["base_checkpoint"] == "pre" and m.config["training"]["synthetic"] is True
    # The start checkpoint is recorded by name, not by the folder it was read from.
    assert m.config["training"]["settings"]["init"] == "pre"
    assert "DEC" in m.config["training"]["loss"]
    assert m.config["training"]["pretraining"]["phase"] == "pretrain"
    assert [s["n_records"] for s in m.stations] == [5, 5]
    # The image scaling comes from the pre-trained checkpoint.
    np.testing.assert_array_equal(m.model.norm_lo.numpy(), lo)
    # DEC centres were started at the stations' mean codes: no longer the prior means.
    assert not torch.allclose(m.model.centres, m.model.prior_mean(torch.arange(2)))
    # The generator runs on it.
    st = CVAEGenerator().generate(station="TA", n=2, seed=0, checkpoint=str(ft))
    assert len(st) == 6 and st[0].stats.npts == 800 and st[0].id == "XX.TA..HNN"
    assert np.all(np.isfinite(st[0].data))


def test_dec_centres_start_at_station_means_and_switch_on(folders):
    from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    from obspy_gen.torchkit.records import load_records, materialise
    _, targets = folders
    mat = materialise(load_records(str(targets), 800))
    model = CVAE(CVAEConfig(seq_len=800, n_fft=64, hop=32, widths=(2, 4, 4, 4), latent_dim=6,
                            n_stations=2))
    obj = Objective(cluster_from=3, mat=mat, indices=range(len(mat)),
                    station_order=["TA", "TB"])
    obj.start_epoch(model, 2)
    assert not obj.clustering
    obj.start_epoch(model, 3)
    assert obj.clustering
    with torch.no_grad():
        for k, s in enumerate(["TA", "TB"]):
            idx = mat.indices([s])
            x = torch.from_numpy(mat.data[idx] * mat.std[idx][:, :, None].astype(np.float32))
            mu, _ = model.encode(model.image(x))
            torch.testing.assert_close(model.centres[k], mu.mean(0), atol=1e-5, rtol=1e-5)


def test_centres_are_not_weight_decayed(folders, tmp_path):
    # Sub-phase 1 does not touch the centres (no gradient), so they stay the prior means.
    _, targets = folders
    out = tmp_path / "ft"
    train(str(targets), out, CVAETrainSettings(phase="finetune", epochs=1, cluster_epochs=0,
                                               weight_decay=0.5, lr=1e-2, **TINY),
          quiet=True, device="cpu")
    m = load_model(out, "cpu").model
    torch.testing.assert_close(m.centres, m.prior_mean(torch.arange(2)))


def test_latent_must_tile_the_station_count(folders, tmp_path):
    _, targets = folders
    with pytest.raises(ValueError, match="latent_dim=7 is not a multiple of the 2 target"):
        train(str(targets), tmp_path / "x",
              CVAETrainSettings(phase="finetune", **{**TINY, "latent_dim": 7}), quiet=True)
    with pytest.raises(ValueError, match="no records of station"):
        train(str(targets), tmp_path / "x",
              CVAETrainSettings(phase="finetune", stations=("ZZZ",), **TINY), quiet=True)


@pytest.mark.parametrize("bad,match", [(dict(phase="x"), "phase="), (dict(epochs=0), "epochs"),
                                       (dict(cluster_epochs=-1), "cluster_epochs"),
                                       (dict(val_fraction=1.0), "val_fraction"),
                                       (dict(cluster_weight=-1), "cluster_weight")])
def test_settings_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        CVAETrainSettings(**bad)


def test_plugin_train_hook_and_settings_contract():
    from dataclasses import fields, is_dataclass
    assert is_dataclass(CVAEGenerator.TrainSettings)
    assert all(f.metadata.get("help") for f in fields(CVAEGenerator.TrainSettings))
    assert CVAETrainSettings().latent_dim == 510 and CVAETrainSettings().cluster_weight == 100


def test_cli_train_both_phases_resume_and_generate(folders, tmp_path):
    corpus, targets = folders
    runner = CliRunner()
    res = runner.invoke(train_command, ["cvae", "--data", str(corpus), "--out",
                                        str(tmp_path / "pre"), "--phase", "pretrain",
                                        "--epochs", "1", "--synthetic", "--quiet", *TINY_FLAGS])
    assert res.exit_code == 0, res.output
    assert "train_loss" in res.stdout and "wrote" in res.stdout
    ck = load_checkpoint(tmp_path / "pre", plugin="cvae")
    assert ck.config["architecture"]["widths"] == [2, 4, 4, 4]
    assert ck.config["training"]["synthetic"] is True
    args = ["cvae", "--data", str(targets), "--out", str(tmp_path / "ft"), "--phase",
            "finetune", "--init", str(tmp_path / "pre"), "--epochs", "1", "--cluster-epochs",
            "1", "--latent-dim", "6", "--stations", "TA", "--stations", "TB"]
    res = runner.invoke(train_command, args + ["--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(train_command, args)  # again from scratch (no --resume)
    assert res.exit_code == 0, res.output
    res = runner.invoke(train_command, args + ["--resume"])
    assert res.exit_code == 0 and "resuming" in res.stderr
    res = runner.invoke(generate_command, ["--model", "cvae", "-s", "TB", "-n", "2",
                                           "--checkpoint", str(tmp_path / "ft"), "-o",
                                           str(tmp_path / "g"), "-q", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path / "g")) == ["XX.TB._cvae_0000.mseed",
                                                  "XX.TB._cvae_0001.mseed", "records.csv"]
    assert "cvae" in (tmp_path / "g" / "records.csv").read_text()


def test_cli_train_usage_errors(folders, tmp_path):
    _, targets = folders
    runner = CliRunner()
    res = runner.invoke(train_command, ["cvae", "--data", str(tmp_path / "none"), "--out",
                                        str(tmp_path / "x")])
    assert res.exit_code == 2 and "not a directory of records" in res.stderr
    res = runner.invoke(train_command, ["cvae", "--data", str(targets), "--out",
                                        str(tmp_path / "x"), "--phase", "nope"])
    assert res.exit_code == 2
    res = runner.invoke(train_command, ["cvae", "--data", str(targets), "--out",
                                        str(tmp_path / "x"), "--epochs", "0"])
    assert res.exit_code == 2 and "epochs must be at least 1" in res.output
    res = runner.invoke(train_command, ["cvae", "--data", str(targets), "--out",
                                        str(tmp_path / "x"), "--widths", "2,x,4,4"])
    assert res.exit_code == 2
    res = runner.invoke(train_command, ["cvae", "--data", str(tmp_path), "--out",
                                        str(tmp_path / "x"), "--quiet"])
    assert res.exit_code == 1 and "no records" in res.stderr
    res = runner.invoke(train_command, ["cvae", "--data", str(targets), "--out",
                                        str(tmp_path / "x"), "--latent-dim", "7", "--quiet",
                                        *TINY_FLAGS[:6]])
    assert res.exit_code == 1 and "not a multiple" in res.stderr
    text = runner.invoke(train_command, ["cvae", "--help"]).output
    assert "--cluster-weight" in text and "--latent-dim" in text and "Examples" in text

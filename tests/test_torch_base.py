"""obspy_gen.torchkit (formerly plugins.torch_base): device, seeding, checkpoints, fit, DDP."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.io.checkpoints import (CheckpointError, load_checkpoint,  # noqa: E402
                                      save_checkpoint)
from obspy_gen.torchkit import base as TB  # noqa: E402
from obspy_gen.plugins.base import Plugin  # noqa: E402


def test_import_obspy_gen_does_not_import_torch():
    code = ("import sys, obspy_gen, obspy_gen.plugins.torch_base, obspy_gen.torchkit, "
            "obspy_gen.api, obspy_gen.batch, obspy_gen.testing, "
            "obspy_gen.plugins.timesnet_gen, obspy_gen.io.checkpoints, "
            "obspy_gen.cli.generate, obspy_gen.cli.train; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_choose_device():
    assert TB.choose_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert TB.choose_device(None).type == expected
    assert TB.choose_device("auto").type == expected
    with pytest.raises(ValueError, match="device 'warp9'"):
        TB.choose_device("warp9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            TB.choose_device("cuda")


def test_seed_everything():
    TB.seed_everything(5)
    a = (torch.rand(3), np.random.rand(), __import__("random").random())
    TB.seed_everything(5)
    b = (torch.rand(3), np.random.rand(), __import__("random").random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]
    assert isinstance(TB.seed_everything(None), int)


def test_resolve_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "here", {"w": np.zeros(1)}, {}, plugin="demo")
    assert TB.resolve_checkpoint(tmp_path / "here.json").name == "here"
    assert TB.resolve_checkpoint(str(tmp_path / "here")).name == "here"
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        TB.resolve_checkpoint("not-shipped", "obspy_gen.plugins.timesnet_gen")


def test_shipped_names_come_first():
    names = TB.shipped_checkpoints("obspy_gen.plugins.timesnet_gen")
    if "timesnet-gen-synthetic" not in names:
        pytest.skip("shipped checkpoint not present")
    path = TB.resolve_checkpoint("timesnet-gen-synthetic", "obspy_gen.plugins.timesnet_gen")
    assert path.parent.name == "checkpoints"


class _Tiny(TB.TorchPlugin, Plugin):
    name, version = "tiny", "1"

    def __init__(self):
        self.w = np.arange(3.0)

    def _checkpoint_content(self):
        return {"w": self.w}, {"architecture": {"n": 3}}

    def _load_checkpoint(self, checkpoint, device):
        self.w = checkpoint.tensors["w"]


def test_torch_plugin_save_and_from_pretrained(tmp_path):
    p = _Tiny()
    p.w = np.array([1.0, 2.0, 3.0])
    p.save(tmp_path / "t")
    q = _Tiny.from_pretrained(tmp_path / "t")
    np.testing.assert_array_equal(q.w, [1, 2, 3])
    assert q.checkpoint.config["plugin"] == "tiny"
    save_checkpoint(tmp_path / "other", {"w": np.zeros(3)}, {}, plugin="other")
    with pytest.raises(CheckpointError, match="not 'tiny'"):
        _Tiny.from_pretrained(tmp_path / "other")


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [{"x": torch.randn(6, generator=g)} for _ in range(24)]


def _model():
    torch.manual_seed(0)
    # Dropout makes the resume test check the per-epoch reseeding too.
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Dropout(0.3),
                               torch.nn.Linear(8, 6))


def _loss(m, b):
    return ((m(b["x"]) - b["x"]) ** 2).mean()


def _save(m, out, epoch, history):
    save_checkpoint(out, TB.state_dict_numpy(m), {"history": history}, plugin="demo")


def test_fit_checkpoints_every_epoch(tmp_path):
    seen = []

    def save(m, out, epoch, history):
        seen.append(epoch)
        _save(m, out, epoch, history)

    data = _problem()
    hist = TB.fit(_model(), data, data[:6], _loss, out=tmp_path / "run", save_fn=save,
                  settings=TB.TrainSettings(epochs=3, batch_size=8, lr=1e-2), device="cpu",
                  quiet=True)
    assert seen == [1, 2, 3]
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2, 3]
    assert hist["epochs"][-1]["train_loss"] < hist["epochs"][0]["train_loss"]
    assert all(e["val_loss"] is not None and e["records_per_s"] > 0 for e in hist["epochs"])
    state = load_checkpoint(tmp_path / "run.state", plugin="training-state")
    assert state.config["epoch"] == 3 and state.config["step"] == 9
    assert any(k.endswith("exp_avg_sq") for k in state.tensors)


def test_fit_without_validation_logs_lines(tmp_path):
    lines = []
    TB.fit(_model(), _problem(), None, _loss, out=tmp_path / "r", save_fn=_save,
           settings=TB.TrainSettings(epochs=1, batch_size=8), device="cpu", log=lines.append)
    assert len(lines) == 1 and "validation loss -" in lines[0]


def test_resume_equals_uninterrupted(tmp_path):
    settings = TB.TrainSettings(epochs=4, batch_size=5, lr=5e-3, seed=3)
    data = _problem(1)
    straight = _model()
    TB.fit(straight, data, data[:5], _loss, out=tmp_path / "a", save_fn=_save,
           settings=settings, device="cpu", quiet=True)

    class Stop(Exception):
        pass

    def save_then_stop(m, out, epoch, history):
        if epoch == 3:
            raise Stop  # "killed" during epoch 3's checkpoint: the state says epoch 2
        _save(m, out, epoch, history)

    with pytest.raises(Stop):
        TB.fit(_model(), data, data[:5], _loss, out=tmp_path / "b", save_fn=save_then_stop,
               settings=settings, device="cpu", quiet=True)
    resumed = _model()
    lines = []
    hist = TB.fit(resumed, data, data[:5], _loss, out=tmp_path / "b", save_fn=_save,
                  settings=settings, device="cpu", resume=True, log=lines.append)
    assert "resuming" in lines[0] and "after epoch 2" in lines[0]
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2, 3, 4]
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


def _anti_loss(m, b):
    return ((m(b["x"]) - b.get("y", b["x"])) ** 2).mean()


def test_keep_best_ends_with_the_best_validation_epoch(tmp_path):
    # Training learns y = x; validation asks for y = -x, so validation gets worse as training
    # goes on and the best epoch is an early one, not the last.
    data = _problem(2)
    val = [{"x": d["x"], "y": -d["x"]} for d in _problem(3)[:8]]
    snapshots = {}

    def save(m, out, epoch, history):
        snapshots.setdefault(epoch, []).append({k: v.clone() for k, v in
                                                m.state_dict().items()})
        _save(m, out, epoch, history)

    settings = TB.TrainSettings(epochs=5, batch_size=6, lr=2e-2, keep_best=True)
    model = _model()
    lines = []
    hist = TB.fit(model, data, val, _anti_loss, out=tmp_path / "k", save_fn=save,
                  settings=settings, device="cpu", log=lines.append)
    vals = [e["val_loss"] for e in hist["epochs"]]
    best = int(np.argmin(vals)) + 1
    assert hist["best_epoch"] == best and best < 5 and vals[-1] > vals[best - 1]
    assert f"kept the weights of epoch {best}" in lines[-1]
    # One more save after the last epoch, with the best epoch's weights (model and file).
    assert len(snapshots[5]) == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, snapshots[best][0][k]), k
        assert not torch.equal(v, snapshots[5][0][k]), k
    saved = load_checkpoint(tmp_path / "k", plugin="demo")
    for k, v in model.state_dict().items():
        assert np.array_equal(saved.tensors["model." + k], v.numpy()), k
    # Off by default: same path as before, settings recorded without the new key.
    assert "keep_best" not in TB.TrainSettings().to_dict()
    plain = _model()
    h2 = TB.fit(plain, data, val, _anti_loss, out=tmp_path / "p", save_fn=_save,
                settings=TB.TrainSettings(epochs=5, batch_size=6, lr=2e-2), device="cpu",
                quiet=True)
    assert "best_epoch" not in h2
    for k, v in plain.state_dict().items():
        assert torch.equal(v, snapshots[5][0][k]), k


def test_keep_best_survives_a_resume(tmp_path):
    data = _problem(2)
    val = [{"x": d["x"], "y": -d["x"]} for d in _problem(3)[:8]]
    settings = TB.TrainSettings(epochs=5, batch_size=6, lr=2e-2, keep_best=True)
    straight = _model()
    h1 = TB.fit(straight, data, val, _anti_loss, out=tmp_path / "a", save_fn=_save,
                settings=settings, device="cpu", quiet=True)

    class Stop(Exception):
        pass

    def save_then_stop(m, out, epoch, history):
        if epoch == 4:
            raise Stop
        _save(m, out, epoch, history)

    with pytest.raises(Stop):
        TB.fit(_model(), data, val, _anti_loss, out=tmp_path / "b", save_fn=save_then_stop,
               settings=settings, device="cpu", quiet=True)
    resumed = _model()
    h2 = TB.fit(resumed, data, val, _anti_loss, out=tmp_path / "b", save_fn=_save,
                settings=settings, device="cpu", quiet=True, resume=True)
    assert h1["best_epoch"] == h2["best_epoch"] < 4
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_resume_without_state_starts_afresh(tmp_path):
    lines = []
    TB.fit(_model(), _problem(), None, _loss, out=tmp_path / "c", save_fn=_save,
           settings=TB.TrainSettings(epochs=1, batch_size=8), device="cpu", resume=True,
           log=lines.append)
    assert "starting afresh" in lines[0]


def test_nan_loss_is_reported(tmp_path):
    def bad(m, b):
        return (m(b["x"]) * float("nan")).mean()
    with pytest.raises(FloatingPointError, match="loss is nan"):
        TB.fit(_model(), _problem(), None, bad, out=tmp_path / "n", save_fn=_save,
               settings=TB.TrainSettings(epochs=1, batch_size=8), device="cpu", quiet=True)


def test_train_settings_validation():
    with pytest.raises(ValueError, match="epochs"):
        TB.TrainSettings(epochs=0)
    with pytest.raises(ValueError, match="schedule"):
        TB.TrainSettings(schedule="linear")


DDP_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np, torch
    from obspy_gen.io.checkpoints import save_checkpoint
    from obspy_gen.plugins.torch_base import TrainSettings, fit, state_dict_numpy
    out = sys.argv[1]
    g = torch.Generator().manual_seed(0)
    data = [{"x": torch.randn(6, generator=g)} for _ in range(32)]
    torch.manual_seed(int(os.environ["RANK"]))  # different inits: DDP must broadcast rank 0's
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Linear(8, 6))
    loss = lambda m, b: ((m(b["x"]) - b["x"]) ** 2).mean()
    def save(m, path, epoch, history):
        save_checkpoint(path, state_dict_numpy(m), {"history": history}, plugin="demo")
    h = fit(model, data, data[:8], loss, out=out, save_fn=save, device="cpu", quiet=True,
            settings=TrainSettings(epochs=2, batch_size=4, lr=1e-2))
    rank = os.environ["RANK"]
    np.save(out + ".rank" + rank + ".npy", model[0].weight.detach().numpy())
    json.dump(h, open(out + ".rank" + rank + ".json", "w"))
""")


def _torchrun(script, args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_ddp_two_cpu_processes_gloo(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    out = tmp_path / "ddp"
    res = _torchrun(script, [out])
    assert res.returncode == 0, res.stderr[-2000:]
    w0, w1 = (np.load(f"{out}.rank{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(w0, w1)  # replicas stay identical
    h0 = json.load(open(f"{out}.rank0.json"))
    assert h0["world_size"] == 2 and len(h0["epochs"]) == 2
    h1 = json.load(open(f"{out}.rank1.json"))
    for a, b in zip(h0["epochs"], h1["epochs"]):  # losses all-reduced: the same on both
        assert (a["train_loss"], a["val_loss"]) == (b["train_loss"], b["val_loss"])
    ck = load_checkpoint(out, plugin="demo")  # written by rank 0 only, every epoch
    np.testing.assert_array_equal(ck.tensors["model.0.weight"], w0)

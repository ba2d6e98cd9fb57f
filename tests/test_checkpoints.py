"""obspy_gen.io.checkpoints: safetensors + JSON, never pickles, one-line errors."""
import json
import pickle

import numpy as np
import pytest

from obspy_gen.io import checkpoints as C
from obspy_gen.io.checkpoints import (CheckpointError, check_shapes, checkpoint_paths,
                                      load_checkpoint, read_config, save_checkpoint)

pytest.importorskip("safetensors")


@pytest.fixture
def saved(tmp_path):
    tensors = {"model.w": np.arange(6, dtype=np.float32).reshape(2, 3),
               "pool.0.codes": np.ones((4, 2, 5), np.float16)}
    config = {"architecture": {"d": 2}, "stations": [{"station": "4628"}],
              "training": {"synthetic": True}}
    save_checkpoint(tmp_path / "m", tensors, config, plugin="demo", plugin_version="1.2")
    return tmp_path / "m", tensors


def _one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_round_trip(saved):
    base, tensors = saved
    ck = load_checkpoint(base, plugin="demo")
    assert ck.name == "m" and ck.plugin == "demo"
    for k, v in tensors.items():
        assert ck.tensors[k].dtype == v.dtype
        np.testing.assert_array_equal(ck.tensors[k], v)
    cfg = ck.config
    assert cfg["format"] == C.FORMAT and cfg["format_version"] == C.FORMAT_VERSION
    assert cfg["plugin_version"] == "1.2" and cfg["training"]["synthetic"] is True
    assert cfg["tensors"]["pool.0.codes"] == {"dtype": "float16", "shape": [4, 2, 5]}
    assert ck.with_prefix("model.").keys() == {"w"}


@pytest.mark.parametrize("suffix", ["", ".json", ".safetensors"])
def test_any_suffix_names_the_pair(saved, suffix):
    base, _ = saved
    assert load_checkpoint(str(base) + suffix).config["plugin"] == "demo"


def test_torch_tensors_and_bfloat16(tmp_path):
    torch = pytest.importorskip("torch")
    save_checkpoint(tmp_path / "t", {"a": torch.ones(2, dtype=torch.bfloat16),
                                     "b": torch.zeros(3, requires_grad=True)}, {},
                    plugin="demo")
    ck = load_checkpoint(tmp_path / "t")
    assert ck.tensors["a"].dtype == np.float32 and ck.tensors["b"].shape == (3,)


def test_files_are_readable_by_others(saved):
    base, _ = saved
    for p in checkpoint_paths(base):
        assert p.stat().st_mode & 0o044  # not mkstemp's private 0600


def test_no_pickle_involved(saved, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("pickle used")
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    base, _ = saved
    assert load_checkpoint(base).tensors["model.w"].shape == (2, 3)


def test_missing(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint") as e:
        load_checkpoint(tmp_path / "nope")
    _one_line(e)


def test_missing_json(saved):
    base, _ = saved
    checkpoint_paths(base)[1].unlink()
    with pytest.raises(CheckpointError, match="missing") as e:
        load_checkpoint(base)
    _one_line(e)


def test_not_json(saved):
    base, _ = saved
    checkpoint_paths(base)[1].write_text("not json at all")
    with pytest.raises(CheckpointError, match="not an obspy-gen checkpoint") as e:
        load_checkpoint(base)
    _one_line(e)


def test_other_json(saved):
    base, _ = saved
    checkpoint_paths(base)[1].write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="not an obspy-gen checkpoint") as e:
        read_config(base)
    _one_line(e)


def test_newer_format(saved):
    base, _ = saved
    meta = checkpoint_paths(base)[1]
    cfg = json.loads(meta.read_text())
    cfg["format_version"] = C.FORMAT_VERSION + 1
    meta.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="newer") as e:
        load_checkpoint(base)
    _one_line(e)


def test_other_plugin(saved):
    base, _ = saved
    with pytest.raises(CheckpointError, match="for plugin 'demo', not 'timesnet-gen'") as e:
        load_checkpoint(base, plugin="timesnet-gen")
    _one_line(e)


def test_garbage_weights(saved):
    base, _ = saved
    checkpoint_paths(base)[0].write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a safetensors file") as e:
        load_checkpoint(base)
    _one_line(e)


def test_pickled_weights_are_refused(saved):
    base, _ = saved
    checkpoint_paths(base)[0].write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="pickle") as e:
        load_checkpoint(base)
    _one_line(e)


def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pth"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="pickle") as e:
        load_checkpoint(path)
    _one_line(e)


def test_weights_replaced(saved, tmp_path):
    base, _ = saved
    save_checkpoint(tmp_path / "other", {"model.w": np.zeros((2, 3), np.float32),
                                         "pool.0.codes": np.ones((4, 2, 5), np.float16)},
                    {}, plugin="demo")
    checkpoint_paths(base)[0].write_bytes(checkpoint_paths(tmp_path / "other")[0].read_bytes())
    with pytest.raises(CheckpointError, match="checksum") as e:
        load_checkpoint(base)
    _one_line(e)
    assert load_checkpoint(base, verify=False).tensors["model.w"].sum() == 0


def test_weights_of_another_plugin(saved, tmp_path):
    base, _ = saved
    save_checkpoint(tmp_path / "other", {"x": np.zeros(1)}, {}, plugin="other")
    checkpoint_paths(base)[0].write_bytes(checkpoint_paths(tmp_path / "other")[0].read_bytes())
    with pytest.raises(CheckpointError, match="weights are for plugin 'other'") as e:
        load_checkpoint(base)
    _one_line(e)


def test_plain_safetensors_without_metadata(saved):
    from safetensors.numpy import save_file
    base, _ = saved
    save_file({"w": np.zeros(2)}, str(checkpoint_paths(base)[0]))
    with pytest.raises(CheckpointError, match="without obspy-gen metadata") as e:
        load_checkpoint(base)
    _one_line(e)


def test_shape_checks(saved):
    base, _ = saved
    ck = load_checkpoint(base)
    check_shapes(ck, {"w": (2, 3)}, "model.")
    with pytest.raises(CheckpointError, match="another architecture") as e:
        check_shapes(ck, {"w": (3, 3)}, "model.")
    _one_line(e)
    with pytest.raises(CheckpointError, match="missing") as e:
        check_shapes(ck, {"w": (2, 3), "v": (1,)}, "model.")
    _one_line(e)


def test_json_lists_what_is_stored(saved):
    base, _ = saved
    meta = checkpoint_paths(base)[1]
    cfg = json.loads(meta.read_text())
    cfg["tensors"]["model.w"]["shape"] = [9, 9]
    meta.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="says") as e:
        load_checkpoint(base)
    _one_line(e)

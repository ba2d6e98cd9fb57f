"""scripts/train_common.py, the part the train_default_*.py scripts share."""
import argparse
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scripts(monkeypatch):
    """Import the scripts (they put the repository and scripts/ on sys.path: undone after)."""
    monkeypatch.setattr(sys, "path", [str(ROOT / "scripts")] + sys.path)
    import train_common
    import train_default_cnn_lstm
    import train_default_timesnet_gen
    return argparse.Namespace(common=train_common, cnn_lstm=train_default_cnn_lstm,
                              timesnet_gen=train_default_timesnet_gen)


def _training(path):
    return json.loads(Path(path).read_text())["training"]


def test_shipped_checkpoints_name_their_data_as_the_scripts_do(scripts):
    common, tg = scripts.common, scripts.timesnet_gen
    corpus = common.simulation("corpus", **tg.CORPUS)
    assert corpus == ("obspy_gen.plugins.stochastic.simulate('corpus', n_stations=150, "
                      "records_per_station=12, seed=1)")
    paper5 = common.simulation("paper5", seed=tg.PAPER5_SEED)
    plugins = ROOT / "obspy_gen" / "plugins"
    for base in (plugins / "timesnet_gen" / "checkpoints" / "timesnet-gen-synthetic",
                 plugins / "cvae" / "checkpoints" / "cvae-synthetic"):
        assert _training(f"{base}-pretrain.json")["source"] == corpus
        tr = _training(f"{base}.json")
        assert tr["source"] == paper5 and tr["pretraining"]["source"] == corpus
    tr = _training(plugins / "cnn_lstm" / "checkpoints" / "cnn-lstm-synthetic.json")
    assert tr["source"] == scripts.cnn_lstm.corpus_name()
    assert tr["extra_training"]["source"] == scripts.cnn_lstm.corpus_name(
        **scripts.cnn_lstm.EXTRA)


def test_command_line_work_folder_ship_and_finish(scripts, tmp_path, capsys):
    common = scripts.common
    p = common.parser("Train something.\n\nMore.", "obspy_gen/plugins/cvae/checkpoints")
    args = p.parse_args([])
    assert args.out == str(ROOT / "obspy_gen/plugins/cvae/checkpoints")
    assert (args.work, args.device, args.quiet) == (None, "cpu", False)
    work = common.work_folder(args, "s4-test-")
    assert work.is_dir() and work.name.startswith("s4-test-")
    runs = work / "runs"
    runs.mkdir()
    for name, size in (("a", 3), ("b", 5)):
        (runs / f"{name}.safetensors").write_bytes(b"x" * size)
        (runs / f"{name}.json").write_text("{}")
    sizes = common.ship(runs, tmp_path / "out", ["b", "a"])
    assert sizes == {"a.json": 2, "a.safetensors": 3, "b.json": 2, "b.safetensors": 5}
    assert (tmp_path / "out" / "b.safetensors").read_bytes() == b"xxxxx"
    summary = common.finish(args, work, {"train_s": 1.0}, sizes)
    assert summary["total_mb"] == 0.0 and summary["files"] == sizes and summary["threads"] >= 1
    assert json.loads(capsys.readouterr().out) == summary
    assert not work.exists()  # a temporary work folder goes
    kept = common.parser(__doc__, "out").parse_args(["--work", str(tmp_path / "w"), "--quiet"])
    work = common.work_folder(kept, "unused-")
    common.finish(kept, work, {}, {})
    assert work.is_dir() and capsys.readouterr().out == ""  # --work stays; --quiet


def test_simulate_once_keeps_a_finished_set(scripts, tmp_path, monkeypatch):
    import obspy_gen.plugins.stochastic as stochastic
    calls = []
    monkeypatch.setattr(stochastic, "simulate", lambda *a, **k: calls.append((a, k)))
    done = tmp_path / "done"
    done.mkdir()
    (done / "records.csv").write_text("file\n")
    assert scripts.common.simulate_once(done, "corpus", seed=1) == done and calls == []
    scripts.common.simulate_once(tmp_path / "new", "paper5", seed=0)
    assert calls == [(("paper5",), {"out": str(tmp_path / "new"), "seed": 0})]

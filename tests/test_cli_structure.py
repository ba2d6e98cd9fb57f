"""CLI built from the library's structures: hvsr flags from HVSRSettings, train from the registry,
plugins load-check."""
import dataclasses
import json

import pytest
from click.testing import CliRunner

from obspy_gen.cli import main
from obspy_gen.core.settings import HVSRSettings
from obspy_gen.data import bundled_records


def test_every_hvsr_setting_has_a_flag():
    out = CliRunner().invoke(main, ["hvsr", "--help"], terminal_width=200).output
    for f in dataclasses.fields(HVSRSettings):
        assert f"--{f.name.replace('_', '-')}" in out, f.name
    assert "log_gaussian" in out


def test_new_hvsr_flags_reach_the_settings(tmp_path):
    res = CliRunner().invoke(main, [
        "hvsr", *bundled_records()["AOM001"], "--out", str(tmp_path), "--highpass", "0.1",
        "--f0-rule", "argmax", "--nfft", "16384", "--spacing", "linear", "--smoothing",
        "log_gaussian", "--f0-range", "1", "15", "--fmin", "0.5", "--nfreq", "64", "-q"])
    assert res.exit_code == 0, res.output
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())["settings"]
    assert (saved["highpass"], saved["f0_rule"], saved["nfft"], saved["spacing"],
            saved["smoothing"], saved["f0_range"]) == \
        (0.1, "argmax", 16384, "linear", "log_gaussian", [1.0, 15.0])
    res = CliRunner().invoke(main, ["hvsr", *bundled_records()["AOM001"], "--out",
                                    str(tmp_path), "--smoothing", "none", "-q"])
    assert res.exit_code == 0
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())["settings"]
    assert saved["smoothing"] is None
    res = CliRunner().invoke(main, ["hvsr", *bundled_records()["AOM001"], "--nfft", "4"])
    assert res.exit_code == 2 and "nfft=4" in res.output


def test_train_help_lists_the_registry_models():
    pytest.importorskip("torch")
    out = CliRunner().invoke(main, ["train", "--help"]).output
    assert "timesnet-gen" in out
    sub = CliRunner().invoke(main, ["train", "timesnet-gen", "--help"],
                             terminal_width=200).output
    for flag in ("--phase", "--init", "--latent-noise", "--synthetic / --no-synthetic",
                 "--data", "--out", "--resume", "--device"):
        assert flag in sub
    res = CliRunner().invoke(main, ["train", "no-such-model", "--data", "x", "--out", "y"])
    assert res.exit_code == 2 and "no-such-model" in res.output


def test_plugins_load_check_reports_failing_requirements(tmp_path, monkeypatch):
    # A requirement that is installed but breaks on import: "fails: ...", not "ok".
    (tmp_path / "pyrvt.py").write_text("raise ImportError('pyrvt is broken here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys
    monkeypatch.delitem(sys.modules, "pyrvt", raising=False)
    res = CliRunner().invoke(main, ["plugins", "--group", "generators"])
    assert res.exit_code == 0
    line = next(l for l in res.output.splitlines() if " stochastic " in f" {l} ")
    assert "fails: pyrvt: ImportError: pyrvt is broken here" in line


def test_stream_vs30_default_names_a_registered_plugin_or_says_none_is():
    from obspy import read

    import obspy_gen
    from obspy_gen import registry
    from obspy_gen.core.stream import DEFAULT_VS30
    if DEFAULT_VS30 in registry.available("vs30"):
        pytest.skip("a Vs30 plugin is installed")
    with pytest.raises(LookupError, match=f"default Vs30 model '{DEFAULT_VS30}' is not "
                                          f"installed"):
        read().vs30()
    assert obspy_gen  # attaches Stream.vs30


def test_evaluate_help_shows_the_paper_preset_defaults():
    # evaluate starts from 'timesnet-gen-paper' (lowest clear peak), not the hvsr defaults.
    from click.testing import CliRunner
    from obspy_gen.cli import main
    out = " ".join(CliRunner().invoke(main, ["evaluate", "--help"]).output.split())
    assert "How f0 is picked on the curve. [default: lowest_clear_peak]" in out
    assert "[default: log] [default: linear]" not in out      # its own --spacing untouched
    out = " ".join(CliRunner().invoke(main, ["hvsr", "--help"]).output.split())
    assert "How f0 is picked on the curve. [default: highest_peak]" in out

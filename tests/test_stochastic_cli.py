"""``obspy-gen simulate`` command line."""
import csv
import json
import os

import pytest
from click.testing import CliRunner

from obspy_gen.cli.simulate import simulate


def _run(args):
    # click >= 8.2 keeps stderr apart; older versions need mix_stderr=False for that.
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(simulate, [str(a) for a in args])


def test_help_has_example():
    res = _run(["--help"])
    assert res.exit_code == 0
    assert "obspy-gen simulate --catalog paper5 --out" in res.output


def test_paper5_writes_files_and_summary(tmp_path):
    res = _run(["--catalog", "paper5", "--out", tmp_path, "--seed", 1, "-n", 1])
    assert res.exit_code == 0, res.output
    assert "SY.4628.00" in res.output and "wrote 5 record(s)" in res.output
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".mseed"))
    assert files[0] == "SY.0205.00_stochastic_0000.mseed" and len(files) == 5
    with open(tmp_path / "stations.csv") as fh:
        assert [r["nehrp_class"] for r in csv.DictReader(fh)] == ["C", "D", "D", "C", "C"]


def test_custom_profile_file(tmp_path):
    prof = tmp_path / "site.json"
    prof.write_text(json.dumps({"layers": [[20, 200, 1800, 0.05]],
                                "halfspace": [800, 2200, 0.01]}))
    out = tmp_path / "out"
    res = _run(["--profile", prof, "--station-code", "MYS", "-n", 2, "--out", out, "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(out))[:2] == ["SY.MYS.00_stochastic_0000.mseed",
                                           "SY.MYS.00_stochastic_0001.mseed"]
    with open(out / "profiles.json") as fh:
        assert json.load(fh)["SY.MYS.00"]["halfspace"]["vs"] == 800


@pytest.mark.parametrize("args, message", [
    (["--magnitude", "-1"], "obspy-gen: simulate: magnitude must be in (0, 9.5], got -1.0"),
    (["--sampling-rate", "5"], "obspy-gen: simulate: sampling_rate must be between"),
    (["--catalog", "paper5", "--profile", "x.csv"], "obspy-gen: simulate: give --catalog or"),
])
def test_usage_errors_exit_2_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = _run(args + ["--out", out])
    assert res.exit_code == 2
    assert message in (res.stderr if hasattr(res, "stderr") else res.output)
    assert not out.exists()


def test_bad_profile_file(tmp_path):
    prof = tmp_path / "bad.csv"
    prof.write_text("thickness,vs,density,damping\n20,200,1800,5\n,800,2200,0.01\n")
    out = tmp_path / "out"
    res = _run(["--profile", prof, "--out", out])
    assert res.exit_code == 2
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert err.strip() == (f"obspy-gen: {prof}: soil profile layer 1: damping must be a "
                           f"fraction in [0, 0.3], got 5.0")
    assert not out.exists()


@pytest.mark.parametrize("name, content, reason", [
    ("binary.csv", bytes(range(256)) * 4, "not a UTF-8 text profile (byte 128: invalid start "
                                          "byte); give a CSV or JSON file"),
    ("latin1.json", '{"layers": [], "site": "Işıklı"}'.encode("cp1254"),
     "not a UTF-8 text profile"),
    ("missing.csv", None, "cannot read: No such file or directory"),
])
def test_unreadable_profile_file_names_the_file(tmp_path, name, content, reason):
    prof = tmp_path / name
    if content is not None:
        prof.write_bytes(content)
    out = tmp_path / "out"
    res = _run(["--profile", prof, "--out", out])
    assert res.exit_code == 2
    err = (res.stderr if hasattr(res, "stderr") else res.output).strip()
    assert err.startswith(f"obspy-gen: {prof}: {reason}"), err
    assert "codec" not in err and len(err.splitlines()) == 1
    assert not out.exists()

"""The obspy-gen CLI: hvsr on real and simulated files, bad input, exit codes, demo, plugins."""
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from obspy_gen.cli import main
from obspy_gen.data import bundled_records

from .conftest import resonance_record

KEYS = {"station", "frequency", "mean", "std_ln", "f0", "f0_windows_median",
        "f0_windows_std_ln", "amplitude_f0", "n_windows", "settings"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def site_files(tmp_path):
    """Two stations as miniSEED: SITEA resonating at 2 Hz (2 events), SITEB at 8 Hz."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i, (station, f0) in enumerate([("SITEA", 2.0), ("SITEA", 2.0), ("SITEB", 8.0)]):
        st = resonance_record(f0, duration=180, seed=i, station=station)
        for tr in st:
            tr.stats.starttime += 3600 * i
        st.write(str(folder / f"{station}_{i}.mseed"), format="MSEED")
    return folder


def test_hvsr_on_bundled_records(tmp_path):
    files = [f for fs in bundled_records().values() for f in fs]
    res = run("hvsr", *files, "--preset", "timesnet-gen-paper", "--plot", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "BO.AOM001..json").read_text())
    assert KEYS <= set(out) and out["n_windows"] == 1
    # The paper preset's lowest clear peak (see test_hvsr.test_bundled_real_records).
    assert out["f0"] == pytest.approx(4.09, rel=0.02) and out["f0_clear"] is True
    assert len(out["sesame"]["clarity"]) == 6
    assert (tmp_path / "BO.NGNH31..json").exists() and (tmp_path / "BO.NGNH31..png").exists()
    assert "BO.AOM001." in res.output and "f0_Hz" in res.output
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_hvsr_groups_by_station_folders_globs_and_jobs(site_files, tmp_path):
    res = run("hvsr", site_files, "--window-length", "30", "--f0-range", "1", "20", "--jobs", "2",
              "--out", tmp_path)
    assert res.exit_code == 0, res.output
    a = json.loads((tmp_path / "XX.SITEA..json").read_text())
    b = json.loads((tmp_path / "XX.SITEB..json").read_text())
    assert a["n_records"] == 2 and a["n_windows"] == 10 and b["n_windows"] == 5
    # 5-10 windows of 30 s of noise: a few per cent of scatter around the layers' peaks.
    assert a["f0"] == pytest.approx(2.0, rel=0.1) and b["f0"] == pytest.approx(8.0, rel=0.1)
    assert a["settings"]["window_length"] == 30 and a["settings"]["f0_range"] == [1, 20]
    per = tmp_path / "per"
    res = run("hvsr", str(site_files / "SITEA_*.mseed"), "--per-file", "--out", per)
    assert res.exit_code == 0 and len(list(per.glob("*.json"))) == 2


def test_bad_files_are_skipped_and_reported(site_files, tmp_path):
    (site_files / "garbage.mseed").write_bytes(b"\x00not a seismogram" * 10)
    st = resonance_record(3.0, duration=60, station="NOZ")
    st.select(channel="HNN").write(str(site_files / "noz_n.mseed"), format="MSEED")
    result = subprocess.run([sys.executable, "-m", "obspy_gen.cli", "hvsr", str(site_files),
                             "--out", str(tmp_path / "o"), "-q"],
                            capture_output=True, text=True)
    assert result.returncode == 0
    errors = result.stderr.strip().splitlines()
    assert any(l.startswith("obspy-gen: ") and "garbage.mseed" in l and "cannot read" in l
               for l in errors)
    assert any("noz_n.mseed" in l and "missing component" in l for l in errors)
    assert (tmp_path / "o" / "XX.SITEA..json").exists()
    assert not (tmp_path / "o" / "XX.NOZ..json").exists()


def test_exit_codes(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing here")
    res = subprocess.run([sys.executable, "-m", "obspy_gen.cli", "hvsr", str(bad), "--out",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert res.returncode == 1 and "bad.txt" in res.stderr
    assert run("hvsr", tmp_path / "nothing*.mseed").exit_code == 2
    assert run("hvsr", bad, "--combine", "median").exit_code == 2
    assert run("hvsr", bad, "--fmin", "5", "--fmax", "1").exit_code == 2


def test_too_short_for_a_window(site_files, tmp_path):
    res = subprocess.run([sys.executable, "-m", "obspy_gen.cli", "hvsr", str(site_files),
                          "--window-length", "500", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert "shorter (180.0 s) than one window (500.0 s)" in res.stderr


def test_plugins_command():
    res = run("plugins")
    assert res.exit_code == 0
    line = next(l for l in res.output.splitlines() if l.startswith("site_metrics") and " hvsr " in l)
    assert "obspy-gen" in line and line.endswith("ok")


def test_demo(tmp_path):
    res = run("demo", "--out", tmp_path, "-n", "6", "-q")
    assert res.exit_code == 0, res.output
    assert "BO.AOM001." in res.output and "BO.NGNH31." in res.output
    assert "TK.0921." in res.output and "TK.2404." in res.output
    pngs = sorted(p.name for p in (tmp_path / "hvsr").glob("*.png"))
    assert len(pngs) == 5 and "summary.png" in pngs   # 4 stations + the archive figure
    assert len((tmp_path / "hvsr" / "stations.csv").read_text().splitlines()) == 5
    # The generation part: five paper stations generated and evaluated.
    assert len(list((tmp_path / "generated").glob("*_timesnet-gen.mseed"))) == 5
    # Provenance beside the miniSEED files: 6 records of each station, all synthetic.
    import csv
    with open(tmp_path / "generated" / "records.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30 and {r["synthetic"] for r in rows} == {"True"}
    assert {r["model"] for r in rows} == {"timesnet-gen"}
    assert sorted({r["file"] for r in rows})[0] == "0205_timesnet-gen.mseed"
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert sorted(report["stations"]) == ["0205", "1716", "2020", "3130", "4628"]
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    assert "alignment" in res.output and "simulated-vs-simulated" in res.output
    # Simulated records are called simulated, never "real"; the verdict is on screen.
    assert "simulated_median_f0_Hz" in res.output and "real_median" not in res.output
    assert "verdict (lowest_clear_peak f0 rule" in res.output
    assert report["groups"] == ["simulated (held-out)", "timesnet-gen",
                                "timesnet-gen reconstructed"]
    assert report["training"]["given"] is True


def test_demo_hvsr_only(tmp_path):
    res = run("demo", "--out", tmp_path, "--hvsr-only")
    assert res.exit_code == 0 and not (tmp_path / "report").exists()


@pytest.mark.parametrize("exc, needs", [
    (ImportError("No module named 'pandas'", name="pandas"), "a dependency is missing"),
    (ImportError("No module named 'torch'", name="torch"), "needs obspy-gen[torch]"),
    (RuntimeError("checkpoint unreadable"), "RuntimeError: checkpoint unreadable"),
])
def test_demo_fails_loudly_when_a_part_cannot_run(tmp_path, monkeypatch, exc, needs):
    import obspy_gen.cli.demo as demo

    def broken(*args, **kwargs):
        raise exc
    monkeypatch.setattr(demo, "_generation_demo", broken)
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "-q"])
    assert res.exit_code == 1
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert "obspy-gen: demo: generation part failed:" in err and needs in err
    assert str(exc) in err
    # The HVSR part still ran: 4 stations + the archive summary figure.
    assert len(list((tmp_path / "hvsr").glob("*.png"))) == 5


def test_demo_fails_when_a_bundled_record_fails(tmp_path, monkeypatch):
    import obspy_gen.cli.demo as demo
    real = demo.run_hvsr

    def one_fails(files, *args, **kwargs):   # AOM001 loses a component file
        return real(files[1:], *args, **kwargs)
    monkeypatch.setattr(demo, "run_hvsr", one_fails)
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--hvsr-only"])
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert res.exit_code == 1 and "HVSR part: 1 failure(s) on the bundled records" in err
    assert "BO.AOM001." in err and "missing component" in err


def test_help_has_examples():
    for cmd in ("hvsr", "plugins", "demo", "evaluate", "generate", "simulate"):
        res = run(cmd, "--help")
        assert res.exit_code == 0 and "Example" in res.output, cmd


def test_per_file_keeps_same_named_files_apart(tmp_path):
    for folder, seed in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        resonance_record(3.0, duration=60, seed=seed).write(
            str(tmp_path / folder / "rec.mseed"), format="MSEED")
    res = run("hvsr", tmp_path / "a", tmp_path / "b", "--per-file", "--out", tmp_path / "o")
    assert res.exit_code == 0
    assert len(list((tmp_path / "o").glob("*.json"))) == 2


def test_folder_tables_are_not_taken_for_records(tmp_path):
    resonance_record(3.0, duration=60).write(str(tmp_path / "r.mseed"), format="MSEED")
    (tmp_path / "records.csv").write_text("file\nr.mseed\n")
    result = subprocess.run([sys.executable, "-m", "obspy_gen.cli", "hvsr", str(tmp_path),
                             "--out", str(tmp_path / "o"), "-q"], capture_output=True, text=True)
    assert result.returncode == 0 and "records.csv" not in result.stderr

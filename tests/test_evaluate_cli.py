"""``obspy-gen evaluate``: files in, report folder out; the HTML page in a headless browser."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from obspy import UTCDateTime

from obspy_gen.cli.evaluate import evaluate_command

from .conftest import resonance_record

STATIONS = {"STA1": 2.0, "STA2": 5.0, "STA3": 12.0}
N = 6


def write_group(folder, seed, stations=STATIONS, n=N, network="XX"):
    """n miniSEED records per station, f0 scattered lognormally (10 %) around the station's."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, f0 in stations.items():
        for i in range(n):
            st = resonance_record(f0 * np.exp(0.1 * rng.standard_normal()), duration=60,
                                  seed=int(rng.integers(2 ** 31)), station=name,
                                  network=network, start=UTCDateTime(2024, 1, 1) + 3600 * i)
            st.write(str(folder / f"{network}.{name}._{i:04d}.mseed"), format="MSEED")
    return folder


def run(*args):
    return CliRunner().invoke(evaluate_command, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One full CLI run (IMs included when available) shared by the checks below."""
    root = tmp_path_factory.mktemp("evaluate")
    real = write_group(root / "real", seed=1)
    gen = write_group(root / "gen", seed=2, stations={"STA1": 2.0, "STA2": 5.0})
    (gen / "notes.txt").write_text("not a waveform file\n")
    out = root / "report"
    res = run("--group", f"real={real}", "--group", f"generated={gen}", "--out", out,
              "--seed", "0", "--n-bootstrap", "50", "--min-records", "3", "--units", "m/s**2",
              "--quiet")
    return res, out


def test_cli_writes_report_and_summary(evaluated):
    res, out = evaluated
    assert res.exit_code == 0, res.output
    data = json.loads((out / "report.json").read_text())
    assert data["groups"] == ["real", "generated"] and data["reference"] == "real"
    assert data["station_order"] == ["STA1", "STA2", "STA3"]
    assert len(data["matrix"]["values"]) == 6
    assert data["bins"]["edges"] == pytest.approx(list(np.linspace(1, 20, 21)))
    assert data["settings"]["f0_range"] == [1.0, 20.0] and data["settings"]["window_length"] is None
    assert data["resampling"]["n_bootstrap"] == 50
    matched = data["alignment"]["matched"]["lowest_clear_peak"]["vs_reference"]["generated"]
    assert matched["without_diagonal"]["ceiling"]["n"] == 50
    assert set(data["alignment"]["matched"]) == {"lowest_clear_peak", "highest_peak"}
    assert data["verdict"]["groups"]["generated"]["stations"]["STA3"]["not_judged"] == [
        "missing"]
    assert data["stations"]["STA1"]["scores"]["generated"]["sizes"] == [3, 3]
    sta1 = data["stations"]["STA1"]
    assert sta1["groups"]["real"]["status"] == "ok" and len(sta1["groups"]["real"]["f0"]) == N
    assert sta1["similarity_to_reference"]["generated"] is not None
    assert data["stations"]["STA3"]["groups"]["generated"]["status"] == "missing"
    for name in data["figures"]:
        assert (out / name).stat().st_size > 1000
    assert {"similarity_matrix.png", "f0_STA1.png", "hvsr_STA3.png"} <= set(data["figures"])
    if data["intensity_measures"]["available"]:
        assert "im_STA1.png" in data["figures"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # atomic writes finished
    # stdout: the table and the scores with their ceilings; stderr: one line per problem.
    assert "STA1" in res.stdout and "alignment (lowest_clear_peak), all groups" in res.stdout
    assert "matched, no diagonal" in res.stdout and "verdict (lowest_clear_peak)" in res.stdout
    assert "real-vs-real" in res.stdout and "report.html" in res.stdout
    err = res.stderr.splitlines()
    assert any(re.match(r"obspy-gen: .*notes\.txt: cannot read", line) for line in err)
    assert "obspy-gen: generated/STA3: station missing in this group" in err


def test_cli_usage_errors_and_nothing_to_do(tmp_path):
    res = run("--group", "real", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "LABEL=PATH" in res.output
    res = run("--group", "=x", "--out", tmp_path / "o")
    assert res.exit_code == 2
    res = run("--group", f"real={tmp_path}", "--reference", "gen", "--out", tmp_path / "o")
    assert res.exit_code == 2
    res = run("--group", f"real={tmp_path}", "--f0-range", "1", "40", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "f0_range" in res.output
    res = run("--out", tmp_path / "o")
    assert res.exit_code == 2
    # Nothing readable in the reference: a usage error, said on stderr, nothing written.
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("nothing\n")
    res = run("--group", f"real={tmp_path / 'empty'}", "--group", f"gen={tmp_path / 'nope'}",
              "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert "reference group 'real'" in res.stderr and "holds no readable record" in res.stderr
    assert not (tmp_path / "o").exists()
    res = run("--group", f"real={tmp_path / 'nope'}", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "does not exist" in res.stderr
    assert not (tmp_path / "o").exists()


def test_cli_exit_1_when_no_station_has_a_distribution(tmp_path):
    folder = write_group(tmp_path / "real", seed=3, stations={"STA1": 2.0}, n=2)
    res = run("--group", f"real={folder}", "--out", tmp_path / "o", "--no-im", "-q")
    assert res.exit_code == 1
    assert "too few records" in res.stderr
    assert (tmp_path / "o" / "report.json").exists()  # the report still says why


def test_cli_refuses_intensity_measures_in_unknown_units(tmp_path):
    # miniSEED keeps no units: without --units (or records.csv / an inventory) no PGA etc.
    folder = write_group(tmp_path / "real", seed=4, stations={"STA1": 2.0}, n=3)
    args = ["--group", f"real={folder}", "--min-records", "2", "--n-bootstrap", "5", "-q"]
    res = run(*args, "--out", tmp_path / "a")
    assert res.exit_code == 0
    assert "XX.STA1..HNN: units unknown (no stats.units; counts?)" in res.stderr
    assert not json.loads((tmp_path / "a" / "report.json").read_text())[
        "intensity_measures"].get("names")
    res = run(*args, "--units", "gal", "--out", tmp_path / "b")
    assert res.exit_code == 0 and "units unknown" not in res.stderr
    names = json.loads((tmp_path / "b" / "report.json").read_text())["intensity_measures"]
    assert "pga" in names["names"]
    res = run(*args, "--units", "furlongs", "--out", tmp_path / "c")
    assert res.exit_code == 2 and "unknown acceleration units 'furlongs'" in res.output
    assert not (tmp_path / "c").exists()


def test_cli_is_registered():
    from obspy_gen.cli import main
    if "evaluate" not in main.commands:
        pytest.skip("evaluate is not registered in the obspy-gen group yet")
    res = CliRunner().invoke(main, ["evaluate", "--help"])
    assert res.exit_code == 0 and "Example" in res.output


CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(b)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get "
                                             "install chromium); CI installs it")
def test_html_report_renders_every_figure_in_chromium(evaluated, tmp_path):
    res, out = evaluated
    page = out / "report.html"
    n_figures = len(json.loads((out / "report.json").read_text())["figures"])
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=10000"]
    # The page's own script marks each <img> once it is decoded (complete, naturalWidth > 0);
    # --dump-dom prints the DOM after the load event.
    dom = subprocess.run(flags + [f"--user-data-dir={tmp_path / 'profile1'}", "--dump-dom",
                                  page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f'data-figures-rendered="{n_figures}/{n_figures}"' in dom.stdout
    assert dom.stdout.count('data-rendered="yes"') == n_figures
    assert 'data-rendered="no"' not in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
                            "--window-size=1200,3000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    import matplotlib.image
    img = matplotlib.image.imread(str(shot))
    assert img.shape[:2] == (3000, 1200)
    assert img[..., :3].std() > 0.05  # a page with figures, not a blank one

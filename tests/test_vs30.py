"""hvsr-f0 baseline, Vs30 scores (MAPE per class) and the `obspy-gen vs30` command."""
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from obspy import read

from obspy_gen.evaluate.vs30 import mape_by_class, median_baseline, paired_difference
from obspy_gen.plugins.hvsr_f0 import HVSRF0Predictor, fit_relation, vs30_from_f0


@pytest.fixture(scope="module")
def two_stations(tmp_path_factory):
    from obspy_gen.plugins.stochastic import simulate
    out = tmp_path_factory.mktemp("two")
    simulate("corpus", out=str(out), seed=21, n_stations=2, records_per_station=2)
    return out


def test_relation_is_the_zhao_class_boundaries():
    # T = 0.2, 0.4, 0.6 s are Zhao et al. (2006)'s class boundaries at 600, 300, 200 m/s.
    assert [vs30_from_f0(1 / t) for t in (0.2, 0.4, 0.6)] == pytest.approx([600, 300, 200])
    assert vs30_from_f0(50.0) == 1500.0 and vs30_from_f0(0.3) == 100.0
    with pytest.raises(ValueError, match="positive frequency"):
        vs30_from_f0(float("nan"))
    a, b = fit_relation([1, 2, 4, 8], [150, 260, 400, 700])
    assert 0.6 < b < 0.8 and vs30_from_f0(4, (a, b)) == pytest.approx(400, rel=0.1)


def test_hvsr_f0_on_a_simulated_site_follows_its_f0():
    from obspy_gen.plugins.stochastic import SoilProfile, StochasticGenerator
    site = SoilProfile([(15, 200, 1800, 0.03)], halfspace=(1000, 2300, 0.01))
    st = StochasticGenerator().generate(station=site, n=4, seed=1)
    r = HVSRF0Predictor().predict(st)
    assert abs(r.details["f0"] / site.f0 - 1) < 0.15
    assert r.vs30 == pytest.approx(120 * r.details["f0"])
    assert r.n_records == 4 and len(r.per_record) == 4
    refit = HVSRF0Predictor().predict(st, relation=(4.0, 0.8))
    assert refit.vs30 == pytest.approx(np.exp(4.0 + 0.8 * np.log(r.details["f0"])))


def test_mape_by_class_and_intervals():
    true = [200.0, 250.0, 300.0, 500.0, 600.0]
    pred = [220.0, 200.0, 300.0, 550.0, 600.0]
    t = mape_by_class(true, pred, n_boot=500)
    assert t["D"]["n"] == 3 and t["D"]["mape"] == pytest.approx((10 + 20 + 0) / 3)
    assert t["C"]["mape"] == pytest.approx(5.0)
    assert t["all"]["lo"] <= t["all"]["mape"] <= t["all"]["hi"]
    assert "B" not in t
    assert median_baseline([100, 300, 500, 900]) == 400.0
    d = paired_difference(true, true, pred, n_boot=500)
    assert d["all"]["diff"] == pytest.approx(np.mean([10, 20, 0, 10, 0]))


def test_cli_vs30_table_files_and_errors(two_stations, tmp_path):
    from obspy_gen.cli import main
    bad = tmp_path / "bad.mseed"
    bad.write_text("not a record")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["vs30", str(two_stations), str(bad), "--model", "hvsr-f0",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "SY.C0001.00" in res.output and "SY.C0002.00" in res.output
    assert f"obspy-gen: {bad}: cannot read" in res.output
    rows = open(out / "vs30.csv").read().splitlines()
    assert rows[0].startswith("station,records,vs30,nehrp_class,spread_percent")
    assert len(rows) == 3
    js = json.load(open(out / "vs30.json"))
    assert [r["n_records"] for r in js] == [2, 2] and js[0]["model"] == "hvsr-f0"
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # atomic: no temp files left
    # Nothing usable: exit 1; no such file / unknown model: exit 2.
    st = read(str(next(two_stations.glob("*.mseed"))))
    for tr in st:
        tr.data = np.zeros(tr.stats.npts)
    zero = tmp_path / "zero.mseed"
    st.write(str(zero), format="MSEED")
    res = CliRunner().invoke(main, ["vs30", str(zero), "--model", "hvsr-f0"])
    assert res.exit_code == 1 and "SY.C" in res.output
    assert CliRunner().invoke(main, ["vs30", str(tmp_path / "nope.mseed")]).exit_code == 2
    res = CliRunner().invoke(main, ["vs30", str(zero), "--model", "nope"])
    assert res.exit_code == 2 and "no plugin 'nope'" in res.output


def test_cli_vs30_cnn_lstm_default(two_stations):
    pytest.importorskip("torch")
    from obspy_gen.cli import main
    res = CliRunner().invoke(main, ["vs30", str(two_stations), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("SY.")]
    assert len(lines) == 2
    for ln in lines:
        parts = ln.split()
        assert parts[1] == "2" and 90 < float(parts[2]) < 2000 and parts[3] in "ABCDE"

"""GMPE check (obspy_gen.evaluate.gmpe) on simulated and real records."""
import json
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from obspy_gen.cli import main
from obspy_gen.data import read_bundled
from obspy_gen.evaluate import evaluate, write_report
from obspy_gen.evaluate.gmpe import (STANDARD_PERIODS, Scenario, attach_labels, gmpe_check,
                                     predict, record_ims, resolve_gmpe, scenario_of)
from obspy_gen.plugins.stochastic import StochasticGenerator

G = 9.80665
PERIODS = (0.2, 1.0)


@pytest.fixture(scope="module")
def scenario_records():
    """Simulated records at station 4628 for three scenarios (5 each)."""
    gen = StochasticGenerator()
    out = {}
    for k, (m, r) in enumerate([(5.0, 20.0), (6.5, 20.0), (6.5, 60.0)]):
        out[(m, r)] = gen.generate(station="4628", n=5, seed=100 + k, magnitude=m,
                                   distance=r, depth=10.0)
    return out


def _pygmm(name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pygmm
        return getattr(pygmm, name)(pygmm.Scenario(**kw))


def test_predict_is_pygmm_in_si_units():
    s = Scenario(magnitude=6.0, vs30=400.0, repi=30.0, depth=10.0)
    p = predict(s, "asb14", periods=[0.2, 1.0])
    ref = _pygmm("AkkarSandikkayaBommer2014", mag=6.0, v_s30=400.0,
                 dist_hyp=math.hypot(30, 10), mechanism="SS")
    assert p.median["pga"] == pytest.approx(float(ref.pga) * G)
    assert p.median["pgv"] == pytest.approx(float(ref.pgv) / 100.0)
    np.testing.assert_allclose(p.median["sa"], ref.interp_spec_accels([0.2, 1.0]) * G)
    assert p.sigma["pga"] == pytest.approx(float(ref.ln_std_pga))
    b = predict(s, "bssa14", periods=[1.0])
    ref = _pygmm("BooreStewartSeyhanAtkinson2014", mag=6.0, v_s30=400.0, dist_jb=30.0)
    assert b.median["pga"] == pytest.approx(float(ref.pga) * G)
    assert "R_JB = R_epi (point source)" in b.approximations
    d = predict(s, "as16")
    ref = _pygmm("AfshariStewart2016", mag=6.0, v_s30=400.0, dist_rup=math.hypot(30, 10),
                 mechanism="SS")
    assert d.median["d5_95"] == pytest.approx(float(ref.duration.D_5t95))


@pytest.mark.parametrize("model", ["asb14", "bssa14"])
def test_model_medians_grow_with_m_and_fall_with_r(model):
    pga = {(m, r): predict(Scenario(m, 400.0, repi=r, depth=10.0), model).median["pga"]
           for m in (5.0, 6.5) for r in (10.0, 50.0)}
    assert pga[(6.5, 10.0)] > pga[(5.0, 10.0)] and pga[(6.5, 50.0)] > pga[(5.0, 50.0)]
    assert pga[(5.0, 10.0)] > pga[(5.0, 50.0)] and pga[(6.5, 10.0)] > pga[(6.5, 50.0)]


def test_residuals_are_ln_observed_over_median(scenario_records):
    st = scenario_records[(6.5, 20.0)]
    chk = gmpe_check({"sim": st}, periods=PERIODS)
    rows = chk.records["sim"]
    assert len(rows) == 5 and all(r["model"] == "asb14" for r in rows)  # 4628 is in Türkiye
    from obspy_gen.core.intensity import intensity_measures
    from obspy_gen.core.records import split_records
    for rec, row in zip(split_records(st), rows):
        gm = intensity_measures(rec, periods=[1.0]).records[0].components["geometric_mean"]
        sc = scenario_of(rec)
        assert sc.magnitude == 6.5 and sc.repi == 20.0 and sc.vs30 == pytest.approx(241.678,
                                                                                   abs=0.01)
        p = predict(sc, "asb14", [1.0])
        assert row["residual"]["pga"] == pytest.approx(math.log(gm["pga"] / p.median["pga"]))
        assert row["residual"]["sa(1 s)"] == pytest.approx(
            math.log(gm["sa"][0] / p.median["sa"][0]))
    res = [r["residual"]["pga"] for r in rows]
    s = chk.summary["sim"]["pga"]
    assert s["n"] == 5 and s["bias"] == pytest.approx(np.mean(res))
    assert s["std"] == pytest.approx(np.std(res, ddof=1))
    assert s["bias_90"][0] < s["bias"] < s["bias_90"][1]
    assert s["sigma"] == pytest.approx(0.7347, abs=1e-3)   # ASB14's PGA sigma
    assert list(chk.scenarios["sim"]) == ["M6.5 R20km Vs30=240"]


def test_simulated_pga_grows_with_m_and_falls_with_r(scenario_records):
    """Evidence: the scenario-conditioned generator on scenarios it was not tuned to."""
    med = {k: float(np.median([record_ims(r, PERIODS)["pga"]
                               for r in _split(st)])) for k, st in scenario_records.items()}
    assert med[(6.5, 20.0)] > 2 * med[(5.0, 20.0)]
    assert med[(6.5, 60.0)] < 0.7 * med[(6.5, 20.0)]
    # The GMPE check sees the same trend in the model: residuals stay within 3 sigma.
    chk = gmpe_check({f"M{m} R{r}": st for (m, r), st in scenario_records.items()},
                     periods=PERIODS)
    for g in chk.groups:
        assert abs(chk.summary[g]["pga"]["bias"]) < 3 * chk.summary[g]["pga"]["sigma"]


def _split(st):
    from obspy_gen.core.records import split_records
    return split_records(st)


def test_scenarios_from_real_record_labels():
    afad = scenario_of(read_bundled("2404"))          # AFAD .mat labels
    assert (afad.magnitude, afad.magnitude_type, afad.vs30) == (4.4, "ML", 567.0)
    assert afad.rhyp == pytest.approx(43.39, abs=0.01) and afad.region == "turkey"
    knet = scenario_of(read_bundled("AOM001"), vs30={"AOM001": 300.0})
    # Epicentre 41.0N 142.5E, station 41.5267N 140.9244E: ~143 km on the sphere.
    lat1, lon1, lat2, lon2 = map(math.radians, (41.0, 142.5, 41.5267, 140.9244))
    hav = 2 * 6371.0 * math.asin(math.sqrt(math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) *
                                           math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2))
    assert knet.repi == pytest.approx(hav, rel=0.01)
    assert (knet.magnitude, knet.magnitude_type, knet.region, knet.vs30) == (
        6.2, "MJMA", "japan", 300.0)
    with pytest.raises(ValueError, match="no Vs30"):
        scenario_of(read_bundled("AOM001"))
    from obspy import read
    with pytest.raises(ValueError, match="no scenario"):
        scenario_of(read())


def test_labels_table_joined_on_file_name(tmp_path, scenario_records):
    rec = _split(scenario_records[(5.0, 20.0)])[0]
    path = tmp_path / "SY.4628.00_stochastic_0000.mseed"
    rec.write(str(path), format="MSEED")
    (tmp_path / "records.csv").write_text(
        "file,magnitude,distance,depth,hypo_distance,vs30\n"
        f"{path.name},5.0,20.0,10.0,22.36,241.7\n")
    from obspy import read
    st = read(str(path))
    assert "obspy_gen" not in st[0].stats
    assert attach_labels(path, st)
    s = scenario_of(st)
    assert (s.magnitude, s.repi, s.rhyp, s.vs30, s.source) == (5.0, 20.0, 22.36, 241.7,
                                                              "stats.labels")


def test_out_of_range_warns_reports_never_silent():
    rec = read_bundled("NGNH31")                      # KiK-net M2.4
    with pytest.warns(UserWarning) as caught:
        chk = gmpe_check({"real": rec}, vs30=500.0, periods=PERIODS)
    said = [str(w.message) for w in caught]
    assert any("magnitude=2.4 Mw is outside bssa14's range 3-8.5" in m for m in said)
    assert any("magnitude=2.4 Mw is outside as16's range 3-7.9" in m for m in said)
    row = chk.records["real"][0]
    assert row["model"] == "bssa14" and len(row["out_of_range"]) == 2   # BSSA14 and AS16
    assert any("outside" in it["reason"] for it in chk.issues)
    assert chk.scenarios["real"]["M2.4 R11km Vs30=500"]["out_of_range"]
    with pytest.warns(UserWarning):
        skipped = gmpe_check({"real": rec}, vs30=500.0, periods=PERIODS, out_of_range="skip")
    assert skipped.records["real"] == [] and "(left out)" in skipped.issues[0]["reason"]


def test_unknown_gmpe_lists_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown GMPE 'nga'; known: asb14 .*bssa14 .*as16"):
        resolve_gmpe("nga")
    with pytest.raises(ValueError, match="known: asb14"):
        gmpe_check({"a": read_bundled("2404")}, gmpe="nga")
    res = CliRunner().invoke(main, ["evaluate", "-g", "a=nothing", "--gmpe", "nga",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "known: asb14" in res.output


def test_evaluate_report_carries_the_gmpe_check(tmp_path, scenario_records):
    # Two runs start at the same time: a list of records keeps them apart.
    st = _split(scenario_records[(6.5, 20.0)]) + _split(scenario_records[(5.0, 20.0)])
    rep = evaluate({"sim": st}, min_records=1, n_bootstrap=2, intensity=False,
                   gmpe={"gmpe": "asb14", "periods": PERIODS})
    d = rep.to_dict()
    assert d["gmpe"]["summary"]["sim"]["pga"]["n"] == 10
    assert set(d["gmpe"]["scenarios"]["sim"]) == {"M6.5 R20km Vs30=240", "M5.0 R20km Vs30=240"}
    paths = write_report(rep, tmp_path)
    names = [p.name for p in paths]
    assert "gmpe_residuals.png" in names and "gmpe_spectra.png" in names
    page = (tmp_path / "report.html").read_text()
    assert "GMPE check" in page and "M6.5 R20km" in page
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["gmpe"]["records"]["sim"][0]["model"] == "asb14"
    assert evaluate({"sim": st}, min_records=1, n_bootstrap=2, intensity=False).gmpe is None


def test_cli_evaluate_gmpe_on_simulated_files(tmp_path, scenario_records):
    d = tmp_path / "sim"
    d.mkdir()
    rows = ["file,magnitude,distance,depth,vs30,units"]  # miniSEED keeps no units
    for k, rec in enumerate(_split(scenario_records[(6.5, 20.0)])):
        name = f"SY.4628.00_stochastic_{k:04d}.mseed"
        rec.write(str(d / name), format="MSEED")
        rows.append(f"{name},6.5,20,10,241.7,m/s**2")
    (d / "records.csv").write_text("\n".join(rows) + "\n")
    res = CliRunner().invoke(main, ["evaluate", "-g", f"sim={d}", "--gmpe", "asb14",
                                    "--out", str(tmp_path / "rep"), "--min-records", "1",
                                    "--n-bootstrap", "2", "--no-im", "-q"])
    assert res.exit_code == 0, res.output
    assert "GMPE check, sim (5 records), ln bias: pga" in res.output
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["gmpe"]["summary"]["sim"]["sa(1 s)"]["n"] == 5
    assert rep["gmpe"]["periods"] == list(STANDARD_PERIODS)


def test_generate_keeps_scenarios_for_evaluate(tmp_path):
    out = tmp_path / "gen"
    run = CliRunner().invoke
    res = run(main, ["generate", "--station", "4628", "--magnitude", "6", "--distance", "30",
                     "--depth", "8", "-n", "2", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "model: stochastic" in res.output
    from obspy_gen.io.provenance import read_provenance
    rows = [r for rs in read_provenance(out).values() for r in rs]
    cond = json.loads(rows[0]["conditions"])
    assert len(rows) == 2 and (cond["magnitude"], cond["distance"]) == (6.0, 30.0)
    res = run(main, ["evaluate", "-g", f"gen={out}", "--gmpe", "auto",
                     "--out", str(tmp_path / "rep"), "--min-records", "1", "--n-bootstrap",
                     "2", "--no-im", "-q"])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    recs = rep["gmpe"]["records"]["gen"]
    assert len(recs) == 2 and recs[0]["scenario"]["magnitude"] == 6.0
    assert recs[0]["scenario"]["repi"] == 30.0 and recs[0]["scenario"]["depth"] == 8.0
    # The site's Vs30 and coordinates (Türkiye: ASB14) come back from records.csv.
    assert recs[0]["scenario"]["vs30"] == pytest.approx(241.678, abs=0.01)
    assert recs[0]["model"] == "asb14" and recs[0]["scenario"]["region"] == "turkey"

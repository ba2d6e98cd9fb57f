"""The scenario-conditioned TimesNet-Gen variant (timesnet-gen-scenario) on simulated data."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from obspy_gen.cli import main  # noqa: E402
from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.plugins.stochastic import StochasticGenerator  # noqa: E402
from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator  # noqa: E402
from obspy_gen.plugins.timesnet_gen.scenario.features import (AmplitudeModel,  # noqa: E402
                                                              FeatureScaler, hypocentral,
                                                              raw_features)


def ln_pga(st):
    return np.array([np.log(np.mean([np.abs(tr.data).max() for tr in rec
                                     if tr.stats.channel[-1] in "NE"]))
                     for rec in split_records(st)])


@pytest.fixture(scope="module")
def gen():
    return ScenarioTimesNetGenGenerator()


def test_declares_its_conditions_and_distance_kinds():
    from obspy_gen import registry
    cls = registry.load("generators", "timesnet-gen-scenario")
    assert cls.conditions == ("magnitude", "distance", "depth", "vs30")
    assert cls.distance_kinds == ("epicentral", "hypocentral")


def test_shipped_checkpoint_says_synthetic(gen):
    cfg = gen.load().config
    assert cfg["training"]["synthetic"] is True
    assert "SYNTHETIC" in cfg["training"]["description"]
    base = gen.resolve()
    size = sum(os.path.getsize(str(base) + ext) for ext in (".safetensors", ".json"))
    assert size <= 20 * 2 ** 20


def test_pga_grows_with_magnitude_and_falls_with_distance(gen):
    kw = dict(station="4628", n=6, seed=3, depth=10.0)
    small = np.median(ln_pga(gen.generate(magnitude=4.5, distance=20, **kw)))
    large = np.median(ln_pga(gen.generate(magnitude=6.5, distance=20, **kw)))
    far = np.median(ln_pga(gen.generate(magnitude=6.5, distance=80, **kw)))
    assert large > small + 1.0          # two magnitude units: several times the PGA
    assert far < large - 0.5
    # the simulator at the same scenario: the generated median is in its range
    sim = np.median(ln_pga(StochasticGenerator().generate(magnitude=6.5, distance=20,
                                                           **kw)))
    assert abs(large - sim) < 1.0


def test_amplitude_follows_the_amplitude_model(gen):
    loaded = gen.load()
    st = gen.generate(station="4628", magnitude=6.0, distance=30, n=8, seed=1,
                      amplitude_scatter=0, baseline="none", trim=False)
    meta = st[0].stats.obspy_gen
    assert meta.site_term is True and meta.vs30 == pytest.approx(
        loaded.stations[loaded.station_codes.index("4628")]["vs30"])
    # Without scatter every record's per-channel std (over the model window) is the median.
    want = np.exp(np.array(meta.ln_std_median))
    for rec in split_records(st):
        got = np.array([tr.data.std() for tr in rec])
        assert np.allclose(got, want, rtol=0.25)


def test_vs30_changes_the_records_of_an_unknown_station(gen):
    soft = gen.generate(station="NEW1", vs30=180.0, magnitude=6.0, distance=30, n=4, seed=2)
    hard = gen.generate(station="NEW1", vs30=1200.0, magnitude=6.0, distance=30, n=4, seed=2)
    assert soft[0].stats.obspy_gen.site_term is False
    assert not np.allclose(soft[0].data[:500], hard[0].data[:500])
    with pytest.raises(ValueError, match="give vs30= for station 'NEW1'"):
        gen.generate(station="NEW1", magnitude=6.0, distance=30, n=1, seed=2)


def test_bad_and_unsupported_requests(gen):
    with pytest.raises(ValueError, match="give distance="):
        gen.generate(station="4628", magnitude=6.0, n=1, seed=0)
    with pytest.raises(ValueError, match="epicentral or hypocentral, not 'rupture'"):
        gen.generate(station="4628", magnitude=6.0, distance=20, distance_kind="rupture", n=1)
    with pytest.raises(ValueError, match="one value, not a range"):
        gen.generate(station="4628", magnitude=(5, 6), distance=20, n=1)
    with pytest.raises(ValueError, match="not on records"):
        gen.generate(StochasticGenerator().generate(station="4628", n=1, seed=0),
                     station="4628", magnitude=6.0, distance=20, n=1)
    with pytest.warns(UserWarning, match="magnitude=9.5 outside"):
        gen.generate(station="4628", magnitude=9.5, distance=20, n=1, seed=0)
    # the station-conditioned TimesNet-Gen says it cannot take a scenario
    from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator
    with pytest.raises(ValueError, match="timesnet-gen does not support the condition "
                                         "'magnitude'; it supports: no scenario conditions"):
        TimesNetGenGenerator().generate(station="4628", magnitude=6.0, n=1)


def test_hypocentral_distance_kind_is_equivalent(gen):
    a = gen.generate(station="4628", magnitude=6.0, distance=16, depth=12, n=1, seed=5)
    b = gen.generate(station="4628", magnitude=6.0, distance=20, depth=12, n=1, seed=5,
                     distance_kind="hypocentral")
    assert a[0].stats.obspy_gen.hypo_distance == pytest.approx(20.0)
    assert np.array_equal(a[0].data, b[0].data)
    assert hypocentral(30, 40) == 50


def test_seeded_and_record_independent_of_n(gen):
    a = gen.generate(station="4628", magnitude=5.5, distance=15, n=3, seed=9)
    b = gen.generate(station="4628", magnitude=5.5, distance=15, n=1, seed=9)
    assert np.array_equal(a[0].data, b[0].data) and np.array_equal(a[2].data, b[2].data)


def test_checkpoint_round_trip(gen, tmp_path):
    path = tmp_path / "copy"
    gen.save(path)
    cfg = json.loads((tmp_path / "copy.json").read_text())
    assert cfg["plugin"] == "timesnet-gen-scenario" and cfg["conditions"][0] == "magnitude"
    other = ScenarioTimesNetGenGenerator.from_pretrained(str(path))
    kw = dict(station="2020", magnitude=5.0, distance=25, n=2, seed=4)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(gen.generate(**kw),
                                                              other.generate(**kw)))


def test_stream_generate_and_cli(tmp_path):
    import obspy
    import obspy_gen  # noqa: F401 - adds Stream.generate
    st = obspy.Stream().generate(station="4628", magnitude=6.5, distance=20, n=1, seed=0,
                                 model="timesnet-gen-scenario")
    assert len(st) == 3 and st[0].stats.obspy_gen.model == "timesnet-gen-scenario"
    res = CliRunner().invoke(main, ["generate", "--station", "4628", "--magnitude", "6.5",
                                    "--distance", "20", "-n", "2", "--seed", "1", "--model",
                                    "timesnet-gen-scenario", "--out", str(tmp_path / "g")])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "g").glob("*.mseed"))) == 2


def test_cli_target_suite_with_the_scenario_model(tmp_path):
    out = tmp_path / "suite"
    res = CliRunner().invoke(main, ["generate", "--station", "4628", "--magnitude", "6.5",
                                    "--distance", "20", "-n", "3", "--target", "asb14",
                                    "--periods", "0.1-2", "--n-periods", "6", "--pool", "12",
                                    "--tolerance", "1.0", "--seed", "1", "--model",
                                    "timesnet-gen-scenario", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert any(ln.startswith("target asb14") for ln in res.output.splitlines())
    assert len(list(out.glob("*.mseed"))) == 3


def test_amplitude_model_recovers_station_terms():
    rng = np.random.default_rng(1)
    raw = raw_features(rng.uniform(4, 7, 400), np.exp(rng.uniform(2, 4.5, 400)),
                       rng.uniform(5, 15, 400), rng.uniform(200, 800, 400))
    z = FeatureScaler.fit(raw)(raw)
    stations = np.repeat([f"S{i}" for i in range(20)], 20)
    site = np.repeat(rng.normal(0, 0.5, 20), 20)
    y = (1.2 * z[:, 0] - 0.9 * z[:, 1] + site)[:, None] + 0.2 * rng.normal(size=(400, 3))
    amp = AmplitudeModel.fit(z, y, stations)
    est = np.array([amp.station_terms[f"S{i}"].mean() for i in range(20)])
    assert np.corrcoef(est, site[::20])[0, 1] > 0.95
    assert np.sqrt(np.diag(amp.within)).mean() == pytest.approx(0.2, abs=0.04)
    assert np.sqrt(np.diag(amp.total)).mean() > 0.4     # between-station spread included


def test_training_smoke(tmp_path):
    """End to end: simulated labelled records -> train hook -> checkpoint -> generation."""
    from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    from obspy_gen.plugins.timesnet_gen.store import save_model
    cfg = TimesNetGenConfig(seq_len=600, d_model=4, d_ff=4, e_layers=1, d_layers=1,
                            num_kernels=1, latent_channels=2, latent_stride=10)
    save_model(tmp_path / "base", TimesNetGen(cfg), cfg)
    sim = StochasticGenerator()
    recs = (sim.generate(station="4628", n=4, seed=1, magnitude=(4, 7))
            + sim.generate(station="3130", n=4, seed=2, magnitude=(4, 7)))
    settings = ScenarioTimesNetGenGenerator.TrainSettings(init=str(tmp_path / "base"),
                                                          epochs=2, synthetic=True,
                                                          source="two stochastic sets")
    hist = ScenarioTimesNetGenGenerator.train(recs, str(tmp_path / "sc"), settings,
                                              device="cpu")
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2] and hist["n_pool"] == 8
    gen = ScenarioTimesNetGenGenerator(checkpoint=str(tmp_path / "sc"))
    loaded = gen.load()
    assert loaded.station_codes == ["3130", "4628"] and loaded.pool["codes"].shape == (8, 2, 60)
    assert loaded.config["training"]["source"] == "two stochastic sets"
    lo, hi = loaded.config["label_ranges"]["magnitude"]
    st = gen.generate(station="3130", magnitude=(lo + hi) / 2, distance=20, depth=10, n=2,
                      seed=0)
    assert len(st) == 6 and st[0].stats.obspy_gen.site_term is True
    assert all(np.isfinite(tr.data).all() for tr in st)
    # Training ends with the lnPSA calibration on every record (two passes, both modes).
    psa = loaded.config["psa_calibration"]
    assert psa["n_records"] == 8 and set(psa["station_terms"]) == {"3130", "4628"}
    assert set(psa["history"]) == {"known_pass1", "known_pass2", "new_pass1", "new_pass2"}
    assert st[0].stats.obspy_gen.psa_correction is True


def test_psa_filter_moves_lnpsa_by_its_gain():
    """The correcting filter changes a simulated record's lnPSA by about its gain."""
    from obspy_gen.plugins.timesnet_gen.scenario.psa import PSA_PERIODS, ln_psa
    from obspy_gen.plugins.timesnet_gen.scenario.sampler import apply_correction
    rec = split_records(StochasticGenerator().generate(station="4628", magnitude=6.0,
                                                       distance=25, n=1, seed=5))[0]
    x = np.stack([tr.data.astype(np.float64) for tr in rec])
    lnT = np.log(PSA_PERIODS)
    mid = (PSA_PERIODS >= 0.1) & (PSA_PERIODS <= 3.0)
    for cycles, tol in ((1.0, 0.1), (2.0, 0.16)):
        g = 0.3 * np.sin(cycles * lnT)              # +-0.3, smooth in log period
        y = apply_correction(x, 100.0, g[::-1], (1.0 / PSA_PERIODS)[::-1])
        d = ln_psa(y, 100.0) - ln_psa(x, 100.0)
        assert np.abs(d - g)[mid].max() < tol
        assert np.corrcoef(d[mid], g[mid])[0, 1] > 0.95
    # A faster ripple moves lnPSA by less than its gain (a response ordinate averages over a
    # band): why the calibration runs in passes.
    assert np.abs(d)[mid].sum() < np.abs(g)[mid].sum()


def test_psa_correction_of_the_shipped_checkpoint(gen):
    from obspy_gen.plugins.timesnet_gen.scenario.psa import PsaCorrection, ln_psa
    loaded = gen.load()
    cal = loaded.config["psa_calibration"]
    corr = PsaCorrection.from_dict(cal)
    # Every training station has its (shrunk) term; learned on all 750 training records.
    assert set(corr.station_terms) == set(loaded.station_codes) and cal["n_records"] == 750
    # Mean residual of the sampler on the training records: second pass within 0.05.
    for mode in ("known", "new"):
        assert np.abs(cal["history"][f"{mode}_pass2"]["mean_residual"]).max() < 0.05
    kw = dict(station="4628", magnitude=6.0, distance=30, n=3, seed=4)
    on, off = (split_records(gen.generate(psa_correction=flag, **kw)) for flag in (True, False))
    assert on[0][0].stats.obspy_gen.psa_correction is True
    assert off[0][0].stats.obspy_gen.psa_correction is False
    # Same draws, filtered: the lnPSA moves by about the stored gain (periods 0.1-3 s).
    z = loaded.scaler(raw_features(6.0, hypocentral(30, 10), 10, on[0][0].stats.obspy_gen.vs30))
    want = -corr.predict(z, "4628")
    sel = (corr.periods >= 0.1) & (corr.periods <= 3.0)
    got = np.mean([ln_psa(np.stack([t.data for t in a]), 100.0, corr.periods)
                   - ln_psa(np.stack([t.data for t in b]), 100.0, corr.periods)
                   for a, b in zip(on, off)], axis=0)
    assert np.abs(got - want)[sel].max() < 0.15


@pytest.mark.slow
def test_evidence_script_small(tmp_path):
    """The evidence script end to end on a few held-out scenarios (minutes)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "scripts" / "scenario_evidence.py"
    spec = importlib.util.spec_from_file_location("scenario_evidence", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "ev.json"
    mod.main(["--stations", "3", "--per-station", "1", "--n", "6", "--out", str(out)])
    res = json.loads(out.read_text())
    assert set(res["settings"]) == {"known_station", "new_station"}
    known = res["settings"]["known_station"]["generated"]
    assert len(known["bias"]) == len(res["periods_s"]) == 12
    assert all(abs(b) < 1.0 for b in known["bias"])
    assert res["pga_trend"]["known_station_4628"]["generated"]["grows_with_M"]


def test_new_site_scatter_within_or_total(gen):
    amp = gen.load().amplitude
    z = np.zeros((4000, 4))
    rng = np.random.default_rng(0)
    within = amp.sample(z, rng, None, site_scatter="within").std(axis=0)
    total = amp.sample(z, rng, None, site_scatter="total").std(axis=0)
    np.testing.assert_allclose(within, np.sqrt(np.diag(amp.within)), rtol=0.06)
    np.testing.assert_allclose(total, np.sqrt(np.diag(amp.total)), rtol=0.06)
    assert np.all(total > within * 1.1)
    kw = dict(station="NEW2", vs30=300.0, magnitude=6.0, distance=30, n=1, seed=1)
    assert gen.generate(**kw)[0].stats.obspy_gen.site_scatter == "within"
    assert gen.generate(site_scatter="total", **kw)[0].stats.obspy_gen.site_scatter == "total"
    with pytest.raises(ValueError, match="site_scatter='all' is not one of total, within"):
        gen.generate(site_scatter="all", **kw)

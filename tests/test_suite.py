"""Record suites for a target spectrum (obspy_gen.evaluate.suite) and `generate --target`."""
import csv
import math

import numpy as np
import pytest
from click.testing import CliRunner

from obspy_gen.batch import read_file
from obspy_gen.cli import main
from obspy_gen.evaluate.gmpe import Scenario, predict, record_ims
from obspy_gen.evaluate.suite import (SuiteError, parse_periods, record_suite, select_records,
                                      write_suite)


def test_select_records_scales_within_bounds_and_matches():
    rng = np.random.default_rng(1)
    T = np.geomspace(0.1, 2, 10)
    target = 2.0 * T ** -0.8
    # Candidates: the target shape times a record-specific level (x0.6-x1.6) and ripple.
    pool = target * np.exp(rng.uniform(-0.5, 0.5, (40, 1)) + rng.normal(0, 0.15, (40, 10)))
    sel = select_records(pool, target, n=7, scale_bounds=(0.5, 2.0))
    assert len(set(sel.indices.tolist())) == 7
    assert np.all((sel.factors >= 0.5) & (sel.factors <= 2.0))
    scaled = pool[sel.indices] * sel.factors[:, None]
    med = np.exp(np.log(scaled).mean(axis=0))
    np.testing.assert_allclose(med, sel.median)
    assert sel.misfit == pytest.approx(np.sqrt(np.mean(np.log(med / target) ** 2)))
    assert sel.misfit < 0.05
    # Better than the n best-fitting records taken one by one and scaled alone.
    own = np.clip(np.mean(np.log(target) - np.log(pool), axis=1), math.log(0.5), math.log(2))
    first = np.argsort(np.sqrt(np.mean((np.log(pool) + own[:, None] - np.log(target)) ** 2,
                                       axis=1)))[:7]
    naive = np.exp((np.log(pool[first]) + own[first, None]).mean(axis=0))
    assert sel.misfit <= np.sqrt(np.mean(np.log(naive / target) ** 2)) + 1e-12


def test_select_records_cannot_exceed_bounds():
    T = np.geomspace(0.1, 2, 5)
    pool = np.tile(10.0 * T ** -1, (6, 1))                     # 10x the target everywhere
    sel = select_records(pool, T ** -1, n=3, scale_bounds=(0.5, 2.0))
    np.testing.assert_allclose(sel.factors, 0.5)
    assert sel.misfit == pytest.approx(math.log(5.0)) and sel.wanted_factor == pytest.approx(0.1)
    with pytest.raises(ValueError, match="0 < low <= 1 <= high"):
        select_records(pool, T ** -1, n=3, scale_bounds=(1.5, 2.0))


@pytest.fixture(scope="module")
def suite():
    return record_suite(station="4628", magnitude=6.5, distance=20.0, n=3, pool=15,
                        periods="0.1-2", n_periods=8, seed=4, tolerance=0.4)


def test_record_suite_matches_asb14_with_bounded_factors(suite):
    assert len(suite.records) == 3 and len(suite.stream) == 9
    assert np.all((suite.factors >= 0.5) & (suite.factors <= 2.0))
    T = parse_periods("0.1-2", 8)
    np.testing.assert_allclose(suite.periods, T)
    s = Scenario(6.5, suite.scenario.vs30, repi=20.0, depth=suite.scenario.depth,
                 region="turkey")
    np.testing.assert_allclose(suite.target, predict(s, "asb14", T).median["sa"], rtol=1e-9)
    # The reported median is that of the written (scaled) records' own spectra.
    sa = np.array([record_ims(rec, T)["sa"] for rec in suite.records])
    np.testing.assert_allclose(np.exp(np.log(sa).mean(axis=0)), suite.median, rtol=1e-6)
    assert suite.misfit == pytest.approx(np.sqrt(np.mean(np.log(suite.median /
                                                                suite.target) ** 2)))
    assert suite.misfit <= 0.4
    for rec, f in zip(suite.records, suite.factors):
        assert all(tr.stats.obspy_gen.scale_factor == pytest.approx(f) for tr in rec)


def test_write_suite_miniseed_and_csv(suite, tmp_path):
    paths = write_suite(suite, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    rows = list(csv.DictReader(open(tmp_path / "suite.csv")))
    assert len(rows) == 3
    for row, f in zip(rows, suite.factors):
        assert float(row["scale_factor"]) == pytest.approx(f, rel=1e-5)
        st = read_file(str(tmp_path / row["file"]))[1]  # units from records.csv
        ims = record_ims(st, [0.1])
        assert float(row["pga"]) == pytest.approx(ims["pga"], rel=1e-4)
        assert float(row["sa(0.1 s)"]) == pytest.approx(ims["sa"][0], rel=1e-4)
        assert (float(row["magnitude"]), float(row["distance"])) == (6.5, 20.0)


def test_unreachable_target_raises_and_writes_nothing(tmp_path):
    with pytest.raises(SuiteError, match="nothing written"):
        record_suite(station="4628", magnitude=7.9, distance=2.0, n=2, pool=4, n_periods=4,
                     seed=0, scale_bounds=(0.9, 1.1))
    out = tmp_path / "suite"
    res = CliRunner().invoke(main, ["generate", "--station", "4628", "--magnitude", "7.9",
                                    "--distance", "2", "-n", "2", "--target", "asb14",
                                    "--pool", "4", "--n-periods", "4", "--scale-bounds",
                                    "0.9,1.1", "--seed", "0", "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "misses it by" in res.output and "nothing written" in res.output
    assert not out.exists()


def test_cli_generate_target_suite(tmp_path):
    out = tmp_path / "suite"
    res = CliRunner().invoke(main, ["generate", "--station", "4628", "--magnitude", "6.5",
                                    "--distance", "20", "-n", "3", "--target", "asb14",
                                    "--periods", "0.1-2", "--n-periods", "6", "--pool", "12",
                                    "--tolerance", "0.4", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "model: stochastic" in res.output
    line = [ln for ln in res.output.splitlines() if ln.startswith("target asb14")][0]
    misfit = float(line.split("misfit ")[1].split()[0])
    rows = list(csv.DictReader(open(out / "suite.csv")))
    assert len(rows) == 3 and len(list(out.glob("*.mseed"))) == 3
    # The printed misfit is that of the files' own spectra.
    T = parse_periods("0.1-2", 6)
    sa = np.array([record_ims(read_file(str(out / r["file"]))[1], T)["sa"] for r in rows])
    vs30 = float(rows[0]["vs30"])
    target = predict(Scenario(6.5, vs30, repi=20.0, depth=float(rows[0]["depth"])), "asb14",
                     T).median["sa"]
    assert misfit == pytest.approx(np.sqrt(np.mean((np.log(sa).mean(axis=0) -
                                                    np.log(target)) ** 2)), abs=2e-3)


def test_cli_target_bad_input(tmp_path):
    run = CliRunner().invoke
    res = run(main, ["generate", "--station", "4628", "--magnitude", "6", "--distance", "20",
                     "--target", "nga", "--out", str(tmp_path / "a")])
    assert res.exit_code == 2 and "known: asb14" in res.output
    res = run(main, ["generate", "--station", "4628", "--target", "asb14", "--model",
                     "stochastic", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "--target needs --magnitude and --distance" in res.output
    res = run(main, ["generate", "--station", "4628", "--model", "timesnet-gen",
                     "--magnitude", "6", "--out", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert "timesnet-gen does not support the condition 'magnitude'; it supports:" in res.output
    assert not any((tmp_path / x).exists() for x in "abc")


def test_target_outside_gmpe_range_warns(tmp_path):
    with pytest.warns(UserWarning, match="magnitude=8.5 Mw is outside asb14's range 4-8"):
        s = record_suite(station="4628", magnitude=8.5, distance=20.0, n=1, pool=2,
                         n_periods=3, seed=0, tolerance=5)
    assert s.out_of_range == ["magnitude=8.5 Mw is outside asb14's range 4-8 Mw"]


def test_cli_target_vs30_is_the_target_site(tmp_path):
    res = CliRunner().invoke(main, ["generate", "--station", "4628", "--magnitude", "6.5",
                                    "--distance", "20", "--vs30", "400", "-n", "1", "--pool",
                                    "3", "--n-periods", "3", "--target", "asb14",
                                    "--tolerance", "5", "--seed", "0",
                                    "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "target asb14 for M6.5 R20km Vs30=400" in res.output
    row = next(csv.DictReader(open(tmp_path / "s" / "suite.csv")))
    assert float(row["vs30"]) == 400.0


def test_missed_tolerance_generates_more_candidates_bounded(tmp_path):
    kw = dict(station="4628", magnitude=6.5, distance=20.0, n=3, pool=12, periods="0.1-2",
              n_periods=6, seed=3)
    first = record_suite(**kw, max_pool=12, tolerance=10)
    assert first.pool_size == 12
    # A tolerance the first 12 candidates miss: more batches (other seeds) until one is met.
    tol = 0.9 * first.misfit
    s = record_suite(**kw, tolerance=tol)
    assert 12 < s.pool_size <= 48 and s.pool_size % 12 == 0
    assert s.misfit <= tol < first.misfit
    seeds = {tr.stats.obspy_gen.seed for tr in s.stream}
    assert seeds <= {3 + 1000003 * b for b in range(4)}
    names = [p.name for p in write_suite(s, tmp_path) if p.suffix == ".mseed"]
    assert len(set(names)) == 3
    # Bounded: never more than max_pool; then the miss is reported and nothing returned.
    with pytest.raises(SuiteError, match=r"best suite of 3 from 24 candidates misses it"):
        record_suite(**kw, max_pool=24, tolerance=0.01)
    with pytest.raises(ValueError, match="max_pool=6 must be at least pool=12"):
        record_suite(**kw, max_pool=6)


def test_unreachable_level_is_not_retried():
    # The target asks for far more than the bounds allow: more candidates cannot help.
    with pytest.raises(SuiteError, match=r"from 4 candidates .* need about x"):
        record_suite(station="4628", magnitude=7.9, distance=2.0, n=2, pool=4, n_periods=4,
                     seed=0, scale_bounds=(0.9, 1.1))

"""The evaluation cannot be gamed: collapsed, replayed and mixed generators are flagged, a
faithful held-out set of physically simulated records is not.

Records come from obspy-gen's stochastic simulator (Boore point source, pystrata soil columns)
at three of the paper's virtual stations (f0 about 1.6, 6.4 and 12 Hz), simulated once per
session: the reference ("real", held-out), an independent faithful set from the same
simulator, and the training set of a hypothetical generator.
"""
import numpy as np
import pytest
from click.testing import CliRunner
from obspy import Stream

from obspy_gen.evaluate import evaluate, max_ncc, mixing_r2, write_report
from obspy_gen.evaluate.scores import judge, matched_sizes

STATIONS = ("2020", "0205", "3130")
N = 14


@pytest.fixture(scope="session")
def sim():
    """station -> {"reference", "faithful", "training"} lists of records (one Stream each)."""
    pytest.importorskip("pystrata")
    from obspy_gen.core.records import split_records
    from obspy_gen.plugins.stochastic import StochasticGenerator

    gen = StochasticGenerator()
    out = {}
    for k, s in enumerate(STATIONS):
        recs = split_records(gen.generate(station=s, n=3 * N, seed=100 + k,
                                          magnitude=(5.0, 6.0), distance=(10.0, 40.0)))
        out[s] = {"reference": recs[:N], "faithful": recs[N:2 * N], "training": recs[2 * N:]}
    return out


def flat(sim, part):
    return sum((r for s in STATIONS for r in sim[s][part]), Stream())


def shifted(records, offset_s):
    """Copies of records with start times moved (a separate set of records)."""
    out = []
    for i, rec in enumerate(records):
        rec = rec.copy()
        for tr in rec:
            tr.stats.starttime += offset_s + 1000.0 * i
        out.append(rec)
    return out


def quick_ims(record):
    """Two of the judged IMs, cheaply (the full set is exercised on the faithful report)."""
    from obspy_gen.core.intensity import pga, significant_duration
    h = [tr for tr in record if tr.stats.channel[-1] in "NE"]
    return {"pga": float(np.sqrt(pga(h[0].data) * pga(h[1].data))),
            "d5_95": significant_duration(h[0].data, h[0].stats.delta)}


def run(sim, candidate, training=None, **kw):
    kw.setdefault("n_bootstrap", 60)
    kw.setdefault("intensity", quick_ims)
    return evaluate({"real": flat(sim, "reference"), "candidate": candidate}, seed=0,
                    min_records=4, training=training, **kw)


@pytest.fixture(scope="session")
def faithful_report(sim):
    return run(sim, flat(sim, "faithful"), training=flat(sim, "training"), intensity=None)


def test_faithful_held_out_set_passes(faithful_report):
    rep = faithful_report
    v = rep.verdict
    assert v["overall"]["pass"] is True, v["overall"]["failing"]
    # Both f0 rules, the paper's first; figures present with intervals and ceilings.
    assert rep.rules == ["lowest_clear_peak", "highest_peak"]
    for s in STATIONS:
        sc = rep.scores["candidate"][s]
        assert sc["status"] == "ok" and sc["sizes"] == [7, 7]
        for rule in rep.rules:
            f = sc["figures"][rule]["f0_spread_ratio"]
            assert f["model"]["p05"] <= f["model"]["median"] <= f["model"]["p95"]
            assert 0.2 < f["ceiling"]["median"] < 5
        for im in ("pga", "pgv", "sa(0.1 s)", "sa(0.3 s)", "sa(1 s)", "sa(3 s)", "d5_95"):
            w = sc["figures"]["ims"][im]
            assert w["judged"] and w["ceiling"]["p95"] >= w["ceiling"]["median"] > 0
        m = rep.memorisation["candidate"][s]
        # Independent simulations correlate like held-out real records do, far from copies.
        assert m["training"]["ncc"]["model"]["median"] < 0.7
        assert m["training"]["r2"]["model"]["median"] < 0.7
        assert abs(m["training"]["ncc"]["model"]["median"] -
                   m["training"]["ncc"]["held_out"]["median"]) < 0.2


@pytest.fixture(scope="session")
def collapsed_report(sim):
    """One record per station returned N times."""
    collapsed = Stream()
    for s in STATIONS:
        for rec in shifted([sim[s]["faithful"][0]] * N, 10 ** 6):
            collapsed += rec
    return run(sim, collapsed, training=flat(sim, "training"))


def test_collapsed_generator_is_flagged(collapsed_report):
    """f0 spread 0, IM distributions collapse, records repeat each other."""
    rep = collapsed_report
    g = rep.verdict["groups"]["candidate"]
    assert rep.verdict["overall"]["pass"] is False
    for s in STATIONS:
        names = g["stations"][s]["failing_figures"]
        assert "f0 spread ratio" in names
        assert "collapsed: records repeat each other" in names
    assert any("W(ln" in f for f in g["failing_summary"])


def test_replay_of_the_reference_records_is_flagged(sim):
    replay = Stream([tr for tr in flat(sim, "reference").copy()])
    for tr in replay:
        tr.stats.starttime += 10 ** 7
    rep = run(sim, replay)  # no training set given: the reference itself is compared
    assert rep.verdict["overall"]["pass"] is False
    for s in STATIONS:
        m = rep.memorisation["candidate"][s]["reference"]
        assert m["ncc"]["model"]["median"] == pytest.approx(1.0, abs=1e-6)
        assert m["ncc"]["model"]["share_copies"] == 1.0 and m["ncc"]["pass"] is False
        assert any(n.startswith("copies of / similar to reference")
                   for n in rep.verdict["groups"]["candidate"]["stations"][s]["failing_figures"])


def test_replay_and_mixes_of_training_records_are_flagged(sim):
    training = flat(sim, "training")
    replay = Stream([tr.copy() for tr in training])
    for tr in replay:
        tr.stats.starttime += 10 ** 7
    rep = run(sim, replay, training=training)
    fails = rep.verdict["groups"]["candidate"]["failing_summary"]
    assert rep.verdict["overall"]["pass"] is False
    assert set(fails["copies of / similar to training records"]) == set(STATIONS)
    # Linear mixes of three training records each (aligned in time): high R², flagged.
    mixes = Stream()
    rng = np.random.default_rng(3)
    for s in STATIONS:
        recs = sim[s]["training"]
        for i in range(N):
            pick = rng.choice(len(recs), 3, replace=False)
            w = rng.uniform(0.3, 1.0, 3)
            rec = recs[pick[0]].copy()
            for tr in rec:
                tr.stats.starttime += 10 ** 7 + 1000.0 * i
            for c, tr in enumerate(rec):
                n = min(len(recs[j][c].data) for j in pick)
                tr.data = sum(wk * recs[j][c].data[:n].astype(float) for wk, j in zip(w, pick))
            mixes += rec
    rep = run(sim, mixes, training=training)
    g = rep.verdict["groups"]["candidate"]
    assert set(g["failing_summary"]["linear mixes of training records"]) == set(STATIONS)
    for s in STATIONS:
        r2 = rep.memorisation["candidate"][s]["training"]["r2"]
        assert r2["model"]["median"] > 0.99 > r2["held_out"]["p95"]


def test_alignment_with_and_without_diagonal_and_matched(faithful_report):
    rep = faithful_report
    for rule in rep.rules:
        full = rep.alignment_full[rule]["all_groups"]
        # The always-1 diagonal raises the NCC: dropping it lowers it.
        assert full["without_diagonal"] < full["with_diagonal"]
        m = rep.alignment_matched[rule]["vs_reference"]["candidate"]
        assert m["part_size"] == {s: 7 for s in STATIONS}
        nd = m["without_diagonal"]
        assert nd["pass"] is True
        assert nd["ceiling"]["p05"] <= nd["ceiling"]["median"] <= nd["ceiling"]["p95"]
    d = rep.to_dict()
    assert set(d["alignment"]["matched"]) == set(rep.rules)
    assert d["f0_rules"] == {"primary": "lowest_clear_peak",
                             "reported": ["lowest_clear_peak", "highest_peak"]}


def test_reconstructions_are_reported_not_judged(sim, tmp_path):
    # A "reconstruction" that is the reference itself: copies by construction.
    recon = Stream([tr.copy() for tr in flat(sim, "reference")])
    for tr in recon:
        tr.stats.starttime += 10 ** 7
    rep = evaluate({"real": flat(sim, "reference"), "generated": flat(sim, "faithful"),
                    "reconstructed": recon}, seed=1, n_bootstrap=40, min_records=4,
                   reconstructions=["reconstructed"], intensity=False)
    assert rep.roles == {"real": "reference", "generated": "generated",
                         "reconstructed": "reconstruction"}
    assert rep.verdict["overall"]["groups"] == {"generated": True}
    assert rep.memorisation["reconstructed"]["2020"]["judged"] is False
    assert rep.scores["reconstructed"]["2020"]["figures"]["lowest_clear_peak"]
    # The paper's 3-group matrix: matched ceiling from 3 reference parts.
    allg = rep.alignment_matched["lowest_clear_peak"]["all_groups"]
    assert allg["groups"] == ["generated", "reconstructed"]
    assert allg["part_size"]["2020"] == N // 3
    page = (write_report(rep, tmp_path)[-1]).read_text()
    assert "Verdict" in page and "Memorisation and mixing" in page and "not judged" in page
    with pytest.raises(ValueError, match="not one of the candidate groups"):
        evaluate({"real": flat(sim, "reference")}, reconstructions=["real"])


def test_ncc_and_r2_find_shifted_copies_and_mixes():
    rng = np.random.default_rng(5)
    y = rng.standard_normal((6, 3, 400))
    shifted_copy = -np.roll(y[2], 37, axis=-1)       # polarity flip and shift
    mix = 0.4 * y[0] + 0.9 * y[4]
    fresh = rng.standard_normal((3, 400))
    x = np.stack([shifted_copy, mix, fresh])
    ncc = max_ncc(x, y)
    assert ncc[0] > 0.9 and ncc[2] < 0.3
    r2 = mixing_r2(x, y)
    assert r2[1] == pytest.approx(1.0) and r2[2] < 0.05
    # Leave-one-out within one set: a duplicated record is a copy of its twin, no other is.
    z = np.concatenate([y, y[:1]])
    self_ncc = max_ncc(z, z, exclude_self=True)
    assert self_ncc[0] == pytest.approx(1.0) and self_ncc[-1] == pytest.approx(1.0)
    assert np.all(self_ncc[1:-1] < 0.3)


def test_mixing_r2_separates_mixes_from_unrelated_records_with_many_comparisons():
    """Narrow-band site-like records: the in-sample fit by all 40 lag-shifted comparison
    records explains much of an unrelated record (the old instrument); the cross-validated
    fit by 5 records chosen by pursuit does not, and still finds shifted mixes of 2-5."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(3)
    t = np.arange(600) / 100.0
    theta = 2 * np.pi * 5.0 / 100.0

    def site(n):
        e = rng.standard_normal((n, 3, t.size))
        return lfilter([1.0], [1, -1.94 * np.cos(theta), 0.9409], e, axis=-1) * (
            t * np.exp(-t / 1.0))

    y, unrelated = site(40), site(4)
    mixes = np.zeros((4, 3, t.size))
    for i, members in enumerate(([0, 7], [3, 11, 19], [5, 8, 21, 30], [1, 2, 9, 25, 33])):
        for j in members:
            s = int(rng.integers(-60, 61))
            shifted = np.roll(y[j], s, axis=-1)
            if s > 0:
                shifted[:, :s] = 0.0
            elif s < 0:
                shifted[:, s:] = 0.0
            mixes[i] += rng.uniform(0.3, 1.0) * rng.choice([-1, 1]) * shifted
    old = mixing_r2(unrelated, y, k=None, cv=False)
    assert np.median(old) > 0.3                                  # the problem
    assert np.all(mixing_r2(unrelated, y) < 0.1)
    assert np.all(mixing_r2(mixes, y) > 0.9)
    # Leave-one-out within one set: a record is not explained by the others.
    assert np.all(mixing_r2(y[:4], y, exclude_self=True) < 0.1)


def test_matched_sizes_and_judgement():
    assert matched_sizes(50, 50) == (25, 25)
    assert matched_sizes(60, 20) == (20, 40)
    c = {"p05": 0.8, "p95": 1.25}
    assert judge({"p05": 0.9, "p95": 1.1}, c, "two-sided") is True
    assert judge({"p05": 1.4, "p95": 2.0}, c, "two-sided") is False     # over-dispersed
    assert judge({"p05": 0.0, "p95": 0.0}, c, "two-sided") is False     # collapsed
    assert judge({"p05": 0.1, "p95": 0.3}, {"p05": 0.05, "p95": 0.2}, "lower") is True
    assert judge({"p05": 0.3, "p95": 0.5}, {"p05": 0.05, "p95": 0.2}, "lower") is False


def test_cli_reference_missing_or_empty_is_a_usage_error(sim, tmp_path):
    from obspy_gen.cli.evaluate import evaluate_command

    gen = tmp_path / "gen"
    gen.mkdir()
    for i, rec in enumerate(sim["2020"]["faithful"][:3]):
        rec.write(str(gen / f"r{i}.mseed"), format="MSEED")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no records here\n")
    for ref in (tmp_path / "nope", empty):
        out = tmp_path / f"out_{ref.name}"
        res = CliRunner().invoke(evaluate_command, ["--group", f"real={ref}", "--group",
                                                    f"gen={gen}", "--out", str(out), "-q"])
        assert res.exit_code == 2, res.output
        assert "reference group 'real'" in res.output
        assert not out.exists()
    res = CliRunner().invoke(evaluate_command, ["--group", f"real={gen}", "--training",
                                                str(tmp_path / "nope"), "--out",
                                                str(tmp_path / "o2"), "-q"])
    assert res.exit_code == 2 and "--training" in res.output and not (tmp_path / "o2").exists()


def test_demo_headline_names_every_failing_figure(collapsed_report, faithful_report):
    from obspy_gen.cli.demo import _headline

    lines = _headline(collapsed_report)
    assert lines[0].startswith("verdict (lowest_clear_peak f0 rule") and "FAIL" in lines[0]
    text = "\n".join(lines)
    for name, where in collapsed_report.verdict["groups"]["candidate"][
            "failing_summary"].items():
        assert f"candidate fails: {name} at {', '.join(where)}" in text
    assert _headline(faithful_report)[0].endswith("PASS")
    assert len(_headline(faithful_report)) == 1

"""obspy_gen.evaluate: f0 distributions, JS similarity, matrix, alignment score and ceilings.

Test data are physically simulated records (conftest.resonance_record: 3-component noise whose
horizontals pass through a single-layer SH resonance), 60 s long, with a per-record lognormal
scatter of f0 around each station's value, as real events at one site scatter.
"""
import importlib.util
import json

import numpy as np
import pytest
from obspy import Stream, UTCDateTime
from scipy.spatial.distance import jensenshannon

from obspy_gen.evaluate import (DEFINITIONS, alignment_score, bootstrap_ceiling,
                                distribution_distances, evaluate, f0_bin_edges, f0_histogram,
                                ideal_block_matrix, js_similarity, similarity_matrix,
                                write_report)

from .conftest import resonance_record

STATIONS = {"STA1": 2.0, "STA2": 4.0, "STA3": 8.0, "STA4": 15.0}
N_PER_STATION = 16


def corpus(f0s, n, seed, scatter=0.10, duration=60.0, network="XX"):
    """A Stream of n records per station; f0 of each record lognormal around the station's."""
    rng = np.random.default_rng(seed)
    st = Stream()
    for name, f0 in f0s.items():
        for i in range(n):
            f = f0 * np.exp(scatter * rng.standard_normal())
            st += resonance_record(f, duration=duration, seed=int(rng.integers(2 ** 31)),
                                   station=name, network=network,
                                   start=UTCDateTime(2024, 1, 1) + 3600 * i)
    return st


def halves(st, n):
    """First and second half of every station's records (by time) as two Streams."""
    a, b = Stream(), Stream()
    for tr in st:
        i = int(round((tr.stats.starttime - UTCDateTime(2024, 1, 1)) / 3600))
        (a if i < n // 2 else b).append(tr)
    return a, b


def relabel(st, mapping):
    st = st.copy()
    for tr in st:
        tr.stats.station = mapping[tr.stats.station]
    return st


@pytest.fixture(scope="module")
def real():
    return corpus(STATIONS, N_PER_STATION, seed=1)


@pytest.fixture(scope="module")
def generated():
    return corpus(STATIONS, N_PER_STATION, seed=2)


@pytest.fixture(scope="module")
def report(real, generated):
    return evaluate({"real": real, "generated": generated}, seed=0, n_bootstrap=100,
                    intensity=False)


# --- pure functions ---------------------------------------------------------------------------

def test_js_similarity_identical_disjoint_and_scipy():
    rng = np.random.default_rng(0)
    p = rng.random(20)
    assert js_similarity(p, 3 * p) == pytest.approx(1.0)
    assert js_similarity([1, 0, 0, 2], [0, 5, 1, 0]) == pytest.approx(0.0)
    for _ in range(20):
        p, q = rng.random(20) * (rng.random(20) > 0.3), rng.random(20)
        d = jensenshannon(p, q, base=2)  # scipy's is the distance, sqrt(JSD)
        assert js_similarity(p, q) == pytest.approx(1 - d ** 2)
        assert js_similarity(p, q, "distance") == pytest.approx(1 - d)
        assert js_similarity(p, q) == pytest.approx(js_similarity(q, p))
        assert 0 <= js_similarity(p, q, "distance") <= js_similarity(p, q) <= 1
    assert np.isnan(js_similarity([0, 0], [1, 1]))
    with pytest.raises(ValueError):
        js_similarity([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        js_similarity([1, 2], [1, 2], kind="kl")


def test_bins_follow_the_paper_by_default():
    assert np.array_equal(f0_bin_edges(), np.linspace(1, 20, 21))  # the authors' bins
    log_edges = f0_bin_edges(20, (1, 20), "log")
    assert np.allclose(np.diff(np.log(log_edges)), np.log(20) / 20)
    p, edges = f0_histogram([1.0, 20.0, 0.5, 25.0, np.nan])  # both ends inclusive, rest out
    assert p[0] == p[-1] == 0.5 and p.sum() == 1
    assert f0_histogram([], normalize=False)[0].sum() == 0


def test_matrix_ideal_and_alignment_against_numpy():
    rng = np.random.default_rng(1)
    hists = rng.random((6, 20))
    m = similarity_matrix(hists)
    assert np.allclose(m, m.T) and np.allclose(np.diag(m), 1)
    ideal = ideal_block_matrix(3, 2)
    assert ideal.shape == (6, 6) and ideal.sum() == 12
    assert np.array_equal(ideal, ideal_block_matrix(["a", "a", "b", "b", "c", "c"]))
    assert alignment_score(m, ideal) == pytest.approx(np.corrcoef(m.ravel(), ideal.ravel())[0, 1])
    # NaN entries (a missing station) are left out of both matrices.
    m[0, :] = m[:, 0] = np.nan
    ok = np.isfinite(m)
    assert alignment_score(m, ideal) == pytest.approx(np.corrcoef(m[ok], ideal[ok])[0, 1])
    with pytest.raises(ValueError):
        alignment_score(m, ideal_block_matrix(2, 2))


def test_bootstrap_ceiling_is_reproducible_and_grows_with_records():
    rng = np.random.default_rng(2)
    f0 = {s: f * np.exp(0.15 * rng.standard_normal(200)) for s, f in STATIONS.items()}
    small = {s: v[:20] for s, v in f0.items()}
    a = bootstrap_ceiling(small, n_bootstrap=50, seed=3)
    assert a == bootstrap_ceiling(small, n_bootstrap=50, seed=3)
    big = bootstrap_ceiling(f0, n_bootstrap=50, seed=3)
    # Sampling noise is what keeps the ceiling below 1; more records, higher ceiling.
    for s in STATIONS:
        assert big["similarity"][s]["mean"] > a["similarity"][s]["mean"]
    assert big["alignment"]["mean"] > a["alignment"]["mean"]
    assert a["half_sizes"]["STA1"] == [10, 10] and a["alignment"]["n"] == 50
    one = bootstrap_ceiling({"A": [2.0]}, n_bootstrap=5)
    assert one["similarity"]["A"]["mean"] is None and one["alignment"]["mean"] is None


def test_distribution_distances():
    rng = np.random.default_rng(4)
    x = np.exp(rng.standard_normal(500))
    same = distribution_distances(x, x * 1.0)
    assert same["wasserstein"] == 0 and same["ks_statistic"] == 0
    shifted = distribution_distances(x, 2 * x)
    assert shifted["wasserstein"] == pytest.approx(np.log(2))
    assert np.isnan(distribution_distances([], x)["wasserstein"])


# --- evaluate on simulated records ------------------------------------------------------------

def test_report_structure_and_f0(report):
    assert report.groups == ["real", "generated"] and report.reference == "real"
    assert report.stations == sorted(STATIONS)
    assert report.matrix.shape == (8, 8)
    assert report.matrix_labels[:2] == [("STA1", "real"), ("STA1", "generated")]
    for s, f0 in STATIONS.items():
        for g in report.groups:
            d = report.distributions[s][g]
            assert d.status == "ok" and d.n_used == N_PER_STATION
            # Per-record f0 of 60 s of noise: the station's f0 within the scatter.
            assert d.f0_median == pytest.approx(f0, rel=0.15)
            assert d.frequency.size == d.mean.size == d.std_ln.size == 256
    assert report.settings.combine == "squared_average" and report.settings.window_length is None
    d = report.to_dict()
    json.dumps(d, allow_nan=False)  # NaN never reaches the JSON
    assert d["definitions"] == DEFINITIONS
    assert d["bins"]["edges"] == pytest.approx(list(np.linspace(1, 20, 21)))


def test_same_corpus_halves_align_like_the_ceiling(real):
    """Two halves of one station-labelled corpus: alignment near 1 relative to the ceiling."""
    a, b = halves(real, N_PER_STATION)
    rep = evaluate({"A": a, "B": b}, seed=0, n_bootstrap=100, intensity=False,
                   memorisation=False, min_records=4)
    assert rep.alignment > 0.8
    # B is drawn from A's distribution: on the same record counts (4 of B against 4 of A) it
    # scores like A's own parts do.
    for rule in rep.rules:
        m = rep.alignment_matched[rule]["vs_reference"]["B"]
        assert m["part_size"] == {s: 4 for s in STATIONS}
        for key in ("with_diagonal", "without_diagonal"):
            model, ceil = m[key]["model"], m[key]["ceiling"]
            assert m[key]["pass"] is True
            assert abs(model["median"] - ceil["median"]) < 0.1


def test_permuted_station_labels_drive_the_alignment_down(real, generated, report):
    perm = {"STA1": "STA3", "STA2": "STA4", "STA3": "STA1", "STA4": "STA2"}
    rep = evaluate({"real": real, "generated": relabel(generated, perm)}, seed=0,
                   n_bootstrap=20, intensity=False)
    good = report.alignment_vs_reference["generated"]
    bad = rep.alignment_vs_reference["generated"]
    assert good > 0.9 and bad < 0.6 and bad < good - 0.3
    for s in STATIONS:
        assert rep.similarity[s]["generated"] < 0.2 < 0.6 < report.similarity[s]["generated"]


def test_identical_groups_score_one_and_disjoint_stations_zero(real):
    sub = real.select(station="STA[14]")
    rep = evaluate({"real": sub, "copy": sub.copy()}, n_bootstrap=10, seed=0, intensity=False)
    for s in ("STA1", "STA4"):
        assert rep.similarity[s]["copy"] == pytest.approx(1.0)
    # STA1 (2 Hz) and STA4 (15 Hz) share no f0 bin.
    i, j = rep.matrix_labels.index(("STA1", "real")), rep.matrix_labels.index(("STA4", "copy"))
    assert rep.matrix[i, j] == pytest.approx(0.0)
    assert rep.alignment == pytest.approx(rep.alignment_vs_reference["copy"])


def test_bad_input_is_reported_per_station_not_fatal(real):
    real_sub = real.select(station="STA[12]")
    gen = corpus({"STA1": 2.0, "STA3": 8.0}, 6, seed=9)     # STA2 missing, STA3 extra
    few = corpus({"STA2": 4.0}, 3, seed=10)                 # too few records
    broken = resonance_record(2.0, duration=60, seed=5, station="STA1",
                              start=UTCDateTime(2030, 1, 1))
    broken.remove(broken.select(component="Z")[0])          # no vertical
    odd = broken[0].copy()
    odd.stats.channel = "HNX"                               # names no component
    rep = evaluate({"real": real_sub, "generated": gen + few + broken + odd}, n_bootstrap=10,
                   seed=0, intensity=False)
    d = rep.distributions
    assert d["STA3"]["real"].status == "missing"
    assert d["STA2"]["generated"].status == "too few records"
    assert d["STA1"]["generated"].status == "ok" and d["STA1"]["generated"].n_records == 7
    assert d["STA1"]["generated"].n_used == 6
    reasons = {(i["group"], i["station"]): i["reason"] for i in rep.issues}
    assert "missing" in reasons[("real", "STA3")]
    assert "too few records" in reasons[("generated", "STA2")]
    assert any("missing component" in i["reason"] for i in rep.issues)
    assert any("cannot tell its component" in i["reason"] for i in rep.issues)
    assert np.isfinite(rep.similarity["STA1"]["generated"])
    assert np.isnan(rep.similarity["STA2"]["generated"])
    # Rows without a distribution are NaN and left out of the alignment.
    assert np.isfinite(rep.alignment)
    assert ["STA3", "real"] in rep.to_dict()["alignment"]["excluded_rows"]


def noise_records(n, seed, station="FLAT"):
    """Records of three independent white noises: H/V ~ 1 with ripples, no clear resonance."""
    rng = np.random.default_rng(seed)
    st = Stream()
    for i in range(n):
        rec = resonance_record(5.0, duration=60, seed=int(rng.integers(2 ** 31)),
                               station=station, start=UTCDateTime(2024, 1, 1) + 3600 * i)
        for tr in rec:
            tr.data = rng.standard_normal(tr.stats.npts)
        st += rec
    return st


def test_records_without_a_clear_peak(real):
    flat = noise_records(6, seed=3)
    sta1 = real.select(station="STA1")
    rep = evaluate({"real": flat + sta1}, n_bootstrap=5, intensity=False)
    d = rep.distributions["FLAT"]["real"]
    assert d.n_unclear >= 5 and d.status == "ok"           # counted, reported, kept
    assert rep.distributions["STA1"]["real"].n_unclear <= 2  # resonances give clear peaks
    assert any(i["station"] == "FLAT" and "without a clear peak" in i["reason"]
               for i in rep.issues)
    strict = evaluate({"real": flat + sta1}, n_bootstrap=5, intensity=False,
                      require_clear=True)
    d = strict.distributions["FLAT"]["real"]
    assert d.status == "too few records" and d.n_valid == 6 - d.n_unclear
    assert np.all(np.isnan(d.f0[~d.clear]))
    assert strict.distributions["STA1"]["real"].status == "ok"


def test_input_forms_are_equivalent(real):
    six = UTCDateTime(2024, 1, 1) + 6 * 3600  # 6 records per station: enough here
    sub = Stream([tr for tr in real.select(station="STA[12]") if tr.stats.starttime < six])
    from obspy_gen import split_records
    recs = split_records(sub)
    by_station = {s: [r for r in recs if r[0].stats.station == s] for s in ("STA1", "STA2")}
    reps = [evaluate({"real": x}, n_bootstrap=5, seed=0, intensity=False)
            for x in (sub, recs, by_station)]
    for r in reps[1:]:
        assert r.stations == reps[0].stations
        for s in r.stations:
            assert np.array_equal(r.distributions[s]["real"].counts,
                                  reps[0].distributions[s]["real"].counts)
    # Stations match across networks by code, or by NET.STA.LOC when asked.
    other = relabel(sub, {"STA1": "STA1", "STA2": "STA2"})
    for tr in other:
        tr.stats.network = "YY"
    kw = dict(n_bootstrap=5, intensity=False)
    assert evaluate({"a": sub, "b": other}, **kw).stations == ["STA1", "STA2"]
    assert len(evaluate({"a": sub, "b": other}, by="id", **kw).stations) == 4


def test_argument_errors(real):
    with pytest.raises(ValueError, match="reference"):
        evaluate({"a": real}, reference="b")
    with pytest.raises(ValueError, match="f0_range"):
        evaluate({"a": real}, f0_range=(1, 40))
    with pytest.raises(TypeError):
        evaluate([real])
    with pytest.raises(ValueError, match="js"):
        evaluate({"a": real}, js="kl")


def test_intensity_measures_with_a_callable(real, generated):
    def ims(rec):
        h = np.hypot(rec[0].data, rec[1].data)
        return {"pga": float(h.max()),
                "arias_like": float((h ** 2).sum() / rec[0].stats.sampling_rate)}

    sub = {g: st.select(station="STA[12]") for g, st in (("real", real), ("gen", generated))}
    loud = sub["gen"].copy()
    for tr in loud:
        tr.data = tr.data * 3.0
    rep = evaluate({"real": sub["real"], "gen": sub["gen"], "loud": loud}, intensity=ims,
                   n_bootstrap=20, seed=0)
    assert rep.im["available"] and rep.im["names"] == ["pga", "arias_like"]
    assert rep.im["judged"] == ["pga"]
    loud_pga = rep.scores["loud"]["STA1"]["figures"]["ims"]["pga"]
    gen_pga = rep.scores["gen"]["STA1"]["figures"]["ims"]["pga"]
    # A factor 3 in amplitude is ln 3 in the Wasserstein distance of ln(PGA).
    assert loud_pga["full_sets"] > gen_pga["full_sets"]
    assert loud_pga["full_sets"] == pytest.approx(np.log(3), rel=0.35)
    assert loud_pga["ceiling"]["median"] > 0
    assert loud_pga["pass"] is False and gen_pga["pass"] is True
    assert "STA1: W(ln pga)" in " ".join(rep.verdict["groups"]["loud"]["failing"])
    assert rep.distributions["STA1"]["real"].ims["pga"].size == N_PER_STATION


def test_intensity_auto_and_failures(real):
    from obspy_gen import split_records
    few = [rec.copy() for rec in split_records(real.select(station="STA1"))[:6]]
    # Records in unknown units: the IMs needing physical units are refused, naming the trace.
    rep = evaluate({"real": few}, n_bootstrap=5, min_records=3)
    assert any("XX.STA1..HNN: units unknown" in i["reason"] for i in rep.issues)
    assert rep.distributions["STA1"]["real"].status == "ok"     # f0 does not need units
    for rec in few:
        for tr in rec:
            tr.stats.units = "m/s**2"
    rep = evaluate({"real": few}, n_bootstrap=5, min_records=3)
    if importlib.util.find_spec("obspy_gen.core.intensity") is None:
        assert not rep.im["available"] and "not available" in rep.im["reason"]
    else:  # obspy_gen.core.intensity: horizontal geometric means, Sa per period
        assert rep.im["available"]
        assert {"pga", "pgv", "arias", "sa(1 s)"} <= set(rep.im["names"])
        assert np.all(rep.distributions["STA1"]["real"].ims["pga"] > 0)
    assert evaluate({"real": few}, n_bootstrap=5, intensity=False).im["available"] is False

    def broken(rec):
        raise RuntimeError("boom")
    rep = evaluate({"real": few}, n_bootstrap=5, min_records=3, intensity=broken)
    assert rep.distributions["STA1"]["real"].status == "ok"  # IMs failing cost only the IMs
    assert any("IMs failed" in i["reason"] for i in rep.issues)


def test_progress_is_advanced_record_by_record(real):
    calls = []

    class Bar:
        def __init__(self, total):
            calls.append(("total", total))

        def update(self, n):
            calls.append(("update", n))

        def close(self):
            calls.append(("close", None))

    sub = real.select(station="STA1")
    evaluate({"real": sub}, n_bootstrap=5, progress=Bar, intensity=False)
    assert calls[0] == ("total", N_PER_STATION) and calls[-1] == ("close", None)
    assert sum(n for k, n in calls if k == "update") == N_PER_STATION


def test_write_report_files(report, tmp_path):
    paths = write_report(report, tmp_path)
    names = {p.name for p in paths}
    assert {"report.json", "report.html", "similarity_matrix.png"} <= names
    assert {f"f0_{s}.png" for s in STATIONS} | {f"hvsr_{s}.png" for s in STATIONS} <= names
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["alignment"]["full_sets"] == pytest.approx(report.alignment)
    assert set(data["figures"]) == names - {"report.json", "report.html"}
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(data["figures"])
    assert "src=\"http" not in page and "<link" not in page  # self-contained
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_require_clear_does_not_count_unclear_peaks_as_no_peak():
    from obspy_gen.evaluate import evaluate
    from .conftest import resonance_record
    recs = [resonance_record(4.0, duration=60, seed=k, station="S") for k in range(6)]
    for k in range(3):              # plain noise: peaks, but no clear one
        noise = resonance_record(4.0, duration=60, seed=50 + k, station="S")
        rng = np.random.default_rng(k)
        for tr in noise:
            tr.data = rng.standard_normal(tr.stats.npts)
        recs.append(noise)
    loose = evaluate({"real": recs}, n_bootstrap=2, min_records=2)
    strict = evaluate({"real": recs}, n_bootstrap=2, min_records=2, require_clear=True)
    a = loose.to_dict()["stations"]["S"]["groups"]["real"]
    b = strict.to_dict()["stations"]["S"]["groups"]["real"]
    assert a["n_unclear"] == b["n_unclear"] > 0
    assert a["n_no_peak"] == b["n_no_peak"] < b["n_unclear"]

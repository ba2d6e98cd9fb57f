"""Physics and API checks of the ``stochastic`` generator plugin (Boore 2003 + soil column)."""
import csv
import json
import math
import os

import numpy as np
import pytest
from obspy import Stream, read

import obspy_gen
from obspy_gen.plugins.base import nehrp_class
from obspy_gen.plugins.stochastic import (PAPER5, SoilProfile, StochasticGenerator, corpus,
                                          get_station, simulate, source_spectrum, station_seed)
from obspy_gen.plugins.stochastic.synthesis import saragoni_hart

TABLE_I = {"2020": (5.1, 71), "4628": (1.8, 38), "0205": (2.6, 98), "1716": (6.4, 110),
           "3130": (12.8, 31)}


@pytest.fixture(scope="module")
def gen():
    return StochasticGenerator()


# -- site column ---------------------------------------------------------------------------

def test_single_layer_f0_is_quarter_wavelength():
    # The example: 20 m of 200 m/s over 800 m/s rock peaks at ~2.47 Hz (Vs/4H = 2.5).
    p = SoilProfile([(20, 200, 1800, 0.05)], (800, 2200, 0.01))
    assert p.quarter_wavelength_f0 == pytest.approx(2.5)
    assert p.f0 == pytest.approx(2.47, abs=0.01)
    for h, vs in ((10, 150), (40, 300), (5, 400)):
        p = SoilProfile([(h, vs, 1800, 0.02)], (1200, 2300, 0.01))
        assert p.f0 == pytest.approx(vs / (4 * h), rel=0.02)


@pytest.mark.parametrize("layers, halfspace", [
    ([(10, 200, 1800, .02)], (800, 2200, .01)),                       # thinner than 30 m
    ([(5, 150, 1700, .03), (12, 300, 1850, .02), (40, 500, 2000, .02)], (1500, 2400, .01)),
    ([(50, 180, 1750, .03)], (900, 2200, .01)),                       # thicker than 30 m
    ([], (760, 2200, .01)),                                           # rock outcrop
])
def test_vs30_matches_profile_formula(layers, halfspace):
    # Vs30 = 30 / sum(h_i / vs_i) over the top 30 m, extending the half-space below.
    travel, depth = 0.0, 0.0
    for h, vs, _, _ in layers:
        use = min(h, 30 - depth)
        travel, depth = travel + use / vs, depth + use
    travel += max(30 - depth, 0) / halfspace[0]
    p = SoilProfile(layers, halfspace)
    assert p.vs30 == pytest.approx(30 / travel)
    assert p.nehrp_class == nehrp_class(30 / travel)


def test_paper5_profiles_match_table_i():
    assert [s.code for s in PAPER5] == list(TABLE_I)
    for st in PAPER5:
        f0, n = TABLE_I[st.code]
        assert st.n_records == n
        assert st.f0_target == f0
        assert st.f0 == pytest.approx(f0, rel=0.01)   # SH transfer-function peak


def test_vertical_response_is_weaker_and_higher():
    p = get_station("4628").profile
    f = np.geomspace(0.5, 30, 800)
    sh, pv = p.transfer_functions(f)
    assert f[np.argmax(np.abs(pv))] > 1.5 * p.f0
    assert np.abs(pv).max() < np.abs(sh).max()


@pytest.mark.parametrize("layers, halfspace, match", [
    ([(-5, 200, 1800, .02)], (800, 2200, .01), "layer 1: thickness"),
    ([(5, 0, 1800, .02)], (800, 2200, .01), "layer 1: vs"),
    ([(5, 200, 1.8, .02)], (800, 2200, .01), "density"),          # g/cm^3 by mistake
    ([(5, 200, 1800, 5)], (800, 2200, .01), "damping"),           # percent by mistake
    ([(5, 200, 1800, .02)], (800, 2200), "half-space"),
])
def test_non_physical_profile_is_rejected(layers, halfspace, match):
    with pytest.raises(ValueError, match=match) as info:
        SoilProfile(layers, halfspace)
    assert "\n" not in str(info.value)


def test_profile_files(tmp_path):
    csv_path = tmp_path / "site.csv"
    csv_path.write_text("# my site\nthickness,vs,density,damping\n20,200,1800,0.05\n"
                        ",800,2200,0.01\n")
    json_path = tmp_path / "site.json"
    json_path.write_text(json.dumps({"layers": [[20, 200, 1800, 0.05]],
                                     "halfspace": [800, 2200, 0.01]}))
    a, b = SoilProfile.read(csv_path), SoilProfile.read(json_path)
    assert a == b
    assert SoilProfile.from_dict(a.to_dict()) == a
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        SoilProfile.read(bad)


# -- source, envelope ----------------------------------------------------------------------

def test_saragoni_hart_shape():
    t = np.linspace(0, 5, 5001)
    w = saragoni_hart(t, 2.0)
    assert t[np.argmax(w)] == pytest.approx(0.2 * 4.0, abs=1e-3)   # peak at eps * tn
    assert w.max() == pytest.approx(1.0)
    assert saragoni_hart(4.0, 2.0) == pytest.approx(0.05)           # eta at tn
    assert saragoni_hart(4.1, 2.0) == 0


def _horizontal_fas(st, freqs):
    """RMS over records and horizontal components of |FFT| * dt, at ``freqs``."""
    power = []
    for tr in st:
        if tr.stats.channel[-1] == "Z":
            continue
        f = np.fft.rfftfreq(tr.stats.npts, tr.stats.delta)
        amp = np.abs(np.fft.rfft(tr.data)) * tr.stats.delta
        # Average the periodogram over +-10 % bands: it scatters ~100 % bin to bin.
        power.append([np.mean(amp[(f > 0.9 * fc) & (f < 1.1 * fc)] ** 2) for fc in freqs])
    return np.sqrt(np.mean(power, axis=0))


@pytest.mark.parametrize("magnitude", [4.0, 6.0])
def test_fourier_amplitude_follows_brune_corner(gen, magnitude):
    rock = SoilProfile([], (800, 2200, 0.01))           # no soil: transfer function 1
    event = dict(magnitude=magnitude, distance=20.0, depth=10.0, stress_drop=100.0)
    st = gen.generate(station=rock, n=30, seed=11, noise_level=0, **event)
    freqs = np.geomspace(0.15, 25, 40)
    sim = _horizontal_fas(st, freqs)
    target = source_spectrum(freqs=freqs, **event)
    # The simulated spectrum follows pyrvt's Boore (2003) spectrum...
    assert np.exp(np.abs(np.mean(np.log(sim / target.fas)))) < 1.15
    # ... and, divided by everything but the source shape, gives back the Brune corner.
    shape = sim / (target.fas * (1 + (freqs / target.corner_frequency) ** 2))
    grid = np.geomspace(0.05, 50, 400)
    misfit = []
    for fc in grid:
        model = np.log(1 / (1 + (freqs / fc) ** 2))
        resid = np.log(shape) - model
        misfit.append(np.sum((resid - resid.mean()) ** 2))
    fc_fit = grid[int(np.argmin(misfit))]
    assert fc_fit == pytest.approx(target.corner_frequency, rel=0.25)


def test_pga_scales_with_magnitude_and_distance(gen):
    def median_pga(**event):
        st = gen.generate(station="1716", n=12, seed=5, **event)
        return np.median([st[3 * i].stats.obspy_gen.pga for i in range(12)])
    by_m = [median_pga(magnitude=m, distance=30.0) for m in (4.0, 5.0, 6.0)]
    by_r = [median_pga(magnitude=5.5, distance=r) for r in (10.0, 40.0, 120.0)]
    assert by_m[0] < by_m[1] < by_m[2]
    assert by_r[0] > by_r[1] > by_r[2]


# -- HVSR recovers the site f0 -------------------------------------------------------------

def test_hvsr_recovers_station_f0(gen):
    # Table I's record counts; per-record f0 with obspy_gen.hvsr (whole record, squared
    # average, Konno-Ohmachi b=40, highest peak in 1-20 Hz) as the paper computes it.
    for st_info in PAPER5:
        f0, n = TABLE_I[st_info.code]
        st = gen.generate(station=st_info.code, n=n, seed=station_seed(0, st_info.code))
        res = obspy_gen.hvsr(st, fmin=0.5, fmax=25, nfreq=128, f0_range=(1, 20), nfft=16384)
        assert res.n_windows == n
        median = float(np.median(res.f0_windows))
        assert median == pytest.approx(f0, rel=0.10), st_info.code


# -- Stream output ---------------------------------------------------------------------------

def test_stream_layout_and_labels(gen):
    st = gen.generate(station="2020", n=3, seed=4)
    assert len(st) == 9
    assert [tr.stats.channel for tr in st] == ["HNN", "HNE", "HNZ"] * 3
    for i in range(3):
        rec = st[3 * i:3 * i + 3]
        meta = rec[0].stats.obspy_gen
        assert all(tr.stats.starttime == rec[0].stats.starttime for tr in rec)
        assert meta.model == "stochastic" and meta.synthetic and meta.record == i
        assert meta.seed == 4 and meta.version == StochasticGenerator.version
        assert meta.station == "2020" and meta.nehrp_class == "C"
        assert meta.f0 == pytest.approx(5.1, rel=0.01)
        assert meta.vs30 == pytest.approx(get_station("2020").vs30)
        assert 0 < meta.p_arrival < meta.s_arrival < rec[0].stats.npts / 100
        assert meta.pga == pytest.approx(max(np.abs(tr.data).max() for tr in rec[:2]))
        assert rec[0].stats.units == "m/s**2" and rec[0].stats.sampling_rate == 100
        assert rec[0].id == "SY.2020.00.HNN"
        # Before the P arrival there is only background noise.
        i_p = int(meta.p_arrival * 100)
        assert np.abs(rec[2].data[:i_p - 50]).max() < 0.01 * np.abs(rec[2].data).max()
        if i:
            assert rec[0].stats.starttime > st[3 * i - 1].stats.endtime
    # split_records sees n records
    assert len(obspy_gen.split_records(st)) == 3


def test_reproducible_with_seed(gen):
    a = gen.generate(station="3130", n=3, seed=9)
    b = StochasticGenerator().generate(station="3130", n=3, seed=9)
    c = gen.generate(station="3130", n=3, seed=10)
    one = gen.generate(station="3130", n=1, seed=9)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)
    assert not np.array_equal(a[0].data[:1000], c[0].data[:1000])
    # record i does not depend on how many were asked for
    np.testing.assert_array_equal(one[0].data, a[0].data)
    drawn = gen.generate(station="3130", n=1)
    assert isinstance(drawn[0].stats.obspy_gen.seed, int)


def test_custom_profile_and_sampling_rate(gen):
    st = gen.generate(station=None, profile=[(20, 200, 1800, 0.05), (0, 800, 2200, 0.01)],
                      code="MYS", n=1, seed=1, sampling_rate=200)
    assert st[0].stats.station == "MYS" and st[0].stats.sampling_rate == 200
    assert st[0].stats.obspy_gen.f0 == pytest.approx(2.47, abs=0.01)


@pytest.mark.parametrize("kwargs, match", [
    (dict(station="9999"), "unknown station code '9999'; known: 2020, 4628, 0205, 1716, 3130"),
    (dict(station="4628", magnitude=-1.0), "magnitude must be in"),
    (dict(station="4628", distance=(50, 10)), "min <= max"),
    (dict(station="4628", sampling_rate=7), "sampling_rate must be between"),
    (dict(station="4628", n=-1), "n must be"),
])
def test_bad_input_one_line_error(gen, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        gen.generate(**kwargs)
    assert "\n" not in str(info.value)


def test_unknown_option(gen):
    with pytest.raises(TypeError, match="unknown option"):
        gen.generate(station="4628", magnitdue=5)


def test_registry_and_stream_method():
    cls = obspy_gen.plugins.load("generators", "stochastic")
    assert cls is StochasticGenerator and cls.missing_requirements() == ()
    if not hasattr(Stream, "generate"):
        pytest.skip("Stream.generate not attached")
    st = Stream().generate(station="4628", model="stochastic", n=2, seed=3)
    assert len(st) == 6 and st[0].stats.obspy_gen.f0 == pytest.approx(1.8, rel=0.01)
    with pytest.raises(ValueError, match="known: 2020"):
        Stream().generate(station="nope", model="stochastic")


# -- corpus and catalogue simulation -----------------------------------------------------------

def test_corpus_spans_classes_and_is_seeded():
    stations = corpus()
    assert len(stations) >= 300
    assert {s.nehrp_class for s in stations} == {"B", "C", "D", "E"}
    assert all(s.n_records == 20 for s in stations)
    again = corpus(12, 20, seed=0)
    assert [s.profile for s in again] == [s.profile for s in stations[:12]]
    assert [s.profile for s in corpus(12, 20, seed=1)] != [s.profile for s in again]


def test_simulate_writes_records_and_tables(tmp_path):
    out = tmp_path / "sim"
    res = simulate("paper5", out=out, seed=2, n=2)
    names = sorted(os.listdir(out))
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    mseed = [n for n in names if n.endswith(".mseed")]
    assert len(mseed) == 10 and "SY.4628.00_stochastic_0001.mseed" in mseed
    assert {"stations.csv", "records.csv", "profiles.json"} <= set(names)
    rec = read(str(out / "SY.4628.00_stochastic_0001.mseed"))
    assert [tr.stats.channel for tr in rec] == ["HNN", "HNE", "HNZ"]
    with open(out / "stations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:8] == ["network", "station", "location", "latitude", "longitude",
                                 "vs30", "nehrp_class", "f0"]
    assert [r["station"] for r in rows] == list(TABLE_I)
    with open(out / "records.csv") as fh:
        labels = list(csv.DictReader(fh))
    assert len(labels) == 10
    row = next(r for r in labels if r["file"] == "SY.4628.00_stochastic_0001.mseed")
    assert float(row["pga"]) == pytest.approx(np.abs(rec[:2].max()).max(), rel=1e-4)
    # Provenance that miniSEED drops (stats.obspy_gen, units) is in the table ...
    assert (row["model"], row["synthetic"], row["units"], row["record"]) == (
        "stochastic", "True", "m/s**2", "1")
    # ... and comes back when the CLI's reader reads the file.
    from obspy_gen.cli.hvsr import read_files
    (_, back), = read_files([str(out / "SY.4628.00_stochastic_0001.mseed")], quiet=True)[0]
    meta = back[0].stats.obspy_gen
    assert back[0].stats.units == "m/s**2" and meta.synthetic is True and meta.record == 1
    assert meta.f0 == pytest.approx(float(row["f0"])) and meta.nehrp_class == row["nehrp_class"]
    # The same seed reproduces the files; station seeds are recorded.
    again = simulate("paper5", seed=2, n=2)
    st = again.streams["SY.4628.00"]
    np.testing.assert_allclose(rec[0].data, st[3].data.astype(np.float32))
    assert int(rows[1]["seed"]) == station_seed(2, "4628")
    assert res.records[0]["seed"] == station_seed(2, "2020")


@pytest.mark.parametrize("kwargs", [
    dict(catalog="paper5", magnitude=-2.0),
    dict(catalog="nope"),
    dict(catalog="paper5", sampling_rate=5000),
    dict(catalog=None, profile=[(10, 200, 1800, 0.02), (0, 10, 2200, 0.01)]),
])
def test_simulate_bad_input_writes_nothing(tmp_path, kwargs):
    out = tmp_path / "never"
    with pytest.raises(ValueError):
        simulate(out=out, n=1, **kwargs)
    assert not out.exists()


def test_simulate_corpus_small(tmp_path):
    res = simulate("corpus", out=tmp_path, seed=0, n_stations=4, records_per_station=1)
    assert [r["nehrp_class"] for r in res.stations] == ["B", "C", "D", "E"]
    assert len(res.files) == 4
    assert math.isclose(float(res.stations[0]["vs30"]), corpus(1, 1)[0].vs30, rel_tol=1e-3)

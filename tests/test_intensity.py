"""Intensity measures: hand-computed cases, closed-form pulses, the exact recurrence, pyrotd.

pyrotd is a test-only reference (the package never imports it). pyrotd 0.6 imports
``pkg_resources``, which recent setuptools no longer ships; :func:`import_pyrotd` supplies the
one function it uses when it is missing.
"""
import csv
import importlib.metadata
import json
import math
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from obspy import Stream, Trace, UTCDateTime
from scipy import signal

import obspy_gen
from obspy_gen.core import intensity as im
from obspy_gen.data import read_bundled


def import_pyrotd():
    # Only while pyrotd is imported: a stand-in left in sys.modules would confuse other
    # users of pkg_resources (pytest's monkeypatch.syspath_prepend, for one).
    shim = None
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.get_distribution = lambda name: types.SimpleNamespace(
                version=importlib.metadata.version(name))
            sys.modules["pkg_resources"] = shim
    try:
        pyrotd = pytest.importorskip("pyrotd")
    finally:
        if shim is not None and sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]
    pyrotd.processes = 1          # no multiprocessing pool in tests
    return pyrotd


def band_limited_record(seconds=30.0, dt=0.01, seed=0, band=(0.1, 40.0)):
    """Enveloped, band-passed noise that starts and ends at zero (a tapered record)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds / dt))
    t = np.arange(n) * dt
    x = rng.standard_normal(n) * (t / 5) ** 2 * np.exp(-2 * t / 5)
    sos = signal.butter(4, band, "bandpass", fs=1 / dt, output="sos")
    return signal.sosfiltfilt(sos, x) * signal.windows.tukey(n, 0.1)


def sin4_pulse(dt, D=0.05, T=2.0, t0=15.0, seconds=40.0):
    """d = D sin^4(pi (t - t0) / T) on [t0, t0 + T]: acceleration, PGV and PGD in closed form."""
    t = np.arange(0, seconds, dt)
    x = np.clip((t - t0) / T, 0, 1) * np.pi
    s, c, k = np.sin(x), np.cos(x), np.pi / T
    acc = D * k**2 * (12 * s**2 * c**2 - 4 * s**4)
    # v = 4 D k sin^3 cos, largest where tan^2 = 3: 4 (sqrt(3)/2)^3 (1/2) = 3 sqrt(3) / 4.
    return acc, 3 * math.sqrt(3) / 4 * D * k, D


# --------------------------------------------------------------------------- units


def test_unit_factors_and_trace_conversion():
    assert im.unit_factor("gal") == im.unit_factor("cm/s**2") == im.unit_factor("CM/S^2") == 0.01
    assert im.unit_factor("m/s**2") == im.unit_factor("m/s^2") == 1.0
    assert im.unit_factor("g") == pytest.approx(9.80665)
    with pytest.raises(ValueError, match="unknown acceleration units"):
        im.unit_factor("m/s")
    tr = Trace(np.array([0.0, 250.0, -500.0]))
    tr.stats.units = "gal"
    assert im.pga(tr) == pytest.approx(5.0)                   # gal converted to m/s**2
    assert im.acceleration_si(tr, units="m/s**2")[0][2] == -500.0   # explicit override
    with pytest.raises(im.UnitsUnknownError, match=r"^\.\.\.: units unknown"):
        im.acceleration_si(Trace(np.zeros(2)))            # never assumed to be m/s**2
    with pytest.raises(ValueError, match="^XX.A..HNZ: unknown acceleration units 'counts'"):
        bad = Trace(np.zeros(2), header={"network": "XX", "station": "A", "channel": "HNZ"})
        bad.stats.units = "counts"
        im.acceleration_si(bad)


def test_knet_counts_use_calib():
    # ObsPy's K-NET reader: counts with calib to m/s**2. Header Max. Acc. (gal, mean removed):
    # NS 4.954, EW 4.078, UD 2.240.
    rec = im.intensity_measures(read_bundled("AOM001"), periods=[0.1], detrend="constant")[0]
    assert rec.source_units["N"] == "counts*calib (KNET)"
    got = [rec.components[c]["pga"] * 100 for c in "NEZ"]
    np.testing.assert_allclose(got, [4.954, 4.078, 2.240], atol=6e-4)


def _knet_inventory(st):
    """StationXML-style inventory of K-NET channels: flat response, counts per m/s**2."""
    from obspy.core.inventory import Channel, Inventory, Network, Response, Station
    stations = {}
    for tr in st:
        s = tr.stats
        sta = stations.setdefault(s.station, Station(s.station, s.knet.stla, s.knet.stlo, 0.0))
        response = Response.from_paz([], [], stage_gain=1.0 / s.calib, input_units="M/S**2",
                                     output_units="COUNTS")
        sta.channels.append(Channel(s.channel, s.location, s.knet.stla, s.knet.stlo, 0.0, 0.0,
                                    sample_rate=s.sampling_rate, response=response,
                                    start_date=s.starttime - 86400))
    return Inventory([Network(st[0].stats.network, stations=list(stations.values()))],
                     source="test")


def test_knet_in_counts_refused_unless_calibrated_or_given_a_response(tmp_path):
    calibrated = im.intensity_measures(read_bundled("AOM001"), periods=[0.1, 1.0])[0]
    # The same record through miniSEED: counts, no calib, no units -- must not pass as m/s**2.
    path = tmp_path / "aom001.mseed"
    st = read_bundled("AOM001")
    for tr in st:
        tr.stats.station = "AOM01"            # miniSEED station codes have 5 characters
    st.write(str(path), format="MSEED")
    from obspy import read
    counts = read(str(path))
    assert "units" not in counts[0].stats and counts[0].stats.calib == 1.0
    rec = im.intensity_measures(counts, periods=[0.1, 1.0])[0]
    assert rec.error.startswith("BO.AOM01..") and "units unknown" in rec.error
    assert "inventory (StationXML)" in rec.error
    for comp in "NEZ":
        m = rec.components[comp]
        assert all(math.isnan(m[k]) for k in ("pga", "pgv", "pgd", "arias", "cav"))
        assert all(math.isnan(v) for v in m["sa"])
        # Durations do not depend on the scale: equal to the calibrated record's.
        assert m["d5_95"] == pytest.approx(calibrated.components[comp]["d5_95"], rel=1e-9)
    assert rec.source_units == {"N": "unknown", "E": "unknown", "Z": "unknown"}
    with pytest.raises(im.UnitsUnknownError, match="BO.AOM01..NS"):
        im.pga(counts.select(channel="NS")[0])
    # Told the units (here: the calib, i.e. counts -> m/s**2 by hand): all measures.
    for tr in counts:
        tr.data = tr.data * st.select(channel=tr.stats.channel)[0].stats.calib
    told = im.intensity_measures(counts, periods=[0.1, 1.0], units="m/s**2")[0]
    assert told.error is None
    assert told.components["N"]["pga"] == pytest.approx(calibrated.components["N"]["pga"])
    # Or given the instrument response: an Inventory, or the same as a StationXML file.
    raw = read(str(path))
    inv = _knet_inventory(st)
    inv.write(str(tmp_path / "knet.xml"), format="STATIONXML")
    for inventory in (inv, str(tmp_path / "knet.xml")):
        rec = im.intensity_measures(raw, periods=[0.1, 1.0], inventory=inventory)[0]
        assert rec.error is None and rec.source_units["N"] == "counts (response removed)"
        for comp in "NEZ":    # K-NET header PGA (gal): NS 4.954, EW 4.078, UD 2.240
            assert rec.components[comp]["pga"] == pytest.approx(
                calibrated.components[comp]["pga"], rel=2e-3)
            assert rec.components[comp]["sa"][1] == pytest.approx(
                calibrated.components[comp]["sa"][1], rel=2e-2)
    with pytest.raises(ValueError, match="nowhere.xml: cannot read the inventory"):
        im.intensity_measures(raw, inventory=str(tmp_path / "nowhere.xml"))
    other = _knet_inventory(st)
    other[0][0].code = "ELSE"
    rec = im.intensity_measures(raw, periods=[1.0], inventory=other)[0]
    assert "cannot remove the response" in rec.error and rec.error.startswith("BO.AOM01..")


def test_afad_pga_in_gal_matches_labels(shared_data):
    # Real AFAD records in gal (stats.units = "gal"): raw max|col| equals the authors' PGA.
    from scipy.io import loadmat
    folder = shared_data / "afad_mat"
    rows = list(csv.DictReader(open(folder / "labels.csv")))
    for row in rows[:2]:
        acc = loadmat(folder / row["file"])["EQ"]["anEQ"][0, 0]["Accel"][0, 0]
        st = Stream([Trace(np.ascontiguousarray(acc[:, i]), header=dict(
            station=row["station"], channel="HN" + c, sampling_rate=100.0)) for i, c in
            enumerate("NEZ")])
        for tr in st:
            tr.stats.units = "gal"
        rec = im.intensity_measures(st, periods=[0.2], detrend=None)[0]
        expected = [float(row[f"pga_col{i}_gal"]) / 100 for i in (1, 2, 3)]
        np.testing.assert_allclose([rec.components[c]["pga"] for c in "NEZ"], expected,
                                   rtol=1e-6)


# --------------------------------------------------------------------------- hand-computed


def test_sine_arias_cav_pga():
    dt, A, D, f = 0.01, 1.5, 10.0, 2.5
    a = A * np.sin(2 * np.pi * f * np.arange(0, D + dt / 2, dt))     # 25 whole cycles
    assert im.pga(a) == pytest.approx(A, rel=1e-12)
    # Trapezoid of sin^2 over whole cycles is exact: pi / (2 g) A^2 D / 2.
    assert im.arias_intensity(a, dt) == pytest.approx(np.pi / (2 * im.G) * A**2 * D / 2,
                                                      rel=1e-12)
    # CAV = 2 A D / pi; the trapezoid of |sin| over 50 half cycles of 20 steps is exactly
    # A dt cot(pi / 40) each, 0.2 % below the integral.
    assert im.cav(a, dt) == pytest.approx(50 * A * dt / math.tan(np.pi / 40), rel=1e-12)
    assert im.cav(a, dt) == pytest.approx(2 * A * D / np.pi, rel=2.5e-3)
    # A steady sine: the Husid plot is a line (plus ripple of one half cycle).
    assert im.significant_duration(a, dt) == pytest.approx(0.9 * D, abs=0.13)


def test_boxcar_arias_durations_cav():
    dt, A, n = 0.01, 0.4, 1000                 # 1000 samples: 10 s of energy
    a = np.zeros(4000)
    a[1500:1500 + n] = A
    assert im.arias_intensity(a, dt) == pytest.approx(np.pi / (2 * im.G) * A**2 * n * dt,
                                                      rel=1e-12)
    assert im.cav(a, dt) == pytest.approx(A * n * dt, rel=1e-12)
    assert im.significant_duration(a, dt) == pytest.approx(9.0, rel=1e-9)
    assert im.significant_duration(a, dt, 0.05, 0.75) == pytest.approx(7.0, rel=1e-9)
    h = im.husid(a, dt)
    assert h[0] == 0 and h[-1] == 1 and np.all(np.diff(h) >= 0)
    assert math.isnan(im.significant_duration(np.zeros(10), dt))
    with pytest.raises(ValueError):
        im.significant_duration(a, dt, 0.5, 0.4)


def test_pgv_pgd_closed_form_pulse():
    dt = 0.005
    acc, pgv_exact, pgd_exact = sin4_pulse(dt)
    # Detrend only (the pulse starts and ends at rest: its mean and first moment are zero).
    assert im.pgv(acc, dt, highpass=None) == pytest.approx(pgv_exact, rel=2e-4)
    assert im.pgd(acc, dt, highpass=None) == pytest.approx(pgd_exact, rel=2e-4)
    # An offset and a linear trend in the acceleration are what the detrend removes.
    t = np.arange(acc.size) * dt
    drift = acc + 0.01 + 5e-4 * t
    assert im.pgd(drift, dt, highpass=None) == pytest.approx(pgd_exact, rel=2e-4)
    assert im.pgd(drift, dt, detrend=None, highpass=None) > 50 * pgd_exact
    # The high-pass costs a one-sided 2-s displacement pulse some PGD (its energy is near
    # DC): about -8 % at 0.05 Hz, -15 % at the default 0.1 Hz; PGV hardly moves.
    assert im.pgv(acc, dt, highpass=0.05) == pytest.approx(pgv_exact, rel=1e-3)
    assert im.pgd(acc, dt, highpass=0.05) == pytest.approx(pgd_exact, rel=0.1)
    assert im.pgd(acc, dt) == pytest.approx(pgd_exact, rel=0.2)
    v, d = im.velocity_displacement(acc, dt)
    assert v.shape == d.shape == acc.shape
    with pytest.raises(ValueError, match="highpass"):
        im.pgv(acc, dt, highpass=500.0)


# --------------------------------------------------------------------------- spectra


def test_recurrence_is_exact_for_linear_excitation():
    # scipy's lsim with first-order hold is exact for a piecewise-linear input; on a grid 20x
    # finer (input linearly interpolated, which keeps it the same function) with zero padding
    # its sampled peak is within 3e-5 of the continuous peak. Ours takes the peak between
    # samples from a cubic Hermite fit, relative error ~ (w dt)^4 / 384: 2.5e-5 at 20 samples
    # per period (what oversample="auto" guarantees), 0.6 % at 5 (T = 0.05 s here).
    dt = 0.01
    a = band_limited_record(seconds=5.0, dt=dt, seed=3)
    for period in (0.2, 0.5, 1.5):
        w = 2 * np.pi / period
        # Later free-vibration extrema only decay: two periods of zeros hold the first one.
        padded = np.concatenate([a, np.zeros(int(2 * period / dt) + 10)])
        fine_t = np.arange((padded.size - 1) * 20 + 1) * dt / 20
        fine = np.interp(fine_t, np.arange(padded.size) * dt, padded)
        _, y, _ = signal.lsim(signal.lti([-1.0], [1, 2 * 0.05 * w, w * w]), fine, fine_t,
                              interp=True)
        expected = w * w * np.abs(y).max()
        got = im.spectral_acceleration(a, dt, period, oversample=1)
        assert got == pytest.approx(expected, rel=5e-5), period


def test_sa_matches_pyrotd():
    # pyrotd works in the frequency domain: the exact response of the band-limited record,
    # periodic over the FFT length, sampled max_freq_ratio * 2 times per oscillator period.
    # With enough zero padding (no wrap-around), fine output sampling and its inverse-FFT
    # normalisation corrected (it scales by m / n instead of (m - 1) / (n - 1) when it pads the
    # spectrum), it is the reference our band-limited oversampling aims at.
    pyrotd = import_pyrotd()
    dt, N, ratio = 0.01, 2**14, 100
    periods = np.array([0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
    records = [band_limited_record(dt=dt)]
    bundled = read_bundled("AOM001").select(channel="NS")[0]
    real = im.acceleration_si(bundled)[0][:6000]
    records.append((real - real.mean()) * signal.windows.tukey(real.size, 0.1))
    worst = 0.0
    for a in records:
        ours = im.spectral_acceleration(a, dt, periods)
        padded = np.concatenate([a, np.zeros(N - a.size)])
        ref = pyrotd.calc_spec_accels(dt, padded, 1 / periods, 0.05,
                                      max_freq_ratio=ratio).spec_accel
        n = N // 2 + 1
        m = np.maximum(n, (ratio / periods * N * dt).astype(int))
        ref = ref * ((m - 1) / (n - 1)) / (m / n)
        np.testing.assert_allclose(ours, ref, rtol=5e-4)
        worst = max(worst, float(np.max(np.abs(ours / ref - 1))))
    print(f"Sa vs pyrotd: max relative difference {worst:.1e}")
    # Without oversampling, linear interpolation loses sinc^2(f dt) at short periods.
    plain = im.spectral_acceleration(records[0], dt, [0.05, 2.0], oversample=1)
    auto = im.spectral_acceleration(records[0], dt, [0.05, 2.0])
    assert plain[0] < 0.95 * auto[0] and plain[1] == pytest.approx(auto[1], rel=1e-3)


def test_sa_limits_padding_and_free_vibration():
    dt = 0.01
    a = band_limited_record(seconds=10.0, seed=1)
    # Rigid oscillator: Sa -> PGA of the band-limited record, whose peak between samples
    # (content up to 40 Hz at 100 Hz sampling) is 3 % above the largest sample here.
    band_limited_pga = im.pga(signal.resample(np.concatenate([a, np.zeros(1000)]), 64 * 2000))
    assert band_limited_pga > 1.02 * im.pga(a)
    # (Content at f is amplified by 1 / (1 - (f T)^2): 0.4 % for 40 Hz at T = 1 ms.)
    assert im.spectral_acceleration(a, dt, 0.001) == pytest.approx(band_limited_pga, rel=1e-3)
    # The free vibration after the record is in the peak: padding zeros changes nothing (but
    # the Hermite peak error of the padded run, ~(w dt)^4 / 384).
    late = np.zeros(500)
    late[-20:] = np.hanning(20)                # a short pulse right at the end
    for x in (a, late):
        padded = np.concatenate([x, np.zeros(3000)])
        np.testing.assert_allclose(
            im.spectral_acceleration(x, dt, [0.1, 1.0, 4.0], oversample=1),
            im.spectral_acceleration(padded, dt, [0.1, 1.0, 4.0], oversample=1), rtol=1e-6)
    # Harmonic excitation at resonance: steady state 1 / (2 zeta).
    t = np.arange(0, 120, 0.005)
    sa = im.spectral_acceleration(np.sin(2 * np.pi * t), 0.005, 1.0, damping=0.02)
    assert sa == pytest.approx(25.0, rel=1e-3)


def test_sa_bad_arguments():
    a = np.ones(10)
    for kwargs in (dict(periods=[0.0]), dict(periods=[-1.0]), dict(periods=[]),
                   dict(periods=[1.0], damping=1.0), dict(periods=[1.0], oversample="x"),
                   dict(periods=[1.0], oversample=0)):
        with pytest.raises(ValueError):
            im.spectral_acceleration(a, 0.01, **kwargs)
    with pytest.raises(TypeError, match="dt"):
        im.spectral_acceleration(a, None, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        im.pga([1.0, np.nan])


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 10_000))
def test_scaling_properties(scale, seed):
    a = np.random.default_rng(seed).standard_normal(400) * np.hanning(400)
    dt = 0.01
    assert im.arias_intensity(scale * a, dt) == pytest.approx(
        scale**2 * im.arias_intensity(a, dt), rel=1e-9)
    assert im.significant_duration(scale * a, dt) == pytest.approx(
        im.significant_duration(a, dt), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(im.spectral_acceleration(scale * a, dt, [0.1, 1.0]),
                               scale * im.spectral_acceleration(a, dt, [0.1, 1.0]), rtol=1e-9)
    assert im.pgv(scale * a, dt) == pytest.approx(scale * im.pgv(a, dt), rel=1e-9)


# --------------------------------------------------------------------------- records / plugin


def _record(n_scale=1.0, e_scale=2.0, units="m/s**2", station="SITE",
            start=UTCDateTime(2024, 1, 1)):
    a = band_limited_record(seconds=20.0)
    traces = []
    for ch, k in (("HNN", n_scale), ("HNE", e_scale), ("HNZ", 0.5)):
        tr = Trace(a * k, header=dict(network="XX", station=station, channel=ch,
                                      sampling_rate=100.0, starttime=start))
        if units:
            tr.stats.units = units
        traces.append(tr)
    return Stream(traces)


def test_record_result_components_and_combinations():
    st = _record() + _record(station="OTHER")
    result = st.site_metrics("intensity", periods=[0.1, 0.2, 0.5, 1.0, 2.0])
    assert isinstance(result, im.IntensityResult) and len(result) == 2
    rec = result[1]
    assert rec.station == "XX.SITE." and rec.error is None
    n, e = rec.components["N"], rec.components["E"]
    gm, mx = rec.components["geometric_mean"], rec.components["maximum_horizontal_value"]
    assert e["pga"] == pytest.approx(2 * n["pga"])
    assert gm["pga"] == pytest.approx(math.sqrt(2) * n["pga"])
    assert mx["arias"] == pytest.approx(4 * n["arias"])
    assert gm["d5_95"] == pytest.approx(n["d5_95"])        # durations do not scale
    np.testing.assert_allclose(gm["sa"], math.sqrt(2) * np.array(n["sa"]))
    assert set(n) == set(im.UNITS)
    d = json.loads(json.dumps(result.to_dict()))           # JSON-ready
    assert d["periods"] == [0.1, 0.2, 0.5, 1.0, 2.0]
    assert d["records"][1]["starttime"].startswith("2024-01-01T00:00:00")
    assert d["units"]["sa"] == "m/s**2" and d["settings"]["highpass"] == 0.1


def test_gal_records_are_converted():
    si = im.intensity_measures(_record(), periods=[0.5])[0].components
    gal = im.intensity_measures(_record(n_scale=100.0, e_scale=200.0, units="gal"),
                                periods=[0.5])[0]
    assert gal.source_units["N"] == "gal"
    for key in ("pga", "pgv", "pgd", "arias", "cav", "d5_95"):
        assert gal.components["N"][key] == pytest.approx(si["N"][key], rel=1e-9), key
    assert gal.components["N"]["sa"][0] == pytest.approx(si["N"]["sa"][0], rel=1e-9)


def test_bad_records_do_not_stop_the_others():
    good = _record()
    broken = _record(station="BAD")
    broken[0].data[5] = np.nan
    partial = _record(station="HALF")[2:]                    # vertical only: no combinations
    result = im.intensity_measures(good + broken + partial, periods=[1.0])
    by_station = {r.station: r for r in result.records}
    assert "NaN" in by_station["XX.BAD."].error and by_station["XX.BAD."].components == {}
    assert set(by_station["XX.HALF."].components) == {"Z"}
    assert by_station["XX.SITE."].error is None
    # An all-zero trace has no significant duration: NaN, None in the JSON-ready dict.
    dead = _record(station="DEAD")
    dead[0].data[:] = 0.0
    d = im.intensity_measures(dead, periods=[1.0]).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["records"][0]["components"]["N"]["d5_95"] is None
    assert d["records"][0]["components"]["geometric_mean"]["pga"] == 0.0
    with pytest.raises(ValueError, match="damping"):
        im.intensity_measures(good, damping=1.5)
    with pytest.raises(ValueError, match="detrend"):
        im.intensity_measures(good, detrend="cubic")


def test_plugin_registered():
    assert "intensity" in obspy_gen.plugins.available("site_metrics")
    cls = obspy_gen.plugins.load("site_metrics", "intensity")
    assert cls.name == "intensity" and cls.requires == ()

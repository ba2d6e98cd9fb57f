"""fmax and the Nyquist frequency (explicit vs preset), the geopsy preset, nfft='window',
and direction-dependent combinations on 1/2 channels."""
import json

import numpy as np
import pytest
import scipy.signal
from click.testing import CliRunner
from obspy import read

from obspy_gen import PRESETS, HVSRSettings, hvsr
from obspy_gen.cli import main
from obspy_gen.core.hvsr import check_record

from .conftest import resonance_record


def test_fmax_equal_to_nyquist_is_accepted_above_is_an_error():
    st = resonance_record(3.0, duration=60, fs=80.0)            # Nyquist 40 Hz
    result = hvsr(st, fmax=40.0, nfreq=64)
    assert result.frequency[-1] == 40.0 and np.all(np.isfinite(result.mean))
    assert result.notes == []
    with pytest.raises(ValueError, match=r"fmax=40.5 Hz is above the Nyquist frequency "
                                         r"\(40.0 Hz\); give fmax <= 40.0") as info:
        hvsr(st, fmax=40.5)
    assert "XX.SITE..HNN" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="above the Nyquist"):
        hvsr(st, HVSRSettings(fmax=45.0))                       # typed in the settings object
    with pytest.raises(ValueError, match="above the Nyquist"):
        hvsr(st, preset="hvsrpy-default", fmax=45.0)            # override of a preset


def test_preset_fmax_above_nyquist_is_lowered_with_a_note():
    st = resonance_record(3.0, duration=130, fs=50.0, seed=2)   # Nyquist 25 Hz
    result = hvsr(st, preset="hvsrpy-default")                  # fmax 50 Hz
    assert result.settings.fmax == 25.0 and result.frequency[-1] == 25.0
    assert result.frequency.size == 200 and result.frequency[0] == pytest.approx(0.1)
    assert len(result.notes) == 1
    assert "fmax=50.0 Hz of preset 'hvsrpy-default'" in result.notes[0]
    assert "lowered to 25.0 Hz" in result.notes[0]
    assert result.to_dict()["notes"] == result.notes
    assert 2.7 < result.f0 < 3.3
    # The same curve as asking for fmax=25 explicitly.
    explicit = hvsr(st, preset="hvsrpy-default", fmax=25.0)
    np.testing.assert_allclose(result.mean, explicit.mean, rtol=1e-12)
    assert explicit.notes == []
    # A 100-Hz record needs no change (50 Hz = Nyquist is accepted).
    assert hvsr(resonance_record(3.0, duration=130, seed=3), preset="hvsrpy-default").notes == []
    # The class default fmax (25 Hz) is not typed either: lowered on 40-Hz records.
    slow = resonance_record(3.0, duration=60, fs=40.0)
    assert hvsr(slow, HVSRSettings()).settings.fmax == 20.0
    check_record(slow, preset="geopsy")                       # no error for a preset's fmax
    with pytest.raises(ValueError, match="above the Nyquist"):
        check_record(slow, fmax=25.0)


def test_preset_fmax_lowered_to_the_slowest_record():
    a = resonance_record(3.0, duration=60, fs=100.0, seed=1)
    b = resonance_record(3.0, duration=60, fs=50.0, seed=2)
    for tr in b:
        tr.stats.starttime += 3600
    result = hvsr(a + b, preset="geopsy")
    assert result.n_records == 2 and result.frequency[-1] == 25.0
    assert "Nyquist frequency of the records (25.0 Hz)" in result.notes[0]


def test_preset_fmax_that_cannot_be_lowered():
    st = resonance_record(0.1, duration=600, fs=0.8)             # Nyquist 0.4 Hz
    with pytest.raises(ValueError, match="cannot be lowered"):
        hvsr(st, preset="timesnet-gen-paper")                    # fmin 0.5, f0_range 1-20


def test_fmax_origin_survives_replace_and_pickle():
    import pickle
    s = PRESETS["geopsy"].replace(bandwidth=30)
    assert s.fmax_adjustable and pickle.loads(pickle.dumps(s)).fmax_adjustable
    assert not s.replace(fmax=50.0).fmax_adjustable
    assert not HVSRSettings.from_dict(PRESETS["geopsy"].to_dict()).fmax_adjustable
    assert PRESETS["geopsy"] == HVSRSettings.from_dict(PRESETS["geopsy"].to_dict())


def test_cli_preset_on_slow_records_and_no_empty_output_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    resonance_record(3.0, duration=130, fs=50.0).write(str(folder / "a.mseed"), format="MSEED")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["hvsr", str(folder), "--preset", "hvsrpy-default",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "XX.SITE..json").read_text())
    assert data["settings"]["fmax"] == 25.0 and "lowered to 25.0 Hz" in data["notes"][0]
    # An explicit fmax above Nyquist fails every record: exit 1 and no folder left behind.
    out2 = tmp_path / "out2"
    res = CliRunner().invoke(main, ["hvsr", str(folder), "--fmax", "30", "--out", str(out2)])
    assert res.exit_code == 1
    assert "fmax=30.0 Hz is above the Nyquist frequency (25.0 Hz)" in res.output
    assert not out2.exists()
    res = CliRunner().invoke(main, ["hvsr", str(tmp_path / "nothing.mseed"), "--out",
                                    str(tmp_path / "out3")])
    assert res.exit_code != 0 and not (tmp_path / "out3").exists()
    # --nfft takes 'window' (Geopsy) as well as a number.
    for value, stored in (("window", "window"), ("70000", 70000)):
        out4 = tmp_path / f"out_{value}"
        res = CliRunner().invoke(main, ["hvsr", str(folder), "--nfft", value, "--out", str(out4)])
        assert res.exit_code == 0, res.output
        assert json.loads((out4 / "XX.SITE..json").read_text())["settings"]["nfft"] == stored


# ----------------------------------------------------------------------------- geopsy preset

def geopsy_dense(st, settings):
    """Geopsy's documented H/V of one whole-record window, written out densely: linear
    detrend, Tukey taper, FFT of the window itself (no padding), |FFT|, squared average
    sqrt((N^2+E^2)/2), Konno-Ohmachi (main lobe |b log10(f/fc)| <= 3, normalised) of H and V
    on log-spaced centres, H/V."""
    x = {c: st.select(component=c)[0].data.astype(float) for c in "NEZ"}
    n = x["Z"].size
    fs = st[0].stats.sampling_rate
    taper = scipy.signal.windows.tukey(n, settings.taper)
    amp = {c: np.abs(np.fft.rfft(scipy.signal.detrend(v) * taper)) for c, v in x.items()}
    f = np.fft.rfftfreq(n, 1 / fs)
    fc = np.geomspace(settings.fmin, min(settings.fmax, fs / 2), settings.nfreq)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = settings.bandwidth * np.log10(f[1:, None] / fc)
        w = np.where(arg == 0, 1.0, (np.sin(arg) / arg) ** 4)
    w[np.abs(arg) > 3] = 0.0
    smooth = lambda a: (a[1:] @ w) / w.sum(axis=0)  # noqa: E731
    h = np.sqrt((amp["N"] ** 2 + amp["E"] ** 2) / 2)
    return fc, smooth(h) / smooth(amp["Z"]), n


@pytest.mark.parametrize("npts", [6001, 4096])
def test_geopsy_preset_against_dense_reference(npts):
    st = resonance_record(4.0, duration=npts / 100.0 + 1, seed=5)
    for tr in st:
        tr.data = tr.data[:npts]
    s = PRESETS["geopsy"]
    assert s.nfft == "window" and s.combine == "squared_average" and s.bandwidth == 40
    ours = hvsr(st, preset="geopsy")
    fc, curve, n = geopsy_dense(st, s)
    assert n == npts
    np.testing.assert_allclose(ours.frequency, fc, rtol=1e-12)
    np.testing.assert_allclose(ours.mean, curve, rtol=1e-9)
    assert ours.f0 == fc[np.argmax(np.where((fc >= 0.5) & (fc <= 50), curve, 0))]
    # With hvsrpy's zero-padding the curve differs by far more than rounding (the issue's ~1%).
    padded = hvsr(st, preset="geopsy", nfft=None)
    assert np.max(np.abs(padded.mean / curve - 1)) > 1e-3


def test_nfft_window_groups_records_by_length():
    a = resonance_record(3.0, duration=40, seed=1)
    b = resonance_record(3.0, duration=55, seed=2)
    for tr in b:
        tr.stats.starttime += 3600
    both = hvsr(a + b, nfft="window", fmax=20)
    single = [hvsr(r, nfft="window", fmax=20) for r in (a, b)]
    np.testing.assert_allclose(both.curves, np.concatenate([r.curves for r in single]),
                               rtol=1e-12)
    assert HVSRSettings(nfft="WINDOW").nfft == "window" and HVSRSettings(nfft="1024").nfft == 1024
    with pytest.raises(ValueError, match="nfft="):
        HVSRSettings(nfft="pad")


# ----------------------------------------------------------------------------- 1/2 channels

def _rotated(st, az1):
    """The record's horizontals re-recorded on channels 1/2 at azimuths az1, az1 + 90."""
    n = st.select(component="N")[0].data
    e = st.select(component="E")[0].data
    out = st.copy()
    for tr, az, code in zip(out.select(component="[NE]"), (az1, az1 + 90.0), "12"):
        r = np.radians(az)
        tr.data = n * np.cos(r) + e * np.sin(r)
        tr.stats.channel = tr.stats.channel[:2] + code
        tr.stats.azimuth = az % 360
    return out


@pytest.mark.parametrize("az1", [180.0, 30.0, 300.0])
def test_single_azimuth_turns_1_2_channels_to_north_east(az1):
    st = resonance_record(3.0, duration=60, seed=8)
    for az in (0.0, 40.0):
        ref = hvsr(st, combine="single_azimuth", azimuth=az, fmax=20)
        rot = hvsr(_rotated(st, az1), combine="single_azimuth", azimuth=az, fmax=20)
        np.testing.assert_allclose(rot.mean, ref.mean, rtol=1e-7)
    # Rotation-independent combinations need no azimuth and give the same curve.
    for combine in ("squared_average", "total_horizontal_energy"):
        np.testing.assert_allclose(hvsr(_rotated(st, az1), combine=combine, fmax=20).mean,
                                   hvsr(st, combine=combine, fmax=20).mean, rtol=1e-7)


def test_single_azimuth_without_azimuths_says_why():
    st = read()
    for tr in st.select(component="[NE]"):
        tr.stats.channel = tr.stats.channel[:2] + ("1" if tr.stats.channel[-1] == "N" else "2")
    with pytest.raises(ValueError, match="azimuths are unknown.*single_azimuth"):
        hvsr(st, combine="single_azimuth", fmax=20)
    assert hvsr(st, combine="geometric_mean", fmax=20).n_records == 1  # as recorded

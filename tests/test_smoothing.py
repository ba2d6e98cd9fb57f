"""Konno-Ohmachi smoothing against hvsrpy, ObsPy and a direct dense evaluation."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from obspy_gen import konno_ohmachi


def dense(amplitude, frequency, centers, b, main_lobe):
    """Direct, obviously-correct evaluation: one weight vector per centre."""
    out = []
    for fc in centers:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = b * np.log10(frequency / fc)
            w = (np.sin(x) / x) ** 4
        w[frequency == fc] = 1.0
        w[frequency <= 0] = 0.0
        if main_lobe:
            r = frequency / fc
            w[(r < 10 ** (-3 / b)) | (r > 10 ** (3 / b))] = 0.0
        out.append(amplitude @ w / w.sum())
    return np.array(out).T


@pytest.fixture
def spectra():
    rng = np.random.default_rng(1)
    freq = np.fft.rfftfreq(8192, 0.01)
    return freq, np.abs(rng.standard_normal((5, freq.size))) + 0.05


@pytest.mark.parametrize("bandwidth", [10.0, 40.0, 80.0])
def test_main_lobe_equals_hvsrpy(spectra, bandwidth):
    from hvsrpy.smoothing import konno_and_ohmachi
    freq, amp = spectra
    centers = np.geomspace(0.1, 45, 300)
    ours = konno_ohmachi(amp, freq, centers, bandwidth)
    ref = konno_and_ohmachi(freq, amp, centers, bandwidth)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


def test_main_lobe_centres_on_bins_equal_hvsrpy(spectra):
    # Centres exactly on FFT bins exercise the f == fc and lobe-edge tests.
    from hvsrpy.smoothing import konno_and_ohmachi
    freq, amp = spectra
    centers = freq[1:2000:7]
    np.testing.assert_allclose(konno_ohmachi(amp, freq, centers),
                               konno_and_ohmachi(freq, amp, centers, 40.0), rtol=1e-9)


def test_full_kernel_equals_obspy_normalized():
    from obspy.signal.konnoohmachismoothing import konno_ohmachi_smoothing
    rng = np.random.default_rng(2)
    freq = np.linspace(0, 50, 1025)
    amp = np.abs(rng.standard_normal((3, freq.size))) + 0.1
    # enforce_no_matrix: ObsPy's matrix path (2-D input) multiplies by the transpose of its
    # row-normalised window matrix, which is only right for normalize=False (the unnormalised
    # matrix is symmetric); its per-centre loop is the reference.
    ref = konno_ohmachi_smoothing(amp, freq, bandwidth=40, normalize=True,
                                  enforce_no_matrix=True)
    ours = konno_ohmachi(amp, freq, None, 40, truncation="full")
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    # One spectrum (the on-the-fly path) and float32 input give the same.
    np.testing.assert_allclose(konno_ohmachi(amp[0], freq, truncation="full"), ref[0],
                               rtol=1e-6)


def test_obspy_default_is_not_normalised():
    # The documented pitfall: ObsPy's default normalize=False does not divide by the weight
    # sum, so a flat spectrum does not stay flat there; ours always normalises.
    from obspy.signal.konnoohmachismoothing import konno_ohmachi_smoothing
    freq = np.linspace(0, 50, 513)
    flat = np.ones_like(freq)
    raw = konno_ohmachi_smoothing(flat, freq, bandwidth=40, normalize=False)
    assert raw[-1] > 10 * raw[10]
    np.testing.assert_allclose(konno_ohmachi(flat, freq, truncation="full")[1:], 1.0, rtol=1e-12)


@pytest.mark.parametrize("truncation", ["main_lobe", "full"])
def test_against_dense_evaluation(spectra, truncation):
    freq, amp = spectra
    centers = np.geomspace(0.3, 40, 97)
    expected = dense(amp, freq, centers, 40.0, truncation == "main_lobe")
    np.testing.assert_allclose(konno_ohmachi(amp, freq, centers, 40.0, truncation), expected,
                               rtol=1e-9)
    # More than the fused-path limit of spectra: the blocked BLAS path.
    many = np.vstack([amp] * 3)
    np.testing.assert_allclose(konno_ohmachi(many, freq, centers, 40.0, truncation),
                               np.vstack([expected] * 3), rtol=1e-9)


def test_batch_equals_one_by_one(spectra):
    freq, amp = spectra
    centers = np.geomspace(0.2, 40, 64)
    batch = konno_ohmachi(amp, freq, centers)
    for i in range(amp.shape[0]):
        np.testing.assert_array_equal(konno_ohmachi(amp[i], freq, centers), batch[i])


def test_centre_at_zero_and_empty_window():
    freq = np.linspace(0, 10, 101)
    amp = np.arange(101.0) + 7.0
    out = konno_ohmachi(amp, freq, centers=[0.0, 5.0, 1000.0])
    assert out[0] == 7.0                  # ObsPy's limit: the 0-Hz value
    assert np.isnan(out[2])               # no bin inside the window: NaN, never a silent 0
    assert konno_ohmachi(amp, freq, centers=[0.0], truncation="full")[0] == 7.0


@settings(max_examples=40, deadline=None)
@given(level=st.floats(1e-6, 1e6), b=st.floats(5, 100), fc=st.floats(0.5, 40))
def test_flat_spectrum_is_invariant(level, b, fc):
    freq = np.linspace(0, 50, 2001)
    for trunc in ("main_lobe", "full"):
        out = konno_ohmachi(np.full(freq.size, level), freq, [fc], b, trunc)
        np.testing.assert_allclose(out, level, rtol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(amplitude=np.ones(5), frequency=np.arange(4.0)), "amplitude must have shape"),
    (dict(amplitude=np.ones(4), frequency=np.array([0, 2, 1, 3.0])), "strictly increasing"),
    (dict(amplitude=np.ones(4), frequency=np.arange(4.0), bandwidth=0), "bandwidth"),
    (dict(amplitude=np.ones(4), frequency=np.arange(4.0), truncation="half"), "truncation"),
    (dict(amplitude=np.ones(4), frequency=np.arange(4.0), centers=[-1.0]), "centers"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        konno_ohmachi(**kwargs)

"""TimesNet-Gen sampling (Eq. 1): pools, mixing, noise, reproducibility."""
import numpy as np
import pytest

from obspy_gen.plugins.timesnet_gen.sampling import (LatentPool, check_sampling_args, mix,
                                                     record_rng)


@pytest.fixture
def pool():
    rng = np.random.default_rng(0)
    # Codes with a common part and a record-specific part in a 3-dimensional subspace.
    basis = rng.normal(size=(3, 2, 20))
    codes = 2.0 + np.einsum("nk,kcl->ncl", rng.normal(size=(40, 3)), basis)
    return LatentPool("4628", codes, rng.normal(size=(40, 3)), rng.uniform(1, 2, (40, 3)),
                      network="SY", location="00")


def test_same_seed_same_draw(pool):
    a = pool.draw(record_rng(7, 3))
    b = pool.draw(record_rng(7, 3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = pool.draw(record_rng(7, 4))
    assert not np.array_equal(a[0], c[0])


def test_no_noise_is_the_average_of_drawn_codes(pool):
    rng_a, rng_b = record_rng(1, 0), record_rng(1, 0)
    code, mean, std = pool.draw(rng_a, n_mix=5, noise_scale=0.0)
    pick = rng_b.integers(0, pool.n_records, size=5)
    np.testing.assert_allclose(code, pool.codes[pick].mean(0), rtol=1e-6)
    np.testing.assert_allclose(mean, pool.mean[pick].mean(0))
    np.testing.assert_allclose(std, pool.std[pick].mean(0))


def test_noise_scale_does_not_change_the_drawn_records(pool):
    code0, mean0, _ = pool.draw(record_rng(2, 0), noise_scale=0.0)
    code1, mean1, _ = pool.draw(record_rng(2, 0), noise_scale=1.0)
    np.testing.assert_array_equal(mean0, mean1)
    assert not np.allclose(code0, code1)


@pytest.mark.parametrize("kind", ["covariance", "diagonal"])
def test_noise_has_the_station_latent_std(pool, kind):
    rng = np.random.default_rng(5)
    draws = np.stack([mix(pool.codes, pool.mean, pool.std, rng, 1, 1.0, pool.sigma, kind)[0]
                      - 0 for _ in range(3000)])
    # One drawn code (variance sigma^2) plus noise (variance sigma^2): twice the variance.
    ratio = draws.std(0) / pool.sigma
    assert np.median(ratio) == pytest.approx(np.sqrt(2), rel=0.08)


def test_covariance_noise_stays_in_the_span_of_the_pool(pool):
    rng = np.random.default_rng(6)
    centred = (pool.codes - pool.codes.mean(0)).reshape(pool.n_records, -1)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    span = vt[s > 1e-6 * s[0]]
    for _ in range(5):
        code, _, _ = mix(pool.codes, pool.mean, pool.std, rng, 5, 1.0)
        d = code.reshape(-1) - pool.codes.mean(0).reshape(-1)
        resid = d - span.T @ (span @ d)
        assert np.linalg.norm(resid) < 1e-4 * np.linalg.norm(d)


def test_diagonal_noise_leaves_the_span(pool):
    code, _, _ = mix(pool.codes, pool.mean, pool.std, np.random.default_rng(1), 5, 1.0,
                     noise="diagonal")
    centred = (pool.codes - pool.codes.mean(0)).reshape(pool.n_records, -1)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    span = vt[s > 1e-6 * s[0]]
    d = code.reshape(-1) - pool.codes.mean(0).reshape(-1)
    assert np.linalg.norm(d - span.T @ (span @ d)) > 0.5 * np.linalg.norm(d)


def test_single_record_pool():
    p = LatentPool("X", np.ones((1, 2, 3)), np.zeros((1, 3)), np.ones((1, 3)))
    code, _, _ = p.draw(record_rng(0, 0))
    np.testing.assert_array_equal(code, np.ones((2, 3)))  # no spread, no noise


@pytest.mark.parametrize("n_mix,noise,match", [(0, 1, "n_mix"), (2.5, 1, "n_mix"),
                                               (True, 1, "n_mix"), (5, -1, "noise_scale"),
                                               (5, "x", "noise_scale"),
                                               (5, float("nan"), "noise_scale")])
def test_bad_arguments(n_mix, noise, match):
    with pytest.raises(ValueError, match=match):
        check_sampling_args(n_mix, noise)


def test_bad_noise_kind(pool):
    with pytest.raises(ValueError, match="noise='white'"):
        pool.draw(record_rng(0, 0), noise="white")


def test_pool_validation():
    with pytest.raises(ValueError, match="non-empty"):
        LatentPool("X", np.zeros((0, 2, 3)), np.zeros((0, 3)), np.zeros((0, 3)))


def low_band_pool(n=40, length=600, seed=0, hv=2.0):
    """A pool whose codes end in 3 low-band channels (N, E, Z): every record's physical
    horizontals are ``hv`` times its vertical in every band; each channel's whole-band std
    also holds high-frequency energy that spreads log-normally (1.5 ln units) from record to
    record and channel to channel, and codes are standardised per channel by it, as the
    encoder's are."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    env = np.exp(-((t - length / 3) / (length / 10)) ** 2)
    codes, stds = [], []
    for _ in range(n):
        amp = np.exp(1.5 * rng.standard_normal())
        # red spectra of random slope: the low band's shape differs from record to record
        slope = rng.uniform(0.5, 2.0)
        f = np.fft.rfftfreq(length)
        shape = 1.0 / (1.0 + (f / 0.02) ** slope)
        noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(length)) * shape, length)
        phys = amp * env * noise
        chans = np.stack([hv * phys, hv * phys, phys])
        high = chans.var(axis=1).mean() * np.exp(3.0 * rng.standard_normal(3))
        std = np.sqrt(chans.var(axis=1) + high)          # the record's whole-band stds
        main = rng.standard_normal((2, length))
        codes.append(np.concatenate([main, chans / std[:, None]]))
        stds.append(std)
    return LatentPool("LB", np.stack(codes), np.zeros((n, 3)), np.stack(stds),
                      onset=np.full(n, length / 3), low_channels=3)


def test_record_units_round_trip():
    pool = low_band_pool(n=5)
    units = pool.to_record_units(pool.codes.astype(float))
    for k in range(pool.n_records):
        back = pool.from_record_units(units[k], pool.std[k])
        np.testing.assert_allclose(back, pool.codes[k], rtol=1e-6, atol=1e-6)
    plain = LatentPool("X", pool.codes, pool.mean, pool.std)
    assert plain.to_record_units(pool.codes) is pool.codes


def _horizontal(ln):
    """ln band amplitude of the quadratic-mean horizontal from (..., 3, bands) N, E, Z ones
    (independent of the azimuth, as the HVSR's squared average)."""
    return 0.5 * np.log(0.5 * (np.exp(2 * ln[..., 0, :]) + np.exp(2 * ln[..., 1, :])))


def test_prior_low_band_keeps_physical_hv_and_typical_amplitude():
    """Mixing standardised low-band codes as they are breaks each record's H/V and gives the
    records' arithmetic-mean energy; in record units with log-mean band amplitudes the prior
    keeps H/V = 2 and a typical record's level."""
    pool = low_band_pool()
    plain = LatentPool("LB", pool.codes, pool.mean, pool.std, onset=pool.onset)
    units = pool.to_record_units(pool.codes.astype(float))[:, -3:]
    typical = np.median(_horizontal(pool._band_log_rms(units)), axis=0)
    for p, keeps in ((pool, True), (plain, False)):
        hv, level = [], []
        for i in range(30):
            code, _, std = p.draw(np.random.default_rng([3, i]), sampling="prior")
            phys = code[-3:] * std[:, None]                  # physical units
            ln = pool._band_log_rms(phys)
            hv.append(_horizontal(ln) - ln[2])
            level.append(_horizontal(pool._band_log_rms(
                code[-3:] * (std / std[:2].mean())[:, None])))
        hv_err = np.abs(np.median(hv, axis=0) - np.log(2.0)).max()
        level_err = np.abs(np.median(level, axis=0) - typical).mean()
        if keeps:
            assert hv_err < 0.05 and level_err < 0.35
        else:
            assert hv_err > 0.2 or level_err > 0.5


def test_low_band_mixes_polarised_horizontals():
    """Records polarised at random azimuths: mixed as recorded, their horizontals add
    incoherently while the verticals (the same sign) add coherently, and the mixture's H/V
    falls; polarised first (and the mixture turned to a random azimuth) it keeps the records'
    own (quadratic-mean horizontal of a linear motion 2 x the vertical: sqrt 2)."""
    rng = np.random.default_rng(5)
    n, length = 40, 600
    t = np.arange(length)
    env = np.exp(-((t - length / 3) / (length / 10)) ** 2)
    common = np.fft.irfft(np.fft.rfft(rng.standard_normal(length)) / (1 + np.fft.rfftfreq(
        length) / 0.02), length) * env                        # one waveform, every record
    codes, stds = [], []
    for _ in range(n):
        az = rng.uniform(0, 2 * np.pi)
        amp = np.exp(0.3 * rng.standard_normal())
        wave = amp * np.roll(common, int(rng.integers(-3, 4)))
        chans = np.stack([2 * np.cos(az) * wave, 2 * np.sin(az) * wave, wave])
        std = chans.std(axis=1) + 1e-3
        codes.append(np.concatenate([rng.standard_normal((2, length)), chans / std[:, None]]))
        stds.append(std)
    pool = LatentPool("P", np.stack(codes), np.zeros((n, 3)), np.stack(stds),
                      onset=np.full(n, length / 3), low_channels=3)
    theta = pool.polarisation
    assert np.all(np.isfinite(theta))
    hv_pol, hv_raw = [], []
    for i in range(20):
        code, _, std = pool.draw(record_rng(8, i), sampling="aligned", n_mix=5, noise_scale=0)
        ln = pool._band_log_rms(code[-3:] * std[:, None])
        hv_pol.append(np.median(_horizontal(ln) - ln[2]))
        # the same records mixed as recorded (no polarisation): mean of their N, E, Z
        pick = np.random.default_rng(i).integers(0, n, 5)
        raw = (pool.to_record_units(pool.codes.astype(float))[pick, -3:]).mean(axis=0)
        ln = pool._band_log_rms(raw)
        hv_raw.append(np.median(_horizontal(ln) - ln[2]))
    own = np.log(np.sqrt(2.0))
    assert abs(np.median(hv_pol) - own) < 0.05
    assert np.median(hv_raw) < own - 0.3, np.median(hv_raw)


def test_matching_turn_recovers_the_azimuth_in_the_crossover_band():
    # A pair that *is* the as-recorded pair turned by +0.7 rad (from N towards E) in the
    # crossover band (and something else below it) is turned back by -0.7 rad.
    rng = np.random.default_rng(2)
    length, fs, stride = 1500, 100.0, 4
    pool = LatentPool("X", np.zeros((2, 5, length)), np.zeros((2, 3)), np.ones((2, 3)),
                      latent_stride=stride, sampling_rate=fs, crossover=4.0, low_channels=3)
    freq = np.fft.rfftfreq(length, d=stride / fs)
    band = (freq >= 2.0) & (freq <= 8.0)

    def bandpass(x, keep):
        return np.fft.irfft(np.fft.rfft(x, axis=-1) * keep, length, axis=-1)

    recorded = bandpass(rng.standard_normal((2, length)), band)
    c, s = np.cos(0.7), np.sin(0.7)
    turned = np.stack([c * recorded[0] - s * recorded[1], s * recorded[0] + c * recorded[1]])
    below = bandpass(rng.standard_normal((2, length)), freq < 1.0) * 10.0  # outside the band
    assert pool._matching_turn(turned + below, recorded) == pytest.approx(-0.7, abs=1e-6)
    back = LatentPool._turned(np.concatenate([np.zeros((2, length)), turned,
                                              np.zeros((1, length))]), -0.7)
    np.testing.assert_allclose(back[-3:-1], recorded, atol=1e-9)

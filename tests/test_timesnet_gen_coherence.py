"""Cross-component coherence and band amplitudes of generated records (issue 14).

A weighted sum of earthquake records loses the coherence between the vertical and the
horizontals that each record has; it is restored band by band. Checked on physically
simulated records (the stochastic plugin: common-noise components, site transfer functions)."""
import numpy as np
import pytest

from obspy_gen.core.records import split_records
from obspy_gen.core.smoothing import konno_ohmachi
from obspy_gen.plugins.timesnet_gen.calibration import (BAND_CENTRES, MAX_SHAPE_GAIN,
                                                        band_log_amplitude, shape_bands)
from obspy_gen.plugins.timesnet_gen.coherence import (band_coherence, restore_coherence,
                                                      station_coherence)
from obspy_gen.plugins.timesnet_gen.sampling import LatentPool, record_rng

DT = 0.01


def as_array(record, n=6000):
    """N, E, Z of one record Stream in an ``n``-sample window (zero-padded, as the model's
    training windows are)."""
    by = {tr.stats.channel[-1]: tr.data.astype(np.float64) for tr in record}
    out = np.zeros((3, n))
    for i, c in enumerate("NEZ"):
        x = by[c][:n]
        out[i, :x.size] = x
    return out


@pytest.fixture(scope="module")
def simulated():
    """Ten simulated records of station 2020 (f0 ~5 Hz) in 60-s windows."""
    from obspy_gen.plugins.stochastic.plugin import StochasticGenerator
    st = StochasticGenerator().generate(station="2020", n=10, seed=3)
    return [as_array(r) for r in split_records(st)]


def env(z):
    """ln 1-s RMS envelope of one channel (100 Hz)."""
    return np.log(np.sqrt(np.convolve(z ** 2, np.ones(100) / 100, "same")))


def hv_roughness(x, lo=1.0, hi=8.0):
    """Std of ln H/V (KO b=40) about its 1/3-octave running mean, in lo-hi Hz."""
    fc = np.geomspace(0.5, 25, 256)
    f = np.fft.rfftfreq(x.shape[-1], DT)
    spec = np.abs(np.fft.rfft(x, axis=-1))
    h = konno_ohmachi(np.sqrt((spec[0] ** 2 + spec[1] ** 2) / 2), f, fc)
    v = konno_ohmachi(spec[2], f, fc)
    ln = np.log(h / v)
    lf = np.log(fc)
    w = np.exp(-0.5 * ((lf[:, None] - lf[None, :]) / (np.log(2) / 3)) ** 2)
    res = ln - (w / w.sum(1, keepdims=True)) @ ln
    return float(res[(fc >= lo) & (fc < hi)].std())


def test_coherence_of_simulated_records_noise_and_a_filtered_horizontal(simulated):
    c = np.array([band_coherence(x, DT) for x in simulated])
    low = (BAND_CENTRES >= 0.6) & (BAND_CENTRES <= 4)
    # The simulator's components share their noise (coherence 0.9+ below 4 Hz) under
    # different site transfer functions and P-wave energy on Z.
    assert np.nanmedian(c[:, low]) > 0.6
    assert np.all(np.isnan(c[:, BAND_CENTRES < 0.2]))          # too few bins in 60 s
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((3, 6000))
    assert np.nanmax(band_coherence(noise, DT)) < 0.15
    f = np.fft.rfftfreq(6000, DT)
    noise[2] = np.fft.irfft(np.fft.rfft(noise[0]) * np.exp(-f / 10), 6000) - 0.5 * noise[1]
    assert np.nanmin(band_coherence(noise, DT)) > 0.98
    target = station_coherence(c)
    assert np.allclose(target[low], np.nanmedian(c[:, low], axis=0), equal_nan=True)


def test_a_mixture_loses_coherence_and_restore_gives_it_back(simulated):
    c = np.array([band_coherence(x, DT) for x in simulated])
    target = station_coherence(c)
    band = (BAND_CENTRES >= 1) & (BAND_CENTRES <= 8)
    stack = np.stack(simulated)
    rough_before, rough_after, rough_records = [], [], [hv_roughness(x) for x in simulated]
    lost = []
    for seed in range(4):
        w = np.where(np.random.default_rng(seed).standard_normal(len(stack)) < 0, -1.0, 1.0)
        mix = np.tensordot(w, stack, axes=1) / np.sqrt(len(stack))
        lost.append(np.nanmedian(target[band]) - np.nanmedian(band_coherence(mix, DT)[band]))
        fixed = restore_coherence(mix, target, DT)
        assert np.array_equal(fixed[:2], mix[:2])                  # horizontals untouched
        got = band_coherence(fixed, DT)
        ok = (BAND_CENTRES >= 0.5) & (BAND_CENTRES <= 16)
        miss = np.abs(got[ok] - target[ok])
        assert np.nanmedian(miss) < 0.05 and np.nanmax(miss) < 0.2
        # The vertical keeps its energy band by band.
        ratio = band_log_amplitude(fixed[2:], DT) - band_log_amplitude(mix[2:], DT)
        assert np.median(np.abs(ratio[0, ok])) < 0.05 and np.abs(ratio[0, ok]).max() < 0.15
        # The vertical keeps its envelope (1-s RMS): where the horizontals explain little
        # (the P wave) the re-mixing alone would weaken it.
        live = env(mix[2]) > env(mix[2]).max() - 3
        kept = np.abs(env(fixed[2]) - env(mix[2]))[live]
        plain = np.abs(env(restore_coherence(mix, target, DT, keep_envelope=False)[2])
                       - env(mix[2]))[live]
        assert np.median(kept) < 0.05 and np.median(kept) < np.median(plain)
        rough_before.append(hv_roughness(mix))
        rough_after.append(hv_roughness(fixed))
    assert min(lost) > 0.05 and np.mean(lost) > 0.12
    # The mixture's H/V is rougher than a record's. Restored coherence (in third-octave
    # bands) does not make it smooth again -- the finer ripple stays the mixture's -- and
    # must not make it rougher.
    assert np.mean(rough_before) > np.median(rough_records)
    assert np.mean(rough_after) < np.mean(rough_before) + 0.005


def test_shape_bands_reaches_the_target_above_its_band_only(simulated):
    x = simulated[0]
    unit = x[:2].std(axis=1).mean()
    target = band_log_amplitude(simulated[1] / simulated[1][:2].std(axis=1).mean(), DT)
    y = shape_bands(x, target, DT, unit=unit)
    got = band_log_amplitude(y / unit, DT)
    above = BAND_CENTRES >= 6.3
    change = np.abs(target - band_log_amplitude(x / unit, DT))
    reach = change[:, above] < MAX_SHAPE_GAIN
    # One pass of gains interpolated between band centres: close, not exact, where
    # neighbouring bands want different gains.
    miss = np.abs(got - target)[:, above][reach]
    assert np.median(miss) < 0.05 and miss.max() < 0.3
    assert np.median(np.abs(band_log_amplitude(x / unit, DT) - target)[:, above]) > 0.2
    below = (BAND_CENTRES >= 0.5) & (BAND_CENTRES < 3)
    assert np.allclose(got[:, below], band_log_amplitude(x / unit, DT)[:, below], atol=0.02)


def test_prior_draw_combines_band_amplitudes_like_the_codes():
    rng = np.random.default_rng(1)
    n = 12
    bands = rng.normal(size=(n, 3, len(BAND_CENTRES)))
    pool = LatentPool("X", rng.normal(size=(n, 2, 40)).astype("f4"), np.zeros((n, 3)),
                      np.exp(rng.normal(size=(n, 3))), onset=np.full(n, 20.0),
                      log_band=bands, coherence=rng.uniform(size=(n, len(BAND_CENTRES))))
    *_, b0 = pool.draw(record_rng(0, 0), noise_scale=0, sampling="prior", return_bands=True)
    assert np.allclose(b0, bands.mean(axis=0))
    draws = [pool.draw(record_rng(0, i), sampling="prior", weights="sign",
                       return_bands=True)[-1] for i in range(400)]
    # Sign weights: mean + sum w (x - mean) / sqrt(n), the records' covariance.
    assert np.allclose(np.mean(draws, axis=0), bands.mean(axis=0), atol=0.2)
    assert np.allclose(np.std(draws, axis=0), bands.std(axis=0), rtol=0.25)
    *_, none = pool.draw(record_rng(0, 0), sampling="mix", return_bands=True)
    assert none is None
    assert pool.coherence_target.shape == (len(BAND_CENTRES),)
    with pytest.raises(ValueError, match="coherence of shape"):
        LatentPool("X", np.zeros((2, 1, 4)), np.zeros((2, 3)), np.ones((2, 3)),
                   coherence=np.zeros((3, 27)))


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_shipped_default_shapes_bands_and_restores_coherence():
    pytest.importorskip("torch")
    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(device="cpu")
    loaded = gen.load()
    sampling = loaded.config["sampling"]
    assert sampling.get("band_shape") is True and sampling.get("coherence") is True
    pool = loaded.pools["2020"]
    assert pool.log_band.shape == (pool.n_records, 3, len(BAND_CENTRES))
    assert pool.coherence.shape == (pool.n_records, len(BAND_CENTRES))
    target = pool.coherence_target
    band = (BAND_CENTRES >= 1.2) & (BAND_CENTRES <= 4)
    kw = dict(station="2020", n=6, seed=4)
    plain = [as_array(r) for r in split_records(
        gen.generate(band_shape=False, coherence=False, **kw))]
    default = split_records(gen.generate(**kw))
    assert default[0][0].stats.obspy_gen.coherence
    assert default[0][0].stats.obspy_gen.band_shape
    default = [as_array(r) for r in default]
    # The vertical's envelope (its P wave before the S wave) is the one without coherence
    # (without the H/V shape step after it, which filters the vertical by its own measure).
    no_shape = dict(kw, hv_shape=False)
    coherent = [as_array(r) for r in split_records(gen.generate(**no_shape))]
    no_coherence = [as_array(r) for r in split_records(gen.generate(coherence=False,
                                                                    **no_shape))]
    for x, y in zip(coherent, no_coherence):
        live = env(y[2]) > env(y[2]).max() - 3
        assert np.median(np.abs(env(x[2]) - env(y[2]))[live]) < 0.05
    c_plain = np.nanmedian([band_coherence(x, DT) for x in plain], axis=0)
    c_default = np.nanmedian([band_coherence(x, DT) for x in default], axis=0)
    # Without: the prior's mixture has lost a third or more of the records' coherence.
    assert np.nanmedian(target[band] - c_plain[band]) > 0.2
    # (a little below the target: the P wave, incoherent, keeps its energy)
    assert np.nanmax(np.abs(c_default[band] - target[band])) < 0.15
    # Band shaping: the decoder band's H/V between records scatters like the records'
    # (held-out sd of ln H/V at 8-16 Hz ~0.10), the low band is untouched.
    def hv_band(xs, lo, hi):
        a = np.array([band_log_amplitude(x, DT) for x in xs])
        sel = (BAND_CENTRES >= lo) & (BAND_CENTRES < hi)
        h = 0.5 * np.log((np.exp(2 * a[:, 0]) + np.exp(2 * a[:, 1])) / 2)
        return (h - a[:, 2])[:, sel].mean(axis=1)
    rec_sd = np.std([(0.5 * np.log((np.exp(2 * b[0]) + np.exp(2 * b[1])) / 2) - b[2])[
        (BAND_CENTRES >= 8) & (BAND_CENTRES < 16)].mean() for b in pool.log_band])
    assert np.std(hv_band(default, 8, 16)) < 2 * rec_sd
    # Neither touches the horizontals below the crossover (band shaping starts at 5 Hz,
    # coherence re-mixes the vertical only); what moves there is the filter's edge leakage
    # into the weakest acceleration bands (below 1 Hz, up to 0.07 ln in one record).
    def horizontal(xs, lo, hi):
        sel = (BAND_CENTRES >= lo) & (BAND_CENTRES < hi)
        return np.array([band_log_amplitude(x[:2], DT)[:, sel] for x in xs])
    assert np.allclose(horizontal(default, 1, 2), horizontal(plain, 1, 2), atol=0.03)
    assert np.median(np.abs(horizontal(default, 0.5, 1) - horizontal(plain, 0.5, 1))) < 0.01


def test_band_shape_and_coherence_need_their_pool_entries():
    pytest.importorskip("torch")
    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen.load().pools["3130"]
    saved = pool.coherence, pool.log_band, pool.noise_level
    try:
        pool.coherence, pool.log_band, pool.noise_level = None, None, None
        with pytest.raises(ValueError, match="station 3130 has no coherences"):
            gen.generate(station="3130", n=1, coherence=True)
        with pytest.raises(ValueError, match="station 3130 has no band amplitudes"):
            gen.generate(station="3130", n=1, band_shape=True, coherence=False)
        with pytest.raises(ValueError, match="station 3130 has no pre-event noise levels"):
            gen.generate(station="3130", n=1, pre_event=True)
        # The checkpoint's default quietly does without.
        st = gen.generate(station="3130", n=1)
        assert len(st) == 3 and st[0].stats.obspy_gen.p_arrival is None
    finally:
        pool.coherence, pool.log_band, pool.noise_level = saved
    with pytest.raises(ValueError, match="coherence must be True or False"):
        gen.generate(station="3130", n=1, coherence="yes")

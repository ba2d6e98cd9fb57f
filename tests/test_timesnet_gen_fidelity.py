"""TimesNet-Gen: the fidelity high-pass floor (below the model's fidelity corner a decoded
record is the model's error) and local sampling, on physically simulated records and the
shipped checkpoint."""
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.core.intensity import velocity_displacement  # noqa: E402
from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.plugins.stochastic import simulate  # noqa: E402
from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator  # noqa: E402
from obspy_gen.plugins.timesnet_gen.baseline import (CORNER_RANGE,  # noqa: E402
                                                     fidelity_corner, process)
from obspy_gen.plugins.timesnet_gen.sampling import LatentPool, record_rng  # noqa: E402

PROFILE = [(15, 180, 1800, 0.03), (0, 900, 2200, 0.01)]   # f0 = 3 Hz


@pytest.fixture(scope="module")
def record():
    res = simulate(profile=PROFILE, station_code="SIMF", n=1, seed=5, magnitude=(5.0, 5.0),
                   distance=(30, 30))
    (stream,) = res.streams.values()
    rec = split_records(stream)[0]
    return np.stack([tr.data for tr in rec]).astype(np.float64), rec[0].stats.delta


def _slow_error(x, dt, amplitude, freq=0.2):
    """A long-period error of ``amplitude`` x the PGA, as a decoder leaves everywhere."""
    t = np.arange(x.shape[1]) * dt
    return amplitude * np.abs(x).max() * np.sin(2 * np.pi * freq * t + np.arange(3)[:, None])


def test_fidelity_corner_finds_the_long_period_error(record):
    x, dt = record
    lo, hi = CORNER_RANGE
    assert fidelity_corner(x, x, dt) == lo                        # a perfect reconstruction
    small = fidelity_corner(x, x + _slow_error(x, dt, 0.005), dt)
    large = fidelity_corner(x, x + _slow_error(x, dt, 0.05), dt)
    # The error at 0.2 Hz exceeds the record's own (falling) content there: the corner is
    # above 0.2 Hz, and a larger error pushes it up.
    assert 0.2 < small <= large <= hi
    assert large > small


def test_process_high_passes_at_the_floor(record):
    x, dt = record
    bad = x + _slow_error(x, dt, 0.05)
    out, fc = process(bad, dt, "highpass", floor=1.0)
    assert fc >= 1.0
    _, plain_fc = process(bad, dt, "highpass")
    assert plain_fc is None or plain_fc <= fc
    spec = lambda a: np.abs(np.fft.rfft(a[0]))  # noqa: E731
    f = np.fft.rfftfreq(x.shape[1], dt)
    k = np.argmin(np.abs(f - 0.2))
    assert spec(out)[k] < 0.01 * spec(bad)[k]                     # the 0.2-Hz error is gone
    band = (f > 3) & (f < 10)                                     # the motion is kept
    assert np.allclose(spec(out)[band], spec(x)[band], rtol=0.1, atol=0.05 * spec(x).max())
    assert abs(np.cumsum(out, axis=1)[:, -1] * dt).max() < 1e-9   # and ends at rest


def pga_over_pgd(rec):
    a = rec[0].data.astype(np.float64)
    _, d = velocity_displacement(a, rec[0].stats.delta)
    return np.abs(a).max() / np.abs(d).max()


def test_shipped_pools_carry_fidelity_corners_used_by_generation():
    gen = TimesNetGenGenerator()
    loaded = gen.load()
    pools = loaded.pools
    for code, pool in pools.items():
        assert pool.corner is not None and len(pool.corner) == pool.n_records
        # The crossover's linear low band reconstructs the records down to the lowest
        # corner tried: no floor above the signal-to-noise corner (before it: 1.2-1.8 Hz).
        assert pool.highpass_floor <= 0.1, code
    # Real records of the station: ln(PGA/PGD) 5.6-7.5 (1/s^2); the old decoder's
    # long-period error brought some generated records to ~4 without the floor.
    records = split_records(gen.generate(station="2020", n=8, seed=7))
    assert np.log([pga_over_pgd(r) for r in records]).min() > 5.0
    # The floor still acts where a pool's corners are high (an older checkpoint's).
    pool = pools["2020"]
    saved = pool.corner
    try:
        pool.corner = np.full(pool.n_records, 1.5)
        with_floor = split_records(gen.generate(station="2020", n=8, seed=7))
        without = split_records(gen.generate(station="2020", n=8, seed=7,
                                             fidelity_floor=False))
    finally:
        pool.corner = saved
    assert all(r[0].stats.obspy_gen.highpass >= 1.5 for r in with_floor)
    assert min(r[0].stats.obspy_gen.highpass or 0.0 for r in without) < 1.5


def _two_site_pool():
    """Codes of two kinds of record (positive and negative pulses), all with one onset."""
    rng = np.random.default_rng(0)
    t = np.arange(100)
    pulse = np.exp(-0.5 * ((t - 50) / 3.0) ** 2)
    codes = np.stack([s * (1 + 0.1 * rng.standard_normal()) * pulse[None]
                      for s in [1.0] * 5 + [-1.0] * 5])
    return LatentPool("S", codes, np.zeros((10, 3)), np.ones((10, 3)),
                      onset=np.full(10, 50.0), latent_stride=1)


def test_local_sampling_stays_near_its_lead():
    pool = _two_site_pool()
    for i in range(20):
        code, _, std, lead = pool.draw(record_rng(3, i), n_mix=3, noise_scale=0.0,
                                       sampling="local", return_lead=True)
        # The mean of the lead's 3 nearest codes: all of the lead's own kind.
        assert np.sign(code[0, 50]) == np.sign(pool.codes[lead, 0, 50])
        same = pool.codes[np.sign(pool.codes[:, 0, 50]) == np.sign(pool.codes[lead, 0, 50])]
        assert same[:, 0, 50].min() <= code[0, 50] <= same[:, 0, 50].max()
        assert np.allclose(std, 1.0)
    # With noise, draws differ from the neighbours' mean but stay of the lead's kind.
    drawn = [pool.draw(record_rng(4, i), n_mix=3, sampling="local", return_lead=True)
             for i in range(20)]
    assert all(np.sign(c[0, 50]) == np.sign(pool.codes[k, 0, 50]) for c, _, _, k in drawn)
    assert len({round(float(c[0, 50]), 6) for c, _, _, _ in drawn}) == 20


def test_local_sampling_of_a_one_record_pool_is_that_record():
    codes = np.arange(10.0).reshape(1, 2, 5)
    pool = LatentPool("S", codes, np.zeros((1, 3)), np.full((1, 3), 2.0), onset=[2.0])
    code, _, std, _ = pool.draw(record_rng(0, 0), n_mix=5, sampling="local", return_lead=True)
    assert np.allclose(code, codes[0]) and np.allclose(std, 2.0)

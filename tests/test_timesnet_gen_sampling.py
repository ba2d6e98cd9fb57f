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

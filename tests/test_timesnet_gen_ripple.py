"""The H/V ripple step: the fine detail of a generated record's H/V ratio set to the level of
the station's records (obspy_gen.plugins.timesnet_gen.ripple)."""
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy import read  # noqa: E402

from obspy_gen.core.records import split_records, three_components  # noqa: E402
from obspy_gen.plugins.stochastic import simulate as simulate_catalog  # noqa: E402
from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator  # noqa: E402
from obspy_gen.plugins.timesnet_gen.ripple import (MAX_SCALE, RIPPLE_BANDS,  # noqa: E402
                                                   hv_grid, hv_ripple_level, ln_hv,
                                                   restore_hv_ripple, station_reference)


@pytest.fixture(scope="module")
def records_2020(tmp_path_factory):
    """Eight simulated records of station 2020 (paper5 catalog, not the training seed)."""
    out = tmp_path_factory.mktemp("paper5")
    simulate_catalog("paper5", out=out, seed=7, n=8)
    return split_records(read(str(out / "SY.2020.*.mseed")))


def _array(record):
    return np.stack(three_components(record)[:3]).astype(np.float64)


def test_restore_scales_the_detail_of_a_record_both_ways(records_2020):
    x = _array(records_2020[0])
    level = hv_ripple_level(x, 0.01, 10.0)
    assert np.all((level > 0.1) & (level < 0.4))
    for factor in (0.6, 1.5):
        y = restore_hv_ripple(x, factor * level, 0.01, 10.0)
        # The horizontals are untouched; the vertical keeps its waveform and energy.
        assert np.array_equal(y[:2], x[:2])
        assert np.corrcoef(x[2], y[2])[0, 1] > 0.95
        assert abs(np.sum(y[2] ** 2) / np.sum(x[2] ** 2) - 1) < 0.05
        got = hv_ripple_level(y, 0.01, 10.0) / level
        assert np.allclose(got, factor, atol=0.06), (factor, got)
    # A target far off is reached only to MAX_SCALE; NaN leaves a band alone.
    y = restore_hv_ripple(x, [10 * level[0], level[1], level[2] / 10], 0.01, 10.0)
    got = hv_ripple_level(y, 0.01, 10.0) / level
    assert got[0] == pytest.approx(MAX_SCALE, rel=0.1)
    assert got[2] == pytest.approx(1 / MAX_SCALE, rel=0.1)
    assert np.array_equal(restore_hv_ripple(x, [np.nan] * 3, 0.01, 10.0), x)


def test_pool_target_is_the_records_level_measured_on_their_codes(records_2020):
    """A pool measures its records' ripple on their low-band codes (the records' spectra to
    2.5 x the crossover, at the latent rate): the same as on the records themselves
    (measured: 0.248 / 0.221 / 0.198 on the codes, 0.262 / 0.218 / 0.197 on the records)."""
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen._zero_shot_pool(gen._zero_shot_model(gen.load(), "cpu"), records_2020, None)
    arrays = [_array(r) for r in records_2020]
    reference = station_reference([ln_hv(x, 0.01, pool.ripple_fmax) for x in arrays])
    grid = hv_grid(0.01, pool.ripple_fmax)
    band = (grid >= 1) & (grid <= 8)
    assert np.median(np.abs(pool.hv_reference - reference)[band]) < 0.05
    direct = np.median([hv_ripple_level(x, 0.01, pool.ripple_fmax, reference)
                        for x in arrays], axis=0)
    target = pool.hv_ripple_target()
    assert pool.ripple_fmax == 10.0 and len(target) == len(RIPPLE_BANDS)
    assert np.allclose(target, direct, atol=0.02), (target,
                                                                     direct)


def test_shipped_generator_gives_each_record_its_lead_s_ripple_and_keeps_its_horizontals():
    """At 2020 the generated records' H/V was rougher than the records' at 2-8 Hz (median
    level 0.256 / 0.219 against the training records' 0.222 / 0.196, 300 records: their
    horizontal and vertical ripples are nearly independent). With ``hv_ripple`` each record
    gets the level of the record whose timing it takes (so the levels spread as the records'
    do); the horizontals are the same records."""
    from obspy_gen.plugins.timesnet_gen.sampling import record_rng
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen.load().pools["2020"]
    kw = dict(station="2020", n=16, seed=11)
    plain = split_records(gen.generate(hv_ripple=False, **kw))
    fixed = split_records(gen.generate(hv_ripple=True, **kw))
    assert all(r[0].stats.obspy_gen.hv_ripple for r in fixed)
    assert not any(r[0].stats.obspy_gen.hv_ripple for r in plain)
    # "prior" sampling draws the lead record first from the record's own generator.
    leads = [int(record_rng(11, i).integers(0, pool.n_records)) for i in range(16)]
    target = pool.hv_ripple_levels[leads]

    def levels(records):
        return np.array([hv_ripple_level(_array(r), 0.01, 10.0, pool.hv_reference)
                         for r in records])
    before, after = levels(plain), levels(fixed)
    assert np.median(np.abs(after - target)) < 0.01, np.abs(after - target)
    assert np.median(np.abs(before - target)) > 0.03, np.abs(before - target)
    for a, b in zip(plain, fixed):
        for ch in ("*N", "*E"):
            assert np.allclose(a.select(channel=ch)[0].data, b.select(channel=ch)[0].data,
                               rtol=0, atol=1e-6 * np.abs(a.select(channel=ch)[0].data).max())

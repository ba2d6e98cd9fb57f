"""TimesNet-Gen makes new records: aligned/prior sampling, zero final velocity per record,
the real-data training path (window centring, few-record warning), the named paper size."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.io.dataset import preprocess  # noqa: E402
from obspy_gen.plugins.stochastic import simulate  # noqa: E402
from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator  # noqa: E402
from obspy_gen.plugins.timesnet_gen import train as T  # noqa: E402
from obspy_gen.plugins.timesnet_gen.calibration import (BAND_CENTRES,  # noqa: E402
                                                        band_log_amplitude)
from obspy_gen.plugins.timesnet_gen.baseline import (correct_baseline,  # noqa: E402
                                                     final_velocity_ratio)
from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig  # noqa: E402
from obspy_gen.plugins.timesnet_gen.sampling import (LatentPool, record_anchor,  # noqa: E402
                                                     record_rng)
from obspy_gen.plugins.timesnet_gen.store import load_model  # noqa: E402

PROFILE = [(15, 180, 1800, 0.03), (0, 900, 2200, 0.01)]   # f0 = 180 / 60 = 3 Hz
ARCH = dict(seq_len=3000, d_model=4, d_ff=4, e_layers=1, d_layers=1, num_kernels=2, top_k=2,
            latent_channels=2, latent_stride=10)


@pytest.fixture(scope="module")
def site_records():
    """Physically simulated records of one soil site (stochastic method + 1-D column)."""
    res = simulate(profile=PROFILE, station_code="SIMA", n=8, seed=3, magnitude=(4.5, 5.5),
                   distance=(20, 60))
    (stream,) = res.streams.values()
    return split_records(stream), res.records


def _pulse_pool(onsets, length=200, stride=1):
    """Codes that are one Gaussian pulse at each record's onset (a code that 'is' its timing)."""
    t = np.arange(length)
    codes = np.stack([np.exp(-0.5 * ((t - o) / 2.0) ** 2)[None] for o in onsets])
    return LatentPool("S", codes, np.zeros((len(onsets), 3)), np.ones((len(onsets), 3)),
                      onset=np.asarray(onsets, float), latent_stride=stride)


def test_aligned_mix_keeps_one_arrival_where_plain_mix_superposes():
    pool = _pulse_pool([40, 70, 100, 130, 160])
    mixed, _, _ = pool.draw(record_rng(0, 1), n_mix=5, noise_scale=0, sampling="mix")
    aligned, _, _ = pool.draw(record_rng(0, 1), n_mix=5, noise_scale=0, sampling="aligned")
    peaks = lambda c: int((np.diff(np.sign(np.diff(c[0]))) < 0).sum())  # noqa: E731
    assert peaks(mixed) >= 2                    # several arrivals superposed, each damped
    assert peaks(aligned) == 1                  # one arrival ...
    assert aligned.max() == pytest.approx(1.0, abs=1e-6)   # ... at full strength
    assert float(pool.onset.min()) <= np.argmax(aligned[0]) <= float(pool.onset.max())


def test_prior_is_the_aligned_station_gaussian():
    pool = _pulse_pool([50, 80, 120], stride=1)
    draws = np.stack([pool.draw(record_rng(5, i), noise_scale=1.0, sampling="prior")[0]
                      for i in range(300)])
    # Every draw has one arrival at a time the pool had; amplitudes vary around the mean.
    where = np.argmax(draws[:, 0], axis=1)
    assert set(where) <= {50, 80, 120}
    ln_std = np.log([pool.draw(record_rng(5, i), sampling="prior")[2][0] for i in range(50)])
    assert np.allclose(ln_std, 0.0)   # all pool stds are 1: the fitted log-normal is exact


def test_aligned_sampling_needs_anchors():
    pool = LatentPool("S", np.zeros((3, 1, 10)), np.zeros((3, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="no anchors"):
        pool.draw(record_rng(0, 0), sampling="aligned")


def test_record_anchor_finds_pga_and_p_of_simulated_records(site_records):
    recs, labels = site_records
    for rec, lab in zip(recs[:4], labels[:4]):
        data, mean, std, start = preprocess(rec, 6000, 100.0, "record", return_start=True)
        pga_at = record_anchor(data, std, "pga")
        raw = np.stack([tr.data for tr in rec])
        assert pga_at + start == int(np.argmax(np.maximum(abs(raw[0]), abs(raw[1]))))
        p_at = record_anchor(data, std, "p")
        assert abs((p_at + start) / 100.0 - lab["p_arrival"]) < 1.0   # within 1 s of truth


def test_baseline_correction_zeroes_final_velocity_and_keeps_the_motion(site_records):
    recs, _ = site_records
    rec = recs[0]
    dt = rec[0].stats.delta
    raw = np.stack([tr.data for tr in rec]).astype(float)
    drifting = raw + 0.004 * np.abs(raw).max()      # an offset: velocity drifts linearly
    assert final_velocity_ratio(drifting, dt).min() > 0.3
    fixed = correct_baseline(drifting, dt)
    assert final_velocity_ratio(fixed, dt).max() < 1e-9
    assert np.allclose(np.abs(fixed).max(1), np.abs(raw).max(1), rtol=0.02)
    # On a record without drift the correction changes almost nothing.
    assert np.abs(correct_baseline(raw, dt) - raw).max() < 0.02 * np.abs(raw).max()


def test_generated_records_end_at_rest_record_by_record():
    gen = TimesNetGenGenerator()
    st = gen.generate(station="2020", n=4, seed=3)
    quad = gen.generate(station="2020", n=4, seed=3, baseline="quadratic")
    raw = gen.generate(station="2020", n=4, seed=3, baseline="none")
    for rec, rec_q, rec_raw in zip(split_records(st), split_records(quad), split_records(raw)):
        before = np.stack([tr.data for tr in rec_raw]).astype(float)
        assert final_velocity_ratio(before, 0.01).max() > 1e-3      # the decoder drifts
        for r, how in ((rec, "floor"), (rec_q, "quadratic")):      # the shipped default: floor
            data = np.stack([tr.data for tr in r]).astype(float)
            assert final_velocity_ratio(data, 0.01).max() < 1e-4
            assert r[0].stats.obspy_gen.baseline == how
            # The motion stays (the raw output also carries the long-period error removed).
            assert np.allclose(np.abs(data).max(1), np.abs(before).max(1), rtol=0.2)
        corner = rec[0].stats.obspy_gen.highpass
        assert corner is None or 0.05 <= corner <= 2.0
    with pytest.raises(ValueError, match="baseline"):
        gen.generate(station="2020", n=1, seed=0, baseline="cubic")


def test_finetune_warns_for_stations_with_few_records(site_records, tmp_path):
    recs, _ = site_records
    one = [r.copy() for r in recs[:1]]
    for r in one:
        for tr in r:
            tr.stats.station = "LONE"
    with pytest.warns(UserWarning, match="station LONE: only 1 record"):
        T.finetune(recs[:5] + one, tmp_path / "ft", arch=ARCH, epochs=1, batch_size=4,
                   device="cpu", quiet=True, val_fraction=0.0)
    ck = load_model(tmp_path / "ft", "cpu")
    assert ck.pools["SIMA"].onset is not None and len(ck.pools["SIMA"].onset) == 5
    assert ck.config["sampling"]["sampling"] == T.DEFAULT_SAMPLING["sampling"]


def test_train_cli_centres_long_records_on_their_pga(site_records, tmp_path):
    from click.testing import CliRunner

    from obspy_gen.cli import main
    recs, _ = site_records
    data = tmp_path / "data"
    data.mkdir()
    for i, r in enumerate(recs[:4]):
        r.write(str(data / f"r{i}.mseed"), format="MSEED")
    out = tmp_path / "pre"
    res = CliRunner().invoke(main, [
        "train", "timesnet-gen", "--data", str(data), "--out", str(out), "--epochs", "1",
        "--seq-len", "1000", "--d-model", "4", "--d-ff", "4", "--e-layers", "1",
        "--d-layers", "1", "--num-kernels", "1", "--latent-channels", "2",
        "--latent-stride", "10", "--val-fraction", "0", "--device", "cpu", "--quiet"])
    assert res.exit_code == 0, res.output
    ck = load_model(out, "cpu")
    assert ck.config["normalisation"]["centre"] == "auto"
    # 10-s windows of 20-60-s records: "auto" centres each on its PGA.
    ds = T.load_records(str(data), 1000, centre="auto")
    mat = T.materialise(ds)
    peak = np.argmax(np.maximum(np.abs(mat.data[:, 0] * mat.std[:, :1]),
                                np.abs(mat.data[:, 1] * mat.std[:, 1:2])), axis=1)
    assert (peak == 500).all()
    centred = T.materialise(T.load_records(str(data), 1000, centre="record"))
    assert (np.abs(centred.data).max(axis=(1, 2)) > 0).all()


def test_named_paper_configuration():
    cfg = TimesNetGenConfig.named("paper")
    assert (cfg.seq_len, cfg.d_model, cfg.d_ff, cfg.e_layers, cfg.d_layers, cfg.num_kernels,
            cfg.top_k) == (6000, 128, 256, 2, 2, 6, 2)
    small = TimesNetGenConfig.named("paper", seq_len=600, latent_stride=10)
    n = sum(p.numel() for p in TimesNetGen(small).parameters())
    # 4 TimesBlocks x 2 Inception blocks x 6 kernels of 128x256 (sizes 1..11: 286 taps).
    assert 75e6 < n < 76e6


def test_duplicate_periods_run_once_with_the_same_output():
    torch.manual_seed(0)
    cfg = TimesNetGenConfig(seq_len=700, d_model=4, d_ff=4, e_layers=1, d_layers=1,
                            num_kernels=2, top_k=2, latent_channels=2, latent_stride=10)
    t = torch.arange(700.0)
    # Energy in bins 90 and 91 of 700 samples: periods 700 // 90 = 7 = 700 // 91.
    x = (torch.sin(2 * torch.pi * 90 * t / 700) + torch.sin(2 * torch.pi * 91 * t / 700))
    x = x[None, None].repeat(1, 3, 1)
    a = TimesNetGen(cfg).eval()
    b = TimesNetGen(cfg.replace(distinct_periods=False)).eval()
    b.load_state_dict(a.state_dict())
    from obspy_gen.plugins.timesnet_gen.model import fft_periods
    periods, _ = fft_periods(x.transpose(1, 2), 2)
    assert periods == [7, 7]
    with torch.no_grad():
        assert torch.allclose(a(x), b(x), atol=1e-5)


def test_sampling_variants_of_a_trained_pool_decode(site_records, tmp_path):
    recs, _ = site_records
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T.finetune(recs, tmp_path / "m", arch=ARCH, epochs=1, batch_size=4, device="cpu",
                   quiet=True, val_fraction=0.0)
    gen = TimesNetGenGenerator(checkpoint=str(tmp_path / "m"), device="cpu")
    outs = {s: gen.generate(station="SIMA", n=2, seed=1, sampling=s)
            for s in ("mix", "aligned", "prior")}
    for s, st in outs.items():
        assert len(st) == 6 and st[0].stats.obspy_gen.sampling == s
        assert all(np.isfinite(tr.data).all() for tr in st)
    assert not np.allclose(outs["mix"][0].data, outs["prior"][0].data)
    # The pools store each record's fidelity corner; generation high-passes at their median.
    pool = gen.load().pools["SIMA"]
    assert pool.corner.shape == (len(recs),)
    assert ((pool.corner >= 0.05) & (pool.corner <= 2.0)).all()
    assert all(tr.stats.obspy_gen.highpass is None
               or tr.stats.obspy_gen.highpass >= pool.highpass_floor for tr in outs["prior"])
    # Zero-shot pools (unconditioned network) carry anchors too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T.pretrain(recs, tmp_path / "pre", arch=ARCH, epochs=1, batch_size=4, device="cpu",
                   quiet=True, val_fraction=0.0)
    zs = gen.generate(recs[:4], n=1, seed=0, sampling="aligned", checkpoint=str(tmp_path / "pre"))
    assert len(zs) == 3 and zs[0].stats.obspy_gen.station_pool == "zero-shot"
    assert zs[0].stats.obspy_gen.highpass is not None   # the zero-shot pool's fidelity floor


def _timed_pool(p_to_pga, length=700, pga=500):
    """Codes that are a P pulse and, ``p_to_pga`` samples later, an S pulse (the PGA, where
    every code is aligned): records of different P-to-S times put their P at different times."""
    t = np.arange(length)
    codes = np.stack([np.exp(-0.5 * ((t - pga) / 2.0) ** 2)[None]
                      + 0.3 * np.exp(-0.5 * ((t - (pga - d)) / 2.0) ** 2)[None]
                      for d in p_to_pga])
    n = len(p_to_pga)
    return LatentPool("S", codes, np.zeros((n, 3)), np.ones((n, 3)), onset=np.full(n, pga),
                      p_arrival=pga - np.asarray(p_to_pga, float), sampling_rate=100.0)


def _p_spread(code, pga=500):
    """First and last sample where the code's P part (before the S pulse) is above 2 % of its
    peak."""
    part = np.abs(code[0, :pga - 10])
    live = np.flatnonzero(part > 0.02 * part.max())
    return live.min(), live.max()


def test_prior_combines_records_of_the_lead_s_p_to_pga_time():
    # 40 records, P-to-PGA 0.2-4.1 s: the prior's P arrivals stay within about 1 s of the
    # lead's (with all records combined they spread over the whole 4 s).
    delays = 20 + 10 * np.arange(40)
    timed = _timed_pool(delays)
    for i in range(20):
        code, _, _, lead = timed.draw(record_rng(2, i), sampling="prior", return_lead=True,
                                      timing_tolerance=1.0)
        near = timed.timing_neighbours(lead, 1.0)
        tol = np.abs(delays[near] - delays[lead]).max()
        assert lead in near and len(near) >= 15 and tol <= 140   # 1 s, or the 15 nearest
        if len(near) > 15:
            assert tol <= 100
        first, last = _p_spread(code)
        lead_p = 500 - delays[lead]
        assert lead_p - tol - 8 <= first and last <= lead_p + tol + 8
        other = timed.draw(record_rng(2, i), sampling="prior")[0]    # the default: all
        first, last = _p_spread(other)
        assert last - first > 300                         # P waves of every record


def test_prior_with_every_record_in_tolerance_is_the_plain_prior():
    # Records all within the tolerance (or a pool without P arrivals): exactly the plain
    # prior's draws (same random stream).
    timed = _timed_pool(20 + 2 * np.arange(30))       # P-to-PGA 0.20-0.78 s: all neighbours
    untimed = LatentPool("S", timed.codes, timed.mean, timed.std, onset=timed.onset)
    for i in range(5):
        a = timed.draw(record_rng(4, i), sampling="prior", timing_tolerance=1.0)
        b = untimed.draw(record_rng(4, i), sampling="prior")
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_pool_p_arrivals_survive_save_and_load(tmp_path):
    from obspy_gen.plugins.timesnet_gen.store import save_model
    arch = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
                             latent_channels=2, latent_stride=10, n_stations=1)
    pool = LatentPool("S1", np.zeros((3, 2, 10)), np.zeros((3, 3)), np.ones((3, 3)),
                      onset=np.full(3, 50.0), p_arrival=np.array([10.0, np.nan, 30.0]))
    save_model(tmp_path / "m", TimesNetGen(arch), arch, pools={"S1": pool},
               stations=[{"station": "S1", "network": "XX"}])
    back = load_model(tmp_path / "m", "cpu").pools["S1"]
    np.testing.assert_array_equal(back.p_arrival, [10.0, np.nan, 30.0])
    assert back.sampling_rate == 100.0


def test_shipped_prior_with_timing_tolerance_starts_quietly():
    """The shipped pools know their records' P arrivals. The plain prior combines records of
    every P-to-PGA time: its records start with a train of P arrivals and the signal-to-noise
    high-pass corner often sits at its 2-Hz cap; with ``timing_tolerance=1`` the onsets are clean
    and the corner stays low."""
    from obspy_gen.plugins.timesnet_gen.baseline import CORNER_RANGE
    gen = TimesNetGenGenerator(device="cpu")
    loaded = gen.load()
    for code, pool in loaded.pools.items():
        assert pool.p_arrival is not None and np.isfinite(pool.p_arrival).mean() > 0.9, code
        assert pool.crossover == loaded.arch.crossover == 4.0     # the polarised turn's band
    cap = CORNER_RANGE[1] - 0.05
    for station in ("1716", "4628"):
        corners = {}
        for tol in (None, 1.0):
            # (without the H/V shape step, whose filter on the vertical moves the corner of
            # some records either way: the onsets are what is measured here)
            recs = split_records(gen.generate(station=station, n=8, seed=3, sampling="prior",
                                              timing_tolerance=tol, baseline="highpass",
                                              hv_shape=False))
            corners[tol] = np.array([r[0].stats.obspy_gen.highpass for r in recs], float)
        assert np.sum(corners[None] >= cap) >= 3, corners
        assert np.median(corners[1.0]) < 1.0 and np.sum(corners[1.0] >= cap) <= 1, corners
    with pytest.raises(ValueError, match="timing_tolerance must be a positive"):
        gen.generate(station="1716", n=1, seed=0, timing_tolerance=-1)


def test_shipped_default_keeps_the_long_periods_the_snr_highpass_removed():
    """The shipped checkpoint processes its records with ``baseline="floor"``: high-pass at
    the station's fidelity corner only. The signal-to-noise corner of a prior record is
    measured against its own start, which holds other records' P arrivals; where it went to
    its 2-Hz cap it removed the record's 0.3-1 Hz motion. (With ``pre_event`` the start is
    quiet and the corner no longer caps.)"""
    from obspy_gen.plugins.timesnet_gen.baseline import CORNER_RANGE, final_velocity_ratio
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen.load().pools["4628"]
    assert gen.load().config["sampling"]["baseline"] == "floor"
    floor = split_records(gen.generate(station="4628", n=8, seed=3, pre_event=False))
    snr = split_records(gen.generate(station="4628", n=8, seed=3, baseline="highpass",
                                     pre_event=False))
    capped = 0
    for a, b in zip(floor, snr):
        assert a[0].stats.obspy_gen.baseline == "floor"
        assert a[0].stats.obspy_gen.highpass == pytest.approx(pool.highpass_floor)
        data = np.stack([tr.data.astype(float) for tr in a])
        assert final_velocity_ratio(data, 0.01).max() < 0.05
        if b[0].stats.obspy_gen.highpass >= CORNER_RANGE[1] - 0.05:
            capped += 1
            f = np.fft.rfftfreq(a[0].stats.npts, 0.01)
            band = (f > 0.3) & (f < 1.0)
            kept = np.abs(np.fft.rfft(a[0].data.astype(float)))[band].mean()
            cut = np.abs(np.fft.rfft(b[0].data.astype(float)))[band].mean()
            assert kept > 3 * cut
    assert capped >= 2


def test_prior_envelope_is_the_log_mean_of_the_aligned_envelopes():
    """The target envelope of a prior draw is the same Gaussian combination of the records'
    log envelopes, shifted as their codes are: without noise, their log-mean, aligned."""
    pool = _pulse_pool([50, 80, 120])
    t = np.arange(200.0)
    # Each record's log envelope rises at its onset; and one record is 2 ln units louder.
    env = np.stack([np.where(t >= o, 0.0, -5.0) + (2.0 if k == 1 else 0.0)
                    for k, o in enumerate(pool.onset)])
    pool.log_envelope = env
    for i in range(5):
        code, _, _, lead, target = pool.draw(record_rng(2, i), noise_scale=0, sampling="prior",
                                             return_lead=True, return_envelope=True)
        onset = pool.onset[lead]
        expect = np.where(t >= onset, 0.0, -5.0) + 2.0 / 3.0
        np.testing.assert_allclose(target, expect, atol=1e-9)
    # With noise, the envelopes vary from record to record around it, with the code.
    targets = np.stack([pool.draw(record_rng(2, i), sampling="prior", return_envelope=True)[3]
                        for i in range(50)])
    assert targets[:, -1].std() > 0.1
    # Without envelopes (an older pool), or for plain mixing, there is none.
    assert pool.draw(record_rng(2, 0), sampling="mix", return_envelope=True)[3] is None
    pool.log_envelope = None
    assert pool.draw(record_rng(2, 0), sampling="prior", return_envelope=True)[3] is None


def test_shipped_default_shapes_durations_above_the_crossover_only():
    """The shipped checkpoint gives every record the log-mean envelope of the station's
    aligned records above its 4-Hz crossover: a Gaussian combination has their
    arithmetic-mean energy (every record's P arrival, the longest coda) and lasted longer
    than the held-out records (ln D5-95 0.09-0.16 above at 60 records per station). Below
    the crossover the record is unchanged."""
    from obspy_gen.core.intensity import significant_duration
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen.load().pools["1716"]
    assert pool.log_envelope.shape == (pool.n_records, pool.codes.shape[-1])
    # The whole model window, as decoded (the trim to the lead's recorded span and the
    # processing act on both alike): below the crossover, nothing changed.
    kw = dict(station="1716", n=4, seed=21, baseline="none", trim=False, calibrate=False,
              coherence=False,   # (coherence re-mixes the vertical at every frequency)
              pre_event=False,   # (quiet before the P at every frequency)
              hv_shape=False)    # (the vertical's gain from the H/V measured across 2 Hz)
    for a, b in zip(split_records(gen.generate(envelope=True, **kw)),
                    split_records(gen.generate(envelope=False, **kw))):
        x = np.stack([tr.data.astype(np.float64) for tr in a])
        y = np.stack([tr.data.astype(np.float64) for tr in b])
        f = np.fft.rfftfreq(x.shape[-1], 0.01)
        low = lambda v: np.fft.irfft(np.fft.rfft(v) * (f < 2.0), v.shape[-1])  # noqa: E731
        assert np.abs(low(x) - low(y)).max() < 1e-3 * np.abs(low(y)).max()
        assert a[0].stats.obspy_gen.envelope and not b[0].stats.obspy_gen.envelope
    # Shorter records (20 per station: ln D5-95 -0.10 at 1716 with the shipped defaults).
    kw = dict(station="1716", n=20, seed=5, baseline="none")
    dur = {flag: np.mean([np.log(significant_duration(r[0].data.astype(np.float64), 0.01))
                          for r in split_records(gen.generate(envelope=flag, **kw))])
           for flag in (True, False)}
    assert dur[True] < dur[False] - 0.05, dur


def test_pool_envelopes_and_band_ratios_survive_save_and_load(tmp_path):
    from obspy_gen.plugins.timesnet_gen.store import save_model
    arch = TimesNetGenConfig(seq_len=100, d_model=4, d_ff=4, e_layers=1, d_layers=1,
                             latent_channels=2, latent_stride=10, n_stations=1)
    env = np.linspace(-3, 0, 30).reshape(3, 10)
    ratio = np.arange(3 * 3 * 27, dtype=float).reshape(3, 3, 27) / 100
    noise = np.array([-6.5, np.nan, -7.25])
    pool = LatentPool("S1", np.zeros((3, 2, 10)), np.zeros((3, 3)), np.ones((3, 3)),
                      onset=np.full(3, 50.0), log_envelope=env, band_ratio=ratio,
                      noise_level=noise)
    save_model(tmp_path / "m", TimesNetGen(arch), arch, pools={"S1": pool},
               stations=[{"station": "S1", "network": "XX"}])
    back = load_model(tmp_path / "m", "cpu").pools["S1"]
    np.testing.assert_allclose(back.log_envelope, env, atol=2e-3)   # stored as float16
    np.testing.assert_allclose(back.band_ratio, ratio, atol=1e-6)
    np.testing.assert_array_equal(back.noise_level, noise)
    with pytest.raises(ValueError, match="2 noise levels for 3 codes"):
        LatentPool("S1", np.zeros((3, 2, 10)), np.zeros((3, 3)), np.ones((3, 3)),
                   noise_level=[-6.0, -7.0])
    with pytest.raises(ValueError, match="envelopes of shape"):
        LatentPool("S1", np.zeros((3, 2, 10)), np.zeros((3, 3)), np.ones((3, 3)),
                   log_envelope=np.zeros((3, 9)))


def test_sign_weights_spread_the_deviation_evenly_over_the_records():
    """``weights="sign"``: the prior's deviation is +-1/sqrt(n) of every record's (same mean and
    covariance as the Gaussian draw), so no training record dominates a generated one."""
    rng = np.random.default_rng(0)
    n, length = 31, 400
    basis, _ = np.linalg.qr(rng.standard_normal((length, n)))   # orthonormal records
    codes = basis.T[:, None, :] * 3.0
    pool = LatentPool("S", codes, np.zeros((n, 3)), np.ones((n, 3)), onset=np.zeros(n))
    draws = {}
    for kind in ("gaussian", "sign"):
        draws[kind] = np.stack([pool.draw(record_rng(9, i), sampling="prior",
                                          weights=kind)[0][0] for i in range(400)])
    # Each draw's weight on record k (the records are orthogonal): (w_k - mean w) / sqrt(n).
    coef = {k: (d - codes[:, 0].mean(axis=0)) @ codes[:, 0].T / 9.0 * np.sqrt(n)
            for k, d in draws.items()}
    # Signs: w_k - mean(w) takes two values per draw, 1 - mean(w) and -1 - mean(w).
    for row in coef["sign"]:
        assert len(np.unique(np.round(row, 6))) <= 2
    assert np.abs(coef["sign"]).max(axis=1).mean() < 1.3
    assert np.abs(coef["gaussian"]).max(axis=1).mean() > 2.0
    # The same covariance: element-wise spread of the draws within sampling error.
    ratio = draws["sign"].std(axis=0) / draws["gaussian"].std(axis=0)
    assert 0.85 < np.median(ratio) < 1.15
    with pytest.raises(ValueError, match="weights='uniform' is not one of"):
        pool.draw(record_rng(9, 0), sampling="prior", weights="uniform")


def test_jitter_leaves_the_span_of_the_pool_and_the_low_band_alone():
    """Without ``jitter`` every prior draw lies in the span of the station's aligned codes (an
    n-1-dimensional space: at small stations generated records resembled each other more
    than real ones); lagged deviations leave it. The low band is not lagged."""
    rng = np.random.default_rng(1)
    n, length = 8, 300
    codes = rng.standard_normal((n, 5, length))      # 2 decoder channels + 3 low-band ones
    pool = LatentPool("S", codes, np.zeros((n, 3)), np.ones((n, 3)), onset=np.zeros(n),
                      low_channels=3, latent_stride=4)

    def draws(jitter):
        return np.stack([pool.draw(record_rng(3, i), sampling="prior", weights="sign",
                                   jitter=jitter)[0] for i in range(60)])

    plain, lagged = draws(0.0), draws(0.1)
    def rank(d):
        sv = np.linalg.svd(d - d.mean(axis=0), compute_uv=False)
        return int((sv > 1e-4 * sv[0]).sum())   # float32 codes: relative tolerance

    assert rank(plain[:, :2].reshape(60, -1)) <= n - 1
    assert rank(lagged[:, :2].reshape(60, -1)) > 3 * n
    np.testing.assert_allclose(lagged[:, 2:], plain[:, 2:], atol=1e-5)
    assert not np.allclose(lagged[:, :2], plain[:, :2])


def test_shipped_default_jitter_is_checked():
    gen = TimesNetGenGenerator(device="cpu")
    assert gen.load().config["sampling"]["jitter"] == 0.1
    with pytest.raises(ValueError, match="jitter must be a number of seconds >= 0"):
        gen.generate(station="3130", n=1, jitter=-0.1)
    a = split_records(gen.generate(station="3130", n=1, seed=2))[0]
    b = split_records(gen.generate(station="3130", n=1, seed=2, jitter=0))[0]
    assert not np.array_equal(a[0].data, b[0].data)


def test_p_envelope_gives_the_vertical_its_p_wave_back():
    """Aligned on their PGA, the records' P waves arrive at different times and the log-mean
    envelope is low before the S wave: generated verticals lost their P wave. ``p_envelope``
    gives the vertical, before the lead's PGA, the larger of that envelope and the records'
    aligned on their P arrivals; the horizontals and the vertical's band amplitudes stay."""
    gen = TimesNetGenGenerator(device="cpu")
    pool = gen.load().pools["1716"]
    kw = dict(sampling="prior", weights="sign", jitter=0.1, return_lead=True,
              return_envelope=True)
    *_, lead, plain = pool.draw(record_rng(3, 0), **kw)
    # A record without a P pick is placed by its PGA and the pool's median P-to-PGA time
    # (it was shifted by the integer NaN cast to, a RuntimeWarning).
    assert np.isnan(pool.p_arrival).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        *_, lead_p, (common, with_p) = pool.draw(record_rng(3, 0), p_envelope=True, **kw)
    assert lead == lead_p and np.array_equal(common, plain)
    step = np.arange(plain.size) * pool.latent_stride
    after = step >= pool.onset[lead]
    assert np.allclose(with_p[after], plain[after])
    assert np.all(with_p >= plain) and (with_p[~after] > plain[~after] + 0.5).any()

    def lead_time(records):
        """Median time (s) from 5 % of the vertical's energy to its peak."""
        out = []
        for rec in records:
            z = rec.select(channel="*Z")[0].data.astype(np.float64)
            e = np.cumsum(z ** 2) / np.sum(z ** 2)
            out.append((np.argmax(np.abs(z)) - np.searchsorted(e, 0.05)) / 100.0)
        return np.median(out)
    opts = dict(station="1716", n=8, seed=5)
    default = split_records(gen.generate(**opts))
    p_wave = split_records(gen.generate(p_envelope=True, **opts))
    assert p_wave[0][0].stats.obspy_gen.p_envelope
    assert not default[0][0].stats.obspy_gen.p_envelope
    # Held-out records of 1716: 2.2 s; the shipped default about 1.4 s.
    assert lead_time(p_wave) > lead_time(default) + 0.3
    for a, b in zip(default, p_wave):
        for comp in "NE":   # the horizontals are not touched
            assert np.array_equal(a.select(channel=f"*{comp}")[0].data,
                                  b.select(channel=f"*{comp}")[0].data)
        za, zb = (band_log_amplitude(r.select(channel="*Z")[0].data[None].astype(float), 0.01)
                  for r in (a, b))
        live = (BAND_CENTRES > 0.5) & (BAND_CENTRES < 25)
        assert np.median(np.abs(za - zb)[0, live]) < 0.05    # nor the vertical's level


def test_envelope_step_leaves_no_notch_at_the_crossover():
    """The envelope step shapes the band above the crossover (4 Hz). It split off the shaped
    product a second time, so the band around 4 Hz took the split's weight squared: every
    generated record had a notch there, ln -0.22 at 3.6-4.5 Hz and -0.14 at 4.5-5.7 Hz
    (third octaves, against the same records without the step; -0.2 to -0.26 at 4.0-4.7 Hz
    against held-out records). The step moves energy in time, not in frequency."""
    gen = TimesNetGenGenerator(device="cpu")
    opts = dict(station="2020", n=8, seed=5)
    shaped = split_records(gen.generate(**opts))
    plain = split_records(gen.generate(envelope=False, **opts))
    assert shaped[0][0].stats.obspy_gen.envelope and not plain[0][0].stats.obspy_gen.envelope

    def amplitudes(records):
        return np.stack([band_log_amplitude(np.stack([tr.data for tr in r]).astype(float), 0.01)
                         for r in records])
    change = np.median(amplitudes(shaped) - amplitudes(plain), axis=(0, 1))
    near = (BAND_CENTRES > 3.5) & (BAND_CENTRES < 5.5)       # the 4.0- and 5.04-Hz bands
    assert near.sum() == 2
    assert np.all(np.abs(change[near]) < 0.06), change[near]
    assert np.any(np.abs(change[BAND_CENTRES > 1]) > 1e-3)   # the step did act


def _pre_event_level(record, p):
    """log10 of the vertical's RMS before ``p - 1`` s (seconds after its start) over its peak."""
    z = record.select(channel="*Z")[0].data.astype(np.float64)
    end = int(round((p - 1.0) * 100))
    return np.log10(np.sqrt(np.mean(z[:end] ** 2)) / np.abs(z).max())


def test_pre_event_noise_lets_pickers_find_the_generated_p_wave(tmp_path):
    """Before its P wave a generated record carried what the mixed records had there (the
    band below the crossover takes no envelope): its pre-event level was 4-8x the records'
    and the STA/LTA picked within 0.5 s of its P on 7-20 % of the records. ``pre_event``
    (opt-in) brings its band above 1 Hz down to the noise level of the record whose timing it
    takes; the P pick is recorded (``stats.obspy_gen.p_arrival``)."""
    from obspy import read

    from obspy_gen.core.picks import pick_record
    from obspy_gen.plugins.stochastic import simulate as simulate_catalog
    simulate_catalog("paper5", out=tmp_path, seed=7, n=8)
    real = split_records(read(str(tmp_path / "SY.2020.*.mseed")))
    picks = [pick_record(r).p for r in real]
    assert all(p is not None for p in picks)
    real_level = np.median([_pre_event_level(r, p) for r, p in zip(real, picks)])

    gen = TimesNetGenGenerator(device="cpu")

    def figures(records, p_arrival):
        hit = [pick_record(r).p is not None and abs(pick_record(r).p - p) < 0.5
               for r, p in zip(records, p_arrival)]
        return np.mean(hit), np.median([_pre_event_level(r, p)
                                        for r, p in zip(records, p_arrival)])
    quiet = split_records(gen.generate(station="2020", n=12, seed=11, pre_event=True))
    p_arrival = [r[0].stats.obspy_gen.p_arrival for r in quiet]
    assert all(p is not None and p > 2 for p in p_arrival)
    assert all(r[0].stats.obspy_gen.pre_event for r in quiet)
    noisy = split_records(gen.generate(station="2020", n=12, seed=11))   # opt-in: off
    assert all(r[0].stats.obspy_gen.p_arrival is None for r in noisy)
    assert not any(r[0].stats.obspy_gen.pre_event for r in noisy)
    hit_quiet, level_quiet = figures(quiet, p_arrival)
    hit_noisy, level_noisy = figures(noisy, p_arrival)   # the same leads, the same timing
    assert hit_quiet >= 0.8 and hit_noisy <= 0.4
    assert level_noisy > level_quiet + 0.3
    assert abs(level_quiet - real_level) < 0.5
    # From the P on nothing changes (but for the filter's leakage and the baseline correction,
    # which sees the whole record: 0.02-0.2 % of the peak).
    for a, b, p in zip(quiet, noisy, p_arrival):
        za, zb = (r.select(channel="*Z")[0].data.astype(np.float64) for r in (a, b))
        k = int(round((p + 1.0) * 100))
        assert np.allclose(za[k:], zb[k:], rtol=0, atol=5e-3 * np.abs(zb).max())
    # Nor, before the processing, the long periods: the vertical's PGV and its Fourier
    # amplitudes at 0.05-0.5 Hz (a cut at all frequencies changed them by up to 50 %; the
    # gain's steps move a little energy below 1 Hz, which is filtered out of the change).
    kw = dict(station="2020", n=3, seed=11, baseline="none")
    for a, b in zip(split_records(gen.generate(pre_event=True, **kw)),
                    split_records(gen.generate(**kw))):
        za, zb = (r.select(channel="*Z")[0].data.astype(np.float64) for r in (a, b))
        pgv = [np.abs(np.cumsum(z) * 0.01).max() for z in (za, zb)]
        assert abs(pgv[0] / pgv[1] - 1) < 0.01
        f = np.fft.rfftfreq(za.size, 0.01)
        band = (f > 0.05) & (f < 0.5)
        amp = [np.abs(np.fft.rfft(z))[band] for z in (za, zb)]
        assert np.median(np.abs(amp[0] / amp[1] - 1)) < 0.15


def test_metadata_says_which_steps_a_record_got():
    """The envelope, band amplitudes, P envelope and pre-event level follow the lead record of
    "prior"/"aligned" sampling; "mix" has none, and its records say so (they said
    ``envelope=True`` because the checkpoint asks for it)."""
    gen = TimesNetGenGenerator(device="cpu")
    steps = ("envelope", "band_shape", "p_envelope", "pre_event")
    mixed = gen.generate(station="4628", n=1, seed=0, sampling="mix", p_envelope=True,
                         pre_event=True)[0].stats.obspy_gen
    assert not any(mixed[k] for k in steps) and mixed.p_arrival is None
    prior = gen.generate(station="4628", n=1, seed=0, p_envelope=True,
                         pre_event=True)[0].stats.obspy_gen
    assert all(prior[k] for k in steps) and prior.p_arrival > 0


def test_cnn_lstm_sees_pre_event_records_as_it_sees_the_station_s(tmp_path):
    """The CNN-LSTM Vs30 model takes a P/S mask from picks on the record. On generated
    records the picks went wrong and the model's Vs30 with them (60 records per station:
    below the held-out records' 90 % interval at all five stations); with ``pre_event`` the
    model says of generated records what it says of the station's records (inside or touching
    the interval at four)."""
    from obspy import read

    from obspy_gen.plugins.cnn_lstm.plugin import CNNLSTMPredictor
    from obspy_gen.plugins.stochastic import simulate as simulate_catalog
    simulate_catalog("paper5", out=tmp_path, seed=7, n=8)
    gen, model = TimesNetGenGenerator(device="cpu"), CNNLSTMPredictor()
    for station in ("2020", "1716"):
        real = model.predict(split_records(read(str(tmp_path / f"SY.{station}.*.mseed"))),
                             device="cpu").vs30
        default, quiet = (model.predict(split_records(gen.generate(
            station=station, n=12, seed=11, pre_event=flag)), device="cpu").vs30
            for flag in (False, True))
        # measured: default -0.26 / -0.19, pre_event -0.01 / -0.01 (ln, against the records)
        assert np.log(default / real) < -0.12, (station, real, default)
        assert abs(np.log(quiet / real)) < 0.08, (station, real, quiet)


def test_shipped_default_reaches_the_station_coherence(monkeypatch):
    """The coherence step re-mixes the vertical to the station's median coherence with the
    horizontals, then puts its envelope back -- which lowers the coherence again: done once,
    generated records at 2020 fell 0.03-0.11 short of the target at 1.3-5 Hz. Done in two
    rounds (:data:`~obspy_gen.plugins.timesnet_gen.coherence.ROUNDS`) they reach it."""
    from obspy_gen.core.records import three_components
    from obspy_gen.plugins.timesnet_gen import plugin as P
    from obspy_gen.plugins.timesnet_gen.coherence import band_coherence
    gen = TimesNetGenGenerator(device="cpu")
    target = gen.load().pools["2020"].coherence_target
    band = (BAND_CENTRES > 1.2) & (BAND_CENTRES < 5.5)

    def shortfall():
        recs = split_records(gen.generate(station="2020", n=20, seed=11))
        got = np.median([band_coherence(np.stack(three_components(r)[:3]), 0.01)[band]
                         for r in recs], axis=0)
        return float(np.mean(target[band] - got))

    two = shortfall()
    once = P.restore_coherence
    monkeypatch.setattr(P, "restore_coherence",
                        lambda *args, **kw: once(*args, rounds=1, **kw))
    one = shortfall()
    assert abs(two) < 0.035 and one > 0.045, (two, one)

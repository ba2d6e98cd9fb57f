"""The timesnet-gen generator plugin with the shipped checkpoint: output format, seeds, errors."""
import warnings

import numpy as np
import pytest
from obspy import Stream, UTCDateTime

pytest.importorskip("torch")
pytest.importorskip("safetensors")

import obspy_gen  # noqa: E402
from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.io.checkpoints import CheckpointError, read_config  # noqa: E402
from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator  # noqa: E402
from obspy_gen.plugins.torch_base import shipped_checkpoints  # noqa: E402

from .conftest import resonance_record  # noqa: E402

STATIONS = ["2020", "4628", "0205", "1716", "3130"]

if "timesnet-gen-synthetic" not in shipped_checkpoints("obspy_gen.plugins.timesnet_gen"):
    pytest.skip("shipped checkpoint not present", allow_module_level=True)


@pytest.fixture(scope="module")
def gen():
    return TimesNetGenGenerator()


def test_registered_and_default_for_stream_generate():
    assert "timesnet-gen" in obspy_gen.plugins.available("generators")
    cls = obspy_gen.plugins.load("generators", "timesnet-gen")
    assert cls is TimesNetGenGenerator and cls.requires == ("torch", "safetensors")
    st = Stream().generate(station="4628", n=2, seed=3)
    assert len(st) == 6 and st[0].stats.obspy_gen.model == "timesnet-gen"


def test_shipped_checkpoint_is_small_and_labelled_synthetic():
    from obspy_gen.io.checkpoints import checkpoint_paths
    from obspy_gen.plugins.torch_base import resolve_checkpoint
    for name in ("timesnet-gen-synthetic", "timesnet-gen-synthetic-pretrain"):
        path = resolve_checkpoint(name, "obspy_gen.plugins.timesnet_gen")
        cfg = read_config(path, "timesnet-gen")
        assert cfg["training"]["synthetic"] is True
        assert "SYNTHETIC" in cfg["training"]["description"]
        assert sum(p.stat().st_size for p in checkpoint_paths(path)) <= 20e6
    cfg = read_config(resolve_checkpoint("timesnet-gen-synthetic",
                                         "obspy_gen.plugins.timesnet_gen"))
    assert [s["station"] for s in cfg["stations"]] == STATIONS
    assert cfg["conditioned"] and cfg["base_checkpoint"] == "timesnet-gen-synthetic-pretrain"
    assert set(cfg["latent_pools"]) == set(STATIONS)
    assert cfg["training"]["pretraining"]["synthetic"] is True


def test_output_layout(gen):
    st = gen.generate(station="3130", n=3, seed=11)
    assert len(st) == 9
    # Each record spans the recorded part of the pool record whose timing it has.
    pool = gen.load().pools["3130"]
    spans = {int(hi - lo) for lo, hi in pool.extent}
    recs = split_records(st)
    assert len(recs) == 3
    for i, rec in enumerate(recs):
        assert [tr.stats.channel for tr in rec] == ["HNN", "HNE", "HNZ"]
        for tr in rec:
            assert tr.id == "SY.3130.00." + tr.stats.channel
            assert tr.stats.sampling_rate == 100.0 and tr.stats.npts in spans
            assert tr.stats.units == "m/s**2"
            meta = tr.stats.obspy_gen
            assert (meta.model, meta.record, meta.seed, meta.synthetic) == (
                "timesnet-gen", i, 11, True)
            assert meta.checkpoint == "timesnet-gen-synthetic" and meta.version
            assert np.all(np.isfinite(tr.data)) and np.abs(tr.data).max() > 0
    # Traces ordered record by record; each record starts after the previous one ends.
    assert [tr.stats.obspy_gen.record for tr in st] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for a, b in zip(recs, recs[1:]):
        assert b[0].stats.starttime > a[0].stats.endtime
    merged = st.copy().merge()
    assert len(merged) == 3  # merge joins each channel's records, never mixes samples
    assert np.ma.isMaskedArray(merged[0].data)


def test_same_seed_same_records_and_record_i_independent_of_n(gen):
    a = gen.generate(station="0205", n=2, seed=5)
    b = gen.generate(station="0205", n=4, seed=5)
    for x, y in zip(a, b[:6]):
        np.testing.assert_array_equal(x.data, y.data)
    c = gen.generate(station="0205", n=2, seed=6)
    assert not np.array_equal(a[0].data, c[0].data)


def test_seed_none_is_recorded_and_reproduces(gen):
    a = gen.generate(station="2020", n=1)
    seed = a[0].stats.obspy_gen.seed
    b = gen.generate(station="2020", n=1, seed=seed)
    np.testing.assert_array_equal(a[0].data, b[0].data)


def test_options(gen):
    st = gen.generate(station="4628", n=1, seed=0, starttime=UTCDateTime(2023, 2, 6),
                      network="XY", location="10", noise_scale=0, n_mix=3)
    assert st[0].id == "XY.4628.10.HNN" and st[0].stats.starttime == UTCDateTime(2023, 2, 6)
    assert st[0].stats.obspy_gen.noise_scale == 0 and st[0].stats.obspy_gen.n_mix == 3
    assert len(gen.generate(station="4628", n=0)) == 0
    diag = gen.generate(station="4628", n=1, seed=0, noise="diagonal")
    assert diag[0].stats.obspy_gen.noise == "diagonal"


def test_unknown_station_lists_known(gen):
    with pytest.raises(ValueError, match="unknown station '9999'.*known: 2020, 4628, 0205, "
                                         "1716, 3130"):
        gen.generate(station="9999")
    with pytest.raises(ValueError, match="give station="):
        gen.generate()


@pytest.mark.parametrize("kwargs,match", [(dict(n=-1), "n must"), (dict(n_mix=0), "n_mix"),
                                          (dict(noise_scale=-2), "noise_scale"),
                                          (dict(noise="pink"), "noise=")])
def test_bad_arguments(gen, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gen.generate(station="4628", **kwargs)


def test_unknown_option(gen):
    with pytest.raises(TypeError, match="unexpected option.*temperature"):
        gen.generate(station="4628", temperature=2)


def test_bad_checkpoint(gen, tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        gen.generate(station="4628", checkpoint=str(tmp_path / "none"))
    (tmp_path / "x.json").write_text("{}")
    (tmp_path / "x.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not an obspy-gen checkpoint"):
        gen.generate(station="4628", checkpoint=str(tmp_path / "x"))


def _pool(n, f0=4.0, fs=100.0, duration=60.0, station="NEW"):
    recs = [resonance_record(f0, duration, fs, seed=k, station=station,
                             start=UTCDateTime(2024, 1, 1) + 3600 * k) for k in range(n)]
    return sum(recs, Stream())


def test_zero_shot_from_a_stream(gen):
    st = gen.generate(_pool(4), n=2, seed=1)
    assert len(st) == 6 and st[0].id == "XX.NEW..HNN"
    assert st[0].stats.obspy_gen.station_pool == "zero-shot"
    assert st[0].stats.obspy_gen.checkpoint == "timesnet-gen-synthetic-pretrain"
    # Stream.generate passes its traces as the pool.
    st2 = _pool(4).generate(n=2, seed=1)
    np.testing.assert_array_equal(st[0].data, st2[0].data)


def test_zero_shot_small_pool_warns(gen):
    with pytest.warns(UserWarning, match="zero-shot pool of 4 records; below 20"):
        gen.generate(_pool(4), n=1, seed=0)


@pytest.mark.filterwarnings("ignore:.*zero-padded", "ignore:.*zero-shot pool of")
def test_zero_shot_records_of_a_small_pool_resemble_it():
    """Why a pool under SMALL_POOL records warns: records generated from 5 records of a
    simulated site correlate with them more than 5 other records of the site do."""
    pytest.importorskip("pyrvt")
    pytest.importorskip("pystrata")
    from obspy_gen.evaluate.memorisation import memorisation_figures
    from obspy_gen.plugins.stochastic import simulate
    res = simulate(profile=[(20, 200, 1800, 0.05), (0, 800, 2200, 0.01)], n=10, seed=3)
    (st,) = res.streams.values()
    recs = split_records(st)
    pool, others = recs[:5], recs[5:]
    generated = split_records(TimesNetGenGenerator(device="cpu").generate(pool, n=10, seed=1))
    ncc_generated = np.median(memorisation_figures(generated, pool)["ncc"])
    ncc_others = np.median(memorisation_figures(others, pool)["ncc"])
    assert ncc_generated > ncc_others + 0.1, (ncc_generated, ncc_others)


def test_zero_shot_needs_enough_records(gen):
    with pytest.raises(ValueError, match="at least 3 records"):
        gen.generate(_pool(2), n=1)


def test_zero_shot_one_station_at_a_time(gen):
    both = _pool(3) + _pool(3, station="OTHER")
    with pytest.raises(ValueError, match="records of 2 stations"):
        gen.generate(both, n=1)
    st = gen.generate(both, station="OTHER", n=1, seed=0)
    assert st[0].stats.station == "OTHER"


def test_zero_shot_resamples_and_pads_with_warnings(gen):
    with pytest.warns(UserWarning, match="resampled to 100 Hz"):
        st = gen.generate(_pool(3, fs=200.0), n=1, seed=0)
    assert st[0].stats.sampling_rate == 100.0
    with pytest.warns(UserWarning, match="3 of 3 records shorter than the model's 60.0 s "
                                         r"\(shortest 30.0 s\); zero-padded"):
        gen.generate(_pool(3, duration=30.0), n=1, seed=0)


def test_reconstruct_keeps_the_time_axis(gen):
    real = _pool(3, duration=30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = gen.reconstruct(real)
    assert len(rec) == 9
    for k, (a, b) in enumerate(zip(split_records(real), split_records(rec))):
        assert b[0].stats.starttime == a[0].stats.starttime
        assert b[0].stats.npts == a[0].stats.npts
        assert b[0].stats.obspy_gen.reconstructed and b[0].stats.obspy_gen.record == k
        # An unknown station goes through the unconditioned base checkpoint.
        assert b[0].stats.obspy_gen.checkpoint == "timesnet-gen-synthetic-pretrain"
        assert b[0].stats.station == a[0].stats.station
    # Named as a station the checkpoint knows: conditioned on it, and coded so.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        known = gen.reconstruct(real, station="3130")
    assert {tr.stats.station for tr in known} == {"3130"}
    assert known[0].stats.obspy_gen.checkpoint == "timesnet-gen-synthetic"
    assert not np.allclose(known[0].data, rec[0].data)


def test_stations_and_load_cache(gen):
    assert gen.stations() == STATIONS
    assert gen.load() is gen.load()


def test_from_pretrained_and_save(tmp_path):
    g = TimesNetGenGenerator.from_pretrained("timesnet-gen-synthetic", device="cpu")
    g.save(tmp_path / "copy")
    a = g.generate(station="1716", n=1, seed=2)
    b = TimesNetGenGenerator(checkpoint=str(tmp_path / "copy")).generate(station="1716", n=1,
                                                                        seed=2)
    np.testing.assert_array_equal(a[0].data, b[0].data)


def test_station_given_with_network_code():
    st = Stream().generate(station="TK.4628", n=1, seed=3)
    assert {tr.stats.station for tr in st} == {"4628"}

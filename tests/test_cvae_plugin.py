"""The cvae generator plugin with the shipped checkpoint: output format, seeds, bad input."""
import warnings

import numpy as np
import pytest
from obspy import Stream, UTCDateTime

pytest.importorskip("torch")
pytest.importorskip("safetensors")

import obspy_gen  # noqa: E402
from obspy_gen.core.records import split_records  # noqa: E402
from obspy_gen.io.checkpoints import CheckpointError, read_config  # noqa: E402
from obspy_gen.plugins.cvae import CVAEGenerator  # noqa: E402
from obspy_gen.torchkit.base import shipped_checkpoints  # noqa: E402

from .conftest import resonance_record  # noqa: E402

STATIONS = ["2020", "4628", "0205", "1716", "3130"]

if "cvae-synthetic" not in shipped_checkpoints("obspy_gen.plugins.cvae"):
    pytest.skip("shipped checkpoint not present", allow_module_level=True)


@pytest.fixture(scope="module")
def gen():
    return CVAEGenerator()


def _records(n, f0=4.0, duration=70.0, fs=100.0, station="NEW"):
    st = Stream()
    for i in range(n):
        rec = resonance_record(f0, duration, fs, seed=i, station=station,
                               start=UTCDateTime(2024, 1, 1) + 1000 * i)
        rec.filter("lowpass", freq=min(30.0, 0.4 * fs), corners=8)
        for tr in rec:
            tr.data *= 1e-2
        st += rec
    return st


def test_registered_and_reachable_from_stream_generate():
    assert "cvae" in obspy_gen.plugins.available("generators")
    assert obspy_gen.plugins.load("generators", "cvae") is CVAEGenerator
    st = Stream().generate(station="4628", n=1, seed=3, model="cvae")
    assert len(st) == 3 and st[0].stats.obspy_gen.model == "cvae"


def test_shipped_checkpoints_are_small_labelled_and_the_papers_shape():
    from obspy_gen.io.checkpoints import checkpoint_paths
    from obspy_gen.torchkit.base import resolve_checkpoint
    for name in ("cvae-synthetic", "cvae-synthetic-pretrain"):
        path = resolve_checkpoint(name, "obspy_gen.plugins.cvae")
        cfg = read_config(path, "cvae")
        assert cfg["training"]["synthetic"] is True
        assert "SYNTHETIC" in cfg["training"]["description"]
        assert sum(p.stat().st_size for p in checkpoint_paths(path)) <= 20e6
        assert cfg["architecture"]["latent_dim"] == 510
    cfg = read_config(resolve_checkpoint("cvae-synthetic", "obspy_gen.plugins.cvae"))
    assert [s["station"] for s in cfg["stations"]] == STATIONS
    assert cfg["conditioned"] and cfg["base_checkpoint"] == "cvae-synthetic-pretrain"
    assert cfg["training"]["pretraining"]["n_records"] == 1800 - 0  # the TimesNet-Gen corpus
    assert cfg["training"]["source"] == "obspy_gen.plugins.stochastic.simulate('paper5', seed=0)"
    assert cfg["training"]["settings"]["cluster_weight"] == 100
    ts = read_config(resolve_checkpoint("timesnet-gen-synthetic",
                                        "obspy_gen.plugins.timesnet_gen"))
    assert ts["training"]["source"] == cfg["training"]["source"]
    assert ts["training"]["pretraining"]["source"] == cfg["training"]["pretraining"]["source"]


def test_output_layout_units_and_provenance(gen):
    st = gen.generate(station="3130", n=3, seed=11)
    recs = split_records(st)
    assert len(st) == 9 and len(recs) == 3
    for i, rec in enumerate(recs):
        assert [tr.stats.channel for tr in rec] == ["HNN", "HNE", "HNZ"]
        for tr in rec:
            assert tr.id == "SY.3130.00." + tr.stats.channel
            assert tr.stats.sampling_rate == 100.0 and tr.stats.npts == 6000
            assert tr.stats.units == "m/s**2" and tr.data.dtype == np.float32
            meta = tr.stats.obspy_gen
            assert (meta.model, meta.record, meta.seed, meta.synthetic, meta.mode) == (
                "cvae", i, 11, True, "prior")
            assert meta.checkpoint == "cvae-synthetic" and meta.version
            assert np.all(np.isfinite(tr.data)) and np.abs(tr.data).max() > 0
    assert [tr.stats.obspy_gen.record for tr in st] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for a, b in zip(recs, recs[1:]):
        assert b[0].stats.starttime > a[0].stats.endtime
    assert len(st.copy().merge()) == 3


def test_amplitudes_are_strong_motion_in_si_units(gen):
    # Decoded dB images give physical amplitudes: PGA of the simulated training records
    # (mm/s^2 to m/s^2), not standardised units.
    st = gen.generate(station="1716", n=5, seed=0)
    pga = np.array([max(np.abs(tr.data).max() for tr in rec[:2]) for rec in split_records(st)])
    assert np.all(pga > 1e-4) and np.all(pga < 20)


def test_same_seed_same_records_and_record_i_independent_of_n(gen):
    a = gen.generate(station="0205", n=2, seed=5)
    b = gen.generate(station="0205", n=4, seed=5)
    for x, y in zip(a, b[:6]):
        np.testing.assert_array_equal(x.data, y.data)
    c = gen.generate(station="0205", n=2, seed=6)
    assert not np.array_equal(a[0].data, c[0].data)
    seed = gen.generate(station="2020", n=1)[0].stats.obspy_gen.seed
    assert isinstance(seed, int)


def test_temperature_zero_decodes_the_prior_mean(gen):
    a = gen.generate(station="4628", n=2, seed=1, temperature=0)
    np.testing.assert_array_equal(a[0].data, a[3].data)
    assert a[0].stats.obspy_gen.temperature == 0


def test_options_and_empty_request(gen):
    st = gen.generate(station="TK.4628", n=1, seed=0, starttime=UTCDateTime(2023, 2, 6),
                      network="XY", location="10")
    assert st[0].id == "XY.4628.10.HNN" and st[0].stats.starttime == UTCDateTime(2023, 2, 6)
    assert len(gen.generate(station="4628", n=0)) == 0
    with pytest.raises(TypeError, match="unexpected option.*n_mix"):
        gen.generate(station="4628", n_mix=3)


def test_unknown_station_lists_known(gen):
    with pytest.raises(ValueError, match="unknown station '9999'.*known: 2020, 4628, 0205, "
                                         "1716, 3130"):
        gen.generate(station="9999")
    with pytest.raises(ValueError, match="give station="):
        gen.generate()


@pytest.mark.parametrize("kwargs,match", [(dict(n=-1), "n must"), (dict(n=1.5), "n must"),
                                          (dict(temperature=-1), "temperature"),
                                          (dict(temperature=float("nan")), "temperature")])
def test_bad_arguments(gen, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gen.generate(station="4628", **kwargs)


def test_bad_checkpoint(gen, tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint.*cvae-synthetic"):
        gen.generate(station="4628", checkpoint=str(tmp_path / "nope"))
    with pytest.raises(CheckpointError, match="timesnet-gen"):
        from obspy_gen.torchkit.base import resolve_checkpoint
        gen.generate(station="4628", checkpoint=str(resolve_checkpoint(
            "timesnet-gen-synthetic", "obspy_gen.plugins.timesnet_gen")))


def test_zero_shot_from_records_of_a_new_station(gen):
    st = gen.generate(_records(4), n=2, seed=0)
    assert len(st) == 6 and st[0].stats.station == "NEW" and st[0].stats.network == "XX"
    assert st[0].stats.obspy_gen.mode == "zero-shot"


def test_zero_shot_bad_input(gen):
    with pytest.raises(ValueError, match="at least 3 records"):
        gen.generate(_records(2), n=1)
    two = _records(3) + _records(3, station="OTHER")
    with pytest.raises(ValueError, match="records of 2 stations"):
        gen.generate(two, n=1)
    assert gen.generate(two, station="OTHER", n=1, seed=0)[0].stats.station == "OTHER"


def test_wrong_rate_is_resampled_and_short_records_padded_with_warnings(gen):
    with pytest.warns(UserWarning, match="records at 200 Hz resampled to 100 Hz"):
        gen.generate(_records(3, fs=200.0), n=1, seed=0)
    with pytest.warns(UserWarning, match="3 of 3 records shorter than the model's 60.0 s"):
        gen.generate(_records(3, duration=20.0), n=1, seed=0)


def test_reconstruct_keeps_the_time_axis(gen):
    recs = _records(3, duration=40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = gen.reconstruct(recs)
    assert len(out) == 9
    for rec, orig in zip(split_records(out), split_records(recs)):
        assert abs(rec[0].stats.starttime - orig[0].stats.starttime) < 0.02
        assert rec[0].stats.npts == orig[0].stats.npts
        assert rec[0].stats.obspy_gen.reconstructed


def test_from_pretrained_and_save(tmp_path):
    gen = CVAEGenerator.from_pretrained("cvae-synthetic", device="cpu")
    path = tmp_path / "copy"
    gen.save(path)
    again = CVAEGenerator(checkpoint=str(path))
    a = gen.generate(station="2020", n=1, seed=3)
    b = again.generate(station="2020", n=1, seed=3)
    np.testing.assert_array_equal(a[0].data, b[0].data)
    assert again.stations() == STATIONS

"""obspy_gen.api: station ids, generation requests, the Stream helper, the Generator base."""
import numpy as np
import pytest
from obspy import Stream, read

from obspy_gen.api import (GeneratedRecord, GenerationRequest, Generator, StationId,
                           build_stream, is_trainable, reconstruction_stream)


@pytest.mark.parametrize("text,code,net,loc", [("4628", "4628", None, None),
                                                ("TK.4628", "4628", "TK", None),
                                                ("TK.4628.00", "4628", "TK", "00"),
                                                ("TK.4628.", "4628", "TK", "")])
def test_station_ids_parse_once(text, code, net, loc):
    sid = StationId.parse(text)
    assert (sid.code, sid.network, sid.location) == (code, net, loc)


@pytest.mark.parametrize("bad", ["", ".4628", "a.b.c.d", "TK..00"])
def test_bad_station_ids(bad):
    with pytest.raises(ValueError, match="not STA, NET.STA or NET.STA.LOC"):
        StationId.parse(bad)


def test_request_validates_conditions_with_units_and_ranges():
    r = GenerationRequest.create(station="TK.4628", n=3, seed=4, magnitude=(5, 6.5),
                                 distance=20, distance_kind="rupture", depth=8, vs30=760)
    assert r.station_code == "4628" and r.n == 3 and r.seed == 4
    assert r.conditions == {"magnitude": (5.0, 6.5), "distance": 20.0, "depth": 8.0,
                            "vs30": 760.0}
    assert r.distance_kind == "rupture"
    for kwargs, msg in [({"vs30": 20}, "vs30=20 m/s is outside 50-5000 m/s"),
                        ({"distance": -1}, "distance=-1 km is outside"),
                        ({"magnitude": (7, 5)}, "magnitude range must have min <= max"),
                        ({"magnitude": (5, 6, 7)}, "a value or a \\(min, max\\) range in Mw"),
                        ({"depth": "deep"}, "must be a number in km"),
                        ({"distance": 5, "distance_kind": "crow"}, "not one of epicentral"),
                        ({"n": -2}, "n must be a non-negative integer"),
                        ({"seed": -1}, "seed must be")]:
        with pytest.raises(ValueError, match=msg):
            GenerationRequest.create(**kwargs)
    assert GenerationRequest.create(n=1).seed >= 0   # drawn when not given
    recs = GenerationRequest.create(read(), n=1).records
    assert len(recs) == 1 and isinstance(recs[0], Stream)


class Sine(Generator):
    """A tiny generator: a sine whose amplitude is the magnitude."""

    name, version = "sine", "0.1"
    conditions = ("magnitude", "distance")
    distance_kinds = ("hypocentral", "rupture")
    options = {"freq": 2.0}

    def generate_request(self, req):
        t = np.arange(200) / 100.0
        amp = req.conditions.get("magnitude", 1.0)
        recs = [GeneratedRecord(np.vstack([amp * np.sin(2 * np.pi * req.options["freq"] * t)]
                                          * 3), 100.0, {"kind": req.distance_kind})
                for _ in range(req.n)]
        return build_stream(recs, model=self.name, version=self.version, seed=req.seed,
                            station=req.station_code, network=req.station.network or "SY")


def test_generator_base_validates_and_builds_the_stream():
    st = Sine().generate(station="TK.4628.00", n=2, seed=9, magnitude=5.0, distance=30,
                         freq=5.0)
    assert [tr.id for tr in st[:3]] == ["TK.4628..HNN", "TK.4628..HNE", "TK.4628..HNZ"]
    assert np.abs(st[0].data).max() == pytest.approx(5.0, rel=1e-3)
    m = st[3].stats.obspy_gen
    assert (m.model, m.version, m.seed, m.record, m.synthetic, m.kind) == \
        ("sine", "0.1", 9, 1, True, "hypocentral")
    assert st[3].stats.starttime == st[0].stats.endtime + 0.01 + 10.0
    with pytest.raises(ValueError, match="^sine does not support the condition 'vs30'; it "
                                         "supports: magnitude, distance$"):
        Sine().generate(station="4628", vs30=400)
    with pytest.raises(ValueError, match="takes distance as hypocentral or rupture"):
        Sine().generate(station="4628", distance=10, distance_kind="joyner_boore")
    with pytest.raises(TypeError, match="unexpected option.*temperature.*supported: freq"):
        Sine().generate(station="4628", temperature=3)
    assert not is_trainable(Sine)


def test_build_stream_slots_and_dtype():
    recs = [GeneratedRecord(np.ones((3, 50)), 10.0) for _ in range(3)]
    st = build_stream(recs, model="m", version="1", seed=0, station="S", slot=60.0,
                      dtype=np.float32, starttime="2001-01-01")
    assert [str(tr.stats.starttime)[:19] for tr in st[::3]] == \
        ["2001-01-01T00:00:00", "2001-01-01T00:01:00", "2001-01-01T00:02:00"]
    assert st[0].data.dtype == np.float32
    with pytest.raises(ValueError, match="expected \\(3, npts\\)"):
        build_stream([GeneratedRecord(np.ones((2, 5)), 1.0)], model="m", version="1",
                     seed=0, station="S")


def test_reconstruction_stream_cuts_the_window_onto_the_record_time_axis():
    rec = read()                                      # 3 x 3000 samples at 100 Hz
    rec[1].stats.starttime += 0.5                     # the latest start is the time axis
    for tr in rec:
        tr.stats.units = "gal"
    t0 = rec[1].stats.starttime
    window = np.arange(3 * 1000, dtype=np.float64).reshape(3, 1000)
    # A long record: the window lies inside it, nothing is cut.
    st = reconstruction_stream(rec, window, 700, 2950, sampling_rate=100.0, model="m",
                               version="2", index=4, checkpoint="ck", station="NEW",
                               dtype=np.float32)
    assert len(st) == 3 and [tr.stats.channel for tr in st] == ["HNN", "HNE", "HNZ"]
    assert st[0].stats.starttime == t0 + 7.0 and st[0].stats.npts == 1000
    np.testing.assert_array_equal(st[1].data, window[1].astype(np.float32))
    assert st[0].data.dtype == np.float32 and st[0].data.flags.owndata
    assert st[0].id == "BW.NEW..HNN" and st[0].stats.units == "gal"
    assert dict(st[2].stats.obspy_gen) == {"model": "m", "version": "2", "record": 4,
                                           "synthetic": True, "reconstructed": True,
                                           "checkpoint": "ck"}
    # A short record: the zero padding on both sides is dropped.
    st = reconstruction_stream(rec, window, -300, 500, sampling_rate=100.0, model="m",
                               version="2", index=0, checkpoint="ck")
    assert st[0].stats.starttime == t0 and st[0].stats.npts == 500
    np.testing.assert_array_equal(st[2].data, window[2, 300:800])
    assert st[0].stats.station == "RJOB" and "seed" not in st[0].stats.obspy_gen
    # npts by default: from the latest start to the earliest end (29.49 s + 1 sample).
    st = reconstruction_stream(rec, np.ones((3, 4000)), -500, sampling_rate=100.0,
                               model="m", version="2", index=0, checkpoint="ck")
    assert st[0].stats.npts == 2950 and st[0].stats.starttime == t0


def test_generator_station_records_picks_one_station():
    def station(code, net="BW", later=0.0):
        st = read()
        for tr in st:
            tr.stats.station, tr.stats.network = code, net
            tr.stats.starttime += later
        return st
    both = station("A") + station("B") + station("A", net="XX") + station("A", later=100.0)
    key, recs = Generator.station_records(both, station="BW.A")
    assert key == "BW.A." and len(recs) == 2 and all(r[0].stats.network == "BW" for r in recs)
    assert Generator.station_records(station("B") + station("B", later=50.0))[0] == "BW.B."
    assert Generator.station_records(both, station="B")[0] == "BW.B."
    with pytest.raises(ValueError, match=r"records of 2 stations \(BW.A., XX.A.\)"):
        Generator.station_records(both, station="A")
    with pytest.raises(ValueError, match="no records of station 'C' in the given records"):
        Generator.station_records(both, station="C")
    assert Generator.station_records(Stream()) == (None, [])

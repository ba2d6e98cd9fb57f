"""Stream integration and record handling."""
import warnings

import numpy as np
import pytest
from obspy import Stream, read

import obspy_gen
from obspy_gen.core import stream as stream_mod
from obspy_gen.core.records import channel_component, split_records, three_components

from .conftest import resonance_record


def test_methods_attached_and_idempotent():
    before = {n: getattr(Stream, n) for n in ("hvsr", "generate", "vs30", "site_metrics")}
    assert sorted(stream_mod.attach_stream_methods()) == sorted(before)
    for name, func in before.items():
        assert getattr(Stream, name) is func
    assert Stream.filter.__module__.startswith("obspy")  # ObsPy's own methods untouched


def test_existing_attribute_is_never_replaced(monkeypatch):
    def mine(self):
        return "theirs"
    monkeypatch.setattr(Stream, "vs30", mine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attached = stream_mod.attach_stream_methods()
    assert "vs30" not in attached and Stream.vs30 is mine
    assert any("already has 'vs30'" in str(w.message) for w in caught)


def test_stream_hvsr_equals_function():
    st = resonance_record(4.0, duration=120.01, seed=9)
    a = st.hvsr(window_length=20)
    b = obspy_gen.hvsr(st, window_length=20)
    np.testing.assert_array_equal(a.curves, b.curves)


def test_generate_and_vs30_without_plugins_say_what_is_missing():
    with pytest.raises(obspy_gen.plugins.PluginNotFoundError, match="obspy_gen.generators"):
        Stream().generate(station="4628", model="definitely-not-installed")
    with pytest.raises(obspy_gen.plugins.PluginNotFoundError, match="obspy_gen.vs30"):
        read().vs30(model="definitely-not-installed")


@pytest.mark.parametrize("channel, expected", [
    ("HNZ", ("Z", "HN")), ("HHN", ("N", "HH")), ("BH1", ("N", "BH")), ("BH2", ("E", "BH")),
    ("EW", ("E", "")), ("UD1", ("Z", "1")), ("NS2", ("N", "2")), ("U-D", ("Z", "")),
    ("N-S", ("N", "")), ("E-W", ("E", ""))])
def test_channel_component(channel, expected):
    assert channel_component(channel) == expected


def test_channel_component_unknown():
    with pytest.raises(ValueError, match="'HNX': cannot tell its component"):
        channel_component("HNX")


def test_split_records_by_instrument_and_time():
    a = resonance_record(3.0, duration=30)
    b = resonance_record(3.0, duration=30, channels=("HHN", "HHE", "HHZ"))
    c = resonance_record(3.0, duration=30)
    for tr in c:
        tr.stats.starttime += 100
    records = split_records(a + b + c)
    assert [len(r) for r in records] == [3, 3, 3]
    assert [tr.stats.channel[-1] for tr in records[0]] == ["N", "E", "Z"]
    assert {r[0].stats.channel[:2] for r in records} == {"HN", "HH"}


def test_three_components_aligns_offset_traces():
    st = resonance_record(3.0, duration=10)
    st[0].stats.starttime -= 0.02     # N starts two samples earlier
    n, e, z, fs = three_components(st)
    assert n.size == e.size == z.size == 998
    np.testing.assert_array_equal(n, st[0].data[2:])

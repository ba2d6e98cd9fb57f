"""The conformance kit (obspy_gen.testing) on every built-in plugin and the example package."""
import sys
from pathlib import Path

import pytest

from obspy_gen import registry
from obspy_gen.api import Generator, SiteMetric
from obspy_gen.data import read_bundled
from obspy_gen.testing import (ConformanceError, check_generator, check_plugin,
                               check_site_metric)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "obspy-gen-pga-metric"


@pytest.mark.parametrize("name", registry.available("site_metrics"))
def test_builtin_site_metrics_conform(name):
    cls = registry.load("site_metrics", name)
    settings = {"fmin": 1, "fmax": 20, "nfreq": 32} if name == "hvsr" else {}
    assert check_site_metric(cls, read_bundled("AOM001"), settings)["name"] == name


def test_builtin_stochastic_generator_conforms():
    cls = registry.load("generators", "stochastic")
    info = check_generator(cls, station="TK.4628")
    assert info["conditions"] == ("magnitude", "distance", "depth")


def test_builtin_timesnet_generator_conforms():
    pytest.importorskip("torch")
    cls = registry.load("generators", "timesnet-gen")
    assert check_generator(cls, station="4628")["records"] == 2
    assert check_plugin(cls)["trainable"] is True


def test_builtin_cvae_generator_conforms():
    pytest.importorskip("torch")
    cls = registry.load("generators", "cvae")
    assert check_generator(cls, station="4628")["records"] == 2
    assert check_plugin(cls)["trainable"] is True


def test_builtin_scenario_timesnet_generator_conforms():
    pytest.importorskip("torch")
    cls = registry.load("generators", "timesnet-gen-scenario")
    info = check_generator(cls, station="4628", magnitude=6.0, distance=20.0)
    assert info["records"] == 2
    assert info["conditions"] == ("magnitude", "distance", "depth", "vs30")
    assert check_plugin(cls)["trainable"] is True


def test_every_registered_builtin_is_covered():
    # A new built-in must be added to the tests above.
    assert set(registry.available("generators")) >= {"stochastic", "timesnet-gen", "cvae",
                                                     "timesnet-gen-scenario"}
    for group in registry.GROUPS:
        for info, state in registry.status(group):
            if info.distribution == "obspy-gen":
                assert state == "ok", (info.name, state)


def test_example_third_party_package_conforms(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("obspy_gen_pga", None)
    from obspy_gen_pga import PGAMetric
    st = read_bundled("AOM001")
    assert check_site_metric(PGAMetric, st)["to_dict_keys"] == 2


def test_the_kit_catches_broken_plugins():
    import numpy as np

    from obspy_gen.api import GeneratedRecord, build_stream

    class NoMeta(SiteMetric):
        name, version = "nometa", "1"

        def compute(self, records, **settings):
            return {"a": 1}

    with pytest.raises(ConformanceError, match="'nometa'.*without to_dict"):
        check_site_metric(NoMeta)

    class Overlapping(Generator):
        name, version, options = "overlap", "1", {}

        def generate_request(self, req):
            recs = [GeneratedRecord(np.zeros((3, 10)), 10.0) for _ in range(req.n)]
            return build_stream(recs, model=self.name, version=self.version, seed=req.seed,
                                station="X", slot=0.5)   # records overlap

    # Overlapping records cannot be told apart: split_records sees one.
    with pytest.raises(ConformanceError, match="asked for 2 records, got 1"):
        check_generator(Overlapping)

    class BadName(SiteMetric):
        name, version = "Bad Name", "1"

    with pytest.raises(ConformanceError, match="lower-case"):
        check_plugin(BadName, SiteMetric)

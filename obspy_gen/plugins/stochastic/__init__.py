"""Physics-based stochastic strong-motion simulator, generator plugin ``stochastic``.

Boore (2003) point-source stochastic method with the source/path spectrum from :mod:`pyrvt`
(:mod:`.source`), a 1-D soil column whose SH and P transfer functions come from :mod:`pystrata`
(:mod:`.site`), and hand-written glue for windowed random-phase noise, P/S timing, coda and the
vertical component (:mod:`.synthesis`). Virtual stations: the TimesNet-Gen paper's Table I
(``paper5``) and a seeded multi-station corpus (:mod:`.catalog`).

Examples
--------
>>> from obspy_gen.plugins.stochastic import StochasticGenerator, SoilProfile
>>> site = SoilProfile([(20, 200, 1800, 0.05)], halfspace=(800, 2200, 0.01))
>>> st = StochasticGenerator().generate(station=site, n=1, seed=3)
>>> st[0].id, round(st[0].stats.obspy_gen.f0, 2)
('SY.SITE.00.HNN', 2.47)
"""
from .catalog import PAPER5, Station, catalog, corpus, get_station, paper5, random_profile
from .site import Layer, SoilProfile
from .source import SourceSpectrum, source_spectrum
from .synthesis import Event, saragoni_hart, simulate_records
from .plugin import StochasticGenerator, station_seed
from .api import SimulationResult, simulate

__all__ = ["StochasticGenerator", "SoilProfile", "Layer", "Station", "PAPER5", "paper5",
           "corpus", "catalog", "get_station", "random_profile", "SourceSpectrum",
           "source_spectrum", "Event", "saragoni_hart", "simulate_records", "station_seed",
           "simulate", "SimulationResult"]

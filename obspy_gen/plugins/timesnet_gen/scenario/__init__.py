"""Scenario-conditioned TimesNet-Gen: records for (magnitude, distance, depth, Vs30).

TimesNet-Gen (Yilmaz et al.) conditions on a station code; this variant injects the scenario
features ``[M, ln R_hyp, ln depth, ln Vs30]`` into every TimesBlock the same way, predicts
each record's amplitude (TimesNet-Gen standardises records, so amplitude is not in the
network) with a mixed-effects amplitude model learned from the training labels, and draws
latent codes from the training records nearest the scenario.

Modules: :mod:`obspy_gen.plugins.timesnet_gen.scenario.features` (features, amplitude model;
numpy), ``model`` (the network, torch), ``sampler`` (the latent prior, one record, the spectral
calibration), ``train`` (training on labelled records via :func:`obspy_gen.torchkit.fit`),
``store`` (checkpoints), ``plugin`` (the ``timesnet-gen-scenario`` generator).
Importing this package does not import torch.

Examples
--------
>>> from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator
>>> ScenarioTimesNetGenGenerator.conditions
('magnitude', 'distance', 'depth', 'vs30')
>>> ScenarioTimesNetGenGenerator.distance_kinds
('epicentral', 'hypocentral')
"""
from obspy_gen.plugins.timesnet_gen.scenario.plugin import ScenarioTimesNetGenGenerator
from obspy_gen.plugins.timesnet_gen.scenario.store import DEFAULT_CHECKPOINT, PLUGIN, VERSION

__all__ = ["ScenarioTimesNetGenGenerator", "DEFAULT_CHECKPOINT", "PLUGIN", "VERSION"]

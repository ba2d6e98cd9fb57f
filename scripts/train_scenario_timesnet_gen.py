#!/usr/bin/env python
"""Regenerate the shipped scenario-conditioned TimesNet-Gen checkpoint (SYNTHETIC records).

Steps (all seeded; constants below):

1. simulate a labelled corpus with the stochastic plugin: ``CORPUS`` (random virtual
   stations, classes B-E) and the five ``paper5`` stations, magnitudes ``MAGNITUDE`` drawn
   Gutenberg-Richter with b = ``B_VALUE`` (almost uniform, so that M 6-7.5 is covered as
   well as M 4-5: with b = 0.5 only 13 of 550 records were above M 6.5 and the amplitude
   model over-predicted there by 0.3-0.7), the simulator's default distances (log-uniform from 5 km to the magnitude's
   limit) and depths (5-15 km); ``labels.csv`` joins both tables;
2. ``obspy-gen train timesnet-gen-scenario`` on them (the plugin's training hook through
   :func:`obspy_gen.torchkit.fit`), starting from the shipped unconditioned
   ``timesnet-gen-synthetic-pretrain`` (itself trained on another corpus, seed 1);
   (training ends with the sampler's spectral-shape and lnPSA calibrations on the training
   records);
3. copy the pair into ``obspy_gen/plugins/timesnet_gen/scenario/checkpoints/``.

``--recalibrate`` redoes only the lnPSA calibration of the shipped checkpoint (the last step
of training: network, latent source and the other calibrations unchanged; about 10 minutes)
on the same simulated corpus.

Run from the repository root (about 15 minutes on 2 shared CPU cores)::

    python scripts/train_scenario_timesnet_gen.py [--out DIR] [--work DIR] [--epochs N]
    python scripts/train_scenario_timesnet_gen.py --recalibrate [--work DIR] [--out DIR]

The same from the command line::

    obspy-gen simulate --catalog corpus --n-stations 50 --records-per-station 10 \
        --seed 161 --magnitude 4,7.5 --out corpus/   # b-value 0.1 and paper5: Python only
    obspy-gen train timesnet-gen-scenario --data corpus/ --out sc --epochs 14 --synthetic
"""
from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = dict(n_stations=70, records_per_station=10, seed=161)
PAPER5 = dict(n=10, seed=162)
MAGNITUDE = (4.0, 7.5)
B_VALUE = 0.1
TRAIN = dict(epochs=14, batch_size=16, lr=1e-3, seed=0, val_fraction=0.15)
NAME = "timesnet-gen-scenario-synthetic"
DESCRIPTION = ("SYNTHETIC records from obspy-gen's stochastic simulator (Boore 2003 point "
               "source via pyrvt, 1-D soil columns via pystrata), not real data: "
               f"simulate('corpus', {CORPUS}) and simulate('paper5', {PAPER5}), magnitude "
               f"{MAGNITUDE} with b-value {B_VALUE}.")
# The checkpoint names its records by the calls that make them, never by the --work folder.
SOURCE = (f"obspy_gen.plugins.stochastic.simulate('corpus', **{CORPUS}) + "
          f"simulate('paper5', **{PAPER5}), magnitude={MAGNITUDE}, b_value={B_VALUE}")


def simulate_corpus(work: Path) -> Path:
    """The labelled training records in ``work/corpus`` (returns the folder)."""
    from obspy_gen.plugins.stochastic import simulate
    folder = work / "corpus"
    rows = []
    for sub, kwargs in (("c", dict(catalog="corpus", n_stations=CORPUS["n_stations"],
                                   records_per_station=CORPUS["records_per_station"],
                                   seed=CORPUS["seed"])),
                        ("p5", dict(catalog="paper5", **PAPER5))):
        res = simulate(out=folder / sub, magnitude=MAGNITUDE, b_value=B_VALUE, **kwargs)
        rows += res.records
    from obspy_gen.plugins.stochastic.api import RECORD_COLUMNS
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(RECORD_COLUMNS), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in RECORD_COLUMNS})
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "obspy_gen/plugins/timesnet_gen/scenario/"
                                              "checkpoints"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--epochs", type=int, default=TRAIN["epochs"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--recalibrate", action="store_true",
                        help="Only redo the lnPSA calibration of the checkpoint in --out.")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator
    work = Path(args.work or tempfile.mkdtemp(prefix="scenario-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folder = work / "corpus"
    if not (folder / "labels.csv").is_file():
        folder = simulate_corpus(work)
    print(f"corpus: {folder} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.recalibrate:
        from obspy_gen.plugins.timesnet_gen.scenario.train import recalibrate
        path = Path(args.out) / NAME
        psa = recalibrate(str(path), str(folder), seed=TRAIN["seed"], log=print)
        print(f"lnPSA calibration rewritten in {path}.json ({psa['seconds']} s)")
        return
    settings = ScenarioTimesNetGenGenerator.TrainSettings(
        **{**TRAIN, "epochs": args.epochs}, synthetic=True, description=DESCRIPTION,
        source=SOURCE)
    t1 = time.perf_counter()
    hist = ScenarioTimesNetGenGenerator.train(str(folder), str(work / NAME), settings,
                                              device=args.device, log=print)
    print(f"trained in {time.perf_counter() - t1:.0f} s; pool {hist['n_pool']} records")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for ext in (".safetensors", ".json"):
        shutil.copy2(work / (NAME + ext), out / (NAME + ext))
    print(f"copied to {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""CVAE baseline beside TimesNet-Gen, in one run: training records/s, time to generate 50.

Prints (and with ``--json`` writes), for both shipped default sizes on one device:

* the time to generate 50 records of one station with the shipped checkpoint (model loading
  reported separately; both plugins decode one record at a time so that a record does not
  depend on its batch), and the ratio CVAE / TimesNet-Gen;
* training throughput (records/s: STFT images or standardisation, forward, backward, AdamW) of
  each default architecture at batch 16 on paper5 records, and the ratio.

Usage::

    python benchmarks/bench_cvae.py [--threads 2] [--steps 4] [--device cpu] [--json out.json]

The machine's other load changes CPU timings a lot: compare the numbers of one run (the two
models are timed alternately, step by step, so that load changes hit both alike).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _records(n=8):
    from obspy_gen.core.records import split_records
    from obspy_gen.io.dataset import preprocess
    from obspy_gen.plugins.stochastic import simulate
    recs = split_records(simulate("paper5", seed=3, n=n // 2).streams["SY.0205.00"]) + \
        split_records(simulate("paper5", seed=4, n=n // 2).streams["SY.3130.00"])
    return [preprocess(r, 6000) for r in recs]


def _time_generation(gen, device, n, station):
    t0 = time.perf_counter()
    gen.load(device=device)
    t_load = time.perf_counter() - t0
    gen.generate(station=station, n=1, seed=0, device=device)  # warm-up
    t0 = time.perf_counter()
    st = gen.generate(station=station, n=n, seed=1, device=device)
    if device != "cpu":
        torch.cuda.synchronize()
    t_gen = time.perf_counter() - t0
    assert len(st) == 3 * n
    return {"load_s": round(t_load, 3), f"generate_{n}_s": round(t_gen, 3),
            "per_record_ms": round(1000 * t_gen / n, 1)}


def bench_generation(device="cpu", n=50, station="4628"):
    from obspy_gen.plugins.cvae import CVAEGenerator
    from obspy_gen.plugins.cvae import clear_cache as clear_cvae
    from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator
    from obspy_gen.plugins.timesnet_gen import clear_cache as clear_tn
    clear_cvae()
    clear_tn()
    out = {"cvae": _time_generation(CVAEGenerator(), device, n, station),
           "timesnet-gen": _time_generation(TimesNetGenGenerator(), device, n, station)}
    key = f"generate_{n}_s"
    out["ratio_cvae_over_timesnet"] = round(out["cvae"][key] / out["timesnet-gen"][key], 3)
    return out


def _cvae_step(device, batch, data):
    from obspy_gen.plugins.cvae.model import CVAE, CVAEConfig
    from obspy_gen.plugins.cvae.train import Objective
    from obspy_gen.plugins.cvae.store import load_model
    from obspy_gen.torchkit.base import resolve_checkpoint
    arch = load_model(resolve_checkpoint("cvae-synthetic", "obspy_gen.plugins.cvae"),
                      "cpu").arch
    torch.manual_seed(0)
    model = CVAE(CVAEConfig.from_dict(arch.to_dict())).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    obj = Objective(cluster_from=0)
    obj.clustering = True  # the dearer sub-phase (DEC term on)
    reps = -(-batch // len(data))
    x = torch.from_numpy(np.stack([d[0] for d in data] * reps)[:batch]).to(device)
    std = torch.from_numpy(np.stack([d[2] for d in data] * reps)[:batch]).float().to(device)
    b = {"data": x, "std": std, "station_index": (torch.arange(batch) % 5).to(device)}

    def step():
        opt.zero_grad()
        obj(model, b).backward()
        opt.step()
    return step


def _timesnet_step(device, batch, data):
    from obspy_gen.plugins.timesnet_gen.model import (TimesNetGen, TimesNetGenConfig,
                                                      reconstruction_loss)
    from obspy_gen.plugins.timesnet_gen.train import DEFAULT_ARCH
    torch.manual_seed(0)
    model = TimesNetGen(TimesNetGenConfig(**DEFAULT_ARCH, n_stations=5)).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    reps = -(-batch // len(data))
    x = torch.from_numpy(np.stack([d[0] for d in data] * reps)[:batch]).to(device)
    mean = torch.from_numpy(np.stack([d[1] for d in data] * reps)[:batch]).float().to(device)
    std = torch.from_numpy(np.stack([d[2] for d in data] * reps)[:batch]).float().to(device)
    raw = x * std[:, :, None] + mean[:, :, None]
    st = (torch.arange(batch) % 5).to(device)

    def step():
        opt.zero_grad()
        reconstruction_loss(model(x, st, mean, std), raw, std).backward()
        opt.step()
    return step


def bench_training(device="cpu", batch=16, steps=4):
    data = _records()
    steps_by_model = {"cvae": _cvae_step(device, batch, data),
                      "timesnet-gen": _timesnet_step(device, batch, data)}
    times = {k: [] for k in steps_by_model}
    for i in range(steps + 1):
        for name, step in steps_by_model.items():  # alternate: load hits both alike
            t0 = time.perf_counter()
            step()
            if device != "cpu":
                torch.cuda.synchronize()
            if i:
                times[name].append(time.perf_counter() - t0)
    out = {k: round(float(batch / np.median(v)), 2) for k, v in times.items()}
    out["ratio_cvae_over_timesnet"] = round(out["cvae"] / out["timesnet-gen"], 3)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads.")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "device": args.device}
    out["generation"] = bench_generation(args.device)
    print("generation of 50 records:", json.dumps(out["generation"]), flush=True)
    out["training_records_per_s"] = bench_training(args.device, args.batch, args.steps)
    print(f"training records/s (batch {args.batch}):",
          json.dumps(out["training_records_per_s"]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()

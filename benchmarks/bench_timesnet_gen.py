#!/usr/bin/env python
"""TimesNet-Gen on the CPU: generation time, training throughput, merged Inception speed-up.

Prints (and with ``--json`` writes):

* the time to generate 50 records of one station with the shipped checkpoint (model loading
  reported separately; records are decoded one at a time, as the plugin does);
* zero-shot generation of 50 records from a 20-record pool (encoding included);
* training throughput (records/s, forward + backward + AdamW) of the shipped default size at
  batch 16, with the merged Inception kernel and with the separate convolutions.

Usage::

    python benchmarks/bench_timesnet_gen.py [--threads 2] [--steps 4] [--json out.json]

The machine's other load changes CPU timings a lot: compare numbers from one run.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch


def bench_generation(n=50, station="4628"):
    from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator, clear_cache
    clear_cache()
    gen = TimesNetGenGenerator()
    t0 = time.perf_counter()
    gen.load(device="cpu")
    t_load = time.perf_counter() - t0
    gen.generate(station=station, n=1, seed=0, device="cpu")  # warm-up
    t0 = time.perf_counter()
    st = gen.generate(station=station, n=n, seed=1, device="cpu")
    t_gen = time.perf_counter() - t0
    assert len(st) == 3 * n
    return {"load_s": round(t_load, 3), f"generate_{n}_s": round(t_gen, 3),
            "per_record_ms": round(1000 * t_gen / n, 1)}


def bench_zero_shot(n=50, pool=20):
    from obspy_gen.plugins.stochastic import simulate
    from obspy_gen.plugins.timesnet_gen import TimesNetGenGenerator
    res = simulate("paper5", seed=1)
    from obspy_gen.core.records import split_records
    recs = split_records(res.streams["SY.1716.00"])[:pool]
    gen = TimesNetGenGenerator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        gen.generate(recs, n=n, seed=1, device="cpu")
    return {f"zero_shot_{n}_from_{pool}_s": round(time.perf_counter() - t0, 3)}


def bench_training(arch, batch=16, steps=4, merged=True):
    from obspy_gen.plugins.timesnet_gen.model import (InceptionBlock, TimesNetGen,
                                                      TimesNetGenConfig, reconstruction_loss)
    torch.manual_seed(0)
    model = TimesNetGen(TimesNetGenConfig(**arch, n_stations=5))
    if not merged:
        for m in model.modules():
            if isinstance(m, InceptionBlock):
                m.forward = m.forward_separate
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    from obspy_gen.plugins.stochastic import simulate
    from obspy_gen.io.dataset import preprocess
    from obspy_gen.core.records import split_records
    recs = split_records(simulate("paper5", seed=3, n=4).streams["SY.0205.00"])
    data = [preprocess(r, arch["seq_len"]) for r in recs]
    reps = -(-batch // len(data))
    x = torch.from_numpy(np.stack([d[0] for d in data] * reps)[:batch])
    mean = torch.from_numpy(np.stack([d[1] for d in data] * reps)[:batch]).float()
    std = torch.from_numpy(np.stack([d[2] for d in data] * reps)[:batch]).float()
    raw = x * std[:, :, None] + mean[:, :, None]
    st = torch.arange(batch) % 5
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = reconstruction_loss(model(x, st, mean, std), raw, std)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    return round(float(batch / np.median(times)), 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads.")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from obspy_gen.plugins.timesnet_gen.train import DEFAULT_ARCH
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "arch": DEFAULT_ARCH}
    out["generation"] = bench_generation()
    print("generation:", out["generation"], flush=True)
    out["zero_shot"] = bench_zero_shot()
    print("zero-shot:", out["zero_shot"], flush=True)
    out["training_records_per_s"] = {
        "merged": bench_training(DEFAULT_ARCH, args.batch, args.steps, True),
        "separate": bench_training(DEFAULT_ARCH, args.batch, args.steps, False)}
    r = out["training_records_per_s"]
    r["speed_up"] = round(r["merged"] / r["separate"], 2)
    print(f"training (default size, batch {args.batch}):", r, flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()

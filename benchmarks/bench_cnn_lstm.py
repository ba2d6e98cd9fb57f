#!/usr/bin/env python
"""CNN-LSTM Vs30: prediction and training throughput (records/s), CPU and CUDA when present.

Prints (and with ``--json`` writes), for each available device:

* prediction with the shipped checkpoint: the network alone on prepared windows (batch 256),
  windows/s, and end to end (``predict`` on simulated records: windowing + network, with the
  checkpoint's windows per record -- ``test_shifts`` plus the P-centred one), records/s;
* the reference in the same run: ``hvsr-f0`` (HVSR + f0 of the same records), records/s --
  the empirical baseline's cost;
* training throughput of the default size (forward + backward + AdamW, batch 32), records/s.

Usage::

    nice python benchmarks/bench_cnn_lstm.py [--threads 1] [--json out.json]

The machine's other load changes CPU timings a lot: compare numbers from one run.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch


def _records(n_records=20, seed=4):
    from obspy_gen.plugins.stochastic import SoilProfile, StochasticGenerator
    site = SoilProfile([(25, 220, 1800, 0.03)], halfspace=(900, 2300, 0.01))
    return StochasticGenerator().generate(station=site, n=n_records, seed=seed)


def bench_predict(device, st, reps=3):
    from obspy_gen.plugins.cnn_lstm import CNNLSTMPredictor
    from obspy_gen.plugins.cnn_lstm.windows import make_window
    from obspy_gen.core.records import split_records
    pred = CNNLSTMPredictor()
    recs = split_records(st)
    windows = np.stack([make_window(r).data for r in recs])
    big = np.concatenate([windows] * (512 // len(windows) + 1))[:512]
    pred.predict_windows(big[:8], device=device)  # load + warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        pred.predict_windows(big, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    net = reps * len(big) / (time.perf_counter() - t0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        pred.predict(st, device=device)
        e2e = len(recs) / (time.perf_counter() - t0)
    arch = pred.load(device=device)[1]
    return {"network_windows_per_s": round(net, 1), "end_to_end_records_per_s": round(e2e, 1),
            "windows_per_record": len(arch.test_shifts) + int(arch.test_p_centred)}


def bench_hvsr_f0(st):
    from obspy_gen.core.records import split_records
    from obspy_gen.plugins.hvsr_f0 import HVSRF0Predictor
    HVSRF0Predictor().predict(split_records(st)[0])  # numba warm-up
    t0 = time.perf_counter()
    HVSRF0Predictor().predict(st)
    return {"hvsr_f0_records_per_s": round(len(split_records(st)) / (time.perf_counter() - t0),
                                           1)}


def bench_training(device, batch=32, steps=5):
    from obspy_gen.plugins.cnn_lstm import TrainSettings
    from obspy_gen.plugins.cnn_lstm.model import CNNLSTM
    torch.manual_seed(0)
    model = CNNLSTM(TrainSettings().architecture()).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, model.config.in_channels, model.config.samples, device=device)
    y = torch.randn(batch, device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return {"train_records_per_s": round(steps * batch / (time.perf_counter() - t0), 1),
            "batch": batch}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    st = _records()
    out = {"torch": torch.__version__, "threads": args.threads, "records": len(st) // 3}
    out["reference"] = bench_hvsr_f0(st)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        out[dev] = {**bench_predict(dev, st), **bench_training(dev)}
        out[dev]["end_to_end_vs_hvsr_f0"] = round(
            out[dev]["end_to_end_records_per_s"] / out["reference"]["hvsr_f0_records_per_s"],
            1)
    print(json.dumps(out, indent=1))
    if args.json:
        from obspy_gen.io.atomic import atomic_write
        atomic_write(args.json, json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()

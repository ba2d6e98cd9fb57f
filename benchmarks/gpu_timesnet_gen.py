#!/usr/bin/env python
"""TimesNet-Gen on a GPU: training records/s and peak memory, generation time.

For a machine with CUDA and torch only (no obspy needed: the network module is loaded by
file path). Measures, at batch 32 (``--batch``):

* training throughput (records/s; the issue's target: >= 300 on one H200 for the paper's size)
  and peak GPU memory at batch 32 for the named configurations ``paper`` (seq_len 6000,
  d_model 128, d_ff 256, 6 kernels, top-k 2; encoder and decoder 2 TimesBlocks each; ~75 M
  parameters) and ``default`` (the shipped size), with the merged Inception kernel and with
  the six separate convolutions, in float32 (TF32 convolutions allowed) and bf16 autocast;
* the time to generate 50 records the way the plugin does -- a station-prior draw from a
  100-record latent pool (:mod:`sampling`), decoding one record at a time, the baseline
  correction (:mod:`baseline`) -- and the same 50 decoded as one batch.

Usage (about 2-4 minutes on one H100/H200)::

    python benchmarks/gpu_timesnet_gen.py                 # everything
    python benchmarks/gpu_timesnet_gen.py --quick         # tiny sizes, any device (smoke)
    python benchmarks/gpu_timesnet_gen.py --json out.json

Weights are random: throughput does not depend on them (the FFT period choice does a little;
the input is a synthetic resonant accelerogram so periods are realistic).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parents[1] / "obspy_gen" / "plugins" / "timesnet_gen"


def load_model_module():
    # By path, so that obspy (imported by the obspy_gen package) is not needed here.
    spec = importlib.util.spec_from_file_location("tg_model", HERE / "model.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["tg_model"] = mod
    spec.loader.exec_module(mod)
    return mod


M = load_model_module()


def load_numpy_module(name):
    """sampling.py / baseline.py by path (numpy only)."""
    spec = importlib.util.spec_from_file_location("tg_" + name, HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["tg_" + name] = mod
    spec.loader.exec_module(mod)
    return mod


S = load_numpy_module("sampling")
B = load_numpy_module("baseline")

#: The named configurations of the package (model.NAMED_CONFIGS).
PAPER = dict(M.NAMED_CONFIGS["paper"])
DEFAULT = dict(M.NAMED_CONFIGS["default"])
#: Training records/s the paper's size should reach on one H200 (issue 14).
TARGET_RECORDS_PER_S = 300
QUICK = dict(seq_len=1000, d_model=8, d_ff=8, e_layers=1, d_layers=1, num_kernels=3,
             top_k=2, latent_channels=4, latent_stride=4)


def accelerograms(batch, seq_len, device, seed=0):
    """Resonant noise bursts (a few Hz) with an envelope: realistic FFT periods."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(seq_len) / 100.0
    f0 = 1.5 + 8 * torch.rand(batch, 1, 1, generator=g)
    noise = torch.randn(batch, 3, seq_len, generator=g)
    spec = torch.fft.rfft(noise, dim=-1)
    f = torch.fft.rfftfreq(seq_len, 0.01)
    spec = spec / (1 + ((f - f0) / (0.2 * f0)) ** 2)
    x = torch.fft.irfft(spec, n=seq_len, dim=-1)
    env = torch.exp(-((t - seq_len / 200.0) / 8.0) ** 2)
    return (x * env).to(device)


def separate_inception(model):
    """Patch the model's Inception blocks to run the six-convolution form."""
    for m in model.modules():
        if isinstance(m, M.InceptionBlock):
            m.forward = m.forward_separate


def train_rate(arch, batch, device, steps, merged=True, amp=None):
    torch.manual_seed(0)
    model = M.TimesNetGen(M.TimesNetGenConfig(**arch, n_stations=5)).to(device)
    if not merged:
        separate_inception(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = accelerograms(batch, arch["seq_len"], device)
    xn, mean, std = M.TimesNetGen.normalise(x)
    st = torch.arange(batch, device=device) % 5
    ctx = (torch.autocast("cuda", dtype=torch.bfloat16) if amp == "bf16"
           else torch.autocast("cpu", enabled=False))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(steps + 2):  # 2 warm-up steps
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with ctx:
            y = model(xn, st, mean, std)
            loss = M.reconstruction_loss(y.float(), x, std)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    return {"records_per_s": round(batch / (sum(times) / len(times)), 2),
            "peak_memory_gib": None if peak is None else round(peak, 2),
            "parameters": M.count_parameters(model)}


def generation_time(arch, device, n=50, pool_size=100):
    """Seconds for ``n`` records as the plugin makes them, and for one batched decode."""
    import numpy as np
    torch.manual_seed(0)
    model = M.TimesNetGen(M.TimesNetGenConfig(**arch, n_stations=5)).to(device).eval()
    rng = np.random.default_rng(0)
    c, length = model.config.latent_shape
    pool = S.LatentPool("S", rng.standard_normal((pool_size, c, length)).astype("f4"),
                        np.zeros((pool_size, 3)), np.exp(rng.normal(-2, 0.5, (pool_size, 3))),
                        onset=rng.uniform(1000, 4000, pool_size),
                        latent_stride=model.config.latent_stride)
    st = torch.zeros(1, dtype=torch.long, device=device)
    dt = 1.0 / model.config.sampling_rate

    def one(i):
        z, mean, std = pool.draw(S.record_rng(1, i), sampling="prior")
        y = model.decode(torch.from_numpy(z[None]).to(device),
                         torch.tensor(mean[None], dtype=torch.float32, device=device),
                         torch.tensor(std[None], dtype=torch.float32, device=device), st)
        return B.correct_baseline(y[0].float().cpu().numpy(), dt)

    with torch.no_grad():
        one(0)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        for i in range(n):  # one record at a time, as the plugin decodes
            one(i)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t_plugin = time.perf_counter() - t0
        z = torch.randn(n, c, length, device=device)
        t0 = time.perf_counter()
        model.decode(z, torch.zeros(n, 3, device=device), torch.ones(n, 3, device=device),
                     st.expand(n)).cpu()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t_batch = time.perf_counter() - t0
    return round(t_plugin, 3), round(t_batch, 3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes (smoke test).")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = False  # period shapes change per batch
    sizes = {"quick": QUICK} if args.quick else {"paper": PAPER, "default": DEFAULT}
    info = {"torch": torch.__version__, "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "batch": args.batch, "results": []}
    print(f"torch {info['torch']}, {info['gpu'] or device}, batch {args.batch}", flush=True)
    for name, arch in sizes.items():
        batch = args.batch if not args.quick else min(args.batch, 4)
        for merged in (True, False):
            for amp in ((None, "bf16") if device.type == "cuda" else (None,)):
                try:
                    r = train_rate(arch, batch, device, args.steps if not args.quick else 1,
                                   merged, amp)
                except torch.cuda.OutOfMemoryError as exc:  # report, go on
                    r = {"error": f"out of memory: {str(exc).splitlines()[0]}"}
                    torch.cuda.empty_cache()
                row = {"size": name, "inception": "merged" if merged else "six convs",
                       "precision": amp or "fp32 (tf32)", **r}
                info["results"].append(row)
                print(json.dumps(row), flush=True)
        n_gen = 50 if not args.quick else 5
        t, t_batch = generation_time(arch, device, n=n_gen)
        row = {"size": name, f"generate_{n_gen}_records_s": t,
               f"decode_{n_gen}_as_one_batch_s": t_batch}
        if name == "paper":
            best = max((r.get("records_per_s") or 0) for r in info["results"]
                       if r.get("size") == "paper")
            row["target_records_per_s"] = TARGET_RECORDS_PER_S
            row["target_met"] = best >= TARGET_RECORDS_PER_S
        info["results"].append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    main()

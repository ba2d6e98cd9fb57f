#!/usr/bin/env python
"""TimesNet-Gen vs the CVAE baseline, scored by ``obspy-gen evaluate`` in one report.

The paper's comparison (Sec. III) on the shipped checkpoints, with the command-line tools only:

1. ``obspy-gen simulate --catalog paper5 --seed 1``: held-out "real" records of the five
   virtual stations (both models were trained on seed 0), as many per station as Table I;
2. ``obspy-gen generate`` the same number of records per station with each model;
3. ``obspy-gen evaluate -g real=... -g timesnet-gen=... -g cvae=...``: per-station f0
   distributions and medians, the similarity matrix with both models' rows, the alignment
   score of each model next to the real-vs-real ceiling, intensity-measure distributions.

Usage (from the repository root; ~10 min on 2 busy CPU cores)::

    python scripts/compare_generators.py --work /tmp/compare --out docs/_static/comparison

Writes OUT/report.{json,html}, the figures, OUT/summary.txt (the command's table) and
OUT/summary.json (alignment scores and f0 medians per station and group).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

MODELS = ("timesnet-gen", "cvae")
HELD_OUT_SEED = 1
GENERATION_SEED = 2024


def run(args, **kwargs):
    print("$", " ".join(args), flush=True)
    res = subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)
    return res.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="Folder for the records.")
    parser.add_argument("--out", required=True, help="Report folder.")
    parser.add_argument("--n-bootstrap", type=int, default=200)
    args = parser.parse_args(argv)
    exe = [sys.executable, "-m", "obspy_gen.cli"]
    work, out = Path(args.work), Path(args.out)
    real = work / "real"
    if not any(real.glob("*.mseed")):
        run(exe + ["simulate", "--catalog", "paper5", "--seed", str(HELD_OUT_SEED), "--out",
                   str(real), "--quiet"])
    from obspy_gen.plugins.stochastic import paper5
    counts = {s.code: s.n_records for s in paper5()}
    for model in MODELS:
        folder = work / model
        if folder.is_dir():
            shutil.rmtree(folder)
        for k, (code, n) in enumerate(counts.items()):
            run(exe + ["generate", "--model", model, "-s", code, "-n", str(n), "--seed",
                       str(GENERATION_SEED + k), "--out", str(folder), "--device", "cpu",
                       "-q"])
    text = run(exe + ["evaluate", "-g", f"real={real}",
                      *[a for m in MODELS for a in ("-g", f"{m}={work / m}")],
                      "--out", str(out), "--seed", "0", "--n-bootstrap",
                      str(args.n_bootstrap), "-q"])
    print(text)
    (out / "summary.txt").write_text(text)
    report = json.loads((out / "report.json").read_text())
    summary = {"alignment": report.get("alignment"),
               "f0_median": {s: {g: d.get("f0_median") for g, d in v["groups"].items()}
                             for s, v in report["stations"].items()},
               "similarity_to_reference": {s: v.get("similarity_to_reference")
                                           for s, v in report["stations"].items()},
               "ceiling": {s: v.get("ceiling") for s, v in report["stations"].items()},
               "records_per_station": counts, "held_out_seed": HELD_OUT_SEED,
               "generation_seed": GENERATION_SEED}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()

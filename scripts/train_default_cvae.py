#!/usr/bin/env python
"""Regenerate the shipped CVAE checkpoints (trained on SYNTHETIC records).

The same data as ``scripts/train_default_timesnet_gen.py`` (its constants are imported, so the
two defaults cannot drift apart):

1. simulate the multi-station corpus and the five ``paper5`` virtual stations (2020, 4628,
   0205, 1716, 3130) with the stochastic plugin (skipped when ``--work`` already holds them);
2. phase 0: pre-train the unconditioned VAE on the corpus (paper5 stations excluded)
   -> ``cvae-synthetic-pretrain``;
3. fine-tune on the paper5 records from phase 0: station priors (sub-phase 1), then the DEC
   clustering loss added (sub-phase 2) -> ``cvae-synthetic`` (the default);
4. copy both pairs of files into ``obspy_gen/plugins/cvae/checkpoints/``.

Run from the repository root (23 minutes on the shared, heavily loaded 2-core machine with
torch on one thread: 8 min pre-training, 15 min fine-tuning)::

    python scripts/train_default_cvae.py
    python scripts/train_default_cvae.py --work /tmp/work   # keep/reuse the simulated records

The same from the command line::

    obspy-gen simulate --catalog corpus --n-stations 150 --records-per-station 12 \\
        --seed 1 --out corpus/
    obspy-gen simulate --catalog paper5 --seed 0 --out paper5/
    obspy-gen train cvae --data corpus/ --out pre --phase pretrain --epochs 6 \\
        --exclude-stations 2020,4628,0205,1716,3130 --synthetic
    obspy-gen train cvae --data paper5/ --out ft --phase finetune --init pre \\
        --epochs 60 --cluster-epochs 10 --synthetic
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_common as common  # noqa: E402
from train_default_timesnet_gen import CORPUS, DESCRIPTION, PAPER5_SEED  # noqa: E402

#: Architecture: the paper's layout and latent (510); narrow convolutions for 2 CPU cores.
ARCH = dict(seq_len=6000, n_fft=128, hop=64, widths=(16, 32, 32, 64), latent_dim=510)
PRETRAIN = dict(epochs=6, batch_size=16, lr=1e-3, seed=0, val_fraction=0.15)
FINETUNE = dict(epochs=60, cluster_epochs=10, cluster_weight=100.0, batch_size=16, lr=1e-3,
                seed=0, val_fraction=0.15)
NAME = "cvae-synthetic"
BASE = NAME + "-pretrain"


def main(argv=None):
    parser = common.parser(__doc__, "obspy_gen/plugins/cvae/checkpoints",
                           "Folder the two checkpoints are copied to.")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a shared machine more threads "
                             "mostly wait for each other).")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)

    from obspy_gen.plugins.cvae.train import CVAETrainSettings, train
    from obspy_gen.plugins.stochastic import paper5

    work = common.work_folder(args, "cvae-")
    runs = work / "runs"
    say = common.sayer(args)
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    corpus_dir = common.simulate_once(work / "corpus", "corpus", **CORPUS)
    paper5_dir = common.simulate_once(work / "paper5", "paper5", seed=PAPER5_SEED)
    t_sim = time.perf_counter() - t0
    say(f"simulated records in {t_sim:.0f} s -> {work}")

    targets = tuple(s.code for s in paper5())
    log = None if not args.quiet else (lambda line: None)
    t0 = time.perf_counter()
    train(str(corpus_dir), runs / BASE, CVAETrainSettings(
        phase="pretrain", exclude_stations=targets, synthetic=True,
        description=DESCRIPTION + f"Phase 0 corpus: simulate('corpus', {CORPUS}).",
        **ARCH, **PRETRAIN), device=args.device, quiet=args.quiet, log=log,
        source=common.simulation("corpus", **CORPUS))
    t_pre = time.perf_counter() - t0
    say(f"phase 0 (pre-training) took {t_pre / 60:.1f} min")

    t0 = time.perf_counter()
    train(str(paper5_dir), runs / NAME, CVAETrainSettings(
        phase="finetune", stations=targets, init=str(runs / BASE), synthetic=True,
        description=DESCRIPTION + f"Fine-tuning: simulate('paper5', seed={PAPER5_SEED}), the "
                                  f"five virtual stations of the TimesNet-Gen paper's "
                                  f"Table I.",
        **FINETUNE), device=args.device, quiet=args.quiet, log=log,
        source=common.simulation("paper5", seed=PAPER5_SEED))
    t_ft = time.perf_counter() - t0
    say(f"fine-tuning (station priors + DEC) took {t_ft / 60:.1f} min")

    sizes = common.ship(runs, args.out, [BASE, NAME])
    summary = {"simulation_s": round(t_sim, 1), "pretrain_s": round(t_pre, 1),
               "finetune_s": round(t_ft, 1), "total_s": round(time.perf_counter() - t_all, 1)}
    return common.finish(args, work, summary, sizes)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Would the fidelity high-pass floor of ``timesnet-gen`` help ``timesnet-gen-scenario``?

(SYNTHETIC data.) The scenario network's fidelity corners
(:func:`obspy_gen.plugins.timesnet_gen.baseline.fidelity_corner`) on 60 of its training
records, then on 12 VALIDATION scenarios at training stations (seed 18; not the evidence's)
the bias and std ratio of lnPSA against the simulator for the generator's records as they are
(``baseline="quadratic"``), high-passed at the signal-to-noise corner, and at that corner or
the floor (the median fidelity corner) when higher. Quoted in docs/generate.rst.

Run from the repository root, with the training corpus of the checkpoint
(``scripts/train_scenario_timesnet_gen.py --work DIR`` simulates it into ``DIR/corpus``)::

    python scripts/scenario_highpass_check.py DIR/corpus [CHECKPOINT]
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import scenario_evidence as ev  # noqa: E402

VARIANTS = ("quadratic", "highpass snr", "highpass snr+floor")


def fidelity_floor(loaded, folder, n=60) -> np.ndarray:
    """Fidelity corners (Hz) of ``n`` training records reconstructed by the network."""
    import torch

    from obspy_gen.plugins.timesnet_gen.scenario.train import labelled_records
    from obspy_gen.plugins.timesnet_gen.train import record_fidelity
    mat, raw, _ = labelled_records(folder, loaded.arch.seq_len)
    z = torch.tensor(loaded.scaler(raw), dtype=torch.float32)
    out = []
    for i in np.random.default_rng(0).choice(len(mat), n, replace=False):
        with torch.no_grad():
            code, _, _ = loaded.model.encode(
                torch.from_numpy(mat.data[i:i + 1]), z[i:i + 1],
                torch.from_numpy(mat.mean[i:i + 1].astype("f4")),
                torch.from_numpy(mat.std[i:i + 1].astype("f4")))
        out.append(record_fidelity(loaded.model, code, z[i:i + 1], mat.data[i], mat.mean[i],
                                   mat.std[i]))
    return np.array(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    import torch
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from obspy_gen.plugins.stochastic import StochasticGenerator
    from obspy_gen.plugins.stochastic.catalog import corpus
    from obspy_gen.plugins.timesnet_gen.baseline import process
    from obspy_gen.plugins.timesnet_gen.scenario import ScenarioTimesNetGenGenerator
    gen = ScenarioTimesNetGenGenerator(checkpoint=argv[1] if len(argv) > 1 else None)
    corners = fidelity_floor(gen.load(), argv[0])
    floor = float(np.median(corners))
    print("fidelity corners: median %.2f Hz, 10-90%% %.2f-%.2f"
          % (floor, *np.percentile(corners, [10, 90])), flush=True)
    sim = StochasticGenerator()
    rs = np.random.default_rng(18)
    stations = corpus(**ev.TRAIN_CORPUS)
    sets = {name: [] for name in VARIANTS}
    for k, i in enumerate(rs.choice(len(stations), 6, replace=False)):
        for j, scen in enumerate(ev.draw_scenarios(rs, 2)):
            seed = 3000 * (k + 1) + j
            a, b = ([ev.ln_psa(r) for r in ev.records(sim.generate(
                station=stations[i], n=10, seed=s, **scen))] for s in (seed, seed + 7919))
            out = {name: [] for name in VARIANTS}
            for rec in ev.records(gen.generate(station=stations[i].code, n=10, seed=seed,
                                               **scen)):
                x = np.stack([t.data.astype(float) for t in rec])
                out["quadratic"].append(ev.ln_psa(rec))
                for name, fl in (("highpass snr", None), ("highpass snr+floor", floor)):
                    y, _ = process(x, rec[0].stats.delta, "highpass", fl)
                    r2 = rec.copy()
                    for c, t in enumerate(r2):
                        t.data = y[c].astype("f4")
                    out[name].append(ev.ln_psa(r2))
            for name in VARIANTS:
                sets[name].append([np.array(a), np.array(b), np.array(out[name])])
    for name, s in sets.items():
        r = ev.summarise(s, np.random.default_rng(0))["generated"]
        print(name, "bias", np.round(r["bias"], 2).tolist(), "std ratio",
              np.round(r["std_ratio"], 2).tolist(), flush=True)


if __name__ == "__main__":
    main()

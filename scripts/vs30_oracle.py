#!/usr/bin/env python
"""How well can ANY record-based method predict Vs30 in the simulated corpus? (an oracle)

Every simulated record is the site's SH (horizontal) and P (vertical) transfer function applied
to a random source; a method that reads records can at best recover those transfer functions.
This oracle skips the records: it is given each station's TRUE, noise-free transfer functions
(:meth:`SoilProfile.transfer_functions`) -- ln |SH| and the theoretical ln H/V = ln |SH|/|P| at
40 log-spaced frequencies from 0.2 to 25 Hz -- and fits a regressor of ln Vs30 on them. Two
rows:

* ``same stations``: trained on the SAME training stations as the CNN-LSTM (what its training
  data allow at best, with perfect features);
* ``2000 profiles``: trained on 2000 more random corpus profiles (``corpus(seed=101)``, no
  records needed): what the corpus allows when stations are plentiful -- the information
  limit of the transfer function itself.

The features (SH, H/V or both) and the regressor (gradient boosting, 400 trees of depth 3, or
5 nearest neighbours) are chosen by the VALIDATION stations' MAPE, never by the test stations.
Needs scikit-learn (a script-only dependency: ``pip install scikit-learn``).

    python scripts/vs30_oracle.py --work /tmp/i12
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Frequencies of the features (Hz).
FREQS = np.logspace(np.log10(0.2), np.log10(25.0), 40)
#: The "plentiful stations" training set: profiles of corpus(N, seed=SEED) (no records).
MANY = dict(n_stations=2000, seed=101)


def features(stations, cache=None, key=""):
    """Code -> (ln|SH|, ln|SH|/|P|, Vs30) of corpus stations (cached in ``cache`` JSON)."""
    store = {}
    if cache is not None and Path(cache).is_file():
        store = json.loads(Path(cache).read_text())
    out, changed = {}, False
    for s in stations:
        k = f"{key}:{s.code}"
        if k not in store:
            sh, p = s.profile.transfer_functions(FREQS)
            store[k] = [np.log(np.abs(sh)).tolist(), np.log(np.abs(sh) / np.abs(p)).tolist(),
                        float(s.profile.vs30)]
            changed = True
        out[s.code] = store[k]
    if cache is not None and changed:
        from obspy_gen.io.atomic import atomic_write
        atomic_write(str(cache), json.dumps(store))
    return out


def _matrix(feats, codes, kind):
    rows = []
    for c in codes:
        sh, hv, _ = feats[c]
        rows.append({"sh": sh, "hv": hv, "both": sh + hv}[kind])
    return np.asarray(rows), np.log([feats[c][2] for c in codes])


def _models():
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return {"gradient boosting": lambda: GradientBoostingRegressor(
                n_estimators=400, max_depth=3, learning_rate=0.05, subsample=0.8,
                random_state=0),
            "5 nearest neighbours": lambda: make_pipeline(
                StandardScaler(), KNeighborsRegressor(5, weights="distance"))}


def oracle(train, val, targets):
    """Fit on ``train`` (feats, codes), choose by ``val`` (feats, codes); predict ``targets``.

    Returns ``(choice, {name: {code: vs30}})``.
    """
    best = None
    for kind in ("sh", "hv", "both"):
        x, y = _matrix(*train, kind)
        xv, yv = _matrix(*val, kind)
        for name, make in _models().items():
            model = make().fit(x, y)
            err = float(np.mean(np.abs(np.exp(model.predict(xv) - yv) - 1)) * 100)
            if best is None or err < best[0]:
                best = (err, kind, name, model)
    err, kind, name, model = best
    preds = {}
    for tname, (feats, codes) in targets.items():
        x, _ = _matrix(feats, codes, kind)
        preds[tname] = dict(zip(codes, np.exp(model.predict(x)).tolist()))
    return {"features": kind, "regressor": name, "validation_mape": round(err, 2)}, preds


def run(work, split, fresh, extra=None):
    """Oracle predictions for the held-out and fresh stations (see the module notes).

    ``split``: the checkpoint's station split; ``fresh``: dict(seed, n_stations) of the
    fresh corpus; ``extra``: dict(seed, n_stations) of the extra training corpus or None.
    Returns ``{row name: {"choice": ..., "held_out": {code: vs30}, "fresh_seed": {...}}}``.
    """
    from obspy_gen.plugins.stochastic import corpus
    cache = Path(work) / "oracle_features.json"
    main = features(corpus(300, 1, seed=1), cache, "seed1")
    fr = features(corpus(fresh["n_stations"], 1, seed=fresh["seed"]), cache,
                  f"seed{fresh['seed']}")
    train_feats = {c: main[c] for c in split["train"]}
    if extra:
        from obspy_gen.plugins.cnn_lstm.train import EXTRA_PREFIX
        ex = features(corpus(extra["n_stations"], 1, seed=extra["seed"]), cache,
                      f"seed{extra['seed']}")
        train_feats.update({EXTRA_PREFIX + c: v for c, v in ex.items()})
    many = features(corpus(MANY["n_stations"], 1, seed=MANY["seed"]), cache,
                    f"seed{MANY['seed']}")
    val = (main, split["validation"])
    targets = {"held_out": (main, split["test"]), "fresh_seed": (fr, sorted(fr))}
    out = {}
    for name, tr in ((f"oracle: true transfer function, same {len(train_feats)} training "
                      f"stations", (train_feats, sorted(train_feats))),
                     (f"oracle: true transfer function, {MANY['n_stations']} training "
                      f"profiles", (many, sorted(many)))):
        choice, preds = oracle(tr, val, targets)
        out[name] = {"choice": choice, **preds}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="Folder for the feature cache.")
    parser.add_argument("--checkpoint", default="cnn-lstm-synthetic")
    args = parser.parse_args(argv)
    from obspy_gen.evaluate.vs30 import mape_by_class
    from obspy_gen.io.checkpoints import read_config
    from obspy_gen.plugins.cnn_lstm import CNNLSTMPredictor
    cfg = read_config(CNNLSTMPredictor().resolve(args.checkpoint), "cnn-lstm")
    split = cfg["training"]["split"]
    from evaluate_cnn_lstm import EXTRA, FRESH
    extra = EXTRA if cfg["training"].get("extra_training") else None
    rows = run(args.work, split, FRESH, extra)
    from obspy_gen.plugins.stochastic import corpus
    truth = {s.code: s.profile.vs30 for s in corpus(300, 1, seed=1)}
    for name, r in rows.items():
        t = mape_by_class([truth[c] for c in r["held_out"]], list(r["held_out"].values()))
        print(name, r["choice"], {k: round(v["mape"], 1) for k, v in t.items()})


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "scripts"))
    main()

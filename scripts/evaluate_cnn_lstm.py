#!/usr/bin/env python
"""Table-II-style evaluation of the CNN-LSTM Vs30 model and its baselines (SYNTHETIC data).

For the held-out test stations of the shipped checkpoint's corpus (simulate('corpus', seed=1),
stations never trained on), for the stations of a FRESH corpus seed never used in training,
and for the six real labelled AFAD records in ``shared/data/afad_mat``, it scores:

* CNN-LSTM, variants trained identically (same split, seed, epochs, extra training corpus):
  with / without the P/S mask channel x PGA- / P-centred windows (the shipped default is
  P/S + PGA), and the previous default's recipe (one window per record, no window-shift
  augmentation, last epoch, no extra training corpus);
* ``hvsr-f0`` with the published relation (Vs30 = 120 m x f0, module notes);
* the same f0 with ``ln Vs30 = a + b ln f0`` refitted on the TRAINING stations (a fairer
  empirical baseline);
* the training-median Vs30 (trivial baseline);
* the oracle of ``scripts/vs30_oracle.py``: the TRUE transfer functions instead of records
  (what any record-based method could reach at best).

Scores: MAPE per NEHRP class of the true Vs30 and overall, station level (median of a
station's record predictions), 95 % bootstrap intervals over stations, and paired bootstrap
differences default-vs-baseline. Writes ``<report>.json`` and ``<report>.md``.

    nice python scripts/evaluate_cnn_lstm.py --work /tmp/i12 --report docs/vs30_evaluation
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

#: Variant name -> settings overrides (the default first).
VARIANTS = {"cnn-lstm P/S, PGA (default)": {},
            "cnn-lstm previous default (one window, no shifts, last epoch, corpus only)":
                {"train_shift": 0.0, "keep_best": False, "test_shifts": (0.0,),
                 "test_p_centred": False, "extra_data": None},
            "cnn-lstm no P/S, PGA": {"ps_channel": False},
            "cnn-lstm P/S, P-centred": {"centre": "p_arrival"},
            "cnn-lstm no P/S, P-centred": {"ps_channel": False, "centre": "p_arrival"}}
#: The fresh corpus: a seed never used for training.
FRESH = dict(seed=7, n_stations=60, records_per_station=10)
AFAD_MAT = ROOT.parent.parent / "shared" / "data" / "afad_mat"


def _station_predictions(ws, values):
    pred, true = {}, {}
    for s in ws.stations:
        idx = ws.indices([s])
        pred[s] = float(np.median(values[idx]))
        true[s] = float(np.median(ws.vs30[idx]))
    return true, pred


def _hvsr_f0(folder, stations, max_records=None):
    """Station -> (f0, vs30 by the published relation) with hvsr-f0 over the station's records
    (the first ``max_records`` of each); cached in ``<folder>/hvsr_f0.json``."""
    from obspy import Stream, read

    from obspy_gen.plugins.hvsr_f0 import HVSRF0Predictor
    cache_file = Path(folder) / "hvsr_f0.json"
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    files = {}
    for f in sorted(glob.glob(str(Path(folder) / "*.mseed"))):
        code = Path(f).name.split(".")[1]
        files.setdefault(code, []).append(f)
    out = {}
    pred = HVSRF0Predictor()
    for s in stations:
        key = f"{s}:{max_records}"
        if key not in cache:
            st = Stream()
            for f in files.get(s, [])[:max_records]:
                st += read(f)
            try:
                r = pred.predict(st)
                cache[key] = [r.details["f0"], r.vs30]
            except ValueError as exc:
                print(f"hvsr-f0: {s}: {exc}", file=sys.stderr)
                cache[key] = None
        if cache[key] is not None:
            out[s] = tuple(cache[key])
    from obspy_gen.io.atomic import atomic_write
    atomic_write(str(cache_file), json.dumps(cache))
    return out


def _score(true, pred):
    from obspy_gen.evaluate.vs30 import mape_by_class
    keys = sorted(set(true) & set(pred))
    return mape_by_class([true[k] for k in keys], [pred[k] for k in keys])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="Folder with/for corpora and runs.")
    parser.add_argument("--checkpoint", default="cnn-lstm-synthetic",
                        help="The default model (shipped name or path).")
    parser.add_argument("--report", default=str(ROOT / "docs" / "vs30_evaluation"))
    parser.add_argument("--variants", default="all",
                        help="'all', 'default' (skip training the other variants) or "
                             "'previous' (the default and the previous default only).")
    parser.add_argument("--no-oracle", action="store_true",
                        help="Skip the transfer-function oracle rows (needs scikit-learn).")
    parser.add_argument("--epochs", type=int, default=None,
                        help="Epochs of the other variants (default: as the default model).")
    args = parser.parse_args(argv)

    import torch

    from obspy_gen.evaluate.vs30 import median_baseline, paired_difference, table_markdown
    from obspy_gen.io.checkpoints import read_config
    from obspy_gen.plugins.cnn_lstm import CNNLSTMPredictor
    from obspy_gen.plugins.cnn_lstm.data import load_windows
    from obspy_gen.plugins.cnn_lstm.train import train
    from obspy_gen.plugins.hvsr_f0 import fit_relation
    from train_default_cnn_lstm import EXTRA, THREADS, settings, simulate_corpus
    torch.set_num_threads(THREADS)
    work = Path(args.work)
    t_all = time.perf_counter()
    corpus = simulate_corpus(work)
    fresh = simulate_corpus(work, **FRESH)
    extra = simulate_corpus(work, **EXTRA)
    predictor = CNNLSTMPredictor()
    default_path = predictor.resolve(args.checkpoint)
    cfg = read_config(default_path, "cnn-lstm")
    split = cfg["training"]["split"]
    train_st, test_st = split["train"], split["test"]
    median = cfg["training"]["training_median_vs30"]
    checkpoints = {"cnn-lstm P/S, PGA (default)": default_path}
    timings = {}
    wanted = {"all": list(VARIANTS)[1:], "previous": list(VARIANTS)[1:2],
              "default": []}[args.variants]
    for name in wanted:
        over = VARIANTS[name]
        out = work / "runs" / ("v2-" + "-".join(
            f"{k}_{v}" for k, v in over.items() if k not in ("test_shifts", "extra_data")))
        if args.epochs:
            over = {**over, "epochs": args.epochs}
        if "extra_data" not in over:
            over = {**over, "extra_data": str(extra)}
        if not Path(str(out) + ".json").is_file() or read_config(out).get(
                "training", {}).get("epochs_done") != settings(**over).epochs:
            t0 = time.perf_counter()
            train(str(corpus), out, settings(**over), device="cpu", quiet=True,
                  log=lambda line: print(name, line, flush=True), resume=True)
            timings[name] = round(time.perf_counter() - t0, 1)
        checkpoints[name] = out
    results = {"held_out": {}, "fresh_seed": {}, "afad_real": {}}
    truth = {}
    for part, folder, stations in (("held_out", corpus, test_st), ("fresh_seed", fresh, None)):
        for name, ck in checkpoints.items():
            # The checkpoint's windows per record (test_shifts, P-centred), median per record.
            ws, values = CNNLSTMPredictor().predict_labelled(str(folder), stations=stations,
                                                             checkpoint=ck, device="cpu")
            true, pred = _station_predictions(ws, values)
            truth[part] = true
            results[part][name] = {"table": _score(true, pred), "pred": pred}
        st_list = sorted(truth[part])
        f0 = _hvsr_f0(folder, st_list)
        results[part]["hvsr-f0 (published: 120 m x f0)"] = {
            "table": _score(truth[part], {s: v for s, (_, v) in f0.items()}),
            "pred": {s: v for s, (_, v) in f0.items()}}
        results[part]["_f0"] = {s: f for s, (f, _) in f0.items()}
        results[part]["median (training)"] = {
            "table": _score(truth[part], {s: median for s in st_list}),
            "pred": {s: median for s in st_list}}
    # The refitted relation: f0 of the training stations.
    t0 = time.perf_counter()
    ws_all = load_windows(str(corpus), centre="pga")
    vs_all = ws_all.station_vs30()
    f0_train = _hvsr_f0(corpus, train_st, max_records=5)
    a, b = fit_relation([f0_train[s][0] for s in f0_train], [vs_all[s] for s in f0_train])
    timings["hvsr_f0_train_stations"] = round(time.perf_counter() - t0, 1)
    from obspy_gen.plugins.hvsr_f0 import vs30_from_f0
    for part in ("held_out", "fresh_seed"):
        f0 = results[part].pop("_f0")
        pred = {s: vs30_from_f0(f, (a, b)) for s, f in f0.items()}
        results[part][f"hvsr-f0 (refit on training: ln Vs30 = {a:.2f} + {b:.2f} ln f0)"] = {
            "table": _score(truth[part], pred), "pred": pred}
    # The oracle: true transfer functions instead of records (scripts/vs30_oracle.py).
    oracle_choice = {}
    if not args.no_oracle:
        import vs30_oracle
        t0 = time.perf_counter()
        rows = vs30_oracle.run(work, split, FRESH,
                               EXTRA if cfg["training"].get("extra_training") else None)
        for name, r in rows.items():
            oracle_choice[name] = r["choice"]
            for part in ("held_out", "fresh_seed"):
                results[part][name] = {"table": _score(truth[part], r[part]), "pred": r[part]}
        timings["oracle"] = round(time.perf_counter() - t0, 1)
    # Paired differences: default vs baselines.
    diffs = {}
    for part in ("held_out", "fresh_seed"):
        d = results[part]["cnn-lstm P/S, PGA (default)"]["pred"]
        keys = sorted(set(d) & set(truth[part]))
        diffs[part] = {}
        for name, r in results[part].items():
            if name.startswith("cnn-lstm P/S, PGA"):
                continue
            common = [k for k in keys if k in r["pred"]]
            diffs[part][name] = paired_difference(
                [truth[part][k] for k in common], [d[k] for k in common],
                [r["pred"][k] for k in common])
    # Real AFAD records (one record per station).
    from obspy import read

    from obspy_gen.plugins.hvsr_f0 import HVSRF0Predictor
    afad = {}
    for f in sorted(AFAD_MAT.glob("*.mat")):
        st = read(str(f))
        v = float(st[0].stats.afad.vs30)
        row = {"file": f.name, "station": st[0].stats.station, "vs30": v}
        for name, ck in checkpoints.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row[name] = CNNLSTMPredictor().predict(st, checkpoint=ck, device="cpu").vs30
        try:
            row["hvsr-f0 (published: 120 m x f0)"] = HVSRF0Predictor().predict(st).vs30
        except ValueError as exc:
            row["hvsr-f0 (published: 120 m x f0)"] = None
            print(f"hvsr-f0 on {f.name}: {exc}", file=sys.stderr)
        row["median (training)"] = median
        afad[f.name] = row
    methods = [k for k in next(iter(afad.values())) if k not in ("file", "station", "vs30")]
    for name in methods:
        ok = [r for r in afad.values() if r.get(name)]
        results["afad_real"][name] = {"table": _score({r["file"]: r["vs30"] for r in ok},
                                                      {r["file"]: r[name] for r in ok}),
                                      "pred": {r["file"]: r[name] for r in ok}}
    report = {"checkpoint": str(default_path), "split_seed": split.get("seed"),
              "n_test_stations": len(test_st), "fresh": FRESH,
              "refit_relation": {"a": a, "b": b}, "training_median_vs30": median,
              "oracle_choice": oracle_choice,
              "timings_s": {**timings, "total": round(time.perf_counter() - t_all, 1)},
              "results": {p: {n: r["table"] for n, r in v.items()} for p, v in results.items()},
              "predictions": {p: {n: r["pred"] for n, r in v.items()}
                              for p, v in results.items()},
              "truth": truth, "paired_differences": diffs, "afad_rows": afad}
    md = ["# CNN-LSTM Vs30: evaluation (generated by scripts/evaluate_cnn_lstm.py)", "",
          "MAPE (%) of station Vs30 per NEHRP class of the true Vs30, 95 % bootstrap interval "
          "over stations, n = stations. SYNTHETIC data except the AFAD part. CNN-LSTM: a "
          "record's value is the median over the checkpoint's windows per record "
          "(`test_shifts`), a station's the median over its records.", ""]
    if oracle_choice:
        md += ["Oracle rows (scripts/vs30_oracle.py): no records -- a regressor of ln Vs30 on "
               "each station's TRUE noise-free transfer functions (ln |SH| and ln |SH|/|P| at "
               "40 frequencies, 0.2-25 Hz), features and regressor chosen on the validation "
               "stations; an upper bound on what any record-based method can reach with that "
               "training set. Choices: " + "; ".join(
                   f"{n}: {c['features']}, {c['regressor']} (validation MAPE "
                   f"{c['validation_mape']:.1f} %)" for n, c in oracle_choice.items()) + ".",
               ""]
    titles = {"held_out": f"Held-out stations of the training corpus (seed 1, "
                          f"{len(test_st)} stations never trained on)",
              "fresh_seed": f"Fresh corpus seed {FRESH['seed']} ({FRESH['n_stations']} "
                            f"stations x {FRESH['records_per_station']} records, never used "
                            f"in training)",
              "afad_real": "Six real labelled AFAD records (one record per station)"}
    for part in ("held_out", "fresh_seed", "afad_real"):
        md += [f"## {titles[part]}", "",
               table_markdown({n: r["table"] for n, r in results[part].items()}), ""]
        if part in diffs:
            md += ["Default minus baseline (MAPE of baseline - MAPE of default, percentage "
                   "points; > 0 = default better), paired bootstrap 95 %:", ""]
            for name, d in diffs[part].items():
                cells = ", ".join(f"{c}: {v['diff']:+.1f} [{v['lo']:+.1f}, {v['hi']:+.1f}]"
                                  for c, v in d.items())
                md.append(f"- {name}: {cells}")
            md.append("")
    md += ["AFAD rows (true Vs30 and predictions, m/s):", ""]
    md.append("| file | Vs30 | " + " | ".join(methods) + " |")
    md.append("|---|---|" + "---|" * len(methods))
    for r in afad.values():
        md.append(f"| {r['file']} | {r['vs30']:.0f} | " + " | ".join(
            "-" if r.get(m) is None else f"{r[m]:.0f}" for m in methods) + " |")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    from obspy_gen.io.atomic import atomic_write
    atomic_write(args.report + ".json", json.dumps(report, indent=1) + "\n")
    atomic_write(args.report + ".md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

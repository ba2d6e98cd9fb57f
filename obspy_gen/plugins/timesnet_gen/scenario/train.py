"""Training of the scenario-conditioned TimesNet-Gen on labelled records (torchkit ``fit``).

Records need the scenario labels ``magnitude``, ``distance`` (epicentral) or
``hypo_distance``, ``depth`` and ``vs30`` -- what ``obspy-gen simulate`` writes to
``records.csv`` (joined automatically) or a ``labels.csv`` with a ``file`` column. Records
without them are skipped with a warning naming the file.

Steps: (1) the network starts from an unconditioned TimesNet-Gen checkpoint (default the
shipped ``timesnet-gen-synthetic-pretrain``) with identity conditioning convolutions
(:meth:`.model.ScenarioTimesNetGen.from_base`) and is fine-tuned to reconstruct the records
given their standardised features (per-record weighted MSE, as TimesNet-Gen), validated on
held-out records of every station; (2) the amplitude model (:class:`.features.AmplitudeModel`)
is fitted to the records' per-channel ``ln std``; (3) at the end every record is encoded: the
codes, with their PGA anchors and recorded spans, are the latent source generation draws from;
(4) the sampler's spectral shape is calibrated against the records (:func:`.sampler.calibrate`);
(5) what remains of its lnPSA error is learned on every training record, per station and for
new sites (:func:`.psa.calibrate_psa`). :func:`recalibrate` redoes (5) on a finished
checkpoint (the network and latent source unchanged).
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from obspy_gen.plugins.timesnet_gen.scenario.features import (AmplitudeModel, FeatureScaler,
                                                              raw_features)
from obspy_gen.plugins.timesnet_gen.scenario.psa import calibrate_psa
from obspy_gen.plugins.timesnet_gen.scenario.sampler import calibrate
from obspy_gen.plugins.timesnet_gen.scenario.store import (DEFAULT_SAMPLING, PLUGIN,
                                                           save_scenario_model)
from obspy_gen.torchkit.records import Materialised, load_records, record_split

#: The unconditioned checkpoint training starts from unless told.
DEFAULT_INIT = "timesnet-gen-synthetic-pretrain"
#: Most records whose codes a checkpoint keeps (24 kB each at the default latent: ~14 MB).
MAX_POOL = 600


def labelled_records(data, seq_len, *, sampling_rate=100.0, pattern="*.mseed", centre="auto",
                     quiet=True) -> tuple:
    """Preprocessed records with their raw scenario features.

    Returns
    -------
    (Materialised, raw features (n, 4), list of vs30)

    Examples
    --------
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator
    >>> st = StochasticGenerator().generate(station="4628", n=2, seed=1)
    >>> mat, raw, _ = labelled_records(st, 1000)
    >>> mat.data.shape, raw.shape
    ((2, 3, 1000), (2, 4))
    """
    from obspy_gen.api import progress
    from obspy_gen.io.dataset import preprocess
    ds = load_records(data, seq_len, sampling_rate=sampling_rate, pattern=pattern,
                      centre=centre)
    rows, datas, means, stds, station, meta = [], [], [], [], [], []
    for i in progress(range(len(ds.refs)), quiet, desc="preprocessing", unit="record"):
        ref = ds.refs[i]
        lab = ref.labels
        try:
            m, dep, vs30 = (float(lab[k]) for k in ("magnitude", "depth", "vs30"))
            if lab.get("hypo_distance") not in (None, ""):
                r = float(lab["hypo_distance"])
            else:
                r = math.hypot(float(lab["distance"]), dep)
        except (KeyError, TypeError, ValueError):
            warnings.warn(f"{ref.source}: record skipped: needs magnitude, distance (or "
                          f"hypo_distance), depth and vs30 labels")
            continue
        try:
            rec = ds.record(i)
            x, mean, std = preprocess(rec, ds.seq_len, ds.sampling_rate, ds.centre,
                                      p_arrival=lab.get("p_arrival"))
        except (ValueError, OSError) as exc:
            warnings.warn(f"{ref.source}: record skipped: {exc}")
            continue
        rows.append((m, r, max(dep, 0.1), vs30))
        datas.append(x)
        means.append(mean)
        stds.append(std)
        s = rec[0].stats
        station.append(s.station)
        meta.append({"network": s.network, "location": s.location,
                     "units": s.get("units") or "m/s**2"})
    if not rows:
        raise ValueError("no record with scenario labels (magnitude, distance, depth, vs30)")
    mat = Materialised(np.stack(datas).astype(np.float32), np.stack(means), np.stack(stds),
                       station, meta, str(data) if isinstance(data, (str, os.PathLike))
                       else "in memory", ds.centre)
    arr = np.asarray(rows, dtype=np.float64)
    return mat, raw_features(*arr.T), arr[:, 3].tolist()


class _Dataset:
    def __init__(self, mat, z, idx):
        import torch
        idx = np.asarray(idx, dtype=int)
        self.data = torch.from_numpy(mat.data[idx])
        self.mean = torch.from_numpy(mat.mean[idx].astype(np.float32))
        self.std = torch.from_numpy(mat.std[idx].astype(np.float32))
        self.z = torch.from_numpy(np.asarray(z)[idx].astype(np.float32))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return {"data": self.data[i], "mean": self.mean[i], "std": self.std[i],
                "features": self.z[i]}


def scenario_loss(net, batch):
    """Per-record weighted MSE of the de-normalised reconstruction given the features."""
    from obspy_gen.plugins.timesnet_gen.model import reconstruction_loss
    x, mean, std = batch["data"], batch["mean"], batch["std"]
    raw = x * std[:, :, None] + mean[:, :, None]
    y = net(x, batch["features"], mean, std)
    return reconstruction_loss(y.float(), raw, std, "record")


def encode_source(model, mat, z, quiet=True) -> dict:
    """Codes (one record at a time), PGA anchors and recorded spans of every record."""
    import torch

    from obspy_gen.plugins.timesnet_gen.sampling import record_anchor, recorded_extent
    dev = next(model.parameters()).device
    model.eval()
    codes = []
    with torch.no_grad():
        for i in range(len(mat)):
            zz, _, _ = model.encode(
                torch.from_numpy(mat.data[i:i + 1]).to(dev), torch.from_numpy(
                    np.asarray(z[i:i + 1], np.float32)).to(dev),
                torch.from_numpy(mat.mean[i:i + 1].astype(np.float32)).to(dev),
                torch.from_numpy(mat.std[i:i + 1].astype(np.float32)).to(dev))
            codes.append(zz[0].float().cpu().numpy())
    fs = float(model.config.sampling_rate)
    return {"codes": np.stack(codes), "mean": mat.mean, "std": mat.std,
            "onset": np.asarray([record_anchor(mat.data[i], mat.std[i], "pga", fs)
                                 for i in range(len(mat))]),
            "extent": np.asarray([recorded_extent(mat.data[i]) for i in range(len(mat))])}


def _help(text, **extra):
    return field(default=extra.pop("default", None), metadata={"help": text, **extra})


@dataclass
class ScenarioTrainSettings:
    """Settings of ``ScenarioTimesNetGenGenerator.train`` (``obspy-gen train
    timesnet-gen-scenario`` flags).

    Examples
    --------
    >>> ScenarioTrainSettings(epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: epochs=0 must be an integer >= 1
    """

    init: str = _help("Unconditioned TimesNet-Gen checkpoint to start from (shipped name or "
                      "path).", default=DEFAULT_INIT)
    epochs: int = _help("Passes over the training records.", default=8)
    batch_size: int = _help("Records per optimiser step.", default=16)
    lr: float = _help("AdamW learning rate.", default=1e-3)
    weight_decay: float = _help("AdamW weight decay.", default=1e-2)
    val_fraction: float = _help("Share of every station's records held out for validation.",
                                default=0.15)
    seed: int = _help("Seed of splits, batches and the latent-source subset.", default=0)
    max_pool: int = _help("Most records whose codes the checkpoint keeps (latent source).",
                          default=MAX_POOL)
    calibration_draws: int = _help("Records drawn per latent-source record for the spectral "
                                   "calibration of the sampler.", default=2)
    psa_passes: int = _help("Passes of the lnPSA calibration over the training records (0: "
                            "none).", default=2)
    synthetic: bool | None = _help("Say whether --data is synthetic (recorded in the "
                                   "checkpoint).")
    description: str = _help("Free text on the data (recorded in the checkpoint).",
                             default="")
    source: str = _help("How the checkpoint names the training data (default: the --data "
                        "folder); a path-free name keeps the checkpoint independent of where "
                        "the data lie.", default="")
    pattern: str = _help("File name pattern inside --data.", default="*.mseed")
    centre: str = _help("Where each record's window is centred.", default="auto",
                        choices=("auto", "record", "pga", "p_arrival"))

    def __post_init__(self):
        for name, lo in (("epochs", 1), ("batch_size", 1), ("max_pool", 1),
                         ("calibration_draws", 1), ("psa_passes", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < lo:
                raise ValueError(f"{name}={v!r} must be an integer >= {lo}")
        if not self.lr > 0 or not self.weight_decay >= 0:
            raise ValueError("lr must be > 0 and weight_decay >= 0")
        if not 0 <= self.val_fraction <= 0.9:
            raise ValueError(f"val_fraction={self.val_fraction!r} must be in [0, 0.9]")
        if self.centre not in ("auto", "record", "pga", "p_arrival"):
            raise ValueError(f"centre={self.centre!r} is not one of auto, record, pga, "
                             f"p_arrival")


def run_training(data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
    """Train a scenario-conditioned checkpoint ``out`` from labelled records ``data``.

    Parameters
    ----------
    data : folder, Stream or list of Streams
        Labelled records (see the module docstring).
    out : str or Path
        Checkpoint base path (written every epoch; the latent source after the last one).
    settings : ScenarioTrainSettings, optional
    device : str, optional
    resume : bool
        Continue from ``out``'s training state.
    log : callable, optional
        Receives one line per epoch; ``None`` = quiet.

    Returns
    -------
    dict
        Training history (``epochs``: ``train_loss``, ``val_loss``, ``seconds``...).

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator
    >>> from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig
    >>> from obspy_gen.plugins.timesnet_gen.store import save_model
    >>> d = tempfile.mkdtemp()
    >>> cfg = TimesNetGenConfig(seq_len=400, d_model=4, d_ff=4, e_layers=1, d_layers=1,
    ...                         num_kernels=1, latent_channels=2, latent_stride=10)
    >>> _ = save_model(os.path.join(d, "base"), TimesNetGen(cfg), cfg)
    >>> recs = StochasticGenerator().generate(station="4628", n=4, seed=2)
    >>> s = ScenarioTrainSettings(init=os.path.join(d, "base"), epochs=1)
    >>> h = run_training(recs, os.path.join(d, "sc"), s, device="cpu")
    >>> len(h["epochs"]), h["n_pool"]
    (1, 4)
    """
    import torch

    from obspy_gen.plugins.timesnet_gen.store import load_model
    from obspy_gen.plugins.timesnet_gen.scenario.model import ScenarioTimesNetGen
    from obspy_gen.torchkit.base import (TrainSettings, choose_device, fit, load_state,
                                         resolve_checkpoint, seed_everything)
    from obspy_gen.io.checkpoints import load_checkpoint
    s = settings if settings is not None else ScenarioTrainSettings()
    quiet = log is None
    base_path = resolve_checkpoint(s.init, "obspy_gen.plugins.timesnet_gen")
    base = load_model(base_path, "cpu")
    if base.arch.conditioned:
        raise ValueError(f"{base_path}: station-conditioned; start from an unconditioned "
                         f"(phase-1) checkpoint")
    arch = base.arch
    if isinstance(data, (str, os.PathLike)) and not os.path.isdir(data):
        raise ValueError(f"{data}: not a directory of records")
    mat, raw, vs30 = labelled_records(data, arch.seq_len, sampling_rate=arch.sampling_rate,
                                      pattern=s.pattern, centre=s.centre, quiet=quiet)
    scaler = FeatureScaler.fit(raw)
    z = scaler(raw)
    amplitude = AmplitudeModel.fit(z, np.log(np.maximum(mat.std, 1e-30)), mat.station)
    tr, va = record_split(mat, s.val_fraction, s.seed)
    seed_everything(s.seed)
    model = ScenarioTimesNetGen.from_base(base.model.cpu())
    settings = TrainSettings(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr,
                             weight_decay=s.weight_decay, seed=s.seed)
    order = mat.stations
    stations = []
    for code in order:
        i = mat.station.index(code)
        stations.append({"station": code, "network": mat.meta[i]["network"],
                         "location": mat.meta[i]["location"], "units": mat.meta[i]["units"],
                         "vs30": float(vs30[i]), "n_records": mat.station.count(code)})
    rng = np.random.default_rng(s.seed)
    keep = np.sort(rng.permutation(len(mat))[:s.max_pool])
    ranges = {"magnitude": [float(raw[:, 0].min()), float(raw[:, 0].max())],
              "hypo_distance": [float(np.exp(raw[:, 1].min())),
                                float(np.exp(raw[:, 1].max()))],
              "depth": [float(np.exp(raw[:, 2].min())), float(np.exp(raw[:, 2].max()))],
              "vs30": [float(np.exp(raw[:, 3].min())), float(np.exp(raw[:, 3].max()))]}
    training = {"synthetic": s.synthetic, "description": s.description,
                "source": s.source or mat.source,
                "n_records": len(mat), "n_stations": len(order), "base_checkpoint":
                base_path.name, "validation": {"kind": "per-station records",
                                               "fraction": s.val_fraction,
                                               "n_records": len(va)},
                "loss": "MSE of de-normalised output, weighting='record'",
                "latent_source": f"codes of {len(keep)} of the {len(mat)} training records",
                "settings": {**settings.to_dict(), "centre": s.centre}}
    t0 = time.perf_counter()
    log_line = log or (lambda line: None)
    calib = psa = None

    def save(m, path, epoch, history):
        nonlocal calib, psa
        pool = None
        if epoch == settings.epochs:
            sub = Materialised(mat.data[keep], mat.mean[keep], mat.std[keep],
                               [mat.station[i] for i in keep])
            pool = encode_source(m, sub, z[keep])
            pool["raw"] = raw[keep]
            pool["station"] = np.asarray([order.index(mat.station[i]) for i in keep])
            t1 = time.perf_counter()
            calib = calibrate(m, pool, scaler, mat.data[keep], k=DEFAULT_SAMPLING["k"],
                              noise_scale=DEFAULT_SAMPLING["noise_scale"], seed=s.seed,
                              draws=s.calibration_draws)
            calib["seconds"] = round(time.perf_counter() - t1, 1)
            log_line(f"spectral calibration: RMS ln shape error {calib['rms_before']:.3f} "
                     f"-> {calib['rms_after']:.3f} ({calib['seconds']} s)")
            psa = psa_calibration(m, pool, scaler, amplitude, calib, mat, raw, keep, order,
                                  seed=s.seed, passes=s.psa_passes, log=log_line)
        save_scenario_model(path, m, scaler=scaler, amplitude=amplitude, pool=pool,
                            stations=stations, label_ranges=ranges, centre=mat.centre,
                            base=base_path.name, calibration=calib, psa_calibration=psa,
                            training={**training, "epochs_done": epoch,
                                      "history": history["epochs"],
                                      "train_seconds": round(time.perf_counter() - t0, 1)})

    def load_fn(m, path):
        load_state(m, load_checkpoint(path, plugin=PLUGIN), "model.")

    history = fit(model, _Dataset(mat, z, tr), _Dataset(mat, z, va) if va else None,
                  scenario_loss, out=out, save_fn=save, settings=settings,
                  device=device if device is not None else choose_device(None),
                  resume=resume, quiet=quiet, log=log, load_fn=load_fn)
    history["n_pool"] = int(len(keep))
    del torch
    return history


def psa_calibration(model, pool, scaler, amplitude, calib, mat, raw, keep, order, *, seed=0,
                    passes=2, log=None) -> dict | None:
    """Step (5): the lnPSA correction (:func:`.psa.calibrate_psa`) learned on every record of
    ``mat`` (those in the latent source left out of their own prior), as a JSON dict with
    ``seconds``; None with ``passes=0``."""
    from obspy_gen.plugins.timesnet_gen.sampling import recorded_extent
    from obspy_gen.plugins.timesnet_gen.scenario.store import DEFAULT_SAMPLING
    if not passes:
        return None
    t0 = time.perf_counter()
    records = []
    for i in range(len(mat)):
        lo, hi = recorded_extent(mat.data[i])
        x = mat.data[i].astype(np.float64) * mat.std[i][:, None] + mat.mean[i][:, None]
        records.append(x[:, lo:hi])
    rows = np.full(len(mat), -1)
    rows[np.asarray(keep)] = np.arange(len(keep))
    pool_stations = np.asarray(order)[np.asarray(pool["station"], dtype=int)]
    corr = calibrate_psa(model, pool, scaler, amplitude, records, raw, list(mat.station),
                         rows, pool_stations=pool_stations, shape_calibration=calib,
                         passes=passes, seed=seed, k=DEFAULT_SAMPLING["k"],
                         noise_scale=DEFAULT_SAMPLING["noise_scale"],
                         fs=float(model.config.sampling_rate), log=log)
    out = corr.to_dict()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def recalibrate(checkpoint, data, out=None, *, seed=0, passes=2, pattern="*.mseed",
                log=None) -> dict:
    """Redo the lnPSA calibration (step 5) of a finished checkpoint on its training records
    ``data`` (the folder it was trained on) and write the checkpoint to ``out`` (default: in
    place); the network, latent source and the other calibrations are kept.

    The latent source must be the one training chose (``seed`` and ``max_pool`` as then):
    its rows are matched to the records by their features and station.

    Returns
    -------
    dict
        The new ``psa_calibration`` of the checkpoint.
    """
    import torch

    from obspy_gen.io.checkpoints import load_checkpoint, save_checkpoint
    from obspy_gen.plugins.timesnet_gen.scenario.store import load_scenario_model
    loaded = load_scenario_model(checkpoint, "cpu")
    ck = load_checkpoint(loaded.path, plugin=PLUGIN)
    arch = loaded.arch
    mat, raw, _ = labelled_records(data, arch.seq_len, sampling_rate=arch.sampling_rate,
                                   pattern=pattern, centre=loaded.config["normalisation"].get(
                                       "centre", "auto") if isinstance(
                                       loaded.config.get("normalisation"), dict) else "auto")
    order = loaded.station_codes
    pool = loaded.pool
    # Match each latent-source row to its record (same station, same features).
    keep = np.full(len(pool["raw"]), -1)
    codes = np.asarray(mat.station)
    for j, (fr, si) in enumerate(zip(np.asarray(pool["raw"], float), pool["station"])):
        cand = np.flatnonzero(codes == order[int(si)])
        d = np.abs(raw[cand] - fr).max(axis=1) if len(cand) else np.array([np.inf])
        if not len(cand) or d.min() > 1e-3:
            raise ValueError(f"{data}: no record matches row {j} of the latent source of "
                             f"{loaded.path.name} (not its training data?)")
        keep[j] = cand[int(np.argmin(d))]
    with torch.no_grad():
        psa = psa_calibration(loaded.model, pool, loaded.scaler, loaded.amplitude,
                              loaded.config.get("calibration"), mat, raw, keep, order,
                              seed=seed, passes=passes, log=log)
    config = {k: v for k, v in ck.config.items()
              if k not in ("format", "format_version", "plugin", "plugin_version",
                           "obspy_gen_version", "created", "tensors", "weights_sha256")}
    config["psa_calibration"] = psa
    save_checkpoint(out or loaded.path, dict(ck.tensors), config, plugin=PLUGIN,
                    plugin_version=ck.config.get("plugin_version"))
    return psa


__all__ = ["ScenarioTrainSettings", "run_training", "labelled_records", "encode_source",
           "scenario_loss", "psa_calibration", "recalibrate", "DEFAULT_INIT", "MAX_POOL"]

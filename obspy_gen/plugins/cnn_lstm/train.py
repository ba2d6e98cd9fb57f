"""Training of the CNN-LSTM Vs30 model on :func:`obspy_gen.torchkit.fit`.

There is no training loop here: the shared loop (AdamW, cosine schedule, seeded shuffling,
exact resume, station-wise validation, AMP on CUDA, DDP under ``torchrun``) does the work;
this module prepares the windows, splits stations, builds the network, defines the loss and
writes the checkpoint.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from obspy_gen.plugins.cnn_lstm.data import WindowSet, load_windows, split_stations

PLUGIN = "cnn-lstm"
VERSION = "1.0"
DEFAULT_CHECKPOINT = "cnn-lstm-synthetic"
#: Prefix of the station codes of ``extra_data`` (training only) in a run.
EXTRA_PREFIX = "extra:"


def _opt(default, help, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainSettings:
    """Settings of ``obspy-gen train cnn-lstm`` (one CLI flag per field; help in metadata).

    The defaults are the shipped ``cnn-lstm-synthetic``'s settings (its training data aside:
    ``--extra-data`` names the second corpus, see ``scripts/train_default_cnn_lstm.py``).

    Examples
    --------
    >>> s = TrainSettings(epochs=2, ps_channel=False)
    >>> s.architecture().in_channels, s.fractions()
    (3, (0.65, 0.15, 0.2))
    >>> TrainSettings(centre="middle")
    Traceback (most recent call last):
    ...
    ValueError: centre='middle' is not one of pga, p_arrival
    """

    epochs: int = _opt(24, "Training epochs.")
    batch_size: int = _opt(32, "Records per batch.")
    lr: float = _opt(3e-3, "AdamW learning rate (cosine schedule).")
    weight_decay: float = _opt(1e-4, "AdamW weight decay.")
    seed: int = _opt(0, "Seed of the station split, initial weights and shuffling.")
    val_fraction: float = _opt(0.15, "Share of stations (per NEHRP class) for validation.")
    test_fraction: float = _opt(0.2, "Share of stations (per NEHRP class) held out for "
                                     "testing (listed in the checkpoint, never trained on).")
    window: float = _opt(15.0, "Window length in s.")
    segment: float = _opt(1.0, "Segment length in s (1-5): one CNN pass per segment.")
    centre: str = _opt("pga", "Centre of the window.", choices=("pga", "p_arrival"))
    ps_channel: bool = _opt(True, "Feed the P/S arrival mask as a 4th channel.")
    width: int = _opt(12, "Channels of the first convolution (then 2x, 2x).")
    kernel: int = _opt(7, "Kernel size of the first convolution.")
    hidden: int = _opt(48, "LSTM hidden size.")
    lstm_layers: int = _opt(1, "Stacked LSTM layers.")
    dropout: float = _opt(0.1, "Dropout before the fully connected head.")
    train_shift: float = _opt(3.0, "Augmentation: each training window's centre moves by a "
                                   "random offset up to this many s either way (0: none).")
    keep_best: bool = _opt(True, "Keep the weights of the epoch of lowest validation loss.")
    test_shifts: tuple = _opt((0.0,),
                              "Prediction: a record's windows are centred this many s after "
                              "the PGA/P arrival (comma-separated); its Vs30 is their median.")
    test_p_centred: bool = _opt(True, "Prediction: add a P-centred window per record.")
    amp: str = _opt(None, "Mixed precision on CUDA.", choices=("bf16", "fp16"))
    synthetic: bool = _opt(None, "Whether the data are synthetic (recorded in the checkpoint).")
    description: str = _opt("", "Free text on the data (recorded in the checkpoint).")
    pattern: str = _opt("*.mseed", "File name pattern inside the data folder.")
    extra_data: str = _opt(None, "Folder of more labelled records used for TRAINING only "
                                 "(their stations never validate or test; e.g. a second "
                                 "simulated corpus).")
    cache_dir: str = _opt(None, "Folder for cached windows (default $OBSPY_GEN_CACHE or "
                                "<tmp>/obspy-gen-cache).")

    def __post_init__(self):
        if self.centre not in ("pga", "p_arrival"):
            raise ValueError(f"centre={self.centre!r} is not one of pga, p_arrival")
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ValueError(f"{name} must be in [0, 1), got {v!r}")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must leave stations to train on")
        if self.width < 1:
            raise ValueError(f"width must be positive, got {self.width!r}")
        if not 0 <= self.train_shift <= self.window / 2:
            raise ValueError(f"train_shift must be in [0, window / 2], got {self.train_shift!r}")
        try:
            self.test_shifts = tuple(float(v) for v in self.test_shifts)
        except (TypeError, ValueError):
            raise ValueError(f"test_shifts must be seconds (numbers), got "
                             f"{self.test_shifts!r}") from None
        self.architecture()  # validates window/segment/kernel/hidden/dropout

    def fractions(self) -> tuple:
        """(train, validation, test) shares of the stations."""
        return (round(1 - self.val_fraction - self.test_fraction, 10), self.val_fraction,
                self.test_fraction)

    def architecture(self):
        """The :class:`~.model.CNNLSTMConfig` these settings train (torch not needed)."""
        from obspy_gen.plugins.cnn_lstm.config import CNNLSTMConfig
        return CNNLSTMConfig(window=float(self.window), segment=float(self.segment),
                              ps_channel=bool(self.ps_channel), centre=self.centre,
                              conv_channels=(self.width, 2 * self.width, 2 * self.width),
                              kernel=int(self.kernel), hidden=int(self.hidden),
                              lstm_layers=int(self.lstm_layers), dropout=float(self.dropout),
                              test_shifts=self.test_shifts,
                              test_p_centred=bool(self.test_p_centred))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["test_shifts"] = list(self.test_shifts)
        return d

    def margin(self) -> int:
        """Samples loaded on each side of the window for the random shifts."""
        return int(round(self.train_shift * self.architecture().sampling_rate))


def settings_help() -> dict:
    """Field name -> help text of :class:`TrainSettings`.

    Examples
    --------
    >>> settings_help()["segment"]
    'Segment length in s (1-5): one CNN pass per segment.'
    """
    return {f.name: f.metadata.get("help", "") for f in fields(TrainSettings)}


def torch_dataset(ws: WindowSet, idx, in_channels, mu, sigma, margin=0, shuffle_shift=False):
    """A torch Dataset of ``{"x": (C, samples), "y": normalised ln Vs30}`` items.

    With ``margin`` > 0 the windows of ``ws`` are ``2 * margin`` samples longer than the
    model's: each item is cut out of its wider window and renormalised
    (:func:`~.data.renormalise`) -- at a random offset of up to ``margin`` samples either way
    when ``shuffle_shift`` (torch's global generator, which :func:`~obspy_gen.torchkit.fit`
    seeds every epoch: runs and resumes are reproducible), else centred.

    Examples
    --------
    >>> import torch
    >>> ws = WindowSet(np.random.default_rng(0).normal(size=(2, 4, 14)).astype(np.float32),
    ...                np.array([300.0, 600.0]), ["A", "B"])
    >>> d = torch_dataset(ws, [0, 1], 4, 6.0, 0.5, margin=2, shuffle_shift=True)
    >>> tuple(d[0]["x"].shape), round(float(d[1]["y"]), 3)
    ((4, 10), 0.794)
    """
    import torch

    from obspy_gen.plugins.cnn_lstm.data import renormalise
    idx = np.asarray(list(idx), dtype=int)
    x = torch.from_numpy(np.ascontiguousarray(ws.data[idx, :in_channels]))
    y = torch.from_numpy(((np.log(ws.vs30[idx]) - mu) / sigma).astype(np.float32))
    if margin:
        samples = x.shape[-1] - 2 * margin
        if samples < 1:
            raise ValueError(f"windows of {x.shape[-1]} samples are too short for a margin of "
                             f"{margin} samples")
        if not shuffle_shift:  # fixed centred cuts: cut once
            x = torch.from_numpy(renormalise(x[..., margin:margin + samples].numpy()))
            margin = 0

    class _Windows(torch.utils.data.Dataset):
        def __len__(self):
            return len(idx)

        def __getitem__(self, i):
            if not margin:
                return {"x": x[i], "y": y[i]}
            o = int(torch.randint(0, 2 * margin + 1, ()))
            return {"x": torch.from_numpy(renormalise(x[i, :, o:o + samples].numpy())),
                    "y": y[i]}

    return _Windows()


def loss_fn(net, batch):
    """Mean squared error of the normalised ln Vs30 (a relative error in Vs30)."""
    return ((net(batch["x"]).float() - batch["y"]) ** 2).mean()


def _checkpoint_config(arch, mu, sigma, training) -> dict:
    return {"architecture": arch.to_dict(),
            "normalisation": {
                "target": "y = (ln(Vs30 [m/s]) - ln_vs30_mean) / ln_vs30_std",
                "ln_vs30_mean": mu, "ln_vs30_std": sigma,
                "input": "per record: window of `window` s centred as `centre`; N, E, Z "
                         "demeaned and divided by one common RMS; 4th channel = P/S mask "
                         "(1 between P and S arrivals) when ps_channel",
                "prediction": "one window per shift in architecture.test_shifts (s after "
                              "the centre) plus a P-centred one when test_p_centred; a "
                              "record's Vs30 is the median of its windows' (ln) values"},
            "training": training}


def train(data, out, settings=None, *, device=None, resume=False, log=None, quiet=None,
          windows=None, extra_windows=None, created=None, source=None,
          extra_source=None) -> dict:
    """Train the CNN-LSTM on a folder of labelled records; checkpoint ``out`` every epoch.

    Parameters
    ----------
    data : str or Path
        Folder of records with Vs30 labels (see :func:`~.data.load_windows`).
    out : str or Path
        Checkpoint base path (``out.safetensors`` + ``out.json``; training state next to it).
    settings : TrainSettings, optional
    device : str, optional
        Default CUDA when available; ``torchrun`` starts DDP.
    resume : bool
        Continue from the state next to ``out``.
    log : callable, optional
        Receives one line per epoch.
    quiet : bool, optional
        No progress bars (default: quiet when ``log`` is given).
    windows : WindowSet, optional
        Already loaded windows (skips reading ``data``; must match the settings' centre and
        be ``window + 2 * train_shift`` s long).
    extra_windows : WindowSet, optional
        Already loaded windows of ``settings.extra_data``.
    created : str, optional
        Value of the checkpoint's ``created`` field (default: now); a fixed value makes a
        rerun's JSON byte-identical too.
    source, extra_source : str, optional
        How the checkpoint describes ``data`` and ``settings.extra_data`` (default: their
        folders), e.g. the ``simulate(...)`` call that made a corpus. With path-free
        descriptions the checkpoint does not depend on where the data lay: the same training
        from another folder writes the same bytes.

    Returns
    -------
    dict
        The training history of :func:`~obspy_gen.torchkit.fit` plus ``split``
        (station lists) and ``normalisation``.

    Examples
    --------
    >>> import os, tempfile
    >>> from obspy import read
    >>> d = tempfile.mkdtemp()
    >>> for k, v in enumerate([300, 320, 800, 820]):
    ...     st = read()
    ...     for tr in st:
    ...         tr.stats.station = f"S{k}"
    ...     st.write(os.path.join(d, f"s{k}.mseed"), format="MSEED")
    >>> with open(os.path.join(d, "labels.csv"), "w") as fh:
    ...     _ = fh.write("file,vs30\\ns0.mseed,300\\ns1.mseed,320\\ns2.mseed,800\\n"
    ...                  "s3.mseed,820\\n")
    >>> s = TrainSettings(epochs=1, window=5.0, train_shift=1.0, val_fraction=0.0,
    ...                   test_fraction=0.0)
    >>> h = train(d, os.path.join(d, "m"), s, device="cpu", log=lambda line: None)
    >>> len(h["epochs"]), sorted(h["split"]["train"])
    (1, ['S0', 'S1', 'S2', 'S3'])
    >>> h = train(d, os.path.join(d, "m2"), s, device="cpu", log=lambda line: None,
    ...           source="four copies of obspy.read()")
    >>> import json
    >>> json.load(open(os.path.join(d, "m2.json")))["training"]["source"]
    'four copies of obspy.read()'
    """
    import time

    from obspy_gen.io.checkpoints import save_checkpoint
    from obspy_gen.plugins.cnn_lstm.model import CNNLSTM, n_parameters
    from obspy_gen.torchkit import FitSettings, fit, seed_everything, state_dict_numpy
    settings = settings or TrainSettings()
    if quiet is None:
        quiet = log is not None
    arch = settings.architecture()
    margin = settings.margin()
    if windows is None:
        windows = load_windows(data, window=arch.window + 2 * margin / arch.sampling_rate,
                               sampling_rate=arch.sampling_rate,
                               centre=arch.centre, pattern=settings.pattern,
                               cache_path=settings.cache_dir, quiet=quiet)
    ws = windows
    n_main = len(ws)
    if settings.extra_data:
        if extra_windows is None:
            extra_windows = load_windows(settings.extra_data,
                                         window=arch.window + 2 * margin / arch.sampling_rate,
                                         sampling_rate=arch.sampling_rate, centre=arch.centre,
                                         pattern=settings.pattern,
                                         cache_path=settings.cache_dir, quiet=quiet)
        ws = ws.concat(extra_windows, EXTRA_PREFIX)
    if ws.data.shape[2] != arch.samples + 2 * margin:
        raise ValueError(f"{data}: windows of {ws.data.shape[2]} samples, the settings need "
                         f"{arch.samples + 2 * margin}")
    # A view of the main records (no copy): only they are split.
    main = WindowSet(ws.data[:n_main], ws.vs30[:n_main], ws.station[:n_main])
    train_st, val_st, test_st = split_stations(main.station_vs30(), settings.fractions(),
                                               settings.seed)
    extra_st = sorted(set(ws.station[n_main:]))
    tr_idx, va_idx = ws.indices(train_st + extra_st), ws.indices(val_st)
    if not tr_idx:
        raise ValueError(f"{data}: no training stations left after the split")
    ln = np.log(ws.vs30[tr_idx])
    mu, sigma = float(ln.mean()), float(ln.std())
    if not sigma > 0:
        sigma = 1.0
    seed_everything(settings.seed)
    model = CNNLSTM(arch)
    fit_settings = FitSettings(epochs=settings.epochs, batch_size=settings.batch_size,
                               lr=settings.lr, weight_decay=settings.weight_decay,
                               seed=settings.seed, amp=settings.amp,
                               keep_best=bool(settings.keep_best))
    vs_train = ws.station_vs30()
    recorded_settings = settings.to_dict()
    if extra_source is not None and settings.extra_data:
        recorded_settings["extra_data"] = extra_source
    training = {
        "synthetic": settings.synthetic, "description": settings.description,
        "source": source if source is not None else (ws.source or str(data)),
        "n_records": len(tr_idx),
        "n_stations": len(train_st) + len(extra_st),
        "split": {"kind": "station-wise, stratified by NEHRP class",
                  "fractions": list(settings.fractions()), "seed": settings.seed,
                  "train": train_st, "validation": val_st, "test": test_st},
        "training_median_vs30": float(np.median([vs_train[s] for s in train_st + extra_st])),
        "ps_sources": {k: int(sum(1 for i in tr_idx if ws.ps_source[i] == k))
                       for k in ("labels", "picker", "none")} if ws.ps_source else {},
        "loss": "MSE of normalised ln Vs30",
        "settings": recorded_settings, "fit": fit_settings.to_dict(),
        "n_parameters": n_parameters(model)}
    if extra_st:
        training["extra_training"] = {
            "source": extra_source if extra_source is not None
            else (extra_windows.source or str(settings.extra_data)),
            "n_stations": len(extra_st), "n_records": len(ws) - n_main,
            "station_prefix": EXTRA_PREFIX, "use": "training only"}
    config_base = _checkpoint_config(arch, mu, sigma, training)
    if created is not None:
        config_base["created"] = created
    t0 = time.perf_counter()

    def save(m, path, epoch, history):
        # Timings stay out of the checkpoint: the same run writes the same bytes.
        hist = [{"epoch": e["epoch"], "train_loss": e["train_loss"], "val_loss": e["val_loss"]}
                for e in history["epochs"]]
        cfg = dict(config_base)
        cfg["training"] = {**training, "epochs_done": epoch, "history": hist}
        if "best_epoch" in history:
            cfg["training"]["best_epoch"] = history["best_epoch"]
        save_checkpoint(path, state_dict_numpy(m, "model."), cfg, plugin=PLUGIN,
                        plugin_version=VERSION)

    def load(m, path):
        from obspy_gen.io.checkpoints import load_checkpoint
        from obspy_gen.torchkit import load_state
        load_state(m, load_checkpoint(path, plugin=PLUGIN), "model.")

    history = fit(model, torch_dataset(ws, tr_idx, arch.in_channels, mu, sigma, margin, True),
                  torch_dataset(ws, va_idx, arch.in_channels, mu, sigma, margin)
                  if va_idx else None,
                  loss_fn, out=out, save_fn=save, settings=fit_settings, device=device,
                  resume=resume, quiet=quiet, log=log, load_fn=load)
    history["split"] = {"train": train_st, "validation": val_st, "test": test_st}
    history["normalisation"] = {"ln_vs30_mean": mu, "ln_vs30_std": sigma}
    history["train_seconds"] = round(time.perf_counter() - t0, 1)
    history["n_train_records"] = len(tr_idx)
    return history


__all__ = ["TrainSettings", "train", "settings_help", "torch_dataset", "loss_fn", "PLUGIN",
           "VERSION", "DEFAULT_CHECKPOINT"]

"""The ``cnn-lstm`` Vs30 predictor plugin: ``stream.vs30()``."""
from __future__ import annotations

import warnings

import numpy as np

from obspy_gen.api import Vs30Predictor, Vs30Result
from obspy_gen.plugins.cnn_lstm.train import (DEFAULT_CHECKPOINT, PLUGIN, VERSION,
                                              TrainSettings)
from obspy_gen.torchkit import CachedCheckpointPlugin
from obspy_gen.torchkit.base import clear_loaded


def _load_model(path: str, device: str):
    from obspy_gen.plugins.cnn_lstm.config import CNNLSTMConfig
    from obspy_gen.plugins.cnn_lstm.model import CNNLSTM
    from obspy_gen.torchkit.base import load_network
    ck, arch, model, _, _ = load_network(path, PLUGIN, CNNLSTMConfig, CNNLSTM, device)
    norm = ck.config["normalisation"]
    return model, arch, float(norm["ln_vs30_mean"]), float(norm["ln_vs30_std"]), ck.config


class CNNLSTMPredictor(CachedCheckpointPlugin, Vs30Predictor):
    """CNN-LSTM Vs30 from strong-motion records (Yilmaz, Akagunduz & Tileylioglu).

    Each record becomes a 15-s window (centred on the PGA or on the P arrival, as the
    checkpoint was trained) with an optional P/S arrival mask channel; the network predicts
    Vs30 per record and the station value is the median of its records (spread = standard
    deviation of ln Vs30 over the records). See :mod:`~obspy_gen.plugins.cnn_lstm.windows`
    for the window, padding, fallback and unit rules and
    :mod:`~obspy_gen.plugins.cnn_lstm.model` for the network.

    The shipped default checkpoint ``cnn-lstm-synthetic`` was trained on SYNTHETIC records of
    the stochastic simulator's corpus (``obspy-gen simulate --catalog corpus``), stations held
    out; it demonstrates the method and is not calibrated on real stations (see
    ``docs/vs30.rst`` for its errors on simulated and on the few real labelled AFAD records).

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("torch")
    >>> from obspy_gen.plugins.stochastic import StochasticGenerator, SoilProfile
    >>> site = SoilProfile([(25, 220, 1800, 0.03)], halfspace=(900, 2300, 0.01))
    >>> st = StochasticGenerator().generate(station=site, n=3, seed=2)
    >>> result = CNNLSTMPredictor().predict(st, device="cpu")
    >>> result.n_records, result.nehrp_class in "BCDE", result.vs30 > 0
    (3, True, True)
    >>> _, arch, _, _, cfg = CNNLSTMPredictor().load(device="cpu")   # cached
    >>> arch.window, cfg["training"]["synthetic"]
    (15.0, True)
    """

    name = PLUGIN
    version = VERSION
    requires = ("torch", "safetensors")
    checkpoint_package = "obspy_gen.plugins.cnn_lstm"
    default_checkpoint = DEFAULT_CHECKPOINT
    #: Settings of :meth:`train` (one ``obspy-gen train cnn-lstm`` flag per field).
    TrainSettings = TrainSettings

    #: ``(model, config, ln_mean, ln_std, checkpoint_config)`` of a checkpoint: what the
    #: cached :meth:`load` gives.
    _load_model = staticmethod(_load_model)

    # TorchPlugin hook
    def _checkpoint_content(self):
        from obspy_gen.io.checkpoints import load_checkpoint
        ck = load_checkpoint(self.resolve(self._checkpoint), plugin=PLUGIN)
        return dict(ck.tensors), {k: v for k, v in ck.config.items()}

    # -- training hook -----------------------------------------------------------------------
    @classmethod
    def train(cls, data, out, settings=None, *, device=None, resume=False, log=None) -> dict:
        """Train on a folder of labelled records (see :func:`.train.train`); returns the history.

        Examples
        --------
        >>> CNNLSTMPredictor.TrainSettings().epochs
        24
        """
        from obspy_gen.plugins.cnn_lstm.train import train
        return train(data, out, settings, device=device, resume=resume, log=log)

    # -- prediction --------------------------------------------------------------------------
    def predict_windows(self, windows, *, device=None, checkpoint=None, batch_size=256):
        """Vs30 (m/s) of prepared windows, shape (n, 4, samples) -> (n,).

        Examples
        --------
        >>> import pytest
        >>> _ = pytest.importorskip("torch")
        >>> v = CNNLSTMPredictor().predict_windows(np.zeros((2, 4, 1500), np.float32),
        ...                                        device="cpu")
        >>> v.shape, bool(abs(v[0] - v[1]) < 1e-3)     # (float32 rows of a batch: to 1e-5)
        ((2,), True)
        """
        import torch
        model, arch, mu, sigma, _ = self.load(checkpoint, device)
        dev = next(model.parameters()).device
        x = np.asarray(windows, dtype=np.float32)[:, :arch.in_channels]
        out = []
        with torch.no_grad():
            for k in range(0, len(x), batch_size):
                y = model(torch.from_numpy(np.ascontiguousarray(x[k:k + batch_size])).to(dev))
                out.append(y.float().cpu().numpy())
        y = np.concatenate(out) if out else np.zeros(0, np.float32)
        return np.exp(y.astype(np.float64) * sigma + mu)

    def predict_labelled(self, data, *, stations=None, device=None, checkpoint=None,
                         cache_path=None, batch_size=256):
        """Per-record Vs30 of a folder of labelled records, from cached windows (evaluation).

        The same windows as :meth:`predict` makes (the checkpoint's ``test_shifts`` and
        ``test_p_centred``), cut out of one cached wider window per record
        (:func:`~.data.load_windows`, :func:`~.data.crop_windows`); a record's value is the
        median of its windows' ln Vs30.

        Parameters
        ----------
        data : str or Path
            Folder of labelled records (as :func:`~.data.load_windows`).
        stations : list of str, optional
            Only these stations' records.

        Returns
        -------
        (WindowSet, numpy.ndarray)
            The records (labels, stations, files) and their predicted Vs30 (m/s).
        """
        from obspy_gen.plugins.cnn_lstm.data import crop_windows, load_windows
        _, arch, _, _, _ = self.load(checkpoint, device)
        sr = arch.sampling_rate
        margin = int(round(max(abs(v) for v in arch.test_shifts) * sr))
        ws = load_windows(data, window=arch.window + 2 * margin / sr, sampling_rate=sr,
                          centre=arch.centre, cache_path=cache_path)
        if stations is not None:
            ws = ws.subset(ws.indices(stations))
        windows, owner = [], []
        for v in arch.test_shifts:
            windows.append(crop_windows(ws.data, arch.samples, margin + int(round(v * sr))))
            owner.append(np.arange(len(ws)))
        if arch.test_p_centred and arch.centre != "p_arrival":
            wp = load_windows(data, window=arch.window, sampling_rate=sr, centre="p_arrival",
                              cache_path=cache_path)
            where = {f: i for i, f in enumerate(wp.files)}
            rows = [(k, where[f]) for k, f in enumerate(ws.files)
                    if f in where and wp.centre[where[f]] == "p_arrival"]
            if rows:
                windows.append(wp.data[[j for _, j in rows]])
                owner.append(np.array([k for k, _ in rows]))
        per_window = self.predict_windows(np.concatenate(windows), device=device,
                                          checkpoint=checkpoint, batch_size=batch_size)
        return ws, aggregate_windows(per_window, np.concatenate(owner))

    def predict(self, records, *, device=None, checkpoint=None, centre=None,
                batch_size=256) -> Vs30Result:
        """Vs30 of ONE station from its records (median of the per-record predictions).

        Parameters
        ----------
        records : obspy.Stream or list of obspy.Stream
            Records of one station (acceleration; split with :func:`obspy_gen.split_records`).
        device : str, optional
            ``"cuda"``, ``"cpu"``... (default CUDA when present).
        checkpoint : str, optional
            Shipped name or path (default ``cnn-lstm-synthetic``).
        centre : {"pga", "p_arrival"}, optional
            Override the checkpoint's window centre (not advised: the network was trained
            on the other).
        batch_size : int
            Windows per forward pass.

        Returns
        -------
        Vs30Result
            ``vs30`` (median), ``nehrp_class``, ``per_record``, ``spread`` (std of ln),
            ``n_records``/``n_skipped``, ``notes`` (padding, P fallbacks, skipped records).

        Raises
        ------
        ValueError
            Records of several stations, or no usable record (one line with the reasons).
        """
        station, recs = self.one_station(records)
        _, arch, _, _, cfg = self.load(checkpoint, device)
        use = centre or arch.centre
        windows, owner, notes, problems = [], [], [], []
        n_used = 0
        for rec in recs:
            try:
                ws = record_windows(rec, arch, use)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            owner += [n_used] * len(ws)
            n_used += 1
            for w in ws:
                windows.append(w.data)
            notes.extend(ws[0].notes)
        if not windows:
            raise ValueError(f"{station}: no usable record ({'; '.join(problems[:3])})")
        for line in _summarise(notes):
            warnings.warn(line)
        per_window = self.predict_windows(np.stack(windows), device=device,
                                          checkpoint=checkpoint, batch_size=batch_size)
        values = aggregate_windows(per_window, owner)
        return Vs30Result.from_values(station, values, PLUGIN, len(recs), notes + [
            f"skipped: {p}" for p in problems],
            {"checkpoint": str(self.resolve(checkpoint or self._checkpoint).name),
             "centre": use, "ps_channel": arch.ps_channel,
             "synthetic_training": cfg.get("training", {}).get("synthetic")})


def record_windows(record, arch, centre=None) -> list:
    """The windows the model reads from one record (the checkpoint's prediction settings).

    One window per shift in ``arch.test_shifts`` around ``centre`` (default the model's),
    plus a P-centred one when ``arch.test_p_centred`` and a P arrival is known (labels or
    picker) and the windows are not P-centred already.

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.plugins.cnn_lstm.config import CNNLSTMConfig
    >>> arch = CNNLSTMConfig(window=5.0, test_shifts=(-1, 0, 1), test_p_centred=True)
    >>> [w.centre for w in record_windows(read(), arch)]
    ['pga', 'pga', 'pga', 'p_arrival']
    """
    from obspy_gen.plugins.cnn_lstm.windows import make_window
    use = centre or arch.centre
    pick = arch.ps_channel or use == "p_arrival" or arch.test_p_centred
    kw = dict(window=arch.window, sampling_rate=arch.sampling_rate, pick=pick)
    out = [make_window(record, centre=use, shift=s, **kw) for s in arch.test_shifts]
    if arch.test_p_centred and use != "p_arrival" and out[0].p is not None:
        w = make_window(record, centre="p_arrival", **kw)
        if w.centre == "p_arrival":
            out.append(w)
    return out


def aggregate_windows(values, owner) -> np.ndarray:
    """Per-record Vs30: the median of ln Vs30 over each record's windows.

    ``owner[i]`` is the record (0, 1, ...) of window ``i``.

    Examples
    --------
    >>> aggregate_windows(np.array([100.0, 400.0, 200.0, 300.0]), [0, 0, 0, 1]).tolist()
    [200.0, 300.0]
    """
    values, owner = np.asarray(values, dtype=float), np.asarray(owner, dtype=int)
    return np.array([float(np.exp(np.median(np.log(values[owner == k]))))
                     for k in range(int(owner.max()) + 1 if len(owner) else 0)])


def _summarise(notes) -> list:
    """One warning per kind of note (padding, fallback), not one per record."""
    kinds = {}
    for n in notes:
        kind = "padded" if "zero-padded" in n else "fallback" if "PGA" in n else "other"
        kinds.setdefault(kind, []).append(n)
    out = []
    for kind, items in kinds.items():
        more = f" (and {len(items) - 1} more record(s))" if len(items) > 1 else ""
        out.append(items[0] + more)
    return out


def clear_cache() -> None:
    """Forget loaded checkpoints.

    Examples
    --------
    >>> clear_cache()
    """
    clear_loaded()


__all__ = ["CNNLSTMPredictor", "clear_cache", "record_windows", "aggregate_windows"]

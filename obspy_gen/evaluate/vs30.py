"""Vs30 prediction errors per NEHRP class, as the CNN-LSTM paper's Table II, with intervals.

The unit is the station (as in the paper's Table II, whose counts are stations): a station's
prediction is compared with its measured (or simulated) Vs30 as an absolute percentage error
``APE = 100 |pred - true| / true``; a class's score is the mean APE (MAPE) of its stations,
classed by their TRUE Vs30. The 95 % interval is a percentile bootstrap over the stations of
the class (``n_boot`` resamples, seeded). The trivial baseline is the training-median Vs30
(:func:`median_baseline`).

Examples
--------
>>> table = mape_by_class([300.0, 500.0, 800.0], [330.0, 450.0, 800.0], n_boot=200)
>>> table["D"]["n"], round(table["D"]["mape"], 1), round(table["all"]["mape"], 2)
(1, 10.0, 6.67)
"""
from __future__ import annotations

import numpy as np

from obspy_gen.api import nehrp_class

#: Row order of the tables.
CLASSES = ("A", "B", "C", "D", "E")


def ape(true, pred) -> np.ndarray:
    """Absolute percentage errors ``100 |pred - true| / true``.

    Examples
    --------
    >>> ape([200.0, 400.0], [220.0, 300.0]).tolist()
    [10.0, 25.0]
    """
    true, pred = np.asarray(true, float), np.asarray(pred, float)
    if true.shape != pred.shape:
        raise ValueError(f"true {true.shape} and pred {pred.shape} differ in shape")
    if np.any(~(true > 0)):
        raise ValueError("true Vs30 values must be positive")
    return 100.0 * np.abs(pred - true) / true


def _interval(values, n_boot, rng, level=0.95):
    if len(values) == 0:
        return float("nan"), float("nan")
    if len(values) == 1:
        return float(values[0]), float(values[0])
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def mape_by_class(true, pred, *, n_boot=2000, seed=0, level=0.95) -> dict:
    """MAPE (percent) per NEHRP class of the true Vs30 and overall, with bootstrap intervals.

    Parameters
    ----------
    true, pred : array_like
        One value per station (m/s).
    n_boot : int
        Bootstrap resamples of the stations (per class, and over all stations).
    seed : int
    level : float
        Interval coverage.

    Returns
    -------
    dict
        ``{"B": {"n", "mape", "lo", "hi", "median_ape"}, ..., "all": {...}}`` (classes with
        stations only).
    """
    errors = ape(true, pred)
    classes = np.array([nehrp_class(v) for v in np.asarray(true, float)])
    rng = np.random.default_rng(seed)
    out = {}
    for cls in CLASSES + ("all",):
        e = errors if cls == "all" else errors[classes == cls]
        if len(e) == 0:
            continue
        lo, hi = _interval(e, n_boot, rng, level)
        out[cls] = {"n": int(len(e)), "mape": float(e.mean()), "lo": lo, "hi": hi,
                    "median_ape": float(np.median(e))}
    return out


def paired_difference(true, pred_a, pred_b, *, n_boot=2000, seed=0, level=0.95) -> dict:
    """MAPE(b) - MAPE(a) per class with a paired bootstrap interval (positive: a is better).

    Examples
    --------
    >>> d = paired_difference([300.0, 310.0], [300.0, 310.0], [330.0, 341.0], n_boot=100)
    >>> round(d["D"]["diff"], 1), d["D"]["lo"] > 0
    (10.0, True)
    """
    ea, eb = ape(true, pred_a), ape(true, pred_b)
    classes = np.array([nehrp_class(v) for v in np.asarray(true, float)])
    rng = np.random.default_rng(seed)
    out = {}
    for cls in CLASSES + ("all",):
        m = np.ones(len(ea), bool) if cls == "all" else classes == cls
        if not m.any():
            continue
        d = eb[m] - ea[m]
        lo, hi = _interval(d, n_boot, rng, level)
        out[cls] = {"n": int(m.sum()), "diff": float(d.mean()), "lo": lo, "hi": hi}
    return out


def median_baseline(train_vs30) -> float:
    """The trivial predictor: the median Vs30 of the training stations.

    Examples
    --------
    >>> median_baseline([200.0, 300.0, 900.0])
    300.0
    """
    v = np.asarray(train_vs30, float)
    if v.size == 0:
        raise ValueError("no training Vs30 values")
    return float(np.median(v))


def table_markdown(tables: dict, classes=("B", "C", "D", "E", "all")) -> str:
    """A Markdown table: one row per method, one column per class, ``MAPE [lo, hi] (n)``.

    Examples
    --------
    >>> t = {"demo": mape_by_class([300.0, 800.0], [330.0, 800.0], n_boot=10)}
    >>> print(table_markdown(t, classes=("D", "all")))
    | method | D | all |
    |---|---|---|
    | demo | 10.0 % [10.0, 10.0] (n=1) | 5.0 % [0.0, 10.0] (n=2) |
    """
    head = "| method | " + " | ".join(classes) + " |"
    lines = [head, "|" + "---|" * (len(classes) + 1)]
    for name, table in tables.items():
        cells = []
        for cls in classes:
            r = table.get(cls)
            cells.append("-" if r is None else
                         f"{r['mape']:.1f} % [{r['lo']:.1f}, {r['hi']:.1f}] (n={r['n']})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["ape", "mape_by_class", "paired_difference", "median_baseline", "table_markdown",
           "CLASSES"]

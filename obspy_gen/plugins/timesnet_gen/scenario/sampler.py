"""Drawing one record of a scenario, and the spectral calibration of the sampler (numpy +
the network; torch is imported inside the functions that run it).

One record (:func:`draw_record`): a latent code from the Gaussian of the PGA-aligned codes of
the ``k`` training records nearest the scenario (:func:`prior_pool`), decoded with the
scenario's features, re-standardised over the recorded span of its lead record, shaped by the
spectral correction (:func:`apply_correction`), and scaled to the amplitude model's
per-channel standard deviation.

The correction removes what the sampler gets wrong on average: averaging aligned codes and
decoding them leaves a spectrum flatter than the records' at low frequencies (a M 4.5
record then has several times the simulator's Sa(3 s)). :func:`calibrate` draws one record
for every training record of the latent source (from its neighbours, itself excluded), takes
the difference of their band-averaged log Fourier spectra (shape only: both standardised)
and regresses it on the scenario regressors (:func:`~.features.design`); generation divides
that predicted difference out with a zero-phase filter.
"""
from __future__ import annotations

import numpy as np

from obspy_gen.plugins.timesnet_gen.sampling import LatentPool
from obspy_gen.plugins.timesnet_gen.scenario.features import design

#: Centres (Hz) of the bands of the spectral correction.
BANDS = np.geomspace(0.2, 25.0, 15)
#: Relative weights of the standardised features in the nearest-record search
#: (magnitude, ln R_hyp, ln depth, ln Vs30).
WEIGHTS = np.array([2.0, 2.0, 0.5, 1.0])


def prior_pool(pool, scaler, raw, latent_stride, k=8, station_index=None, own=False,
               exclude=None) -> LatentPool:
    """The latent pool of the ``k`` records of ``pool`` nearest the scenario ``raw``.

    With ``own`` and a ``station_index``, only that station's records are candidates (when it
    has at least 3); ``exclude`` (a row or an array of rows) leaves records out (calibration).

    Examples
    --------
    >>> from obspy_gen.plugins.timesnet_gen.scenario.features import FeatureScaler
    >>> raw = np.array([[4.0, 2.0, 2.0, 6.0], [6.0, 3.0, 2.0, 6.0], [7.0, 4.0, 2.0, 6.0]])
    >>> pool = {"codes": np.zeros((3, 1, 4)), "mean": np.zeros((3, 3)), "std": np.ones((3, 3)),
    ...         "onset": np.zeros(3), "extent": np.array([[0, 40]] * 3), "raw": raw,
    ...         "station": np.zeros(3, int)}
    >>> sc = FeatureScaler([5.0, 3.0, 2.0, 6.0], [1.0, 1.0, 1.0, 1.0])
    >>> p = prior_pool(pool, sc, [6.2, 3.0, 2.0, 6.0], 10, k=1)
    >>> p.n_records, float(p.std[0, 0])
    (1, 1.0)
    """
    cand = np.arange(len(pool["codes"]))
    if exclude is not None:
        cand = cand[~np.isin(cand, np.asarray(exclude, dtype=int).ravel())]
    if own and station_index is not None:
        mine = cand[np.asarray(pool["station"])[cand] == station_index]
        if len(mine) >= 3:
            cand = mine
    w = WEIGHTS.copy()
    if own and station_index is not None:
        w[3] = 0.0
    zc = scaler(np.asarray(pool["raw"])[cand])
    zq = scaler(np.asarray(raw, dtype=np.float64).reshape(1, -1))
    d = np.sqrt((((zc - zq) ** 2) * w).sum(axis=1))
    pick = cand[np.argsort(d, kind="stable")[:max(1, min(int(k), len(cand)))]]
    return LatentPool("scenario", pool["codes"][pick], pool["mean"][pick], pool["std"][pick],
                      onset=pool["onset"][pick], latent_stride=latent_stride, anchor="pga",
                      extent=pool["extent"][pick])


def _standardise(data, lo, hi):
    part = data[:, lo:hi]
    return (data - part.mean(axis=1, keepdims=True)) / np.maximum(
        part.std(axis=1, keepdims=True), 1e-12)


def spectral_shape(data, fs, bands=BANDS) -> np.ndarray:
    """Band-averaged log Fourier amplitude of the horizontals (rows 0, 1) of ``data`` (3, n)
    divided by their RMS: the spectral shape, (len(bands),).

    Examples
    --------
    >>> t = np.arange(4000) / 100.0
    >>> x = np.stack([np.sin(2 * np.pi * 5 * t)] * 3)
    >>> s = spectral_shape(x, 100.0)
    >>> int(np.argmax(s)) == int(np.argmin(abs(BANDS - 5)))
    True
    """
    x = np.asarray(data, dtype=np.float64)[:2]
    x = x / np.maximum(np.sqrt((x ** 2).mean(axis=1, keepdims=True)), 1e-30)
    f = np.fft.rfftfreq(x.shape[1], 1.0 / fs)
    amp = np.abs(np.fft.rfft(x, axis=1)).mean(axis=0) / np.sqrt(x.shape[1])
    edges = np.sqrt(bands[:-1] * bands[1:])
    lo = np.concatenate([[bands[0] ** 2 / edges[0]], edges])
    hi = np.concatenate([edges, [bands[-1] ** 2 / edges[-1]]])
    out = np.empty(len(bands))
    for i, (a, b) in enumerate(zip(lo, hi)):
        sel = (f >= a) & (f < b)
        out[i] = np.log(np.sqrt(np.mean(amp[sel] ** 2)) + 1e-12) if sel.any() else 0.0
    return out


def apply_correction(data, fs, gain_ln, bands=BANDS) -> np.ndarray:
    """Zero-phase filter of ``data`` (c, n) with gain ``exp(gain_ln)`` at the band centres
    (interpolated in log frequency, held beyond the ends).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(3, 1000))
    >>> bool(np.allclose(apply_correction(x, 100.0, np.zeros(len(BANDS))), x))
    True
    """
    x = np.asarray(data, dtype=np.float64)
    f = np.fft.rfftfreq(x.shape[1], 1.0 / fs)
    g = np.interp(np.log(np.maximum(f, bands[0] / 10)), np.log(bands), gain_ln)
    return np.fft.irfft(np.fft.rfft(x, axis=1) * np.exp(g), n=x.shape[1], axis=1)


def decode(model, code, z, device=None) -> np.ndarray:
    """The network's standardised output (3, seq_len) for one code and feature vector."""
    import torch
    dev = device if device is not None else next(model.parameters()).device
    with torch.no_grad():
        y = model.decode(torch.from_numpy(np.asarray(code, np.float32)[None]).to(dev), None,
                         None, torch.tensor(np.asarray(z, np.float32).reshape(1, -1),
                                            device=dev), normalised=True)
    return y[0].double().cpu().numpy()


def draw_record(model, prior: LatentPool, z, std, rng, *, noise_scale=1.0, correction=None,
                fs=100.0, trim=True, psa_gain=None) -> tuple:
    """One record (3, n) in physical units and its lead position in ``prior``.

    ``z``: standardised features (4,); ``std``: per-channel amplitude (3,); ``correction``:
    ln gains at :data:`BANDS` (or None); ``psa_gain``: ``(frequencies Hz ascending, ln
    gains)`` of the lnPSA correction (:mod:`~.psa`), applied to the scaled record (or None).
    """
    code, _, _, lead = prior.draw(rng, 1, noise_scale, "covariance", "prior",
                                  return_lead=True)
    data = decode(model, code, z)
    lo, hi = (int(v) for v in prior.extent[lead])
    data = _standardise(data, lo, hi)
    if correction is not None:
        data = _standardise(apply_correction(data, fs, correction), lo, hi)
    data = data * np.asarray(std, dtype=np.float64)[:, None]
    if psa_gain is not None:
        data = apply_correction(data, fs, np.asarray(psa_gain[1]), np.asarray(psa_gain[0]))
    return (data[:, lo:hi] if trim else data), lead


def scenario_record(model, prior: LatentPool, z, amplitude, rng, *, station=None,
                    scatter=1.0, noise_scale=1.0, correction=None, psa_gain=None, fs=100.0,
                    trim=True, baseline="quadratic", site_scatter="total") -> tuple:
    """One generated record of a scenario, as the generator makes it: ``(data (3, n) m/s**2,
    high-pass corner or None)``.

    The amplitude (per-channel std) is drawn from ``amplitude``
    (:meth:`~.features.AmplitudeModel.sample`, with the ``station`` term when it has one and
    ``site_scatter`` for a station it does not know), the waveform by :func:`draw_record`, then
    the baseline correction ``baseline``
    (:func:`~obspy_gen.plugins.timesnet_gen.baseline.process`).
    """
    from obspy_gen.plugins.timesnet_gen.baseline import process
    zz = np.asarray(z, dtype=np.float64).reshape(1, -1)
    std = np.exp(amplitude.sample(zz, rng, station, scatter, site_scatter=site_scatter)[0])
    data, _ = draw_record(model, prior, zz[0], std, rng, noise_scale=noise_scale,
                          correction=correction, fs=fs, trim=trim, psa_gain=psa_gain)
    return process(data, 1.0 / fs, baseline)


def calibrate(model, pool, scaler, windows, *, k=8, noise_scale=1.0, seed=0, draws=2,
              fs=100.0) -> dict:
    """The spectral correction of the sampler (module docstring).

    Parameters
    ----------
    model : ScenarioTimesNetGen
    pool : dict
        The latent source (``codes``, ``onset``, ``extent``, ``raw``...).
    scaler : FeatureScaler
    windows : numpy.ndarray (n, 3, seq_len)
        The standardised model windows of the pool's records (in pool order).

    Returns
    -------
    dict
        ``bands`` (Hz), ``coef`` (regressors x bands: the predicted ln(generated / training)
        shape), ``rms_before``/``rms_after`` (RMS of the differences over records and bands,
        without and with the correction, in sample).
    """
    n = len(pool["codes"])
    z_all = scaler(np.asarray(pool["raw"]))
    diffs = []
    rows = []
    stride = int(model.config.latent_stride)
    for i in range(n):
        prior = prior_pool(pool, scaler, pool["raw"][i], stride, k, exclude=i)
        lo, hi = (int(v) for v in pool["extent"][i])
        true = spectral_shape(windows[i][:, lo:hi], fs)
        for d in range(draws):
            rng = np.random.default_rng([int(seed), i, d])
            data, _ = draw_record(model, prior, z_all[i], np.ones(3), rng,
                                  noise_scale=noise_scale, fs=fs)
            diffs.append(spectral_shape(data, fs) - true)
            rows.append(z_all[i])
    diffs, x = np.asarray(diffs), design(np.asarray(rows))
    coef = np.linalg.solve(x.T @ x + 1e-3 * np.eye(x.shape[1]), x.T @ diffs)
    resid = diffs - x @ coef
    return {"bands": BANDS.tolist(), "coef": coef.tolist(),
            "rms_before": float(np.sqrt((diffs ** 2).mean())),
            "rms_after": float(np.sqrt((resid ** 2).mean())),
            "mean_before": diffs.mean(axis=0).round(4).tolist(), "draws": int(draws),
            "k": int(k), "noise_scale": float(noise_scale)}


def correction_for(calibration, z) -> np.ndarray | None:
    """ln gains at the bands for standardised features ``z`` (minus the predicted
    difference), or None without a calibration."""
    if not calibration:
        return None
    return -(design(np.asarray(z).reshape(1, -1)) @ np.asarray(calibration["coef"]))[0]


__all__ = ["BANDS", "WEIGHTS", "prior_pool", "spectral_shape", "apply_correction", "decode",
           "draw_record", "scenario_record", "calibrate", "correction_for"]

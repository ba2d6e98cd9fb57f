"""The decoder's band gain at a station: measured on its records, divided out of new ones.

A decoder that reconstructs a station's records to a small relative error can still be
biased in a band: the shipped default gives back the vertical at 20-30 Hz weaker than the
horizontals (ln ratio record/reconstruction about +0.35-0.55 on Z, 0-0.35 on N and E), so
the reconstructions' ln H/V at 16-25 Hz is 0.09-0.17 above the records' at four of the five
paper stations (40 held-out records each; 0205: -0.03), and a record generated from the
station's codes carries the same bias (it goes through the same decoder).

When a pool is encoded, each record is decoded again (as for its fidelity corner) and
:func:`band_log_ratio` measures, per channel and third-octave band, the ln ratio of the
record's Fourier amplitude to its reconstruction's. The pool keeps these ratios; the median
over its records is the station's *decoder gain* correction, which :func:`apply_band_gain`
applies to every generated record (a zero-phase filter whose ln gain is interpolated in log
frequency between the band centres). Below the crossover a record's low band is its own
(ratio ~0), so the correction acts where the network does.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> real = rng.standard_normal((3, 4000))
>>> spec = np.fft.rfft(real)
>>> f = np.fft.rfftfreq(4000, 0.01)
>>> recon = np.fft.irfft(spec * np.where(f > 10, 0.5, 1.0), 4000)   # loses half above 10 Hz
>>> ratio = band_log_ratio(real, recon, 0.01)
>>> bool(np.allclose(ratio[:, BAND_CENTRES > 14], np.log(2), atol=0.02))
True
>>> fixed = apply_band_gain(recon, ratio, 0.01)
>>> err = np.abs(np.fft.rfft(fixed))[:, f > 14].mean() / np.abs(spec)[:, f > 14].mean() - 1
>>> bool(abs(err) < 0.03)
True
"""
from __future__ import annotations

import warnings

import numpy as np

#: Centres (Hz) of the third-octave bands in which the gain is measured: 0.1-40 Hz.
BAND_CENTRES = 2.0 ** (np.arange(-10, 17) / 3.0)
#: Largest correction (ln units either way): a band whose ratio is larger is not a bias of
#: the decoder but a record it could not reconstruct at all.
MAX_LN_GAIN = 1.0


def _band_power(x, dt):
    """(C, bands) mean Fourier power of ``x`` (C, n) per band of :data:`BAND_CENTRES`; NaN
    where a band holds no frequency bin."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    f = np.fft.rfftfreq(x.shape[-1], dt)
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    out = np.full((x.shape[0], len(BAND_CENTRES)), np.nan)
    half = 2.0 ** (1.0 / 6.0)
    for b, fc in enumerate(BAND_CENTRES):
        sel = (f >= fc / half) & (f < fc * half)
        if sel.any():
            out[:, b] = power[:, sel].mean(axis=-1)
    return out


def band_log_ratio(record, reconstruction, dt: float):
    """ln ratio (C, bands) of a record's band amplitude to its reconstruction's.

    Parameters
    ----------
    record, reconstruction : array (C, n)
        The same span of the record and of the model's reconstruction (physical units).
    dt : float
        Sampling interval (s).

    Returns
    -------
    numpy.ndarray (C, len(BAND_CENTRES))
        NaN in bands without a frequency bin or without energy.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((1, 2000))
    >>> round(float(band_log_ratio(x, 0.5 * x, 0.01)[0, -1]), 3)
    0.693
    """
    a, b = _band_power(record, dt), _band_power(reconstruction, dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * np.log(a / b)
    out[~np.isfinite(out)] = np.nan
    return out


def station_gain(ratios):
    """The station's correction (C, bands): the median over records of their
    :func:`band_log_ratio` (n, C, bands), 0 where no record has a value, clipped to
    :data:`MAX_LN_GAIN`.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[[0.1, np.nan]], [[0.3, np.nan]], [[5.0, np.nan]]])
    >>> station_gain(r).tolist()
    [[0.3, 0.0]]
    """
    r = np.asarray(ratios, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bands without any value
        med = np.nanmedian(r, axis=0)
    return np.clip(np.nan_to_num(med, nan=0.0), -MAX_LN_GAIN, MAX_LN_GAIN)


def apply_band_gain(data, gain_ln, dt: float):
    """``data`` (C, n) filtered (zero phase) by the ln gains ``gain_ln`` (C, bands), linear in
    log frequency between :data:`BAND_CENTRES` and constant beyond them.

    The record is zero-padded to twice its length first, so the filter does not wrap its end
    onto its start.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).standard_normal((2, 1000))
    >>> bool(np.allclose(apply_band_gain(x, np.zeros((2, len(BAND_CENTRES))), 0.01), x))
    True
    >>> y = apply_band_gain(x, np.full((2, len(BAND_CENTRES)), np.log(2.0)), 0.01)
    >>> bool(np.allclose(y, 2 * x))
    True
    """
    x = np.atleast_2d(np.asarray(data, dtype=np.float64))
    g = np.asarray(gain_ln, dtype=np.float64).reshape(x.shape[0], len(BAND_CENTRES))
    n = x.shape[-1]
    f = np.fft.rfftfreq(2 * n, dt)
    logf = np.log(np.maximum(f, BAND_CENTRES[0] * 1e-3))
    gains = np.exp(np.stack([np.interp(logf, np.log(BAND_CENTRES), row) for row in g]))
    return np.fft.irfft(np.fft.rfft(x, 2 * n, axis=-1) * gains, 2 * n, axis=-1)[:, :n]


#: Lowest band centre (Hz) that :func:`shape_bands` shapes: above the crossover (4 Hz in the
#: shipped model) and its seam, where a generated record is the decoder's band alone.
SHAPE_ABOVE = 5.0
#: Largest ln gain :func:`shape_bands` applies in one band.
MAX_SHAPE_GAIN = 1.5


def band_log_amplitude(record, dt: float):
    """ln RMS Fourier amplitude (C, bands) of ``record`` (C, n) per band of
    :data:`BAND_CENTRES`, per sample (``0.5 ln(mean power / n)``: a record's level, not its
    length); NaN where a band holds no frequency bin.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(4).standard_normal((1, 8000))
    >>> a = band_log_amplitude(x, 0.01)
    >>> bool(np.allclose(a[0, BAND_CENTRES > 2], 0.0, atol=0.2))   # white noise of unit std
    True
    """
    x = np.atleast_2d(np.asarray(record, dtype=np.float64))
    with np.errstate(divide="ignore"):
        out = 0.5 * np.log(_band_power(x, dt) / x.shape[-1])
    out[~np.isfinite(out)] = np.nan
    return out


def shape_bands(record, target, dt: float, unit: float = 1.0, above: float = SHAPE_ABOVE,
                span=None):
    """``record`` (C, n) filtered (zero phase, :func:`apply_band_gain`) so that its
    :func:`band_log_amplitude` in units of ``unit`` is ``target`` (C, bands) in the bands
    centred at ``above`` Hz and higher; lower bands (and NaN targets) keep a gain of 1, the
    gain ramps in log frequency between them; at most :data:`MAX_SHAPE_GAIN` either way
    (two passes: the gains are interpolated between band centres). ``span``, ``(first, one
    past last)`` sample: measure the amplitudes there only (the part of the record that will
    be kept; default: all of it) and filter the whole record.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(5).standard_normal((2, 6000))
    >>> target = np.full((2, len(BAND_CENTRES)), np.log(2.0))   # twice the level
    >>> y = shape_bands(x, target, 0.01)
    >>> a, b = band_log_amplitude(x, 0.01), band_log_amplitude(y, 0.01)
    >>> hi, lo = BAND_CENTRES >= 8, (BAND_CENTRES > 0.5) & (BAND_CENTRES < 3)
    >>> bool(np.allclose(b[:, hi], np.log(2.0), atol=0.05))
    True
    >>> bool(np.allclose(a[:, lo], b[:, lo], atol=0.02))        # below the shaped bands
    True
    """
    x = np.atleast_2d(np.asarray(record, dtype=np.float64))
    target = np.asarray(target, dtype=np.float64)
    total = np.zeros_like(target)
    for _ in range(2):  # gains interpolated between centres: a second pass closes the rest
        y = x if not total.any() else apply_band_gain(x, total, dt)
        part = y if span is None else y[:, int(span[0]):int(span[1])]
        have = band_log_amplitude(part / max(float(unit), 1e-300), dt)
        step = np.nan_to_num(target - have, nan=0.0)
        step[:, BAND_CENTRES < above] = 0.0
        total = np.clip(total + step, -MAX_SHAPE_GAIN, MAX_SHAPE_GAIN)
    return apply_band_gain(x, total, dt)

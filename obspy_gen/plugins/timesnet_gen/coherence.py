"""Cross-component coherence of a record: measured on a station's records, restored in new ones.

In an earthquake record the vertical shares much of its wavefield with the horizontals: the
same source, the same arrivals, converted and scattered energy. Per third-octave band, the
share of the vertical's energy that a linear combination of N and E (one complex coefficient
each, constant across the band) explains -- the multiple coherence of Z on (N, E) -- is 0.7-0.9
at 0.5-4 Hz in the paper stations' records and falls to 0.2-0.3 at 20 Hz. A generated record
that combines many records (the prior's weighted sum) loses it: the records' verticals relate
to their horizontals each by its own transfer function, and a sum of them is related to the sum
of the horizontals by none (2020, shipped default: 0.25-0.55 at 1.4-3.6 Hz against 0.73-0.86).
Where it is lost, the vertical's spectral ripple no longer follows the horizontals', the H/V
curve of a single record is rougher than a real one's, and its chance troughs make spurious
"clear" peaks.

:func:`band_coherence` measures it (corrected for the bias of fitting two coefficients to
``m`` frequency bins); a pool keeps each record's, and :func:`restore_coherence` gives a
generated record the station's median: in each band the vertical's part explained by the
horizontals is scaled up and the rest down, keeping the band's energy. N and E are untouched.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> n, e, own = rng.standard_normal((3, 6000))
>>> record = np.stack([n, e, 0.5 * n + 0.5 * e + own])     # half of Z's energy from N, E
>>> c = band_coherence(record, 0.01)
>>> bool(abs(np.nanmedian(c) - 1 / 3) < 0.05)
True
>>> fixed = restore_coherence(record, np.full_like(c, 0.8), 0.01)
>>> bool(abs(np.nanmedian(band_coherence(fixed, 0.01)) - 0.8) < 0.05)
True
"""
from __future__ import annotations

import numpy as np

from .calibration import BAND_CENTRES
from .sampling import envelope_width, moving_log_rms

#: Fewest frequency bins a band needs for its coherence (fewer: NaN; at 60 s the 0.1-0.3 Hz
#: bands). With ``m`` bins two fitted coefficients explain ``2/m`` of pure noise.
MIN_BINS = 8
#: Largest factor either part of the vertical is scaled by in one band.
MAX_SCALE = 4.0
_HALF_BAND = 2.0 ** (1.0 / 6.0)
#: Frequency (Hz) above which :func:`restore_coherence` keeps the vertical's envelope (1-s
#: RMS windows, :data:`~.sampling.ENVELOPE_WINDOW`; below, the smooth gain would lower the
#: coherence it just restored: at 0.5-1 Hz 0.87 -> 0.80 at 2020 with the whole vertical).
ENVELOPE_ABOVE = 1.0
#: Rounds of :func:`restore_coherence`: the re-mixing, then the vertical's envelope put back.
#: Putting the envelope back scales the incoherent P wave up again and lowers the coherence
#: just restored: after one round the shipped default's records had 0.59-0.78 at 1.6-4 Hz for
#: a target of 0.65-0.81 at 2020 (60 records); after two, within 0.04 of it. 300 records per
#: station, the same seeds: 2020's share of f0 off by 2x 0.130 -> 0.100 (records off only
#: with one round: 11, only with two: 2), 1716 0.043 -> 0.030, the others unchanged.
ROUNDS = 2


def _band_fits(spectra, freq):
    """Per band of :data:`BAND_CENTRES`: ``(bins, R^2, (c_N, c_E))`` of the least-squares fit
    of Z on (N, E) over the band's bins, or ``None`` (too few bins, no energy)."""
    out = []
    for fc in BAND_CENTRES:
        sel = (freq >= fc / _HALF_BAND) & (freq < fc * _HALF_BAND)
        m = int(sel.sum())
        z = spectra[2, sel]
        total = float(np.sum(np.abs(z) ** 2))
        if m < MIN_BINS or not total > 0:
            out.append(None)
            continue
        a = spectra[:2, sel].T
        coef = np.linalg.lstsq(a, z, rcond=None)[0]
        r2 = 1.0 - float(np.sum(np.abs(z - a @ coef) ** 2)) / total
        out.append((m, min(max(r2, 0.0), 1.0), coef))
    return out


def band_coherence(record, dt: float) -> np.ndarray:
    """Multiple coherence of Z on (N, E) per third-octave band of :data:`BAND_CENTRES`.

    Parameters
    ----------
    record : array (3, n)
        N, E, Z (any common unit).
    dt : float
        Sampling interval (s).

    Returns
    -------
    numpy.ndarray (len(BAND_CENTRES),)
        The share of Z's energy in each band that one complex coefficient per horizontal
        explains, corrected for the fit's bias (``(R^2 - 2/m) / (1 - 2/m)`` over ``m`` bins,
        clipped to 0-1): about 0 for independent channels, 1 for a vertical that is a filtered
        horizontal. NaN where a band has fewer than :data:`MIN_BINS` bins or no energy.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).standard_normal((3, 6000))
    >>> bool(np.nanmax(band_coherence(x, 0.01)) < 0.15)      # independent channels
    True
    >>> x[2] = 0.3 * x[0] - x[1]
    >>> bool(np.nanmin(band_coherence(x, 0.01)) > 0.99)
    True
    """
    x = np.asarray(record, dtype=np.float64)
    spectra = np.fft.rfft(x, axis=-1)
    out = np.full(len(BAND_CENTRES), np.nan)
    for b, fit in enumerate(_band_fits(spectra, np.fft.rfftfreq(x.shape[-1], dt))):
        if fit is not None:
            m, r2, _ = fit
            bias = 2.0 / m
            out[b] = min(max((r2 - bias) / (1.0 - bias), 0.0), 1.0)
    return out


def station_coherence(values) -> np.ndarray:
    """The station's target (bands,): the median over records of their
    :func:`band_coherence` (n, bands); NaN where no record has a value.

    Examples
    --------
    >>> import numpy as np
    >>> station_coherence([[0.2, np.nan], [0.6, np.nan], [0.9, np.nan]]).tolist()
    [0.6, nan]
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape[-1], np.nan)
    has = np.isfinite(v).any(axis=0)
    out[has] = np.nanmedian(v[:, has], axis=0)
    return out


def _above(x, dt, corner):
    """The part of ``x`` (1-D) above ``corner`` Hz (a sharp zero-phase split)."""
    f = np.fft.rfftfreq(x.size, dt)
    return np.fft.irfft(np.fft.rfft(x) * (f >= corner), x.size)


def _keep_envelope(new, old, dt):
    """``new`` (1-D) whose band above :data:`ENVELOPE_ABOVE` gets the envelope (1-s RMS,
    a smooth gain of at most e either way) of ``old``'s; below it ``new`` is unchanged."""
    width = envelope_width(1.0 / dt)
    high_new, high_old = _above(new, dt, ENVELOPE_ABOVE), _above(old, dt, ENVELOPE_ABOVE)
    every = np.arange(new.size)
    gain = np.clip(moving_log_rms(high_old ** 2, width, every)
                   - moving_log_rms(high_new ** 2, width, every), -1.0, 1.0)
    gain = np.convolve(np.pad(gain, width, mode="edge"), np.ones(width) / width,
                       mode="same")[width:-width]
    return new - high_new + _above(high_new * np.exp(gain), dt, ENVELOPE_ABOVE)


def restore_coherence(record, target, dt: float, passes: int = 2,
                      keep_envelope: bool = True, rounds: int = ROUNDS) -> np.ndarray:
    """``record`` (3, n: N, E, Z) with its vertical re-mixed to the coherence ``target``.

    In each band of :data:`BAND_CENTRES` with a target and enough bins, Z is split into its
    least-squares fit on (N, E) and the rest (orthogonal to it); the fit is scaled by
    ``g = sqrt(T / R^2)`` and the rest by ``h = sqrt((1 - T) / (1 - R^2))`` (each at most
    :data:`MAX_SCALE` either way), so the band keeps its energy and Z's coherence becomes
    ``T`` (the target with the fit's bias added back, as :func:`band_coherence` measures it).
    ``g``, ``h`` and the coefficients are interpolated in log frequency between the band
    centres and applied to the spectrum of the record zero-padded to twice its length (a
    smooth, short filter on N, E and Z; nothing wraps from the end to the start); exact at
    the centres only, so it is done ``passes`` times. N and E are returned unchanged.

    Parameters
    ----------
    record : array (3, n)
    target : array (len(BAND_CENTRES),)
        Coherence per band (0-1); NaN: leave the band as it is.
    dt : float
        Sampling interval (s).
    passes : int
        Times the re-mixing is done (each measures anew).
    keep_envelope : bool
        Give the new vertical the old one's envelope afterwards (1-s RMS, smooth gain). The
        re-mixing scales the part of Z the horizontals do not explain alike at all times; in a
        record that part is mostly the P wave, before the S wave reaches the horizontals, and
        without this the generated verticals' P waves came out weaker (2020, 60 records:
        5 %-energy time to the peak 1.0 -> 0.8 s against 2.3 s in records).
    rounds : int
        Times the re-mixing (``passes`` passes) and the envelope (with ``keep_envelope``, the
        original vertical's) are done in turn (:data:`ROUNDS`): the envelope lowers the
        coherence the re-mixing restored, a second round brings it back to the target.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> x = rng.standard_normal((3, 6000))
    >>> x[2] += 0.4 * x[0] + 0.4 * x[1]                     # coherence 0.24
    >>> y = restore_coherence(x, np.full(len(BAND_CENTRES), 0.6), 0.01)
    >>> bool(np.allclose(y[:2], x[:2])), round(float(np.nanmedian(band_coherence(y, 0.01))), 1)
    (True, 0.6)
    >>> ratio = np.sum(y[2] ** 2) / np.sum(x[2] ** 2)       # the vertical keeps its energy
    >>> bool(abs(ratio - 1) < 0.05)
    True
    """
    x = np.asarray(record, dtype=np.float64)
    out = x.copy()
    target = np.asarray(target, dtype=np.float64).reshape(len(BAND_CENTRES))
    for _ in range(max(int(rounds), 1) if keep_envelope else 1):
        for _ in range(passes):
            out = _restore_once(out, target, dt)
        if keep_envelope:
            out[2] = _keep_envelope(out[2], x[2], dt)
    return out


def _restore_once(x, target, dt):
    """One pass of :func:`restore_coherence` (its gains and coefficients, interpolated
    between band centres, are exact at the centres only: a second pass closes most of the
    rest)."""
    n = x.shape[-1]
    nb = len(BAND_CENTRES)
    g, h = np.ones(nb), np.ones(nb)
    coef = np.zeros((2, nb), dtype=complex)
    fits = _band_fits(np.fft.rfft(x, axis=-1), np.fft.rfftfreq(n, dt))
    for b, fit in enumerate(fits):
        if fit is None or not np.isfinite(target[b]):
            continue
        m, r2, c = fit
        if not 0.0 < r2 < 1.0:
            continue
        bias = 2.0 / m
        want = min(max(target[b], 0.0), 1.0) * (1.0 - bias) + bias
        g[b] = np.clip(np.sqrt(want / r2), 1.0 / MAX_SCALE, MAX_SCALE)
        h[b] = np.clip(np.sqrt((1.0 - want) / (1.0 - r2)), 1.0 / MAX_SCALE, MAX_SCALE)
        coef[:, b] = c
    if np.all(g == 1.0) and np.all(h == 1.0):
        return x.copy()
    freq = np.fft.rfftfreq(2 * n, dt)
    logf = np.log(np.maximum(freq, BAND_CENTRES[0] * 1e-3))
    centres = np.log(BAND_CENTRES)

    def smooth(v):
        return np.interp(logf, centres, v)

    spectra = np.fft.rfft(x, 2 * n, axis=-1)
    fit = ((smooth(coef[0].real) + 1j * smooth(coef[0].imag)) * spectra[0]
           + (smooth(coef[1].real) + 1j * smooth(coef[1].imag)) * spectra[1])
    gain, rest = smooth(g), smooth(h)
    out = x.copy()
    out[2] = np.fft.irfft(rest * spectra[2] + (gain - rest) * fit, 2 * n)[:n]
    return out

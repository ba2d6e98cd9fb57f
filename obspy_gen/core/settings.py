"""HVSR settings: one frozen, validated dataclass, serialised into every result, and presets."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

#: Horizontal combinations, named and defined as in hvsrpy 2 (applied to |FFT| amplitudes).
COMBINATIONS = ("squared_average", "geometric_mean", "arithmetic_mean",
                "total_horizontal_energy", "maximum_horizontal_value", "single_azimuth",
                "rotd50")
SMOOTHINGS = ("konno_ohmachi", "log_gaussian", None)
F0_RULES = ("highest_peak", "lowest_clear_peak", "argmax")
#: ``nfft`` value meaning "FFT length = window length" (no zero-padding), as Geopsy.
NFFT_WINDOW = "window"


class _DefaultFmax(float):
    """The class default of ``fmax``: tells "not given" from an explicit ``fmax=25``."""
# hvsrpy's aliases, accepted on input and stored under the canonical name.
_COMBINE_ALIASES = {"quadratic_mean": "squared_average", "root_mean_square": "squared_average",
                    "effective_amplitude_spectrum": "squared_average",
                    "vector_summation": "total_horizontal_energy", "rotdpp": "rotd50"}


@dataclass(frozen=True)
class HVSRSettings:
    """Settings of an HVSR computation (keyword names are the same in Python, CLI and JSON).

    Parameters
    ----------
    window_length : float or None
        Window length in seconds; ``None`` or 0 uses the whole record as one window (the usual
        choice for earthquake records). Windows follow hvsrpy: ``int(window_length * fs) + 1``
        samples, consecutive windows sharing their boundary sample when ``overlap`` is 0.
    overlap : float
        Fraction of a window shared with the next, 0 <= overlap < 1. Default 0.
    detrend : {"linear", "constant", None}
        Detrend of each window before tapering. Default ``"linear"``.
    taper : float
        Tukey window alpha, the total tapered fraction (0.1 = 5 % at each end), as hvsrpy and
        :func:`scipy.signal.windows.tukey`. Default 0.1.
    highpass : float or None
        Corner in Hz of a 2nd-order Butterworth high-pass applied forwards and backwards
        (zero phase) to each detrended, tapered window after zero-padding to ``nfft`` (padding
        first, as Boore 2005 recommends for acausal filters). Default None (no filter).
    smoothing : {"konno_ohmachi", "log_gaussian", None}
        Spectral smoothing onto the output frequencies: Konno-Ohmachi (main lobe, as Geopsy and
        hvsrpy), or the Gaussian in log frequency ``exp(-b ln^2(f/fc))`` of the TimesNet-Gen
        authors' evaluation code; ``None`` interpolates the raw spectra (linear) onto them.
        Default ``"konno_ohmachi"``.
    bandwidth : float
        Smoothing bandwidth b (of either window). Default 40.
    fmin, fmax : float
        Range of the log-spaced output frequencies in Hz. Defaults 0.2 and 25. ``fmax`` may be
        up to and including the Nyquist frequency of the data (as in hvsrpy); above it is an
        error when the user gave ``fmax``, while an ``fmax`` that comes from a preset or from
        the class default is lowered to the Nyquist frequency of the records, with a note in
        the result (:attr:`HVSRResult.notes <obspy_gen.core.hvsr.HVSRResult>`).
    nfreq : int
        Number of output frequencies. Default 256.
    spacing : {"log", "linear"}
        Spacing of the output frequencies. Default ``"log"``.
    combine : str
        Horizontal combination, hvsrpy's names: ``"squared_average"`` (default, quadratic mean
        sqrt((N^2+E^2)/2) as in the TimesNet-Gen paper), ``"geometric_mean"``,
        ``"arithmetic_mean"``, ``"total_horizontal_energy"``, ``"maximum_horizontal_value"``,
        ``"single_azimuth"`` (time-domain projection on ``azimuth``) or ``"rotd50"`` (median over
        azimuths 0-175 degrees in 5-degree steps of the smoothed projected spectra).
    azimuth : float
        Azimuth in degrees from north for ``single_azimuth``. Default 0.
    f0_range : (float, float) or None
        Band in Hz in which f0 is searched; ``None`` = (fmin, fmax).
    f0_rule : {"highest_peak", "lowest_clear_peak", "argmax"}
        How f0 is picked on a curve inside the band: the highest local maximum (hvsrpy's
        rule, default); the lowest *clear* local maximum (the TimesNet-Gen paper's "lowest clear
        resonance peak"; clear = SESAME's (2004) clarity criteria i-iii -- A0 > 2 and the curve
        falls below A0/2 somewhere in (f0/4, f0) and in (f0, 4 f0) -- and a prominence of at
        least A0/2, see :func:`obspy_gen.core.hvsr.is_clear_peak`; and at least 0.7 times the
        highest peak, so that ripples of single records do not count; falls back to the highest
        peak when no peak qualifies); or the plain maximum of the curve in the band (the
        TimesNet-Gen authors' code).
    nfft : int, "window" or None
        FFT length; ``None`` follows hvsrpy: the next power of two > the window length, at
        least 2**15 (finer frequency sampling for the smoother to average over);
        ``"window"``: the window length itself, no zero-padding (Geopsy); an integer: that
        length (at least the window length).

    Examples
    --------
    >>> s = HVSRSettings(window_length=60, combine="geometric_mean")
    >>> s.f0_band
    (0.2, 25.0)
    >>> HVSRSettings.from_dict(s.to_dict()) == s
    True
    >>> HVSRSettings(combine="median")
    Traceback (most recent call last):
    ...
    ValueError: combine='median' is not one of squared_average, geometric_mean, ...
    """

    window_length: float | None = None
    overlap: float = 0.0
    detrend: str | None = "linear"
    taper: float = 0.1
    highpass: float | None = None
    smoothing: str | None = "konno_ohmachi"
    bandwidth: float = 40.0
    fmin: float = 0.2
    fmax: float = _DefaultFmax(25.0)
    nfreq: int = 256
    spacing: str = "log"
    combine: str = "squared_average"
    azimuth: float = 0.0
    f0_range: tuple | None = None
    f0_rule: str = "highest_peak"
    nfft: int | str | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        # Where fmax came from (not a field: not compared, not serialised): None = given by
        # the user; otherwise a description ("the default", "preset 'geopsy'"), and then an
        # fmax above the records' Nyquist frequency is lowered to it (see for_nyquist).
        if type(self.fmax) is _DefaultFmax:
            set_("fmax", float(self.fmax))
            set_("_fmax_from", "the default settings")
        else:
            set_("_fmax_from", None)
        if self.window_length in (0, 0.0):
            set_("window_length", None)
        if self.window_length is not None and not self.window_length > 0:
            raise ValueError(f"window_length={self.window_length!r} must be > 0 s or None")
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap={self.overlap!r} must be in [0, 1)")
        if self.detrend in ("none", "None", ""):
            set_("detrend", None)
        if self.detrend not in ("linear", "constant", None):
            raise ValueError(f"detrend={self.detrend!r} is not one of linear, constant, None")
        if not 0 <= self.taper <= 1:
            raise ValueError(f"taper={self.taper!r} must be in [0, 1]")
        smoothing = self.smoothing
        if isinstance(smoothing, str):
            smoothing = smoothing.lower().replace("-", "_")
            smoothing = None if smoothing == "none" else smoothing
        set_("smoothing", smoothing)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing={self.smoothing!r} is not one of konno_ohmachi, "
                             f"log_gaussian, None")
        if self.highpass is not None and not self.highpass > 0:
            raise ValueError(f"highpass={self.highpass!r} must be > 0 Hz or None")
        if self.spacing not in ("log", "linear"):
            raise ValueError(f"spacing={self.spacing!r} is not one of log, linear")
        if self.f0_rule not in F0_RULES:
            raise ValueError(f"f0_rule={self.f0_rule!r} is not one of {', '.join(F0_RULES)}")
        if not self.bandwidth > 0:
            raise ValueError(f"bandwidth={self.bandwidth!r} must be > 0")
        if not 0 < self.fmin < self.fmax:
            raise ValueError(f"need 0 < fmin < fmax, got fmin={self.fmin}, fmax={self.fmax}")
        if int(self.nfreq) != self.nfreq or self.nfreq < 3:
            raise ValueError(f"nfreq={self.nfreq!r} must be an integer >= 3")
        set_("nfreq", int(self.nfreq))
        combine = _COMBINE_ALIASES.get(self.combine, self.combine)
        if combine not in COMBINATIONS:
            raise ValueError(f"combine={self.combine!r} is not one of {', '.join(COMBINATIONS)}")
        set_("combine", combine)
        if self.f0_range is not None:
            lo, hi = (float(v) for v in self.f0_range)
            if not 0 < lo < hi:
                raise ValueError(f"f0_range={self.f0_range!r} must be (low, high) with "
                                 f"0 < low < high")
            if hi < self.fmin or lo > self.fmax:
                raise ValueError(f"f0_range={self.f0_range!r} lies outside fmin..fmax "
                                 f"({self.fmin}..{self.fmax} Hz)")
            set_("f0_range", (lo, hi))
        if isinstance(self.nfft, str):
            if self.nfft.strip().lower() in ("none", ""):
                set_("nfft", None)
            elif self.nfft.strip().lower() == NFFT_WINDOW:
                set_("nfft", NFFT_WINDOW)
            else:
                try:
                    set_("nfft", int(self.nfft))
                except ValueError:
                    raise ValueError(f"nfft={self.nfft!r} must be an integer >= 8, "
                                     f"'{NFFT_WINDOW}' or None") from None
        if self.nfft is not None and self.nfft != NFFT_WINDOW:
            if isinstance(self.nfft, bool) or int(self.nfft) != self.nfft or self.nfft < 8:
                raise ValueError(f"nfft={self.nfft!r} must be an integer >= 8, "
                                 f"'{NFFT_WINDOW}' or None")
            set_("nfft", int(self.nfft))

    @property
    def fmax_adjustable(self) -> bool:
        """Whether ``fmax`` came from a preset or the default (not typed by the user).

        Such an ``fmax`` is lowered to the records' Nyquist frequency when above it.

        Examples
        --------
        >>> PRESETS["hvsrpy-default"].fmax_adjustable, HVSRSettings().fmax_adjustable
        (True, True)
        >>> HVSRSettings(fmax=50).fmax_adjustable
        False
        >>> PRESETS["hvsrpy-default"].replace(fmax=50).fmax_adjustable
        False
        """
        return self._fmax_from is not None

    def for_nyquist(self, nyquist: float, label: str = "records"):
        """These settings for data of Nyquist frequency ``nyquist``, and a note if changed.

        ``fmax`` up to and including the Nyquist frequency is kept. Above it, an ``fmax`` from a
        preset or the default is lowered to the Nyquist frequency (the note says so); an
        ``fmax`` the user gave is an error.

        Parameters
        ----------
        nyquist : float
            Nyquist frequency in Hz (the lowest of the records that are processed together).
        label : str
            Names the data in messages.

        Returns
        -------
        settings : HVSRSettings
        note : str or None

        Raises
        ------
        ValueError
            ``fmax`` given explicitly above the Nyquist frequency, or a lowered ``fmax`` no
            longer above ``fmin`` / below ``f0_range``.

        Examples
        --------
        >>> s, note = PRESETS["hvsrpy-default"].for_nyquist(25.0)
        >>> s.fmax, note
        (25.0, "fmax=50.0 Hz of preset 'hvsrpy-default' is above the Nyquist frequency of the records (25.0 Hz): lowered to 25.0 Hz")
        >>> HVSRSettings(fmax=40).for_nyquist(40.0)[1] is None    # fmax = Nyquist is fine
        True
        >>> HVSRSettings(fmax=50).for_nyquist(40.0)
        Traceback (most recent call last):
        ...
        ValueError: records: fmax=50.0 Hz is above the Nyquist frequency (40.0 Hz); give fmax <= 40.0
        """
        if self.fmax <= nyquist:
            return self, None
        if not self.fmax_adjustable:
            raise ValueError(f"{label}: fmax={float(self.fmax)} Hz is above the Nyquist "
                             f"frequency ({nyquist} Hz); give fmax <= {nyquist}")
        try:
            lowered = dataclasses.replace(self, fmax=float(nyquist))
        except ValueError as exc:
            raise ValueError(f"{label}: fmax={float(self.fmax)} Hz of {self._fmax_from} is "
                             f"above the Nyquist frequency ({nyquist} Hz) and cannot be "
                             f"lowered to it: {exc}") from None
        object.__setattr__(lowered, "_fmax_from", self._fmax_from)
        return lowered, (f"fmax={float(self.fmax)} Hz of {self._fmax_from} is above the "
                         f"Nyquist frequency of the {label} ({nyquist} Hz): lowered to "
                         f"{nyquist} Hz")

    def frequencies(self):
        """The output frequencies (Hz) these settings define.

        Examples
        --------
        >>> HVSRSettings(fmin=1, fmax=20, nfreq=4, spacing="linear").frequencies().tolist()
        [1.0, 7.333333333333333, 13.666666666666666, 20.0]
        """
        import numpy as np
        space = np.geomspace if self.spacing == "log" else np.linspace
        return space(float(self.fmin), float(self.fmax), self.nfreq)

    @property
    def f0_band(self) -> tuple:
        """The f0 search band actually used, ``f0_range`` or (fmin, fmax)."""
        return self.f0_range if self.f0_range is not None else (float(self.fmin),
                                                                float(self.fmax))

    def replace(self, **changes) -> "HVSRSettings":
        """A copy with some settings changed (validated again).

        Examples
        --------
        >>> HVSRSettings().replace(bandwidth=20).bandwidth
        20
        """
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown HVSR setting(s): {', '.join(sorted(unknown))}; known: "
                            f"{', '.join(f.name for f in dataclasses.fields(self))}")
        new = dataclasses.replace(self, **changes)
        if "fmax" not in changes:
            object.__setattr__(new, "_fmax_from", self._fmax_from)
        return new

    def to_dict(self) -> dict:
        """JSON-ready dict of all settings."""
        d = dataclasses.asdict(self)
        if d["f0_range"] is not None:
            d["f0_range"] = list(d["f0_range"])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "HVSRSettings":
        """Settings from a dict as written by :meth:`to_dict` (unknown keys are an error)."""
        return cls().replace(**{k: (tuple(v) if k == "f0_range" and v is not None else v)
                                for k, v in d.items()})


#: The f0 band of the TimesNet-Gen paper and of ``obspy-gen evaluate`` (Hz): the one place
#: this default is written.
EVALUATION_F0_RANGE = (1.0, 20.0)

#: Help text and choices of each setting, for interfaces derived from the fields (the CLI
#: flags of ``obspy-gen hvsr``): a field without an entry still gets a flag.
FIELD_INFO = {
    "window_length": {"help": "Window length in s; 0 = whole record (default: preset's)."},
    "overlap": {"help": "Window overlap, 0-1."},
    "detrend": {"choices": ("linear", "constant", None), "help": "Detrend of each window."},
    "taper": {"help": "Tukey alpha (0.1 = 5 % each end)."},
    "highpass": {"help": "Corner (Hz) of a 2nd-order zero-phase Butterworth high-pass."},
    "smoothing": {"choices": SMOOTHINGS, "help": "Spectral smoothing."},
    "bandwidth": {"help": "Smoothing bandwidth b (Konno-Ohmachi or log-Gaussian)."},
    "fmin": {"help": "Lowest output frequency, Hz."},
    "fmax": {"help": "Highest output frequency, Hz (at most the Nyquist frequency; a "
                     "preset's is lowered to it)."},
    "nfreq": {"help": "Number of output frequencies."},
    "spacing": {"choices": ("log", "linear"), "help": "Spacing of the output frequencies."},
    "combine": {"choices": COMBINATIONS, "help": "Horizontal combination (hvsrpy's names)."},
    "azimuth": {"help": "Degrees from north, for --combine single_azimuth."},
    "f0_range": {"nargs": 2, "type": float, "help": "f0 search band: LOW HIGH in Hz."},
    "f0_rule": {"choices": F0_RULES, "help": "How f0 is picked on the curve."},
    "nfft": {"type": str, "help": "FFT length: a number of samples, 'window' (the window "
                                  "itself, no zero-padding: Geopsy) or none (default: "
                                  "hvsrpy's padding)."},
}

def _preset(name, settings: HVSRSettings) -> HVSRSettings:
    """Mark a preset's fmax as the preset's (lowered to Nyquist when needed, with a note)."""
    object.__setattr__(settings, "_fmax_from", f"preset {name!r}")
    return settings


#: Named settings.
#:
#: ``default``: whole record, quadratic-mean horizontals, KO b=40 on 256 centres 0.2-25 Hz.
#: ``timesnet-gen-paper``: the TimesNet-Gen paper's text: whole record, quadratic-mean
#: horizontals (its Eq. 6), the lowest clear peak in 1-20 Hz as f0, KO smoothing b=40.
#: ``timesnet-gen-authors``: what the authors' public evaluation code does, so our numbers can
#: be set beside theirs: whole record, linear detrend, no taper, zero-padding and a 0.05-Hz
#: 2nd-order zero-phase high-pass, geometric-mean horizontals, Gaussian-in-log-frequency
#: smoothing exp(-40 ln^2(f/fc)), 400 linear points 1-20 Hz, f0 = argmax in 1-20 Hz.
#: ``hvsrpy-default``: hvsrpy 2's defaults (60-s windows, geometric mean, 200 centres
#: 0.1-50 Hz; fmax is lowered to the Nyquist frequency of slower records, with a note).
#: ``geopsy``: Geopsy's H/V as its documentation describes it: spectra at their natural
#: sampling, i.e. the FFT of the window itself (no zero-padding, ``nfft="window"``), Tukey
#: taper 5 % at each end (alpha 0.1), the horizontals merged ("squared average"
#: sqrt((N^2+E^2)/2)) before smoothing, classic Konno-Ohmachi b=40 (main lobe; Geopsy 2.x's
#: default -- Geopsy 3 defaults to a "log-log" variant that averages log amplitudes), 100
#: log-spaced output frequencies 0.5-50 Hz (lowered to Nyquist when needed); windows are the
#: whole record (earthquake records; set ``window_length`` for noise).
PRESETS = {
    "default": _preset("default", HVSRSettings()),
    "timesnet-gen-paper": _preset("timesnet-gen-paper", HVSRSettings(
        window_length=None, combine="squared_average", fmin=0.5, fmax=25.0, nfreq=256,
        f0_range=EVALUATION_F0_RANGE, f0_rule="lowest_clear_peak")),
    "timesnet-gen-authors": _preset("timesnet-gen-authors", HVSRSettings(
        window_length=None, detrend="linear", taper=0.0, highpass=0.05,
        combine="geometric_mean", smoothing="log_gaussian", bandwidth=40.0, fmin=1.0,
        fmax=20.0, nfreq=400, spacing="linear", f0_range=EVALUATION_F0_RANGE,
        f0_rule="argmax")),
    "hvsrpy-default": _preset("hvsrpy-default", HVSRSettings(
        window_length=60.0, combine="geometric_mean", fmin=0.1, fmax=50.0, nfreq=200)),
    "geopsy": _preset("geopsy", HVSRSettings(
        window_length=None, detrend="linear", taper=0.1, smoothing="konno_ohmachi",
        bandwidth=40.0, combine="squared_average", fmin=0.5, fmax=50.0, nfreq=100,
        nfft=NFFT_WINDOW)),
}


def resolve_settings(settings=None, preset: str | None = None, **overrides) -> HVSRSettings:
    """Settings from a preset name or an :class:`HVSRSettings`, with keyword overrides.

    Examples
    --------
    >>> resolve_settings(preset="timesnet-gen-paper", bandwidth=30).f0_range
    (1.0, 20.0)
    """
    if settings is not None and preset is not None:
        raise TypeError("give either settings or preset, not both")
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        settings = PRESETS[preset]
    if settings is None:
        settings = PRESETS["default"]
    if isinstance(settings, dict):
        settings = HVSRSettings.from_dict(settings)
    return settings.replace(**overrides) if overrides else settings

"""Site column: a 1-D layered soil profile over an elastic half-space.

The horizontal site response is the linear-elastic SH transfer function of the column computed by
`pystrata <https://github.com/arkottke/pystrata>`_ (vertically incident SH waves, outcropping
half-space -> surface). The vertical response uses the *same* pystrata calculator on a P-wave
column: for vertically incident P waves the 1-D wave equation is the SH one with the P-wave
velocity and constrained modulus in place of Vs and G, so we hand pystrata the layers' Vp as its
"shear velocity" rather than re-deriving the Haskell-Thomson matrices. Soils have a higher Vp/Vs
than rock, so the P column resonates at a higher frequency with a weaker impedance contrast: the
H/V ratio of simulated records then peaks at the SH fundamental frequency, as observed.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from obspy_gen.api import nehrp_class

#: Default Poisson's ratio of soil layers (Vp/Vs = 2.45) and of the half-space (Vp/Vs = 1.73).
#: Saturated soft soils reach 0.45-0.49; 0.40 is a middle value for mixed profiles.
SOIL_POISSON = 0.40
ROCK_POISSON = 0.25

# Physical bounds for input checks; outside them a value is almost surely a unit mistake.
_VS_RANGE = (30.0, 5000.0)           # m/s
_DENSITY_RANGE = (1000.0, 3500.0)    # kg/m^3
_DAMPING_RANGE = (0.0, 0.3)          # fraction of critical


def vp_from_vs(vs: float, poisson: float) -> float:
    """P-wave velocity from Vs and Poisson's ratio, ``vs * sqrt((2 - 2 nu) / (1 - 2 nu))``.

    Examples
    --------
    >>> round(vp_from_vs(1000.0, 0.25), 1)
    1732.1
    """
    if not 0.0 <= poisson < 0.5:
        raise ValueError(f"Poisson's ratio must be in [0, 0.5), got {poisson}")
    return vs * math.sqrt((2.0 - 2.0 * poisson) / (1.0 - 2.0 * poisson))


@dataclass(frozen=True)
class Layer:
    """One layer of a soil column (or the half-space, whose ``thickness`` is ``inf``).

    Parameters
    ----------
    thickness : float
        Thickness in m (``math.inf`` for the half-space).
    vs : float
        Shear-wave velocity in m/s.
    density : float
        Mass density in kg/m^3 (soils 1500-2100, rock 2200-2700).
    damping : float
        Small-strain damping ratio (fraction, e.g. 0.02 = 2 %).
    vp : float, optional
        P-wave velocity in m/s; ``None`` = from Vs with :data:`SOIL_POISSON` (layers) or
        :data:`ROCK_POISSON` (half-space).

    Examples
    --------
    >>> Layer(20.0, 200.0, 1800.0, 0.02).vs
    200.0
    """

    thickness: float
    vs: float
    density: float = 1900.0
    damping: float = 0.02
    vp: float | None = None

    @property
    def is_halfspace(self) -> bool:
        """True for the infinite bottom layer."""
        return math.isinf(self.thickness)


def _check_layer(layer: Layer, what: str) -> None:
    # One line per problem, naming the layer: users edit profile files by hand.
    for name, value in (("thickness", layer.thickness), ("vs", layer.vs),
                        ("density", layer.density), ("damping", layer.damping)):
        if not isinstance(value, (int, float, np.floating, np.integer)) or math.isnan(value):
            raise ValueError(f"{what}: {name} must be a number, got {value!r}")
    if not layer.is_halfspace and not (0.0 < layer.thickness < 10000.0):
        raise ValueError(f"{what}: thickness must be in (0, 10000) m, got {layer.thickness}")
    if not _VS_RANGE[0] <= layer.vs <= _VS_RANGE[1]:
        raise ValueError(f"{what}: vs must be in [{_VS_RANGE[0]:g}, {_VS_RANGE[1]:g}] m/s, "
                         f"got {layer.vs}")
    if not _DENSITY_RANGE[0] <= layer.density <= _DENSITY_RANGE[1]:
        raise ValueError(f"{what}: density must be in [{_DENSITY_RANGE[0]:g}, "
                         f"{_DENSITY_RANGE[1]:g}] kg/m^3, got {layer.density}")
    if not _DAMPING_RANGE[0] <= layer.damping <= _DAMPING_RANGE[1]:
        raise ValueError(f"{what}: damping must be a fraction in [0, 0.3], got {layer.damping}")
    if layer.vp is not None and not layer.vp > layer.vs * math.sqrt(2.0) * 0.999:
        # vp/vs >= sqrt(2) is Poisson's ratio >= 0: anything lower is not an elastic solid.
        raise ValueError(f"{what}: vp must exceed sqrt(2) * vs = {layer.vs * math.sqrt(2):.0f} "
                         f"m/s, got {layer.vp}")


def _as_layer(item, what: str, halfspace: bool, tuple_has_thickness: bool = True) -> Layer:
    if isinstance(item, Layer):
        layer = item
    elif isinstance(item, dict):
        keys = {"thickness", "vs", "density", "damping", "vp"}
        unknown = set(item) - keys
        if unknown:
            raise ValueError(f"{what}: unknown keys {sorted(unknown)}; use {sorted(keys)}")
        d = dict(item)
        if halfspace:
            d["thickness"] = math.inf
        try:
            layer = Layer(**{k: (None if v is None else float(v)) for k, v in d.items()})
        except TypeError as exc:
            raise ValueError(f"{what}: {exc}") from None
    else:
        vals = list(item)
        if not tuple_has_thickness:
            # A separate half-space tuple is (vs, density, damping[, vp]): it has no thickness.
            if len(vals) not in (3, 4):
                raise ValueError(f"{what}: expected (vs, density, damping[, vp]), "
                                 f"got {tuple(item)!r}")
            vals = [math.inf] + vals
        elif halfspace and len(vals) in (4, 5):
            try:
                thick = float(vals[0])
            except (TypeError, ValueError):
                thick = None
            if thick not in (0.0, math.inf):
                raise ValueError(f"{what}: the last layer is the half-space; give its thickness "
                                 f"as 0 or inf, got {vals[0]!r}")
            vals = [math.inf] + vals[1:]
        if len(vals) not in (4, 5):
            raise ValueError(f"{what}: expected (thickness_m, vs, density, damping[, vp]), "
                             f"got {tuple(item)!r}")
        try:
            vals = [None if v is None else float(v) for v in vals]
        except (TypeError, ValueError):
            raise ValueError(f"{what}: values must be numbers, got {tuple(item)!r}") from None
        layer = Layer(*vals)
    if halfspace and not layer.is_halfspace:
        layer = Layer(math.inf, layer.vs, layer.density, layer.damping, layer.vp)
    _check_layer(layer, what)
    return layer


@dataclass(frozen=True)
class SoilProfile:
    """A layered soil column over an elastic half-space.

    Parameters
    ----------
    layers : sequence
        Soil layers from the surface down: :class:`Layer`, dicts, or tuples
        ``(thickness_m, vs_m_per_s, density_kg_m3, damping_fraction[, vp])``. If ``halfspace`` is
        omitted, the last entry is the half-space (its thickness is ignored; give 0 or inf).
    halfspace : tuple, dict or Layer, optional
        Half-space ``(vs, density, damping[, vp])``.
    name : str, optional
        A label (e.g. the station code).

    Raises
    ------
    ValueError
        A value is non-physical (negative thickness, Vs outside 30-5000 m/s, density outside
        1000-3500 kg/m^3, damping outside 0-0.3, Vp < sqrt(2) Vs); the message names the layer.

    Examples
    --------
    One 20 m layer of 200 m/s over 800 m/s rock: the quarter-wavelength frequency is
    Vs / 4H = 2.5 Hz and the damped SH transfer function peaks just below it:

    >>> p = SoilProfile([(20, 200, 1800, 0.05)], halfspace=(800, 2200, 0.01))
    >>> p.quarter_wavelength_f0
    2.5
    >>> round(p.f0, 2)
    2.47
    >>> round(p.vs30), p.nehrp_class
    (267, 'D')
    """

    layers: tuple = ()
    halfspace: Layer | tuple | None = None
    name: str = field(default="", compare=False)

    def __post_init__(self):
        items = list(self.layers)
        hs = self.halfspace
        separate = hs is not None
        if hs is None:
            if not items:
                raise ValueError("soil profile: needs at least a half-space")
            hs = items.pop()
        layers = tuple(_as_layer(it, f"soil profile layer {i + 1}", False)
                       for i, it in enumerate(items))
        for i, layer in enumerate(layers):
            if layer.is_halfspace:
                raise ValueError(f"soil profile layer {i + 1}: only the last layer may be the "
                                 f"half-space (infinite thickness)")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "halfspace", _as_layer(hs, "soil profile half-space", True,
                                                        tuple_has_thickness=not separate))

    # -- derived properties ------------------------------------------------------------------
    @property
    def thickness(self) -> float:
        """Total soil thickness above the half-space (m).

        Examples
        --------
        >>> SoilProfile([(5, 200, 1800, .02), (10, 400, 1900, .02)], (900, 2200, .01)).thickness
        15.0
        """
        return float(sum(layer.thickness for layer in self.layers))

    @property
    def vs30(self) -> float:
        """Time-averaged Vs of the top 30 m, ``30 / sum(h_i / vs_i)``; the half-space fills the
        rest when the soil is thinner than 30 m.

        Examples
        --------
        >>> round(SoilProfile([(10, 200, 1800, .02)], (800, 2200, .01)).vs30, 1)
        400.0
        """
        travel, depth = 0.0, 0.0
        for layer in self.layers:
            h = min(layer.thickness, 30.0 - depth)
            travel += h / layer.vs
            depth += h
            if depth >= 30.0:
                return 30.0 / travel
        return 30.0 / (travel + (30.0 - depth) / self.halfspace.vs)

    @property
    def nehrp_class(self) -> str:
        """NEHRP site class of :attr:`vs30` (:func:`obspy_gen.api.nehrp_class`).

        Examples
        --------
        >>> SoilProfile([(30, 150, 1700, .03)], (500, 2000, .01)).nehrp_class
        'E'
        """
        return nehrp_class(self.vs30)

    @property
    def quarter_wavelength_f0(self) -> float | None:
        """``1 / (4 sum(h_i / vs_i))`` over the soil layers (Vs/4H for one layer); ``None``
        for a rock outcrop without layers.

        Examples
        --------
        >>> SoilProfile([(30, 300, 1800, .02)], (1000, 2200, .01)).quarter_wavelength_f0
        2.5
        """
        if not self.layers:
            return None
        return 1.0 / (4.0 * sum(layer.thickness / layer.vs for layer in self.layers))

    @property
    def f0(self) -> float | None:
        """Fundamental frequency (Hz): the lowest-frequency maximum of the SH transfer function
        (the global maximum for a normal profile); ``None`` without soil layers.

        Examples
        --------
        >>> round(SoilProfile([(20, 200, 1800, .05)], (800, 2200, .01)).f0, 2)
        2.47
        """
        return _profile_f0(self)

    def vp(self, layer: Layer) -> float:
        """P-wave velocity of ``layer`` (given, or from Vs and the default Poisson's ratio).

        Examples
        --------
        >>> p = SoilProfile([(10, 200, 1800, .02)], (800, 2200, .01))
        >>> round(p.vp(p.halfspace))
        1386
        """
        if layer.vp is not None:
            return layer.vp
        return vp_from_vs(layer.vs, ROCK_POISSON if layer.is_halfspace else SOIL_POISSON)

    # -- transfer functions ------------------------------------------------------------------
    def transfer_functions(self, freqs) -> tuple[np.ndarray, np.ndarray]:
        """Complex acceleration transfer functions (half-space outcrop -> surface).

        Parameters
        ----------
        freqs : array_like
            Frequencies in Hz (>= 0).

        Returns
        -------
        (sh, p) : tuple of complex ndarray
            Vertically incident SH (horizontal components) and P (vertical component) responses.
            Both are causal under numpy's FFT sign convention.

        Examples
        --------
        >>> import numpy as np
        >>> p = SoilProfile([(20, 200, 1800, .05)], (800, 2200, .01))
        >>> sh, pp = p.transfer_functions(np.array([0.0, 2.47, 6.0]))
        >>> np.round(np.abs(sh), 1)
        array([1. , 3.5, 1.1])
        """
        freqs = np.asarray(freqs, dtype=float)
        return (_pystrata_tf(self, freqs, wave="S"), _pystrata_tf(self, freqs, wave="P"))

    # -- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready dict (``layers`` + ``halfspace``), readable by :meth:`from_dict`.

        Examples
        --------
        >>> d = SoilProfile([(20, 200, 1800, .05)], (800, 2200, .01)).to_dict()
        >>> d["halfspace"]
        {'vs': 800.0, 'density': 2200.0, 'damping': 0.01}
        """
        def clean(layer, hs):
            d = {k: float(v) for k, v in asdict(layer).items() if v is not None}
            if hs:
                d.pop("thickness")
            return d
        return {"layers": [clean(layer, False) for layer in self.layers],
                "halfspace": clean(self.halfspace, True)}

    @classmethod
    def from_dict(cls, data: dict, name: str = "") -> "SoilProfile":
        """Profile from ``{"layers": [...], "halfspace": {...}}`` (as :meth:`to_dict` writes).

        Examples
        --------
        >>> SoilProfile.from_dict({"layers": [[20, 200, 1800, 0.05]],
        ...                        "halfspace": [800, 2200, 0.01]}).thickness
        20.0
        """
        if not isinstance(data, dict) or "layers" not in data or "halfspace" not in data:
            raise ValueError("soil profile: expected an object with 'layers' and 'halfspace'")
        return cls(tuple(data["layers"]), data["halfspace"], name=name)

    @classmethod
    def read(cls, path) -> "SoilProfile":
        """Read a profile from a JSON or CSV file.

        JSON: ``{"layers": [[thickness, vs, density, damping], ...], "halfspace": [vs, density,
        damping]}`` (entries may also be objects with those keys). CSV: a header row
        ``thickness,vs,density,damping`` (optional ``vp`` column), one row per layer from the
        surface down; the last row is the half-space (thickness empty, 0 or ``inf``). ``#`` starts
        a comment line.

        Raises
        ------
        ValueError
            Unreadable file or non-physical values; one line naming the file.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "site.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("thickness,vs,density,damping\\n20,200,1800,0.05\\n,800,2200,0.01\\n")
        >>> SoilProfile.read(path).quarter_wavelength_f0
        2.5
        """
        path = os.fspath(path)
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a UTF-8 text profile (byte {exc.start}: "
                             f"{exc.reason}); give a CSV or JSON file") from None
        try:
            if path.lower().endswith(".json") or text.lstrip().startswith("{"):
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
                return cls.from_dict(data, name=name)
            return cls._from_csv(text, name)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def _from_csv(cls, text: str, name: str) -> "SoilProfile":
        import csv
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        rows = list(csv.reader(lines))
        if not rows:
            raise ValueError("empty profile file")
        header = [h.strip().lower() for h in rows[0]]
        need = ["thickness", "vs", "density", "damping"]
        if not set(need) <= set(header):
            raise ValueError(f"CSV header must name {','.join(need)} (optional vp), "
                             f"got {','.join(header)}")
        layers = []
        for n, row in enumerate(rows[1:], start=2):
            rec = dict(zip(header, (c.strip() for c in row)))
            try:
                vals = {k: (float(rec[k]) if rec.get(k, "") != "" else None)
                        for k in need + ["vp"] if k in rec}
            except ValueError:
                raise ValueError(f"row {n}: values must be numbers, got {row}") from None
            layers.append(vals)
        if not layers:
            raise ValueError("no layer rows (the last row is the half-space)")
        hs = layers.pop()
        hs.pop("thickness", None)
        for n, layer in enumerate(layers, start=1):
            if layer.get("thickness") is None:
                raise ValueError(f"layer {n}: thickness is empty (only the half-space row may "
                                 f"leave it empty)")
        return cls(tuple({k: v for k, v in d.items() if v is not None} for d in layers),
                   {k: v for k, v in hs.items() if v is not None}, name=name)


def _pystrata_tf(profile: SoilProfile, freqs: np.ndarray, wave: str) -> np.ndarray:
    """pystrata linear-elastic transfer function; ``wave="P"`` feeds Vp in place of Vs."""
    import pystrata

    layers = []
    for layer in profile.layers + (profile.halfspace,):
        vel = layer.vs if wave == "S" else profile.vp(layer)
        # pystrata takes unit weight (kN/m^3) and derives density = unit_wt / g; the transfer
        # function only depends on impedance ratios, so the unit choice is immaterial.
        soil = pystrata.site.SoilType("", unit_wt=layer.density / 1000.0 * pystrata.site.GRAVITY,
                                      damping=layer.damping)
        layers.append(pystrata.site.Layer(soil, 0.0 if layer.is_halfspace else layer.thickness,
                                          vel))
    prof = pystrata.site.Profile(layers)
    motion = pystrata.motion.Motion(freqs=freqs)
    calc = pystrata.propagation.LinearElasticCalculator()
    loc_in = prof.location("outcrop", index=-1)
    calc(motion, prof, loc_in)
    tf = calc.calc_accel_tf(loc_in, prof.location("outcrop", index=0))
    return np.asarray(tf, dtype=complex)


def _profile_f0(profile: SoilProfile) -> float | None:
    if not profile.layers:
        return None
    # Coarse log grid, then the first peak that stands out, refined on a fine linear grid around
    # it. The search spans 0.02-200 Hz, which covers 1-D profiles from 1 km of soft sediment to a
    # metre of weathered rock.
    f = np.geomspace(0.02, 200.0, 2000)
    amp = np.abs(_pystrata_tf(profile, f, "S"))
    from scipy.signal import find_peaks
    peaks, _ = find_peaks(amp, prominence=0.05 * (amp.max() - 1.0) + 1e-9)
    if len(peaks) == 0:
        i = int(np.argmax(amp))
    else:
        # The fundamental mode is the lowest resonance; it is the largest unless a stiff layer
        # sits on softer ones. Take the largest of the low peaks to skip tiny wiggles.
        top = amp[peaks].max()
        i = int(next(p for p in peaks if amp[p] >= 0.5 * top))
    lo, hi = f[max(i - 2, 0)], f[min(i + 2, len(f) - 1)]
    fine = np.linspace(lo, hi, 801)
    amp_fine = np.abs(_pystrata_tf(profile, fine, "S"))
    return float(fine[int(np.argmax(amp_fine))])

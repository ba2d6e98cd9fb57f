"""Virtual stations: the paper's five (Table I) and a seeded multi-station corpus.

The five ``paper5`` stations mirror Table I of the TimesNet-Gen paper (AFAD station codes, town,
HVSR f0, number of records). Their soil columns are *invented* so that the SH transfer function of
each column peaks at the station's published f0 (thicknesses tuned with pystrata, to 1 %); they are
not the real AFAD site profiles, and the coordinates are the towns' approximate centres, not the
stations'. The corpus stations are random profiles spanning NEHRP classes B to E.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .site import SoilProfile

#: Network code of every virtual station ("SY" = synthetic, as in SEED practice).
NETWORK = "SY"
LOCATION = "00"


@dataclass(frozen=True)
class Station:
    """A virtual station: codes, place, soil column and how many records to simulate.

    Attributes
    ----------
    code : str
        Station code (at most 5 characters, as SEED allows).
    profile : SoilProfile
        Site column.
    n_records : int
        Records simulated for this station by :func:`~obspy_gen.plugins.stochastic.simulate`.
    network, location : str
        SEED network and location codes.
    latitude, longitude : float or None
        Degrees; ``None`` when unknown.
    site : str
        Place name.
    f0_target : float or None
        The f0 the profile was tuned to (Table I value for ``paper5``).

    Examples
    --------
    >>> st = get_station("4628")
    >>> st.site, st.f0_target, st.n_records, st.nehrp_class
    ('Afsin / Kahramanmaras', 1.8, 38, 'D')
    >>> round(st.f0, 2)
    1.8
    """

    code: str
    profile: SoilProfile
    n_records: int = 20
    network: str = NETWORK
    location: str = LOCATION
    latitude: float | None = None
    longitude: float | None = None
    site: str = ""
    f0_target: float | None = None
    _f0: list = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self):
        if not (isinstance(self.code, str) and 1 <= len(self.code) <= 5 and self.code.isalnum()):
            raise ValueError(f"station code must be 1-5 letters/digits, got {self.code!r}")
        if not isinstance(self.profile, SoilProfile):
            raise ValueError(f"station {self.code}: profile must be a SoilProfile")

    @property
    def id(self) -> str:
        """``NET.STA.LOC``."""
        return f"{self.network}.{self.code}.{self.location}"

    @property
    def vs30(self) -> float:
        """Vs30 of the profile (m/s)."""
        return self.profile.vs30

    @property
    def nehrp_class(self) -> str:
        """NEHRP class of :attr:`vs30`."""
        return self.profile.nehrp_class

    @property
    def f0(self) -> float | None:
        """SH fundamental frequency of the profile (Hz), computed once and cached."""
        if not self._f0:
            self._f0.append(self.profile.f0)
        return self._f0[0]

    def table_row(self) -> dict:
        """Row of the station table (``stations.csv``); ``None`` = unknown (empty cell).

        Examples
        --------
        >>> get_station("3130").table_row()["nehrp_class"]
        'C'
        """
        f0 = self.f0
        return {"network": self.network, "station": self.code, "location": self.location,
                "latitude": self.latitude, "longitude": self.longitude,
                "vs30": round(self.vs30, 1), "nehrp_class": self.nehrp_class,
                "f0": None if f0 is None else round(f0, 3),
                "f0_target": self.f0_target, "n_records": self.n_records, "site": self.site}


def _p(layers, halfspace, code):
    return SoilProfile(tuple(layers), halfspace, name=code)


#: Table I of the TimesNet-Gen paper as virtual stations. Profiles: soft-over-stiff alluvium for
#: the low-f0 sites, thin weathered layers for the high-f0 ones; layer thicknesses tuned so that
#: the pystrata SH transfer-function peak equals the published f0.
PAPER5 = (
    Station("2020", _p([(6.6, 220, 1800, 0.03), (11.0, 380, 1900, 0.02)], (1000, 2300, 0.01),
                       "2020"), 71, latitude=37.57, longitude=29.07, site="Tavas / Denizli",
            f0_target=5.1),
    Station("4628", _p([(12.5, 180, 1750, 0.03), (31.2, 320, 1850, 0.02)], (850, 2200, 0.01),
                       "4628"), 38, latitude=38.25, longitude=36.91,
            site="Afsin / Kahramanmaras", f0_target=1.8),
    Station("0205", _p([(14.4, 250, 1800, 0.03), (24.0, 420, 1900, 0.02)], (1100, 2300, 0.01),
                       "0205"), 98, latitude=37.78, longitude=38.62, site="Kahta / Adiyaman",
            f0_target=2.6),
    Station("1716", _p([(14.0, 360, 1900, 0.02)], (1200, 2400, 0.01), "1716"), 110,
            latitude=39.60, longitude=26.40, site="Ayvaci / Canakkale", f0_target=6.4),
    Station("3130", _p([(5.03, 260, 1800, 0.03)], (900, 2200, 0.01), "3130"), 31,
            latitude=36.19, longitude=36.15, site="Defne / Hatay", f0_target=12.8),
)

CATALOGS = ("paper5", "corpus")


def paper5() -> list:
    """The five Table I stations (codes 2020, 4628, 0205, 1716, 3130).

    Examples
    --------
    >>> [s.code for s in paper5()]
    ['2020', '4628', '0205', '1716', '3130']
    >>> sum(s.n_records for s in paper5())
    348
    """
    return list(PAPER5)


def get_station(code: str) -> Station:
    """A ``paper5`` station by code.

    Raises
    ------
    ValueError
        Unknown code; the message lists the known codes.

    Examples
    --------
    >>> get_station("0205").f0_target
    2.6
    >>> get_station("9999")
    Traceback (most recent call last):
    ...
    ValueError: unknown station code '9999'; known: 2020, 4628, 0205, 1716, 3130
    """
    for st in PAPER5:
        if st.code == str(code):
            return st
    known = ", ".join(s.code for s in PAPER5)
    raise ValueError(f"unknown station code {code!r}; known: {known}")


#: NEHRP classes the corpus cycles through, with (Vs30 range) targets for rejection sampling.
_CLASS_VS30 = {"B": (760.0, 1500.0), "C": (360.0, 760.0), "D": (180.0, 360.0), "E": (90.0, 180.0)}

# Turkey's bounding box: virtual corpus stations are scattered in it.
_LAT, _LON = (36.0, 42.0), (26.0, 45.0)


def random_profile(rng: np.random.Generator, nehrp: str | None = None,
                   max_tries: int = 1000) -> SoilProfile:
    """A random 1-4-layer soil column, optionally of a given NEHRP class (B, C, D or E).

    Surface Vs, total thickness and a power-law gradient with depth are drawn log-uniformly; the
    half-space is at least 1.5 times stiffer than the deepest layer (a resonant site). Densities
    and damping follow Vs (softer = lighter, more damped).

    Examples
    --------
    >>> import numpy as np
    >>> p = random_profile(np.random.default_rng(1), "E")
    >>> p.nehrp_class
    'E'
    """
    if nehrp is not None and nehrp not in _CLASS_VS30:
        raise ValueError(f"nehrp must be one of {', '.join(_CLASS_VS30)}, got {nehrp!r}")
    for _ in range(max_tries):
        if nehrp == "B":
            vs_top, total = math.exp(rng.uniform(math.log(350), math.log(750))), \
                math.exp(rng.uniform(math.log(1.5), math.log(8)))
        elif nehrp == "E":
            vs_top, total = math.exp(rng.uniform(math.log(80), math.log(170))), \
                math.exp(rng.uniform(math.log(20), math.log(200)))
        else:
            vs_top = math.exp(rng.uniform(math.log(100), math.log(600)))
            total = math.exp(rng.uniform(math.log(3), math.log(150)))
        n_layers = int(rng.integers(1, 5))
        alpha = rng.uniform(0.0, 0.35)                   # Vs ~ depth^alpha gradient
        cuts = np.sort(rng.uniform(0.0, 1.0, n_layers - 1)) if n_layers > 1 else np.array([])
        bounds = np.concatenate([[0.0], cuts, [1.0]]) * total
        thick = np.diff(bounds)
        if np.any(thick < 0.5):
            continue
        mids = 0.5 * (bounds[:-1] + bounds[1:])
        vs = vs_top * (mids / mids[0]) ** alpha
        layers = [(float(round(h, 1)), float(round(v)), _density(v), _damping(v))
                  for h, v in zip(thick, vs)]
        vs_hs = float(round(max(vs[-1] * rng.uniform(1.5, 4.0), 760.0 if nehrp == "B" else 500)))
        vs_hs = min(vs_hs, 3000.0)
        if vs_hs < 1.2 * vs[-1]:
            continue
        try:
            prof = SoilProfile(tuple(layers), (vs_hs, _density(vs_hs), 0.01))
        except ValueError:
            continue
        if nehrp is None:
            return prof
        lo, hi = _CLASS_VS30[nehrp]
        if lo < prof.vs30 <= hi:
            return prof
    raise RuntimeError(f"could not draw a class-{nehrp} profile in {max_tries} tries")


def _density(vs: float) -> float:
    # A smooth Vs-density trend (soft soil ~1650, rock ~2500 kg/m^3), after Boore (2016).
    return float(round(np.clip(1650.0 + 280.0 * math.log(vs / 150.0), 1600.0, 2600.0), -1))


def _damping(vs: float) -> float:
    # Small-strain damping falls with stiffness (~3 % for soft soil, ~1 % for rock).
    return float(round(np.clip(0.03 * (150.0 / vs) ** 0.5, 0.008, 0.04), 4))


def corpus(n_stations: int = 300, records_per_station: int = 20, seed: int = 0) -> list:
    """A seeded corpus of virtual stations with random profiles, classes B, C, D, E in turn.

    Parameters
    ----------
    n_stations : int
        Number of stations (codes ``C0001``...).
    records_per_station : int
        ``n_records`` of every station.
    seed : int
        The same seed gives the same stations.

    Examples
    --------
    >>> stations = corpus(8, 5, seed=0)
    >>> [s.nehrp_class for s in stations]
    ['B', 'C', 'D', 'E', 'B', 'C', 'D', 'E']
    >>> stations[0].code, stations[0].n_records
    ('C0001', 5)
    """
    if not (isinstance(n_stations, (int, np.integer)) and 1 <= n_stations <= 9999):
        raise ValueError(f"n_stations must be an integer in [1, 9999], got {n_stations!r}")
    if not (isinstance(records_per_station, (int, np.integer)) and records_per_station >= 1):
        raise ValueError(f"records_per_station must be a positive integer, "
                         f"got {records_per_station!r}")
    classes = list(_CLASS_VS30)
    out = []
    for i in range(n_stations):
        rng = np.random.default_rng([int(seed), i, 7])
        code = f"C{i + 1:04d}"
        prof = random_profile(rng, classes[i % len(classes)])
        prof = SoilProfile(prof.layers, prof.halfspace, name=code)
        out.append(Station(code, prof, int(records_per_station),
                           latitude=round(float(rng.uniform(*_LAT)), 4),
                           longitude=round(float(rng.uniform(*_LON)), 4),
                           site="virtual corpus station"))
    return out


def catalog(name: str, seed: int = 0, **kwargs) -> list:
    """Stations of a named catalogue: ``"paper5"`` or ``"corpus"`` (kwargs go to :func:`corpus`).

    Examples
    --------
    >>> len(catalog("paper5"))
    5
    >>> catalog("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown catalog 'nope'; use paper5 or corpus
    """
    if name == "paper5":
        if kwargs:
            raise ValueError(f"catalog 'paper5' takes no options, got {sorted(kwargs)}")
        return paper5()
    if name == "corpus":
        return corpus(seed=seed, **kwargs)
    raise ValueError(f"unknown catalog {name!r}; use {' or '.join(CATALOGS)}")

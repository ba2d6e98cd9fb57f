"""The ``stochastic`` generator plugin: simulated records as an ObsPy Stream."""
from __future__ import annotations

import os
import zlib
from collections import OrderedDict

import numpy as np
from obspy import UTCDateTime

from obspy_gen.api import GeneratedRecord, Generator, StationId, build_stream

from .catalog import LOCATION, NETWORK, Station, get_station
from .site import SoilProfile
from .synthesis import DEFAULT_NOISE, Event, _TFCache, check_sampling_rate, simulate_records

#: Channels in the order of the simulated rows (N, E, Z); "HN" = high-rate accelerometer.
CHANNELS = ("HNN", "HNE", "HNZ")

#: Start of the first record when no ``starttime`` is given (fixed, so seeded runs are identical).
DEFAULT_STARTTIME = UTCDateTime(2020, 1, 1)

#: Options :meth:`StochasticGenerator.generate` accepts besides the standard keywords and the
#: scenario conditions (magnitude, distance, depth), with their defaults.
OPTION_DEFAULTS = {"profile": None, "code": None, "sampling_rate": 100.0, "region": "wna",
                   "stress_drop": None, "b_value": 1.0, "kappa0": None, "q0": None, "eta": None,
                   "noise_level": DEFAULT_NOISE, "events": None, "starttime": None, "gap": 10.0,
                   "network": None, "location": None}
#: Every keyword name accepted besides the standard ones (options + conditions).
OPTIONS = tuple(OPTION_DEFAULTS) + ("magnitude", "distance", "depth")

#: Label keys stored in ``stats.obspy_gen`` of every trace (and in ``records.csv``).
LABELS = ("station", "magnitude", "distance", "depth", "hypo_distance", "stress_drop",
          "corner_frequency", "duration", "kappa0", "origin_time", "p_arrival", "s_arrival",
          "pga", "f0", "vs30", "nehrp_class", "region")


def station_seed(seed: int, code: str) -> int:
    """Seed of one station's records in a multi-station run: mixes ``seed`` with the code so
    stations get different event sequences; ``generate(station=code, seed=station_seed(...))``
    reproduces them.

    Examples
    --------
    >>> station_seed(0, "4628") == station_seed(0, "4628") != station_seed(0, "2020")
    True
    """
    ss = np.random.SeedSequence([int(seed), zlib.crc32(str(code).encode())])
    return int(ss.generate_state(1)[0])


def resolve_station(station, profile=None, code=None) -> Station:
    """A :class:`~.catalog.Station` from a code, a Station, a SoilProfile or a profile file.

    ``profile`` (SoilProfile, layer list or CSV/JSON path) replaces the station's column.

    Examples
    --------
    >>> resolve_station("3130").f0_target
    12.8
    >>> resolve_station(None, profile=[(20, 200, 1800, 0.05), (0, 800, 2200, 0.01)]).code
    'SITE'
    """
    prof = _as_profile(profile) if profile is not None else None
    if isinstance(station, Station):
        st = station
    elif isinstance(station, SoilProfile):
        prof = prof or station
        st = None
    elif station is None:
        if prof is None:
            raise ValueError("station is required (a code such as '4628', a Station or a "
                             "SoilProfile), or pass profile=")
        st = None
    else:
        st = get_station(str(station))
    if st is None:
        name = code or (prof.name if prof.name and len(prof.name) <= 5 and prof.name.isalnum()
                        else "SITE")
        return Station(name, prof, 20, site="user profile")
    if prof is not None:
        return Station(code or st.code, prof, st.n_records, st.network, st.location,
                       st.latitude, st.longitude, st.site + " (user profile)", None)
    if code is not None and code != st.code:
        return Station(code, st.profile, st.n_records, st.network, st.location, st.latitude,
                       st.longitude, st.site, st.f0_target)
    return st


def _as_profile(profile) -> SoilProfile:
    if isinstance(profile, SoilProfile):
        return profile
    if isinstance(profile, (str, os.PathLike)):
        return SoilProfile.read(profile)
    if isinstance(profile, dict):
        return SoilProfile.from_dict(profile)
    return SoilProfile(tuple(profile))


class StochasticGenerator(Generator):
    """Physics-based stochastic strong-motion simulator (Boore 2003 + 1-D soil column).

    Source and path spectra come from :mod:`pyrvt` (Brune omega-square source, geometric
    spreading, ``Q(f) = Q0 f^eta``, ``kappa_0``, duration), the site column's SH and P transfer
    functions from :mod:`pystrata`; windowed Gaussian noise with P and S Saragoni-Hart envelopes
    and an S coda gives the time series. Records are 3-component (HNN, HNE, HNZ) acceleration in
    m/s^2; the horizontals go through the SH response and the vertical through the weaker,
    higher-frequency P response, so the records' H/V ratio peaks at the site's f0.

    Every trace carries ``stats.obspy_gen`` with ``model="stochastic"``, ``version``, ``seed``,
    ``record`` (index in the Stream), ``synthetic=True`` and the labels :data:`LABELS`:
    ``station`` (code), ``magnitude`` (Mw), ``distance`` (epicentral, km), ``depth`` (km),
    ``hypo_distance`` (km), ``stress_drop`` (bar), ``corner_frequency`` (Hz), ``duration`` (s),
    ``kappa0`` (s), ``origin_time`` (UTCDateTime), ``p_arrival`` and ``s_arrival`` (s after the
    trace start), ``pga`` (m/s^2, larger horizontal peak of the record), ``f0`` (Hz, SH
    fundamental frequency of the column), ``vs30`` (m/s), ``nehrp_class`` and ``region``.
    ``stats.coordinates`` holds the station's latitude/longitude when known.

    Examples
    --------
    >>> st = StochasticGenerator().generate(station="4628", n=2, seed=7)
    >>> len(st), [tr.stats.channel for tr in st[:3]]
    (6, ['HNN', 'HNE', 'HNZ'])
    >>> tr = st[0]
    >>> tr.stats.sampling_rate, tr.stats.units, tr.stats.obspy_gen.synthetic
    (100.0, 'm/s**2', True)
    >>> tr.stats.obspy_gen.p_arrival < tr.stats.obspy_gen.s_arrival
    True
    >>> st[3].stats.starttime > st[0].stats.endtime
    True
    """

    name = "stochastic"
    version = "1.0.0"
    # Imported lazily inside the simulation functions; listed so the registry can report them.
    requires = ("pyrvt", "pystrata")
    conditions = ("magnitude", "distance", "depth")
    distance_kinds = ("epicentral",)
    options = OPTION_DEFAULTS

    #: Sites whose transfer functions are kept (least recently used dropped): a corpus run
    #: visits hundreds of sites once each, a Stream.generate loop revisits a few.
    TF_CACHE_SITES = 16

    def __init__(self):
        # Transfer functions per (station profile, FFT size): reused across generate() calls.
        self._tf_caches = OrderedDict()

    def generate(self, records=None, *, station=None, n=1, seed=None, device=None, **options):
        """Simulate ``n`` records at ``station``.

        Parameters
        ----------
        records : Stream or list of Stream, optional
            Not needed by a physics-based simulator; if ``station`` is None the station code of
            the first trace is used.
        station : str, Station or SoilProfile
            A ``paper5`` code (``"2020"``, ``"4628"``, ``"0205"``, ``"1716"``, ``"3130"``), a
            :class:`~obspy_gen.plugins.stochastic.catalog.Station` (e.g. from
            :func:`~obspy_gen.plugins.stochastic.catalog.corpus`), or a custom
            :class:`~obspy_gen.plugins.stochastic.site.SoilProfile`.
        n : int
            Number of records.
        seed : int, optional
            Record ``i`` is reproducible from ``(seed, i)``; ``None`` draws a seed (stored in
            ``stats.obspy_gen.seed``).
        device : ignored
            Runs on CPU (numpy).
        **options
            ``profile`` (SoilProfile, layer list or CSV/JSON path; replaces the column),
            ``code`` (station code for a custom profile), ``sampling_rate`` (Hz, default 100),
            ``region`` ("wna"/"cena"), ``magnitude``, ``distance`` (km), ``depth`` (km),
            ``stress_drop`` (bar) -- each a value or a (min, max) range --, ``b_value``,
            ``kappa0``, ``q0``, ``eta``, ``noise_level`` (m/s^2 RMS, default 5e-5),
            ``events`` (list of ``Event``), ``starttime``, ``gap`` (s between records, default
            10), ``network``, ``location``.

        Returns
        -------
        obspy.Stream
            ``3 n`` traces, record by record (HNN, HNE, HNZ).

        Raises
        ------
        ValueError
            Unknown station code (message lists the known codes), non-physical profile or event
            parameters, unsupported sampling rate.
        TypeError
            Unknown option.

        Examples
        --------
        >>> g = StochasticGenerator()
        >>> st = g.generate(station="3130", n=1, seed=1, magnitude=5.5, distance=15.0)
        >>> st[0].stats.obspy_gen.magnitude, st[0].stats.obspy_gen.nehrp_class
        (5.5, 'C')
        >>> g.generate(station="XYZ")
        Traceback (most recent call last):
        ...
        ValueError: unknown station code 'XYZ'; known: 2020, 4628, 0205, 1716, 3130
        """
        return super().generate(records, station=station, n=n, seed=seed, device=device,
                                **options)

    def generate_request(self, request):
        """Simulate the records of a validated :class:`~obspy_gen.api.GenerationRequest`."""
        options, conditions = request.options, request.conditions
        station = request.station
        if station is None and options["profile"] is None and request.records:
            station = request.records[0][0].stats.station
        if isinstance(station, StationId):
            station = station.code
        sta = resolve_station(station, options["profile"], options["code"])
        n, seed = request.n, request.seed
        sr = check_sampling_rate(options["sampling_rate"])
        region = options["region"]
        network = options["network"] or sta.network or NETWORK
        location = options["location"]
        if location is None:
            location = sta.location if sta.location is not None else LOCATION
        events = options["events"]
        if events is not None:
            events = [ev if isinstance(ev, Event) else Event(**ev) if isinstance(ev, dict)
                      else Event(*ev) for ev in events]

        key = sta.profile
        cache = self._tf_caches.pop(key, None) or _TFCache(sta.profile)
        self._tf_caches[key] = cache
        while len(self._tf_caches) > self.TF_CACHE_SITES:
            self._tf_caches.popitem(last=False)
        sims = simulate_records(
            sta.profile, n, seed, sampling_rate=sr, region=region,
            magnitude=conditions.get("magnitude"), distance=conditions.get("distance"),
            depth=conditions.get("depth"), stress_drop=options["stress_drop"],
            b_value=float(options["b_value"]), kappa0=options["kappa0"],
            q0=options["q0"], eta=options["eta"],
            noise_level=float(options["noise_level"]), events=events, tf_cache=cache)

        start = UTCDateTime(options["starttime"] or DEFAULT_STARTTIME)
        header = {}
        if sta.latitude is not None and sta.longitude is not None:
            header["coordinates"] = dict(latitude=sta.latitude, longitude=sta.longitude,
                                         elevation=0.0)
        f0, vs30, cls = sta.f0, sta.vs30, sta.nehrp_class
        recs = []
        for sim in sims:
            lab = sim.labels
            # Origin relative to this record's start (build_stream places the records).
            meta = {"station": sta.code}
            for k in LABELS[1:]:
                if k in lab:
                    meta[k] = lab[k]
            meta.update(f0=f0, vs30=vs30, nehrp_class=cls, region=region,
                        _origin_offset=lab["p_arrival"] - lab["travel_time_p"])
            recs.append(GeneratedRecord(sim.data, sr, meta, header))
        stream = build_stream(recs, model=self.name, version=self.version, seed=seed,
                              station=sta.code, network=network, location=location,
                              starttime=start, gap=options["gap"], channels=CHANNELS)
        for tr in stream:  # origin time = the record's own start + its offset
            meta = tr.stats.obspy_gen
            meta.origin_time = tr.stats.starttime + meta.pop("_origin_offset")
        return stream

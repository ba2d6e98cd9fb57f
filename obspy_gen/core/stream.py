"""``Stream.hvsr``, ``Stream.generate``, ``Stream.vs30``, ``Stream.site_metrics``.

Attached by ``import obspy_gen`` (idempotent). An attribute ObsPy itself (or another package)
already defines on Stream is never replaced.
"""
from __future__ import annotations

import warnings

from obspy import Stream

from obspy_gen import registry
from obspy_gen.core.records import split_records

#: Generator used by ``Stream.generate`` when no ``model`` is given.
DEFAULT_GENERATOR = "timesnet-gen"
#: Vs30 predictor used by ``Stream.vs30`` when no ``model`` is given.
DEFAULT_VS30 = "cnn-lstm"


def _hvsr(self, settings=None, *, preset=None, **kwargs):
    """HVSR and f0 of this Stream's records (one station); see :func:`obspy_gen.hvsr`.

    Examples
    --------
    >>> from obspy import read
    >>> import obspy_gen
    >>> read().hvsr(fmin=1, fmax=20, nfreq=64).n_windows
    1
    """
    from obspy_gen.core.hvsr import hvsr
    return hvsr(self, settings, preset=preset, **kwargs)


def _generate(self, station=None, n=1, *, model=DEFAULT_GENERATOR, seed=None, device=None,
              **options):
    """Generate ``n`` new records with a generator plugin; returns a new Stream.

    With traces in this Stream, they are the generator's zero-shot pool (records of a station it
    has not seen); an empty Stream asks for a station the model knows (``station=``).

    Parameters
    ----------
    station : str, optional
        Station the generator is conditioned on: ``"4628"``, ``"TK.4628"`` or
        ``"TK.4628.00"``.
    n : int
        Number of records.
    model : str
        Name of a plugin in the ``obspy_gen.generators`` group.
    seed : int, optional
        Seed for reproducible output.
    device : str, optional
        ``"cuda"``, ``"cpu"``, ... for torch plugins (default: CUDA when present).
    **options
        Scenario conditions the generator declares (``magnitude`` in Mw, ``distance`` in km
        with ``distance_kind``, ``depth`` in km, ``vs30`` in m/s; a value or a (min, max)
        range) and its own options; see :class:`obspy_gen.api.Generator`.

    Examples
    --------
    >>> from obspy import Stream
    >>> import obspy_gen
    >>> try:
    ...     Stream().generate(station="4628", model="no-such-model")
    ... except LookupError as exc:
    ...     print(str(exc).split(";")[0])
    no plugin 'no-such-model' in obspy_gen.generators
    """
    generator = registry.load("generators", model)
    generator.check_requirements()
    return generator().generate(self if len(self) else None, station=station, n=n, seed=seed,
                                device=device, **options)


def _vs30(self, *, model=None, device=None, **options):
    """Vs30 of the station recorded in this Stream, from a Vs30 predictor plugin.

    Parameters
    ----------
    model : str, optional
        Name of a plugin in the ``obspy_gen.vs30`` group (default :data:`DEFAULT_VS30`).
    device : str, optional
        Torch device for torch plugins.
    **options
        Passed to the plugin's ``predict``.

    Examples
    --------
    >>> from obspy import read
    >>> import obspy_gen
    >>> try:
    ...     read().vs30(model="no-such-model")
    ... except LookupError as exc:
    ...     print(str(exc).split(";")[0])
    no plugin 'no-such-model' in obspy_gen.vs30
    """
    if model is None:
        model = DEFAULT_VS30
        if model.lower() not in (m.lower() for m in registry.available("vs30")):
            installed = ", ".join(registry.available("vs30"))
            raise registry.PluginNotFoundError(
                f"the default Vs30 model {model!r} is not installed"
                + (f"; installed: {installed} (pass model=)" if installed else
                   "; no Vs30 predictor plugin (group obspy_gen.vs30) is installed"))
    predictor = registry.load("vs30", model)
    predictor.check_requirements()
    return predictor().predict(split_records(self), device=device, **options)


def _site_metrics(self, name, **settings):
    """Compute the site metric plugin ``name`` on this Stream's records.

    Examples
    --------
    >>> from obspy import read
    >>> import obspy_gen
    >>> result = read().site_metrics("hvsr", fmin=1, fmax=20, nfreq=64)
    >>> result.n_windows
    1
    """
    metric = registry.load("site_metrics", name)
    metric.check_requirements()
    return metric().compute(self, **settings)


_METHODS = {"hvsr": _hvsr, "generate": _generate, "vs30": _vs30, "site_metrics": _site_metrics}


def attach_stream_methods() -> list:
    """Attach obspy-gen's methods to :class:`obspy.Stream`; returns the names attached.

    Idempotent. A name Stream already has from elsewhere is left alone (with a warning).

    Examples
    --------
    >>> from obspy import Stream
    >>> sorted(attach_stream_methods())
    ['generate', 'hvsr', 'site_metrics', 'vs30']
    >>> Stream.hvsr.__module__
    'obspy_gen.core.stream'
    """
    attached = []
    for name, func in _METHODS.items():
        existing = getattr(Stream, name, None)
        if existing is not None and getattr(existing, "__module__", None) != __name__:
            warnings.warn(f"obspy.Stream already has {name!r} (from "
                          f"{getattr(existing, '__module__', '?')}); obspy-gen leaves it alone")
            continue
        func.__name__ = name
        setattr(Stream, name, func)
        attached.append(name)
    return attached

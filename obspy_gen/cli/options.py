"""Click options derived from a dataclass: one flag per field, so a new field needs no CLI edit.

Used for the HVSR settings (``obspy-gen hvsr``, ``evaluate``) and for every trainable plugin's
``TrainSettings`` (``obspy-gen train MODEL``).

A field's flag is ``--<name with dashes>``; its type comes from the annotation (``int``,
``float``, ``str``, ``bool`` -> ``--x/--no-x``, ``tuple``/``list`` -> repeatable, values also
comma-separated) and its help, choices and ``nargs`` from ``field.metadata`` (``"help"``,
``"choices"``, ``"nargs"``, ``"type"``) or from an ``info`` mapping given for classes whose
fields carry no metadata. Every flag defaults to None ("not given"), so the dataclass's own
defaults (or a preset) apply; :func:`collect` returns only what was given.

Examples
--------
>>> import click, dataclasses
>>> from click.testing import CliRunner
>>> @dataclasses.dataclass
... class S:
...     epochs: int = dataclasses.field(default=10, metadata={"help": "Passes."})
...     amp: str = dataclasses.field(default=None, metadata={"choices": ("bf16", "fp16")})
>>> @click.command()
... @dataclass_options(S)
... def cmd(**kw):
...     click.echo(S(**collect(S, kw)))
>>> CliRunner().invoke(cmd, ["--epochs", "3"]).output.strip()
'S(epochs=3, amp=None)'
"""
from __future__ import annotations

import dataclasses

import click

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _base_type(annotation) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__",
                                                                  str(annotation))
    parts = [p.strip() for p in text.replace("Optional[", "").rstrip("]").split("|")]
    parts = [p for p in parts if p != "None"] or ["str"]
    base = parts[0].split("[")[0]
    return base


def flag_name(name: str) -> str:
    """``window_length`` -> ``--window-length``."""
    return "--" + name.replace("_", "-")


def dataclass_options(cls, *, exclude=(), info=None):
    """Decorator adding one click option per field of dataclass ``cls``.

    Parameters
    ----------
    cls : dataclass type
    exclude : iterable of str
        Fields without a flag (e.g. handled by the command itself).
    info : dict, optional
        Field name -> dict like ``field.metadata`` (used where the field has none).
    """
    info = info or {}
    opts = []
    for f in dataclasses.fields(cls):
        if f.name in exclude or not f.init:
            continue
        meta = {**info.get(f.name, {}), **dict(f.metadata)}
        base = _base_type(f.type)
        help_text = meta.get("help", "")
        default = (f.default if f.default is not dataclasses.MISSING
                   else f.default_factory() if f.default_factory is not dataclasses.MISSING
                   else None)
        if default not in (None, (), [], "") and "default:" not in help_text:
            shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) \
                else default
            help_text = f"{help_text} [default: {shown}]".strip()
        kwargs = dict(default=None, help=help_text, show_default=False)
        if base == "bool":
            decl = f"{flag_name(f.name)}/--no-{f.name.replace('_', '-')}"
            opts.append(click.option(decl, f.name, **kwargs))
            continue
        if "choices" in meta:
            choices = [("none" if c is None else str(c)) for c in meta["choices"]]
            kwargs["type"] = click.Choice(choices)
        else:
            kwargs["type"] = meta.get("type") or _TYPES.get(base, str)
        if "nargs" in meta:
            kwargs["nargs"] = meta["nargs"]
        elif base in ("tuple", "list"):
            kwargs["multiple"] = True
            kwargs["default"] = ()
        opts.append(click.option(flag_name(f.name), f.name, **kwargs))

    def decorate(func):
        for opt in reversed(opts):
            func = opt(func)
        return func
    return decorate


def collect(cls, values: dict, *, exclude=(), info=None) -> dict:
    """The given values of ``cls``'s fields among ``values`` (click's keyword arguments).

    Repeatable options are split at commas and kept as tuples; ``"none"`` from a choice
    becomes None; options not given are left out.
    """
    info = info or {}
    out = {}
    for f in dataclasses.fields(cls):
        if f.name in exclude or f.name not in values:
            continue
        nargs = {**info.get(f.name, {}), **dict(f.metadata)}.get("nargs")
        v = values[f.name]
        if v is None or (isinstance(v, tuple) and not v and _base_type(f.type) in
                         ("tuple", "list")):
            continue
        if _base_type(f.type) in ("tuple", "list") and isinstance(v, tuple) \
                and not nargs:
            items = []
            for item in v:
                items += [c.strip() for c in str(item).split(",") if c.strip()]
            v = tuple(items)
        if v == "none":
            v = None
        out[f.name] = v
    return out


def pop_fields(cls, values: dict, *, exclude=(), info=None) -> dict:
    """Like :func:`collect`, and removes the fields' keys from ``values``."""
    out = collect(cls, values, exclude=exclude, info=info)
    for f in dataclasses.fields(cls):
        if f.name not in exclude:
            values.pop(f.name, None)
    return out


def _check_scheduler(ctx, param, value):
    from obspy_gen.batch import parse_scheduler
    try:
        parse_scheduler(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def scheduler_option(func):
    """``--scheduler`` (see :func:`obspy_gen.batch.scheduler_executor`), checked at parse
    time; every batch command takes it, and opens it with
    :func:`obspy_gen.cli.common.open_executor`.

    Examples
    --------
    >>> from click.testing import CliRunner
    >>> @click.command()
    ... @scheduler_option
    ... def cmd(scheduler):
    ...     click.echo(scheduler)
    >>> CliRunner().invoke(cmd, ["--scheduler", "processes:2"]).output.strip()
    'processes:2'
    >>> CliRunner().invoke(cmd, ["--scheduler", "cluster"]).exit_code
    2
    """
    from obspy_gen.batch import SCHEDULER_HELP
    return click.option("--scheduler", default="local", show_default=True,
                        callback=_check_scheduler, help=SCHEDULER_HELP)(func)


__all__ = ["dataclass_options", "collect", "pop_fields", "flag_name", "scheduler_option"]

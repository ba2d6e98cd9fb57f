"""Habits every command shares: input expansion, one-line errors, atomic writes, progress."""
from __future__ import annotations

import contextlib

import click

from obspy_gen.api import progress  # noqa: F401 (re-exported)
from obspy_gen.batch import NOT_RECORDS, expand_inputs  # noqa: F401 (re-exported)
from obspy_gen.io.atomic import atomic_path, atomic_savefig, atomic_write  # noqa: F401 (re-exported)


def error(where, reason) -> None:
    """Print ``obspy-gen: <where>: <reason>`` on stderr (one line)."""
    reason = " ".join(str(reason).split())
    click.echo(f"obspy-gen: {where}: {reason}", err=True)


def format_table(headers, rows) -> str:
    """Plain aligned text table.

    Examples
    --------
    >>> print(format_table(["a", "bb"], [[1, "x"]]))
    a  bb
    -  --
    1  x
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def open_executor(scheduler="local", jobs=1):
    """:func:`obspy_gen.batch.scheduler_executor` for a command: a missing Dask install or a
    scheduler that does not answer ends the command with ``obspy-gen: scheduler: <reason>``
    and exit status 1.

    Examples
    --------
    >>> with open_executor("local") as ex:
    ...     ex is None
    True
    """
    from obspy_gen.batch import scheduler_executor
    cm = scheduler_executor(scheduler, jobs)
    try:
        executor = cm.__enter__()
    except (ImportError, OSError, ValueError) as exc:
        error("scheduler", exc)
        raise SystemExit(1)
    try:
        yield executor
    except BaseException as exc:
        if not cm.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        cm.__exit__(None, None, None)

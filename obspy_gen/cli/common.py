"""Habits every command shares: input expansion, one-line errors, atomic writes, progress."""
from __future__ import annotations


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

"""Habits every command shares: input expansion, one-line errors, atomic writes, progress."""
from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import click

from obspy_gen.io.atomic import atomic_path, atomic_savefig, atomic_write  # noqa: F401 (re-exported)


def error(where, reason) -> None:
    """Print ``obspy-gen: <where>: <reason>`` on stderr (one line)."""
    reason = " ".join(str(reason).split())
    click.echo(f"obspy-gen: {where}: {reason}", err=True)


#: File suffixes skipped when a folder is expanded.
NOT_RECORDS = {".csv", ".json", ".png", ".html", ".md", ".pdf", ".py", ".pyc", ".log"}


def expand_inputs(items) -> tuple[list, list]:
    """Files named by paths, globs and directories (recursive), sorted, without duplicates.

    Returns
    -------
    files : list of str
    unmatched : list of str
        Arguments that matched nothing.

    Examples
    --------
    >>> files, unmatched = expand_inputs(["/nonexistent/*.mseed"])
    >>> files, unmatched
    ([], ['/nonexistent/*.mseed'])
    """
    files, unmatched = [], []
    for item in items:
        item = os.path.expanduser(str(item))
        if os.path.isdir(item):
            # A folder's tables, figures and notes (e.g. the stations.csv / records.csv /
            # profiles.json that `obspy-gen simulate` writes) are not records: skip them
            # quietly; files named explicitly are always tried.
            found = [str(p) for p in sorted(Path(item).rglob("*")) if p.is_file()
                     and not p.name.startswith(".") and p.suffix.lower() not in NOT_RECORDS]
        elif os.path.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
        if not found:
            unmatched.append(item)
        files.extend(found)
    return list(dict.fromkeys(files)), unmatched


def progress(iterable, quiet=False, **kwargs):
    """A tqdm bar on stderr, off when ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm
    return tqdm(iterable, disable=quiet or not sys.stderr.isatty(), file=sys.stderr,
                leave=False, **kwargs)


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

"""Habits every command shares: input expansion, one-line errors, atomic writes, progress."""
from __future__ import annotations

import glob
import os
import sys
import tempfile
from pathlib import Path

import click


def error(where, reason) -> None:
    """Print ``obspy-gen: <where>: <reason>`` on stderr (one line)."""
    reason = " ".join(str(reason).split())
    click.echo(f"obspy-gen: {where}: {reason}", err=True)


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
            found = [str(p) for p in sorted(Path(item).rglob("*")) if p.is_file()
                     and not p.name.startswith(".")]
        elif os.path.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
        if not found:
            unmatched.append(item)
        files.extend(found)
    return list(dict.fromkeys(files)), unmatched


def atomic_write(path, data) -> None:
    """Write ``data`` (str or bytes) to ``path`` via a temporary file and a rename.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> atomic_write(os.path.join(d, "a.json"), "{}")
    >>> open(os.path.join(d, "a.json")).read()
    '{}'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_savefig(fig, path, **kwargs) -> None:
    """Save a matplotlib figure atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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

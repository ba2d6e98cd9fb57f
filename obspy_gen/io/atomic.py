"""Atomic file output: write to a temporary file in the destination folder, then rename.

A reader never sees a half-written file, and a failure leaves an existing file untouched and
no temporary file behind. Every writer in obspy-gen goes through here.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


# Read once: os.umask can only be read by setting it, which would race with other threads.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Context manager yielding a temporary path that becomes ``path`` on success.

    The temporary file is in the same folder (so the rename is atomic) and keeps the suffix of
    ``path`` (writers that pick the format from the name, like matplotlib's ``savefig``, still
    work). The folder is created when missing.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(d, "x.txt")) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> os.listdir(d), open(os.path.join(d, "x.txt")).read()
    (['x.txt'], 'done')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private (0600); the result gets the usual permissions.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path, data) -> None:
    """Write ``data`` (str or bytes) to ``path`` atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> atomic_write(os.path.join(d, "a.json"), "{}")
    >>> open(os.path.join(d, "a.json")).read()
    '{}'
    """
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            Path(tmp).write_bytes(data)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)


def atomic_savefig(fig, path, **kwargs) -> None:
    """Save a matplotlib figure atomically (format from the file name's suffix)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)

"""The Sphinx site builds offline with warnings as errors (CLI reference from click included);
the tutorials' examples run as doctests through ``--doctest-glob=*.rst``."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    for mod in ("sphinx", "numpydoc", "sphinx_click"):
        pytest.importorskip(mod)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E",
                           "-b", "html", str(DOCS), str(tmp_path)],
                          capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    page = (tmp_path / "cli_reference.html").read_text()
    for command in ("hvsr", "simulate", "evaluate", "generate", "train", "plugins"):
        assert f"obspy-gen {command}" in page
    assert "--scheduler" in page and "--resume" in page
    for tutorial in ("archive", "generation", "vs30", "plugin", "cluster"):
        assert (tmp_path / "tutorials" / f"{tutorial}.html").is_file()
    assert "timesnet-gen-authors" in (tmp_path / "comparability.html").read_text()

"""Sphinx configuration for obspy-gen (``sphinx-build docs docs/_build``)."""
import os

import obspy_gen

project = "obspy-gen"
author = "the obspy-gen developers"
copyright = "2026, the obspy-gen developers (LGPL-3.0)"
release = obspy_gen.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc",
              "sphinx.ext.intersphinx", "sphinx_click"]
numpydoc_show_class_members = False
autosummary_generate = True
# Builds are offline by default (no inventory downloads); OBSPY_GEN_DOCS_ONLINE=1 links out.
intersphinx_mapping = {}
if os.environ.get("OBSPY_GEN_DOCS_ONLINE"):
    intersphinx_mapping = {"obspy": ("https://docs.obspy.org", None),
                           "numpy": ("https://numpy.org/doc/stable", None)}
html_theme = "alabaster"
exclude_patterns = ["_build"]


def _escape_help(app, ctx, lines):
    """Click help is plain text: its globs (``records/*.mseed``) are not reST emphasis."""
    for i, line in enumerate(lines):
        if not line.lstrip().startswith(".. "):
            lines[i] = line.replace("*", r"\*")


def setup(app):
    for event in ("description", "usage", "options", "arguments", "epilog"):
        app.connect(f"sphinx-click-process-{event}", _escape_help)

"""The wheel must carry the bundled records and the shipped checkpoints (an editable install
hides a package_data pattern that matches nothing)."""
from pathlib import Path

import obspy_gen

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(obspy_gen.__file__).resolve().parent


def _options():
    from setuptools.config.setupcfg import read_configuration
    return read_configuration(str(ROOT / "setup.cfg"))["options"]


def _patterns():
    return _options()["package_data"]["obspy_gen"]


def test_every_folder_with_files_is_a_declared_package():
    """A folder that ships files but is not in ``packages`` (e.g. checkpoints/, no
    __init__.py) makes setuptools warn "Package would be ignored" on every build."""
    folders = {p.parent.relative_to(PKG.parent).as_posix().replace("/", ".")
               for p in PKG.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    packages = set(_options()["packages"])
    assert "obspy_gen.plugins.cnn_lstm.checkpoints" in folders
    assert folders - packages == set()
    assert not [p for p in packages if "pycache" in p or not p.startswith("obspy_gen")]


def test_every_package_data_pattern_matches_files():
    for pattern in _patterns():
        assert "," not in pattern, pattern
        assert any(p.is_file() for p in PKG.glob(pattern)), f"{pattern!r} matches no file"


def test_records_and_checkpoints_are_covered():
    import fnmatch
    patterns = _patterns()
    needed = [p for p in PKG.rglob("*") if p.is_file() and
              ("checkpoints" in p.parts or p.parent.parent.name == "data" or
               (p.parent.name == "data" and p.suffix != ".py"))
              and "__pycache__" not in p.parts]
    assert any("checkpoints" in p.parts for p in needed)
    for path in needed:
        rel = path.relative_to(PKG).as_posix()
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel


def test_shipped_checkpoints_name_no_folder():
    """A checkpoint records its training data and start checkpoint by name or by the call
    that makes them, never by a folder: otherwise the train_default_* scripts write other
    bytes from another --work folder, and the JSON leaks the trainer's file system."""
    import json
    import os

    def strings(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    found = sorted(PKG.rglob("checkpoints/*.json"))
    assert len(found) >= 6
    bad = {p.name: v for p in found for v in strings(json.loads(p.read_text()))
           if os.path.isabs(v) or os.sep + "tmp" in v or "/tmp/" in v or "\\tmp\\" in v}
    assert bad == {}

"""The wheel must carry the bundled records and the shipped checkpoints (an editable install
hides a package_data pattern that matches nothing)."""
from pathlib import Path

import obspy_gen

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(obspy_gen.__file__).resolve().parent


def _patterns():
    from setuptools.config.setupcfg import read_configuration
    return read_configuration(str(ROOT / "setup.cfg"))["options"]["package_data"]["obspy_gen"]


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

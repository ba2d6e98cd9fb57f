"""numba's on-disk JIT cache stays out of the installed package (obspy_gen.core.jit).

Cache files beside the modules survive ``pip uninstall`` (they are not in pip's RECORD): after
``pip install .`` then ``pip install -e .`` the leftover ``site-packages/obspy_gen/`` folder
became an empty namespace package that shadowed the editable install.
"""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numba.core.registry
import pytest

import obspy_gen

PACKAGE = Path(obspy_gen.__file__).resolve().parent
NUMBA_MODULES = ("obspy_gen.core.smoothing", "obspy_gen.core.hvsr", "obspy_gen.core.intensity")


def _cache_files(folder):
    return {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*")
            if p.suffix in (".nbi", ".nbc")}


def _compiled_functions():
    for name in NUMBA_MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                yield f"{name}.{attr}", value


def test_every_compiled_function_caches_outside_the_package():
    functions = dict(_compiled_functions())
    assert len(functions) >= 12          # smoothing 8, hvsr 2, intensity 3
    for name, dispatcher in functions.items():
        cache = getattr(dispatcher, "_cache", None)
        path = Path(getattr(cache, "_cache_path", "") or "")
        assert str(path), f"{name}: not cached"
        assert PACKAGE not in path.resolve().parents, f"{name} caches in {path}"


def _compile_in_subprocess(env):
    # A small function compiles in about a second; the cache files appear at once.
    code = ("from obspy_gen.core.intensity import _free_vibration_peak as f; "
            "print(f(1.0, 0.5, 6.0, 0.05))")
    env = {**os.environ, **env}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return float(res.stdout)


@pytest.mark.parametrize("how", ["xdg", "numba_cache_dir"])
def test_compiling_writes_no_cache_file_inside_the_package(tmp_path, how):
    before = _cache_files(PACKAGE)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    if how == "numba_cache_dir":
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")   # numba's own setting is honoured
        expected = tmp_path / "numba"
    else:
        env["NUMBA_CACHE_DIR"] = ""
        expected = tmp_path / "xdg" / "obspy-gen" / "numba"
    value = _compile_in_subprocess(env)
    assert value > 1.0
    written = _cache_files(expected)
    assert any(p.name.startswith("intensity._free_vibration_peak") for p in written), written
    assert _cache_files(PACKAGE) == before      # nothing new or rewritten in the package
    if how == "xdg":
        # A second run loads the cache (same files, not rewritten) and gives the same number.
        assert _compile_in_subprocess(env) == value
        assert _cache_files(expected) == written


def test_an_unwritable_cache_folder_never_falls_back_into_the_package(monkeypatch):
    from obspy_gen.core import jit
    monkeypatch.setattr(jit, "_writable", lambda path: False)
    jit.cache_dir.cache_clear()
    try:
        assert jit.cache_dir() is None

        def cube(x):
            return x * x * x
        compiled = jit.njit(cube)
        assert compiled(3.0) == 27.0
        # Compiled in memory only: numba's null cache, no locator, no folder.
        assert type(compiled._cache).__name__ == "NullCache"
    finally:
        jit.cache_dir.cache_clear()

"""The import rules of the package layers, checked on the source with ast.

Imports point down: cli -> plugins -> evaluate / io / batch / torchkit -> api -> core. Library
code never imports the CLI; the API imports nothing of obspy-gen but the core's basics.
"""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "obspy_gen"


def imports_of(path: Path) -> set:
    """Every obspy_gen module a file imports (top level or inside functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
                base = parts[:len(parts) - node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m == "obspy_gen" or m.startswith("obspy_gen.")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


FILES = sorted(p for p in PKG.rglob("*.py"))


def layer_files(prefix):
    return [p for p in FILES if module_name(p) == prefix
            or module_name(p).startswith(prefix + ".")]


def offending(files, forbidden, allowed=()):
    bad = []
    for path in files:
        for mod in imports_of(path):
            if any(mod == f or mod.startswith(f + ".") for f in forbidden) and not any(
                    mod == a or mod.startswith(a + ".") for a in allowed):
                bad.append(f"{module_name(path)} imports {mod}")
    return bad


def test_the_parser_sees_imports_inside_functions_and_relative_ones():
    mods = imports_of(PKG / "plugins" / "stochastic" / "plugin.py")
    assert "obspy_gen.api" in mods and "obspy_gen.plugins.stochastic.catalog" in mods
    assert "obspy_gen.core.records" in imports_of(PKG / "api.py")


def test_library_never_imports_the_cli():
    lib = [p for p in FILES if not module_name(p).startswith("obspy_gen.cli")]
    assert offending(lib, ["obspy_gen.cli"]) == []


def test_api_imports_only_core_basics():
    bad = [m for m in imports_of(PKG / "api.py")
           if m not in ("obspy_gen.core.records", "obspy_gen.core.records.split_records")]
    assert bad == []


@pytest.mark.parametrize("layer,forbidden", [
    ("obspy_gen.core", ["obspy_gen.plugins", "obspy_gen.io", "obspy_gen.evaluate",
                        "obspy_gen.batch", "obspy_gen.torchkit", "obspy_gen.testing"]),
    ("obspy_gen.io", ["obspy_gen.plugins", "obspy_gen.evaluate", "obspy_gen.registry",
                      "obspy_gen.batch", "obspy_gen.torchkit", "obspy_gen.testing"]),
    ("obspy_gen.evaluate", ["obspy_gen.plugins", "obspy_gen.torchkit"]),
    ("obspy_gen.batch", ["obspy_gen.plugins", "obspy_gen.evaluate", "obspy_gen.torchkit"]),
    ("obspy_gen.torchkit", ["obspy_gen.plugins", "obspy_gen.evaluate", "obspy_gen.batch"]),
    ("obspy_gen.registry", ["obspy_gen.plugins", "obspy_gen.io", "obspy_gen.evaluate"]),
])
def test_layers_import_downwards(layer, forbidden):
    assert offending(layer_files(layer), forbidden) == []


def test_core_imports_only_core_and_the_registry():
    # Stream.generate/vs30/site_metrics are thin calls into the registry.
    bad = [b for b in offending(layer_files("obspy_gen.core"), ["obspy_gen"],
                                allowed=["obspy_gen.core", "obspy_gen.registry"])
           if not b.endswith("imports obspy_gen")]
    assert bad == []


def test_plugins_do_not_import_each_other():
    bad = []
    for path in layer_files("obspy_gen.plugins"):
        parts = module_name(path).split(".")
        if len(parts) < 3 or parts[2] in ("base", "torch_base"):
            continue
        own = ".".join(parts[:3])
        for mod in imports_of(path):
            if mod.startswith("obspy_gen.plugins.") and not mod.startswith(own) and \
                    not mod.startswith("obspy_gen.plugins.base"):
                bad.append(f"{module_name(path)} imports {mod}")
    assert bad == []

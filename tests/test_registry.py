"""Plugin registry: discovery without imports, loading, errors, a third-party plugin end to end."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from obspy import read

import obspy_gen
from obspy_gen import registry
from obspy_gen.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "obspy-gen-pga-metric"


@pytest.fixture
def on_path(monkeypatch):
    """Put a folder on sys.path and make the registry rescan; undone afterwards."""
    def add(folder):
        monkeypatch.syspath_prepend(str(folder))
        registry.refresh()
    yield add
    registry.refresh()


def fake_distribution(root, dist, entry_points, modules):
    """A minimal installed distribution (dist-info + modules) in ``root``."""
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for name, code in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(code))


def test_builtin_is_registered_through_entry_points():
    infos = {i.name: i for i in registry.plugins("site_metrics")}
    assert infos["hvsr"].distribution == "obspy-gen"
    assert infos["hvsr"].value == "obspy_gen.plugins.hvsr_metric:HVSRMetric"
    assert registry.load("obspy_gen.site_metrics", "hvsr").name == "hvsr"


def test_unknown_name_lists_available():
    with pytest.raises(obspy_gen.plugins.PluginNotFoundError, match="available: .*hvsr"):
        obspy_gen.plugins.load("site_metrics", "nope")
    with pytest.raises(ValueError, match="unknown plugin group"):
        obspy_gen.plugins.available("widgets")


def test_broken_plugin_is_reported_and_others_keep_working(tmp_path, on_path):
    fake_distribution(tmp_path, "broken-plugins", """
        [obspy_gen.site_metrics]
        crashy = crashy_mod:Crashy
        notasubclass = fine_mod:NotAPlugin
        """, {"crashy_mod": "raise RuntimeError('boom at import')\n",
              "fine_mod": "class NotAPlugin:\n    pass\n"})
    on_path(tmp_path)
    assert {"crashy", "notasubclass", "hvsr"} <= set(obspy_gen.plugins.available("site_metrics"))
    with pytest.raises(obspy_gen.plugins.PluginLoadError,
                       match="'crashy'.*broken-plugins 1.2.3.*RuntimeError: boom at import"):
        obspy_gen.plugins.load("site_metrics", "crashy")
    with pytest.raises(obspy_gen.plugins.PluginLoadError, match="not a subclass"):
        obspy_gen.plugins.load("site_metrics", "notasubclass")
    status = {i.name: s for i, s in registry.status("site_metrics")}
    assert status["hvsr"] == "ok" and status["crashy"].startswith("fails:")
    # Everything else still works, CLI included.
    assert read().site_metrics("hvsr", fmin=1, fmax=20, nfreq=32).n_windows == 1
    out = CliRunner().invoke(main, ["plugins"])
    assert out.exit_code == 0 and "crashy" in out.output and "boom at import" in out.output


def test_plugin_with_missing_requirement(tmp_path, on_path):
    fake_distribution(tmp_path, "needy-plugin", """
        [obspy_gen.generators]
        needy = needy_mod:Needy
        """, {"needy_mod": """
        from obspy_gen.plugins import Generator
        class Needy(Generator):
            name, version, requires = "needy", "0.1", ("no_such_module_xyz",)
        """})
    on_path(tmp_path)
    status = {i.name: s for i, s in registry.status("generators")}
    assert status["needy"] == "needs no_such_module_xyz"
    from obspy import Stream
    with pytest.raises(ImportError, match="needs no_such_module_xyz"):
        Stream().generate(station="X", model="needy")


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """pip-install the example plugin package into a private target folder."""
    target = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
           "--no-index", "--quiet", "--target", str(target), str(EXAMPLE)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return target


def test_third_party_plugin_end_to_end(installed_example, on_path):
    on_path(installed_example)
    info = {i.name: i for i in registry.plugins("site_metrics")}["pga"]
    assert info.distribution == "obspy-gen-pga-metric"
    st = read()
    result = st.site_metrics("pga")
    peak = max(abs(st.select(component="N")[0].data).max(),
               abs(st.select(component="E")[0].data).max())
    assert result.to_dict()["per_record"][0]["horizontal"] == pytest.approx(float(peak))


def test_third_party_plugin_through_the_cli(installed_example):
    env = dict(os.environ, PYTHONPATH=str(installed_example))
    proc = subprocess.run([sys.executable, "-m", "obspy_gen.cli", "plugins"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if " pga " in f" {l} ")
    assert "obspy-gen-pga-metric" in line and line.rstrip().endswith("ok")


def test_import_does_not_import_torch():
    code = "import obspy_gen, sys; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

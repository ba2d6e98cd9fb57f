"""The README's examples run as written.

Every ```python block is executed, top to bottom in one namespace as a reader would, in a
temporary folder. Every
``obspy-gen ...`` line of the ```bash blocks is parsed by the real command line (options,
arguments, choices and types checked; nothing run: they name the user's folders), and the
extras the install lines ask for exist in setup.cfg.
"""
import configparser
import importlib.util
import os
import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def blocks(language):
    text = README.read_text(encoding="utf-8")
    found = re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)
    return [code for lang, code in found if lang == language]


def commands(prefix):
    out = []
    for code in blocks("bash"):
        for line in code.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s&&\s", line):
                words = shlex.split(part, comments=True)
                if words and words[0] == prefix:
                    out.append(words)
    return out


PYTHON_BLOCKS = blocks("python")


def test_readme_has_examples():
    assert len(PYTHON_BLOCKS) >= 3
    assert len(commands("obspy-gen")) >= 8


class _Reader:
    """Runs the Python blocks top to bottom in one namespace, as a reader would (a later block
    may use what an earlier one defined); each block once, its predecessors first."""

    def __init__(self, folder):
        self.folder, self.namespace, self.done = folder, {"__name__": "__readme__"}, {}

    def run(self, index):
        for i in range(index + 1):
            if i not in self.done:
                self.done[i] = self._exec(i)
        if isinstance(self.done[index], BaseException):
            raise self.done[index]

    def _exec(self, i):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        cwd = os.getcwd()
        os.chdir(self.folder)
        try:
            exec(compile(PYTHON_BLOCKS[i], f"README.md python block {i + 1}", "exec"),
                 self.namespace)
            return None
        except Exception as exc:  # noqa: BLE001 -- reported by the block's own test
            return exc
        finally:
            os.chdir(cwd)
            plt.close("all")


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    return _Reader(tmp_path_factory.mktemp("readme"))


def _needs_torch(code):
    return ".generate(" in code and (importlib.util.find_spec("torch") is None
                                     or importlib.util.find_spec("safetensors") is None)


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs(index, reader):
    if any(_needs_torch(code) for code in PYTHON_BLOCKS[:index + 1]
           if "Stream().generate(" in code):
        pytest.skip("the generation example needs obspy-gen[torch]")
    reader.run(index)
    code, ns = PYTHON_BLOCKS[index], reader.namespace
    if "aom001_hvsr.png" in code:
        assert (reader.folder / "aom001_hvsr.png").stat().st_size > 1000
        assert 0.2 <= ns["result"].f0 <= 25
    if "my_station_records" in code:
        assert len(ns["new"]) == 15 and ns["new"][0].stats.obspy_gen.synthetic


def _rest(ctx):
    # click < 9 keeps a group's subcommand name in protected_args (deprecated in 8.2).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(getattr(ctx, "protected_args", [])) + list(ctx.args)


def _parse(group, words):
    """Parse a command line with click without running it (raises click.UsageError)."""
    ctx = group.make_context(words[0], list(words[1:]))
    command, args = ctx.command, _rest(ctx)
    while isinstance(command, click.Group) and args:
        sub = command.get_command(ctx, args[0])
        if sub is None:
            raise click.UsageError(f"no command {args[0]!r}")
        ctx = sub.make_context(args[0], args[1:], parent=ctx)
        command, args = sub, _rest(ctx)
    return command


@pytest.mark.parametrize("words", commands("obspy-gen"), ids=lambda w: " ".join(w)[:60])
def test_cli_line_parses(words, capsys):
    from obspy_gen.cli import main
    try:
        command = _parse(main, words)
    except click.exceptions.Exit as exc:      # --help: parsed, printed, exit 0
        assert exc.exit_code == 0 and "Usage:" in capsys.readouterr().out
        return
    assert command is not None


def test_install_lines_name_declared_extras():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    extras = set(cfg["options.extras_require"])
    lines = commands("pip")
    assert lines
    for words in lines:
        for word in words:
            m = re.fullmatch(r"-?e?\.\[([\w,]+)\]|\.\[([\w,]+)\]", word.strip("\"'"))
            if m:
                wanted = set((m.group(1) or m.group(2)).split(","))
                assert wanted <= extras, (words, wanted - extras)
        if "torch==" in " ".join(words):
            assert words[:3] == ["pip", "install", "torch==2.13.0"]

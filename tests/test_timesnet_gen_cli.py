"""``obspy-gen generate`` and ``obspy-gen train timesnet-gen``."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from obspy import UTCDateTime, read

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.cli.generate import generate_command  # noqa: E402
from obspy_gen.cli.train import train_command  # noqa: E402
from obspy_gen.io.checkpoints import load_checkpoint  # noqa: E402
from obspy_gen.plugins.torch_base import shipped_checkpoints  # noqa: E402

from .conftest import resonance_record  # noqa: E402

SHIPPED = "timesnet-gen-synthetic" in shipped_checkpoints("obspy_gen.plugins.timesnet_gen")
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="shipped checkpoint not present")
TINY = ["--seq-len", "400", "--d-model", "4", "--d-ff", "4", "--e-layers", "1",
        "--d-layers", "1", "--num-kernels", "2", "--latent-channels", "2",
        "--latent-stride", "4"]


def write_records(folder, stations=("AAA", "BBB", "CCC"), n=4, duration=5.0):
    folder.mkdir(parents=True, exist_ok=True)
    for k, (code, f0) in enumerate(zip(stations, (2.0, 5.0, 9.0))):
        for i in range(n):
            st = resonance_record(f0, duration, 100.0, seed=10 * k + i, station=code,
                                  start=UTCDateTime(2024, 1, 1) + 600 * i)
            st.write(str(folder / f"{code}_{i}.mseed"), format="MSEED")
    return folder


@needs_shipped
def test_generate_writes_one_file_per_record(tmp_path):
    out = tmp_path / "gen"
    res = CliRunner().invoke(generate_command, ["--station", "4628", "-n", "3", "--out",
                                                str(out), "--seed", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    names = sorted(os.listdir(out))
    assert names == [f"SY.4628.00_timesnet-gen_{i:04d}.mseed" for i in range(3)] + ["records.csv"]
    st = read(str(out / names[1]))
    assert sorted(tr.stats.channel for tr in st) == ["HNE", "HNN", "HNZ"]
    assert st[0].stats.sampling_rate == 100.0 and 2000 <= st[0].stats.npts <= 6000
    assert "wrote 3 record(s)" in res.stdout and "seed 1" in res.stdout
    assert "SY.4628.00_timesnet-gen_0002.mseed" in res.stdout  # the summary table



@needs_shipped
def test_generate_writes_provenance_beside_the_records(tmp_path):
    import csv
    import json

    from obspy_gen.cli.hvsr import read_files
    from obspy_gen.plugins.timesnet_gen.store import VERSION
    out = tmp_path / "gen"
    args = ["-s", "4628", "-n", "2", "--out", str(out), "--seed", "5", "--noise-scale", "0.5",
            "-q"]
    assert CliRunner().invoke(generate_command, args).exit_code == 0
    with open(out / "records.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [f"SY.4628.00_timesnet-gen_{i:04d}.mseed"
                                         for i in range(2)]
    for i, r in enumerate(rows):
        assert (r["station"], r["model"], r["version"], r["seed"], r["record"],
                r["synthetic"], r["units"], r["checkpoint"]) == (
            "4628", "timesnet-gen", VERSION, "5", str(i), "True", "m/s**2",
            "timesnet-gen-synthetic")
        conditions = json.loads(r["conditions"])
        assert conditions["noise_scale"] == 0.5 and conditions["n_mix"] == 5
    # No temporary file is left (atomic writes).
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("."))  == []
    # A second run into the same folder (another station) keeps the first run's rows.
    CliRunner().invoke(generate_command, ["-s", "3130", "-n", "1", "--out", str(out), "-q",
                                          "--seed", "2"])
    with open(out / "records.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["station"], r["seed"]) for r in rows] == [("4628", "5"), ("4628", "5"),
                                                         ("3130", "2")]
    # Read back by the CLI's reader: stats.obspy_gen and units are restored.
    good, failed = read_files(sorted(str(p) for p in out.glob("*.mseed")), quiet=True)
    assert not failed
    stats = [tr.stats for _, st in good for tr in st]
    assert {s.units for s in stats} == {"m/s**2"}
    assert all(s.obspy_gen.synthetic is True and s.obspy_gen.model == "timesnet-gen"
               for s in stats)
    assert sorted({(s.station, s.obspy_gen.record, s.obspy_gen.seed) for s in stats}) == [
        ("3130", 0, 2), ("4628", 0, 5), ("4628", 1, 5)]
    assert stats[0].obspy_gen.noise_scale in (0.5, 1.0)

@needs_shipped
def test_generate_same_seed_same_bytes(tmp_path):
    for d in ("a", "b"):
        CliRunner().invoke(generate_command, ["-s", "3130", "-n", "1", "-o", str(tmp_path / d),
                                              "--seed", "9", "-q"])
    name = "SY.3130.00_timesnet-gen_0000.mseed"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@needs_shipped
def test_generate_unknown_station_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(generate_command, ["--station", "9999", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert res.stderr.startswith("obspy-gen: timesnet-gen: unknown station '9999'")
    assert "known: 2020, 4628, 0205, 1716, 3130" in res.stderr
    assert os.listdir(tmp_path) == []


def test_generate_needs_station_or_records(tmp_path):
    res = CliRunner().invoke(generate_command, ["--out", str(tmp_path)])
    assert res.exit_code == 2 and "give --station" in res.stderr


def test_generate_bad_checkpoint_exit_1(tmp_path):
    res = CliRunner().invoke(generate_command, ["-s", "4628", "--checkpoint",
                                                str(tmp_path / "nope"), "-o", str(tmp_path)])
    assert res.exit_code == 1
    assert res.stderr.startswith(f"obspy-gen: {tmp_path / 'nope'}: no such checkpoint")


def test_generate_records_match_nothing(tmp_path):
    res = CliRunner().invoke(generate_command, ["--records", str(tmp_path / "*.mseed"),
                                                "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "matched no files" in res.stderr


@needs_shipped
def test_generate_zero_shot_from_files(tmp_path):
    folder = write_records(tmp_path / "site", stations=("NEW",), n=3, duration=60.0)
    res = CliRunner().invoke(generate_command, ["--records", str(folder), "-n", "2", "-o",
                                                str(tmp_path / "o"), "--seed", "0", "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path / "o")) == [f"XX.NEW._timesnet-gen_{i:04d}.mseed"
                                                  for i in range(2)] + ["records.csv"]


def test_train_both_phases_and_generate(tmp_path):
    corpus = write_records(tmp_path / "corpus")
    targets = write_records(tmp_path / "targets", stations=("TA", "TB"))
    runner = CliRunner()
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(corpus), "--out",
                                        str(tmp_path / "pre"), "--epochs", "1",
                                        "--batch-size", "4", "--synthetic", "--quiet", *TINY])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.stdout and "train_loss" in res.stdout
    ck = load_checkpoint(tmp_path / "pre", plugin="timesnet-gen")
    assert ck.config["training"]["synthetic"] is True
    assert ck.config["architecture"]["seq_len"] == 400
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(targets), "--out",
                                        str(tmp_path / "ft"), "--phase", "finetune",
                                        "--init", str(tmp_path / "pre"), "--epochs", "1",
                                        "--stations", "TB,TA", "--envelope-loss", "0.5",
                                        "--quiet"])
    assert res.exit_code == 0, res.output
    ck = load_checkpoint(tmp_path / "ft")
    assert [s["station"] for s in ck.config["stations"]] == ["TB", "TA"]
    assert "0.5 x MSE of ln 1.0-s RMS envelopes" in ck.config["training"]["loss"]
    # Resume: epochs already done are not repeated.
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(targets), "--out",
                                        str(tmp_path / "ft"), "--phase", "finetune",
                                        "--init", str(tmp_path / "pre"), "--epochs", "2",
                                        "--stations", "TB,TA", "--resume"])
    assert res.exit_code == 0, res.output
    assert "resuming" in res.stderr
    res = runner.invoke(generate_command, ["-s", "TA", "-n", "1", "--checkpoint",
                                           str(tmp_path / "ft"), "-o", str(tmp_path / "g"),
                                           "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path / "g")) == ["XX.TA._timesnet-gen_0000.mseed",
                                                  "records.csv"]


def test_train_usage_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(tmp_path / "none"),
                                        "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "not a directory of records" in res.stderr
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(tmp_path), "--out",
                                        str(tmp_path / "x"), "--phase", "finetune", "--init",
                                        "pre", "--d-model", "8"])
    assert res.exit_code == 2 and "--init fixes the architecture" in res.stderr
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(tmp_path), "--out",
                                        str(tmp_path / "x"), "--phase", "nope"])
    assert res.exit_code == 2
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(tmp_path), "--out",
                                        str(tmp_path / "x"), "--envelope-loss", "1"])
    assert res.exit_code == 2 and "envelope_loss is a finetune option" in res.stderr
    res = runner.invoke(train_command, ["timesnet-gen", "--data", str(tmp_path), "--out",
                                        str(tmp_path / "x"), "--quiet"])
    assert res.exit_code == 1 and "no records" in res.stderr
    assert "Example" in runner.invoke(train_command, ["timesnet-gen", "--help"]).output


@pytest.mark.slow
def test_train_cli_under_torchrun_two_cpu_processes(tmp_path):
    corpus = write_records(tmp_path / "corpus")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node", "2", "-m", "obspy_gen.cli.train",
                          "timesnet-gen", "--data", str(corpus), "--out",
                          str(tmp_path / "pre"), "--epochs", "2", "--batch-size", "2",
                          "--device", "cpu", "--quiet", *TINY],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    ck = load_checkpoint(tmp_path / "pre", plugin="timesnet-gen")
    assert len(ck.config["training"]["history"]) == 2
    assert "2 process(es)" in res.stdout


@needs_shipped
def test_generate_timing_tolerance_reaches_the_records(tmp_path):
    import numpy as np
    from obspy import read
    args = ["-s", "1716", "-n", "2", "--seed", "4", "-q", "--sampling", "prior"]
    res = CliRunner().invoke(generate_command, args + ["--timing-tolerance", "1",
                                                       "-o", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    plain = CliRunner().invoke(generate_command, args + ["-o", str(tmp_path / "p")])
    assert plain.exit_code == 0, plain.output
    timed = read(str(tmp_path / "t" / "*.mseed"))
    untimed = read(str(tmp_path / "p" / "*.mseed"))
    assert len(timed) == len(untimed) == 6
    assert any(not np.array_equal(a.data, b.data) for a, b in zip(timed, untimed))
    bad = CliRunner().invoke(generate_command, args + ["--timing-tolerance", "0",
                                                       "-o", str(tmp_path / "b")])
    assert bad.exit_code == 2


@needs_shipped
def test_generate_output_shaping_flags_reach_the_records(tmp_path):
    import numpy as np
    args = ["-s", "4628", "-n", "1", "--seed", "4", "-q"]
    runs = {}
    flags = ("--no-envelope", "--calibrate", "--no-seam-energy", "--weights=gaussian",
             "--jitter=0", "--no-band-shape", "--no-coherence", "--p-envelope",
             "--pre-event", "--no-hv-shape", "--no-hv-ripple")
    for flag in ("",) + flags:
        res = CliRunner().invoke(generate_command, args + ([flag] if flag else []) + [
            "-o", str(tmp_path / (flag.strip("-").replace("=", "_") or "default"))])
        assert res.exit_code == 0, res.output
        runs[flag] = read(str(tmp_path / (flag.strip("-").replace("=", "_") or "default")
                              / "*.mseed"))
    for flag in flags:   # (coherence, hv_shape and hv_ripple change the vertical only)
        assert any(not np.array_equal(a.data, b.data)
                   for a, b in zip(runs[flag], runs[""])), flag

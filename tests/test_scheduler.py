"""Archives on a cluster: --scheduler (Dask), failures that never lose a batch, --resume after a
killed run, the archive table and figure."""
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from obspy_gen import batch
from obspy_gen.api import nehrp_class
from obspy_gen.cli import main
from tests.test_registry import fake_distribution

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of 2 workers reached through its TCP address, as a real one is."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The paper's five virtual stations, two simulated records each (10 records)."""
    from obspy_gen.plugins.stochastic import simulate
    out = tmp_path_factory.mktemp("archive")
    simulate("paper5", out=out, seed=5, n=2)
    return out


@pytest.fixture(scope="module")
def local_hvsr(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("hvsr_local")
    res = CliRunner().invoke(main, ["hvsr", str(archive), "--out", str(out), "--plot", "-q"])
    assert res.exit_code == 0, res.output
    return out


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def same_files(a, b):
    """Every file of folder a is in b with the same bytes (and no other file in b); the HTML
    report's generation time aside."""
    names = sorted(p.name for p in Path(a).iterdir())
    assert names == sorted(p.name for p in Path(b).iterdir())
    stamp = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    for name in names:
        one, two = ((Path(x) / name).read_bytes() for x in (a, b))
        if name.endswith(".html"):
            one, two = stamp.sub(b"", one), stamp.sub(b"", two)
        assert one == two, name
    return names


def test_scheduler_values():
    assert batch.parse_scheduler("processes:3") == ("processes", 3)
    assert batch.parse_scheduler("tls://sched.example.org:8786")[0] == "dask"
    for bad in ("cluster", "processes:x", "processes:-1", ""):
        with pytest.raises(ValueError, match="scheduler"):
            batch.parse_scheduler(bad)
    for cmd in ("hvsr", "simulate", "evaluate", "vs30", "generate"):
        assert "--scheduler" in run(cmd, "--help").output
    res = run("simulate", "--out", "x", "--scheduler", "my-cluster")
    assert res.exit_code == 2 and "is not 'local', 'processes:N'" in res.output
    with pytest.raises(OSError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        with batch.scheduler_executor("tcp://127.0.0.1:9", timeout=1):
            pass


def test_dask_outputs_identical_to_local(cluster, archive, local_hvsr, tmp_path):
    # simulate: every miniSEED and table byte for byte.
    for where, sched in (("sim_local", "local"), ("sim_dask", cluster)):
        res = run("simulate", "--out", tmp_path / where, "-n", "1", "--seed", "2", "-q",
                  "--scheduler", sched)
        assert res.exit_code == 0, res.output
    names = same_files(tmp_path / "sim_local", tmp_path / "sim_dask")
    assert sum(n.endswith(".mseed") for n in names) == 5 and "stations.csv" in names

    # hvsr: every station JSON and figure, stations.csv and summary.png.
    res = run("hvsr", archive, "--out", tmp_path / "hvsr_dask", "--plot", "-q",
              "--scheduler", cluster)
    assert res.exit_code == 0, res.output
    names = same_files(local_hvsr, tmp_path / "hvsr_dask")
    assert sum(n.endswith(".json") for n in names) == 5

    # evaluate: the report (JSON, figures, HTML page).
    for where, sched in (("ev_local", "local"), ("ev_dask", cluster)):
        res = run("evaluate", "--group", f"real={archive}",
                  "--group", f"sim={tmp_path / 'sim_local'}", "--min-records", "1",
                  "--n-bootstrap", "5", "--seed", "1", "--out", tmp_path / where, "-q",
                  "--scheduler", sched)
        assert res.exit_code == 0, res.output
    names = same_files(tmp_path / "ev_local", tmp_path / "ev_dask")
    report = json.loads((tmp_path / "ev_dask" / "report.json").read_text())
    assert len(report["stations"]) == 5 and "report.html" in names


def test_a_failed_station_never_loses_the_batch(cluster, archive, tmp_path, monkeypatch):
    import obspy_gen.core.hvsr as core

    real = core.hvsr

    def flaky(records, *args, **kwargs):
        if records[0][0].stats.station == "1716":
            raise RuntimeError("worker lost its disk")
        return real(records, *args, **kwargs)

    monkeypatch.setattr(core, "hvsr", flaky)   # the Dask workers are threads of this process
    messages = []
    with batch.scheduler_executor(cluster) as ex:
        summaries, n_fail = batch.run_hvsr(sorted(map(str, archive.glob("*.mseed"))),
                                           "default", tmp_path, executor=ex,
                                           report=lambda *m: messages.append(m))
    assert n_fail == 1 and sorted(summaries) == ["SY.0205.00", "SY.2020.00", "SY.3130.00",
                                                 "SY.4628.00"]
    assert messages == [("SY.1716.00", "failed: RuntimeError: worker lost its disk")]
    rows = list(csv.DictReader(open(tmp_path / "stations.csv")))
    assert [r["station"] for r in rows] == sorted(summaries)
    # and through map_jobs directly: the exception comes back in its place
    with batch.scheduler_executor(cluster) as ex:
        out = batch.map_jobs(divmod, [(7, 2), (1, 0), (9, 4)], ex, errors="return")
    assert out[0] == (3, 1) and isinstance(out[1], ZeroDivisionError) and out[2] == (2, 1)


KILLABLE = """
import sys, time
import obspy_gen.batch as b
job = b.hvsr_station_job
def slow(*args):
    result = job(*args)
    time.sleep(2.0)  # room to be killed between stations
    return result
b.hvsr_station_job = slow
from obspy_gen.cli import main
main(["hvsr", sys.argv[1], "--out", sys.argv[2], "--plot", "-q"])
"""


def test_killed_run_resumes(archive, local_hvsr, tmp_path):
    out = tmp_path / "hvsr"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(archive), str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, MPLBACKEND="Agg"))
    deadline = time.time() + 300
    try:
        while len(list(out.glob("*.json"))) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "the run wrote no station in time"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert 2 <= len(done) < 5 and not (out / "stations.csv").exists()

    res = run("hvsr", archive, "--out", out, "--plot", "-q", "--resume")
    assert res.exit_code == 0, res.output
    assert f"{len(done)} complete already (resumed)" in res.output
    assert {n: (out / n).stat().st_mtime_ns for n in done} == done   # not recomputed
    # The resumed archive is the uninterrupted one, byte for byte (no temporary files left
    # by the atomic writes either, except a killed write's hidden one).
    for p in out.glob(".*"):
        p.unlink()
    same_files(local_hvsr, out)

    # Other settings: the outputs are not complete for them, everything is recomputed.
    res = run("hvsr", archive, "--out", out, "-q", "--resume", "--bandwidth", "30")
    assert res.exit_code == 0 and "resumed" not in res.output


def test_archive_table_and_vs30(archive, local_hvsr, tmp_path, monkeypatch):
    rows = list(csv.DictReader(open(local_hvsr / "stations.csv")))
    assert list(rows[0]) == list(batch.ARCHIVE_COLUMNS)
    assert [r["station"] for r in rows] == sorted(r["station"] for r in rows)
    assert len(rows) == 5
    for row in rows:
        data = json.loads((local_hvsr / f"{row['station']}.json").read_text())
        assert float(row["f0"]) == pytest.approx(data["f0"], rel=1e-5)
        assert float(row["A0"]) == pytest.approx(data["amplitude_f0"], rel=1e-5)
        assert float(row["f0_std_ln"]) == pytest.approx(data["f0_windows_std_ln"], rel=1e-5)
        assert int(row["records"]) == data["n_records"] == 2
        assert row["sesame_clarity"] == f"{sum(data['sesame']['clarity'])}/6"
        reliable = data["sesame"]["reliable"]   # None: the criteria do not apply
        assert row["sesame_reliable"] == ("" if reliable is None else str(reliable))
        assert (row["network"], row["code"], row["location"]) == ("SY", row["station"][3:7],
                                                                  "00")
        assert row["vs30"] == ""   # no predictor asked for
    # The simulated sites' f0 targets (Table I) are what the table finds, within 30 %.
    targets = {r["station"]: float(r["f0_target"]) for r in
               csv.DictReader(open(archive / "stations.csv")) if r["f0_target"]}
    f0 = {r["code"]: float(r["f0"]) for r in rows}
    close = [abs(f0[s] / t - 1) < 0.3 for s, t in targets.items()]
    assert sum(close) >= 3, (f0, targets)
    assert (local_hvsr / "summary.png").read_bytes()[:4] == b"\x89PNG"

    # A Vs30 predictor (third-party plugin): its prediction lands in the JSON and the table.
    fake_distribution(tmp_path / "site", "quarter-wave", """
        [obspy_gen.vs30]
        quarter-wave = qw_mod:QuarterWave
        """, {"qw_mod": """
        from obspy_gen import hvsr
        from obspy_gen.api import Vs30Predictor, Vs30Result, nehrp_class
        class QuarterWave(Vs30Predictor):
            name, version = "quarter-wave", "1.0"
            def predict(self, records, *, device=None):
                vs = 4 * 30.0 * hvsr(records).f0   # a uniform 30-m layer: f0 = Vs / 4H
                return Vs30Result(vs, nehrp_class(vs), [vs])
        """})
    from obspy_gen import registry
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry.refresh()
    try:
        res = run("hvsr", archive, "--out", tmp_path / "v", "-q", "--vs30-model",
                  "quarter-wave")
        assert res.exit_code == 0, res.output
        assert "vs30_m/s" in res.output
        bad = run("hvsr", archive, "--out", tmp_path / "w", "--vs30-model", "nope")
        assert bad.exit_code == 2 and "--vs30-model" in bad.output
    finally:
        monkeypatch.undo()
        registry.refresh()
    for row in csv.DictReader(open(tmp_path / "v" / "stations.csv")):
        assert float(row["vs30"]) == pytest.approx(120 * float(row["f0"]), rel=1e-4)
        assert row["nehrp_class"] == nehrp_class(float(row["vs30"]))
        assert row["vs30_model"] == "quarter-wave"


GEN = ("generate", "--model", "stochastic", "-n", 2, "--seed", 7, "--magnitude", 6,
       "--distance", 25, "-q")


def test_batch_generate_dask_identical_to_local(cluster, tmp_path):
    local = run(*GEN, "--station", "2020,4628", "--out", tmp_path / "local")
    assert local.exit_code == 0, local.output
    dask = run(*GEN, "--station", "2020", "--station", "4628", "--out", tmp_path / "dask",
               "--scheduler", cluster)
    assert dask.exit_code == 0, dask.output
    names = same_files(tmp_path / "local", tmp_path / "dask")   # miniSEED bytes and records.csv
    assert names == ["SY.2020.00_stochastic_0000.mseed", "SY.2020.00_stochastic_0001.mseed",
                     "SY.4628.00_stochastic_0000.mseed", "SY.4628.00_stochastic_0001.mseed",
                     "records.csv"]
    rows = list(csv.DictReader(open(tmp_path / "dask" / "records.csv")))
    assert [(r["station"], r["record"], r["seed"]) for r in rows] == [
        ("2020", "0", "7"), ("2020", "1", "7"), ("4628", "0", "7"), ("4628", "1", "7")]
    assert all(json.loads(r["conditions"])["magnitude"] == 6 for r in rows)
    assert "wrote 4 record(s) of 2 station(s)" in dask.output
    # one station alone gives the same bytes as in the batch
    one = run(*GEN, "--station", "4628", "--out", tmp_path / "one")
    assert one.exit_code == 0, one.output
    assert ((tmp_path / "one" / names[2]).read_bytes()
            == (tmp_path / "dask" / names[2]).read_bytes())


def test_batch_generate_bad_station_is_reported(cluster, tmp_path):
    res = run(*GEN, "--station", "2020,9999,3130", "--out", tmp_path, "--scheduler", cluster)
    assert res.exit_code == 0, res.output
    assert "obspy-gen: stochastic: 9999: unknown station code '9999'" in res.output
    assert "1 station(s) failed" in res.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["SY.2020.00_stochastic_0000.mseed", "SY.2020.00_stochastic_0001.mseed",
                     "SY.3130.00_stochastic_0000.mseed", "SY.3130.00_stochastic_0001.mseed",
                     "records.csv"]
    rows = list(csv.DictReader(open(tmp_path / "records.csv")))
    assert sorted({r["station"] for r in rows}) == ["2020", "3130"]
    bad = run(*GEN, "--station", "9998,9999", "--out", tmp_path / "none", "--jobs", 2)
    assert bad.exit_code == 1 and "all 2 stations failed" in bad.output
    assert not (tmp_path / "none").exists()
    target = run(*GEN, "--station", "2020,4628", "--target", "asb14", "--out", tmp_path / "t")
    assert target.exit_code == 2 and "--target takes one --station" in target.output

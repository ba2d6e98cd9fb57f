"""obspy_gen.batch: the library's batch engine, serial and through Executors."""
import concurrent.futures
import json

import pytest
from obspy import read

from obspy_gen import batch
from obspy_gen.data import bundled_records


@pytest.fixture
def files(tmp_path):
    out = []
    for name in ("AOM001", "NGNH31"):
        out += bundled_records()[name]
    bad = tmp_path / "broken.mseed"
    bad.write_bytes(b"not a seismogram")
    return out + [str(bad)]


def test_serial_and_executor_runs_agree(tmp_path, files):
    messages = []
    report = lambda where, reason: messages.append((where, reason))  # noqa: E731
    serial, n1 = batch.run_hvsr(files, "default", tmp_path / "a", report=report)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        threaded, n2 = batch.run_hvsr(files, "default", tmp_path / "b", executor=ex,
                                      report=report)
    assert n1 == n2 == 1 and sorted(serial) == sorted(threaded)
    assert len(serial) == 2
    for key, s in serial.items():
        assert s["f0"] == pytest.approx(threaded[key]["f0"])
        saved = json.loads((tmp_path / "a" / f"{batch.safe_name(key)}.json").read_text())
        assert saved["f0"] == pytest.approx(s["f0"]) and 0.2 <= s["f0"] <= 25
    assert [w for w, _ in messages].count(files[-1]) == 2   # once per run
    assert all("cannot read" in r for w, r in messages if w == files[-1])


def test_process_pool_runs_the_same_jobs(tmp_path, files):
    good, failed = batch.read_files(files[:3], report=lambda *a: None)
    groups = batch.group_by_station(good)
    tasks = [(k, t, s, __import__("obspy_gen").PRESETS["default"], str(tmp_path), False)
             for k, (t, s) in groups.items()]
    with batch.process_pool(2) as pool:
        remote = batch.map_jobs(batch.hvsr_station_job, tasks, pool)
    local = batch.map_jobs(batch.hvsr_station_job, tasks)
    assert [r[1]["f0"] for r in remote] == pytest.approx([r[1]["f0"] for r in local])


def test_group_by_station_per_file_and_instruments():
    st = read()
    st2 = read()
    for tr in st2:
        tr.stats.channel = "HN" + tr.stats.channel[-1]
    groups = batch.group_by_station([("a.mseed", st), ("b.mseed", st2)])
    assert sorted(groups) == ["BW.RJOB.EH", "BW.RJOB.HN"]
    per_file = batch.group_by_station([("x/a.mseed", st), ("y/a.mseed", read())], per_file=True)
    assert sorted(per_file) == ["BW.RJOB.__a.mseed", "BW.RJOB.__y_a.mseed"]

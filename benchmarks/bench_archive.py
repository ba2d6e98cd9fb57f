"""A whole archive: HVSR of every station of a simulated archive, serial, 2 local processes,
2 Dask workers, and hvsrpy (its own pipeline, serial) on the same records, in one run.

Run:  nice python benchmarks/bench_archive.py --records 5000 --work /tmp/bench_archive
      (needs obspy-gen[dask] and hvsrpy + ipython; --skip-hvsrpy leaves hvsrpy out)

The archive is ``obspy-gen simulate --catalog corpus`` (random 1-D sites, classes B-E, Boore
2003 stochastic records, 100 Hz, float32 miniSEED, one file per record), ``--per-station``
records per station; it is simulated once into ``WORK/archive`` and reused.

Each configuration runs in a fresh process (``obspy_gen.batch.run_hvsr``: read every file,
group by station, one job per station writing its JSON, then stations.csv and summary.png),
(``serial``: numba kernels on all cores; ``serial1``: on one thread, as inside each worker
of ``jobs2``/``dask2``), with the settings of the TimesNet-Gen paper (preset ``timesnet-gen-paper``: whole record,
squared-average horizontals, Konno-Ohmachi b=40, 256 log centres 0.5-25 Hz). hvsrpy runs the
same settings through ``hvsrpy.read`` -> ``preprocess`` -> ``process`` station by station
(records as windows). Reported: wall time of the run (numba compilation and Dask cluster
start-up outside it, shown apart), records/s, peak resident memory (largest process: the
driver or one worker), and the time 36,417 records (the paper's AFAD set) would take at that
rate.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PAPER_RECORDS = 36417
PRESET = "timesnet-gen-paper"


def simulate_archive(work, records, per_station):
    from obspy_gen.batch import scheduler_executor
    from obspy_gen.plugins.stochastic import simulate
    n_stations = max(1, records // per_station)
    archive = Path(work) / f"archive_{n_stations}x{per_station}"
    if len(list(archive.glob("*.mseed"))) == n_stations * per_station:
        return archive, None
    t = time.perf_counter()
    with scheduler_executor("processes:2") as ex:
        simulate("corpus", out=archive, seed=17, n_stations=n_stations,
                 records_per_station=per_station, executor=ex)
    return archive, time.perf_counter() - t


def _maxrss_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024


def _warm_up():
    """Compile/load the numba kernels outside the timed run (a long archive amortises it)."""
    from obspy import read

    from obspy_gen import hvsr
    hvsr(read(), preset=PRESET)


def run_ours(config, archive, out):
    from obspy_gen import batch
    files, _ = batch.expand_inputs([str(archive)])
    extra = {}
    if config == "dask2":
        from distributed import Client, LocalCluster
        t = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        client.run(_warm_up)
        extra["startup_s"] = time.perf_counter() - t
        executor = client.get_executor()
    elif config == "jobs2":
        t = time.perf_counter()
        executor = batch.process_pool(2)
        list(executor.map(_warm_up_job, range(2)))
        extra["startup_s"] = time.perf_counter() - t
    else:
        executor = None
        if config == "serial1":   # the numba kernels on one thread, as in each worker
            import numba
            numba.set_num_threads(1)
    _warm_up()
    t = time.perf_counter()
    summaries, n_fail = batch.run_hvsr(files, PRESET, out, executor=executor,
                                       report=lambda *a: None)
    seconds = time.perf_counter() - t
    rss = _maxrss_mb()
    if config == "dask2":
        rss = max([rss] + list(client.run(_maxrss_mb).values()))
        client.close()
        cluster.close()
    elif config == "jobs2":
        executor.shutdown()
        rss = max(rss, _maxrss_mb(resource.RUSAGE_CHILDREN))
    n_rec = sum(s["n_records"] for s in summaries.values())
    return dict(extra, seconds=seconds, records=n_rec, stations=len(summaries),
                failed=n_fail, peak_rss_mb=rss, files=len(files))


def _warm_up_job(_):
    _warm_up()
    return os.getpid()


def run_hvsrpy(archive, out):
    import numpy as np
    import hvsrpy

    from obspy_gen import PRESETS
    s = PRESETS[PRESET]
    centres = np.geomspace(s.fmin, s.fmax, s.nfreq)
    pre = hvsrpy.HvsrPreProcessingSettings(window_length_in_seconds=None, detrend="linear")
    proc = hvsrpy.HvsrTraditionalProcessingSettings(
        window_type_and_width=("tukey", s.taper),
        method_to_combine_horizontals="squared_average",
        smoothing=dict(operator="konno_and_ohmachi", bandwidth=s.bandwidth,
                       center_frequencies_in_hz=centres))
    by_station = {}
    for f in sorted(Path(archive).glob("*.mseed")):
        by_station.setdefault(f.name.split("_")[0], []).append(str(f))
    t = time.perf_counter()
    n_rec, f0 = 0, {}
    for station, files in by_station.items():
        recs = hvsrpy.read(files)
        res = hvsrpy.process(hvsrpy.preprocess(recs, pre), proc)
        f0[station] = float(res.mean_curve_peak()[0])
        n_rec += len(recs)
    seconds = time.perf_counter() - t
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "f0.json").write_text(json.dumps(f0))
    return dict(seconds=seconds, records=n_rec, stations=len(by_station),
                peak_rss_mb=_maxrss_mb(), failed=0)


def child(config, archive, out):
    result = run_hvsrpy(archive, out) if config == "hvsrpy" else run_ours(config, archive, out)
    print("RESULT " + json.dumps(result))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--per-station", type=int, default=20)
    ap.add_argument("--work", default="/tmp/bench_archive")
    ap.add_argument("--skip-hvsrpy", action="store_true")
    ap.add_argument("--configs", default="serial,serial1,jobs2,dask2",
                    help="serial (numba threads: all cores), serial1 (one thread), jobs2, dask2")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    archive, sim_s = simulate_archive(args.work, args.records, args.per_station)
    n_files = len(list(archive.glob("*.mseed")))
    size = sum(f.stat().st_size for f in archive.glob("*.mseed")) / 2**20
    print(f"archive: {archive} ({n_files} records, {size:.0f} MB"
          + (f", simulated in {sim_s:.0f} s with 2 processes)" if sim_s else ")"))
    configs = args.configs.split(",") + ([] if args.skip_hvsrpy else ["hvsrpy"])
    rows = {}
    for config in configs:
        out = Path(args.work) / f"out_{config}"
        proc = subprocess.run([sys.executable, __file__, "--child", config, str(archive),
                               str(out)], capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{config}: failed\n{proc.stderr[-2000:]}")
            continue
        rows[config] = json.loads(line[-1][7:])
    print(f"\n{'run':8s} {'records':>7s} {'stations':>8s} {'seconds':>8s} {'rec/s':>7s} "
          f"{'peak MB':>8s} {'36,417 rec':>10s} {'start-up s':>10s}")
    for config, r in rows.items():
        rate = r["records"] / r["seconds"]
        print(f"{config:8s} {r['records']:7d} {r['stations']:8d} {r['seconds']:8.1f} "
              f"{rate:7.1f} {r['peak_rss_mb']:8.0f} {PAPER_RECORDS / rate / 60:8.1f} min "
              f"{r.get('startup_s', 0):10.1f}")
    if "serial" in rows:
        base = rows["serial"]["records"] / rows["serial"]["seconds"]
        for config, r in rows.items():
            if config != "serial":
                print(f"{config}: x{r['records'] / r['seconds'] / base:.2f} the serial rate")
    same = [json.loads(p.read_text()) == json.loads((Path(args.work) / "out_serial" /
                                                      p.name).read_text())
            for c in rows if c not in ("serial", "hvsrpy")
            for p in (Path(args.work) / f"out_{c}").glob("*.json")]
    if same:
        print(f"identical station JSONs vs serial: {sum(same)}/{len(same)}")
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

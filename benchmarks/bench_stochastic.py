"""Time the stochastic simulator: 1,000 records in memory, and 1,000 records written to disk.

Target (issue): 1,000 records in under 30 s on 2 cores. Run::

    python benchmarks/bench_stochastic.py [--n 1000] [--station 4628]

Library imports (pyrvt and pystrata take several seconds cold) are timed separately.
"""
import argparse
import os
import tempfile
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="records (default 1000)")
    ap.add_argument("--station", default="4628", help="paper5 station code (default 4628)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    import pyrvt  # noqa: F401
    import pystrata  # noqa: F401
    from obspy_gen.plugins.stochastic import StochasticGenerator, simulate
    from obspy_gen.plugins.stochastic.catalog import get_station
    t_import = time.perf_counter() - t0

    gen = StochasticGenerator()
    t0 = time.perf_counter()
    st = gen.generate(station=args.station, n=args.n, seed=args.seed)
    t_gen = time.perf_counter() - t0
    seconds = sum(tr.stats.npts / tr.stats.sampling_rate for tr in st[::3])

    sta = get_station(args.station)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = simulate([sta], out=out, seed=args.seed, n=args.n)
        t_write = time.perf_counter() - t0
        size = sum(os.path.getsize(p) for p in res.files) / 1e6

    cpus = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count())
    print(f"cpus available: {cpus}")
    print(f"imports (pyrvt, pystrata, plugin): {t_import:.2f} s")
    print(f"generate {args.n} records ({seconds / 3600:.1f} h of 3-component data) "
          f"in memory: {t_gen:.2f} s ({1000 * t_gen / args.n:.2f} ms/record)")
    print(f"simulate {args.n} records to miniSEED + tables: {t_write:.2f} s ({size:.0f} MB)")
    ok = max(t_gen, t_write) * 1000 / args.n < 30
    print(f"target < 30 s per 1000 records: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Spectral acceleration speed and agreement against pyrotd, in one run.

Run:  python benchmarks/bench_intensity.py          (needs pyrotd installed)

A 60-s 100-Hz synthetic record (enveloped band-passed noise, tapered), Sa at 100 log-spaced
periods 0.01-10 s, 5 % damping:

* ours, ``oversample="auto"`` (the default: band-limited interpolation to >= 20 samples per
  period, up to x64, sinc^2-compensated) and ``oversample=1`` (Nigam-Jennings on the recorded
  samples), numba-parallel over periods;
* pyrotd 0.6 ``calc_spec_accels`` with its default ``max_freq_ratio=5`` on the record
  zero-padded to 2**14 samples (without padding its circular FFT wraps the end of the response
  onto the start; at 10 s the pad is still a little short), single process
  (``pyrotd.processes = 1``) and with its default pool where there is more than one CPU.

Printed: best-of-n wall times (numba compilation excluded), time ratios and the max relative
difference to pyrotd, with its defaults (output sampled at the record's rate, or 10 samples per
oscillator period where that is finer: peaks missed by up to 5 %) and at max_freq_ratio=50
(>= 100 samples per period, its inverse-FFT scaling corrected), which is the accurate
reference.
"""
import importlib.metadata
import os
import sys
import time
import types

import numpy as np
from scipy import signal

from obspy_gen.core.intensity import spectral_acceleration


def import_pyrotd():
    # pyrotd 0.6 imports pkg_resources (gone from recent setuptools) for its version only.
    # Only while pyrotd is imported: a stand-in left in sys.modules would confuse other
    # users of pkg_resources (pytest's monkeypatch.syspath_prepend, for one).
    shim = None
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.get_distribution = lambda name: types.SimpleNamespace(
                version=importlib.metadata.version(name))
            sys.modules["pkg_resources"] = shim
    try:
        import pyrotd
    finally:
        if shim is not None and sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]
    return pyrotd


def best(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    pyrotd = import_pyrotd()
    dt, n = 0.01, 6000
    rng = np.random.default_rng(0)
    t = np.arange(n) * dt
    acc = rng.standard_normal(n) * (t / 10) ** 2 * np.exp(-2 * t / 10)
    acc = signal.sosfiltfilt(signal.butter(4, [0.1, 40], "bandpass", fs=100, output="sos"), acc)
    acc *= signal.windows.tukey(n, 0.05)
    periods = np.geomspace(0.01, 10.0, 100)
    padded = np.concatenate([acc, np.zeros(2**14 - n)])

    auto = spectral_acceleration(acc, dt, periods)
    plain = spectral_acceleration(acc, dt, periods, oversample=1)
    t_auto = best(lambda: spectral_acceleration(acc, dt, periods))
    t_plain = best(lambda: spectral_acceleration(acc, dt, periods, oversample=1))

    default_processes = pyrotd.processes
    pyrotd.processes = 1
    ref = pyrotd.calc_spec_accels(dt, padded, 1 / periods, 0.05).spec_accel
    t_ref = best(lambda: pyrotd.calc_spec_accels(dt, padded, 1 / periods, 0.05), repeat=3)
    pyrotd.processes = default_processes
    t_ref_pool = (best(lambda: pyrotd.calc_spec_accels(dt, padded, 1 / periods, 0.05), repeat=2)
                  if default_processes > 1 else None)
    # Accurate reference: >= 100 output samples per oscillator period, pyrotd's inverse-FFT
    # scaling m / n corrected to (m - 1) / (n - 1) (see tests/test_intensity.py), and for
    # T >= 1 s a longer zero pad (the 5 %-damped response of a 10-s oscillator needs ~450 s to
    # decay to 1e-6 before the circular FFT wraps it round).
    ratio, fine = 50, np.empty(periods.size)
    for sel, N in ((periods < 1.0, 2**14), (periods >= 1.0, 2**16)):
        x = np.concatenate([acc, np.zeros(N - n)])
        r = pyrotd.calc_spec_accels(dt, x, 1 / periods[sel], 0.05,
                                    max_freq_ratio=ratio).spec_accel
        m = np.maximum(N // 2 + 1, (ratio / periods[sel] * N * dt).astype(int))
        fine[sel] = r * ((m - 1) / (N // 2)) / (m / (N // 2 + 1))

    import numba
    print(f"Sa, 100 periods 0.01-10 s, 60-s 100-Hz record; {os.cpu_count()} CPUs, "
          f"numba threads {numba.get_num_threads()}, pyrotd pool {default_processes}")
    rows = [("ours, oversample='auto'", t_auto), ("ours, oversample=1", t_plain),
            ("pyrotd, 1 process", t_ref)]
    if t_ref_pool is not None:
        rows.append((f"pyrotd, pool of {default_processes}", t_ref_pool))
    for label, sec in rows:
        print(f"  {label:28s} {sec * 1e3:9.1f} ms   pyrotd(1 process) / this = {t_ref / sec:6.1f}")
    long = periods >= 0.2
    for label, r in (("pyrotd defaults", ref), ("pyrotd max_freq_ratio=50", fine)):
        rel = lambda x: np.abs(x / r - 1)  # noqa: E731
        print(f"  max |Sa / {label} - 1|: auto {rel(auto).max():.1e} (T >= 0.2 s: "
              f"{rel(auto)[long].max():.1e}), oversample=1 {rel(plain).max():.1e} "
              f"(T >= 0.2 s: {rel(plain)[long].max():.1e})")


if __name__ == "__main__":
    main()

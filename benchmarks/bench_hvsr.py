"""Konno-Ohmachi smoothing and HVSR speed against the field's references, in one run.

Run:  python benchmarks/bench_hvsr.py            (needs hvsrpy, ipython and pykooh installed)

(a) one spectrum of 32,769 bins (65,536-point FFT at 100 Hz) onto 512 log-spaced centres
    0.2-50 Hz: ours (main lobe; "cold" = weights computed in the call, "warm" = weights reused)
    vs hvsrpy.smoothing.konno_and_ohmachi and pykooh.smooth(simplified=True), both main lobe;
    ours (full kernel) vs ObsPy's per-centre konno_ohmachi_smoothing_window(normalize=True).
(b) the same for a batch of 120 spectra (one hour in 60-s windows: 60 H + 60 V spectra).
(c) a full HVSR of a one-hour 3-component 100-Hz record (60-s windows, squared average,
    KO b=40 on 200 centres 0.2-40 Hz) vs hvsrpy's preprocess + process with the same settings,
    and the bare FFT of the same windows (the floor).
Times are the best of several runs after a warm-up (numba compilation excluded).
"""
import time

import numpy as np
import scipy.fft

from obspy_gen import hvsr, konno_ohmachi
from obspy_gen.core import smoothing


def best(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cold(fn):
    def run():
        smoothing._cached_main_lobe.cache_clear()
        return fn()
    return run


def smoothing_benchmarks():
    from hvsrpy.smoothing import konno_and_ohmachi
    from obspy.signal.konnoohmachismoothing import konno_ohmachi_smoothing_window
    import pykooh

    rng = np.random.default_rng(0)
    freq = np.fft.rfftfreq(65536, 0.01)
    assert freq.size == 32769
    centers = np.geomspace(0.2, 50, 512)
    spectra = np.abs(rng.standard_normal((120, freq.size))) + 0.1

    def obspy_windows(a):
        # ObsPy computes one full window per centre; reuse it for every spectrum of the batch.
        out = np.empty((a.shape[0], centers.size))
        for i, fc in enumerate(centers):
            out[:, i] = a @ konno_ohmachi_smoothing_window(freq, fc, 40.0, normalize=True)
        return out

    rows = []
    for label, a in (("(a) 1 spectrum", spectra[:1]), ("(b) 120 spectra", spectra)):
        t_cold = best(cold(lambda: konno_ohmachi(a, freq, centers)))
        t_warm = best(lambda: konno_ohmachi(a, freq, centers))
        t_hv = best(lambda: konno_and_ohmachi(freq, a, centers, 40.0), repeat=3)
        t_ko = best(lambda: [pykooh.smooth(centers, freq, s, 40.0, normalize=True,
                                           simplified=True) for s in a], repeat=3)
        t_full = best(lambda: konno_ohmachi(a, freq, centers, truncation="full"), repeat=3)
        t_obspy = best(lambda: obspy_windows(a), repeat=1)
        ours = konno_ohmachi(a, freq, centers)
        d_hv = np.max(np.abs(ours / konno_and_ohmachi(freq, a, centers, 40.0) - 1))
        ko = np.array([pykooh.smooth(centers, freq, s, 40.0, normalize=True, simplified=True)
                       for s in a])
        d_ko = np.nanmax(np.abs(ours / ko - 1))
        d_ob = np.max(np.abs(konno_ohmachi(a, freq, centers, truncation="full")
                             / obspy_windows(a) - 1))
        fastest = min(t_hv, t_ko)
        rows.append((label, t_cold, t_warm, t_hv, t_ko, fastest / t_cold, fastest / t_warm,
                     t_full, t_obspy, t_obspy / t_full, d_hv, d_ko, d_ob))
    print("Konno-Ohmachi smoothing, b=40, 32,769 bins -> 512 centres 0.2-50 Hz (ms)")
    print(f"{'case':16s} {'ours cold':>9s} {'ours warm':>9s} {'hvsrpy':>8s} {'pykooh':>8s} "
          f"{'x cold':>7s} {'x warm':>7s} | {'ours full':>9s} {'ObsPy':>8s} {'x full':>7s} "
          f"| max rel diff hvsrpy / pykooh / ObsPy")
    for r in rows:
        print(f"{r[0]:16s} {r[1]*1e3:9.2f} {r[2]*1e3:9.2f} {r[3]*1e3:8.1f} {r[4]*1e3:8.1f} "
              f"{r[5]:7.1f} {r[6]:7.1f} | {r[7]*1e3:9.2f} {r[8]*1e3:8.1f} {r[9]:7.1f} "
              f"| {r[10]:.1e} / {r[11]:.1e} / {r[12]:.1e}")
    print("x = speed-up over the fastest main-lobe peer (hvsrpy, pykooh); x full = over ObsPy")


def hvsr_benchmark():
    import hvsrpy
    from hvsrpy.seismic_recording_3c import SeismicRecording3C
    from hvsrpy.timeseries import TimeSeries
    from obspy import Stream, Trace

    rng = np.random.default_rng(1)
    n = 360001  # one hour at 100 Hz + the boundary sample hvsrpy's windows share
    data = {c: rng.standard_normal(n) for c in "NEZ"}
    st = Stream([Trace(data[c], header=dict(station="BENCH", channel=f"HN{c}",
                                            sampling_rate=100.0)) for c in "NEZ"])
    centers = np.geomspace(0.2, 40, 200)
    kwargs = dict(window_length=60, combine="squared_average", fmin=0.2, fmax=40, nfreq=200)

    def ours():
        return hvsr(st, **kwargs)

    def theirs():
        rec = SeismicRecording3C(*(TimeSeries(data[c].copy(), 0.01) for c in "NEZ"))
        pre = hvsrpy.HvsrPreProcessingSettings(window_length_in_seconds=60, detrend="linear")
        proc = hvsrpy.HvsrTraditionalProcessingSettings(
            window_type_and_width=("tukey", 0.1), method_to_combine_horizontals="squared_average",
            smoothing=dict(operator="konno_and_ohmachi", bandwidth=40,
                           center_frequencies_in_hz=centers))
        return hvsrpy.process(hvsrpy.preprocess([rec], pre), proc)

    windows = np.stack([data[c][:n - 1].reshape(60, 6000)
                        for c in "NEZ"])

    def floor():
        return scipy.fft.rfft(windows, n=32768, axis=-1, workers=-1)

    t_ours, t_theirs, t_floor = best(ours), best(theirs, repeat=3), best(floor)
    diff = np.max(np.abs(ours().curves / theirs().amplitude - 1))
    print("\nFull HVSR, 1 h x 3 components at 100 Hz, 60 x 60-s windows, nfft 32768, 200 centres")
    print(f"ours {t_ours*1e3:.1f} ms | hvsrpy {t_theirs*1e3:.1f} ms (x{t_theirs/t_ours:.1f}) | "
          f"bare FFT floor {t_floor*1e3:.1f} ms (ours = {t_ours/t_floor:.2f} x floor) | "
          f"max rel diff vs hvsrpy {diff:.1e}")


if __name__ == "__main__":
    import numba
    print(f"numba threads: {numba.get_num_threads()}")
    smoothing_benchmarks()
    hvsr_benchmark()

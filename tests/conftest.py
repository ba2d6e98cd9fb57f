"""Shared fixtures: real data from ../shared/data and physically simulated site records."""
from pathlib import Path

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def layer_transfer(freq, f0, impedance_ratio=0.25, damping=0.02):
    """SH transfer function (surface / outcrop) of one damped layer over an elastic half-space.

    Kramer (1996) Eq. 7.36: H = 1 / (cos k*H + i a* sin k*H) with complex shear modulus; the
    layer thickness enters only through f0 = Vs / 4H.
    """
    kh = (np.pi / 2) * freq / f0 / (1 + 1j * damping)
    return 1.0 / (np.cos(kh) + 1j * impedance_ratio * (1 + 1j * damping) * np.sin(kh))


def resonance_record(f0, duration=600.0, fs=100.0, seed=0, station="SITE", network="XX",
                     start=UTCDateTime(2024, 1, 1), channels=("HNN", "HNE", "HNZ")):
    """3-component noise whose horizontals pass through a layer resonating at f0 (vertical not)."""
    rng = np.random.default_rng(seed)
    n = int(duration * fs)
    freq = np.fft.rfftfreq(n, 1 / fs)
    h = layer_transfer(freq, f0)
    traces = []
    for ch in channels:
        x = rng.standard_normal(n)
        if not ch.endswith(("Z", "UD", "3")):
            x = np.fft.irfft(np.fft.rfft(x) * h, n)
        traces.append(Trace(x.astype(np.float64), header=dict(
            network=network, station=station, channel=ch, sampling_rate=fs, starttime=start)))
    return Stream(traces)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is not present")
    return SHARED_DATA

"""TimesNet-Gen's linear low-frequency path (``crossover``) and the band loss (issue 14).

The decoder's nonlinearities demodulate strong high-frequency motion into low-frequency
content that follows the envelope; below the crossover the output comes from a linear path
of the latent instead, which cannot. The band loss counts each frequency band's relative
waveform error alike."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.plugins.timesnet_gen import train as T  # noqa: E402
from obspy_gen.plugins.timesnet_gen.model import (BAND_EDGES, TimesNetGen,  # noqa: E402
                                                  TimesNetGenConfig, band_loss)
from obspy_gen.plugins.timesnet_gen.store import load_model  # noqa: E402

from .conftest import resonance_record  # noqa: E402
from .test_timesnet_gen_spectral_loss import as_tensor, assert_gradient_step_lowers  # noqa: E402

FS, N = 100.0, 6000
TINY = dict(seq_len=N, d_model=8, d_ff=8, e_layers=1, d_layers=1, num_kernels=2,
            latent_channels=4, latent_stride=4)


def band_energy(x, edges, fs=FS):
    """numpy reference: energy of the de-meaned x (C, T) per band [lo, hi)."""
    x = x - x.mean(-1, keepdims=True)
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / fs)
    return np.stack([spec[:, (f >= lo) & (f < hi)].sum(-1)
                     for lo, hi in zip(edges[:-1], edges[1:])], -1)


def lowpass_energy(y, below, above=0.05, fs=FS):
    spec = np.abs(np.fft.rfft(np.asarray(y, dtype=float))) ** 2
    f = np.fft.rfftfreq(np.shape(y)[-1], 1 / fs)
    return spec[..., (f > above) & (f < below)].sum(-1)


@pytest.fixture(scope="module")
def record():
    """60 s of a 6-Hz site (N, E, Z), shaped by a 10-s burst envelope."""
    x = as_tensor(resonance_record(6.0, N / FS, FS, seed=5))
    t = np.arange(N) / FS
    env = torch.from_numpy((np.exp(-((t - 20) / 5) ** 2)).astype(np.float32))
    return x * env


def test_band_loss_matches_a_numpy_reference(record):
    rng = np.random.default_rng(1)
    y = record + 0.3 * torch.from_numpy(rng.standard_normal(record.shape).astype(np.float32))
    x64, y64 = record[0].double().numpy(), y[0].double().numpy()
    p = band_energy(x64, BAND_EDGES)
    e = band_energy(y64 - x64, BAND_EDGES)
    level = 1e-4 * p.max(-1, keepdims=True)
    expected = np.log1p(e / (p + level)).mean()
    assert float(band_loss(y, record, FS, water=1e-4)) == pytest.approx(expected, rel=1e-4)
    assert float(band_loss(record, record, FS)) == 0.0


def test_band_loss_weighs_a_weak_band_like_a_strong_one(record):
    """The same relative error costs the same in the strong 4-8 Hz band as in the weak
    0.5-1 Hz band (where the plain MSE is ~100x smaller)."""
    f = torch.fft.rfftfreq(N, 1 / FS)

    def scaled(lo, hi, gain):
        spec = torch.fft.rfft(record)
        spec[..., (f >= lo) & (f < hi)] *= gain
        return torch.fft.irfft(spec, N)
    weak, strong = scaled(0.52, 1.07, 1.5), scaled(4.54, 9.38, 1.5)
    mse_weak = float(((weak - record) ** 2).mean())
    mse_strong = float(((strong - record) ** 2).mean())
    assert mse_strong > 20 * mse_weak
    assert float(band_loss(weak, record, FS)) == pytest.approx(
        float(band_loss(strong, record, FS)), rel=0.05)
    assert_gradient_step_lowers(lambda p: band_loss(p, record, FS), weak)


def test_crossover_output_below_it_comes_from_the_linear_path_only(record):
    torch.manual_seed(0)
    net = TimesNetGen(TimesNetGenConfig(**TINY)).eval()
    cross = net.with_crossover(2.0).eval()
    assert cross.config.crossover == 2.0
    with torch.no_grad():
        y0 = net(record)[0].numpy()
        y1 = cross(record)[0].numpy()
    # The plain decoder puts energy below 1 Hz; with the (still zero) linear path none is left
    # there, and above 4 Hz the output is unchanged.
    assert lowpass_energy(y1, 1.0).max() < 1e-6 * lowpass_energy(y0, 1.0).min()
    spec0, spec1 = np.fft.rfft(y0), np.fft.rfft(y1)
    f = np.fft.rfftfreq(N, 1 / FS)
    assert np.allclose(spec1[:, f > 4.0], spec0[:, f > 4.0], rtol=0.01,
                       atol=1e-3 * np.abs(spec0).max())
    # A linear path: the low-frequency output scales with the code, exactly.
    with torch.no_grad():
        torch.nn.init.normal_(cross.low_path.weight)
        z, mean, std = cross.encode(record)
        low1 = cross.decode(z, mean, std, normalised=True)[0].numpy()
        low2 = cross.decode(2 * z, mean, std, normalised=True)[0].numpy()
    ratio = lowpass_energy(low2, 0.5) / lowpass_energy(low1, 0.5)
    assert np.allclose(ratio, 4.0, rtol=1e-3)


def test_paths_are_complementary():
    """If both paths give the same signal, the output is that signal."""
    cfg = TimesNetGenConfig(**TINY, crossover=2.0)
    net = TimesNetGen(cfg)
    g = net.low_gain
    assert float(g[0]) == 1.0 and float(g[-1]) < 1e-9
    sig = torch.randn(1, 3, N)
    out = torch.fft.irfft(torch.fft.rfft(sig) * (1 - g) + torch.fft.rfft(sig) * g, N)
    assert torch.allclose(out, sig, atol=1e-5)
    with pytest.raises(ValueError, match="crossover"):
        TimesNetGenConfig(**TINY, crossover=60.0)


def test_finetune_with_crossover_and_band_loss_round_trips(tmp_path):
    from .test_timesnet_gen_train import ARCH, records
    out = tmp_path / "x"
    h = T.finetune(records(("TA", "TB")), out, arch=ARCH, epochs=1, batch_size=4, seed=0,
                   device="cpu", quiet=True, crossover=2.0, band_loss=0.5)
    assert np.isfinite(h["epochs"][0]["train_loss"])
    loaded = load_model(out)
    assert loaded.arch.crossover == 2.0 and loaded.model.low_path is not None
    assert "0.5 x mean ln(1 + relative error energy)" in loaded.config["training"]["loss"]
    # Weights round-trip: the reloaded network computes what the trained one saved.
    x = torch.randn(1, 3, loaded.arch.seq_len)
    with torch.no_grad():
        a = loaded.model.eval()(x, torch.tensor([0]))
        b = load_model(out).model.eval()(x, torch.tensor([0]))
    assert torch.equal(a, b)
    assert float(a.abs().sum()) > 0

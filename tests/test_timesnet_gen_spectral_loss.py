"""The spectral, H/V, envelope and Husid loss terms of TimesNet-Gen training (issue 14): their
H/V is the HVSR's, they see a spurious H/V peak, the envelope and Husid terms see a shifted or
lengthened record (the Husid term's curves are obspy_gen.core.intensity.husid's), they are
differentiable, and training with them runs (the Husid term also from the CLI)."""
import numpy as np
import pytest
from obspy import Stream, Trace

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.core.hvsr import hvsr  # noqa: E402
from obspy_gen.core.settings import HVSRSettings  # noqa: E402
from obspy_gen.plugins.timesnet_gen import train as T  # noqa: E402
from obspy_gen.core.intensity import husid, significant_duration  # noqa: E402
from obspy_gen.plugins.timesnet_gen.model import (SpectralSmoother, envelope_loss,  # noqa: E402
                                                  husid_curves, husid_loss, hv_loss,
                                                  spectral_loss)
from obspy_gen.plugins.timesnet_gen.store import load_model  # noqa: E402

from .conftest import layer_transfer, resonance_record  # noqa: E402

FS, N = 100.0, 6000


def as_tensor(st):
    """(1, 3, N) N, E, Z of a resonance_record."""
    return torch.from_numpy(np.stack([tr.data for tr in st])[None].astype(np.float32))


def assert_gradient_step_lowers(loss_of, start):
    """The gradient is non-zero and a step sized to lower ``loss_of`` by 5 % to first order
    lowers it by at least 1 %."""
    p = start.clone().requires_grad_(True)
    before = loss_of(p)
    before.backward()
    assert float(p.grad.abs().sum()) > 0
    with torch.no_grad():
        stepped = p - 0.05 * before / (p.grad ** 2).sum() * p.grad
    assert float(loss_of(stepped)) < 0.99 * float(before.detach())


@pytest.fixture(scope="module")
def plain_finetune(tmp_path_factory):
    """The fine-tune settings of the end-to-end tests and the first-epoch loss without the
    new terms (trained once for both tests)."""
    from .test_timesnet_gen_train import ARCH, records
    kw = dict(arch=ARCH, epochs=1, batch_size=4, seed=0, device="cpu", quiet=True)
    plain = T.finetune(records(("TA", "TB")), tmp_path_factory.mktemp("plain") / "plain", **kw)
    return records, kw, plain["epochs"][0]["train_loss"]


def loss_text_of_finetune_with(tmp_path, plain_finetune, **terms):
    """Fine-tune once with extra loss ``terms``; the first epoch's loss must be finite and
    above the plain fine-tune's (the same first step, plus the new terms). Returns the loss
    the checkpoint records."""
    records, kw, loss0 = plain_finetune
    h = T.finetune(records(("TA", "TB")), tmp_path / "run", **terms, **kw)
    loss = h["epochs"][0]["train_loss"]
    assert np.isfinite(loss) and loss > loss0
    return load_model(tmp_path / "run").config["training"]["loss"]


@pytest.fixture(scope="module")
def smoother():
    return SpectralSmoother(N, FS, **T.SPECTRAL_BAND)


@pytest.fixture(scope="module")
def site():
    """A 60-s record of an 8-Hz site, and the same record with a spurious 2-Hz H/V peak (its
    horizontals also passed through a 2-Hz layer; the vertical unchanged)."""
    x = as_tensor(resonance_record(8.0, N / FS, FS, seed=3))
    freq = np.fft.rfftfreq(N, 1 / FS)
    h2 = torch.from_numpy(np.abs(layer_transfer(freq, 2.0)).astype(np.float32))
    y = x.clone()
    y[:, :2] = torch.fft.irfft(torch.fft.rfft(x[:, :2]) * h2, N)
    return x, y


def test_smoothed_hv_is_the_hvsr_curve(site, smoother):
    x, y = site
    settings = HVSRSettings(detrend="constant", taper=0.1, nfft="window", fmin=0.5, fmax=25.0,
                            nfreq=64, bandwidth=40.0, combine="squared_average")
    for rec in (x, y):
        st = Stream([Trace(rec[0, k].numpy().astype(np.float64),
                           header=dict(station="S", channel=ch, sampling_rate=FS))
                     for k, ch in enumerate(("HNN", "HNE", "HNZ"))])
        res = hvsr(st, settings)
        np.testing.assert_allclose(res.frequency, smoother.centres, rtol=1e-12)
        h, v = smoother.hv(rec)[0].double().numpy()
        np.testing.assert_allclose(h / v, res.curves[0], rtol=2e-3)


def test_losses_are_zero_for_identical_records(site, smoother):
    x, y = site
    assert float(spectral_loss(x, x, smoother)) == 0.0
    assert float(hv_loss(y, y, smoother)) == 0.0


def test_hv_loss_sees_a_spurious_peak_and_ignores_a_common_scale(site, smoother):
    x, y = site
    spurious = float(hv_loss(y, x, smoother))
    # ln H/V of y exceeds x's by the ln amplification of the 2-Hz layer (up to ln 4 at 2 Hz
    # and its odd harmonics), averaged over the 64 centres 0.5-25 Hz.
    assert 0.1 < spurious < 2
    h, v = smoother.hv(y)[0] / smoother.hv(x)[0]
    excess = torch.log(h / v).numpy()
    assert abs(smoother.centres[int(np.argmax(excess))] - 2.0) < 0.3
    # Scaling all three channels leaves H/V alone (hv_loss only feels the water level, which
    # follows the target); the spectra loss sees it.
    assert float(hv_loss(3 * x, x, smoother)) < 1e-3 * spurious
    assert float(spectral_loss(3 * x, x, smoother)) > 0.5
    # The spectra loss of the spurious peak: the horizontals change, the vertical not.
    assert float(spectral_loss(y, x, smoother)) > 0.1


def test_water_level_bounds_the_noise_bins(site, smoother):
    x, _ = site
    # A reconstruction that is right except for 1e-6-level noise where the target is weak:
    # with the water level at 1 % of the peak, the loss stays small.
    y = x + 1e-6 * x.abs().max() * torch.randn_like(x)
    assert float(spectral_loss(y, x, smoother)) < 1e-3
    assert float(hv_loss(y, x, smoother)) < 1e-3


def test_losses_are_differentiable(site, smoother):
    x, y = site
    for fn in (spectral_loss, hv_loss):
        for start in (y, torch.zeros_like(x)):  # finite even where |FFT| = 0
            p = start.clone().requires_grad_(True)
            fn(p, x, smoother).backward()
            assert torch.isfinite(p.grad).all()
            assert float(p.grad.abs().sum()) > 0 or start is not y
    # A gradient step on the spurious record lowers its H/V error.
    assert_gradient_step_lowers(lambda p: hv_loss(p, x, smoother), y)


def test_finetune_with_spectral_and_hv_loss_end_to_end(tmp_path, plain_finetune):
    text = loss_text_of_finetune_with(tmp_path, plain_finetune, spectral_loss=0.5,
                                      hv_loss=0.5)
    assert "0.5 x MSE of ln smoothed amplitude spectra" in text and "0.5 x MSE of ln H/V" in text
    with pytest.raises(ValueError, match="spectral_loss must be >= 0"):
        T.TimesNetGenTrainSettings(spectral_loss=-1)


def test_windowed_spectral_loss_sees_energy_moved_in_time(smoother):
    rng = np.random.default_rng(0)
    x = torch.zeros(1, 3, N)
    burst = torch.from_numpy(rng.standard_normal((3, 1000)).astype(np.float32))
    x[0, :, 1500:2500] = burst
    y = torch.zeros_like(x)
    y[0, :, 3500:4500] = burst               # the same burst 20 s later
    whole = float(spectral_loss(y, x, smoother))
    windowed = float(spectral_loss(y, x, SpectralSmoother(2000, FS, **T.SPECTRAL_BAND)))
    assert whole < 1e-3 and windowed > 1.0
    assert float(spectral_loss(x, x, SpectralSmoother(2000, FS, **T.SPECTRAL_BAND))) == 0.0


def site_burst(decay_s, onset_s=10.0, seed=3):
    """The 8-Hz site's record (resonance noise: horizontals through the layer) under a
    Saragoni-Hart-like envelope t exp(-t / decay) starting at ``onset_s``: an earthquake
    record whose duration grows with ``decay_s``."""
    x = as_tensor(resonance_record(8.0, N / FS, FS, seed=seed))
    t = np.arange(N) / FS - onset_s
    env = np.where(t > 0, t * np.exp(-np.clip(t, 0, None) / decay_s), 0.0)
    return x * torch.from_numpy((env / env.max()).astype(np.float32))


def d5_95(x):
    """Significant duration (s) of channel 0: 5-95 % of the Arias intensity."""
    husid = np.cumsum(x[0, 0].double().numpy() ** 2)
    husid /= husid[-1]
    return (np.searchsorted(husid, 0.95) - np.searchsorted(husid, 0.05)) / FS


def test_envelope_loss_is_zero_for_identical_records(site):
    x, y = site
    assert float(envelope_loss(x, x, FS)) == 0.0
    b = site_burst(2.0)
    assert float(envelope_loss(b, b, FS)) == 0.0


def test_envelope_loss_sees_a_shifted_or_lengthened_record(smoother):
    x = site_burst(2.0)
    # The same record 10 s later: the whole-record spectra hardly change, the envelope does.
    shifted = torch.roll(x, 1000, -1)
    assert float(spectral_loss(shifted, x, smoother)) < 0.05
    assert float(envelope_loss(shifted, x, FS)) > 3.0
    # Lengthened codas (the same noise, slower decay): the loss grows with D5-95.
    durations, losses = [d5_95(x)], [0.0]
    for decay in (3.0, 4.0, 6.0):
        y = site_burst(decay)
        durations.append(d5_95(y))
        losses.append(float(envelope_loss(y, x, FS)))
    assert np.all(np.diff(durations) > 1.0) and np.all(np.diff(losses) > 0)
    assert losses[1] > 0.1
    # A common scale of all channels costs at most (ln 2)^2 (its full value where the
    # envelope is far above the water level, less in the quiet windows before and after).
    assert 0.1 < float(envelope_loss(2 * x, x, FS)) < np.log(2) ** 2


def test_envelope_loss_is_differentiable():
    x, y = site_burst(2.0), site_burst(4.0)
    for start in (y, torch.zeros_like(x)):   # finite even where the envelope is zero
        p = start.clone().requires_grad_(True)
        envelope_loss(p, x, FS).backward()
        assert torch.isfinite(p.grad).all()
    assert_gradient_step_lowers(lambda p: envelope_loss(p, x, FS), y)


def test_finetune_with_envelope_loss_end_to_end(tmp_path, plain_finetune):
    text = loss_text_of_finetune_with(tmp_path, plain_finetune, envelope_loss=0.5)
    assert "0.5 x MSE of ln 1.0-s RMS envelopes" in text


def numpy_husid(x):
    """(B, C, T) tensor -> (B, C, T) Husid curves of the de-meaned traces by the core's
    numpy implementation."""
    a = x.double().numpy()
    return np.stack([[husid(tr - tr.mean(), 1 / FS) for tr in rec] for rec in a])


def test_husid_loss_equals_the_numpy_reference():
    x = torch.cat([site_burst(2.0), site_burst(3.0, onset_s=15.0, seed=4)])
    y = torch.cat([site_burst(4.0), site_burst(2.0, onset_s=5.0, seed=4)])
    hx, hy = numpy_husid(x), numpy_husid(y)
    np.testing.assert_allclose(husid_curves(x).numpy(), hx, rtol=1e-9, atol=1e-12)
    assert hx.shape == (2, 3, N) and np.all(np.diff(hx, axis=-1) >= 0)
    np.testing.assert_allclose(hx[..., 0], 0)
    np.testing.assert_allclose(hx[..., -1], 1)
    np.testing.assert_allclose(float(husid_loss(y, x)), np.mean(np.abs(hy - hx)), rtol=1e-5)
    np.testing.assert_allclose(float(husid_loss(y, x, 2)), np.mean((hy - hx) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match="power=3 must be 1 or 2"):
        husid_loss(y, x, 3)


def test_husid_loss_is_zero_for_identical_or_rescaled_records(site):
    x, _ = site
    b = site_burst(2.0)
    assert float(husid_loss(x, x)) == 0.0 and float(husid_loss(b, b)) == 0.0
    # The curves are normalised: a common scale changes nothing (the spectral terms see it).
    assert float(husid_loss(3 * b, b)) < 1e-6
    assert float(husid_loss(torch.zeros_like(b), torch.zeros_like(b))) == 0.0


def test_husid_loss_sees_shifted_and_lengthened_energy(smoother):
    x = site_burst(2.0)
    # 10 s later: the Husid curve moves by 10 s of the 60-s window, so the mean absolute
    # difference (the earth mover's distance of the energy in time) is 10 / 60.
    shifted = torch.roll(x, 1000, -1)
    assert float(spectral_loss(shifted, x, smoother)) < 0.05
    assert float(husid_loss(shifted, x)) == pytest.approx(1000 / N, rel=0.02)
    # Lengthened codas: the loss grows with D5-95.
    durations, losses = [significant_duration(x[0, 0].double().numpy(), 1 / FS)], [0.0]
    for decay in (3.0, 4.0, 6.0):
        y = site_burst(decay)
        durations.append(significant_duration(y[0, 0].double().numpy(), 1 / FS))
        losses.append(float(husid_loss(y, x)))
    assert np.all(np.diff(durations) > 1.0) and np.all(np.diff(losses) > 0)
    assert losses[1] > 0.01
    # Linear in energy: a coda with 1 % of the energy costs little; the ln envelope term
    # weighs it like the strong motion.
    # (a 30-s coda with 1 % of each channel's energy moves the curves by at most 0.01).
    noise = torch.randn(1, 3, N - 3000, generator=torch.Generator().manual_seed(0))
    noise *= torch.sqrt(0.01 / 0.99 * (x ** 2).sum(-1, keepdim=True)
                        / (noise ** 2).sum(-1, keepdim=True))
    coda = x.clone()
    coda[..., 3000:] += noise
    share = (coda[..., 3000:] ** 2).sum(-1) / (coda ** 2).sum(-1)
    assert torch.allclose(share, torch.full_like(share, 0.01), rtol=0.05)
    assert 0.001 < float(husid_loss(coda, x)) < 0.01
    assert float(envelope_loss(coda, x, FS)) > 0.5


def test_husid_loss_is_differentiable():
    x, y = site_burst(2.0), site_burst(4.0)
    for start in (y, torch.zeros_like(x)):   # finite even for a silent record
        p = start.clone().requires_grad_(True)
        husid_loss(p, x).backward()
        assert torch.isfinite(p.grad).all()
    for power in (1, 2):
        assert_gradient_step_lowers(lambda p: husid_loss(p, x, power), y)


def test_finetune_with_husid_loss_end_to_end(tmp_path, plain_finetune):
    text = loss_text_of_finetune_with(tmp_path, plain_finetune, husid_loss=0.5)
    assert "0.5 x mean absolute difference of the Husid curves" in text
    with pytest.raises(ValueError, match="husid_loss must be >= 0"):
        T.TimesNetGenTrainSettings(husid_loss=-1)


def test_pretrain_with_husid_loss_from_the_cli(tmp_path):
    from click.testing import CliRunner

    from obspy_gen.cli import main

    from .test_timesnet_gen_train import ARCH, records
    data = tmp_path / "data"
    data.mkdir()
    for i, r in enumerate(records(("TA", "TB", "TC"), n=2)):
        r.write(str(data / f"r{i}.mseed"), format="MSEED")
    args = ["train", "timesnet-gen", "--data", str(data), "--epochs", "1", "--device", "cpu",
            "--quiet", "--val-fraction", "0"]
    for k, v in ARCH.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    losses = {}
    for w in (0, 2):
        out = tmp_path / f"pre{w}"
        res = CliRunner().invoke(main, args + ["--out", str(out), "--husid-loss", str(w)])
        assert res.exit_code == 0, res.output
        cfg = load_model(out, "cpu").config["training"]
        losses[w] = cfg["history"][0]["train_loss"]
        assert ("x mean absolute difference of the Husid curves" in cfg["loss"]) == bool(w)
    assert losses[2] > losses[0]

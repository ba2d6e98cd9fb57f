"""The CVAE network and its STFT representation (paper Sec. II-B), checked against numpy/scipy."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from obspy_gen.plugins.cvae.model import (AMIN, CVAE, CVAEConfig, clustering_loss,  # noqa: E402
                                          kl_to_prior, soft_assignment, spectrogram,
                                          target_distribution, unwrap, waveform)

from .conftest import resonance_record  # noqa: E402

SMALL = dict(seq_len=2000, n_fft=64, hop=32, widths=(4, 4, 8, 8), latent_dim=20)


def _record(seconds=20.0, f0=3.0, seed=0):
    st = resonance_record(f0, duration=seconds, seed=seed)
    st.filter("lowpass", freq=30.0, corners=8)  # a recorder's anti-alias filter
    x = np.stack([tr.data for tr in st])[None] * 1e-3  # a weak motion, m/s^2
    return torch.from_numpy(x - x.mean(axis=-1, keepdims=True))


def test_unwrap_matches_numpy_on_every_row():
    rng = np.random.default_rng(1)
    phase = np.angle(np.exp(1j * np.cumsum(rng.uniform(-3, 3, size=(4, 5, 50)), axis=-1)))
    np.testing.assert_allclose(unwrap(torch.from_numpy(phase), dim=-1).numpy(),
                               np.unwrap(phase, axis=-1), atol=1e-12)


def test_spectrogram_channels_are_db_amplitude_and_unwrapped_phase():
    cfg = CVAEConfig(**SMALL)
    x = _record()
    img = spectrogram(x, cfg)
    assert img.shape == (1, 6, 32, cfg.frames) and cfg.frames % 16 == 0
    # Reference in numpy: reflect-padded frames, periodic Hann window, unscaled rFFT.
    n_frames = 1 + cfg.seq_len // cfg.hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.n_fft) / cfg.n_fft)
    for c in range(3):
        padded = np.pad(x[0, c].numpy(), cfg.n_fft // 2, mode="reflect")
        frames = np.stack([padded[k * cfg.hop:k * cfg.hop + cfg.n_fft]
                           for k in range(n_frames)])
        ref = np.fft.rfft(frames * window, axis=1).T[:cfg.freq_bins]
        db = 20 * np.log10(np.maximum(np.abs(ref), AMIN))
        np.testing.assert_allclose(img[0, c, :, :n_frames].numpy(), db, atol=1e-6)
        # Phase rows continuous along time: no jump of more than pi between frames.
        assert torch.diff(img[0, 3 + c, :, :n_frames], dim=-1).abs().max() <= np.pi + 1e-9
        wrapped = np.angle(np.exp(1j * img[0, 3 + c, :, :n_frames].numpy()))
        strong = np.abs(ref) > 1e-3 * np.abs(ref).max()   # phase of near-zero bins is noise
        err = np.angle(np.exp(1j * (wrapped - np.angle(ref))))
        assert np.abs(err[strong]).max() < 1e-6
    # Frames beyond the record: amplitude at the floor.
    assert torch.all(img[0, :3, :, n_frames:] == 20 * np.log10(AMIN))


def test_inverse_stft_restores_a_band_limited_record():
    cfg = CVAEConfig(**SMALL)
    x = _record()
    y = waveform(spectrogram(x, cfg), cfg)
    assert y.shape == x.shape
    # The dropped Nyquist row holds next to nothing of a 100-Hz accelerogram.
    assert float((x - y).abs().max()) < 0.02 * float(x.abs().max())
    assert float(((x - y) ** 2).sum() / (x ** 2).sum()) < 1e-3


def test_normalised_image_lies_in_the_unit_interval_and_inverts():
    cfg = CVAEConfig(**SMALL)
    model = CVAE(cfg)
    img = spectrogram(_record().float(), cfg)
    lo = img.amin(dim=(0, 3))
    hi = img.amax(dim=(0, 3))
    model.set_normalisation(lo, hi)
    norm = model.normalise(img)
    assert float(norm.min()) >= 0 and float(norm.max()) <= 1
    torch.testing.assert_close(model.denormalise(norm), img, atol=1e-3, rtol=1e-4)


def test_prior_means_tile_the_one_hot_code():
    model = CVAE(CVAEConfig(**{**SMALL, "latent_dim": 510}, n_stations=5))
    mu = model.prior_mean(torch.tensor([0, 3]))
    assert mu.shape == (2, 510)
    expected = np.tile(np.eye(5)[[0, 3]], (1, 102))
    np.testing.assert_array_equal(mu.numpy(), expected)
    # Distinct stations' priors are sqrt(2 * 102) apart; unconditioned: zeros.
    assert abs(float((mu[0] - mu[1]).norm()) - np.sqrt(204)) < 1e-5
    assert float(CVAE(CVAEConfig(**SMALL)).prior_mean(torch.tensor([0])).abs().sum()) == 0


def test_kl_equals_the_closed_form_of_two_gaussians():
    rng = np.random.default_rng(0)
    mu, logvar, prior = (rng.normal(size=(3, 6)) for _ in range(3))
    got = kl_to_prior(*(torch.from_numpy(a) for a in (mu, logvar, prior))).numpy()
    var = np.exp(logvar)
    # KL(N(m, v) || N(p, 1)) = 0.5 (v + (m - p)^2 - 1 - ln v), summed over dimensions.
    ref = 0.5 * (var + (mu - prior) ** 2 - 1 - np.log(var)).sum(1)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # Monte Carlo check of one row.
    z = mu[0] + np.sqrt(var[0]) * rng.standard_normal((200000, 6))
    logq = -0.5 * (((z - mu[0]) ** 2) / var[0] + logvar[0] + np.log(2 * np.pi)).sum(1)
    logp = -0.5 * ((z - prior[0]) ** 2 + np.log(2 * np.pi)).sum(1)
    assert abs((logq - logp).mean() - ref[0]) < 0.05


def test_dec_assignments_targets_and_loss_follow_equations_3_to_5():
    rng = np.random.default_rng(2)
    z, c = rng.normal(size=(7, 4)), rng.normal(size=(3, 4)) * 2
    q = soft_assignment(torch.from_numpy(z), torch.from_numpy(c)).numpy()
    d2 = ((z[:, None] - c[None]) ** 2).sum(-1)
    q_ref = 1 / (1 + d2)
    q_ref /= q_ref.sum(1, keepdims=True)
    np.testing.assert_allclose(q, q_ref, rtol=1e-10)
    w = q_ref ** 2 / q_ref.sum(0)
    p_ref = w / w.sum(1, keepdims=True)
    np.testing.assert_allclose(target_distribution(torch.from_numpy(q_ref)).numpy(), p_ref,
                               rtol=1e-10)
    loss = clustering_loss(torch.from_numpy(z), torch.from_numpy(c)).item()
    assert loss == pytest.approx((p_ref * np.log(p_ref / q_ref)).sum(1).mean(), rel=1e-10)
    # Gradient steps on codes scattered around three centres sharpen the clusters: every
    # code's strongest assignment grows (DEC's self-training) and the loss falls.
    c = np.eye(3, 4) * 4
    z = c[[0, 0, 1, 1, 1, 2, 2]] + rng.normal(size=(7, 4))
    q_ref = soft_assignment(torch.from_numpy(z), torch.from_numpy(c)).numpy()
    loss = clustering_loss(torch.from_numpy(z), torch.from_numpy(c)).item()
    zt = torch.tensor(z, requires_grad=True)
    opt = torch.optim.SGD([zt], lr=0.5)
    for _ in range(50):
        opt.zero_grad()
        clustering_loss(zt, torch.from_numpy(c)).backward()
        opt.step()
    q_after = soft_assignment(zt.detach(), torch.from_numpy(c)).numpy()
    assert np.all(q_after.max(1) > q_ref.max(1))
    np.testing.assert_array_equal(q_after.argmax(1), [0, 0, 1, 1, 1, 2, 2])
    assert clustering_loss(zt.detach(), torch.from_numpy(c)).item() < loss


def test_network_layout_is_the_papers():
    model = CVAE(CVAEConfig(n_stations=5))
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    deconvs = [m for m in model.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == 4 and len(deconvs) == 4
    assert all(m.kernel_size == (3, 3) for m in convs + deconvs)
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in model.encoder) == 4
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid)
    assert model.fc_mu.out_features == model.fc_logvar.out_features == 510
    img = torch.rand(2, *model.config.image_shape)
    with torch.no_grad():
        recon, mu, logvar = model.eval()(img)
    assert recon.shape == img.shape and float(recon.min()) >= 0 and float(recon.max()) <= 1
    # Eval mode decodes the mean; training mode samples.
    torch.testing.assert_close(recon, model.decode(mu))
    model.train()
    assert not torch.allclose(model(img)[0], recon)
    assert sum(p.numel() for p in model.parameters()) * 4 < 20e6


@pytest.mark.parametrize("bad", [dict(latent_dim=512, n_stations=5), dict(n_fft=63),
                                 dict(hop=200), dict(widths=(1, 2, 3)), dict(seq_len=10),
                                 dict(latent_dim=0)])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        CVAEConfig(**{**SMALL, **bad})


def test_config_round_trip_and_unknown_keys():
    cfg = CVAEConfig(**SMALL, n_stations=4)
    assert CVAEConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown architecture"):
        CVAEConfig.from_dict({**cfg.to_dict(), "depth": 3})

"""TimesNet-Gen network: merged Inception convolution, TimesBlock, conditioning, shapes."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from obspy_gen.plugins.timesnet_gen.model import (InceptionBlock, TimesBlock,  # noqa: E402
                                                  TimesNetGen, TimesNetGenConfig,
                                                  count_parameters, fft_periods,
                                                  reconstruction_loss)

TINY = dict(seq_len=240, d_model=6, d_ff=8, e_layers=1, d_layers=1, num_kernels=3, top_k=2,
            latent_channels=4, latent_stride=8)


@pytest.mark.parametrize("num_kernels", [1, 2, 3, 6])
@pytest.mark.parametrize("shape", [(2, 5, 7, 11), (1, 5, 1, 40), (3, 5, 30, 2)])
def test_merged_inception_equals_separate_convolutions(num_kernels, shape):
    torch.manual_seed(num_kernels)
    blk = InceptionBlock(shape[1], 4, num_kernels)
    for conv in blk.kernels:  # non-zero biases too
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(shape)
    merged, separate = blk(x), blk.forward_separate(x)
    assert merged.shape == separate.shape == (shape[0], 4) + shape[2:]
    torch.testing.assert_close(merged, separate, rtol=1e-5, atol=1e-5)


def test_merged_inception_keeps_separate_parameters_and_gradients():
    torch.manual_seed(0)
    blk = InceptionBlock(3, 2, num_kernels=3)
    assert [tuple(c.weight.shape[-2:]) for c in blk.kernels] == [(1, 1), (3, 3), (5, 5)]
    x = torch.randn(2, 3, 6, 9)
    blk(x).square().sum().backward()
    grads_merged = [c.weight.grad.clone() for c in blk.kernels]
    blk.zero_grad()
    blk.forward_separate(x).square().sum().backward()
    for g, c in zip(grads_merged, blk.kernels):
        torch.testing.assert_close(g, c.weight.grad, rtol=1e-4, atol=1e-5)


def test_fft_periods_follow_the_signal():
    t = torch.arange(600.0)
    x = (torch.sin(2 * torch.pi * t / 50) + 0.5 * torch.sin(2 * torch.pi * t / 12))
    periods, weights = fft_periods(x[None, :, None].repeat(2, 1, 3), 2)
    assert periods == [50, 12]
    assert weights.shape == (2, 2)


def test_timesblock_shapes_and_residual():
    torch.manual_seed(0)
    blk = TimesBlock(4, 8, num_kernels=2, top_k=3)
    x = torch.randn(2, 97, 4)  # a length no period divides: padding path
    y = blk(x)
    assert y.shape == x.shape
    for p in blk.parameters():
        torch.nn.init.zeros_(p)
    torch.testing.assert_close(blk(x), x)  # zero convolutions: the residual alone


def test_conditioning_equals_concatenated_one_hot_and_1x1_conv():
    torch.manual_seed(1)
    blk = TimesBlock(5, 6, num_kernels=2, top_k=1, n_stations=3)
    torch.nn.init.normal_(blk.cond.weight)
    torch.nn.init.normal_(blk.cond.bias)
    x2d = torch.randn(2, 5, 4, 7)
    onehot = torch.eye(3)[[2, 0]]
    literal = blk.cond(torch.cat([x2d, onehot[:, :, None, None].expand(-1, -1, 4, 7)], 1))
    torch.testing.assert_close(blk._condition(x2d, onehot), literal, rtol=1e-5, atol=1e-5)


def test_conditioned_model_needs_and_uses_the_station():
    torch.manual_seed(0)
    cfg = TimesNetGenConfig(**TINY, n_stations=3)
    model = TimesNetGen(cfg).eval()
    for blk in list(model.encoder) + list(model.decoder):
        torch.nn.init.normal_(blk.cond.weight, std=0.3)
    x = torch.randn(2, 3, cfg.seq_len)
    with pytest.raises(ValueError, match="station"):
        model(x)
    with pytest.raises(ValueError, match="out of range"):
        model(x, torch.tensor([0, 3]))
    a = model(x, torch.tensor([0, 0]))
    b = model(x, torch.tensor([1, 1]))
    assert a.shape == x.shape and not torch.allclose(a, b)


def test_unconditioned_variant_is_the_same_network():
    cond = TimesNetGen(TimesNetGenConfig(**TINY, n_stations=4))
    plain = TimesNetGen(TimesNetGenConfig(**TINY))
    extra = {k for k in cond.state_dict()} - {k for k in plain.state_dict()}
    assert extra and all(".cond." in k for k in extra)
    assert count_parameters(cond) - count_parameters(plain) == 2 * (6 * (6 + 4) + 6)


def test_with_stations_starts_from_the_pretrained_function():
    torch.manual_seed(2)
    base = TimesNetGen(TimesNetGenConfig(**TINY)).eval()
    cond = base.with_stations(5).eval()
    x = torch.randn(3, 3, TINY["seq_len"])
    torch.testing.assert_close(cond(x, torch.tensor([0, 4, 2])), base(x), rtol=1e-5,
                               atol=1e-5)
    assert cond.config.n_stations == 5


def test_encode_decode_shapes_and_denormalisation():
    cfg = TimesNetGenConfig(**TINY)
    model = TimesNetGen(cfg).eval()
    x = 3.0 + 0.01 * torch.randn(2, 3, cfg.seq_len)
    z, mean, std = model.encode(x)
    assert z.shape == (2,) + cfg.latent_shape == (2, 4, 30)
    torch.testing.assert_close(mean, x.mean(-1))
    y = model.decode(z, mean, std)
    assert y.shape == x.shape
    # De-normalised: the output lives on the record's scale, not the unit one.
    assert abs(float(y.detach().mean()) - 3.0) < 0.1
    yn = model.decode(z, mean, std, normalised=True)
    torch.testing.assert_close(y, yn * std[:, :, None] + mean[:, :, None])


def test_latent_padding_when_stride_does_not_divide():
    cfg = TimesNetGenConfig(**{**TINY, "seq_len": 250})
    model = TimesNetGen(cfg)
    z, mean, std = model.encode(torch.randn(1, 3, 250))
    assert z.shape[-1] == cfg.latent_length == 32
    assert model.decode(z, mean, std).shape == (1, 3, 250)


def test_wrong_input_shape_is_a_clear_error():
    model = TimesNetGen(TimesNetGenConfig(**TINY))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3, 240\)"):
        model(torch.randn(1, 3, 100))


def test_training_noise_only_in_training_mode():
    torch.manual_seed(0)
    model = TimesNetGen(TimesNetGenConfig(**TINY))
    x = torch.randn(1, 3, TINY["seq_len"])
    noise = torch.ones(1, *model.config.latent_shape)
    model.eval()
    torch.testing.assert_close(model(x, noise_std=noise), model(x))
    model.train()
    assert not torch.allclose(model(x, noise_std=noise), model(x))


def test_positional_encoding_option():
    torch.manual_seed(0)
    cfg = TimesNetGenConfig(**TINY, positional=True)
    model = TimesNetGen(cfg)
    assert model(torch.randn(1, 3, cfg.seq_len)).shape == (1, 3, cfg.seq_len)
    assert "pe" not in model.state_dict()  # a fixed buffer, not stored


def test_reconstruction_loss_weightings():
    x = torch.zeros(2, 3, 10)
    y = x.clone()
    y[0] += 1.0  # record 0 off by 1 everywhere
    std = torch.tensor([[1.0, 1.0, 1.0], [10.0, 10.0, 10.0]])
    assert float(reconstruction_loss(y, x, weighting="none")) == pytest.approx(0.5)
    assert float(reconstruction_loss(y, x, std)) == pytest.approx(0.5, rel=1e-4)
    y2 = x.clone()
    y2[1] += 10.0  # the same relative error on the loud record counts the same
    assert float(reconstruction_loss(y2, x, std)) == pytest.approx(0.5, rel=1e-4)
    with pytest.raises(ValueError):
        reconstruction_loss(y, x, std, weighting="other")


@pytest.mark.parametrize("bad", [dict(d_model=0), dict(dropout=1.0), dict(n_stations=-1),
                                 dict(seq_len=3)])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        TimesNetGenConfig(**{**TINY, **bad})


def test_config_round_trip_and_unknown_keys():
    cfg = TimesNetGenConfig(**TINY)
    assert TimesNetGenConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown architecture argument"):
        TimesNetGenConfig.from_dict({**cfg.to_dict(), "warp": 9})


def test_paper_size_parameter_count():
    # The paper's generator (d_model 128, d_ff 256, 6 kernels): ~37.5 M parameters in its
    # plain two-TimesBlock form, nearly all in the Inception convolutions.
    blk = TimesBlock(128, 256, num_kernels=6, top_k=2)
    assert 2 * count_parameters(blk) == pytest.approx(37.5e6, rel=0.01)
    w, _ = blk.conv[0].merged_weight()
    assert tuple(w.shape) == (256, 128, 11, 11)


def test_batch_invariance_for_single_records():
    # Records are generated one at a time: the same code decodes to the same record.
    torch.manual_seed(3)
    model = TimesNetGen(TimesNetGenConfig(**TINY)).eval()
    z = torch.randn(1, *model.config.latent_shape)
    m, s = torch.zeros(1, 3), torch.ones(1, 3)
    np.testing.assert_array_equal(model.decode(z, m, s).detach().numpy(),
                                  model.decode(z.clone(), m, s).detach().numpy())


def test_grid_reshape_matches_timesnet_definition():
    # The (T/p, p) fold: row r, column c holds sample r * p + c (zero padded at the end).
    x = torch.arange(10.0)[None, :, None]
    p = 4
    out = F.pad(x, (0, 0, 0, 2)).reshape(1, 3, 4, 1).permute(0, 3, 1, 2)
    assert out[0, 0, 1, 2] == 6 and out[0, 0, 2, 2] == 0
    assert p * 3 == 12

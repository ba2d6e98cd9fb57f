"""TimesNet-Gen's linear low band (``crossover``, issue 14).

The decoder's nonlinearities demodulate strong high-frequency motion into low-frequency
content that follows the envelope; below the crossover the output comes from a lossless
linear code of the record's own band in the latent instead, which cannot."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from obspy_gen.plugins.timesnet_gen import train as T  # noqa: E402
from obspy_gen.plugins.timesnet_gen.model import TimesNetGen, TimesNetGenConfig  # noqa: E402
from obspy_gen.plugins.timesnet_gen.store import load_model  # noqa: E402

from .conftest import resonance_record  # noqa: E402
from .test_timesnet_gen_spectral_loss import as_tensor  # noqa: E402

FS, N = 100.0, 6000
TINY = dict(seq_len=N, d_model=8, d_ff=8, e_layers=1, d_layers=1, num_kernels=2,
            latent_channels=4, latent_stride=4)


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


def test_crossover_output_below_it_is_the_records_own(record):
    torch.manual_seed(0)
    net = TimesNetGen(TimesNetGenConfig(**TINY)).eval()
    cross = net.with_crossover(2.0).eval()
    assert cross.config.crossover == 2.0
    assert cross.config.latent_shape == (TINY["latent_channels"] + 3, N // 4)
    with torch.no_grad():
        y0 = net(record)[0].double().numpy()
        y1 = cross(record)[0].double().numpy()
    x = record[0].double().numpy()
    # An untrained decoder is wrong everywhere; below the crossover the output is now the
    # record's own band (the low-band code is lossless), above 4 Hz it is unchanged.
    assert lowpass_energy(y0 - x, 1.0).min() > 0.1 * lowpass_energy(x, 1.0).max()
    assert lowpass_energy(y1 - x, 1.0).max() < 1e-8 * lowpass_energy(x, 1.0).min()
    spec0, spec1 = np.fft.rfft(y0), np.fft.rfft(y1)
    f = np.fft.rfftfreq(N, 1 / FS)
    assert np.allclose(spec1[:, f > 4.0], spec0[:, f > 4.0], rtol=0.01,
                       atol=1e-3 * np.abs(spec0).max())


def test_low_band_is_linear_in_its_code_and_blind_to_the_rest(record):
    """No demodulation path: below the crossover the output is a linear function of the
    low-band channels and does not depend on the decoder's channels."""
    torch.manual_seed(0)
    net = TimesNetGen(TimesNetGenConfig(**TINY, crossover=2.0)).eval()
    with torch.no_grad():
        z, mean, std = net.encode(record)
        main = TINY["latent_channels"]
        base = net.decode(z, mean, std, normalised=True)[0].numpy()
        z2 = z.clone()
        z2[:, main:] *= 2
        doubled = net.decode(z2, mean, std, normalised=True)[0].numpy()
        z3 = z.clone()
        z3[:, :main] = 5 * torch.randn_like(z3[:, :main])
        other = net.decode(z3, mean, std, normalised=True)[0].numpy()
    ratio = lowpass_energy(doubled, 0.5) / lowpass_energy(base, 0.5)
    assert np.allclose(ratio, 4.0, rtol=1e-3)
    assert np.allclose(lowpass_energy(other - base, 1.0), 0,
                       atol=1e-9 * lowpass_energy(base, 1.0).min())
    assert lowpass_energy(other - base, 30.0, above=8.0).min() > 0


def test_crossover_is_checked():
    with pytest.raises(ValueError, match="crossover"):
        TimesNetGenConfig(**TINY, crossover=60.0)


def test_finetune_with_crossover_round_trips(tmp_path):
    from .test_timesnet_gen_train import ARCH, records
    out = tmp_path / "x"
    h = T.finetune(records(("TA", "TB")), out, arch=ARCH, epochs=1, batch_size=4, seed=0,
                   device="cpu", quiet=True, crossover=2.0)
    assert np.isfinite(h["epochs"][0]["train_loss"])
    loaded = load_model(out)
    assert loaded.arch.crossover == 2.0
    assert loaded.pools["TA"].codes.shape[1:] == loaded.arch.latent_shape
    # Weights round-trip: the reloaded network computes what the trained one saved.
    x = torch.randn(1, 3, loaded.arch.seq_len)
    with torch.no_grad():
        a = loaded.model.eval()(x, torch.tensor([0]))
        b = load_model(out).model.eval()(x, torch.tensor([0]))
    assert torch.equal(a, b)
    assert float(a.abs().sum()) > 0


def test_crossover_from_the_cli(tmp_path):
    """``obspy-gen train timesnet-gen --crossover``: part of a pre-trained architecture, and
    added to --init's network by fine-tuning; the records below it are the records' own."""
    from click.testing import CliRunner

    from obspy_gen.cli import main

    from .test_timesnet_gen_train import ARCH, records
    data = tmp_path / "data"
    data.mkdir()
    for i, r in enumerate(records(("TA", "TB", "TC"), n=2)):
        r.write(str(data / f"r{i}.mseed"), format="MSEED")
    common = ["--data", str(data), "--epochs", "1", "--device", "cpu", "--quiet",
              "--val-fraction", "0"]
    arch = [a for k, v in ARCH.items() for a in ("--" + k.replace("_", "-"), str(v))]
    res = CliRunner().invoke(main, ["train", "timesnet-gen", *common, *arch, "--out",
                                    str(tmp_path / "pre"), "--crossover", "3"])
    assert res.exit_code == 0, res.output
    assert load_model(tmp_path / "pre", "cpu").arch.crossover == 3.0
    res = CliRunner().invoke(main, ["train", "timesnet-gen", *common, "--phase", "finetune",
                                    "--init", str(tmp_path / "pre"), "--out",
                                    str(tmp_path / "ft"), "--crossover", "5"])
    assert res.exit_code == 0, res.output
    ft = load_model(tmp_path / "ft", "cpu")
    assert ft.arch.crossover == 5.0 and ft.arch.conditioned
    res = CliRunner().invoke(main, ["train", "timesnet-gen", *common, "--out",
                                    str(tmp_path / "bad"), "--crossover", "-1"])
    assert res.exit_code != 0 and "crossover must be >= 0" in res.output


def test_shipped_default_reconstructs_the_low_band_exactly():
    """The shipped checkpoint has a 4-Hz crossover: a reconstruction's content below 2 Hz is
    the record's own (before it, 3-40x the record's horizontal energy at 0.5-1 Hz was the
    decoder's error)."""
    from obspy_gen.plugins.timesnet_gen.plugin import TimesNetGenGenerator
    gen = TimesNetGenGenerator(device="cpu")
    assert gen.load().arch.crossover == 4.0
    st = resonance_record(6.0, 50.0, FS, seed=2, station="4628")
    t = np.arange(st[0].stats.npts) / FS
    for tr in st:
        tr.data = tr.data * np.exp(-((t - 15) / 6) ** 2) * 0.05
    rec = gen.reconstruct(st, station="4628")
    for ch in "NEZ":
        x = st.select(component=ch)[0].data
        y = rec.select(component=ch)[0].data
        n = min(len(x), len(y))
        err = lowpass_energy(y[:n] - x[:n], 2.0, above=0.2)
        assert err < 1e-6 * lowpass_energy(x[:n], 2.0, above=0.2)

import dataclasses
import hashlib
import itertools

import pytest
import torch

from srcore.config.schema import EMBEDDED_SCALE_INPUTS, SCALE_INPUTS, ModelConfig
from srcore.net.encodings import pad_reflect
from srcore.net.unet import DCTBranch, DualDomainUNet, DWTBranch, at_level
from tests.helpers.images import tiny_model


def _run(cfg, H, W, B=2):
    """The network's output on y0 padded to its size multiple (as super_resolve pads), cropped."""
    torch.manual_seed(0)
    m = DualDomainUNet(cfg).eval()
    torch.nn.init.normal_(m.out.weight, std=0.1)  # zero-init would hide a wrong output
    y0 = torch.rand(B, 3, H, W) * 2 - 1
    mult = cfg.size_multiple
    y0 = pad_reflect(y0, 0, (-W) % mult, 0, (-H) % mult)
    with torch.no_grad():
        return m, m(y0 + 0.1, torch.tensor([3.0] * B), m.condition(y0))[..., :H, :W]


@pytest.mark.parametrize("dct,dwt,freqs,amp", list(itertools.product([True, False], repeat=4)))
def test_every_branch_on_and_off(dct, dwt, freqs, amp):
    cfg = ModelConfig(
        width=8,
        time_dim=16,
        dct=dct,
        dwt=dwt,
        pos_freqs=3 if freqs else 0,
        amp_kernel=7 if amp else 0,
        scales=(),
    )
    m, out = _run(cfg, 57, 83)
    assert out.shape == (2, 3, 57, 83) and torch.isfinite(out).all()
    assert m.inc[0].in_channels == (6 + (12 if freqs else 0) + (1 if amp else 0)) * cfg.stem**2


def test_sizes_that_are_not_multiples_are_refused_with_the_multiple():
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=()))
    y0 = torch.zeros(1, 3, 64, 96)
    with pytest.raises(ValueError, match="multiples of 64, got 64x96"):
        m(y0, torch.tensor([1]), m.condition(y0))


@pytest.mark.parametrize("depth,block", [(1, 8), (3, 8), (2, 0)])
def test_depth_and_global_dct(depth, block):
    cfg = ModelConfig(width=8, time_dim=16, depth=depth, dct_block=block, scales=())
    m, out = _run(cfg, 33, 21, B=1)
    assert out.shape == (1, 3, 33, 21) and torch.isfinite(out).all()


def test_the_dct_branch_adds_parameters():
    with_dct = DualDomainUNet(ModelConfig(width=16, scales=()))
    without = DualDomainUNet(ModelConfig(width=16, dct=False, scales=()))
    assert without.num_params() < with_dct.num_params()


@pytest.mark.parametrize("stem,block", [(1, 8), (2, 8), (4, 4)])
def test_network_is_local_so_aligned_tiles_match_the_whole_image(stem, block):
    # stem + block DCT + Haar + pooling on an aligned grid: far from a crop's edge the output is
    # the whole image's.
    cfg = ModelConfig(width=8, time_dim=16, stem=stem, dct_block=block, scales=())
    m_ = cfg.size_multiple  # 32, 64, 64
    torch.manual_seed(0)
    m = DualDomainUNet(cfg).eval()
    torch.nn.init.normal_(m.out.weight, std=0.1)
    y0 = torch.rand(1, 3, 8 * m_, 8 * m_) * 2 - 1
    x = y0 + 0.2 * torch.randn_like(y0)
    t = torch.tensor([5])
    a, b = 2 * m_, 7 * m_  # the tile [a, b)^2; its centre is far (2 m_) from its edges
    with torch.no_grad():
        whole = m(x, t, m.condition(y0))
        tile = m(x[..., a:b, a:b], t, m.condition(y0[..., a:b, a:b], torch.tensor([[a, a]])))
    c0, c1 = 2 * m_, 3 * m_
    assert torch.allclose(
        tile[..., c0:c1, c0:c1], whole[..., a + c0 : a + c1, a + c0 : a + c1], atol=1e-5
    )
    assert not torch.allclose(
        tile[..., :4, :4], whole[..., a : a + 4, a : a + 4], atol=1e-5
    )  # edges do differ


@pytest.mark.parametrize("stem", [2, 4])
def test_the_stem_runs_the_unet_at_a_fraction_of_the_resolution(stem):
    from torch.utils.flop_counter import FlopCounterMode

    base = ModelConfig(
        width=16, time_dim=16, stem=1, dct_block=8, scales=()
    )  # the notebook's layout
    cfg = ModelConfig(width=16, time_dim=16, stem=stem, dct_block=8, scales=())
    m, out = _run(cfg, 57, 83)
    assert out.shape == (2, 3, 57, 83) and torch.isfinite(out).all()
    assert (
        m.inc[0].in_channels == (3 + cfg.cond_channels) * stem**2
        and cfg.size_multiple == stem * base.size_multiple
    )
    seen = []
    m.mid.register_forward_hook(lambda mod, i, o: seen.append(o.shape[-2:]))
    with torch.no_grad():
        y0 = torch.zeros(1, 3, 128, 128)
        m(y0, torch.tensor([1]), m.condition(y0))
    assert tuple(seen[-1]) == (128 // stem // 4, 128 // stem // 4)  # depth 2 below 1/stem

    def flops(c):
        net, y0 = DualDomainUNet(c), torch.zeros(1, 3, 128, 128)
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            net(y0, torch.tensor([1]), net.condition(y0))
        return fc.get_total_flops()

    assert (
        flops(cfg) < flops(base) / stem
    )  # the stem conv sees stem^2 more channels, the rest stem^2 fewer pixels


def test_a_training_step_runs_under_bf16_autocast():
    # the CUDA path (bf16 autocast) exercised on the CPU: every branch must take mixed dtypes both
    # ways
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=()))
    x0 = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x0 * 0.9, torch.tensor([3, 9]), m.condition(x0 * 0.9))
    out.float().abs().mean().backward()
    assert out.shape == x0.shape and all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters()
    )


def test_the_wavelet_branch_is_pytorch_wavelets_haar():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pytorch_wavelets import DWTForward, DWTInverse

    torch.manual_seed(0)
    branch, x = DWTBranch(5).double(), torch.randn(2, 5, 12, 16, dtype=torch.float64)
    ll, (h,) = DWTForward(J=1, wave="haar", mode="zero").double()(x)
    ll, lh, hl, hh = branch.process(torch.cat([ll, h[:, :, 0], h[:, :, 1], h[:, :, 2]], 1)).chunk(
        4, 1
    )
    ref = DWTInverse(wave="haar", mode="zero").double()((ll, [torch.stack([lh, hl, hh], 2)]))
    assert torch.allclose(
        branch(x), ref, atol=1e-6
    )  # its filters are float32 (0.49999997): ours are exact


def test_the_block_dct_branch_processes_each_blocks_coefficients():
    import torch_dct

    torch.manual_seed(0)
    branch, x = DCTBranch(4, 8).double(), torch.randn(1, 4, 16, 24, dtype=torch.float64)
    # reference: coefficients in place of each 8 x 8 block's pixels, then the 1x1 convs, then back
    blocks = x.reshape(1, 4, 2, 8, 3, 8).permute(0, 1, 2, 4, 3, 5)
    inplace = torch_dct.dct_2d(blocks, norm="ortho").permute(0, 1, 2, 4, 3, 5).reshape(1, 4, 16, 24)
    out = branch.process(inplace).reshape(1, 4, 2, 8, 3, 8).permute(0, 1, 2, 4, 3, 5)
    ref = torch_dct.idct_2d(out, norm="ortho").permute(0, 1, 2, 4, 3, 5).reshape(1, 4, 16, 24)
    assert torch.allclose(branch(x), ref, atol=1e-10)


@pytest.mark.parametrize("how", SCALE_INPUTS)
def test_the_scale_reaches_a_multi_scale_network(how):
    m = tiny_model(scales=(1.0, 4.0), scale_input=how)  # output and FiLM layers not zero
    y0 = torch.rand(2, 3, 64, 64) * 2 - 1
    t = torch.tensor([3.0, 3.0])

    def run(scale):
        with torch.no_grad():
            return m(y0 + 0.1, t, m.condition(y0, scale=scale))

    by_scale = {s: run(s) for s in (1.0, 2.5, 2.51, 4.0)}
    assert torch.equal(run(2.5), by_scale[2.5])
    assert all(not torch.allclose(by_scale[a], by_scale[b]) for a, b in [(1, 2.5), (2.5, 2.51)])
    mixed = run(torch.tensor([2.5, 4.0]))  # one scale per item
    assert torch.allclose(mixed[0], by_scale[2.5][0], atol=1e-6)
    assert torch.allclose(mixed[1], by_scale[4.0][1], atol=1e-6)
    assert hasattr(m, "scale_embedding") == (how in EMBEDDED_SCALE_INPUTS)
    assert any("film" in k for k in m.state_dict()) == (how == "film")
    with pytest.raises(ValueError, match="needs the scale"):
        m.condition(y0)


def test_a_new_film_network_starts_unmodulated():
    """FiLM's layers start at zero: before training the scale changes nothing, so a film model
    starts as the network without a scale input and learns how much the scale should matter."""
    torch.manual_seed(0)
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=(1.0, 4.0), scale_input="film"))
    film = {k: v for k, v in m.state_dict().items() if ".film." in k}
    assert len(film) == 2 * 5 and all(not v.any() for v in film.values())  # 5 blocks at depth 2
    torch.nn.init.normal_(m.out.weight, std=0.1)
    y0, t = torch.rand(1, 3, 64, 64) * 2 - 1, torch.tensor([3.0])
    with torch.no_grad():
        at2, at4 = (m.eval()(y0, t, m.condition(y0, scale=s)) for s in (2.0, 4.0))
    assert torch.equal(at2, at4)


def test_a_single_scale_network_has_no_scale_input():
    torch.manual_seed(0)
    m, out = _run(ModelConfig(width=8, time_dim=16, scales=()), 64, 64)
    assert not any("scale" in k for k in m.state_dict())
    y0 = torch.rand(1, 3, 64, 64)
    assert torch.equal(m.condition(y0, scale=2.0), m.condition(y0, scale=3.0))
    assert (
        m.condition(y0).shape[1] == ModelConfig(width=8, time_dim=16, scales=()).cond_channels * 16
    )


# sha256 of the default network's initial weights under seed 144 with model.scales [], made by
# the code before model.scales existed (torch 2.13): a single-scale model is that model, bit for bit
SINGLE_SCALE_INIT = "a13b60fdad7d26bde5e2b1abb7e4a94dd34a150f573471bf5eef1ce34b10bd01"


def test_a_single_scale_model_starts_from_the_previous_codes_weights():
    torch.manual_seed(144)
    m = DualDomainUNet(dataclasses.replace(ModelConfig(), scales=()))
    torch.nn.init.normal_(m.out.weight, std=0.1)
    digest = hashlib.sha256()
    for k, v in m.state_dict().items():
        digest.update(k.encode() + v.numpy().tobytes())
    assert digest.hexdigest() == SINGLE_SCALE_INIT


@pytest.mark.parametrize("scales", [(), (1.0, 4.0)])
def test_the_clean_up_level_reaches_the_network_through_film_alone(scales):
    m = tiny_model(scales=scales, cleanup=True)  # FiLM layers not zero
    y0, t = torch.rand(2, 3, 64, 64) * 2 - 1, torch.tensor([3.0, 3.0])
    scale = 4.0 if scales else None

    def run(level):
        with torch.no_grad():
            return m(y0 + 0.1, t, m.condition(y0, scale=scale, level=level))

    by_level = {v: run(v) for v in (0.0, 0.5, 1.0)}
    assert all(not torch.allclose(by_level[a], by_level[b]) for a, b in [(0, 0.5), (0.5, 1)])
    mixed = run(torch.tensor([0.0, 1.0]))  # one level per item
    assert torch.allclose(mixed[0], by_level[0.0][0], atol=1e-6)
    assert torch.allclose(mixed[1], by_level[1.0][1], atol=1e-6)
    # the first convolution never sees the level plane: the condition carries it, the input not
    plain = ModelConfig(width=8, time_dim=16, scales=scales)
    assert m.cfg.in_channels == plain.in_channels and m.cfg.cond_channels == plain.cond_channels + 1
    told = at_level(m, 0.5)
    with torch.no_grad():
        assert torch.equal(told(y0 + 0.1, t, told.condition(y0, scale=scale)), by_level[0.5])
    with pytest.raises(ValueError, match="needs the level"):
        m.condition(y0, scale=scale)


def test_a_network_without_the_knob_ignores_the_level_and_is_not_wrapped():
    m = tiny_model(scales=(1.0, 4.0))
    y0 = torch.rand(1, 3, 64, 64)
    assert torch.equal(m.condition(y0, scale=2.0, level=0.0), m.condition(y0, scale=2.0))
    assert at_level(m, 0.3) is m and not any("level" in k for k in m.state_dict())


@pytest.mark.parametrize("how", SCALE_INPUTS)
def test_the_level_and_the_scale_each_reach_their_own_embedding(how):
    m = tiny_model(scales=(1.0, 4.0), scale_input=how, cleanup=True, stem=2)
    seen = {}
    embeddings = [("level", m.level_embedding)]
    if how in EMBEDDED_SCALE_INPUTS:
        embeddings.append(("scale", m.scale_embedding))
    for name, module in embeddings:
        module.register_forward_hook(lambda mod, args, out, name=name: seen.update({name: args[0]}))
    y0, scale, level = torch.rand(2, 3, 64, 64) * 2 - 1, torch.tensor([2.0, 4.0]), [0.25, 0.75]
    with torch.no_grad():
        m(y0, torch.tensor([3.0, 3.0]), m.condition(y0, scale=scale, level=torch.tensor(level)))
    assert torch.allclose(seen["level"], torch.tensor([250.0, 750.0]))
    if how in EMBEDDED_SCALE_INPUTS:  # 1000 x log2(s) / 2
        assert torch.allclose(seen["scale"], torch.tensor([500.0, 1000.0]))

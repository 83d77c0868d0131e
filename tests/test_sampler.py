import torch

from srcore.diffusion import DiffusionConfig, ResShift
from srcore.model import DualDomainUNet, ModelConfig
from srcore.noise import keyed_normal
from srcore.sampler import super_resolve


def _model():
    torch.manual_seed(0)
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16))
    torch.nn.init.normal_(m.out.weight, std=0.05)
    return m


def test_same_seed_same_sample_different_seed_different():
    m, d = _model(), ResShift.from_config(DiffusionConfig()).respace(4)
    y0 = torch.rand(2, 3, 40, 52) * 2 - 1
    a, chain = super_resolve(m, d, y0, seed=3, return_chain=True)
    b, _ = super_resolve(m, d, y0, seed=3)
    c, _ = super_resolve(m, d, y0, seed=4)
    assert a.shape == y0.shape and torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3
    assert len(chain) == 5 and chain[0].shape == y0.shape


def test_keyed_noise_is_standard_normal_and_crop_consistent():
    z = keyed_normal(torch.tensor([7]), 3, torch.zeros(1, 2), (1, 3, 256, 256), "cpu")
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    corr = (z[..., 1:] * z[..., :-1]).mean().item()
    assert abs(corr) < 0.01
    crop = keyed_normal(torch.tensor([7]), 3, torch.tensor([[30, 50]]), (1, 3, 20, 40), "cpu")
    assert torch.equal(crop, z[..., 30:50, 50:90])
    other = keyed_normal(torch.tensor([8]), 3, torch.zeros(1, 2), (1, 3, 256, 256), "cpu")
    assert abs((z * other).mean().item()) < 0.01

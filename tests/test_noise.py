import torch

from srcore.diffusion.noise import keyed_normal


def test_keyed_noise_is_standard_normal_and_crop_consistent():
    z = keyed_normal(torch.tensor([7]), 3, torch.zeros(1, 2), (1, 3, 256, 256), "cpu")
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    corr = (z[..., 1:] * z[..., :-1]).mean().item()
    assert abs(corr) < 0.01
    crop = keyed_normal(torch.tensor([7]), 3, torch.tensor([[30, 50]]), (1, 3, 20, 40), "cpu")
    assert torch.equal(crop, z[..., 30:50, 50:90])
    other = keyed_normal(torch.tensor([8]), 3, torch.zeros(1, 2), (1, 3, 256, 256), "cpu")
    assert abs((z * other).mean().item()) < 0.01

import pytest
import torch

from srcore.config.schema import LossConfig
from srcore.train.losses import SRLoss, laplacian_l1, laplacian_pyramid, multiscale_dct_l1


def test_losses_are_zero_at_target_and_grow_with_error():
    t = torch.rand(2, 3, 32, 32) * 2 - 1
    for fn in (multiscale_dct_l1, laplacian_l1):
        assert fn(t, t).item() == pytest.approx(0.0, abs=1e-7)
        assert 0 < fn(t + 0.01 * torch.randn_like(t), t) < fn(t + 0.1 * torch.randn_like(t), t)


def test_laplacian_pyramid_reconstructs():
    x = torch.rand(1, 3, 32, 48)
    bands = laplacian_pyramid(x, 3)
    assert [b.shape[-1] for b in bands] == [48, 24, 12, 6]
    rec = bands[-1]
    for b in reversed(bands[:-1]):
        rec = b + torch.nn.functional.interpolate(
            rec, size=b.shape[-2:], mode="bilinear", align_corners=False
        )
    assert torch.allclose(rec, x, atol=1e-5)


def test_vgg_needs_a_local_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="loss.vgg_weights"):
        SRLoss(LossConfig(perceptual_weight=0.05, vgg_weights=str(tmp_path / "missing.pth")))


def test_vgg_loads_torchvision_layout(tmp_path):
    # a state dict with torchvision's vgg19().features keys, random values (no download possible
    # here)
    cin, i, state = 3, 0, {}
    # torchvision's vgg19 "E" configuration, written out here independently of srcore's copy
    torchvision_vgg19 = "64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M"
    for v in (int(c) if c != "M" else c for c in torchvision_vgg19.split()):
        if v == "M":
            i += 1
            continue
        state[f"features.{i}.weight"] = torch.randn(v, cin, 3, 3) * 0.05
        state[f"features.{i}.bias"] = torch.zeros(v)
        cin, i = v, i + 2
    torch.save(state, tmp_path / "vgg19.pth")
    loss = SRLoss(LossConfig(perceptual_weight=0.05, vgg_weights=str(tmp_path / "vgg19.pth")))
    t = torch.rand(1, 3, 32, 32) * 2 - 1
    assert loss.vgg(t, t).item() == 0.0 and loss.vgg(t, -t).item() > 0
    assert torch.equal(loss.vgg.features[0].weight, state["features.0.weight"])

"""LPIPS weight files the tests make, in the upstream layouts (srcore.eval.lpips)."""

import torch

from srcore.eval import lpips as lp


def write_weights(folder, seed: int = 0) -> None:
    """torchvision's AlexNet keys (classifier included) and LPIPS v0.1's lin layers."""
    g = torch.Generator().manual_seed(seed)
    backbone = {}
    for i, (c, c_in, k, _, _) in lp.CONVS.items():
        backbone[f"features.{i}.weight"] = torch.randn(c, c_in, k, k, generator=g) * 0.05
        backbone[f"features.{i}.bias"] = torch.zeros(c)
    backbone["classifier.1.weight"] = torch.zeros(4, 4)
    linear = {
        f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g)
        for i, c in enumerate(lp.CHANNELS)
    }
    folder.mkdir(exist_ok=True)
    torch.save(backbone, folder / lp.BACKBONE)
    torch.save(linear, folder / lp.LINEAR)

"""Training losses on x0 estimates. All take pred, target: B x 3 x H x W in [-1, 1].

* multiscale_dct_l1: the seed's loss: L1 + w * L1 of the orthonormal DCT, at scales 1, 1/2, 1/4,
  weighted 1/s, on [0, 1] images.
* laplacian_l1: L1 on the bands of a Laplacian pyramid (the seed's key concept, never implemented
  in its notebook), finest band first, so fine detail gets its own term.
* VGGPerceptual: MSE of VGG-19 features, weights read from a local file (no downloads at run time).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from srcore.config.schema import LossConfig
from srcore.net.dct import dct2d


def multiscale_dct_l1(
    pred: torch.Tensor, target: torch.Tensor, scales=(1, 2, 4), freq_weight: float = 2.0
) -> torch.Tensor:
    p, t = (pred + 1) / 2, (target + 1) / 2
    total, wsum = 0.0, 0.0
    for s in scales:
        ps = (
            p
            if s == 1
            else F.interpolate(p, scale_factor=1 / s, mode="bilinear", align_corners=False)
        )
        ts = (
            t
            if s == 1
            else F.interpolate(t, scale_factor=1 / s, mode="bilinear", align_corners=False)
        )
        term = F.l1_loss(ps, ts) + freq_weight * F.l1_loss(dct2d(ps), dct2d(ts))
        total, wsum = total + term / s, wsum + 1 / s
    return total / wsum


def _blur_down(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device, dtype=x.dtype) / 16
    k2 = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k2, stride=2, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass bands (finest first) plus the low-pass residual last; levels + 1 tensors."""
    bands = []
    for _ in range(levels):
        low = _blur_down(x)
        bands.append(
            x - F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        )
        x = low
    return bands + [x]


def laplacian_l1(pred: torch.Tensor, target: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Mean over pyramid levels of the L1 between bands (on [0, 1] images)."""
    bp, bt = laplacian_pyramid((pred + 1) / 2, levels), laplacian_pyramid((target + 1) / 2, levels)
    return sum(F.l1_loss(a, b) for a, b in zip(bp, bt)) / len(bp)


_VGG19 = [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
]


class VGGPerceptual(nn.Module):
    """VGG-19 feature MSE. `weights`: a state dict file of torchvision's vgg19(_bn).features
    (keys '0.weight', ... or 'features.0.weight', ...), loaded with weights_only=True."""

    def __init__(self, weights: str | Path):
        super().__init__()
        path = Path(weights) if weights else None
        if path is None or not path.is_file():
            raise FileNotFoundError(
                f"loss.vgg_weights: VGG weights file {str(weights)!r} not found. "
                "The perceptual loss needs a local copy of torchvision's vgg19 or vgg19_bn "
                "weights (they cannot be downloaded at run time); "
                "set loss.vgg_weights to that file or loss.perceptual_weight to 0."
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {
            k.removeprefix("features."): v
            for k, v in state.items()
            if not k.startswith("classifier.")
        }
        bn = any(k.endswith("running_mean") for k in state)
        layers, cin = [], 3
        for v in _VGG19:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            layers += (
                [nn.Conv2d(cin, v, 3, padding=1)]
                + ([nn.BatchNorm2d(v)] if bn else [])
                + [nn.ReLU(inplace=True)]
            )
            cin = v
        self.features = nn.Sequential(*layers[:-1])  # drop the last pool: keep spatial features
        self.features.load_state_dict(
            {k: v for k, v in state.items() if int(k.split(".")[0]) < len(self.features)}
        )
        self.features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        f = lambda x: self.features(((x + 1) / 2 - self.mean) / self.std)  # noqa: E731
        return F.mse_loss(f(pred), f(target))


class SRLoss(nn.Module):
    """The configured sum: multi-scale DCT-L1 (+ Laplacian bands) (+ VGG perceptual)."""

    def __init__(self, cfg: LossConfig = LossConfig()):
        super().__init__()
        self.cfg = cfg
        self.vgg = VGGPerceptual(cfg.vgg_weights) if cfg.perceptual_weight > 0 else None

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        loss = multiscale_dct_l1(pred, target, c.scales, c.freq_weight)
        if c.laplacian_weight > 0:
            loss = loss + c.laplacian_weight * laplacian_l1(pred, target, c.laplacian_levels)
        if self.vgg is not None:
            loss = loss + c.perceptual_weight * self.vgg(pred, target)
        return loss

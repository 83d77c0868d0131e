"""Conditioning features computed from the bicubic base y0: Fourier positional encoding and local
amplitude.

Both are defined so that a pixel gets the same value whether it is seen inside a training patch,
a whole image or an inference tile:

* Positional encoding: coordinates are absolute HR pixel positions (the crop's `origin` plus the
  pixel index) divided by a fixed `period` in pixels, never `linspace(0, 1)` over whatever tensor
  arrives (the seed's choice, which gives a 256 patch and a 2040-wide image different inputs).
* Amplitude: local standard deviation over a k x k window (reflect-padded), averaged over
  channels, times 2, so it lies in [0, 1] for inputs in [0, 1]. It is not normalised by the
  per-image min/max (the seed's choice), so it depends only on the k x k neighbourhood.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pad_reflect(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Reflect padding, falling back to replicate where the tensor is too small to reflect."""
    H, W = x.shape[-2:]
    mode = "reflect" if max(left, right) < W and max(top, bottom) < H else "replicate"
    return F.pad(x, (left, right, top, bottom), mode=mode)


def fourier_encoding(
    origin: torch.Tensor, height: int, width: int, n_freqs: int, period: float = 256.0
) -> torch.Tensor:
    """Positional encoding of absolute pixel positions.

    origin: B x 2 (top, left) of the crop in HR pixels. Returns B x 4*n_freqs x H x W in [-1, 1]:
    for each k in 0..n_freqs-1, sin and cos of 2^k * pi * coord / period for x then y.
    """
    dev = origin.device
    ys = origin[:, 0:1].float() + torch.arange(height, device=dev, dtype=torch.float32)  # B x H
    xs = origin[:, 1:2].float() + torch.arange(width, device=dev, dtype=torch.float32)  # B x W
    freqs = (2.0 ** torch.arange(n_freqs, device=dev, dtype=torch.float32)) * (math.pi / period)
    ay = ys[:, None, :] * freqs[None, :, None]  # B x F x H
    ax = xs[:, None, :] * freqs[None, :, None]  # B x F x W
    B = origin.shape[0]
    ey = torch.cat([ay.sin(), ay.cos()], 1)[..., :, None].expand(B, 2 * n_freqs, height, width)
    ex = torch.cat([ax.sin(), ax.cos()], 1)[..., None, :].expand(B, 2 * n_freqs, height, width)
    return torch.cat([ex, ey], 1)


def local_amplitude(x01: torch.Tensor, kernel: int = 7) -> torch.Tensor:
    """Local contrast map. x01: B x C x H x W in [0, 1] -> B x 1 x H x W in [0, 1] (2 x local
    std)."""
    r = kernel // 2
    xp = pad_reflect(x01, r, r, r, r)
    mu = F.avg_pool2d(xp, kernel, stride=1)
    mu2 = F.avg_pool2d(xp * xp, kernel, stride=1)
    var = (mu2 - mu * mu).clamp(min=0.0).mean(1, keepdim=True)
    return (2.0 * var.sqrt()).clamp(0.0, 1.0)

"""Position-keyed Gaussian noise: a pure function of (seed, step, channel, absolute pixel).

The sampler draws its noise from here, not from a stateful generator, so a pixel receives the same
noise whether the image is sampled whole or in tiles, in any batch order, on any device. It is a
counter-based generator: an integer hash (Wellons' lowbias32) of the key, then Box-Muller.
"""

from __future__ import annotations

import math

import torch

_M32 = 0xFFFFFFFF


def _mix(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int64 tensors holding 32-bit values (products wrap; we keep the low 32 bits). In
    place on a fresh tensor: the full-size hashes are most of the noise's cost."""
    x = x & _M32
    x ^= x >> 16
    x *= 0x7FEB352D
    x &= _M32
    x ^= x >> 15
    x *= 0x846CA68B
    x &= _M32
    x ^= x >> 16
    return x


def keyed_normal(
    seeds: torch.Tensor,
    step: int,
    origin: torch.Tensor,
    shape: tuple[int, int, int, int],
    device: torch.device | str,
) -> torch.Tensor:
    """Standard normal noise of `shape` (B x C x H x W), float32.

    seeds: B int64 (one per item); origin: B x 2 (top, left) absolute pixel position of the item's
    top-left corner. Item b, channel c, pixel (i, j) depends only on (seeds[b], step, c,
    origin[b,0] + i, origin[b,1] + j).
    """
    B, C, H, W = shape
    seeds = seeds.to(device=device, dtype=torch.int64).reshape(B, 1, 1, 1)
    origin = origin.to(device=device, dtype=torch.int64)
    ys = (origin[:, 0, None] + torch.arange(H, device=device)).reshape(B, 1, H, 1)
    xs = (origin[:, 1, None] + torch.arange(W, device=device)).reshape(B, 1, 1, W)
    ch = torch.arange(C, device=device, dtype=torch.int64).reshape(1, C, 1, 1)
    h = _mix(_mix(seeds) ^ (step + 0x9E3779B9))
    h = _mix(h ^ (ch * 0x85EBCA6B))
    h = _mix(h ^ (ys * 0xC2B2AE35))  # B x C x H x 1: cheap
    h = _mix(h ^ (xs * 0x27D4EB2F))  # the full-size hash
    u1 = (_mix(h ^ 0x165667B1) + 1).float().mul_(2.0**-32)  # (0, 1]
    u2 = _mix(h ^ 0x61C88647).float().mul_(2.0 * math.pi * 2.0**-32)  # angle in [0, 2 pi)
    return u1.log_().mul_(-2.0).sqrt_().mul_(u2.cos_())

"""Pillow's 8-bit bicubic enlargement and srcore's padding written as tensor operations that
export to ONNX at any size, and the ONNX of two operators that the exporter writes slowly
(srcore.deploy.export builds its graph from them).

pillow_bicubic equals PIL.Image.resize(..., BICUBIC) of an 8-bit image when enlarging: Pillow's
kernel (a = -0.5), its support truncated and renormalised at the borders, its weights in fixed
point (22 bits), the horizontal pass first, each pass rounded and clipped to 0..255.
"""

from __future__ import annotations

import torch

TAPS = 5  # Pillow's bicubic support is 2 input pixels each side when enlarging: at most 5 taps
PRECISION_BITS = 22  # Pillow's fixed-point weights for 8-bit images (32 - 8 - 2)


def _cubic(x: torch.Tensor) -> torch.Tensor:
    """Pillow's bicubic kernel, a = -0.5, evaluated in its own order of operations."""
    a = -0.5
    x = x.abs()
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return torch.where(x < 1.0, near, torch.where(x < 2.0, far, torch.zeros_like(x)))


def bicubic_taps(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pillow's weights for enlarging a side of n_in pixels to n_out >= n_in: (index n_out x TAPS
    int64 into the input, weight n_out x TAPS int32 in units of 2^-22, 0 beyond the border)."""
    one = torch.ones((), dtype=torch.float64)
    center = (torch.arange(n_out, dtype=torch.float64) + 0.5) * (one * n_in / n_out)
    first = torch.floor(center - 1.5).clamp(min=0)
    end = torch.minimum(torch.floor(center + 2.5), one * n_in)
    x = first[:, None] + torch.arange(TAPS, dtype=torch.float64)[None, :]
    w = torch.where(x < end[:, None], _cubic(x - center[:, None] + 0.5), torch.zeros_like(x))
    total = w[:, 0] + w[:, 1] + w[:, 2] + w[:, 3] + w[:, 4]  # Pillow's order of summation
    v = w / total[:, None] * float(1 << PRECISION_BITS)
    weight = torch.trunc(v + torch.where(v < 0, -0.5, 0.5))  # rounded half away from zero
    return torch.minimum(x, one * (n_in - 1)).long(), weight.int()


def _resample(levels: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, dim: int):
    """One pass of Pillow's 8-bit resampling along `dim` (-1 or -2) of int32 levels."""
    acc = None
    for j in range(TAPS):
        k = weight[:, j] if dim == -1 else weight[:, j, None]
        term = levels.index_select(dim, index[:, j]) * k
        acc = term if acc is None else acc + term
    acc = (acc + (1 << (PRECISION_BITS - 1))).clamp(min=0)
    return torch.div(acc, 1 << PRECISION_BITS, rounding_mode="floor").clamp(max=255)


def pillow_bicubic(levels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """N x C x h x w int32 levels in 0..255 -> N x C x height x width, as Pillow's BICUBIC enlarges
    an 8-bit image (horizontal pass first, each pass rounded and clipped to 0..255)."""
    h, w = levels.shape[-2:]
    x = _resample(levels, *bicubic_taps(w, width), -1)
    return _resample(x, *bicubic_taps(h, height), -2)


def _pad_index(n: int, pad: int, reflect: torch.Tensor) -> torch.Tensor:
    i = torch.arange(n + pad)
    return torch.where(reflect, torch.where(i < n, i, 2 * (n - 1) - i), i.clamp(max=n - 1))


def pad_to_multiple(x: torch.Tensor, m: int) -> torch.Tensor:
    """srcore.net.encodings.pad_reflect of x (... x H x W) on the bottom and right to multiples of
    m, written as gathers so that the reflect-or-replicate choice is made at run time."""
    H, W = x.shape[-2:]
    ph, pw = (H + m - 1) // m * m - H, (W + m - 1) // m * m - W  # simpler symbols than (-H) % m
    one = torch.ones((), dtype=torch.int64)
    reflect = (one * ph < H) & (one * pw < W)
    rows, cols = _pad_index(H, ph, reflect), _pad_index(W, pw, reflect)
    return x.index_select(-2, rows).index_select(-1, cols)


def custom_translations() -> dict:
    """ONNX for two operators, faster in ONNX Runtime than the exporter's own: the right shifts
    (only the noise hash has them, on values in 0..2^32, so a division is exact) and
    pixel_unshuffle (SpaceToDepth, then its channels put in pixel_unshuffle's order)."""
    from onnxscript import opset18 as op

    def rshift(x, bits: int):
        return op.Div(x, op.CastLike(1 << bits, x))

    def pixel_unshuffle(x, factor: int):
        c, s2 = x.shape[1], factor * factor
        order = [(k % s2) * c + k // s2 for k in range(c * s2)]
        return op.Gather(
            op.SpaceToDepth(x, blocksize=factor), op.Constant(value_ints=order), axis=1
        )

    aten = torch.ops.aten
    return {aten.__rshift__.Scalar: rshift, aten.pixel_unshuffle.default: pixel_unshuffle}

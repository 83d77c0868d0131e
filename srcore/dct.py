"""2-D DCT-II (orthonormal) as matrix products, over the whole map or over b x b blocks.

The DCT matrices are built once per size with torch-dct and cached; applying them is two matmuls,
which is much faster than an FFT-based DCT for the small sizes used here and runs under autocast.
"""

from __future__ import annotations

import functools

import torch
import torch_dct


@functools.lru_cache(maxsize=64)
def _dct_matrix_cpu(n: int) -> torch.Tensor:
    # torch_dct.dct transforms the last dim, so row i of dct(I) is DCT(e_i): that is D^T.
    return torch_dct.dct(torch.eye(n, dtype=torch.float64), norm="ortho").T.contiguous()


def dct_matrix(n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """n x n orthonormal DCT-II matrix D, so that DCT(v) = D @ v."""
    return _dct_matrix_cpu(n).to(device=device, dtype=dtype)


def dct2d(x: torch.Tensor, block: int = 0, inverse: bool = False) -> torch.Tensor:
    """Orthonormal 2-D DCT of the last two dims of x (... x H x W), same shape out.

    block = 0: one transform over the whole H x W. block = b: a transform per b x b tile (JPEG-style),
    coefficients stored in place of the tile's pixels; H and W must be multiples of b.
    """
    H, W = x.shape[-2:]
    if block == 0:
        dh, dw = dct_matrix(H, x.device, x.dtype), dct_matrix(W, x.device, x.dtype)
        if inverse:
            return dh.T @ x @ dw
        return dh @ x @ dw.T
    if H % block or W % block:
        raise ValueError(f"block DCT needs H and W multiples of {block}, got {H}x{W}")
    d = dct_matrix(block, x.device, x.dtype)
    lead = x.shape[:-2]
    t = x.reshape(*lead, H // block, block, W // block, block).transpose(-3, -2)  # ... h w b b
    t = d.T @ t @ d if inverse else d @ t @ d.T
    return t.transpose(-3, -2).reshape(*lead, H, W)


def idct2d(x: torch.Tensor, block: int = 0) -> torch.Tensor:
    """Inverse of dct2d with the same `block`."""
    return dct2d(x, block, inverse=True)

"""Orthonormal 2-D DCT-II as matrix products: over the whole map, or over b x b blocks.

The DCT matrices are built once per size with torch-dct and cached per device and dtype (no
host-to-device copy per call, which CUDA-graph capture forbids). The whole-map transform is two
matmuls. The block transform gathers each b x b block into a row of b*b pixels and multiplies all
rows by one (b*b) x (b*b) matrix (the Kronecker product of the 1-D DCT with itself): one large
matrix product instead of a batch of tiny 8 x 8 ones, which is what makes it fast on GPU and CPU.

The cache keeps the MAX_CACHED most recently used matrices. A CUDA graph reads the matrices it
was captured with at every replay, so its capture runs inside `keep_used_matrices()` and the
graph's entry holds them for as long as the graph lives, whatever the cache drops.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

import torch
import torch_dct

MAX_CACHED = 64
_cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()
_recorders: list[list[torch.Tensor]] = []
_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _dct_matrix_cpu(n: int) -> torch.Tensor:
    # torch_dct.dct transforms the last dim, so row i of dct(I) is DCT(e_i): that is D^T.
    return torch_dct.dct(torch.eye(n, dtype=torch.float64), norm="ortho").T.contiguous()


def _cached(key: tuple, build: Callable[[], torch.Tensor]) -> torch.Tensor:
    with _lock:  # one cache for every thread that samples (srcore.Upscaler may serve several)
        matrix = _cache.get(key)
        if matrix is None:
            matrix = _cache[key] = build()
            while len(_cache) > MAX_CACHED:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
    for used in _recorders:
        used.append(matrix)
    return matrix


@contextlib.contextmanager
def keep_used_matrices() -> Iterator[list[torch.Tensor]]:
    """`with keep_used_matrices() as used:` -> every matrix handed out inside the block is in
    `used`."""
    used: list[torch.Tensor] = []
    _recorders.append(used)
    try:
        yield used
    finally:
        _recorders.remove(used)


def dct_matrix(
    n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """n x n orthonormal DCT-II matrix D, so that DCT(v) = D @ v."""
    device = torch.device(device)
    return _cached(("dct", n, device, dtype), lambda: _dct_matrix_cpu(n).to(device, dtype))


def _block_matrix(b: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(b*b) x (b*b): pixel rows (i*b + j) @ this = coefficients (k*b + l)."""

    def build() -> torch.Tensor:
        d = _dct_matrix_cpu(b)
        return torch.kron(d, d).T.contiguous().to(device, dtype)

    return _cached(("block", b, device, dtype), build)


def dct2d(x: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Orthonormal 2-D DCT of the last two dims of x (... x H x W) over the whole map, same
    shape."""
    H, W = x.shape[-2:]
    dh, dw = dct_matrix(H, x.device, x.dtype), dct_matrix(W, x.device, x.dtype)
    return dh.T @ x @ dw if inverse else dh @ x @ dw.T


def idct2d(x: torch.Tensor) -> torch.Tensor:
    """Inverse of dct2d."""
    return dct2d(x, inverse=True)


def block_dct(x: torch.Tensor, b: int) -> torch.Tensor:
    """DCT of every b x b block. x: B x C x H x W (H, W multiples of b) -> B x C x (H/b * W/b) x
    (b*b): one row of coefficients per block (blocks in raster order, coefficient k*b + l =
    vertical k, horizontal l)."""
    B, C, H, W = x.shape
    if H % b or W % b:
        raise ValueError(f"block DCT needs H and W multiples of {b}, got {H}x{W}")
    blocks = x.reshape(B, C, H // b, b, W // b, b).permute(0, 1, 2, 4, 3, 5)
    rows = blocks.reshape(B, C, (H // b) * (W // b), b * b)
    return rows @ _block_matrix(b, x.device, x.dtype)


def block_idct(coef: torch.Tensor, b: int, height: int, width: int) -> torch.Tensor:
    """Inverse of block_dct: B x C x (H/b * W/b) x (b*b) -> B x C x H x W."""
    B, C = coef.shape[:2]
    rows = coef @ _block_matrix(b, coef.device, coef.dtype).T
    blocks = rows.reshape(B, C, height // b, width // b, b, b).permute(0, 1, 2, 4, 3, 5)
    return blocks.reshape(B, C, height, width)

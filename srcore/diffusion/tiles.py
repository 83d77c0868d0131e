"""Super-resolving a whole image of any size: in one piece, or in overlapping tiles blended
smoothly.

Tiles start on the network's size-multiple grid and get their absolute origin, so the positional
encoding, the block DCT, the Haar grid and the keyed noise are those of the whole image; only the
zero padding at a tile's edge differs, and the raised-cosine blend over `overlap` pixels hides it.
Memory: the network's work is bounded by the tile; the input y0 and the output are whole images
(3 bytes per pixel each in uint8), and the float accumulator is one strip of tiles (tile x W).

Several draws (`samples`) are averaged per tile by super_resolve; the x8 `ensemble` runs the whole
procedure once per view, each view being an image of its own, and averages in float before rounding.

Progress is a tqdm bar (`progress=True`) or a callback `(tiles done, tiles in all)` called after
each tile (srcore-app shows it); an exception raised by the callback stops the work there (cancel).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from tqdm import tqdm

from srcore.common.tensors import to_tensor, to_uint8
from srcore.config.sampling import SamplingSpec
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.sampler import VIEWS, super_resolve, unview, view
from srcore.net.unet import DualDomainUNet

Report = Callable[[int, int], None]  # (tiles done, tiles in all), called after each tile
Progress = bool | Report  # True: a tqdm bar; False: nothing


def tile_starts(size: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Start offsets along one axis: a grid of `multiple`, consecutive tiles overlapping >=
    overlap."""
    if tile >= size:
        return [0]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = [0]
    while starts[-1] + tile < size:
        starts.append(starts[-1] + step)
    return starts


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D blending weights: raised-cosine rise/fall over `overlap` pixels at inner edges, 1
    elsewhere."""
    w = np.ones(length, dtype=np.float32)
    n = min(overlap, length)
    if n > 0:
        r = np.sin(0.5 * math.pi * (np.arange(n) + 0.5) / n) ** 2
        if rise:
            w[:n] *= r
        if fall:
            w[length - n :] *= r[::-1]
    return w


def super_resolve_image(
    model: DualDomainUNet,
    diffusion: ResShift,
    y0: np.ndarray,
    spec: SamplingSpec,
    progress: Progress = False,
) -> np.ndarray:
    """y0: H x W x 3 bicubic base, uint8 or float32 in [0, 255] -> SR of the same shape: uint8
    (rounded) for uint8, float32 in [0, 255] (unrounded) for float32.

    spec: a resolved SamplingSpec (srcore.diffusion.loader): its seed, sampler, samples (draws
    averaged per tile), ensemble (the 8 rotations/flips averaged), tile (0: one piece), overlap
    and scale (the factor y0 was enlarged by, what a multi-scale model is told). One draw without
    the ensemble keeps the float buffers to one strip. progress: a bar, or a Report over every
    tile of every view.
    """
    exact = y0.dtype == np.uint8
    if not spec.ensemble:
        dtype = np.uint8 if exact else np.float32
        return _super_resolve_view(model, diffusion, y0, spec, dtype, progress)
    one = replace(spec, ensemble=False)  # each view is an image of its own, in tiles
    acc = np.zeros(y0.shape, dtype=np.float32)
    for i, (k, flip) in enumerate(VIEWS):
        y0_v = np.ascontiguousarray(view(y0, k, flip))
        told = progress if not callable(progress) else _of_view(progress, i, len(VIEWS))
        acc += unview(_super_resolve_view(model, diffusion, y0_v, one, np.float32, told), k, flip)
    acc /= len(VIEWS)
    return np.round(acc).clip(0, 255).astype(np.uint8) if exact else acc


def _super_resolve_view(
    model: DualDomainUNet,
    diffusion: ResShift,
    y0: np.ndarray,
    spec: SamplingSpec,
    dtype: type,
    progress: Progress,
) -> np.ndarray:
    """One view, its draws averaged per tile: H x W x 3 of `dtype` (uint8 rounded, or float32 in
    [0, 255])."""
    dev = next(model.parameters()).device
    H, W = y0.shape[:2]
    tile, seed = spec.tile, spec.seed
    if tile <= 0 or (H <= tile and W <= tile):
        sr, _ = super_resolve(model, diffusion, to_tensor(y0)[None].to(dev), seed, None, spec)
        if callable(progress):
            progress(1, 1)  # one piece: one "tile"
        return to_uint8(sr[0]) if dtype == np.uint8 else _to_255(sr)

    def piece(top: int, bottom: int, left: int, right: int) -> np.ndarray:
        y0_t = to_tensor(y0[top:bottom, left:right])[None].to(dev)
        origin = torch.tensor([[top, left]])
        return _to_255(super_resolve(model, diffusion, y0_t, seed, origin, spec)[0])

    grid = (tile, spec.overlap, model.cfg.size_multiple)
    return blend_tiles(H, W, grid, piece, dtype, progress)


def blend_tiles(
    height: int,
    width: int,
    grid: tuple[int, int, int],
    piece: Callable[[int, int, int, int], np.ndarray],
    dtype: type = np.uint8,
    progress: Progress = False,
) -> np.ndarray:
    """A height x width x 3 image (uint8 rounded, or float32) from overlapping tiles; grid:
    (tile, overlap, multiple), tiles of `tile` pixels starting on the `multiple` grid, blended
    with raised-cosine ramps over `overlap`. piece(top, bottom, left, right) returns a tile,
    float32 in [0, 255]. progress: a tqdm bar (True) or a Report after each tile.

    Tiles are processed row by row; a float accumulator covers one row of tiles only, and rows
    that no later tile touches are finalised into the output as soon as the row is done.
    """
    tile, overlap, multiple = grid
    ys, xs = (
        tile_starts(height, tile, overlap, multiple),
        tile_starts(width, tile, overlap, multiple),
    )
    out = np.empty((height, width, 3), dtype=dtype)
    acc = np.zeros((tile, width, 3), dtype=np.float32)  # rows [top, top + tile) of the strip
    wsum = np.zeros((tile, width, 1), dtype=np.float32)
    total = len(ys) * len(xs)
    bar = tqdm(total=total, desc="tiles", unit="tile", disable=progress is not True, leave=False)
    report, done_tiles = (progress if callable(progress) else None), 0
    for r, top in enumerate(ys):
        bottom = min(top + tile, height)
        wy = ramp(bottom - top, overlap, top > 0, bottom < height)
        for left in xs:
            right = min(left + tile, width)
            w = wy[:, None] * ramp(right - left, overlap, left > 0, right < width)[None, :]
            acc[: bottom - top, left:right] += w[..., None] * piece(top, bottom, left, right)
            wsum[: bottom - top, left:right] += w[..., None]
            bar.update()
            done_tiles += 1
            if report is not None:
                report(done_tiles, total)
        done = (ys[r + 1] if r + 1 < len(ys) else height) - top  # rows no later tile touches
        rows = acc[:done] / wsum[:done]
        out[top : top + done] = np.round(rows).clip(0, 255) if dtype == np.uint8 else rows
        acc = np.concatenate([acc[done:], np.zeros((done, width, 3), np.float32)])
        wsum = np.concatenate([wsum[done:], np.zeros((done, width, 1), np.float32)])
    bar.close()
    return out


def _of_view(report: Report, index: int, views: int) -> Report:
    """A view's Report as a share of all views': view `index` of `views` counts its tiles after
    those of the views before it."""
    return lambda done, total: report(index * total + done, views * total)


def _to_255(sr: torch.Tensor) -> np.ndarray:
    """1 x 3 x h x w in [-1, 1] -> float32 h x w x 3 in [0, 255], unrounded."""
    return (sr[0].float().permute(1, 2, 0).cpu().numpy() + 1.0) * 127.5

"""The degradation: the one function every stage uses to make LR and the bicubic base y0.

HR is mod-cropped (top-left kept) to a multiple of `scale`, shrunk with Pillow's BICUBIC
(a = -0.5, antialiased when shrinking: MATLAB's imresize), and y0 is LR enlarged back to the
cropped HR size with the same kernel. All uint8, so training, evaluation and upscaling see
bit-identical inputs.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def mod_crop(hr: np.ndarray, scale: int) -> np.ndarray:
    """Crop H x W x C so that H and W are multiples of `scale` (keeps the top-left corner)."""
    h, w = hr.shape[:2]
    return hr[: h - h % scale, : w - w % scale]


def bicubic_resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """H x W (x C) -> at size (width, height), Pillow BICUBIC. uint8 stays uint8 (rounded and
    clipped by Pillow); float32 stays float32, unclipped (per channel, Pillow's mode F)."""
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
        return np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
    planes = img[..., None] if img.ndim == 2 else img
    out = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(planes[..., c])).resize(size, Image.BICUBIC)
        )
        for c in range(planes.shape[2])
    ]
    return np.stack(out, axis=2) if img.ndim == 3 else out[0]


def degrade(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 HR (H x W x 3) -> (mod-cropped HR, LR at 1/scale, y0 = bicubic upsample of LR), all
    uint8."""
    hr = mod_crop(hr, scale)
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"image of {w}x{h} is smaller than the scale {scale}")
    lr = bicubic_resize(hr, (w // scale, h // scale))
    return hr, lr, upsample(lr, scale)


def upsample(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic base y0 of an LR image: h x w x C -> (h*scale) x (w*scale) x C, uint8 or float32
    as given."""
    h, w = lr.shape[:2]
    return bicubic_resize(lr, (w * scale, h * scale))

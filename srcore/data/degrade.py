"""The degradation: the one function every stage uses to make LR and the bicubic base y0.

The size rule, for any scale s >= 1 (integer or not, as LIIF and IDM evaluate continuous SR):
an H x W image has an LR of h = floor(H / s) by w = floor(W / s) pixels, and the HR it is scored
against is its top-left crop of round(h s) by round(w s) (halves rounded up). For an integer s this
is the usual mod-crop to a multiple of s. The LR is Pillow's BICUBIC (a = -0.5, antialiased when
shrinking: MATLAB's imresize) of the crop, and y0 is the LR enlarged back to the crop's size with
the same kernel, so the LR and y0 span the same extent and their pixel grids align exactly (the
factor along an axis is round(h s) / h, within 0.5 / h of s). All uint8, so training, evaluation
and upscaling see bit-identical inputs.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def lr_side(side: int, scale: float) -> int:
    """LR pixels of an HR side at `scale`: floor(side / scale), exact for integer scales."""
    return math.floor(side / scale + 1e-9)


def hr_side(side: int, scale: float) -> int:
    """Output pixels of an LR side at `scale`: round(side x scale), halves up (25 x 2.3 = 57.5 is
    57.49999... in floating point: the epsilon keeps it a half)."""
    return math.floor(side * scale + 0.5 + 1e-9)


def mod_crop(hr: np.ndarray, scale: float) -> np.ndarray:
    """Crop H x W x C to the size rule's HR (keeps the top-left corner): for an integer scale, to
    multiples of it."""
    h, w = hr.shape[:2]
    return hr[: hr_side(lr_side(h, scale), scale), : hr_side(lr_side(w, scale), scale)]


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


def degrade(hr: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 HR (H x W x 3) -> (HR cropped by the size rule, LR at 1/scale, y0 = bicubic upsample
    of LR to the cropped HR's size), all uint8."""
    h, w = lr_side(hr.shape[0], scale), lr_side(hr.shape[1], scale)
    if h < 1 or w < 1:
        raise ValueError(f"image of {hr.shape[1]}x{hr.shape[0]} is smaller than the scale {scale}")
    hr = mod_crop(hr, scale)
    lr = bicubic_resize(hr, (w, h))
    return hr, lr, upsample(lr, scale)


def upsample(lr: np.ndarray, scale: float) -> np.ndarray:
    """The bicubic base y0 of an LR image: h x w x C -> round(h s) x round(w s) x C, uint8 or
    float32 as given."""
    h, w = lr.shape[:2]
    return bicubic_resize(lr, (hr_side(w, scale), hr_side(h, scale)))


def patch_y0(hr: np.ndarray, scale: float) -> np.ndarray:
    """A training patch's y0 at any scale: uint8 P x P x 3 HR -> its bicubic LR of floor(P / s)
    pixels enlarged back to exactly P x P (the factor really applied: applied_scale)."""
    side = hr.shape[0]
    lr = bicubic_resize(
        np.ascontiguousarray(hr), (lr_side(hr.shape[1], scale), lr_side(side, scale))
    )
    return bicubic_resize(lr, (hr.shape[1], side))


def applied_scale(side: int, scale: float) -> float:
    """The factor a patch of `side` pixels is really enlarged by at `scale`: side / floor(side / s)
    (192 / 76 = 2.53 for 2.5), what a multi-scale network is told in training."""
    return side / lr_side(side, scale)

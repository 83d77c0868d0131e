"""PSNR and SSIM as the SR literature reports them.

Inputs are uint8 H x W x 3 RGB (8-bit quantised). Y is BT.601 luma as MATLAB's rgb2ycbcr
(16 + 65.481 R + 128.553 G + 24.966 B, RGB in [0, 1]), kept in float. `border` pixels (= scale)
are cropped on every side. SSIM uses the Gaussian window (sigma 1.5), population covariance and
data range 255: scikit-image's MATLAB-compatible settings (Wang et al. 2004).
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """uint8 H x W x 3 -> float64 H x W luma in [16, 235]."""
    a = img.astype(np.float64) / 255.0
    return 16.0 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border] if border else a


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)
    if a.ndim == 3:
        kw["channel_axis"] = 2
    return float(structural_similarity(a.astype(np.float64), b.astype(np.float64), **kw))


def score(sr: np.ndarray, hr: np.ndarray, border: int) -> dict[str, float]:
    """psnr_y, ssim_y, psnr_rgb, ssim_rgb of uint8 SR against uint8 HR (same size), border
    cropped."""
    if sr.shape != hr.shape or sr.dtype != np.uint8 or hr.dtype != np.uint8:
        raise ValueError(
            "score needs two uint8 images of one shape, "
            f"got {sr.shape} {sr.dtype} / {hr.shape} {hr.dtype}"
        )
    ys, yh = _crop(rgb_to_y(sr), border), _crop(rgb_to_y(hr), border)
    cs, ch = _crop(sr, border), _crop(hr, border)
    return {
        "psnr_y": psnr(ys, yh),
        "ssim_y": ssim(ys, yh),
        "psnr_rgb": psnr(cs, ch),
        "ssim_rgb": ssim(cs, ch),
    }

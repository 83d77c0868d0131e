"""The named degradations: how evaluation (and training) makes an LR image from an HR one.

    bicubic     the textbook LR: Pillow's bicubic shrink (srcore.data.degrade)
    real        the real group's two-stage random pipeline (srcore.data.realworld)
    realesrgan  the same pipeline at Real-ESRGAN's published ranges (schema.REALESRGAN)
    jpeg        the bicubic LR saved as a JPEG of quality 75 (4:2:0), as the web serves photos
    noise       the bicubic LR with Gaussian colour noise of sigma 5 (8-bit levels): a phone in dim
                light
    blur        the bicubic LR blurred by a Gaussian of sigma 0.8 LR pixels: soft focus or a shaken
                hand
    blur_jpeg   blur, then jpeg

The last four (schema.EVERYDAY) are fixed and milder than either pipeline: what a user's photos
meet, scored to show where a model helps on inputs it did not train on. Each LR is a pure function
of (HR, scale, name of the image, seed): the same on every run and for every model.
"""

from __future__ import annotations

import numpy as np
import torch

from srcore.config.schema import EVAL_DEGRADATIONS, REALESRGAN, RealConfig
from srcore.data.degrade import degrade, upsample
from srcore.data.kernels import gaussian
from srcore.data.realworld import (
    blur,
    gaussian_noise,
    generator,
    jpeg,
    name_key,
    real_degrade,
    to_uint8,
)

JPEG_QUALITY = 75
NOISE_SIGMA = 5.0
BLUR_SIGMA = 0.8
BLUR_SIDE = 7  # covers +-3.75 sigma


def everyday_lr(lr: np.ndarray, degradation: str, rng: np.random.Generator) -> np.ndarray:
    """uint8 h x w x 3 clean LR -> the same LR under one of schema.EVERYDAY."""
    img = torch.from_numpy(np.array(lr, dtype=np.float32)).permute(2, 0, 1) / 255
    if degradation in ("blur", "blur_jpeg"):
        img = blur(img, gaussian(BLUR_SIDE, BLUR_SIGMA)).clamp(0, 1)
    if degradation == "noise":
        img = gaussian_noise(img, NOISE_SIGMA, False, rng)
    if degradation in ("jpeg", "blur_jpeg"):
        img = jpeg(img, JPEG_QUALITY)
    return to_uint8(img)


def degrade_named(
    hr: np.ndarray, scale: float, degradation: str, real: RealConfig, name: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """An evaluation's (mod-cropped HR, y0) of image `name` under `degradation` (one of
    srcore.config.schema.EVAL_DEGRADATIONS; `real`: the real group). Random draws come from
    (seed, name): the same on every run and for every model."""
    hr, lr = lr_named(hr, scale, degradation, real, name, seed)
    return hr, upsample(lr, scale)


def lr_named(
    hr: np.ndarray, scale: float, degradation: str, real: RealConfig, name: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """degrade_named's (mod-cropped HR, LR): the LR its y0 is enlarged from, what a user's photo
    would be (srcore-app's "shrink first")."""
    rng = generator(seed, name_key(name))
    if degradation in ("real", "realesrgan"):
        cfg = REALESRGAN if degradation == "realesrgan" else real
        hr, lr, _ = real_degrade(hr, scale, cfg, rng)
        return hr, lr
    if degradation not in EVAL_DEGRADATIONS:
        raise ValueError(f"degradation {degradation!r}: allowed {', '.join(EVAL_DEGRADATIONS)}")
    hr, lr, _ = degrade(hr, scale)
    return hr, lr if degradation == "bicubic" else everyday_lr(lr, degradation, rng)

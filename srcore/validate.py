"""Validation on the fixed validation patches: the one place that scores them, called by the
training loop (every `eval_every` steps) and by the evaluate stage (`patch_psnr_y`)."""

from __future__ import annotations

import numpy as np
import torch

from .data import PatchBatches
from .diffusion import ResShift
from .metrics import psnr, rgb_to_y
from .model import DualDomainUNet
from .sampler import super_resolve_mean
from .tensors import to_uint8


@torch.no_grad()
def validate(
    model: DualDomainUNet | None,
    diffusion: ResShift | None,
    patches: PatchBatches,
    seed: int = 0,
    batch: int = 8,
    sampler: str = "ancestral",
    samples: int = 1,
    ensemble: bool = False,
    scale: float | None = None,
) -> float:
    """Mean Y-PSNR over the fixed validation patches; model=None scores bicubic.

    Deterministic: patch i is sampled with seed + i and position-keyed noise, whatever the batch
    or the global RNG state. No border is cropped: the patches lie inside their images. sampler,
    samples, ensemble, scale (of the patches' y0): see srcore.sampler.super_resolve_mean.
    """
    scores = []
    for i in range(0, len(patches), batch):
        rows = patches.index.iloc[i : i + batch]
        x0, sr, origin, _ = patches.rows(rows)
        if model is not None:
            dev = next(model.parameters()).device
            seeds = torch.arange(i, i + len(rows)) + seed
            sr = super_resolve_mean(
                model, diffusion, sr.to(dev), seeds, origin, sampler, samples, ensemble, scale
            )
        scores += [psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in zip(to_uint8(sr), to_uint8(x0))]
    return float(np.mean(scores))

"""Validation on the fixed validation patches: the one place that scores them, called by the
training loop (every `eval_every` steps) and by the evaluate stage (`patch_psnr_y`)."""

from __future__ import annotations

import numpy as np
import torch

from srcore.common.tensors import to_uint8
from srcore.data.batches import PatchBatches
from srcore.diffusion.loader import Sampler
from srcore.diffusion.sampler import super_resolve
from srcore.eval.metrics import psnr, rgb_to_y


@torch.no_grad()
def validate(patches: PatchBatches, sampler: Sampler | None = None, batch: int = 8) -> float:
    """Mean Y-PSNR over the fixed validation patches, super-resolved by `sampler` (None:
    bicubic).

    Deterministic: patch i is sampled with sampler.spec.seed + i and position-keyed noise,
    whatever the batch or the global RNG state. No border is cropped: the patches lie inside
    their images. The spec's sampler, samples, ensemble and scale (of the patches' y0) apply as in
    srcore.diffusion.sampler.super_resolve; its tile does not (patches are whole).
    """
    scores = []
    for i in range(0, len(patches), batch):
        rows = patches.index.iloc[i : i + batch]
        x0, sr, origin, _ = patches.rows(rows)
        if sampler is not None:
            model, spec = sampler.model, sampler.spec
            seeds = torch.arange(i, i + len(rows)) + spec.seed
            dev = next(model.parameters()).device
            sr, _ = super_resolve(model, sampler.diffusion, sr.to(dev), seeds, origin, spec)
        scores += [psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in zip(to_uint8(sr), to_uint8(x0))]
    return float(np.mean(scores))

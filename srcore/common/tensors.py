"""The one normalisation: uint8 images (H x W x 3 RGB) <-> float tensors (3 x H x W) in [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 H x W x 3 (or B x H x W x 3) -> float32 3 x H x W (or B x 3 x H x W) in [-1, 1]."""
    a = np.ascontiguousarray(img)
    a = a if a.flags.writeable else a.copy()  # e.g. a memory-mapped cache
    t = torch.from_numpy(a).float().div(127.5).sub(1.0)
    return t.movedim(-1, -3)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] tensor 3 x H x W (or B x 3 x H x W) -> uint8 H x W x 3 (or B x H x W x 3),
    rounded."""
    x = ((x.detach().float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()

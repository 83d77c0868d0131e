"""Training and validation batches from the prepared cache (srcore.cache).

Patches are crops of the whole-image y0, exactly what a tile of that image sees at inference.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch

from .cache import load_pair
from .tensors import to_tensor


class PatchBatches:
    """Batches of (x0, y0, origin) patches from the cache; batch k is a pure function of (seed, k),
    so a resumed run draws exactly the batches an uninterrupted run would have."""

    def __init__(self, cache: str | os.PathLike, index: pd.DataFrame, split: str, batch_size: int, seed: int):
        if index.empty:
            raise ValueError(
                f"no '{split}' patches in the index: is the data folder empty or are all images smaller than the patch?"
            )
        self.index, self.batch_size, self.seed = index, batch_size, seed
        self.images = {name: load_pair(cache, split, name) for name in index["image"].unique()}

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, rows: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x0, y0: B x 3 x P x P in [-1, 1]; origin: B x 2 (top, left)."""
        hr, y0 = [], []
        for r in rows.itertuples():
            h, y = self.images[r.image]
            hr.append(h[r.top : r.top + r.size, r.left : r.left + r.size])
            y0.append(y[r.top : r.top + r.size, r.left : r.left + r.size])
        origin = torch.tensor(rows[["top", "left"]].to_numpy(dtype=np.int64))
        return to_tensor(np.stack(hr)), to_tensor(np.stack(y0)), origin

    def batch(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, k])
        return self.rows(self.index.iloc[rng.integers(0, len(self.index), self.batch_size)])

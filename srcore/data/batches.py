"""Training and validation batches from the prepared cache (srcore.data.cache).

Patches are crops of the whole-image y0, exactly what a tile of that image sees at inference.
`TrainSteps` is what the training loop's data loader serves: step k's batch (this rank's share) with
its diffusion draws, a pure function of (seed, k), prepared in loader workers off the training
thread.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import torch

from srcore.common.errors import UserError
from srcore.common.tensors import to_tensor
from srcore.config.schema import RealConfig
from srcore.data.cache import load_pair
from srcore.data.degrade import applied_scale, patch_y0
from srcore.data.named import degrade_named
from srcore.data.realworld import RealPatches

_SCALE_TAG = 0x5CA1E  # keeps the scale draws apart from the real degradation's
_LEVEL_TAG = 0x1E7E1  # and the clean-up levels apart from both


class PatchBatches:
    """Batches of (x0, y0, origin, scale) patches from the cache; batch k is a pure function of
    (seed, k), so a resumed run draws exactly the batches an uninterrupted run would have.

    y0 is the cached bicubic base; with `real`, a real-world degradation of the HR patch drawn
    from (seed, k, item) (training batches); with `y0_of` ({image: y0}), crops of those whole
    images' y0 instead of the cached one (the fixed patches of a degraded evaluation). With
    `scales` (low, high), each training patch's y0 is made at its own scale, drawn uniformly
    from that range by (seed, k, item) (srcore.data.degrade.patch_y0, or `real` at that scale).
    With `levels` (the clean-up knob, model.cleanup), each real patch is degraded at its own
    level, drawn uniformly from [0, 1] by (seed, k, item).
    """

    def __init__(
        self,
        cache: str | os.PathLike,
        index: pd.DataFrame,
        split: str,
        batch_size: int,
        seed: int,
        real: RealPatches | None = None,
        y0_of: dict[str, np.ndarray] | None = None,
        scales: tuple[float, ...] | None = None,
        integer_share: float = 0.0,
        integer_bias: float = 0.0,
        levels: bool = False,
    ):
        if index.empty:
            raise UserError(
                f"no '{split}' patches in the index: is the data folder empty "
                "or are all images smaller than the patch?"
            )
        self.index, self.batch_size, self.seed = index, batch_size, seed
        self.cache, self.split, self._images, self.real = cache, split, None, real
        self.y0_of, self.scales = y0_of, tuple(scales) if scales else None
        if levels and real is None:
            raise ValueError("clean-up levels are levels of the real degradation: pass `real`")
        self.levels = levels
        self.integers = integer_scales(self.scales) if integer_share else ()
        self.integer_share = integer_share if self.integers else 0.0
        self.integer_odds = None  # None: evenly, with the draws of an even choice
        if integer_bias and self.integers:
            odds = np.array(self.integers, dtype=np.float64) ** -integer_bias
            self.integer_odds = odds / odds.sum()

    @property
    def images(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{image: (HR, y0)} memory-mapped, opened on first use (in each loader worker, not
        pickled)."""
        if self._images is None:
            self._images = {
                name: load_pair(self.cache, self.split, name)
                for name in self.index["image"].unique()
            }
            if self.y0_of is not None:
                self._images = {n: (hr, self.y0_of[n]) for n, (hr, _) in self._images.items()}
        return self._images

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.index)

    def rows(
        self,
        rows: pd.DataFrame,
        keys: list[tuple[int, ...]] | None = None,
        scales: list[float] | None = None,
        levels: list[float] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """x0, y0: B x 3 x P x P in [-1, 1]; origin: B x 2 (top, left); scale: B, the factor each
        y0 was enlarged by (0: the prepared scale, not drawn). keys: the real degradation's key of
        each row (training batches); scales, levels: the scale and the clean-up level of each
        row's y0 (drawn by batch())."""
        hr, y0, applied = [], [], []
        if self.real is not None and keys is None:
            raise ValueError("real-degraded patches are drawn from keys: pass one per row")
        keys = keys or [()] * len(rows)
        scales, levels = scales or [None] * len(rows), levels or [1.0] * len(rows)
        for r, key, s, level in zip(rows.itertuples(), keys, scales, levels):
            h, y = self.images[r.image]
            hr.append(np.ascontiguousarray(h[r.top : r.top + r.size, r.left : r.left + r.size]))
            applied.append(0.0 if s is None else applied_scale(hr[-1].shape[0], s))
            if self.real is not None:
                y0.append(self.real.y0(hr[-1], key, s, level))
            elif s is not None:
                y0.append(patch_y0(hr[-1], s))
            else:
                y0.append(y[r.top : r.top + r.size, r.left : r.left + r.size])
        origin = torch.tensor(rows[["top", "left"]].to_numpy(dtype=np.int64))
        scale = torch.tensor(applied, dtype=torch.float32)
        return to_tensor(np.stack(hr)), to_tensor(np.stack(y0)), origin, scale

    def batch(
        self, k: int, part: int = 0, parts: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch k, or share `part` of `parts` equal shares of it (data-parallel ranks): x0, y0,
        origin, scale as rows() returns them, and level: B, each y0's clean-up level (drawn with
        `levels`; else 1 for real-degraded patches, 0 for clean ones)."""
        rng = np.random.default_rng([self.seed, k])
        picks = rng.integers(0, len(self.index), self.batch_size)
        n = self.batch_size // parts
        items = range(part * n, (part + 1) * n)
        keys = [(self.seed, k, j) for j in items]
        scales = None
        if self.scales is not None:  # own generators: the real draws stay those of (seed, k, j)
            scales = [self.draw_scale(np.random.default_rng([*key, _SCALE_TAG])) for key in keys]
        levels = [float(self.real is not None)] * len(keys)
        if self.levels:
            levels = [np.random.default_rng([*key, _LEVEL_TAG]).random() for key in keys]
        rows = self.rows(self.index.iloc[picks[items.start : items.stop]], keys, scales, levels)
        return (*rows, torch.tensor(levels, dtype=torch.float32))

    def draw_scale(self, rng: np.random.Generator) -> float:
        """One patch's scale: uniform over the range, or with chance integer_share one of its
        integer scales >= 2 (evenly, or k with chance in proportion to k ** -integer_bias). Where
        that scale divides the patch side (2, 3 and 4 of the default 192) the LR grid meets the HR
        grid as in the benchmarks; a drawn 2.03 shifts it across the patch."""
        s = rng.uniform(*self.scales)
        if self.integer_share and rng.random() < self.integer_share:
            n, odds = len(self.integers), self.integer_odds
            s = float(self.integers[rng.integers(n) if odds is None else rng.choice(n, p=odds)])
        return s


def integer_scales(scales: tuple[float, ...] | None) -> tuple[int, ...]:
    """The integer scales >= 2 inside a (low, high) range: (2, 3, 4) for (1, 4)."""
    if not scales:
        return ()
    return tuple(range(max(2, math.ceil(scales[0])), math.floor(scales[1]) + 1))


class TrainSteps(torch.utils.data.Dataset):
    """Item k = (x0, y0, origin, scale, level, t, noise) of training step k for rank `part` of
    `parts`: the share of batch k and of its timesteps t (B, chain indices 1..num_steps; each set
    to num_steps with chance `final_share`) and noise (like x0), all drawn from (seed, k) alone, so
    a resumed run, a data-parallel run and a single process see the same batch."""

    def __init__(
        self,
        patches: PatchBatches,
        num_steps: int,
        seed: int,
        part: int = 0,
        parts: int = 1,
        final_share: float = 0.0,
    ):
        if patches.batch_size % parts:
            raise UserError(
                f"train.batch_size = {patches.batch_size} must be a multiple of the {parts} "
                "processes"
            )
        self.patches, self.num_steps, self.seed, self.part, self.parts = (
            patches,
            num_steps,
            seed,
            part,
            parts,
        )
        self.final_share = final_share

    def __getitem__(self, k: int) -> tuple[torch.Tensor, ...]:
        x0, y0, origin, scale, level = self.patches.batch(k, self.part, self.parts)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + k)
        B, n = self.patches.batch_size, x0.shape[0]
        t = torch.randint(1, self.num_steps + 1, (B,), generator=gen)
        noise = torch.randn((B, *x0.shape[1:]), generator=gen)
        if self.final_share:  # drawn after the noise: at 0 the draws are those of uniform t
            t[torch.rand(B, generator=gen) < self.final_share] = self.num_steps
        share = slice(self.part * n, (self.part + 1) * n)
        return x0, y0, origin, scale, level, t[share], noise[share]


def whole_image_y0(
    cache: str | os.PathLike,
    split: str,
    names: list[str],
    scale: int,
    degradation: str,
    cfg: RealConfig,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """{image: y0 of the whole cached HR image under `degradation`}, fixed draws from (seed,
    name) (srcore.data.named.degrade_named)."""
    hr = {n: np.asarray(load_pair(cache, split, n)[0]) for n in names}
    return {n: degrade_named(hr[n], scale, degradation, cfg, n, seed)[1] for n in names}

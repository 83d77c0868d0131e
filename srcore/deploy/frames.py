"""A clip's frames through the Upscaler: upright, a batch at a time, each with its timestamp.

Every frame gets the same position-keyed noise (the spec's seed), so a still scene gives
bit-identical frames; `fresh` draws seed + frame index (studies/video compares the two). Frames
that fit one tile go through the network together when the model is a PyTorch one told one level
and one view (the batched path); otherwise each goes through Upscaler.upscale_picture, the image
path. clean-up auto is estimated once, from the first frame, for the whole clip.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from srcore.common.errors import UserError
from srcore.common.tensors import to_tensor, to_uint8
from srcore.config.sampling import AUTO, SamplingSpec
from srcore.data.degrade import hr_side, upsample
from srcore.deploy.pictures import Picture
from srcore.deploy.upscaler import Upscaler
from srcore.diffusion.loader import TrainedModel
from srcore.diffusion.sampler import super_resolve

NOISES = ("fixed", "fresh")


class FrameEnlarger:
    """Decoded frames -> [(upscaled upright RGB with even sides, pts)], a batch at a time."""

    def __init__(
        self,
        upscaler: Upscaler,
        spec: SamplingSpec | None,
        batch: int | None = None,
        noise: str = "fixed",
    ) -> None:
        if noise not in NOISES:
            raise UserError(f"noise {noise!r}: allowed {', '.join(NOISES)}")
        if batch is None:  # batching whole frames was 0.4x as fast on a 2-core CPU
            on_gpu = (
                isinstance(upscaler.engine, TrainedModel) and upscaler.engine.device.type == "cuda"
            )
            batch = 4 if on_gpu else 1
        if batch < 1:
            raise UserError(f"batch {batch}: allowed 1 or more")
        self.upscaler, self.batch, self.noise = upscaler, batch, noise
        self.spec = upscaler.spec(spec or upscaler.defaults)
        self.level = self.spec.cleanup  # with auto: estimated from the first frame
        self.index = 0  # frames enlarged so far: the fresh noise's seed offset

    def __call__(self, frames: list) -> list[tuple[np.ndarray, int]]:
        if not frames:
            return []
        rgbs = [upright(_rgb(f), f.rotation) for f in frames]
        if self.level == AUTO:  # one level for the clip: a level per frame could flicker
            self.level = self.upscaler.cleanup_level(Picture(rgbs[0], None, False), None, AUTO)
            self.spec = replace(self.spec, cleanup=self.level)
        fresh = self.noise == "fresh"
        seeds = [self.spec.seed + (self.index + i if fresh else 0) for i in range(len(rgbs))]
        self.index += len(rgbs)
        if self.batched(rgbs[0].shape):
            with self.upscaler.turn():
                srs = self._in_one_call(rgbs, seeds)
        else:
            srs = [
                self.upscaler.upscale_picture(Picture(rgb, None, False), replace(self.spec, seed=s))
                for rgb, s in zip(rgbs, seeds)
            ]
            srs = [sr.rgb for sr in srs]
        return [
            (even(sr), _pts(f, self.index - len(frames) + i))
            for i, (sr, f) in enumerate(zip(srs, frames))
        ]

    def batched(self, shape: tuple[int, ...]) -> bool:
        """Whether frames of `shape` go through the network together: a PyTorch model, one
        level told, one view, each frame one tile."""
        engine, spec = self.upscaler.engine, self.spec
        if not isinstance(engine, TrainedModel) or self.batch == 1:
            return False
        side = max(hr_side(shape[0], spec.scale), hr_side(shape[1], spec.scale))
        return spec.cleanup != AUTO and not spec.ensemble and (spec.tile == 0 or side <= spec.tile)

    def _in_one_call(self, rgbs: list[np.ndarray], seeds: list[int]) -> list[np.ndarray]:
        """The frames' SR from one call of the network on their stacked bicubic bases (the same
        keyed noise per frame as the per-frame path)."""
        sampler = self.upscaler.engine.sampler(self.spec)
        device = self.upscaler.engine.device
        y0 = torch.stack([to_tensor(upsample(rgb, self.spec.scale)) for rgb in rgbs]).to(device)
        seed = torch.tensor(seeds, dtype=torch.int64)
        sr, _ = super_resolve(sampler.model, sampler.diffusion, y0, seed, None, sampler.spec)
        return [to_uint8(item) for item in sr]


def _rgb(frame) -> np.ndarray:
    """A decoded frame as uint8 RGB, by FFmpeg's default conversion (what the encoder inverts)."""
    return frame.to_ndarray(format="rgb24")


def _pts(frame, index: int) -> int:
    """The frame's timestamp: its pts, else its dts (AVI), else its index."""
    for value in (frame.pts, frame.dts):
        if value is not None:
            return value
    return index


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A frame turned as its display matrix says (degrees counterclockwise, FFmpeg's sign)."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def even(rgb: np.ndarray) -> np.ndarray:
    """The frame with an odd side's last row or column dropped (4:2:0 needs even sides)."""
    h, w = rgb.shape[:2]
    return rgb[: h - h % 2, : w - w % 2]

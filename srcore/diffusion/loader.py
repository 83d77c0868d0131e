"""The one way to make a sampler: a model file loaded once (`TrainedModel`), and a `Sampler` for
each SamplingSpec, its blanks filled from the file and every option checked against it.

srcore-upscale, srcore-evaluate, the evaluate stage and `srcore.Upscaler` all sample through here.
A Sampler holds the network told its clean-up level, in its sampling form (bf16 and CUDA graphs on
a GPU, srcore.net.cudagraph), and the chain respaced to its steps.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from srcore.common.errors import UserError
from srcore.config.sampling import AUTO, CLEANUP, STEPS, SamplingSpec, check_tile
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.tiles import Progress, super_resolve_image
from srcore.net.checkpoint import load_model
from srcore.net.cudagraph import for_sampling
from srcore.net.level import estimate_level
from srcore.net.unet import DualDomainUNet, at_level

LEVELS_KEPT = 4  # networks told a clean-up level kept ready (each may hold CUDA graphs)


@dataclass(frozen=True)
class Sampler:
    """A trained network ready to sample as `spec` says (every field filled)."""

    model: torch.nn.Module  # told spec.cleanup, in its sampling form
    diffusion: ResShift  # respaced to spec.steps
    spec: SamplingSpec
    trained: TrainedModel | None = None  # with spec.cleanup auto: tells each image its level

    def enlarge(self, y0: np.ndarray, progress: Progress = False) -> np.ndarray:
        """y0: H x W x 3 bicubic base (uint8, or float32 in [0, 255]) enlarged by spec.scale ->
        the SR of the same shape and dtype (srcore.diffusion.tiles.super_resolve_image; progress:
        a bar or a callback per tile, as there). With
        cleanup auto, the whole image is told the one level estimated from it (so tiles agree)."""
        if self.spec.cleanup == AUTO and self.trained is not None:
            told = replace(self.spec, cleanup=self.trained.level_of(y0))
            return self.trained.sampler(told).enlarge(y0, progress)
        return super_resolve_image(self.model, self.diffusion, y0, self.spec, progress)

    def with_seed(self, seed: int) -> Sampler:
        """The same sampler drawing with another seed (evaluation: image i uses seed + i)."""
        return replace(self, spec=replace(self.spec, seed=seed))


@dataclass
class TrainedModel:
    """A model file loaded once: the network, its full chain, the scale it was prepared at."""

    net: DualDomainUNet
    diffusion: ResShift
    own_scale: int  # prepare.scale of its training; a range model takes model.scales
    path: Path
    _told: OrderedDict[float | None, torch.nn.Module] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: torch.device | str = "cpu",
        expect: tuple[ModelConfig, DiffusionConfig] | None = None,
    ) -> TrainedModel:
        """Load `path` on `device` (no pickled code runs); with `expect`, a file of another
        model or diffusion configuration is refused (srcore.net.checkpoint.load_model)."""
        model_cfg, diffusion_cfg = expect or (None, None)
        net, diffusion, checkpoint = load_model(path, model_cfg, diffusion_cfg, device)
        own = int(checkpoint["scale"])
        return cls(net, ResShift.from_config(diffusion), own, Path(path))

    def resolve(self, spec: SamplingSpec, default_cleanup: float | str = CLEANUP) -> SamplingSpec:
        """`spec` with its blanks filled from this model, checked against it (a UserError names
        the option and what this model allows)."""
        chain = self.diffusion.num_steps
        steps = min(STEPS, chain) if spec.steps is None else spec.steps
        if steps > chain:
            raise UserError(f"steps {steps}: allowed 1..{chain} (the chain length of {self.path})")
        check_tile(spec.tile, spec.overlap, self.net.cfg.size_multiple)
        scale = self.own_scale if spec.scale is None else spec.scale
        if not self.net.cfg.takes(scale, self.own_scale):
            words = self.net.cfg.scales_words(self.own_scale)
            raise UserError(f"scale {scale:g}: {self.path} takes {words}")
        if spec.cleanup is not None and not self.net.cfg.cleanup:
            raise UserError(
                f"cleanup {spec.cleanup}: {self.path} has no clean-up knob (model.cleanup false)"
            )
        cleanup = None  # a model without the knob is told nothing
        if self.net.cfg.cleanup:
            cleanup = default_cleanup if spec.cleanup is None else spec.cleanup
        if cleanup == AUTO and not self.estimates:
            raise UserError(
                f"cleanup auto: {self.path} has no level head (a clean-up model from before it): "
                "allowed a level in [0, 1]"
            )
        return replace(spec, steps=steps, scale=scale, cleanup=cleanup)

    def sampler(self, spec: SamplingSpec, default_cleanup: float | str = CLEANUP) -> Sampler:
        """A Sampler for `spec` (resolve()); the network told each level is built once."""
        spec = self.resolve(spec, default_cleanup)
        told = self.told(spec.cleanup)
        return Sampler(told, self.diffusion.respace(spec.steps), spec, self)

    def level_of(self, y0: np.ndarray) -> float:
        """The clean-up level the model's head picks for an image from its bicubic base y0
        (H x W x 3, uint8 or float32 in [0, 255], at the scale it is enlarged by): the level of
        the best predicted gain (srcore.net.level), rounded to 0.05."""
        x = torch.from_numpy(np.asarray(y0, dtype=np.float32)).permute(2, 0, 1)[None]
        return estimate_level(self.net, x.to(self.device) / 127.5 - 1)

    def told(self, level: float | str | None) -> torch.nn.Module:
        """The network told clean-up level `level` (None for a model without the knob), in its
        sampling form, built once per level (safe to call from several threads)."""
        with self._lock:
            if level not in self._told:
                self._told[level] = for_sampling(at_level(self.net, level))
                while len(self._told) > LEVELS_KEPT:  # a service told many levels: bounded memory
                    self._told.popitem(last=False)
            self._told.move_to_end(level)
            return self._told[level]

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @property
    def takes_cleanup(self) -> bool:
        """Whether the model was trained with the clean-up knob (model.cleanup)."""
        return self.net.cfg.cleanup

    @property
    def estimates(self) -> bool:
        """Whether the model estimates an image's level (cleanup auto): its level head."""
        return hasattr(self.net, "level_head")

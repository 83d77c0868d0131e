"""How a trained model samples: one typed spec for every caller.

`SamplingSpec` is what srcore-upscale, srcore-evaluate, the evaluate stage and `srcore.Upscaler`
pass around: the rules that need no model are checked when it is made, the scale is normalised
there (2.0 -> 2), and `srcore.diffusion.loader` fills its blanks (None) from the model file and
checks what depends on the model (the chain length, the tile grid, the scales it takes). No torch.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields, replace

import numpy as np

from srcore.common.errors import UserError
from srcore.config.rules import MAX_SCALE, PROBABILITY
from srcore.config.schema import SAMPLERS, SEED, EvaluateConfig, tile_fits, tile_rule

STEPS = EvaluateConfig().steps  # 1: the best PSNR in the study (more steps: more texture)
# The level a clean-up model is told when none is given: 0, the best measured on photos that are
# clean, JPEG-compressed or a little noisy (studies/photo); blur and heavier damage want more.
CLEANUP = 0.0
AUTO = "auto"  # a clean-up level estimated from each image (srcore.net.level)


def as_scale(value: float) -> float:
    """A scale as every caller reports it: an int when whole (4, not 4.0), else the float."""
    value = float(value)
    return int(value) if value.is_integer() else value


def check_tile(tile: int, overlap: int, multiple: int) -> None:
    """The tile rule, for a network whose sizes are multiples of `multiple`: 0 (the whole image),
    or a multiple of it larger than an overlap >= 0. A UserError otherwise."""
    if not tile_fits(tile, overlap, multiple):
        raise UserError(f"tile {tile}, overlap {overlap}: the tile must be {tile_rule(multiple)}")


@dataclass(frozen=True)
class SamplingSpec:
    """Every option of sampling a trained model. None: decided by the model file (steps: STEPS,
    or its chain length if shorter; scale: the scale it was prepared at; cleanup: the caller's
    default level, for a model with the clean-up knob)."""

    steps: int | None = None  # a respaced chain of this many steps
    sampler: str = "ancestral"  # ancestral: fresh noise every step; ddim: deterministic
    samples: int = 1  # independent draws averaged (an MMSE estimate), cost x samples
    ensemble: bool = False  # average over the 8 rotations/flips, cost x8
    tile: int = 0  # tile side in output pixels; 0: the whole image in one piece
    overlap: int = 32  # overlap of neighbouring tiles, blended smoothly
    seed: int = 0  # seed of the sampling noise
    scale: float | None = None  # the enlargement, in 1..MAX_SCALE
    cleanup: float | str | None = None  # level in [0, 1] or auto (model.cleanup models only)

    def __post_init__(self) -> None:
        checks = (
            ("steps", self.steps is None or (_is_int(self.steps) and self.steps >= 1), "1 or more"),
            ("sampler", self.sampler in SAMPLERS, f"one of {', '.join(SAMPLERS)}"),
            ("samples", _is_int(self.samples) and self.samples >= 1, "1 or more"),
            ("tile", _is_int(self.tile) and self.tile >= 0, "0 or more"),
            ("overlap", _is_int(self.overlap) and self.overlap >= 0, "0 or more"),
            ("seed", _is_int(self.seed) and SEED[0](self.seed), f"an integer {SEED[1]}"),
            ("scale", self.scale is None or in_scales(self.scale), f"a number in 1..{MAX_SCALE}"),
            (
                "cleanup",
                self.cleanup is None or self.cleanup == AUTO or is_level(self.cleanup),
                f"a number {PROBABILITY[1]} or {AUTO}",
            ),
        )
        for name, ok, allowed in checks:
            if not ok:
                raise UserError(f"{name} {getattr(self, name)!r}: allowed {allowed}")
        # plain Python numbers whatever was given (NumPy's too): they print, compare and hash alike
        for name in ("steps", "samples", "tile", "overlap", "seed"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        if self.scale is not None:
            object.__setattr__(self, "scale", as_scale(self.scale))
        if self.cleanup not in (None, AUTO):
            object.__setattr__(self, "cleanup", float(self.cleanup))
        object.__setattr__(self, "ensemble", bool(self.ensemble))

    def updated(self, **changes: object) -> SamplingSpec:
        """This spec with `changes` (checked as a new spec); an unknown name is a UserError that
        lists the options."""
        names = [f.name for f in fields(self)]
        if unknown := sorted(set(changes) - set(names)):
            raise UserError(f"{unknown[0]}: not a sampling option (allowed: {', '.join(names)})")
        return replace(self, **changes)


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


def in_scales(v: object) -> bool:
    """A scale any model may be asked for: a number in 1..MAX_SCALE."""
    return _is_number(v) and 1 <= v <= MAX_SCALE


def is_level(v: object) -> bool:
    """A clean-up level: a number in [0, 1]."""
    return _is_number(v) and PROBABILITY[0](v)

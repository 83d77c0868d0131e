"""How a trained model samples: one typed spec for every caller, and its command-line options.

`SamplingSpec` is what srcore-upscale, srcore-evaluate, the evaluate stage and `srcore.Upscaler`
pass around: the rules that need no model are checked when it is made, the scale is normalised
there (2.0 -> 2), and `srcore.diffusion.loader` fills its blanks (None) from the model file and
checks what depends on the model (the chain length, the tile grid, the scales it takes). No torch.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from srcore.common.errors import UserError
from srcore.config.rules import MAX_SCALE, PROBABILITY
from srcore.config.schema import DEVICES, SAMPLERS, SEED, EvaluateConfig, tile_fits, tile_rule

STEPS = EvaluateConfig().steps  # 1: the best PSNR in the study (more steps: more texture)
CLEANUP = EvaluateConfig().cleanup  # the level a clean-up model is told when none is given


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
    cleanup: float | None = None  # clean-up level in [0, 1] (model.cleanup models only)

    def __post_init__(self) -> None:
        checks = (
            ("steps", self.steps is None or (_is_int(self.steps) and self.steps >= 1), "1 or more"),
            ("sampler", self.sampler in SAMPLERS, f"one of {', '.join(SAMPLERS)}"),
            ("samples", _is_int(self.samples) and self.samples >= 1, "1 or more"),
            ("tile", _is_int(self.tile) and self.tile >= 0, "0 or more"),
            ("overlap", _is_int(self.overlap) and self.overlap >= 0, "0 or more"),
            ("seed", _is_int(self.seed) and SEED[0](self.seed), f"an integer {SEED[1]}"),
            ("scale", self.scale is None or _in_scales(self.scale), f"a number in 1..{MAX_SCALE}"),
            ("cleanup", self.cleanup is None or _level(self.cleanup), f"a number {PROBABILITY[1]}"),
        )
        for name, ok, allowed in checks:
            if not ok:
                raise UserError(f"{name} {getattr(self, name)!r}: allowed {allowed}")
        if self.scale is not None:
            object.__setattr__(self, "scale", as_scale(self.scale))
        object.__setattr__(self, "ensemble", bool(self.ensemble))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SamplingSpec:
        """The spec of a command line made with add_sampling_options (and --seed, --scale)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in vars(args).items() if k in names})


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _in_scales(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v <= MAX_SCALE


def _level(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and PROBABILITY[0](v)


def add_sampling_options(
    ap: argparse.ArgumentParser, tile: int, cleanup_default: str = f"{CLEANUP}"
) -> None:
    """--steps, --sampler, --samples, --ensemble, --tile, --overlap, --device and --cleanup; with
    the command's own --seed and --scale they make a SamplingSpec (SamplingSpec.from_args)."""
    add = ap.add_argument
    add("--steps", type=int, help=f"sampling steps, a respaced chain (default: {STEPS}, or T)")
    add("--sampler", default="ancestral", choices=SAMPLERS, help="ddim: deterministic")
    add("--samples", type=int, default=1, help="independent draws averaged (an MMSE estimate)")
    add("--ensemble", action="store_true", help="average over the 8 rotations/flips (cost x8)")
    add("--tile", type=int, default=tile, help="tile side in output pixels, 0 = the whole image")
    add("--overlap", type=int, default=32, help="overlap of neighbouring tiles (px)")
    add("--device", default="auto", choices=DEVICES, help="auto = cuda when available, else cpu")
    add(
        "--cleanup",
        type=cleanup_value,
        help="for a model trained with the clean-up knob (model.cleanup): how much to clean up, "
        f"0 (a clean LR: sharpen only) to 1 (the real group's full degradations); default "
        f"{cleanup_default}",
    )


def cleanup_value(text: str) -> float:
    """The argparse type of --cleanup: a number in [0, 1], evaluate.cleanup's rule."""
    return _argument(text, float, _level, f"a number {PROBABILITY[1]}")


def seed_value(text: str) -> int:
    """The argparse type of --seed: an integer in the range every `seed` setting allows."""
    return _argument(text, int, lambda v: SEED[0](v), f"an integer {SEED[1]}")


def scale_value(text: str) -> float:
    """The argparse type of --scale: a number in 1..MAX_SCALE, an int when whole."""
    return as_scale(_argument(text, float, _in_scales, f"a number in 1..{MAX_SCALE}"))


def _argument(text: str, kind: type, ok, allowed: str):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"{text}: allowed {allowed}")
    return value

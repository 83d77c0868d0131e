"""How a trained model samples, as srcore-upscale and srcore-evaluate both offer it: the
command-line
options, their check, and the model ready to sample (on its device, CUDA-graphed on a GPU)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .checkpoint import load_model
from .config import DEVICES, SAMPLERS, SEED, EvaluateConfig, ModelConfig, tile_fits, tile_rule
from .cudagraph import for_sampling
from .diffusion import ResShift
from .errors import UserError
from .model import at_level
from .rules import MAX_SCALE, PROBABILITY

STEPS = (
    EvaluateConfig().steps
)  # 1: the best PSNR in the study (more steps: more texture, less PSNR)
CLEANUP = EvaluateConfig().cleanup  # the level a clean-up model is told when none is given


def add_sampling_options(
    ap: argparse.ArgumentParser, tile: int, cleanup_default: str = f"{CLEANUP}"
) -> None:
    """--steps, --sampler, --samples, --ensemble, --tile, --overlap, --device, --cleanup."""
    ap.add_argument(
        "--steps",
        type=int,
        help=f"sampling steps, a respaced chain (default: {STEPS}, or the model's T if smaller)",
    )
    ap.add_argument(
        "--sampler",
        default="ancestral",
        choices=SAMPLERS,
        help="ancestral: noise every step; ddim: deterministic",
    )
    ap.add_argument(
        "--samples", type=int, default=1, help="independent draws averaged (an MMSE estimate; x N)"
    )
    ap.add_argument(
        "--ensemble", action="store_true", help="average over the 8 rotations/flips (cost x8)"
    )
    ap.add_argument(
        "--tile", type=int, default=tile, help="tile side in output pixels, 0 = the whole image"
    )
    ap.add_argument("--overlap", type=int, default=32, help="overlap of neighbouring tiles (px)")
    ap.add_argument(
        "--device", default="auto", choices=DEVICES, help="auto = cuda when available, else cpu"
    )
    ap.add_argument(
        "--cleanup",
        type=cleanup_value,
        help="for a model trained with the clean-up knob (model.cleanup): how much to clean up, "
        f"0 (a clean LR: sharpen only) to 1 (the real group's full degradations); default "
        f"{cleanup_default}",
    )


def cleanup_value(text: str) -> float:
    """The argparse type of --cleanup: a number in [0, 1], evaluate.cleanup's rule."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not PROBABILITY[0](value):
        raise argparse.ArgumentTypeError(f"{text}: allowed a number {PROBABILITY[1]}")
    return value


def pick_level(
    cfg: ModelConfig, level: float | None, path: Path, default: float = CLEANUP
) -> float:
    """The clean-up level to tell the model: `level`, or `default` when None; a UserError for a
    level given to a model without the knob."""
    if level is not None and not cfg.cleanup:
        raise UserError(f"--cleanup {level:g}: {path} has no clean-up knob (model.cleanup false)")
    return default if level is None else level


def seed_value(text: str) -> int:
    """The argparse type of --seed: an integer in the range every `seed` setting allows."""
    value = int(text)
    if not SEED[0](value):
        raise argparse.ArgumentTypeError(f"{text}: allowed an integer {SEED[1]}")
    return value


def scale_value(text: str) -> float:
    """The argparse type of --scale: a number in 1..MAX_SCALE."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"{text}: allowed a number in 1..{MAX_SCALE}")
    return int(value) if value.is_integer() else value


def pick_scale(cfg: ModelConfig, own: int, scale: float | None, path: Path) -> float:
    """The scale to super-resolve at: `own` (the model's prepare.scale) when None, else `scale`
    if the model takes it; a UserError naming what it takes otherwise."""
    if scale is None:
        return own
    if not cfg.takes(scale, own):
        raise UserError(f"--scale {scale:g}: {path} takes {cfg.scales_words(own)}")
    return int(scale) if float(scale).is_integer() else scale


def sampling_of(args: argparse.Namespace) -> dict:
    """The keyword arguments of srcore.tiles.super_resolve_image chosen on the command line."""
    return {"sampler": args.sampler, "samples": args.samples, "ensemble": args.ensemble}


def load_sampler(
    path: Path,
    device: torch.device,
    steps: int | None,
    tile: int,
    overlap: int,
    samples: int = 1,
    scale: float | None = None,
    cleanup: float | None = None,
    default_cleanup: float = CLEANUP,
) -> tuple[torch.nn.Module, ResShift, float]:
    """(the model ready to sample on `device`, told the clean-up level `cleanup` (None:
    `default_cleanup`) if it has the knob; its chain respaced to `steps` (None: STEPS, or the
    model's T if smaller); the scale: `scale` if the model takes it, None: the model's own).
    Options that do not fit the model raise a UserError."""
    if samples < 1:
        raise UserError(f"--samples {samples}: allowed 1 or more")
    model, diffusion_cfg, checkpoint = load_model(path, device=device)
    diffusion = ResShift.from_config(diffusion_cfg)
    steps = min(STEPS, diffusion.num_steps) if steps is None else steps
    if not 1 <= steps <= diffusion.num_steps:
        raise UserError(
            f"--steps {steps}: allowed 1..{diffusion.num_steps} (the chain length of {path})"
        )
    m = model.cfg.size_multiple
    if not tile_fits(tile, overlap, m):
        raise UserError(f"--tile {tile} --overlap {overlap}: the tile must be {tile_rule(m)}")
    scale = pick_scale(model.cfg, int(checkpoint["scale"]), scale, path)
    told = at_level(model, pick_level(model.cfg, cleanup, path, default_cleanup))
    return for_sampling(told), diffusion.respace(steps), scale

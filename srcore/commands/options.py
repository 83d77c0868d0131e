"""The sampling options of srcore-upscale, srcore-evaluate and srcore-export: argparse options and
types whose values make a srcore.config.sampling.SamplingSpec (spec_of)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from srcore.config.rules import MAX_SCALE, PROBABILITY
from srcore.config.sampling import AUTO, CLEANUP, STEPS, SamplingSpec, as_scale, in_scales, is_level
from srcore.config.schema import DEVICES, SAMPLERS, SEED


def spec_of(args: argparse.Namespace) -> SamplingSpec:
    """The spec of a command line made with add_sampling_options (and --seed, --scale)."""
    return SamplingSpec(**options_of(args))


def options_of(args: argparse.Namespace) -> dict:
    """The SamplingSpec fields a command line sets (an option left at None is not set)."""
    names = {f.name for f in fields(SamplingSpec)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


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
        "0 (a clean LR: sharpen only) to 1 (the real group's full degradations), or auto (the "
        f"level the model estimates from each image); default {cleanup_default}",
    )


def cleanup_value(text: str) -> float | str:
    """The argparse type of --cleanup: auto or a number in [0, 1], evaluate.cleanup's rule."""
    if text == AUTO:
        return AUTO
    return _argument(text, float, is_level, f"{AUTO} or a number {PROBABILITY[1]}")


def level_value(text: str) -> float:
    """The argparse type of a fixed level (srcore-export --cleanup): a number in [0, 1]."""
    return _argument(text, float, is_level, f"a number {PROBABILITY[1]}")


def seed_value(text: str) -> int:
    """The argparse type of --seed: an integer in the range every `seed` setting allows."""
    return _argument(text, int, lambda v: SEED[0](v), f"an integer {SEED[1]}")


def scale_value(text: str) -> float:
    """The argparse type of --scale: a number in 1..MAX_SCALE, an int when whole."""
    return as_scale(_argument(text, float, in_scales, f"a number in 1..{MAX_SCALE}"))


def _argument(text: str, kind: type, ok, allowed: str):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"{text}: allowed {allowed}")
    return value

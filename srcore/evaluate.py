"""Scoring a model (or bicubic alone) on whole HR images, with the SR literature's protocol.

    srcore-evaluate --model models/model.pt --hr-dir DIR --out FILE.json [--scale S] [--steps N]
    srcore-evaluate --bicubic [--scale 4] --hr-dir DIR --out FILE.json
    srcore-evaluate ... --degradation real [--real-params params.yaml]
    (or python -m srcore.evaluate ...)

The JSON has the keys of the pipeline's metrics/metrics.json. Every image is cropped by the size
rule and degraded (srcore.degrade, or with --degradation real srcore.realworld), super-resolved
with seed `seed + image index`, quantised to 8 bits and scored on Y (BT.601) and RGB with a border
of ceil(scale) pixels, beside bicubic of the same LR. Any scale >= 1 is allowed, for bicubic and
for a model trained over a range that holds it (model.scales).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .atomic import write_json
from .cli import HelpFormatter, call
from .config import DEGRADATIONS, RealConfig
from .device import pick_device
from .diffusion import ResShift
from .errors import UserError
from .images import IMAGE_SUFFIXES, ImageReadError, list_images, read_image
from .lpips import LPIPS, load_lpips, lpips_distance
from .metrics import score
from .model import DualDomainUNet
from .params import load_real_group
from .realworld import degrade_named
from .sampling import add_sampling_options, load_sampler, sampling_of, scale_value, seed_value
from .tiles import super_resolve_image

KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def evaluate_images(
    items: Iterable[tuple[str, np.ndarray, np.ndarray]],
    scale: float,
    model: DualDomainUNet | None = None,
    diffusion: ResShift | None = None,
    seed: int = 0,
    tile: int = 0,
    overlap: int = 32,
    sampling: dict | None = None,
    lpips: LPIPS | None = None,
) -> tuple[dict, list[dict], dict[str, np.ndarray]]:
    """items: (name, HR uint8, y0 uint8), HR already cropped by the size rule; scale: what y0 was
    enlarged by (the border is ceil(scale)). model=None scores bicubic alone.
    sampling: {sampler, samples, ensemble} of srcore.tiles.super_resolve_image (default: one
    ancestral draw). lpips: also score LPIPS (srcore.lpips), lower is better.
    Returns (summary, per-image rows, {name: SR uint8}); the summary has the seconds spent
    sampling."""
    rows, srs, seconds = [], {}, 0.0
    for i, (name, hr, y0) in enumerate(tqdm(list(items), desc="evaluate", unit="img")):
        t0 = time.perf_counter()
        sr = y0
        if model is not None:
            args = (model, diffusion, y0, seed + i, tile, overlap)
            sr = super_resolve_image(*args, **(sampling or {}), scale=scale)
        seconds += time.perf_counter() - t0
        border = math.ceil(scale)
        ours, bicubic = score(sr, hr, border), score(y0, hr, border)
        rows.append(
            {
                "image": name,
                **ours,
                **{f"{k}_bicubic": bicubic[k] for k in KEYS},
                "psnr_y_gain": ours["psnr_y"] - bicubic["psnr_y"],
            }
        )
        if lpips is not None:
            rows[-1] |= {
                "lpips": lpips_distance(lpips, sr, hr),
                "lpips_bicubic": lpips_distance(lpips, y0, hr),
            }
        srs[name] = sr
    mean = (
        {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "image"} if rows else {}
    )
    summary = {
        **mean,
        "ssim_y_gain": mean.get("ssim_y", 0.0) - mean.get("ssim_y_bicubic", 0.0),
        "steps": diffusion.num_steps if model is not None else 0,
        "params_count": model.num_params() if model is not None else 0,
        "n_images": len(rows),
        "scale": scale,
        "seconds": seconds,
    }
    return summary, rows, srs


def folder_items(
    hr_dir: Path,
    scale: float,
    degradation: str = "bicubic",
    real: RealConfig | None = None,
    seed: int = 0,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, mod-cropped HR, y0) of every readable image of hr_dir, y0 made by `degradation`
    (srcore.realworld.degrade_named); the others are reported and skipped.

    A missing folder, a folder without images, or one where no image could be read is a UserError.
    """
    paths, items, skipped = list_images(hr_dir), [], []
    if not paths:
        raise UserError(
            f"{hr_dir}: no images in this folder (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    for p in paths:
        try:
            img, cfg = read_image(p), real or RealConfig()
            hr, y0 = degrade_named(img, scale, degradation, cfg, p.name, seed)
        except (ImageReadError, ValueError) as e:
            skipped.append(f"{p.name}: {e}" if p.name not in str(e) else str(e))
            continue
        items.append((p.name, hr, y0))
    if not items:
        raise UserError(
            f"{hr_dir}: none of its {len(paths)} image(s) could be read (first: {skipped[0]})"
        )
    for msg in skipped:
        print(f"skipped: {msg}", file=sys.stderr)
    return items


def parser() -> argparse.ArgumentParser:
    """The command line of srcore-evaluate."""
    ap = argparse.ArgumentParser(
        prog="srcore-evaluate", description=__doc__, formatter_class=HelpFormatter
    )
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", type=Path, help="a model file written by the train stage")
    which.add_argument(
        "--bicubic", action="store_true", help="score bicubic alone, without a model"
    )
    ap.add_argument(
        "--hr-dir", type=Path, required=True, help="a folder of HR images (not recursive)"
    )
    ap.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    ap.add_argument(
        "--scale",
        type=scale_value,
        help="the enlargement, any number >= 1 (default: 4 for --bicubic, a model's own scale); "
        "a model trained over a range (model.scales) takes any scale in it",
    )
    ap.add_argument(
        "--seed", type=seed_value, default=0, help="image i of the folder is sampled with seed + i"
    )
    ap.add_argument(
        "--degradation",
        default="bicubic",
        choices=DEGRADATIONS,
        help="how LR is made from each HR image: bicubic, or real (the `real` group's defaults, "
        "Real-ESRGAN's ranges, or those of --real-params; drawn from (--degradation-seed, "
        "file name))",
    )
    ap.add_argument(
        "--degradation-seed", type=seed_value, default=0, help="seed of the real degradations"
    )
    ap.add_argument(
        "--real-params",
        type=Path,
        help="with --degradation real: the `real` group of this YAML file (an experiment's "
        "params.yaml, or that group alone; keys left out keep their defaults)",
    )
    ap.add_argument(
        "--lpips-dir",
        type=Path,
        help="also score LPIPS with the weights in this folder (srcore.lpips)",
    )
    add_sampling_options(ap, tile=0, cleanup_default="0 with --degradation bicubic, 1 with real")
    return ap


def real_group(params_file: Path | None, degradation: str) -> RealConfig | None:
    """The `real` group of --real-params (checked as the pipeline checks params.yaml), or None:
    the defaults."""
    if params_file is None:
        return None
    if degradation != "real":
        raise UserError(f"--real-params {params_file}: only with --degradation real")
    return load_real_group(params_file)


def evaluate(args: argparse.Namespace) -> int:
    """Score the folder and write the JSON; a user's mistake raises (see srcore.cli)."""
    model = diffusion = None
    device = pick_device(args.device)  # a device that cannot be used stops even --bicubic
    scale = 4 if args.scale is None else args.scale
    if args.bicubic and args.cleanup is not None:
        raise UserError(f"--cleanup {args.cleanup:g}: a level for a model, not with --bicubic")
    real = real_group(args.real_params, args.degradation)
    if args.model is not None:
        own_level = 0.0 if args.degradation == "bicubic" else 1.0
        options = (args.steps, args.tile, args.overlap, args.samples, args.scale, args.cleanup)
        model, diffusion, scale = load_sampler(args.model, device, *options, own_level)
    items = folder_items(args.hr_dir, scale, args.degradation, real, args.degradation_seed)
    lpips = load_lpips(args.lpips_dir, "--lpips-dir") if args.lpips_dir else None
    summary, rows, _ = evaluate_images(
        items, scale, model, diffusion, args.seed, args.tile, args.overlap, sampling_of(args), lpips
    )
    write_json(args.out, {**summary, "images": rows})
    psnr, bicubic = summary["psnr_y"], summary["psnr_y_bicubic"]
    print(
        f"{summary['n_images']} images: PSNR-Y {psnr:.3f} dB (bicubic {bicubic:.3f}) -> {args.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and evaluate; returns the exit code (2 for a user's
    mistake)."""
    return call(evaluate, parser().parse_args(argv))


def cli() -> None:
    """The srcore-evaluate console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()

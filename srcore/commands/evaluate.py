"""srcore-evaluate: score a model (or bicubic alone) on a folder of HR images.

    srcore-evaluate --model models/model.pt --hr-dir DIR --out FILE.json [--scale S] [--steps N]
    srcore-evaluate --bicubic [--scale 4] --hr-dir DIR --out FILE.json
    srcore-evaluate ... --degradation real [--real-params params.yaml]
    (or python -m srcore.commands.evaluate ...)

The JSON has the keys of the pipeline's metrics/metrics.json. Every image is cropped by the size
rule and degraded (srcore.data.degrade, or with --degradation real srcore.data.realworld),
super-resolved with seed `seed + image index`, quantised to 8 bits and scored on Y (BT.601) and RGB
with a border of ceil(scale) pixels, beside bicubic of the same LR. Any scale >= 1 is allowed, for
bicubic and for a model trained over a range that holds it (model.scales).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from srcore.commands.options import add_sampling_options, scale_value, seed_value, spec_of
from srcore.common.atomic import write_json
from srcore.common.cli import HelpFormatter, call
from srcore.common.errors import UserError
from srcore.config.params import load_real_group
from srcore.config.sampling import CLEANUP
from srcore.config.schema import EVAL_DEGRADATIONS, EvaluateConfig, RealConfig
from srcore.diffusion.loader import TrainedModel
from srcore.eval.lpips import load_lpips
from srcore.eval.scoring import evaluate_images, folder_items
from srcore.eval.stage import PIPELINES
from srcore.net.device import pick_device


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
        choices=EVAL_DEGRADATIONS,
        help="how LR is made from each HR image (srcore.data.named): bicubic; real (the `real` "
        "group's defaults, or those of --real-params) or realesrgan (Real-ESRGAN's ranges), drawn "
        "from (--degradation-seed, file name); or a fixed everyday one: jpeg (quality 75), noise "
        "(sigma 5), blur (sigma 0.8 LR pixels), blur_jpeg",
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
        help="also score LPIPS with the weights in this folder (srcore.eval.lpips)",
    )
    add_sampling_options(
        ap,
        tile=0,
        cleanup_default=f"{EvaluateConfig().cleanup:g} on real and realesrgan, else {CLEANUP:g}",
    )
    return ap


def level_of(degradation: str) -> float:
    """The level a clean-up model is told by default, as the evaluate stage tells it."""
    return EvaluateConfig().cleanup if degradation in PIPELINES else CLEANUP


def real_group(params_file: Path | None, degradation: str) -> RealConfig | None:
    """The `real` group of --real-params (checked as the pipeline checks params.yaml), or None:
    the defaults."""
    if params_file is None:
        return None
    if degradation != "real":
        raise UserError(f"--real-params {params_file}: only with --degradation real")
    return load_real_group(params_file)


def evaluate_folder(args: argparse.Namespace) -> int:
    """Score the folder and write the JSON; a user's mistake raises (see srcore.common.cli)."""
    device = pick_device(args.device)  # a device that cannot be used stops even --bicubic
    spec = spec_of(args)
    if args.bicubic and args.cleanup is not None:
        raise UserError(f"--cleanup {args.cleanup}: a level for a model, not with --bicubic")
    real = real_group(args.real_params, args.degradation)
    sampler, scale = None, 4 if spec.scale is None else spec.scale
    if args.model is not None:
        sampler = TrainedModel.load(args.model, device).sampler(spec, level_of(args.degradation))
        scale = sampler.spec.scale
    items = folder_items(args.hr_dir, scale, args.degradation, real, args.degradation_seed)
    lpips = load_lpips(args.lpips_dir, "--lpips-dir") if args.lpips_dir else None
    summary, rows, _ = evaluate_images(items, scale, sampler, lpips)
    write_json(args.out, {**summary, "images": rows})
    psnr, bicubic = summary["psnr_y"], summary["psnr_y_bicubic"]
    print(
        f"{summary['n_images']} images: PSNR-Y {psnr:.3f} dB (bicubic {bicubic:.3f}) -> {args.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and evaluate; returns the exit code (2 for a user's
    mistake)."""
    return call(evaluate_folder, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""Scoring a model (or bicubic alone) on whole HR images, with the SR literature's protocol.

    python -m srcore.evaluate --model models/model.pt --hr-dir DIR --out FILE.json [--steps N]
    python -m srcore.evaluate --bicubic --scale 4 --hr-dir DIR --out FILE.json

The JSON has the keys of the pipeline's metrics/metrics.json. Every image is mod-cropped and
degraded by srcore.degrade, super-resolved with seed `seed + image index`, quantised to 8 bits and
scored on Y (BT.601) and RGB with a border of `scale` pixels, beside bicubic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .atomic import write_json
from .checkpoint import ModelFileError, load_model
from .degrade import degrade
from .diffusion import ResShift
from .images import ImageReadError, list_images, read_image
from .metrics import score
from .model import DualDomainUNet
from .sampler import pick_device
from .tiles import super_resolve_image

KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def evaluate_images(
    items: Iterable[tuple[str, np.ndarray, np.ndarray]],
    scale: int,
    model: DualDomainUNet | None = None,
    diffusion: ResShift | None = None,
    seed: int = 0,
    tile: int = 0,
    overlap: int = 32,
) -> tuple[dict, list[dict], dict[str, np.ndarray]]:
    """items: (name, HR uint8, y0 uint8), HR already mod-cropped. model=None scores bicubic alone.
    Returns (summary, per-image rows, {name: SR uint8})."""
    rows, srs = [], {}
    for i, (name, hr, y0) in enumerate(tqdm(list(items), desc="evaluate", unit="img")):
        sr = y0 if model is None else super_resolve_image(model, diffusion, y0, seed + i, tile, overlap)
        s, b = score(sr, hr, scale), score(y0, hr, scale)
        rows.append({"image": name, **s, **{f"{k}_bicubic": b[k] for k in KEYS}, "psnr_y_gain": s["psnr_y"] - b["psnr_y"]})
        srs[name] = sr
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "image"} if rows else {}
    summary = {
        **mean,
        "ssim_y_gain": mean.get("ssim_y", 0.0) - mean.get("ssim_y_bicubic", 0.0),
        "steps": diffusion.num_steps if model is not None else 0,
        "params_count": model.num_params() if model is not None else 0,
        "n_images": len(rows),
        "scale": scale,
    }
    return summary, rows, srs


def folder_items(hr_dir: Path, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    items = []
    for p in list_images(hr_dir):
        try:
            hr, _, y0 = degrade(read_image(p), scale)
        except (ImageReadError, ValueError) as e:
            print(f"skipped: {e}", file=sys.stderr)
            continue
        items.append((p.name, hr, y0))
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a model file written by the train stage")
    ap.add_argument("--bicubic", action="store_true", help="score bicubic alone (no model)")
    ap.add_argument("--hr-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--scale", type=int, help="with --bicubic (a model file carries its own)")
    ap.add_argument("--steps", type=int, help="sampling steps (default: the model's T)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tile", type=int, default=0)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args(argv)
    if a.bicubic == (a.model is not None):
        ap.error("give exactly one of --model or --bicubic")
    model = diffusion = None
    try:
        if a.model is not None:
            model, dcfg, ck = load_model(a.model, device=pick_device(a.device))
            diffusion = ResShift.from_config(dcfg)
            diffusion = diffusion.respace(a.steps) if a.steps else diffusion
            scale = ck["scale"]
        elif a.scale not in (2, 3, 4):
            ap.error("--bicubic needs --scale 2, 3 or 4")
        else:
            scale = a.scale
        summary, rows, _ = evaluate_images(folder_items(a.hr_dir, scale), scale, model, diffusion, a.seed, a.tile, a.overlap)
    except (ModelFileError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_json(a.out, {**summary, "images": rows})
    print(f"{summary['n_images']} images: PSNR-Y {summary.get('psnr_y', float('nan')):.3f} dB "
          f"(bicubic {summary.get('psnr_y_bicubic', float('nan')):.3f}) -> {a.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

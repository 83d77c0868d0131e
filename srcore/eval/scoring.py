"""Scoring super-resolved images with the SR literature's protocol, beside bicubic of the same LR.

Every image is cropped by the size rule and degraded (a named degradation of srcore.data.named),
super-resolved with seed `seed + image index`, quantised to 8 bits and
scored on Y (BT.601) and RGB with a border of ceil(scale) pixels. srcore-evaluate
(srcore.commands.evaluate) and the evaluate stage (srcore.eval.stage) both score through here.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from srcore.common.errors import UserError
from srcore.common.images import IMAGE_SUFFIXES, ImageReadError, list_images, read_image
from srcore.config.schema import RealConfig
from srcore.data.named import degrade_named
from srcore.diffusion.loader import Sampler
from srcore.eval.lpips import LPIPS, lpips_distance
from srcore.eval.metrics import score

Item = tuple[str, np.ndarray, np.ndarray]  # (name, HR uint8 cropped by the size rule, y0 uint8)

KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def evaluate_images(
    items: Iterable[Item], scale: float, sampler: Sampler | None = None, lpips: LPIPS | None = None
) -> tuple[dict, list[dict], dict[str, np.ndarray]]:
    """Score every item's SR against its HR: y0 enlarged `scale` times (the border is
    ceil(scale)), super-resolved by `sampler` with seed spec.seed + the item's index, or bicubic
    alone when None. lpips: also score LPIPS (srcore.eval.lpips), lower is better.
    Returns (summary, per-image rows, {name: SR uint8}); the summary has the seconds spent
    sampling."""
    if sampler is not None and sampler.spec.scale != scale:
        raise ValueError(f"y0 enlarged x{scale:g} but the network told x{sampler.spec.scale:g}")
    rows, srs, seconds = [], {}, 0.0
    for i, (name, hr, y0) in enumerate(tqdm(list(items), desc="evaluate", unit="img")):
        t0 = time.perf_counter()
        sr = y0 if sampler is None else sampler.with_seed(sampler.spec.seed + i).enlarge(y0)
        seconds += time.perf_counter() - t0
        rows.append(_row(name, sr, hr, y0, scale, lpips))
        srs[name] = sr
    mean = (
        {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "image"} if rows else {}
    )
    summary = {
        **mean,
        "ssim_y_gain": mean.get("ssim_y", 0.0) - mean.get("ssim_y_bicubic", 0.0),
        "steps": sampler.diffusion.num_steps if sampler is not None else 0,
        "params_count": sampler.model.num_params() if sampler is not None else 0,
        "n_images": len(rows),
        "scale": scale,
        "seconds": seconds,
    }
    return summary, rows, srs


def _row(name: str, sr: np.ndarray, hr: np.ndarray, y0: np.ndarray, scale: float, lpips) -> dict:
    """One image's scores and bicubic's beside them."""
    border = math.ceil(scale)
    ours, bicubic = score(sr, hr, border), score(y0, hr, border)
    row = {
        "image": name,
        **ours,
        **{f"{k}_bicubic": bicubic[k] for k in KEYS},
        "psnr_y_gain": ours["psnr_y"] - bicubic["psnr_y"],
    }
    if lpips is not None:
        row |= {
            "lpips": lpips_distance(lpips, sr, hr),
            "lpips_bicubic": lpips_distance(lpips, y0, hr),
        }
    return row


def folder_items(
    hr_dir: Path,
    scale: float,
    degradation: str = "bicubic",
    real: RealConfig | None = None,
    seed: int = 0,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, mod-cropped HR, y0) of every readable image of hr_dir, y0 made by `degradation`
    (srcore.data.named.degrade_named); the others are reported and skipped.

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

"""How steady is the detail of a clip upscaled frame by frame, and which noise keeps it steadiest?

    python studies/video/stability.py [--model models/model.pt] [--photo PATH] [--frames 8]
                                      [--out studies/video/stability.json]

Clips are made from one still photo by known motion: still, a pan by one LR pixel per frame, a
pan by half an LR pixel per frame (HR crops moved by `scale` and `scale / 2` pixels) and a zoom
of 2% per frame about the centre, each frame shrunk to its LR by the evaluation's bicubic. Each
clip is upscaled x4 by:

    bicubic   the bicubic base alone
    fixed     one position-keyed draw for every frame (srcore-upscale's default: the noise is
              fixed to the screen)
    fresh     a new seed per frame
    follow    the noise keyed to the content: each frame's noise and encodings shifted with the
              known motion (the tile origin), what motion-keyed noise would do on a real clip
    ensemble  fixed, averaged over the 8 rotations and flips
    draws4    fixed, four draws averaged (`samples` 4)

Scores per clip and scheme, all on Y in 8 bits:
- warp: the mean absolute difference between consecutive frames once the known motion is
  undone (0 for a steady picture; for the zoom, undone by resampling, inside a border), beside
  the HR clip's own;
- psnr: the mean PSNR of the frames against their HR.
One JSON object, printed and written.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from scripts.bench_api import machine  # noqa: E402
from srcore.common.atomic import write_json  # noqa: E402
from srcore.common.images import read_image  # noqa: E402
from srcore.common.tensors import to_tensor, to_uint8  # noqa: E402
from srcore.config.sampling import SamplingSpec  # noqa: E402
from srcore.data.degrade import degrade  # noqa: E402
from srcore.deploy.upscaler import Upscaler  # noqa: E402
from srcore.diffusion.sampler import super_resolve  # noqa: E402
from srcore.eval.metrics import psnr, rgb_to_y  # noqa: E402

SCALE = 4
MOTIONS = {"still": 0, "pan 1 LR px": SCALE, "pan 1/2 LR px": SCALE // 2}  # HR pixels per frame
ZOOM = 1.02  # the zoom clip: 2% closer per frame, about the photo's centre
BORDER = 16  # HR pixels left out around a zoomed frame (what the previous one did not show)
SCHEMES = ("bicubic", "fixed", "fresh", "follow", "ensemble", "draws4")


def clip(photo: np.ndarray, step: int, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """HR frames: crops of `size` moving `step` HR pixels to the right per frame."""
    h, w = size
    return [photo[:h, i * step : i * step + w] for i in range(frames)]


def zoom_clip(photo: np.ndarray, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """HR frames: the photo's centre, `ZOOM` times closer each frame (Pillow's bicubic)."""
    return [zoomed(photo, ZOOM**i, size) for i in range(frames)]


def zoomed(image: np.ndarray, factor: float, size: tuple[int, int]) -> np.ndarray:
    """`image` enlarged `factor` times about its centre, its central `size` crop."""
    h, w = image.shape[:2]
    big = np.asarray(
        Image.fromarray(image).resize((round(w * factor), round(h * factor)), Image.BICUBIC)
    )
    top, left = (big.shape[0] - size[0]) // 2, (big.shape[1] - size[1]) // 2
    return big[top : top + size[0], left : left + size[1]]


def zoom_error(frames: list[np.ndarray]) -> float:
    """Mean |Y_t - Y_{t-1} zoomed by ZOOM| inside a border: the zoom undone by resampling (so
    the HR clip's own is not 0)."""
    ys = []
    for a, b in zip(frames, frames[1:]):
        undone = zoomed(a, ZOOM, a.shape[:2])
        inner = (slice(BORDER, -BORDER), slice(BORDER, -BORDER))
        ys.append(np.abs(rgb_to_y(b)[inner] - rgb_to_y(undone)[inner]).mean())
    return float(np.mean(ys))


def upscale(sampler, lr: np.ndarray, seed: int, shift: int, scheme: str) -> np.ndarray:
    """The SR of one LR frame, its noise and encodings keyed at origin (0, shift) in HR pixels."""
    y0 = to_tensor(np.asarray(degrade_up(lr)))[None]
    origin = torch.tensor([[0, shift]])
    spec = SamplingSpec(
        steps=sampler.spec.steps,
        scale=SCALE,
        ensemble=scheme == "ensemble",
        samples=4 if scheme == "draws4" else 1,
    )
    with torch.no_grad():
        sr, _ = super_resolve(sampler.model, sampler.diffusion, y0, seed, origin, spec)
    return to_uint8(sr[0])


def degrade_up(lr: np.ndarray) -> np.ndarray:
    from srcore.data.degrade import upsample

    return upsample(lr, SCALE)


def warp_error(frames: list[np.ndarray], step: int) -> float:
    """Mean |Y_t(x) - Y_{t-1}(x + step)| over consecutive frames (the motion undone)."""
    ys = [rgb_to_y(f) for f in frames]
    diffs = []
    for a, b in zip(ys, ys[1:]):
        w = a.shape[1]
        diffs.append(np.abs(b[:, : w - step] - a[:, step:]).mean())
    return float(np.mean(diffs))


def study(args: argparse.Namespace) -> dict:
    up = Upscaler.load(args.model, device="cpu")
    sampler = up.engine.sampler(up.spec(up.defaults.updated(scale=SCALE)))
    photo = read_image(args.photo)
    size = (96 * SCALE // 2, 128 * SCALE // 2)  # 192 x 256 HR, a 48 x 64 LR
    rows = {}
    for motion in [*MOTIONS, "zoom 2%"]:
        step = MOTIONS.get(motion)
        hr = (
            clip(photo, step, args.frames, size)
            if step is not None
            else zoom_clip(photo, args.frames, size)
        )
        error = (lambda fs, step=step: warp_error(fs, step)) if step is not None else zoom_error
        lrs = [degrade(f, SCALE)[1] for f in hr]
        row = {"hr": {"warp": round(error(hr), 4)}}
        for scheme in SCHEMES:
            if scheme == "follow" and step is None:
                continue  # a zoom is not a shift of the noise's origin
            out = [
                degrade_up(lr)
                if scheme == "bicubic"
                else upscale(
                    sampler,
                    lr,
                    args.seed + (i if scheme == "fresh" else 0),
                    i * step if scheme == "follow" else 0,
                    scheme,
                )
                for i, lr in enumerate(lrs)
            ]
            score = np.mean([psnr(rgb_to_y(o), rgb_to_y(h)) for o, h in zip(out, hr)])
            row[scheme] = {"warp": round(error(out), 4), "psnr": round(float(score), 3)}
            print(motion, scheme, row[scheme], flush=True)
        rows[motion] = row
    return {
        "date": date.today().isoformat(),
        "machine": machine(),
        "model": str(args.model),
        "photo": str(args.photo),
        "frames": args.frames,
        "lr": "48x64 -> 192x256 (x4)",
        "clips": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--photo", type=Path, default=Path("data/raw/valid/coffee.png"))
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("studies/video/stability.json"))
    args = ap.parse_args()
    record = study(args)
    print(json.dumps(record, indent=2))
    write_json(args.out, record)


if __name__ == "__main__":
    main()

"""How steady is the detail of a clip upscaled frame by frame, and which noise keeps it steadiest?

    python studies/video/stability.py [--model models/model.pt] [--photo PATH] [--frames 8]
                                      [--out studies/video/stability.json]

Clips are made from one still photo by known motion: still, a pan by one LR pixel per frame and a
pan by half an LR pixel per frame (HR crops moved by `scale` and `scale / 2` pixels, each shrunk
to its LR by the evaluation's bicubic). Each clip is upscaled x4 by:

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
  undone (0 for a steady picture), beside the HR clip's own;
- psnr: the mean PSNR of the frames against their HR.
One JSON object, printed and written.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
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
SCHEMES = ("bicubic", "fixed", "fresh", "follow", "ensemble", "draws4")


def clip(photo: np.ndarray, step: int, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """HR frames: crops of `size` moving `step` HR pixels to the right per frame."""
    h, w = size
    return [photo[:h, i * step : i * step + w] for i in range(frames)]


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
    for motion, step in MOTIONS.items():
        hr = clip(photo, step, args.frames, size)
        lrs = [degrade(f, SCALE)[1] for f in hr]
        row = {"hr": {"warp": warp_error(hr, step)}}
        for scheme in SCHEMES:
            out = []
            for i, lr in enumerate(lrs):
                if scheme == "bicubic":
                    out.append(degrade_up(lr))
                    continue
                seed = args.seed + (i if scheme == "fresh" else 0)
                shift = i * step if scheme == "follow" else 0
                out.append(upscale(sampler, lr, seed, shift, scheme))
            score = np.mean([psnr(rgb_to_y(o), rgb_to_y(h)) for o, h in zip(out, hr)])
            row[scheme] = {"warp": round(warp_error(out, step), 4), "psnr": round(float(score), 3)}
            print(motion, scheme, row[scheme], flush=True)
        rows[motion] = row
    return {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {_cpu()}",
        "model": str(args.model),
        "photo": str(args.photo),
        "frames": args.frames,
        "lr": "48x64 -> 192x256 (x4)",
        "clips": rows,
    }


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


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

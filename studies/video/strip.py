"""The README's frame strip: four frames of a pan by one LR pixel per frame, upscaled x4, and how
much each changes from the one before once the motion is undone.

    python studies/video/strip.py [--model models/model.pt] [--photo data/raw/valid/coffee.png]
                                  [--out docs/figures/video_strip.png]

Rows: bicubic; srcore (the default: noise fixed to the screen); the change from the previous frame
with the motion undone (0: steady) for the default and for noise that follows the content.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stability import SCALE, clip, degrade_up, upscale  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from scripts.bench_api import machine  # noqa: E402
from srcore.common.images import read_image  # noqa: E402
from srcore.data.degrade import degrade  # noqa: E402
from srcore.deploy.upscaler import Upscaler  # noqa: E402
from srcore.eval.metrics import rgb_to_y  # noqa: E402

FRAMES = 4


def changes(frames: list[np.ndarray], step: int) -> list[np.ndarray]:
    """|Y_t(x) - Y_{t-1}(x + step)| per frame after the first."""
    ys = [rgb_to_y(f) for f in frames]
    return [np.abs(b[:, : b.shape[1] - step] - a[:, step:]) for a, b in zip(ys, ys[1:])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--photo", type=Path, default=Path("data/raw/valid/coffee.png"))
    ap.add_argument("--out", type=Path, default=Path("docs/figures/video_strip.png"))
    args = ap.parse_args()
    up = Upscaler.load(args.model, device="cpu")
    sampler = up.engine.sampler(up.spec(up.defaults.updated(scale=SCALE)))
    hr = clip(read_image(args.photo), SCALE, FRAMES, (192, 256))
    lrs = [degrade(f, SCALE)[1] for f in hr]
    bicubic = [degrade_up(lr) for lr in lrs]
    fixed = [upscale(sampler, lr, 0, 0, "fixed") for lr in lrs]
    follow = [upscale(sampler, lr, 0, i * SCALE, "follow") for i, lr in enumerate(lrs)]
    rows = [("bicubic", bicubic), ("srcore", fixed)]
    fig, axes = plt.subplots(4, FRAMES, figsize=(2.6 * FRAMES, 8.4))
    for r, (name, frames) in enumerate(rows):
        for c, frame in enumerate(frames):
            axes[r, c].imshow(frame[40:168, 64:192], interpolation="nearest")
            axes[r, c].set_title(f"{name}, frame {c + 1}", fontsize=9)
    for r, (name, frames) in enumerate([("noise fixed", fixed), ("noise follows", follow)], 2):
        axes[r, 0].text(
            0.5,
            0.5,
            f"change from the\nframe before,\n{name}",
            ha="center",
            va="center",
            fontsize=10,
        )
        for c, change in enumerate(changes(frames, SCALE), 1):
            axes[r, c].imshow(change[40:168, 64:192], cmap="magma", vmin=0, vmax=8)
            axes[r, c].set_title(f"mean {change.mean():.2f} grey levels", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
        ax.spines[:].set_visible(False)
    fig.suptitle(
        f"A pan by one LR pixel per frame, x4 ({args.photo.name}); {date.today()}, {machine()}",
        fontsize=10,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80)
    page = Image.open(buffer).convert("RGB")  # a 256-colour palette: small enough for git
    page.quantize(256, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

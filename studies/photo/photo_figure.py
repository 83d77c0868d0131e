"""One photo under each everyday degradation, upscaled by the clean and the photo model.

    python studies/photo/photo_figure.py --clean CLEAN.pt --photo PHOTO.pt
        [--image data/raw/valid/chelsea.png] [--out docs/figures/photo_models.png]
        [--json studies/photo/photo_figure.json]

Each row is one named degradation of srcore.data.named (clean bicubic LR, jpeg, noise, blur,
blur_jpeg, the real group's pipeline; fixed draws from (0, the file name), as the evaluate stage
makes them) at x4: bicubic, the clean model, the photo model told 0, 1 and the level its head picks
(auto, printed beside it), and the original, zoomed on the busiest crop, PSNR-Y against the
original in each title. One sampling step, seed 0. The figure carries
(srcore.report.figures.save) the date and machine it was made on; the JSON has every number.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from srcore.common.atomic import write_json
from srcore.common.images import read_image
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import RealConfig
from srcore.data.named import degrade_named
from srcore.diffusion.loader import TrainedModel
from srcore.eval.metrics import score
from srcore.net.device import pick_device
from srcore.report import figures

ROWS = ("bicubic", "jpeg", "noise", "blur", "blur_jpeg", "real")
SCALE, ZOOM = 4, 128


def rows(clean: TrainedModel, photo: TrainedModel, hr_full: np.ndarray, name: str) -> tuple:
    """({degradation: (HR, {title: image})}, {degradation: {panel: PSNR-Y, level: auto's}})."""
    out, numbers = {}, {}
    for d in ROWS:
        hr, y0 = degrade_named(hr_full, SCALE, d, RealConfig(), name)
        auto = photo.level_of(y0)
        told = {level: SamplingSpec(steps=1, cleanup=level) for level in (0.0, 1.0, auto)}
        panels = {
            "bicubic": y0,
            "clean model": clean.sampler(SamplingSpec(steps=1, scale=SCALE)).enlarge(y0),
            "photo, level 0": photo.sampler(told[0.0]).enlarge(y0),
            "photo, level 1": photo.sampler(told[1.0]).enlarge(y0),
            f"photo, auto ({auto:g})": photo.sampler(told[auto]).enlarge(y0),
        }
        out[d] = (hr, panels)
        numbers[d] = {"auto level": auto} | {
            k.split(" (")[0]: score(v, hr, SCALE)["psnr_y"] for k, v in panels.items()
        }
    return out, numbers


def figure(table: dict) -> figures.plt.Figure:
    fig, ax = figures.plt.subplots(len(table), 6, figsize=(14, 2.6 * len(table)))
    for r, (d, (hr, panels)) in enumerate(table.items()):
        top, left = figures.busiest_window(hr, ZOOM)
        crops = {**panels, "original": hr}
        for c, (title, img) in enumerate(crops.items()):
            psnr = "" if img is hr else f" {score(img, hr, SCALE)['psnr_y']:.2f} dB"
            ax[r, c].imshow(img[top : top + ZOOM, left : left + ZOOM], interpolation="nearest")
            ax[r, c].set_title(f"{title}{psnr}", fontsize=8)
            ax[r, c].set_xticks([]), ax[r, c].set_yticks([])
        ax[r, 0].set_ylabel(d, fontsize=10)
    fig.tight_layout()
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clean", type=Path, required=True, help="the clean default model")
    ap.add_argument("--photo", type=Path, required=True, help="the photo model (a clean-up model)")
    ap.add_argument("--image", type=Path, default=Path("data/raw/valid/chelsea.png"))
    ap.add_argument("--out", type=Path, default=Path("docs/figures/photo_models.png"))
    ap.add_argument("--json", type=Path, default=Path("studies/photo/photo_figure.json"))
    args = ap.parse_args()
    device = pick_device("cpu")
    clean = TrainedModel.load(args.clean, device)
    photo = TrainedModel.load(args.photo, device)
    table, numbers = rows(clean, photo, read_image(args.image), args.image.name)
    figures.save(figure(table), args.out)
    small = Image.open(args.out).convert("RGB").quantize(256, dither=Image.Dither.NONE)
    small.save(args.out, optimize=True)  # a 256-colour palette: under half the size, alike to see
    write_json(args.json, {"image": args.image.name, "scale": SCALE, "rows": numbers})
    print(numbers)


if __name__ == "__main__":
    main()

"""A photo as the web serves it (shrunk, JPEG-compressed), upscaled by a clean and a real model.

    python studies/real/real_photo.py --clean CLEAN.pt --real REAL.pt
        [--knob KNOB.pt [--levels L...]] [--photo data/raw/valid/chelsea.png] [--quality 30]
        [--out docs/figures/real_photo.png]

The photo is shrunk by the models' scale (bicubic) and saved as a JPEG at --quality, the way a
thumbnail or a messaging app would; that JPEG is what both models upscale (one sampling step,
seed 0). The figure shows the JPEG (nearest), bicubic, both models (and a model with the
clean-up knob told each of --levels) and the original, with the busiest crop zoomed, PSNR-Y
against the original, and (srcore.report.figures.save) the date and machine it was made on.
"""

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from srcore.common.images import read_image
from srcore.config.sampling import SamplingSpec
from srcore.data.degrade import bicubic_resize, mod_crop, upsample
from srcore.diffusion.loader import TrainedModel
from srcore.eval.metrics import score
from srcore.net.device import pick_device
from srcore.report import figures


def web_jpeg(hr: np.ndarray, scale: int, quality: int) -> np.ndarray:
    """HR shrunk by `scale` (bicubic) and round-tripped through a JPEG at `quality`."""
    h, w = hr.shape[:2]
    buf = io.BytesIO()
    small = bicubic_resize(hr, (w // scale, h // scale))
    Image.fromarray(small).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def figure(panels: dict[str, np.ndarray], hr: np.ndarray, scale: int, zoom: int = 96):
    top, left = figures.busiest_window(hr, zoom)
    fig, ax = figures.plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 7.4))
    for i, (title, img) in enumerate(panels.items()):
        psnr = "" if img is hr else f"\n{score(img, hr, scale)['psnr_y']:.2f} dB"
        ax[0, i].imshow(img)
        ax[0, i].add_patch(
            figures.plt.Rectangle((left, top), zoom, zoom, fill=False, color="yellow", lw=1.5)
        )
        ax[0, i].set_title(title + psnr)
        ax[1, i].imshow(img[top : top + zoom, left : left + zoom], interpolation="nearest")
    for a in ax.flat:
        a.set_xticks([]), a.set_yticks([])
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clean", type=Path, required=True, help="a model trained on bicubic LR")
    ap.add_argument("--real", type=Path, required=True, help="a model trained on real LR")
    ap.add_argument("--knob", type=Path, help="a model trained with model.cleanup")
    ap.add_argument("--levels", type=float, nargs="+", default=[0.5, 1.0], help="its levels")
    ap.add_argument("--photo", type=Path, default=Path("data/raw/valid/chelsea.png"))
    ap.add_argument("--quality", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path("docs/figures/real_photo.png"))
    args = ap.parse_args()
    device = pick_device("cpu")
    one_step = SamplingSpec(steps=1)
    clean = TrainedModel.load(args.clean, device).sampler(one_step)
    real = TrainedModel.load(args.real, device).sampler(one_step)
    scale = clean.spec.scale
    hr = mod_crop(read_image(args.photo), scale)
    lr = web_jpeg(hr, scale, args.quality)
    y0 = upsample(lr, scale)
    panels = {
        f"JPEG q{args.quality}, 1/{scale} size": np.kron(lr, np.ones((scale, scale, 1), np.uint8)),
        "bicubic": y0,
        "clean model": clean.enlarge(y0),
        "real model": real.enlarge(y0),
    }
    for level in args.levels if args.knob else []:
        knob = TrainedModel.load(args.knob, device).sampler(SamplingSpec(steps=1, cleanup=level))
        panels[f"clean-up {level:g}"] = knob.enlarge(y0)
    panels["original"] = hr
    figures.save(figure(panels, hr, scale), args.out)
    print({k: round(score(v, hr, scale)["psnr_y"], 2) for k, v in panels.items() if v is not hr})


if __name__ == "__main__":
    main()

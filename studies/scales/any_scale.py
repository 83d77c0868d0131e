"""One model at every scale: a photo shrunk by x2, x2.5, x3, x3.5 and x4, each LR upscaled back by
the same multi-scale model (model.scales), beside bicubic of that LR.

    python studies/scales/any_scale.py --model ANY.pt [--photo data/raw/valid/coffee.png]
        [--scales 2 2.5 3 3.5 4] [--out docs/figures/any_scale.png]

Each column is one scale: the size rule's HR crop shrunk to its LR (srcore.data.degrade), then
bicubic (top) and the model (bottom, one sampling step, seed 0) on the busiest crop of the original
(last column), each with the whole image's PSNR-Y against the original (border ceil(scale)).
srcore.report.figures.save stamps the date and machine.
"""

import argparse
import math
from pathlib import Path

from srcore.common.images import read_image
from srcore.config.sampling import SamplingSpec
from srcore.data.degrade import degrade
from srcore.diffusion.loader import TrainedModel
from srcore.eval.metrics import score
from srcore.net.device import pick_device
from srcore.report import figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="a model trained with model.scales")
    ap.add_argument("--photo", type=Path, default=Path("data/raw/valid/coffee.png"))
    ap.add_argument("--scales", type=float, nargs="+", default=[2, 2.5, 3, 3.5, 4])
    ap.add_argument("--zoom", type=int, default=112)
    ap.add_argument("--out", type=Path, default=Path("docs/figures/any_scale.png"))
    args = ap.parse_args()
    photo, device = read_image(args.photo), pick_device("cpu")
    top, left = figures.busiest_window(photo, args.zoom)
    window = (slice(top, top + args.zoom), slice(left, left + args.zoom))
    n = len(args.scales)
    fig, ax = figures.plt.subplots(2, n + 1, figsize=(3.2 * (n + 1), 6.8))
    scores, trained = {}, TrainedModel.load(args.model, device)
    for i, s in enumerate(args.scales):
        sampler = trained.sampler(SamplingSpec(steps=1, scale=s))
        scale = sampler.spec.scale
        hr, _, y0 = degrade(photo, scale)
        sr = sampler.enlarge(y0)
        for row, (what, img) in enumerate((("bicubic", y0), ("model", sr))):
            psnr = score(img, hr, math.ceil(scale))["psnr_y"]
            scores[f"x{scale:g} {what}"] = round(psnr, 2)
            ax[row, i].imshow(img[window], interpolation="nearest")
            ax[row, i].set_title(f"x{scale:g} {what}: {psnr:.2f} dB")
    ax[0, n].imshow(photo[window], interpolation="nearest")
    ax[0, n].set_title("original")
    ax[1, n].axis("off")
    for a in ax.flat:
        a.set_xticks([]), a.set_yticks([])
    figures.save(fig, args.out)
    print(scores)


if __name__ == "__main__":
    main()

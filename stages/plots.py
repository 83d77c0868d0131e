"""plots: the pictures people look at, as PNG files under plots/ (DVC image plots).

compare_<image>.png  bicubic | SR | HR | error maps, whole image and a zoomed crop
compare_<d>_<image>.png  the same from the LR degraded by d (real: srcore.data.realworld), or at
                     another scale (d: x2.5, real_x2.5; evaluate.scales)
chain.png            the reverse chain x_K ... x_0 on a crop
training.png         training loss and validation PSNR (also rendered by DVC from dvclive/)
gain.png             per-image PSNR-Y gain over bicubic
"""

from pathlib import Path

import numpy as np
import pandas as pd

from srcore.common.cli import run
from srcore.common.images import read_image
from srcore.config.params import load_params
from srcore.data.cache import load_pair
from srcore.report import figures

PREPARED, EVAL, METRICS, LIVE, OUT = (
    Path("data/prepared"),
    Path("data/eval"),
    Path("metrics"),
    Path("dvclive"),
    Path("plots"),
)


def main() -> None:
    p = load_params().plots
    rows = pd.read_csv(METRICS / "per_image.csv")
    for row in list(rows.itertuples())[: p.examples]:
        hr, y0 = (np.asarray(a) for a in load_pair(PREPARED / "cache", "valid", row.image))
        sr = read_image(EVAL / "sr" / f"{Path(row.image).stem}.png")
        figures.save(
            figures.compare(row.image, hr, y0, sr, row, p.zoom),
            OUT / f"compare_{Path(row.image).stem}.png",
        )
    for d in sorted(q.name for q in EVAL.iterdir() if (q / "per_image.csv").is_file()):
        rows_d = pd.read_csv(EVAL / d / "per_image.csv")
        for row in list(rows_d.itertuples())[: p.examples]:
            stem = Path(row.image).stem
            own_hr = EVAL / d / f"{stem}.hr.png"  # another scale's crop of the HR
            if own_hr.is_file():
                hr = read_image(own_hr)
            else:
                hr = np.asarray(load_pair(PREPARED / "cache", "valid", row.image)[0])
            y0, sr = (read_image(EVAL / d / f"{stem}.{k}.png") for k in ("y0", "sr"))
            fig = figures.compare(f"{row.image} ({d} LR)", hr, y0, sr, row, p.zoom)
            figures.save(fig, OUT / f"compare_{d}_{stem}.png")
    figures.save(figures.chain_figure(np.load(EVAL / "chain.npz")["chain"]), OUT / "chain.png")
    logs = {k: LIVE / "plots" / "metrics" / f"{k}.tsv" for k in ("train/loss", "val/psnr_y")}
    figures.save(
        figures.training_figure(
            {k: pd.read_csv(f, sep="\t") for k, f in logs.items() if f.is_file()}
        ),
        OUT / "training.png",
    )
    figures.save(
        figures.gain_figure([Path(n).stem for n in rows.image], rows.psnr_y_gain.to_numpy()),
        OUT / "gain.png",
    )


if __name__ == "__main__":
    run(main)

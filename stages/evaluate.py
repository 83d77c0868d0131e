"""evaluate: the model on the whole validation images, the fixed validation patches and the
`evaluate.benchmarks` folders, under every `evaluate.degradations` and at every `evaluate.scales`
(srcore.eval.stage says where each score goes in metrics.json).

Writes metrics/metrics.json (DVC metrics), metrics/per_image.csv, the SR images (data/eval/sr/),
per degradation d other than bicubic its per-image scores, inputs and SR (data/eval/<d>/), the same
with the HR for each other scale (data/eval/x<scale>/, data/eval/<d>_x<scale>/), and the reverse
chain on a crop of the first image (data/eval/chain.npz) for the plots stage.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from srcore.common.atomic import atomic_write, write_json, write_text
from srcore.common.cli import run
from srcore.common.images import write_image
from srcore.config.params import load_params
from srcore.eval.stage import Evaluation, Scored, evaluate_model

PREPARED = Path("data/prepared")
RAW = Path("data/raw/valid")  # the validation images as fetched: cropped again at each scale
MODEL = Path("models/model.pt")
OUT = Path("data/eval")
METRICS = Path("metrics")


def write_bicubic(scored: Scored) -> None:
    """The prepared scale's clean inputs: per-image scores as a DVC plot, the SR images."""
    write_text(METRICS / "per_image.csv", per_image_table(scored))
    for name, sr in scored.srs.items():
        write_image(OUT / "sr" / f"{Path(name).stem}.png", sr)


def write_folder(folder: Path, scored: Scored) -> None:
    """Another degradation or scale: per-image scores, and each image's y0, SR (and HR when
    cropped at that scale) side by side for the plots stage."""
    write_text(folder / "per_image.csv", per_image_table(scored))
    for name, y0 in scored.y0s.items():
        stem = Path(name).stem
        write_image(folder / f"{stem}.y0.png", y0)
        write_image(folder / f"{stem}.sr.png", scored.srs[name])
        if scored.hrs is not None:
            write_image(folder / f"{stem}.hr.png", scored.hrs[name])


def per_image_table(scored: Scored) -> str:
    return pd.DataFrame(scored.rows).to_csv(index=False, float_format="%.4f")


def write_outputs(result: Evaluation) -> None:
    write_json(METRICS / "metrics.json", result.summary)
    for folder, scored in result.results.items():
        if folder == "bicubic":
            write_bicubic(scored)
        else:
            write_folder(OUT / folder, scored)
    first = next(iter(result.results["bicubic"].srs))
    with atomic_write(OUT / "chain.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, chain=result.chain, image=first)


def rounded(d: dict) -> dict:
    return {k: rounded(v) if isinstance(v, dict) else round(v, 4) for k, v in d.items()}


def main() -> None:
    result = evaluate_model(load_params(), PREPARED, RAW, MODEL)
    write_outputs(result)
    print(rounded(result.summary))


if __name__ == "__main__":
    run(main)

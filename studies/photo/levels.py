"""The photo model told 0, 1 or its own level, beside the clean model, on each named degradation.

    python studies/photo/levels.py --photo PHOTO.pt --clean CLEAN.pt --hr-dir data/raw/valid
        --hr-dir ../shared/datasets/Set5 --hr-dir ../shared/datasets/Set14
        [--json studies/photo/levels.json] [--md studies/photo/levels.md]

Every folder's images are degraded as the evaluate stage degrades them (srcore.data.named, fixed
draws from (0, file name), the real group's defaults) at x4 and upscaled with one sampling step,
seed 0 for image 0, 1 for image 1, ... (the evaluate stage's seeds): PSNR-Y gain over bicubic of
the same LR, per folder. The JSON has every number and the mean level auto told; the Markdown
table is what studies/photo/README.md shows.
"""

import argparse
from pathlib import Path

import numpy as np

from srcore.common.atomic import write_json
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import EVAL_DEGRADATIONS
from srcore.diffusion.loader import TrainedModel
from srcore.eval.scoring import evaluate_images, folder_items
from srcore.net.device import pick_device

TOLD = ("0", "0.25", "0.5", "1", "auto")


def gains(photo: TrainedModel, clean: TrainedModel, folders: list[Path]) -> dict:
    """{degradation: {folder: {"clean": gain, "told 0": gain, ..., "level": mean auto level}}}."""
    out = {}
    for d in EVAL_DEGRADATIONS:
        out[d] = {}
        for folder in folders:
            items = folder_items(folder, 4, d)
            row = {"clean": _gain(items, clean.sampler(SamplingSpec(steps=1, scale=4)))}
            for level in TOLD:
                told = level if level == "auto" else float(level)
                row[f"told {level}"] = _gain(
                    items, photo.sampler(SamplingSpec(steps=1, cleanup=told))
                )
            row["level"] = float(np.mean([photo.level_of(y0) for _, _, y0 in items]))
            out[d][folder.name] = row
    return out


def _gain(items, sampler) -> float:
    return evaluate_images(items, 4, sampler)[0]["psnr_y_gain"]


def markdown(numbers: dict, folders: list[str]) -> str:
    """One row per degradation: the clean model, then the photo model told each level and auto."""
    told = [f"photo, told {t}" for t in TOLD[:-1]]
    head = f"| degradation | clean model | {' | '.join(told)} | photo, auto (its level) |"
    lines = [head, "|" + " --- |" * (len(TOLD) + 2)]
    for d, by_folder in numbers.items():
        keys = ("clean", *[f"told {t}" for t in TOLD])
        cells = [" / ".join(f"{by_folder[f][k]:+.2f}" for f in folders) for k in keys]
        levels = " / ".join(f"{by_folder[f]['level']:.2f}" for f in folders)
        lines.append(f"| {d} | {' | '.join(cells)} ({levels}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photo", type=Path, required=True, help="the photo model (clean-up knob)")
    ap.add_argument("--clean", type=Path, required=True, help="the clean default model")
    ap.add_argument("--hr-dir", type=Path, action="append", required=True)
    ap.add_argument("--json", type=Path, default=Path("studies/photo/levels.json"))
    ap.add_argument("--md", type=Path, default=Path("studies/photo/levels.md"))
    args = ap.parse_args()
    device = pick_device("cpu")
    photo, clean = TrainedModel.load(args.photo, device), TrainedModel.load(args.clean, device)
    numbers = gains(photo, clean, args.hr_dir)
    write_json(args.json, numbers)
    table = markdown(numbers, [f.name for f in args.hr_dir])
    args.md.write_text(table)
    print(table)


if __name__ == "__main__":
    main()

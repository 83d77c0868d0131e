"""prepare: the HR / y0 cache (uint8 .npy per image) and the patch index (CSV).

Every image goes through srcore's one degradation. Patch positions are drawn from a seeded
generator per (split, image), so validation patches are the same on every run. Images that do not
decode or are smaller than the patch are left out and counted.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from srcore.atomic import write_json, write_text
from srcore.cli import run
from srcore.data import INDEX_COLUMNS, save_array
from srcore.degrade import degrade
from srcore.images import ImageReadError, list_images, read_image
from srcore.params import load_params

RAW, OUT = Path("data/raw"), Path("data/prepared")


def prepare(raw: Path, out: Path, scale: int, patch: int, per_image: dict[str, int], seed: int) -> tuple[pd.DataFrame, dict]:
    rows, counts = [], {}
    for s, split in enumerate(("train", "valid")):
        c = counts[split] = {"images": 0, "unreadable": 0, "smaller_than_patch": 0}
        for i, path in enumerate(tqdm(list_images(raw / split), desc=f"prepare {split}", unit="img")):
            try:
                hr, _, y0 = degrade(read_image(path), scale)
            except (ImageReadError, ValueError) as e:
                print(f"left out (unreadable): {e}")
                c["unreadable"] += 1
                continue
            h, w = hr.shape[:2]
            if h < patch or w < patch:
                print(f"left out (smaller than the {patch}px patch): {path} is {w}x{h}")
                c["smaller_than_patch"] += 1
                continue
            save_array(out / "cache" / split / f"{path.name}.hr.npy", hr)
            save_array(out / "cache" / split / f"{path.name}.y0.npy", y0)
            rng = np.random.default_rng([seed, s, i])
            n = per_image[split]
            tops, lefts = rng.integers(0, h - patch + 1, n), rng.integers(0, w - patch + 1, n)
            rows += [(split, path.name, int(t), int(left), patch) for t, left in zip(tops, lefts)]
            c["images"] += 1
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), counts


def main() -> None:
    p = load_params()["prepare"]
    per_image = {"train": p["train_patches_per_image"], "valid": p["valid_patches_per_image"]}
    index, counts = prepare(RAW, OUT, p["scale"], p["patch"], per_image, p["seed"])
    write_text(OUT / "index.csv", index.to_csv(index=False))
    write_json(OUT / "summary.json", {"scale": p["scale"], "patch": p["patch"], **counts})
    print({k: v for k, v in counts.items()})


if __name__ == "__main__":
    run(main)

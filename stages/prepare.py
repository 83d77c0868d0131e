"""prepare: the HR / y0 cache (uint8 .npy per image) and the patch index (CSV).

Every image goes through srcore's one degradation. Patch positions are drawn from a seeded
generator per (split, image), so validation patches are the same on every run. Images that do not
decode or are smaller than the patch are left out and counted. summary.json holds a fingerprint of
everything written (the training stage's checkpoints record it).
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from srcore.common.atomic import write_json, write_text
from srcore.common.cli import run
from srcore.common.images import ImageReadError, list_images, read_image
from srcore.config.params import load_params
from srcore.data.cache import INDEX_COLUMNS, save_array
from srcore.data.degrade import degrade

RAW, OUT = Path("data/raw"), Path("data/prepared")


def prepare(
    raw: Path, out: Path, scale: int, patch: int, per_image: dict[str, int], seed: int
) -> tuple[pd.DataFrame, dict]:
    """Returns (patch index, summary: per-split counts and the sha256 fingerprint of the training
    split's arrays and patches, what the weights depend on)."""
    rows, counts, digest = [], {}, hashlib.sha256()
    for s, split in enumerate(("train", "valid")):
        c = counts[split] = {"images": 0, "unreadable": 0, "smaller_than_patch": 0}
        for i, path in enumerate(
            tqdm(list_images(raw / split), desc=f"prepare {split}", unit="img")
        ):
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
            for kind, a in (("hr", hr), ("y0", y0)):
                save_array(out / "cache" / split / f"{path.name}.{kind}.npy", a)
                if split == "train":
                    digest.update(f"{path.name}.{kind}:{a.shape}".encode() + a.tobytes())
            rng = np.random.default_rng([seed, s, i])
            n = per_image[split]
            tops, lefts = rng.integers(0, h - patch + 1, n), rng.integers(0, w - patch + 1, n)
            rows += [(split, path.name, int(t), int(left), patch) for t, left in zip(tops, lefts)]
            c["images"] += 1
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    digest.update(index[index.split == "train"].to_csv(index=False).encode())
    return index, {**counts, "fingerprint": digest.hexdigest()}


def main() -> None:
    p = load_params().prepare
    per_image = {"train": p.train_patches_per_image, "valid": p.valid_patches_per_image}
    index, summary = prepare(RAW, OUT, p.scale, p.patch, per_image, p.seed)
    write_text(OUT / "index.csv", index.to_csv(index=False))
    write_json(OUT / "summary.json", {"scale": p.scale, "patch": p.patch, **summary})
    print({k: v for k, v in summary.items() if k != "fingerprint"})


if __name__ == "__main__":
    run(main)

"""fetch: HR images into data/raw/{train,valid}/ and data/raw/manifest.csv.

data.source = sample (photos inside scikit-image's wheel, offline), folder (data.train_dir /
data.valid_dir) or div2k (data.div2k_dir, else downloaded from data.div2k_url, resumable).
Files that do not decode are logged and left out; nothing at the source is changed.
"""

from pathlib import Path

import pandas as pd

from srcore.common.atomic import write_text
from srcore.common.cli import run
from srcore.config.params import load_params
from srcore.config.schema import DataConfig
from srcore.data import fetch as F

OUT = Path("data/raw")
DOWNLOADS = Path("data/downloads")  # kept between runs (not a DVC output) so downloads resume


def fetch(data: DataConfig, out: Path) -> pd.DataFrame:
    rows = []
    for split in ("train", "valid"):
        if data.source == "sample":
            files = F.sample_files()[split]
        elif data.source == "folder":
            files = F.folder_files(getattr(data, f"{split}_dir"), f"data.{split}_dir")
        else:
            count = F.DIV2K_COUNTS[split]
            files = F.div2k_files(
                data.div2k_dir, data.div2k_url, DOWNLOADS, split, count, out / split
            )
        rows += F.copy_checked(files, out / split, data.source, split)
    manifest = pd.DataFrame(rows)
    ok = manifest[manifest["status"] == "ok"]
    shared = set(ok[ok.split == "train"].sha256) & set(ok[ok.split == "valid"].sha256)
    if shared:
        print(f"warning: {len(shared)} image(s) are in both train and valid (same checksum)")
    return manifest


def main() -> None:
    manifest = fetch(load_params().data, OUT)
    write_text(OUT / "manifest.csv", manifest.to_csv(index=False))
    for split, g in manifest.groupby("split"):
        print(f"{split}: {(g.status == 'ok').sum()} images, {(g.status != 'ok').sum()} skipped")


if __name__ == "__main__":
    run(main)

"""The prepared cache: per image, uint8 HR and y0 arrays (.npy, memory-mapped), plus a patch index.

Layout written by the prepare stage and read by train / evaluate / plots:
    <cache>/<split>/<stem>.hr.npy   H x W x 3 uint8, mod-cropped HR
    <cache>/<split>/<stem>.y0.npy   H x W x 3 uint8, degrade()'s bicubic base of the whole image
    <index>.csv                     split, image, top, left, size (one row per patch)
No torch here (the prepare stage needs none).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from srcore.common.atomic import atomic_write

INDEX_COLUMNS = ["split", "image", "top", "left", "size"]


def save_array(path: str | os.PathLike, a: np.ndarray) -> None:
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.save(f, a)


def load_pair(cache: str | os.PathLike, split: str, image: str) -> tuple[np.ndarray, np.ndarray]:
    """(HR, y0) uint8 arrays of one cached image, memory-mapped."""
    base = Path(cache) / split / image
    return np.load(f"{base}.hr.npy", mmap_mode="r"), np.load(f"{base}.y0.npy", mmap_mode="r")


def read_index(path: str | os.PathLike, split: str) -> pd.DataFrame:
    df = pd.read_csv(path)
    missing = set(INDEX_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: patch index lacks columns {sorted(missing)}")
    return df[df["split"] == split].reset_index(drop=True)

"""Reading and writing images, and the one normalisation.

On disk and in caches images are uint8 H x W x 3 RGB. Inside the network they are float tensors
B x 3 x H x W in [-1, 1]. `to_tensor` / `to_uint8` are the only conversions between the two.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_write

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(ValueError):
    """An image file that cannot be decoded; the message names the file."""


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image, applying its EXIF orientation. Mode is left as stored."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageReadError(f"{path}: empty file")
        with Image.open(path) as im:
            im.load()  # forces decoding now: truncated files fail here, not later
            im = ImageOps.exif_transpose(im)
            im.load()
            return im
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageReadError(f"{path}: cannot read image ({e})") from e


def to_rgb_array(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 H x W x 3 RGB. 16/32-bit greyscale is rescaled, not clipped."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        a = np.round(a / 257.0).clip(0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        hi = 1.0 if a.max(initial=0) <= 1.0 else 255.0
        a = np.round(a / hi * 255).clip(0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read any image file as uint8 H x W x 3 RGB (EXIF-rotated). Raises ImageReadError naming the file."""
    return to_rgb_array(open_image(path))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files (by suffix) directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def write_image(path: str | os.PathLike, img: np.ndarray | Image.Image, **save_kw) -> None:
    """Write an image atomically (temp file + rename); the format follows the suffix."""
    im = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img))
    fmt = Image.registered_extensions().get(Path(path).suffix.lower(), "PNG")
    with atomic_write(path) as tmp:
        im.save(tmp, format=fmt, **save_kw)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 H x W x 3 (or B x H x W x 3) -> float32 3 x H x W (or B x 3 x H x W) in [-1, 1]."""
    a = np.ascontiguousarray(img)
    a = a if a.flags.writeable else a.copy()  # e.g. a memory-mapped cache
    t = torch.from_numpy(a).float().div(127.5).sub(1.0)
    return t.movedim(-1, -3)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] tensor 3 x H x W (or B x 3 x H x W) -> uint8 H x W x 3 (or B x H x W x 3), rounded."""
    x = ((x.detach().float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()

"""Reading and writing images as the pipeline sees them: uint8 H x W x 3 RGB (`read_image`;
srcore.common.tensors converts for the network), EXIF rotation applied.

The upscaler keeps more of what a file holds (16 bits, greyscale, alpha): srcore.deploy.pictures.
No torch here: the fetch and prepare stages read images too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from srcore.common.atomic import atomic_write
from srcore.common.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
GREY_MODES = ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "1")


class ImageReadError(UserError, ValueError):
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
    except Image.DecompressionBombError as e:  # a header that claims billions of pixels
        raise ImageReadError(f"{path}: refused: {e}") from e
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
    """Any image file as uint8 H x W x 3 RGB (EXIF-rotated). Raises ImageReadError naming it."""
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

"""Images as the upscaler keeps them: 8 or 16 bits per channel, greyscale, alpha (`Picture`), read
from files, Pillow images and arrays, and given back as the same kind.

Pillow reads and writes everything but 16-bit colour, which it truncates to 8 bits: those files
(PNG, TIFF) are read and written with OpenCV, imported only then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from srcore.common.atomic import atomic_write
from srcore.common.images import (
    GREY_MODES,
    ImageReadError,
    open_image,
    to_rgb_array,
    write_image,
)

DEEP_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {  # EXIF orientation -> the array operation of Pillow's exif_transpose
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


@dataclass
class Picture:
    """An image as the upscaler keeps it: rgb H x W x 3 (uint8, or uint16 for 16-bit files),
    alpha H x W of the same dtype or None, and whether the file was greyscale."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    grey: bool

    @property
    def deep(self) -> bool:
        return self.rgb.dtype == np.uint16


def read_picture(path: str | os.PathLike) -> Picture:
    """Read what the file holds (EXIF-rotated): 8 or 16 bits, greyscale, alpha."""
    if _is_deep_colour(Path(path)):
        return _read_deep_colour(Path(path))
    return picture_of(open_image(path))


def picture_of(im: Image.Image) -> Picture:
    """A decoded Pillow image (EXIF orientation already applied) as a Picture. Pillow holds 16-bit
    greyscale but no 16-bit colour (it opens such files as 8-bit RGB): read_picture keeps those."""
    try:
        return _picture_of(im)
    except (ValueError, OSError) as e:  # a mode Pillow cannot convert, e.g. "La" or "CMYK;16"
        raise ImageReadError(f"a Pillow image in mode {im.mode}: cannot read it ({e})") from e


def _picture_of(im: Image.Image) -> Picture:
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    alpha = np.asarray(im.convert("RGBA").getchannel("A")) if has_alpha else None
    if im.mode in DEEP_GREY_MODES:  # Pillow reads 16-bit greyscale exactly
        grey = np.asarray(im, dtype=np.uint16)
        return Picture(np.repeat(grey[..., None], 3, axis=2), None, True)
    return Picture(to_rgb_array(im), alpha, im.mode in GREY_MODES)


def picture_from_array(a: np.ndarray) -> Picture:
    """An H x W (grey), H x W x 1, H x W x 2 (grey + alpha), H x W x 3 (RGB) or H x W x 4 (RGBA)
    array of uint8 or uint16 as a Picture; a ValueError names what is allowed otherwise."""
    a = np.asarray(a)
    if a.dtype not in (np.uint8, np.uint16) or a.ndim not in (2, 3) or a.size == 0:
        raise ImageReadError(
            f"an array of {a.dtype} with shape {a.shape}: allowed uint8 or uint16, "
            "H x W or H x W x C with C 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)"
        )
    a = a[..., None] if a.ndim == 2 else a
    channels = a.shape[2]
    if channels not in (1, 2, 3, 4):
        raise ImageReadError(f"an array with {channels} channels: allowed 1, 2, 3 or 4")
    alpha = np.ascontiguousarray(a[..., -1]) if channels in (2, 4) else None
    rgb = np.repeat(a[..., :1], 3, axis=2) if channels < 3 else a[..., :3]
    return Picture(np.ascontiguousarray(rgb), alpha, channels < 3)


def picture_to_pil(picture: Picture) -> Image.Image:
    """An 8-bit Picture as the Pillow image write_picture stores (L, LA, RGB or RGBA), or a 16-bit
    grey one without alpha as I;16 (Pillow holds no other 16-bit modes)."""
    if picture.deep:
        if not picture.grey or picture.alpha is not None:
            raise ImageReadError("a 16-bit colour or alpha result: Pillow cannot hold it")
        return Image.fromarray(picture.rgb[..., 0])
    im = Image.fromarray(picture.rgb)
    if picture.grey:
        im = im.convert("L")
    if picture.alpha is not None:
        im.putalpha(Image.fromarray(picture.alpha))
    return im


def picture_to_array(picture: Picture) -> np.ndarray:
    """A Picture as the array picture_from_array takes: H x W for grey, H x W x 2 for grey with
    alpha, H x W x 3 or H x W x 4 otherwise; 8-bit ones are the pixels write_picture stores."""
    if not picture.deep:
        return np.asarray(picture_to_pil(picture))
    channels = picture.rgb[..., :1] if picture.grey else picture.rgb
    if picture.alpha is not None:
        channels = np.concatenate([channels, picture.alpha[..., None]], axis=2)
    return channels[..., 0] if channels.shape[2] == 1 else channels


def write_picture(path: str | os.PathLike, picture: Picture, **save_kw) -> None:
    """Write atomically: 8-bit in the suffix's format, 16-bit as PNG (the caller names it .png)."""
    if not picture.deep:
        write_image(path, picture_to_pil(picture), **save_kw)
        return
    import cv2

    channels = picture.rgb[..., ::-1]  # OpenCV's BGR
    if picture.grey and picture.alpha is None:
        channels = picture.rgb[..., 0]
    elif picture.alpha is not None:
        channels = np.concatenate([channels, picture.alpha[..., None]], axis=2)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(channels))
    if not ok:
        raise ImageReadError(f"{path}: cannot encode a 16-bit PNG")
    with atomic_write(path) as tmp:
        tmp.write_bytes(data.tobytes())


def _is_deep_colour(path: Path) -> bool:
    """A 16-bit colour (or grey + alpha) file, which Pillow would truncate to 8 bits."""
    try:
        with Image.open(path) as im:
            return im.mode in ("RGB", "RGBA", "LA") and any(";16" in str(t.args) for t in im.tile)
    except Exception:  # not decodable by Pillow at all: open_image reports it
        return False


def _read_deep_colour(path: Path) -> Picture:
    import cv2

    with Image.open(path) as im:
        orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16:
        raise ImageReadError(f"{path}: cannot read its 16-bit pixels")
    a = _TRANSPOSE.get(orientation, lambda x: x)(a[..., None] if a.ndim == 2 else a)
    channels = a.shape[2]
    if channels in (1, 2):  # grey (+ alpha)
        rgb, alpha = np.repeat(a[..., :1], 3, axis=2), (a[..., 1] if channels == 2 else None)
        return Picture(np.ascontiguousarray(rgb), alpha, True)
    alpha = np.ascontiguousarray(a[..., 3]) if channels == 4 else None
    return Picture(np.ascontiguousarray(a[..., 2::-1]), alpha, False)

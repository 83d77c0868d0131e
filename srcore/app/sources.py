"""The images given to srcore-app, and the files it sends back.

An uploaded file is written under the app's own folder with its own name and read by
srcore.deploy.pictures.read_picture, the very code srcore-upscale reads files with: EXIF rotation,
greyscale, alpha and 16-bit files come in as they would there. Previews for the page are 8-bit
PNGs; a download is written by write_picture as srcore-upscale writes its files (16-bit as PNG,
alpha kept, JPEG at quality 95).
"""

from __future__ import annotations

import io
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from srcore.common.errors import UserError
from srcore.common.images import IMAGE_SUFFIXES, list_images
from srcore.deploy.pictures import Picture, picture_to_pil, read_picture, write_picture

MAX_UPLOAD = 256 * 2**20  # bytes of one uploaded file
KEPT = 64  # images kept per app (the oldest is forgotten first)
KEPT_BYTES = 2**30  # and at most this many bytes of pixels (the newest is always kept)


@dataclass(frozen=True)
class Source:
    """An image given to the app: its id, the name the user knows it by, its pixels."""

    id: str
    name: str
    picture: Picture

    def describe(self) -> dict:
        p = self.picture
        return {
            "id": self.id,
            "name": self.name,
            "width": int(p.rgb.shape[1]),
            "height": int(p.rgb.shape[0]),
            "bits": 16 if p.deep else 8,
            "alpha": p.alpha is not None,
            "grey": p.grey,
        }


class Sources:
    """The app's images by id: uploads (kept under `folder`) and the validation images of
    `samples` (a folder, read where they are)."""

    def __init__(self, folder: Path, samples: Path | None = None) -> None:
        self.folder, self.samples = folder, samples
        self._kept: dict[str, Source] = {}
        self._lock = threading.Lock()

    def sample_names(self) -> list[str]:
        """The validation images' file names ([] without the folder)."""
        if self.samples is None or not self.samples.is_dir():
            return []
        return [p.name for p in list_images(self.samples)]

    def add_upload(self, name: str, data: bytes) -> Source:
        """An uploaded file called `name`: a UserError naming it if it is not an image the CLI
        reads (unreadable, a decompression bomb, too large). The name is only shown: the copy
        read is the app's own file (Pillow and OpenCV tell the format from the content)."""
        name = Path(name.replace("\\", "/").replace("\0", "")).name[:200] or "image"
        if len(data) > MAX_UPLOAD:
            raise UserError(f"{name}: {len(data)} bytes, allowed up to {MAX_UPLOAD // 2**20} MiB")
        token = secrets.token_hex(8)
        path = self.folder / token / "upload"
        try:
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
            picture = read_picture(path)
        except UserError as e:  # its message names our copy: name the user's file instead
            raise UserError(str(e).replace(str(path), name)) from None
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
        return self._keep(Source(token, name, picture))

    def add_sample(self, name: str) -> Source:
        """Validation image `name` (one of sample_names)."""
        if name not in self.sample_names():
            raise UserError(f"{name}: not one of the validation images in {self.samples}")
        return self._keep(Source(secrets.token_hex(8), name, read_picture(self.samples / name)))

    def get(self, source_id: str) -> Source:
        with self._lock:
            source = self._kept.get(source_id)
        if source is None:
            raise UserError(f"image {source_id!r}: not given to this app (or forgotten): add it")
        return source

    def _keep(self, source: Source) -> Source:
        with self._lock:
            self._kept[source.id] = source
            held = sum(_nbytes(s.picture) for s in self._kept.values())
            while len(self._kept) > 1 and (len(self._kept) > KEPT or held > KEPT_BYTES):
                held -= _nbytes(self._kept.pop(next(iter(self._kept))).picture)
        return source


def _nbytes(picture: Picture) -> int:
    return picture.rgb.nbytes + (0 if picture.alpha is None else picture.alpha.nbytes)


def eight_bits(picture: Picture) -> np.ndarray:
    """The picture's RGB as uint8 H x W x 3 (16-bit levels rounded to 8 bits)."""
    if not picture.deep:
        return picture.rgb
    return np.round(picture.rgb / 257.0).astype(np.uint8)


def preview_png(picture: Picture) -> bytes:
    """The picture as the page shows it: an 8-bit PNG, fast to encode. An 8-bit picture is the
    image write_picture stores (grey as its luma, alpha kept); a 16-bit one its levels rounded."""
    if not picture.deep:
        im = picture_to_pil(picture)
    else:
        rgb = eight_bits(picture)
        im = Image.fromarray(rgb[..., 0] if picture.grey else rgb)  # 16-bit grey is grey already
        if picture.alpha is not None:
            im.putalpha(Image.fromarray(np.round(picture.alpha / 257.0).astype(np.uint8)))
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def download_name(source_name: str, label: str, scale: float, deep: bool) -> str:
    """The file name of a result: <stem>_<model>_x<scale> with the input's suffix, .png for 16
    bits (as srcore-upscale names 16-bit results)."""
    src = Path(source_name)
    suffix = ".png" if deep or src.suffix.lower() not in IMAGE_SUFFIXES else src.suffix
    safe = lambda text: "".join(c if c.isalnum() or c in "-_" else "-" for c in text)
    return f"{safe(src.stem)}_{safe(Path(label).stem)}_x{scale:g}{suffix}"


def encode_file(picture: Picture, name: str, folder: Path) -> bytes:
    """The bytes write_picture stores for `name` (JPEG at quality 95, as srcore-upscale)."""
    path = folder / f"{secrets.token_hex(8)}{Path(name).suffix}"
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    try:
        write_picture(path, picture, **({"quality": 95} if jpeg else {}))
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)

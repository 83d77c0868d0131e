"""Getting HR images: the embedded sample, a user's folders, or DIV2K (download or local archives).

Downloads resume: bytes go to `<file>.part` and a later call asks the server for the rest (HTTP
Range). Archives are checked before anything is extracted (zip integrity with CRCs, the expected
member names and counts), and extraction refuses members with absolute paths, `..` or links, so
nothing is ever written outside the target folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from srcore.common.atomic import atomic_write
from srcore.common.errors import UserError
from srcore.common.images import IMAGE_SUFFIXES, ImageReadError, open_image

# The embedded default: photographs inside scikit-image's wheel. Fixed split, no image in both;
# the motorcycle stereo pair stays together on the training side.
SAMPLE_SPLIT = {
    "train": [
        *("astronaut.png", "brick.png", "camera.png", "coins.png", "grass.png", "gravel.png"),
        *("hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png"),
        *("motorcycle_right.png", "retina.jpg", "rocket.jpg"),
    ],
    "valid": ["chelsea.png", "coffee.png"],
}

DIV2K_ARCHIVES = {"train": "DIV2K_train_HR", "valid": "DIV2K_valid_HR"}
DIV2K_COUNTS = {"train": 800, "valid": 100}


class FetchError(UserError, RuntimeError):
    pass


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sample_files() -> dict[str, list[Path]]:
    import skimage.data

    root = Path(skimage.data.__file__).parent
    return {split: [root / n for n in names] for split, names in SAMPLE_SPLIT.items()}


def folder_files(folder: str | os.PathLike, key: str) -> list[Path]:
    folder = Path(folder)
    if not str(folder) or not folder.is_dir():
        raise FetchError(f"{key}: {str(folder)!r} is not a folder of HR images")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def copy_checked(files: list[Path], dst: Path, source: str, split: str, log=print) -> list[dict]:
    """Copy files that decode as images into dst (bytes unchanged); a bad file is logged and left
    out, never deleted at its source. Returns one manifest row per input file."""
    dst.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in tqdm(files, desc=f"fetch {split}", unit="img", leave=False):
        row = {
            "split": split,
            "name": p.name,
            "source": source,
            "width": 0,
            "height": 0,
            "sha256": "",
            "status": "ok",
        }
        try:
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                raise ImageReadError(
                    f"{p}: not an image file name (allowed: {', '.join(IMAGE_SUFFIXES)})"
                )
            row["width"], row["height"] = open_image(p).size
            out = dst / p.name
            if p.parent.resolve() != dst.resolve():  # extracted archives are already in place
                with atomic_write(out) as tmp:
                    shutil.copyfile(p, tmp)
            row["sha256"] = sha256(out)
        except ImageReadError as e:
            row["status"] = f"skipped: {e}"
            log(f"skipped {e}")
            if p.parent.resolve() == dst.resolve():
                p.unlink()  # an extracted copy; the archive still holds the original
        rows.append(row)
    return rows


def download(url: str, dst: Path, timeout: float = 60.0) -> Path:
    """Download url to dst with a progress bar, resuming a previous partial download (dst.part)."""
    if dst.is_file():
        return dst
    part = dst.with_name(dst.name + ".part")
    dst.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part is whole
            os.replace(part, dst)
            return dst
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(
            f"{url}: cannot connect ({e}); set data.div2k_dir to archives you already have"
        ) from e
    with resp:
        if have and resp.status != 206:
            have = 0  # the server ignored the Range header: start again
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=dst.name)
        with open(part, "ab" if have else "wb") as f, bar:
            try:
                while block := resp.read(1 << 20):
                    f.write(block)
                    bar.update(len(block))
            except (OSError, urllib.error.URLError) as e:
                raise FetchError(
                    f"{url}: transfer cut off at {f.tell()} bytes ({e}); run again to resume"
                ) from e
    got = part.stat().st_size
    if total is not None and got < total:
        raise FetchError(f"{url}: transfer cut off at {got} of {total} bytes; run again to resume")
    os.replace(part, dst)
    return dst


def check_archive(path: Path, prefix: str, count: int) -> list[zipfile.ZipInfo]:
    """Verify a DIV2K-style zip: readable, CRCs good, `count` members named prefix/NNNN.png, all
    safe."""
    pattern = re.compile(rf"^{re.escape(prefix)}/\d{{4}}\.png$")
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise FetchError(
            f"{path}: not a whole zip archive ({e}); delete it to download again"
        ) from e
    if bad is not None:
        raise FetchError(
            f"{path}: member {bad} is corrupt (CRC mismatch); delete the archive to download again"
        )
    for info in infos:
        unsafe_member(info, path)
    images = [i for i in infos if pattern.match(i.filename)]
    if len(images) != count:
        raise FetchError(
            f"{path}: expected {count} members named {prefix}/NNNN.png, found {len(images)}"
        )
    return images


def unsafe_member(info: zipfile.ZipInfo, archive: Path) -> None:
    name = info.filename
    parts = Path(name.replace("\\", "/")).parts
    is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or is_link:
        raise FetchError(
            f"{archive}: refusing member {name!r} "
            "(absolute path, '..' or link would escape the folder)"
        )


def extract_flat(archive: Path, members: list[zipfile.ZipInfo], dst: Path) -> list[Path]:
    """Extract the given members' files directly into dst (file names only), atomically each."""
    dst.mkdir(parents=True, exist_ok=True)
    root, out = dst.resolve(), []
    with zipfile.ZipFile(archive) as z:
        for info in tqdm(members, desc=f"extract {archive.name}", unit="img", leave=False):
            target = (dst / Path(info.filename).name).resolve()
            if target.parent != root:
                raise FetchError(f"{archive}: refusing member {info.filename!r}")
            with atomic_write(target) as tmp, z.open(info) as src, open(tmp, "wb") as f:
                shutil.copyfileobj(src, f)
            out.append(target)
    return out


def div2k_files(
    div2k_dir: str, url: str, downloads: Path, split: str, count: int, dst: Path
) -> list[Path]:
    """HR image files of one DIV2K split: a local folder's files, or an archive (from
    data.div2k_dir or downloaded into `downloads`) checked and extracted into dst."""
    name = DIV2K_ARCHIVES[split]
    local = Path(div2k_dir) if div2k_dir else None
    if local is not None and (local / name).is_dir():
        files = sorted((local / name).glob("*.png"))
        if len(files) != count:
            raise FetchError(
                f"data.div2k_dir: {local / name} holds {len(files)} PNG files, expected {count}"
            )
        return files
    if local is not None and (local / f"{name}.zip").is_file():
        archive = local / f"{name}.zip"
    elif local is not None:
        raise FetchError(f"data.div2k_dir: {local} holds neither {name}.zip nor a {name}/ folder")
    else:
        archive = download(f"{url.rstrip('/')}/{name}.zip", downloads / f"{name}.zip")
    return extract_flat(archive, check_archive(archive, name, count), dst)

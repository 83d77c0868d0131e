"""Upscale your own images with a trained model.

    python -m srcore.upscale INPUT... -o OUTDIR --model models/model.pt [--steps N] [--tile 256]
                             [--overlap 32] [--seed S] [--device auto|cpu|cuda]

INPUT is image files or folders (their images, not recursive). Each image is enlarged by the
model's scale: bicubic base y0, then the diffusion chain, in overlapping tiles blended smoothly so
memory is bounded by the tile. Greyscale stays greyscale, an alpha channel is enlarged bicubically
and put back, EXIF rotation is applied, and the output keeps the input's file format. An
unreadable input is reported in one line and skipped; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .checkpoint import ModelFileError, load_model
from .degrade import bicubic_resize, upsample
from .diffusion import ResShift
from .images import IMAGE_SUFFIXES, ImageReadError, open_image, to_rgb_array, write_image
from .sampler import pick_device
from .tiles import super_resolve_image

GREY_MODES = ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "1")


def collect_inputs(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)  # a missing or bad file is reported when it is read
    return files


def upscale_image(im: Image.Image, model, diffusion: ResShift, scale: int, seed: int, tile: int, overlap: int) -> Image.Image:
    """An opened image (any mode) -> the enlarged image (L, LA, RGB or RGBA like the input)."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    alpha = np.asarray(im.convert("RGBA").getchannel("A")) if has_alpha else None
    y0 = upsample(to_rgb_array(im), scale)
    sr = Image.fromarray(super_resolve_image(model, diffusion, y0, seed, tile, overlap, progress=True))
    if im.mode in GREY_MODES:
        sr = sr.convert("L")
    if alpha is not None:
        sr.putalpha(Image.fromarray(bicubic_resize(alpha, sr.size)))
    return sr


def output_path(src: Path, outdir: Path, taken: set[Path]) -> Path:
    dst = outdir / src.name
    k = 1
    while dst in taken:  # two inputs with one name (from different folders)
        dst, k = outdir / f"{src.stem}_{k}{src.suffix}", k + 1
    taken.add(dst)
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="srcore-upscale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    ap.add_argument("-o", "--outdir", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--steps", type=int, help="sampling steps (default: the model's T; fewer = respaced chain)")
    ap.add_argument("--tile", type=int, default=256, help="tile side in output pixels, 0 = whole image (default 256)")
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    a = ap.parse_args(argv)
    try:
        model, dcfg, ck = load_model(a.model, device=pick_device(a.device))
        diffusion = ResShift.from_config(dcfg)
        diffusion = diffusion.respace(a.steps) if a.steps else diffusion
    except (ModelFileError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = model.cfg.size_multiple
    if a.tile < 0 or a.tile % m or (a.tile and a.overlap >= a.tile):
        ap.error(f"--tile must be 0 or a multiple of {m} larger than --overlap ({a.overlap})")
    files, written, failed, taken, t0 = collect_inputs(a.inputs), [], [], set(), time.time()
    for src in tqdm(files, desc="images", unit="img"):
        try:
            im = open_image(src)
        except (ImageReadError, FileNotFoundError) as e:
            tqdm.write(f"error: {e}", file=sys.stderr)
            failed.append(src)
            continue
        out = upscale_image(im, model, diffusion, ck["scale"], a.seed, a.tile, a.overlap)
        dst = output_path(src, a.outdir, taken)
        write_image(dst, out, **({"quality": 95} if dst.suffix.lower() in (".jpg", ".jpeg") else {}))
        written.append(dst)
    print(f"{len(written)} image(s) upscaled x{ck['scale']} in {time.time() - t0:.1f}s, {len(failed)} failed: "
          + ", ".join(str(p) for p in written))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

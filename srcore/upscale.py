"""Upscale your own images with a trained model.

    srcore-upscale INPUT... -o OUTDIR [--model models/model.pt] [--steps N] [--sampler ancestral|ddim]
                   [--samples N] [--ensemble] [--tile 1024] [--overlap 32] [--seed S] [--device auto|cpu|cuda]
    (or python -m srcore.upscale ...)

INPUT is image files or folders (their images, not recursive). Each image is enlarged by the
model's scale: bicubic base y0, then the diffusion chain, in overlapping tiles blended smoothly so
memory is bounded by the tile. Greyscale stays greyscale, an alpha channel is enlarged bicubically
and put back, EXIF rotation is applied, and the output keeps the input's file format. An
unreadable input is reported in one line and skipped; the exit code is 1 if some failed, 2 if all
did (or there were no images, or the model file is missing or bad).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .checkpoint import load_model
from .cli import USER_ERRORS, HelpFormatter, call, one_line
from .config import EvaluateConfig
from .cudagraph import for_sampling
from .degrade import bicubic_resize, upsample
from .diffusion import SAMPLERS, ResShift
from .errors import UserError
from .images import IMAGE_SUFFIXES, open_image, to_rgb_array, write_image
from .sampler import pick_device
from .tiles import super_resolve_image

GREY_MODES = ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "1")
DEVICES = ("auto", "cpu", "cuda")
STEPS = EvaluateConfig().steps  # 1: the best PSNR in metrics/study.md (more steps: more texture, less PSNR)


def load_sampler(
    path: Path, device: torch.device, steps: int | None, tile: int, overlap: int, samples: int = 1
) -> tuple[torch.nn.Module, ResShift, int]:
    """(model on the device (CUDA-graphed on a GPU), its chain respaced to `steps` (None: STEPS or the model's T
    if smaller), its scale); bad settings raise a UserError."""
    if samples < 1:
        raise UserError(f"--samples {samples}: allowed 1 or more")
    model, dcfg, ck = load_model(path, device=device)
    diffusion = ResShift.from_config(dcfg)
    steps = min(STEPS, diffusion.num_steps) if steps is None else steps
    if not 1 <= steps <= diffusion.num_steps:
        raise UserError(f"--steps {steps}: allowed 1..{diffusion.num_steps} (the chain length of {path})")
    diffusion = diffusion.respace(steps)
    m = model.cfg.size_multiple
    if tile < 0 or tile % m or overlap < 0 or (tile and overlap >= tile):
        raise UserError(
            f"--tile {tile} --overlap {overlap}: the tile must be 0 or a multiple of {m} larger than the overlap >= 0"
        )
    return for_sampling(model), diffusion, int(ck["scale"])


def collect_inputs(inputs: list[str]) -> list[Path]:
    """The image files named, and those directly inside the folders named, in order."""
    files: list[Path] = []
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)  # a missing or bad file is reported when it is read
    return files


def upscale_image(
    im: Image.Image, model, diffusion: ResShift, scale: int, seed: int, tile: int, overlap: int, sampling: dict | None = None
) -> Image.Image:
    """An opened image (any mode) -> the enlarged image (L, LA, RGB or RGBA like the input).
    sampling: {sampler, samples, ensemble} (srcore.tiles.super_resolve_image)."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    alpha = np.asarray(im.convert("RGBA").getchannel("A")) if has_alpha else None
    y0 = upsample(to_rgb_array(im), scale)
    sr = Image.fromarray(super_resolve_image(model, diffusion, y0, seed, tile, overlap, True, **(sampling or {})))
    if im.mode in GREY_MODES:
        sr = sr.convert("L")
    if alpha is not None:
        sr.putalpha(Image.fromarray(bicubic_resize(alpha, sr.size)))
    return sr


def output_path(src: Path, outdir: Path, taken: set[Path]) -> Path:
    """outdir / the input's name, made unique among the outputs of this run."""
    dst = outdir / src.name
    k = 1
    while dst in taken:  # two inputs with one name (from different folders)
        dst, k = outdir / f"{src.stem}_{k}{src.suffix}", k + 1
    taken.add(dst)
    return dst


def parser() -> argparse.ArgumentParser:
    """The command line of srcore-upscale."""
    ap = argparse.ArgumentParser(prog="srcore-upscale", description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    ap.add_argument("-o", "--outdir", type=Path, required=True, help="the folder to write the enlarged images to")
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"), help="a model file written by the train stage")
    ap.add_argument("--seed", type=int, default=0, help="the seed of the sampling noise")
    add_sampling_options(ap, tile=1024)
    return ap


def add_sampling_options(ap: argparse.ArgumentParser, tile: int) -> None:
    """--steps, --sampler, --samples, --ensemble, --tile, --overlap, --device: how a model samples
    (shared by srcore-upscale and srcore-evaluate)."""
    ap.add_argument("--steps", type=int, help=f"sampling steps, a respaced chain (default: {STEPS}, or the model's T if smaller)")
    ap.add_argument("--sampler", default="ancestral", choices=SAMPLERS, help="ancestral: noise every step; ddim: deterministic")
    ap.add_argument("--samples", type=int, default=1, help="independent draws averaged (an MMSE estimate; cost x N)")
    ap.add_argument("--ensemble", action="store_true", help="average over the 8 rotations/flips (cost x8)")
    ap.add_argument("--tile", type=int, default=tile, help="tile side in output pixels, 0 = the whole image at once")
    ap.add_argument("--overlap", type=int, default=32, help="overlap of neighbouring tiles in pixels")
    ap.add_argument("--device", default="auto", choices=DEVICES, help="auto = cuda when available, else cpu")


def sampling_of(a: argparse.Namespace) -> dict:
    """The keyword arguments of super_resolve_image chosen on the command line."""
    return {"sampler": a.sampler, "samples": a.samples, "ensemble": a.ensemble}


def upscale(a: argparse.Namespace) -> int:
    """Enlarge every input; 1 if some could not be read, 2 if none could. A user's mistake raises."""
    device, files = pick_device(a.device), collect_inputs(a.inputs)
    if not files:
        raise UserError(f"no image files in {', '.join(a.inputs)} (looked for {', '.join(IMAGE_SUFFIXES)})")
    model, diffusion, scale = load_sampler(a.model, device, a.steps, a.tile, a.overlap, a.samples)
    written, failed, taken, t0 = [], [], set(), time.time()
    for src in tqdm(files, desc="images", unit="img"):
        try:
            im = open_image(src)
        except USER_ERRORS as e:
            tqdm.write(f"error: {one_line(e)}", file=sys.stderr)
            failed.append(src)
            continue
        out = upscale_image(im, model, diffusion, scale, a.seed, a.tile, a.overlap, sampling_of(a))
        dst = output_path(src, a.outdir, taken)
        write_image(dst, out, **({"quality": 95} if dst.suffix.lower() in (".jpg", ".jpeg") else {}))
        written.append(dst)
    if not written:
        return 2  # every input was reported above, one line each
    print(f"{len(written)} image(s) upscaled x{scale} in {time.time() - t0:.1f}s, {len(failed)} failed: "
          + ", ".join(str(p) for p in written))  # fmt: skip
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and upscale; returns the exit code (2 for a user's mistake)."""
    return call(upscale, parser().parse_args(argv))


def cli() -> None:
    """The srcore-upscale console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()

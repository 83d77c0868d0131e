"""Upscale your own images with a trained model.

    srcore-upscale INPUT... -o OUTDIR [--model models/model.pt] [--scale S] [--steps N] [--seed S]
                   [--sampler ancestral|ddim] [--samples N] [--ensemble] [--cleanup L]
                   [--tile 1024] [--overlap 32] [--device auto|cpu|cuda] [--backend torch|onnx]
    (or python -m srcore.upscale ...)

INPUT is image files or folders (their images, not recursive; other files in a folder are counted
and skipped). Each image is enlarged by the model's scale, or by --scale for a model trained over a
range of scales (model.scales; an h x w image becomes round(h s) x round(w s)): bicubic base y0,
then the diffusion chain, in overlapping tiles blended smoothly. Greyscale stays greyscale, an alpha
channel is enlarged bicubically and put back, EXIF rotation is applied, 8-bit files keep their
format and 16-bit PNG/TIFF files come back as 16-bit PNG. A file that cannot be read, upscaled or
written is reported in one line naming it and the others go on; the exit code is 1 if some failed, 2
if all did (or there were no images, or the model file is missing or bad).

--backend onnx runs a graph written by srcore-export (--model, default models/model.onnx) with ONNX
Runtime on the CPU: one step, one draw, no ensemble, at the scale it was exported for, in tiles
for integer scales (whole images otherwise). Its bicubic base is the 8-bit one, also for 16-bit
files (written as 16-bit PNG all the same).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .cli import USER_ERRORS, HelpFormatter, call, one_line
from .config import tile_fits, tile_rule
from .degrade import bicubic_resize, upsample
from .device import pick_device
from .diffusion import ResShift
from .errors import UserError
from .images import IMAGE_SUFFIXES, Picture, read_picture, write_picture
from .onnx_backend import OnnxSampler
from .sampling import add_sampling_options, load_sampler, sampling_of, scale_value, seed_value
from .tiles import super_resolve_image

DEEP = 257.0  # a 16-bit level per 8-bit level: the network sees [0, 255] either way
BACKENDS = ("torch", "onnx")
PER_FILE_ERRORS = (*USER_ERRORS, OSError, MemoryError, torch.cuda.OutOfMemoryError)


def collect_inputs(inputs: list[str]) -> tuple[list[Path], int]:
    """(the image files named and those directly inside the folders named, in order; the number
    of other files found in those folders, which are skipped)."""
    files: list[Path] = []
    others = 0
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file())
            files += [q for q in found if q.suffix.lower() in IMAGE_SUFFIXES]
            others += sum(q.suffix.lower() not in IMAGE_SUFFIXES for q in found)
        else:
            files.append(p)  # a missing or bad file is reported when it is read
    return files, others


def upscale_picture(
    picture: Picture,
    model,
    diffusion: ResShift,
    scale: float,
    seed: int,
    tile: int,
    overlap: int,
    sampling: dict | None = None,
) -> Picture:
    """The picture enlarged `scale` times (srcore.degrade's size rule), at its own bit depth,
    greyscale and alpha kept. sampling: {sampler, samples, ensemble}
    (srcore.tiles.super_resolve_image)."""
    lr = picture.rgb if not picture.deep else (picture.rgb / DEEP).astype(np.float32)
    y0 = upsample(lr, scale)
    if picture.deep:
        y0 = y0.clip(0, 255)
    args = (model, diffusion, y0, seed, tile, overlap, True)
    return finish_picture(picture, super_resolve_image(*args, **(sampling or {}), scale=scale))


def upscale_picture_onnx(
    picture: Picture, sampler: OnnxSampler, seed: int, tile: int, overlap: int
) -> Picture:
    """upscale_picture through an exported graph (srcore.onnx_backend), one step."""
    lr = (picture.rgb / (65535.0 if picture.deep else 255.0)).astype(np.float32)
    sr = sampler.enlarge(lr, seed, tile, overlap, progress=True)
    return finish_picture(
        picture, sr if picture.deep else np.round(sr).clip(0, 255).astype(np.uint8)
    )


def finish_picture(picture: Picture, sr: np.ndarray) -> Picture:
    """The enlarged RGB (uint8, or float32 in [0, 255] for a 16-bit picture) with the picture's
    greyscale, alpha (enlarged bicubically) and bit depth put back."""
    size = (sr.shape[1], sr.shape[0])
    if not picture.deep:
        alpha = None if picture.alpha is None else bicubic_resize(picture.alpha, size)
        return Picture(sr, alpha, picture.grey)
    if picture.grey:  # Pillow's "L" conversion (ITU-R 601-2 luma), at 16 bits
        sr = np.repeat((sr @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=2)
    alpha = None
    if picture.alpha is not None:
        alpha = _to_uint16(bicubic_resize(picture.alpha.astype(np.float32), size))
    return Picture(_to_uint16(sr * DEEP), alpha, picture.grey)


def _to_uint16(a: np.ndarray) -> np.ndarray:
    return np.round(a).clip(0, 65535).astype(np.uint16)


def output_path(src: Path, outdir: Path, taken: set[Path], deep: bool = False) -> Path:
    """outdir / the input's name (.png for 16-bit results), unique among this run's outputs."""
    name = Path(src.name).with_suffix(".png") if deep else Path(src.name)
    dst = outdir / name
    k = 1
    while dst in taken:  # two inputs with one name (from different folders)
        dst, k = outdir / f"{name.stem}_{k}{name.suffix}", k + 1
    taken.add(dst)
    return dst


def parser() -> argparse.ArgumentParser:
    """The command line of srcore-upscale."""
    ap = argparse.ArgumentParser(
        prog="srcore-upscale", description=__doc__, formatter_class=HelpFormatter
    )
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    ap.add_argument(
        "-o", "--outdir", type=Path, required=True, help="the folder to write the images to"
    )
    ap.add_argument(
        "--model",
        type=Path,
        help="a model file from training (default: models/model.pt), or with --backend onnx a "
        "graph from srcore-export (default: models/model.onnx)",
    )
    ap.add_argument(
        "--scale",
        type=scale_value,
        help="the enlargement, e.g. 2.5, for a model trained over a range (default: the model's)",
    )
    ap.add_argument("--seed", type=seed_value, default=0, help="the seed of the sampling noise")
    add_sampling_options(ap, tile=1024)
    ap.add_argument(
        "--backend",
        default="torch",
        choices=BACKENDS,
        help="torch: the model file with PyTorch; onnx: an exported graph with ONNX Runtime (CPU)",
    )
    return ap


def onnx_sampler(args: argparse.Namespace) -> OnnxSampler:
    """The graph --model names, once the options it cannot honour are ruled out."""
    if args.steps not in (None, 1):
        raise UserError(
            f"--steps {args.steps}: --backend onnx runs the one-step sampler (allowed: 1)"
        )
    if args.samples != 1:
        raise UserError(f"--samples {args.samples}: --backend onnx draws once (allowed: 1)")
    if args.ensemble:
        raise UserError("--ensemble: not with --backend onnx (the graph runs one view)")
    if args.device == "cuda":
        raise UserError("--device cuda: --backend onnx runs on the CPU (allowed: auto, cpu)")
    if args.cleanup is not None:
        raise UserError(
            f"--cleanup {args.cleanup:g}: --backend onnx runs the level the graph was exported "
            "with (srcore-export --cleanup)"
        )
    path = args.model or Path("models/model.onnx")
    sampler = OnnxSampler(path)
    if args.scale is not None and args.scale != sampler.scale:
        raise UserError(f"--scale {args.scale:g}: {path} was exported at x{sampler.scale:g} only")
    if not tile_fits(args.tile, args.overlap, sampler.multiple):
        rule = tile_rule(sampler.multiple)
        raise UserError(f"--tile {args.tile} --overlap {args.overlap}: the tile must be {rule}")
    return sampler


def enlarger(args: argparse.Namespace) -> tuple[Callable[[Picture], Picture], float]:
    """(the function that enlarges one picture as the options ask, the scale)."""
    tiles = (args.seed, args.tile, args.overlap)
    if args.backend == "onnx":
        sampler = onnx_sampler(args)
        return (lambda p: upscale_picture_onnx(p, sampler, *tiles)), sampler.scale
    device = pick_device(args.device)
    model, diffusion, scale = load_sampler(
        args.model or Path("models/model.pt"),
        device,
        args.steps,
        args.tile,
        args.overlap,
        args.samples,
        args.scale,
        args.cleanup,
    )
    sampling = sampling_of(args)
    return (lambda p: upscale_picture(p, model, diffusion, scale, *tiles, sampling)), scale


def upscale(args: argparse.Namespace) -> int:
    """Enlarge every input; 1 if some failed, 2 if none could be done. A user's mistake raises."""
    files, others = collect_inputs(args.inputs)
    if others:
        print(f"skipped {others} file(s) that are not images ({', '.join(IMAGE_SUFFIXES)})")
    if not files:
        looked = ", ".join(IMAGE_SUFFIXES)
        raise UserError(f"no image files in {', '.join(args.inputs)} (looked for {looked})")
    enlarge, scale = enlarger(args)
    written, failed, taken, t0 = [], [], set(), time.time()
    for src in tqdm(files, desc="images", unit="img"):
        try:
            out = enlarge(read_picture(src))
            dst = output_path(src, args.outdir, taken, out.deep)
            jpeg = dst.suffix.lower() in (".jpg", ".jpeg")
            write_picture(dst, out, **({"quality": 95} if jpeg else {}))
        except PER_FILE_ERRORS as e:
            message = one_line(e) if str(src) in str(e) else f"{src}: {one_line(e)}"
            tqdm.write(f"error: {message}", file=sys.stderr)
            failed.append(src)
            continue
        written.append(dst)
    if not written:
        return 2  # every input was reported above, one line each
    seconds = time.time() - t0
    names = ", ".join(str(p) for p in written)
    print(
        f"{len(written)} image(s) upscaled x{scale:g} in {seconds:.1f}s, "
        f"{len(failed)} failed: {names}"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and upscale; returns the exit code (2 for a user's
    mistake)."""
    return call(upscale, parser().parse_args(argv))


def cli() -> None:
    """The srcore-upscale console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()

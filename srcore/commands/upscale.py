"""Upscale your own images and clips with a trained model.

    srcore-upscale INPUT... -o OUTDIR [--model models/model.pt] [--scale S] [--steps N] [--seed S]
                   [--sampler ancestral|ddim] [--samples N] [--ensemble] [--cleanup L|auto]
                   [--tile 1024] [--overlap 32] [--device auto|cpu|cuda] [--backend torch|onnx]
                   [--codec libx264] [--crf 18] [--batch N]
    (or python -m srcore.commands.upscale ...)

Clips (.mp4 .m4v .mov .mkv .webm .avi .ts) are upscaled frame by frame as they stream and written
to OUTDIR under their own name: same timestamps, audio and subtitles copied untouched, rotation
applied, --codec/--crf for the video (srcore.deploy.video states every rule).

INPUT is image files, clips or folders (their images and clips, not recursive; other files in a
folder are counted and skipped). Each image is enlarged by the model's scale, or by --scale for a
model trained over a range of scales (model.scales; an h x w image becomes round(h s) x
round(w s)): bicubic base y0, then the diffusion chain, in overlapping tiles blended smoothly.
Greyscale stays greyscale, an alpha channel is enlarged bicubically and put back, EXIF rotation is
applied, 8-bit files keep their format and 16-bit PNG/TIFF files come back as 16-bit PNG. A file
that cannot be read, upscaled or written is reported in one line naming it and the others go on;
the exit code is 1 if some failed, 2 if all did (or there were no images, or the model file is
missing or bad).

--backend onnx runs a graph written by srcore-export (--model, default models/model.onnx) with ONNX
Runtime on the CPU: one step, one draw, no ensemble, at the scale it was exported for, in tiles
for integer scales (whole images otherwise). Its bicubic base is the 8-bit one, also for 16-bit
files (written as 16-bit PNG all the same).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from srcore.commands.options import add_sampling_options, options_of, scale_value, seed_value
from srcore.common.cli import USER_ERRORS, HelpFormatter, call, one_line
from srcore.common.errors import UserError
from srcore.common.images import IMAGE_SUFFIXES
from srcore.config.sampling import AUTO
from srcore.deploy.pictures import read_picture, write_picture
from srcore.deploy.upscaler import BACKENDS, TILE, Upscaler
from srcore.deploy.video import VIDEO_SUFFIXES, ClipOptions, is_video, upscale_clip

PER_FILE_ERRORS = (*USER_ERRORS, OSError, MemoryError, torch.cuda.OutOfMemoryError)
TAKEN = (*IMAGE_SUFFIXES, *VIDEO_SUFFIXES)


def collect_inputs(inputs: list[str]) -> tuple[list[Path], int]:
    """(the image files named and those directly inside the folders named, in order; the number
    of other files found in those folders, which are skipped)."""
    files: list[Path] = []
    others = 0
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file())
            taken = [q for q in found if q.suffix.lower() in TAKEN and not _typescript(q)]
            files += taken
            others += len(found) - len(taken)
        else:
            files.append(p)  # a missing or bad file is reported when it is read
    return files, others


def _typescript(path: Path) -> bool:
    """A .ts file that is not MPEG-TS (whose packets start with the byte 0x47): source code."""
    if path.suffix.lower() != ".ts":
        return False
    with open(path, "rb") as f:
        return f.read(1) != b"\x47"


def output_path(src: Path, outdir: Path, taken: set[Path], deep: bool = False) -> Path:
    """outdir / the input's name (.png for 16-bit results), unique among this run's outputs."""
    name = Path(src.name).with_suffix(".png") if deep else Path(src.name)
    dst = outdir / name
    k = 1
    while dst in taken:  # two inputs with one name (from different folders)
        dst, k = outdir / f"{name.stem}_{k}{name.suffix}", k + 1
    taken.add(dst)
    return dst


def at_least(low: int):
    """An argparse type: an integer >= low."""

    def value(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = low - 1
        if number < low:
            raise argparse.ArgumentTypeError(f"{text!r}: allowed an integer >= {low}")
        return number

    return value


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
    ap.add_argument(
        "--seed",
        type=seed_value,
        help="the seed of the sampling noise (default: 0, or the one an --lr-only graph fixes)",
    )
    add_sampling_options(ap, tile=TILE)
    ap.add_argument(
        "--backend",
        choices=BACKENDS,
        help="torch: a model file with PyTorch; onnx: an exported graph with ONNX Runtime (CPU) "
        "(default: onnx for a .onnx file)",
    )
    ap.add_argument(
        "--codec", help="clips: the video encoder (default: libx264, libvpx-vp9 for .webm)"
    )
    ap.add_argument(
        "--crf", type=int, default=18, help="clips: the encoder's quality (0: lossless)"
    )
    ap.add_argument("--batch", type=int, default=4, help="clips: frames upscaled together")
    return ap


def load_upscaler(args: argparse.Namespace) -> Upscaler:
    """The Upscaler the options name, its defaults the options' SamplingSpec."""
    default = "models/model.onnx" if args.backend == "onnx" else "models/model.pt"
    path = args.model or Path(default)
    return Upscaler.load(path, args.device, args.backend, **options_of(args))


def upscale_image(
    upscaler: Upscaler, src: Path, outdir: Path, taken: set[Path], auto: bool
) -> Path:
    """Enlarge one image file into outdir; its path."""
    picture = read_picture(src)
    if auto:  # the level each photo gets, so a user sees what was decided
        tqdm.write(f"{src}: clean-up level {upscaler.cleanup_level(picture):g} (auto)")
    out = upscaler.upscale_picture(picture, progress=True)
    dst = output_path(src, outdir, taken, out.deep)
    jpeg = dst.suffix.lower() in (".jpg", ".jpeg")
    write_picture(dst, out, **({"quality": 95} if jpeg else {}))
    return dst


def upscale(args: argparse.Namespace) -> int:
    """Enlarge every input; 1 if some failed, 2 if none could be done. A user's mistake raises."""
    files, others = collect_inputs(args.inputs)
    if others:
        print(f"skipped {others} file(s) that are neither images nor clips ({', '.join(TAKEN)})")
    if not files:
        looked = ", ".join(TAKEN)
        raise UserError(
            f"no image files or clips in {', '.join(args.inputs)} (looked for {looked})"
        )
    upscaler = load_upscaler(args)
    auto = upscaler.spec(upscaler.defaults).cleanup == AUTO
    written, failed, taken, t0 = [], [], set(), time.time()
    clips = ClipOptions(args.codec, args.crf, args.batch)
    for src in tqdm(files, desc="files", unit="file"):
        try:
            if is_video(src):
                dst = output_path(src, args.outdir, taken)
                done = upscale_clip(upscaler, src, dst, upscaler.defaults, clips, progress=True)
                told = "" if done.level is None or not auto else f", clean-up level {done.level:g}"
                tqdm.write(f"{src}: {done.frames} frames{told}")
            else:
                dst = upscale_image(upscaler, src, args.outdir, taken, auto)
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
        f"{len(written)} file(s) upscaled x{upscaler.scale:g} in {seconds:.1f}s, "
        f"{len(failed)} failed: {names}"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and upscale; returns the exit code (2 for a user's
    mistake)."""
    return call(upscale, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

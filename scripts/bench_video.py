"""Frames per second of a clip through srcore-upscale's video path, and its memory by length.

    python scripts/bench_video.py [--model models/model.pt] [--frames 12] [--size 320x240]
                                  [--out docs/bench/bench_video.json]

A clip of `frames` frames (a pan over a validation photo, made with PyAV) is enlarged x4 (320x240
to 1280x960 by default): PyTorch with srcore-upscale's defaults (tiles of 1024: a 1280x960 frame
is two tiles, frame by frame); whole frames (tile 0) one per network call (batch 1) and four per
call (batch 4); the model's ONNX graph (srcore-export, made here, in tiles); and beside them the
image path's time for one frame (Upscaler.upscale_picture, tiles of 1024), and the PSNR of the
written frames against the image path's results for the same input frames. Memory: the peak
RSS of a fresh process upscaling a 64x48 clip of 100, 400 and 1600 frames, and its growth per
frame (a path that held the frames would grow by an output frame, 144 kB, per frame).
Prints and writes one JSON object.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.bench_api import machine, run_and_write  # noqa: E402
from srcore.deploy.pictures import Picture  # noqa: E402
from srcore.deploy.upscaler import Upscaler  # noqa: E402
from srcore.deploy.video import ClipOptions, upscale_clip  # noqa: E402

LENGTHS = (100, 400, 1600)  # frames of the 64x48 clips whose memory is measured
PEAK = """
import sys
from pathlib import Path
from srcore.deploy.upscaler import Upscaler
from srcore.deploy.video import ClipOptions, upscale_clip
up = Upscaler.load(sys.argv[1], device="cpu")
upscale_clip(up, Path(sys.argv[2]), Path(sys.argv[3]), None, ClipOptions())
status = Path("/proc/self/status").read_text().split()
print(status[status.index("VmHWM:") + 1])  # kB; ru_maxrss would keep the parent's peak
"""


def pan_clip(path: Path, frames: int, width: int, height: int) -> None:
    """A pan over a photo (a validation image when there is one), written lossless-ish."""
    import av

    from srcore.common.images import read_image

    photo_path = Path("data/raw/valid/coffee.png")
    if photo_path.is_file():
        photo = read_image(photo_path)
    else:
        photo = np.random.default_rng(0).integers(0, 256, (400, 600, 3), dtype=np.uint8)
    from PIL import Image

    big = np.asarray(Image.fromarray(photo).resize((width + 2 * frames, height)))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        for i in range(frames):
            crop = np.ascontiguousarray(big[:, 2 * i : 2 * i + width])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")))
        out.mux(stream.encode(None))


def fps(
    up: Upscaler, clip: Path, out: Path, frames: int, batch: int | None, tile: int | None
) -> float:
    t0 = time.perf_counter()
    spec = None if tile is None else up.defaults.updated(tile=tile)
    upscale_clip(up, clip, out, spec, ClipOptions(batch=batch))
    return frames / (time.perf_counter() - t0)


def psnr_vs_image_path(up: Upscaler, clip: Path, out: Path) -> float:
    """Mean PSNR (RGB, 8 bits) of the written clip's frames against the image path's result for
    the same decoded input frames: what the encoder (crf 18, 4:2:0) costs."""
    from srcore.deploy.video import frames_of
    from srcore.eval.metrics import psnr

    pairs = zip(frames_of(clip), frames_of(out))
    return float(
        np.mean([psnr(up.upscale_picture(Picture(a, None, False)).rgb, b) for a, b in pairs])
    )


def peak_rss_mb(model: Path, clip: Path, out: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(model), str(clip), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.split()[-1]) / 1024


def bench(args: argparse.Namespace, tmp: Path) -> dict:
    from srcore.deploy.export import export_model

    width, height = (int(v) for v in args.size.split("x"))
    clip = tmp / "pan.mp4"
    pan_clip(clip, args.frames, width, height)
    up = Upscaler.load(args.model, device="cpu")
    frame = np.zeros((height, width, 3), np.uint8)
    up.upscale_picture(Picture(frame, None, False))  # warm-up
    t0 = time.perf_counter()
    up.upscale_picture(Picture(frame, None, False))
    image_s = time.perf_counter() - t0
    record = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "model": str(args.model),
        "clip": f"{args.frames} frames, {width}x{height} -> x{up.scale:g}",
        "image_path_s_per_frame": round(image_s, 3),
        "torch_default_fps": round(fps(up, clip, tmp / "d.mp4", args.frames, None, None), 3),
        "torch_batch1_fps": round(fps(up, clip, tmp / "b1.mp4", args.frames, 1, 0), 3),
        "torch_batch4_fps": round(fps(up, clip, tmp / "b4.mp4", args.frames, 4, 0), 3),
    }
    record["psnr_vs_image_path_db"] = round(psnr_vs_image_path(up, clip, tmp / "d.mp4"), 2)
    graph = tmp / "model.onnx"
    export_model(args.model, graph)
    onnx = Upscaler.load(graph)
    record["onnx_fps"] = round(fps(onnx, clip, tmp / "onnx.mp4", args.frames, None, None), 3)
    record["batch4_over_batch1"] = round(record["torch_batch4_fps"] / record["torch_batch1_fps"], 3)
    record["onnx_over_torch_default"] = round(record["onnx_fps"] / record["torch_default_fps"], 3)
    peaks = {}
    for n in LENGTHS:
        pan_clip(tmp / f"m{n}.mp4", n, 64, 48)
        peaks[n] = peak_rss_mb(args.model, tmp / f"m{n}.mp4", tmp / f"o{n}.mp4")
        record[f"peak_rss_mb_{n}_frames"] = round(peaks[n], 1)
    slope = (peaks[LENGTHS[-1]] - peaks[LENGTHS[0]]) / (LENGTHS[-1] - LENGTHS[0]) * 1024
    record["peak_rss_kb_per_frame"] = round(slope, 1)  # holding frames: 144 kB each (256x192)
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--out", type=Path, default=Path("docs/bench/bench_video.json"))
    run_and_write(bench, ap.parse_args())


if __name__ == "__main__":
    main()

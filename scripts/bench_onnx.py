"""CPU speed of srcore-upscale's two backends, measured in one run: PyTorch against ONNX Runtime.

    python scripts/bench_onnx.py [--model models/model.pt] [--size 480x320] [--runs 3]
                                 [--threads 2] [--opset 18] [--out docs/bench/bench_onnx.json]

One LR image of --size (random pixels, seed 0) is enlarged by the model's scale (480x320 ->
1920x1280 at x4) exactly as srcore-upscale does it: (a) PyTorch, whole image (--tile 0) and in
tiles of 1024 (the default), (b) the graph srcore-export writes, with ONNX Runtime, whole and in
tiles of 1024. Both get --threads threads (torch.set_num_threads; ONNX Runtime's intra-op
threads). Each is warmed up once, then timed --runs times, the runs of the four interleaved so
that a busy machine slows them alike; the median counts. The model: --model when the file
exists, else the default network (ModelConfig()) with random weights. Writes JSON (seconds, the
ratios torch / onnx, the largest difference between the two backends' images in 8-bit levels,
overall and 4 pixels away from the border, date, machine, versions) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from srcore.common.atomic import write_json
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.deploy.export import OPSET, export_model
from srcore.deploy.onnx_backend import OnnxSampler
from srcore.deploy.pictures import Picture
from srcore.deploy.upscaler import Upscaler
from srcore.diffusion.loader import TrainedModel
from srcore.net.checkpoint import save_checkpoint
from srcore.net.unet import DualDomainUNet

REPO = Path(__file__).resolve().parents[1]
BORDER = 4  # output pixels along the edges left out of the second difference


def model_file(path: Path, tmp: Path) -> tuple[Path, str]:
    """(the model file to time, what it is): `path` if it exists, else a random default one."""
    if path.is_file():
        shown = path.resolve()
        return path, str(shown.relative_to(REPO) if shown.is_relative_to(REPO) else shown)
    torch.manual_seed(0)
    model = DualDomainUNet(ModelConfig())
    torch.nn.init.normal_(model.out.weight, std=0.01)
    random = tmp / "random.pt"
    save_checkpoint(random, model, DiffusionConfig(), scale=4)
    return random, "ModelConfig() with random weights"


def timed(runs: dict, n: int) -> dict:
    """{name: median seconds of n calls}, each warmed up once, the calls interleaved."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn()
    for _ in range(n):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def runs_of(path: Path, graph: Path, scale: float, size: str, threads: int) -> dict:
    """{name: the call that enlarges the LR image}: both backends, whole and in tiles of 1024."""
    pytorch = Upscaler(TrainedModel.load(path), SamplingSpec(steps=1, scale=scale))
    graph_upscaler = Upscaler(OnnxSampler(graph, threads=threads), SamplingSpec())
    width, height = (int(v) for v in size.split("x"))
    rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    picture = Picture(rgb, None, False)

    def torch_run(tile: int):
        return lambda: pytorch.upscale_picture(picture, replace(pytorch.defaults, tile=tile)).rgb

    def onnx_run(tile: int):
        spec = SamplingSpec(tile=tile)
        return lambda: graph_upscaler.upscale_picture(picture, spec).rgb

    return {
        f"{b}_tile{t}": (torch_run if b == "torch" else onnx_run)(t)
        for t in (0, 1024)
        for b in ("torch", "onnx")
    }


def bench(args: argparse.Namespace, tmp: Path) -> dict:
    """Export, time, compare: the JSON record."""
    import onnxruntime

    torch.set_num_threads(args.threads)
    path, what = model_file(args.model, tmp)
    graph = tmp / "model.onnx"
    t0 = time.perf_counter()
    scale = export_model(path, graph, opset=args.opset)
    export_s = time.perf_counter() - t0
    runs = runs_of(path, graph, scale, args.size, args.threads)
    seconds = timed(runs, args.runs)
    images = {name: fn().astype(np.int16) for name, fn in runs.items()}
    out = images["torch_tile0"].shape
    record = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, {platform.system()}",
        "threads": args.threads,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "model": what,
        "lr": args.size,
        "output": f"{out[1]}x{out[0]}",
        "scale": scale,
        "runs": args.runs,
        "opset": args.opset,
        "export_seconds": round(export_s, 1),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    for tile in ("tile0", "tile1024"):
        torch_s, onnx_s = seconds[f"torch_{tile}"], seconds[f"onnx_{tile}"]
        record[f"ratio_torch_over_onnx_{tile}"] = round(torch_s / onnx_s, 2)
        diff = np.abs(images[f"torch_{tile}"] - images[f"onnx_{tile}"])
        record[f"max_abs_diff_levels_{tile}"] = int(diff.max())
        record[f"max_abs_diff_levels_{tile}_inside_{BORDER}px"] = int(
            diff[BORDER:-BORDER, BORDER:-BORDER].max()
        )
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "model.pt")
    ap.add_argument("--size", default="480x320", help="LR width x height")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--opset", type=int, default=OPSET, help="the ONNX opset of the export")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "bench" / "bench_onnx.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args, Path(tmp))
    write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""What one srcore.Upscaler call costs beyond the network, against srcore-upscale's whole run.

    python scripts/bench_api.py [--model models/model.pt] [--size 480x320] [--runs 5]
                                [--out docs/bench/bench_api.json]

A photo-sized random image (the LR, default 480 x 320) is enlarged at the model's scale with the
default options (srcore-upscale's: one step, tiles of 1024). In one process: the import of the API
and the load of the model; the median of `runs` calls of `up.upscale(array)`; inside those calls,
the seconds spent in the network (its condition() and forward(), timed around each call); and the
PNG write of the result. Then srcore-upscale on the same image as a fresh process, as a user runs
it. Without --model (or when the file is missing) a network of the default configuration with
random weights stands in: the cost is the same. Prints and writes one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

T0 = time.perf_counter()
import srcore  # noqa: E402 - the import is what the first timing measures
from srcore.deploy.upscaler import Upscaler  # noqa: E402

IMPORT_S = time.perf_counter() - T0

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from srcore.common.atomic import write_json  # noqa: E402
from srcore.config.schema import DiffusionConfig, ModelConfig  # noqa: E402
from srcore.net.checkpoint import save_checkpoint  # noqa: E402
from srcore.net.unet import DualDomainUNet  # noqa: E402


class NetworkClock:
    """Seconds spent inside DualDomainUNet.condition and forward while it is installed."""

    def __init__(self) -> None:
        self.seconds, self._saved = 0.0, {}

    def __enter__(self) -> NetworkClock:
        for name in ("condition", "forward"):
            original = self._saved[name] = getattr(DualDomainUNet, name)
            setattr(DualDomainUNet, name, self._timed(original))
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._saved.items():
            setattr(DualDomainUNet, name, original)

    def _timed(self, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def model_file(path: Path | None, tmp: Path) -> tuple[Path, str]:
    """The model to time, and what it is."""
    if path is not None and path.is_file():
        return path, str(path)
    torch.manual_seed(0)
    stand_in = tmp / "model.pt"
    save_checkpoint(stand_in, DualDomainUNet(ModelConfig()), DiffusionConfig(), scale=4)
    return stand_in, "the default configuration, random weights"


def bench(args: argparse.Namespace, tmp: Path) -> dict:
    """Time the API and the CLI on one image: the JSON record."""
    path, what = model_file(args.model, tmp)
    width, height = (int(v) for v in args.size.split("x"))
    lr = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    up = Upscaler.load(path, device="cpu")
    load_s = time.perf_counter() - t0
    up.upscale(lr)  # warm-up: the first call builds the DCT matrices
    calls, network = [], []
    for _ in range(args.runs):
        with NetworkClock() as clock:
            t0 = time.perf_counter()
            sr = up.upscale(lr)
            calls.append(time.perf_counter() - t0)
        network.append(clock.seconds)
    t0 = time.perf_counter()
    Image.fromarray(sr).save(tmp / "sr.png")
    png_s = time.perf_counter() - t0
    Image.fromarray(lr).save(tmp / "photo.png")
    cli = [sys.executable, "-m", "srcore.commands.upscale", str(tmp / "photo.png"), "-o", str(tmp)]
    t0 = time.perf_counter()
    subprocess.run([*cli, "--model", str(path), "--device", "cpu"], check=True, capture_output=True)
    cli_s = time.perf_counter() - t0
    call_s, network_s = statistics.median(calls), statistics.median(network)
    return {
        "date": date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "model": what,
        "image": f"{width}x{height} -> {sr.shape[1]}x{sr.shape[0]} (x{up.scale:g})",
        "runs": args.runs,
        "import_s": round(IMPORT_S, 3),
        "load_s": round(load_s, 3),
        "call_s": round(call_s, 3),
        "network_s": round(network_s, 3),
        "call_over_network": round(call_s / network_s, 3),
        "png_write_s": round(png_s, 3),
        "cli_process_s": round(cli_s, 3),
        "cli_over_call": round(cli_s / call_s, 2),
        "srcore": srcore.__version__,
    }


def machine() -> str:
    """The machine every benchmark record names: architecture, threads, processor."""
    return f"{platform.machine()}, {torch.get_num_threads()} threads, {_cpu()}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--size", default="480x320", help="the LR image, WIDTHxHEIGHT")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("docs/bench/bench_api.json"))
    run_and_write(bench, ap.parse_args())


def run_and_write(bench, args: argparse.Namespace) -> None:
    """bench(args, a temporary folder) -> its record, printed and written to args.out (every
    benchmark script's end)."""
    with tempfile.TemporaryDirectory() as tmp:
        record = bench(args, Path(tmp))
    print(json.dumps(record, indent=2))
    write_json(args.out, record)


if __name__ == "__main__":
    main()

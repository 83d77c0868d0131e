"""What the real-world degradation costs in training speed, measured in one run (JSON).

    python scripts/bench_degradation.py [--steps 150] [--rounds 2] [--out FILE.json]

Trains the default configuration (params.yaml) on data/prepared for --steps steps with
train.degradation bicubic and real, alternating for --rounds rounds so that drifts in the
machine's speed fall on both, and reports steps/s of each and their ratio; also the time one
loader worker spends on a batch of each kind.
"""

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srcore.cache import read_index  # noqa: E402
from srcore.data import PatchBatches  # noqa: E402
from srcore.params import load_params  # noqa: E402
from srcore.realworld import RealPatches  # noqa: E402
from srcore.train import train  # noqa: E402

PREPARED = Path("data/prepared")


def batches(p, degradation: str) -> PatchBatches:
    real = RealPatches(p.real, p.prepare.scale) if degradation == "real" else None
    index = read_index(PREPARED / "index.csv", "train")
    return PatchBatches(PREPARED / "cache", index, "train", p.train.batch_size, p.train.seed, real)


def steps_per_second(p, degradation: str, steps: int) -> float:
    cfg = dataclasses.replace(
        p.train, steps=steps, degradation=degradation, device="cpu", eval_every=10**9
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        data, checkpoint = batches(p, degradation), Path(tmp) / "ck.pt"
        train(cfg, p.model, p.diffusion, p.loss, p.prepare.scale, data, None, checkpoint)
        return steps / (time.perf_counter() - t0)


def ms_per_batch(p, degradation: str, n: int = 20) -> float:
    data = batches(p, degradation)
    data.batch(0)  # opens the memory maps
    torch.set_num_threads(1)  # as in a loader worker
    t0 = time.perf_counter()
    for k in range(n):
        data.batch(k)
    torch.set_num_threads(os.cpu_count() or 1)
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    p = load_params()
    speed = {"bicubic": [], "real": []}
    for _ in range(args.rounds):
        for d in speed:
            speed[d].append(steps_per_second(p, d, args.steps))
    result = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}",
        "workers": p.train.workers,
        "steps_per_s": {d: max(v) for d, v in speed.items()},
        "real_over_bicubic": max(speed["real"]) / max(speed["bicubic"]),
        "ms_per_batch_one_worker": {d: ms_per_batch(p, d) for d in speed},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

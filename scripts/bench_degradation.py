"""What making LR on the fly costs in training speed, measured in one run (JSON).

    python scripts/bench_degradation.py [--steps 150] [--rounds 2]
        [--out docs/bench/bench_degradation.json]

Trains the default configuration (params.yaml) on data/prepared for --steps steps with the cached
bicubic y0, with train.degradation real (and with model.cleanup: each patch at a drawn level), and
with model.scales [1, 4] (bicubic y0 made per patch at its drawn scale, told by params.yaml's
model.scale_input), alternating for --rounds rounds so that
drifts in the machine's speed fall on all, and reports steps/s of each and their ratio to bicubic;
also the time one loader worker spends on a batch of each kind.
"""

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from srcore.config.params import load_params
from srcore.data.batches import PatchBatches
from srcore.data.cache import read_index
from srcore.data.realworld import RealPatches
from srcore.train.loop import train

PREPARED = Path("data/prepared")


KINDS = {  # (train.degradation, model.scales, model.cleanup)
    "bicubic": ("bicubic", (), False),
    "real": ("real", (), False),
    "cleanup": ("real", (), True),
    "any_scale": ("bicubic", (1.0, 4.0), False),
}


def batches(p, kind: str) -> PatchBatches:
    degradation, scales, cleanup = KINDS[kind]
    real = RealPatches(p.real, p.prepare.scale) if degradation == "real" else None
    index = read_index(PREPARED / "index.csv", "train")
    args = (PREPARED / "cache", index, "train", p.train.batch_size, p.train.seed, real)
    return PatchBatches(*args, scales=scales, levels=cleanup)


def steps_per_second(p, kind: str, steps: int) -> float:
    degradation, scales, cleanup = KINDS[kind]
    cfg = dataclasses.replace(
        p.train, steps=steps, degradation=degradation, device="cpu", eval_every=10**9
    )
    model = dataclasses.replace(p.model, scales=scales, cleanup=cleanup)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        data, checkpoint = batches(p, kind), Path(tmp) / "ck.pt"
        train(cfg, model, p.diffusion, p.loss, p.prepare.scale, data, None, checkpoint)
        return steps / (time.perf_counter() - t0)


def ms_per_batch(p, kind: str, n: int = 20) -> float:
    data = batches(p, kind)
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
    speed = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for d in speed:
            speed[d].append(steps_per_second(p, d, args.steps))
    result = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}",
        "workers": p.train.workers,
        "steps_per_s": {d: max(v) for d, v in speed.items()},
        **{
            f"{d}_over_bicubic": max(speed[d]) / max(speed["bicubic"])
            for d in speed
            if d != "bicubic"
        },
        "ms_per_batch_one_worker": {d: ms_per_batch(p, d) for d in speed},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

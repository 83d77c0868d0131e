"""The GPU path, checked in one run on a CUDA machine (`make gpu-check`); prints one JSON summary.

    python scripts/gpu_check.py [--datasets ../shared/datasets] [--notebook
    ../shared/reference/seed_ref.py]
                                [--minutes 2] [--out gpu_check.json]

1. the test suite's CUDA-marked tests (bf16 autocast, channels_last, torch.compile, the bf16 wavelet
   branch, tiled upscaling on CUDA, DDP with one GPU under torchrun);
2. scripts/bench.py: the notebook and srcore at width 64, batch 8, 256x256, same device, same
process:
   srcore in the notebook's layout (stem 1) eager, then compiled with CUDA-graph sampling, then the
   default layout (params.yaml's model settings at width 64) with CUDA-graph sampling;
3. that default configuration at width 64 trained for `--minutes` on 256x256 patches of Sun_Hays80,
   then evaluated on whole Set5 and Set14 images (1, 4 and 15 sampling steps) beside bicubic.
Needs no DVC (the stage functions are called directly) and nothing from the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench  # scripts/bench.py: this script's folder is on sys.path when it runs
import torch

from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, LossConfig, ModelConfig, TrainConfig
from srcore.data.batches import PatchBatches
from srcore.diffusion.loader import Sampler
from srcore.diffusion.resshift import ResShift
from srcore.eval.scoring import evaluate_images, folder_items
from srcore.net.cudagraph import SamplingNetwork
from srcore.train.loop import train

REPO = Path(__file__).resolve().parents[1]


def cuda_tests() -> dict:
    t0 = time.time()
    pytest = [sys.executable, "-m", "pytest", "-q", "-rs", "-m", "cuda", "-p", "no:cacheprovider"]
    r = subprocess.run([*pytest, "tests"], cwd=REPO, capture_output=True, text=True)
    print(r.stdout[-4000:], r.stderr[-2000:], flush=True)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", last)}
    return {"returncode": r.returncode, **counts, "seconds": round(time.time() - t0, 1)}


def default_model() -> ModelConfig:
    """params.yaml's default model settings at the notebook's width, at one scale as the
    notebook's network (a multi-scale one would need the scale at every call)."""
    return dataclasses.replace(ModelConfig(), width=64, scales=())


def bench_all(notebook: Path, size: int = 256, batch: int = 8) -> dict:
    """The notebook once and three srcore variants, one process, one device (scripts/bench.py)."""
    dev, sync = torch.device("cuda"), torch.cuda.synchronize
    out = {
        "device": torch.cuda.get_device_name(),
        "size": size,
        "batch": batch,
        "torch": torch.__version__,
    }
    out["notebook"] = bench.bench_notebook(notebook, dev, size, batch, 30, 5, sync)
    notebook_layout = ModelConfig(width=64, stem=1, dct_block=8, scales=())
    variants = {
        "notebook_layout": (notebook_layout, False, False),
        "notebook_layout_compiled_graphs": (notebook_layout, True, True),
        "default_layout_graphs": (default_model(), False, True),
    }
    for name, (cfg, compile_, graphs) in variants.items():
        t0 = time.time()
        try:
            r = bench.bench_srcore(dev, size, batch, 30, 5, sync, compile_, cfg, graphs)
        except Exception as e:  # one variant failing must not lose the others
            out[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
            continue
        r["ratios"] = bench.ratios(out["notebook"], r, batch)
        r["ratios"]["batch_sampling_img_per_s"] = batch / r[f"sample15_s_b{batch}"]
        r["seconds"] = round(time.time() - t0, 1)
        out[name] = r
        print(name, json.dumps(r["ratios"]), flush=True)
    return out


def train_and_evaluate(
    datasets: Path,
    steps: int,
    work: Path,
    device: str = "cuda",
    sets=("Set5", "Set14"),
    sample_steps=(1, 4, 15),
) -> dict:
    """The default model at width 64, batch 8 of 256x256 Sun_Hays80 patches for `steps`, then the
    whole images of `sets` (CUDA-graph sampling), beside bicubic."""
    spec = importlib.util.spec_from_file_location("prepare_stage", REPO / "stages" / "prepare.py")
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    raw = work / "raw"
    raw.mkdir(parents=True)
    (raw / "train").symlink_to((datasets / "Sun_Hays80").resolve())
    (raw / "valid").symlink_to((datasets / "Set5").resolve())
    t0 = time.time()
    index, _ = prepare.prepare(raw, work / "prepared", 4, 256, {"train": 16, "valid": 2}, 0)
    prep_s = time.time() - t0
    batch = 8
    never = 10**9
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch,
        seed=144,
        checkpoint_every=never,
        eval_every=never,
        log_every=100,
        device=device,
        workers=4,
    )
    model_cfg, diffusion_cfg = default_model(), DiffusionConfig()
    data = PatchBatches(
        work / "prepared" / "cache",
        index[index.split == "train"].reset_index(drop=True),
        "train",
        batch,
        144,
    )
    t0 = time.time()
    args = (cfg, model_cfg, diffusion_cfg, LossConfig(), 4, data, None, work / "ck.pt")
    model = train(*args, resume=False).eval()
    out = {
        "steps": steps,
        "batch": batch,
        "patch": 256,
        "train_seconds": round(time.time() - t0, 1),
        "prepare_seconds": round(prep_s, 1),
        "train_images": len(data.images),
    }
    out["model"] = model_cfg.to_dict()
    eager, model = model, SamplingNetwork(model) if device == "cuda" else model
    full = ResShift.from_config(diffusion_cfg)
    for name in sets:
        items = folder_items(datasets / name, 4)
        for k in sample_steps:
            t0 = time.time()
            try:
                sampler = Sampler(model, full.respace(k), SamplingSpec(scale=4))
                s, _, _ = evaluate_images(items, 4, sampler)
            except (
                Exception
            ) as e:  # CUDA graphs failing must not lose the scores: eager instead, error kept
                out["graph_error"], model = f"{type(e).__name__}: {e}"[:500], eager
                sampler = Sampler(model, full.respace(k), SamplingSpec(scale=4))
                s, _, _ = evaluate_images(items, 4, sampler)
            out[f"{name}_{k}steps"] = {
                key: round(s[key], 4)
                for key in ("psnr_y", "ssim_y", "psnr_y_bicubic", "ssim_y_bicubic")
            }
            out[f"{name}_{k}steps"]["seconds"] = round(time.time() - t0, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--notebook", type=Path, default=bench.NOTEBOOK)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu-check needs a CUDA device; torch sees none")
    t0 = time.time()
    summary = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    save = lambda: a.out.write_text(json.dumps(summary, indent=1) + "\n")  # noqa: E731  (after each part: a timeout keeps the rest)
    summary["cuda_tests"] = cuda_tests()
    save()
    b = summary["bench"] = bench_all(a.notebook)
    save()
    speed = b["default_layout_graphs"].get("train_img_per_s") or b["notebook"]["train_img_per_s"]
    steps = max(50, int(a.minutes * 60 * speed / 8))  # the bench's speed, same configuration
    with tempfile.TemporaryDirectory() as work:
        summary["train_eval"] = train_and_evaluate(a.datasets, steps, Path(work))
    summary["total_seconds"] = round(time.time() - t0, 1)
    save()
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

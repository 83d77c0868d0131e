"""evaluate: the model on the whole validation images, the fixed validation patches and the
`evaluate.benchmarks` folders (each under its folder's name in metrics.json).

Writes metrics/metrics.json (DVC metrics), metrics/per_image.csv, the SR images (data/eval/sr/)
and the reverse chain on a crop of the first image (data/eval/chain.npz) for the plots stage.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from srcore.atomic import atomic_write, write_json, write_text
from srcore.cache import load_pair, read_index
from srcore.checkpoint import load_model
from srcore.cli import run
from srcore.config import EvaluateConfig, Params
from srcore.cudagraph import for_sampling
from srcore.data import PatchBatches
from srcore.device import pick_device
from srcore.diffusion import ResShift
from srcore.errors import UserError
from srcore.evaluate import KEYS, evaluate_images, folder_items
from srcore.images import write_image
from srcore.params import load_params
from srcore.sampler import super_resolve
from srcore.tensors import to_tensor, to_uint8
from srcore.validate import validate

PREPARED = Path("data/prepared")
MODEL = Path("models/model.pt")
OUT = Path("data/eval")
METRICS = Path("metrics")
BENCHMARK_KEYS = (
    *("psnr_y", "ssim_y", "psnr_y_bicubic", "ssim_y_bicubic", "psnr_y_gain", "ssim_y_gain"),
    *("n_images", "seconds"),
)
SUMMARY_KEYS = (  # a benchmark folder may not be named like one of these
    *KEYS,
    *(f"{k}_bicubic" for k in KEYS),
    *("psnr_y_gain", "ssim_y_gain", "patch_psnr_y", "patch_psnr_y_bicubic"),
    *("steps", "scale", "n_images", "params_count", "seconds"),
)


def chain_of(model, diffusion, y0: np.ndarray, seed: int, sampler: str, size: int = 128):
    """The chain x_K..x_0 on a central crop of y0 -> uint8 (K+1) x h x w x 3."""
    h, w = y0.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    crop = to_tensor(np.ascontiguousarray(y0[top : top + size, left : left + size]))[None]
    dev = next(model.parameters()).device
    origin = torch.tensor([[top, left]])
    _, chain = super_resolve(model, diffusion, crop.to(dev), seed, origin, True, sampler)
    return np.stack([to_uint8(x[0]) for x in chain])


def benchmark_items(e: EvaluateConfig, scale: int) -> dict[str, list]:
    """{folder name: its (name, HR, y0) items}, read before any sampling so errors come early."""
    benchmarks = {Path(f).name: folder_items(Path(f), scale) for f in e.benchmarks}
    if clash := set(benchmarks) & set(SUMMARY_KEYS):
        raise UserError(
            "params.yaml: evaluate.benchmarks: a folder may not be named like a metric: "
            f"{sorted(clash)}"
        )
    return benchmarks


def evaluate(p: Params, prepared: Path, model_path: Path) -> tuple[dict, list, dict, np.ndarray]:
    """(metrics.json's summary, per-image rows, {image: SR uint8}, the chain of the first image)."""
    e = p.evaluate
    model, diffusion_cfg, checkpoint = load_model(
        model_path, p.model, p.diffusion, pick_device(e.device)
    )
    model = for_sampling(model)  # bf16 and CUDA graphs on a GPU
    diffusion = ResShift.from_config(diffusion_cfg).respace(e.steps)
    scale = checkpoint["scale"]
    benchmarks = benchmark_items(e, scale)
    index = read_index(prepared / "index.csv", "valid")
    names = list(dict.fromkeys(index["image"]))
    items = [(n, *map(np.asarray, load_pair(prepared / "cache", "valid", n))) for n in names]
    sampling = {"sampler": e.sampler, "samples": e.samples, "ensemble": e.ensemble}
    run_args = (model, diffusion, e.seed, e.tile, e.overlap, sampling)
    summary, rows, srs = evaluate_images(items, scale, *run_args)
    patches = PatchBatches(prepared / "cache", index, "valid", 8, 0)
    summary["patch_psnr_y"] = validate(model, diffusion, patches, e.seed, **sampling)
    summary["patch_psnr_y_bicubic"] = validate(None, None, patches)
    for name, bench in benchmarks.items():  # under their folder's name: dvc exp show, metrics diff
        scores, _, _ = evaluate_images(bench, scale, *run_args)
        summary[name] = {k: scores[k] for k in BENCHMARK_KEYS}
    chain = chain_of(model, diffusion, items[0][2], e.seed, e.sampler)
    return summary, rows, srs, chain


def main() -> None:
    summary, rows, srs, chain = evaluate(load_params(), PREPARED, MODEL)
    write_json(METRICS / "metrics.json", summary)
    table = pd.DataFrame(rows).to_csv(index=False, float_format="%.4f")
    write_text(METRICS / "per_image.csv", table)
    for name, sr in srs.items():
        write_image(OUT / "sr" / f"{Path(name).stem}.png", sr)
    with atomic_write(OUT / "chain.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, chain=chain, image=next(iter(srs)))
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})


if __name__ == "__main__":
    run(main)

"""evaluate: the model on the whole validation images, the fixed validation patches and the
`evaluate.benchmarks` folders (each under its folder's name in metrics.json), under every
`evaluate.degradations` (bicubic at the top level, the others under their name), at the model's
scale and at every `evaluate.scales` (under x<scale> inside its degradation's block: whole images
and benchmarks; the fixed patches are the prepared scale's). A model with the clean-up knob
(model.cleanup) is told level 0 on bicubic inputs and `evaluate.cleanup` on the others.

Writes metrics/metrics.json (DVC metrics), metrics/per_image.csv, the SR images (data/eval/sr/),
per degradation d other than bicubic its per-image scores, inputs and SR (data/eval/<d>/), the same
with the HR for each other scale (data/eval/x<scale>/, data/eval/<d>_x<scale>/), and the reverse
chain on a crop of the first image (data/eval/chain.npz) for the plots stage.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from srcore.atomic import atomic_write, write_json, write_text
from srcore.cache import read_index
from srcore.checkpoint import load_model
from srcore.cli import run
from srcore.config import DEGRADATIONS, EvaluateConfig, ModelConfig, Params
from srcore.cudagraph import for_sampling
from srcore.data import PatchBatches, whole_image_y0
from srcore.device import pick_device
from srcore.diffusion import ResShift
from srcore.errors import UserError
from srcore.evaluate import KEYS, evaluate_images, folder_items
from srcore.images import read_image, write_image
from srcore.lpips import LPIPS, load_lpips
from srcore.model import at_level
from srcore.params import load_params
from srcore.realworld import degrade_named
from srcore.sampler import super_resolve
from srcore.tensors import to_tensor, to_uint8
from srcore.validate import validate

PREPARED = Path("data/prepared")
RAW = Path("data/raw/valid")  # the validation images as fetched: cropped again at each scale
MODEL = Path("models/model.pt")
OUT = Path("data/eval")
METRICS = Path("metrics")
BENCHMARK_KEYS = (
    *("psnr_y", "ssim_y", "psnr_y_bicubic", "ssim_y_bicubic", "psnr_y_gain", "ssim_y_gain"),
    *("n_images", "seconds"),
)
LPIPS_KEYS = ("lpips", "lpips_bicubic")  # with evaluate.lpips_dir
SUMMARY_KEYS = (  # a benchmark folder may not be named like one of these
    *KEYS,
    *(f"{k}_bicubic" for k in KEYS),
    *("psnr_y_gain", "ssim_y_gain", "patch_psnr_y", "patch_psnr_y_bicubic"),
    *("steps", "scale", "n_images", "params_count", "seconds", *LPIPS_KEYS),
)
MODEL_KEYS = ("steps", "scale", "params_count")  # said once, at the top level


def chain_of(
    model, diffusion, y0: np.ndarray, seed: int, sampler: str, scale: float, size: int = 128
):
    """The chain x_K..x_0 on a central crop of y0 -> uint8 (K+1) x h x w x 3."""
    h, w = y0.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    crop = to_tensor(np.ascontiguousarray(y0[top : top + size, left : left + size]))[None]
    dev = next(model.parameters()).device
    origin = torch.tensor([[top, left]])
    args = (model, diffusion, crop.to(dev), seed, origin, True, sampler)
    _, chain = super_resolve(*args, scale=scale)
    return np.stack([to_uint8(x[0]) for x in chain])


def check_scales(cfg: ModelConfig, own: int, scales: tuple[float, ...], path: Path) -> None:
    """Every evaluate.scales one the model file takes (params.yaml's own check covers the usual
    case: this one covers a model file trained at another prepare.scale)."""
    if bad := [s for s in scales if not cfg.takes(s, own)]:
        raise UserError(f"params.yaml: evaluate.scales {bad}: {path} takes {cfg.scales_words(own)}")


def scale_key(scale: float) -> str:
    """The metrics.json block of an evaluated scale: x2, x2.5."""
    return f"x{scale:g}"


def benchmark_items(p: Params, scales: list[float]) -> dict[tuple[str, float], dict[str, list]]:
    """{(degradation, scale): {folder name: its (name, HR, y0) items}}, read before any sampling
    so errors come early."""
    names = [Path(f).name for f in p.evaluate.benchmarks]
    blocks = {*SUMMARY_KEYS, *DEGRADATIONS, *map(scale_key, p.evaluate.scales)}
    if clash := set(names) & blocks:
        raise UserError(
            "params.yaml: evaluate.benchmarks: a folder may not be named like a metric, a "
            f"degradation or a scale: {sorted(clash)}"
        )
    seed = p.evaluate.degradation_seed
    return {
        (d, s): {
            Path(f).name: folder_items(Path(f), s, d, p.real, seed) for f in p.evaluate.benchmarks
        }
        for d in p.evaluate.degradations
        for s in scales
    }


@dataclass(frozen=True)
class Sampling:
    """The model and how the stage samples it (evaluate.*)."""

    model: torch.nn.Module
    diffusion: ResShift
    seed: int
    tile: int
    overlap: int
    kwargs: dict  # sampler, samples, ensemble
    lpips: LPIPS | None

    @property
    def run_args(self) -> tuple:
        """srcore.evaluate.evaluate_images's arguments after (items, scale)."""
        m, d = self.model, self.diffusion
        return (m, d, self.seed, self.tile, self.overlap, self.kwargs, self.lpips)


def scores_under(
    p: Params, degradation: str, prepared: Path, scale: int, benchmarks: dict, sampling: Sampling
) -> tuple[dict, list[dict], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One degradation's metrics (validation images, their fixed patches, the benchmarks), the
    per-image rows, {image: SR} and {image: the y0 scored}. Bicubic uses the prepared y0, bit for
    bit; another degradation degrades the whole validation images once (fixed draws per name)."""
    index = read_index(prepared / "index.csv", "valid")
    names, cache = list(dict.fromkeys(index["image"])), prepared / "cache"
    y0_of = None
    if degradation != "bicubic":
        seed = p.evaluate.degradation_seed
        y0_of = whole_image_y0(cache, "valid", names, scale, degradation, p.real, seed)
    patches = PatchBatches(cache, index, "valid", 8, 0, y0_of=y0_of)
    valid = [(n, np.asarray(patches.images[n][0]), np.asarray(patches.images[n][1])) for n in names]
    summary, rows, srs = evaluate_images(valid, scale, *sampling.run_args)
    model, diffusion = sampling.model, sampling.diffusion
    kwargs = {**sampling.kwargs, "scale": scale}
    summary["patch_psnr_y"] = validate(model, diffusion, patches, sampling.seed, **kwargs)
    summary["patch_psnr_y_bicubic"] = validate(None, None, patches)
    summary |= benchmark_scores(benchmarks, scale, sampling)
    return summary, rows, srs, {n: y0 for n, _, y0 in valid}


def benchmark_scores(benchmarks: dict, scale: float, sampling: Sampling) -> dict[str, dict]:
    """{folder name: its scores}: under their folder's name for dvc exp show and metrics diff."""
    out = {}
    for name, bench in benchmarks.items():
        scores, _, _ = evaluate_images(bench, scale, *sampling.run_args)
        out[name] = {k: scores[k] for k in (*BENCHMARK_KEYS, *LPIPS_KEYS) if k in scores}
    return out


def scores_at_scale(
    p: Params, degradation: str, scale: float, prepared: Path, benchmarks: dict, sampling: Sampling
) -> tuple[dict, list[dict], dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One degradation's metrics at another scale than the prepared one: the whole validation
    images (as fetched, cropped by the size rule at `scale`, as a model of that scale alone sees
    them) and the benchmarks; then the per-image rows, {image: SR}, {image: y0} and {image: HR}."""
    names = list(dict.fromkeys(read_index(prepared / "index.csv", "valid")["image"]))
    seed, valid = p.evaluate.degradation_seed, []
    for n in names:
        hr = read_image(RAW / n)
        valid.append((n, *degrade_named(hr, scale, degradation, p.real, n, seed)))
    summary, rows, srs = evaluate_images(valid, scale, *sampling.run_args)
    summary |= benchmark_scores(benchmarks, scale, sampling)
    block = {k: v for k, v in summary.items() if k not in MODEL_KEYS}
    return block, rows, srs, {n: y0 for n, _, y0 in valid}, {n: hr for n, hr, _ in valid}


def evaluate(p: Params, prepared: Path, model_path: Path) -> tuple[dict, dict, np.ndarray]:
    """(metrics.json's summary, {folder under data/eval: (per-image rows, {image: SR}, {image: y0},
    {image: HR} or None for the prepared HR)}, the chain of the first image). Bicubic's metrics
    are at the top level, each other degradation's under its name, each other scale's inside its
    degradation's block under x<scale>."""
    e = p.evaluate
    model, diffusion_cfg, checkpoint = load_model(
        model_path, p.model, p.diffusion, pick_device(e.device)
    )
    check_scales(model.cfg, checkpoint["scale"], e.scales, model_path)
    diffusion = ResShift.from_config(diffusion_cfg).respace(e.steps)
    scale = checkpoint["scale"]
    benchmarks = benchmark_items(p, [scale, *e.scales])
    lpips = load_lpips(e.lpips_dir) if e.lpips_dir else None
    if lpips is None:
        print("LPIPS not scored: evaluate.lpips_dir is empty (docs/experiments.md: LPIPS)")
    if not model.cfg.cleanup and e.cleanup != EvaluateConfig().cleanup:
        print(f"evaluate.cleanup = {e.cleanup:g} not used: the model has no clean-up knob")
    kwargs = {"sampler": e.sampler, "samples": e.samples, "ensemble": e.ensemble}
    summary, results, told = {}, {}, {}  # told: {level: the model told it, bf16 and graphs}
    for d in e.degradations:
        level = 0.0 if d == "bicubic" else e.cleanup
        told.setdefault(level, for_sampling(at_level(model, level)))
        sampling = Sampling(told[level], diffusion, e.seed, e.tile, e.overlap, kwargs, lpips)
        scores, *found = scores_under(p, d, prepared, scale, benchmarks[d, scale], sampling)
        results[d] = (*found, None)
        block = summary if d == "bicubic" else summary.setdefault(d, {})
        block |= (
            scores if d == "bicubic" else {k: v for k, v in scores.items() if k not in MODEL_KEYS}
        )
        for s in e.scales:
            key = scale_key(s)
            block[key], *results[key if d == "bicubic" else f"{d}_{key}"] = scores_at_scale(
                p, d, s, prepared, benchmarks[d, s], sampling
            )
    first_y0 = next(iter(results["bicubic"][2].values()))
    chain = chain_of(told[0.0], diffusion, first_y0, e.seed, e.sampler, scale)
    return summary, results, chain


def main() -> None:
    summary, results, chain = evaluate(load_params(), PREPARED, MODEL)
    write_json(METRICS / "metrics.json", summary)
    for d, (rows, srs, items, hrs) in results.items():
        table = pd.DataFrame(rows).to_csv(index=False, float_format="%.4f")
        if d == "bicubic":
            write_text(METRICS / "per_image.csv", table)
            for name, sr in srs.items():
                write_image(OUT / "sr" / f"{Path(name).stem}.png", sr)
            continue
        write_text(OUT / d / "per_image.csv", table)
        for name, y0 in items.items():
            write_image(OUT / d / f"{Path(name).stem}.y0.png", y0)
            write_image(OUT / d / f"{Path(name).stem}.sr.png", srs[name])
            if hrs is not None:  # cropped by the size rule at that scale
                write_image(OUT / d / f"{Path(name).stem}.hr.png", hrs[name])
    with atomic_write(OUT / "chain.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, chain=chain, image=next(iter(results["bicubic"][1])))
    print(_rounded(summary))


def _rounded(d: dict) -> dict:
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 4) for k, v in d.items()}


if __name__ == "__main__":
    run(main)

"""The evaluate stage's scores: the model on the whole validation images, their fixed patches and
the `evaluate.benchmarks` folders, under every `evaluate.degradations` and at every
`evaluate.scales` beside the model's own.

Bicubic's metrics are at the top level of metrics.json, each other degradation's under its name,
each other scale's inside its degradation's block under x<scale>; a benchmark folder's under its
name. A model with the clean-up knob is told `evaluate.cleanup` on the real and realesrgan inputs
(drawn at level 1) and srcore-upscale's default level (0) on the others; with auto, every image
the level its head picks (the mean pick under `level`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from srcore.common.errors import UserError
from srcore.common.images import read_image
from srcore.common.tensors import to_tensor, to_uint8
from srcore.config.sampling import AUTO, CLEANUP, SamplingSpec
from srcore.config.schema import EVAL_DEGRADATIONS, EvaluateConfig, Params
from srcore.data.batches import PatchBatches, whole_image_y0
from srcore.data.cache import read_index
from srcore.data.named import degrade_named
from srcore.diffusion.loader import Sampler, TrainedModel
from srcore.diffusion.sampler import super_resolve
from srcore.eval.lpips import LPIPS, load_lpips
from srcore.eval.scoring import KEYS, evaluate_images, folder_items
from srcore.eval.validate import validate
from srcore.net.device import pick_device

PIPELINES = ("real", "realesrgan")  # inputs drawn at level 1: told evaluate.cleanup
BENCHMARK_KEYS = (
    *("psnr_y", "ssim_y", "psnr_y_bicubic", "ssim_y_bicubic", "psnr_y_gain", "ssim_y_gain"),
    *("n_images", "seconds"),
)
LPIPS_KEYS = ("lpips", "lpips_bicubic")  # with evaluate.lpips_dir
SUMMARY_KEYS = (  # a benchmark folder may not be named like one of these
    *KEYS,
    *(f"{k}_bicubic" for k in KEYS),
    *("psnr_y_gain", "ssim_y_gain", "patch_psnr_y", "patch_psnr_y_bicubic"),
    *("steps", "scale", "n_images", "params_count", "seconds", "level", *LPIPS_KEYS),
)
MODEL_KEYS = ("steps", "scale", "params_count")  # said once, at the top level


@dataclass(frozen=True)
class Scored:
    """One degradation at one scale: its metrics block and the images behind it."""

    scores: dict
    rows: list[dict]  # per validation image
    srs: dict[str, np.ndarray]  # {image: SR}
    y0s: dict[str, np.ndarray]  # {image: the y0 scored}
    hrs: dict[str, np.ndarray] | None  # {image: HR cropped at this scale}; None: the prepared HR


@dataclass(frozen=True)
class Evaluation:
    """What the stage writes: metrics.json's summary, a Scored per folder under data/eval
    (bicubic, <d>, x<s>, <d>_x<s>), and the reverse chain on a crop of the first image."""

    summary: dict
    results: dict[str, Scored]
    chain: np.ndarray  # uint8 (K+1) x h x w x 3


@dataclass(frozen=True)
class Inputs:
    """What every scoring of the stage reads: the params, the prepared cache and the validation
    images as fetched (cropped again at each scale), LPIPS if scored."""

    p: Params
    prepared: Path
    raw: Path
    lpips: LPIPS | None

    def names(self) -> list[str]:
        return list(dict.fromkeys(read_index(self.prepared / "index.csv", "valid")["image"]))


def evaluate_model(p: Params, prepared: Path, raw: Path, model_path: Path) -> Evaluation:
    """Score the model file at `model_path` as the params' evaluate group says."""
    e = p.evaluate
    trained = TrainedModel.load(model_path, pick_device(e.device), (p.model, p.diffusion))
    check_scales(trained, e.scales)
    scales = [trained.own_scale, *e.scales]
    benchmarks = benchmark_items(p, scales)
    lpips = load_lpips(e.lpips_dir) if e.lpips_dir else None
    if lpips is None:
        print("LPIPS not scored: evaluate.lpips_dir is empty (docs/experiments.md: LPIPS)")
    if not trained.takes_cleanup and e.cleanup != EvaluateConfig().cleanup:
        print(
            f"evaluate.cleanup = {level_words(e.cleanup)} not used: the model has no clean-up knob"
        )
    spec = SamplingSpec(
        steps=e.steps,
        sampler=e.sampler,
        samples=e.samples,
        ensemble=e.ensemble,
        tile=e.tile,
        overlap=e.overlap,
        seed=e.seed,
    )
    inputs, summary, results = Inputs(p, prepared, raw, lpips), {}, {}
    for d in e.degradations:
        level = e.cleanup if e.cleanup == AUTO or d in PIPELINES else CLEANUP
        sampler = trained.sampler(spec, default_cleanup=level)
        results[d] = scores_under(inputs, d, sampler, benchmarks[d, trained.own_scale])
        if d == "bicubic":
            summary |= results[d].scores
        else:
            summary[d] = without_model_keys(results[d].scores)
        block = summary if d == "bicubic" else summary[d]
        if sampler.spec.cleanup == AUTO:  # what the model told itself, on average
            block["level"] = float(np.mean([trained.level_of(y) for y in results[d].y0s.values()]))
        for s in e.scales:
            at_s = trained.sampler(replace(spec, scale=s), default_cleanup=level)
            key = scale_key(s) if d == "bicubic" else f"{d}_{scale_key(s)}"
            results[key] = scores_at_scale(inputs, d, at_s, benchmarks[d, s])
            block[scale_key(s)] = results[key].scores
    first_y0 = next(iter(results["bicubic"].y0s.values()))
    chain = chain_of(trained.sampler(spec, default_cleanup=0.0), first_y0)
    return Evaluation(summary, results, chain)


def level_words(level: float | str) -> str:
    """A level as params.yaml writes it: auto, 0, 0.5, 1."""
    return level if isinstance(level, str) else f"{level:g}"


def check_scales(trained: TrainedModel, scales: tuple[float, ...]) -> None:
    """Every evaluate.scales one the model file takes, before any sampling (params.yaml's own
    check covers the usual case: this one covers a model file trained at another prepare.scale)."""
    cfg, own = trained.net.cfg, trained.own_scale
    if bad := [s for s in scales if not cfg.takes(s, own)]:
        words = cfg.scales_words(own)
        raise UserError(f"params.yaml: evaluate.scales {bad}: {trained.path} takes {words}")


def scale_key(scale: float) -> str:
    """The metrics.json block of an evaluated scale: x2, x2.5."""
    return f"x{scale:g}"


def without_model_keys(scores: dict) -> dict:
    """A block below the top level: the model's own keys are said once, at the top."""
    return {k: v for k, v in scores.items() if k not in MODEL_KEYS}


def benchmark_items(p: Params, scales: list[float]) -> dict[tuple[str, float], dict[str, list]]:
    """{(degradation, scale): {folder name: its (name, HR, y0) items}}, read before any sampling
    so errors come early."""
    names = [Path(f).name for f in p.evaluate.benchmarks]
    blocks = {*SUMMARY_KEYS, *EVAL_DEGRADATIONS, *map(scale_key, p.evaluate.scales)}
    if clash := set(names) & blocks:
        raise UserError(
            "params.yaml: evaluate.benchmarks: a folder may not be named like a metric, a "
            f"degradation or a scale: {sorted(clash)}"
        )
    seed, folders = p.evaluate.degradation_seed, p.evaluate.benchmarks
    return {
        (d, s): {Path(f).name: folder_items(Path(f), s, d, p.real, seed) for f in folders}
        for d in p.evaluate.degradations
        for s in scales
    }


def scores_under(inputs: Inputs, degradation: str, sampler: Sampler, benchmarks: dict) -> Scored:
    """One degradation at the prepared scale: the validation images, their fixed patches and
    the benchmarks. Bicubic uses the prepared y0, bit for bit; another degradation degrades the
    whole validation images once (fixed draws per name)."""
    p, names, cache = inputs.p, inputs.names(), inputs.prepared / "cache"
    index, scale = read_index(inputs.prepared / "index.csv", "valid"), sampler.spec.scale
    y0_of = None
    if degradation != "bicubic":
        seed = p.evaluate.degradation_seed
        y0_of = whole_image_y0(cache, "valid", names, scale, degradation, p.real, seed)
    patches = PatchBatches(cache, index, "valid", 8, 0, y0_of=y0_of)
    valid = [(n, np.asarray(patches.images[n][0]), np.asarray(patches.images[n][1])) for n in names]
    summary, rows, srs = evaluate_images(valid, scale, sampler, inputs.lpips)
    summary["patch_psnr_y"] = validate(patches, sampler)
    summary["patch_psnr_y_bicubic"] = validate(patches)
    summary |= benchmark_scores(benchmarks, sampler, inputs.lpips)
    return Scored(summary, rows, srs, {n: y0 for n, _, y0 in valid}, None)


def scores_at_scale(inputs: Inputs, degradation: str, sampler: Sampler, benchmarks: dict) -> Scored:
    """One degradation at another scale than the prepared one: the whole validation images (as
    fetched, cropped by the size rule at that scale, as a model of that scale alone sees them)
    and the benchmarks."""
    p, scale, valid = inputs.p, sampler.spec.scale, []
    for n in inputs.names():
        hr = read_image(inputs.raw / n)
        valid.append(
            (n, *degrade_named(hr, scale, degradation, p.real, n, p.evaluate.degradation_seed))
        )
    summary, rows, srs = evaluate_images(valid, scale, sampler, inputs.lpips)
    summary |= benchmark_scores(benchmarks, sampler, inputs.lpips)
    y0s, hrs = {n: y0 for n, _, y0 in valid}, {n: hr for n, hr, _ in valid}
    return Scored(without_model_keys(summary), rows, srs, y0s, hrs)


def benchmark_scores(benchmarks: dict, sampler: Sampler, lpips: LPIPS | None) -> dict[str, dict]:
    """{folder name: its scores}: under their folder's name for dvc exp show and metrics diff."""
    out = {}
    for name, bench in benchmarks.items():
        scores, _, _ = evaluate_images(bench, sampler.spec.scale, sampler, lpips)
        out[name] = {k: scores[k] for k in (*BENCHMARK_KEYS, *LPIPS_KEYS) if k in scores}
    return out


def chain_of(sampler: Sampler, y0: np.ndarray, size: int = 128) -> np.ndarray:
    """The chain x_K..x_0 (one draw) on a central crop of y0 -> uint8 (K+1) x h x w x 3."""
    h, w = y0.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    crop = to_tensor(np.ascontiguousarray(y0[top : top + size, left : left + size]))[None]
    model, spec = sampler.model, replace(sampler.spec, samples=1, ensemble=False)
    dev = next(model.parameters()).device
    origin = torch.tensor([[top, left]])
    _, chain = super_resolve(
        model, sampler.diffusion, crop.to(dev), spec.seed, origin, spec, return_chain=True
    )
    return np.stack([to_uint8(x[0]) for x in chain])

"""Every parameter of the pipeline, defined once: its type, default, allowed values and meaning.

One frozen dataclass per params.yaml group. Each field is declared with `param(default, meaning,
rule)`: validation (srcore.params), the generated params.yaml and the resume check all read these
declarations, so a key exists in exactly one place. `weights=False` marks the settings that do not
change the trained weights (logging and checkpoint cadence, the device): only those may differ
when a training checkpoint is continued.

No torch here: the fetch and prepare stages import this module and need nothing heavy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import PurePath
from typing import Any

Rule = tuple[Callable[[Any], bool], str]  # (check, what is allowed, in words)


def param(
    default: Any, meaning: str, rule: Rule | None = None, weights: bool = True, key: str = ""
) -> Any:
    """A dataclass field with its one-line meaning, its rule, whether it changes the trained
    weights,
    and its params.yaml key when that is not `group.name` (kappa lives at the top level)."""
    return field(
        default=default, metadata={"meaning": meaning, "rule": rule, "weights": weights, "key": key}
    )


def at_least(lo: float) -> Rule:
    return (lambda v: v >= lo), f">= {lo}"


def above(lo: float) -> Rule:
    return (lambda v: v > lo), f"> {lo}"


def within(lo: float, hi: float) -> Rule:
    return (lambda v: lo <= v <= hi), f"in {lo}..{hi}"


def one_of(*values: Any) -> Rule:
    return (lambda v: v in values), "one of: " + ", ".join(map(str, values))


DEVICES = ("auto", "cpu", "cuda")  # auto: cuda when available (srcore.device)
SAMPLERS = ("ancestral", "ddim")  # srcore.diffusion's two ways down the chain
SCALES = (2, 3, 4)  # the upscaling factors a model can be trained for
SEED = within(0, 2**31 - 1)  # every RNG seed: numpy's SeedSequence refuses negative ones


def tile_fits(tile: int, overlap: int, multiple: int) -> bool:
    """The tile rule of evaluate.tile and --tile: 0 (whole images), or a multiple of the network's
    size multiple larger than an overlap >= 0."""
    return tile == 0 or (tile > 0 and tile % multiple == 0 and 0 <= overlap < tile)


def tile_rule(multiple: int) -> str:
    return f"0 or a multiple of {multiple} larger than the overlap (>= 0)"


def _odd_or_zero(v: int) -> bool:
    return v == 0 or (v >= 3 and v % 2 == 1)


def _folders(v) -> bool:
    names = [PurePath(s).name if isinstance(s, str) else "" for s in v]
    return all(names) and len(set(names)) == len(names)


def _scales(v) -> bool:
    return len(v) > 0 and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in v)


class Group:
    """Shared helpers of the parameter groups."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} settings {unknown}; allowed: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class DataConfig(Group):
    source: str = param(
        "sample",
        "scikit-image's photos (offline), your folders, or DIV2K",
        one_of("sample", "folder", "div2k"),
    )
    train_dir: str = param(
        "", "data.source=folder: HR training images, e.g. ../shared/datasets/Sun_Hays80"
    )
    valid_dir: str = param(
        "", "data.source=folder: HR validation images, e.g. ../shared/datasets/Set5"
    )
    div2k_dir: str = param(
        "", "data.source=div2k: folder with DIV2K_{train,valid}_HR(.zip); '' downloads"
    )
    div2k_url: str = param(
        "http://data.vision.ee.ethz.ch/cvl/DIV2K",
        "where DIV2K is downloaded from",
        ((lambda v: v.startswith(("http://", "https://"))), "an http(s) URL"),
    )


@dataclass(frozen=True)
class PrepareConfig(Group):
    scale: int = param(4, "upscaling factor (SCALE)", one_of(*SCALES))
    patch: int = param(
        128, "HR patch side for training and validation patches (the notebook: 256)", at_least(16)
    )
    train_patches_per_image: int = param(
        200, "training patches per image (fixed, seeded positions)", at_least(1)
    )
    valid_patches_per_image: int = param(
        4, "validation patches per image (fixed, seeded positions)", at_least(1)
    )
    seed: int = param(0, "seed of the patch positions", SEED)


@dataclass(frozen=True)
class ModelConfig(Group):
    """Everything that decides the network's shape; saved inside every model file."""

    width: int = param(32, "channels at every level (the notebook's NUM_CHANNELS: 64)", at_least(1))
    stem: int = param(
        4,
        "pixel-unshuffle stem: the UNet runs at 1/stem of the output size "
        "(1: the notebook's layout)",
        one_of(1, 2, 4),
    )
    depth: int = param(2, "number of 2x downsamplings", within(0, 6))
    time_dim: int = param(128, "width of the timestep embedding", at_least(2))
    dct: bool = param(True, "DCT branch in every block")
    dct_block: int = param(
        4,
        "DCT block side in UNet pixels; 0: one DCT over the whole map (the notebook's)",
        one_of(0, 2, 4, 8, 16),
    )
    dwt: bool = param(True, "Haar wavelet branch in every block")
    pos_freqs: int = param(
        6, "Fourier positional-encoding frequencies (NUM_POS_FREQ); 0 = off", within(0, 16)
    )
    pos_period: int = param(
        256, "HR pixels spanned by the lowest frequency's half period", at_least(1)
    )
    amp_kernel: int = param(
        7,
        "local-amplitude window (AMP_KERNEL); 0 = off",
        (_odd_or_zero, "0 or an odd integer >= 3"),
    )

    @property
    def cond_channels(self) -> int:
        return 3 + 4 * self.pos_freqs + (1 if self.amp_kernel else 0)

    @property
    def size_multiple(self) -> int:
        """H and W the network runs on internally are multiples of this."""
        inner = self.dct_block if (self.dct and self.dct_block) else (2 if self.dwt else 1)
        return self.stem * (2**self.depth) * math.lcm(inner, 2 if self.dwt else 1)


@dataclass(frozen=True)
class DiffusionConfig(Group):
    steps: int = param(15, "chain length T (T_STEPS)", within(1, 1000))
    kappa: float = param(
        2.0,
        "noise scale of the residual shift (KAPPA): dvc exp run -S kappa=1.5",
        above(0),
        key="kappa",
    )
    eta_1: float = param(0.008, "eta at t = 1 (ETA_1_FIXED)", ((lambda v: 0 < v <= 1), "in (0, 1]"))
    eta_T: float = param(0.999, "eta at t = T, above eta_1", ((lambda v: 0 < v <= 1), "in (0, 1]"))
    power: float = param(
        0.3, "schedule shape p (P_SCHEDULE): larger keeps the early steps quieter", above(0)
    )


@dataclass(frozen=True)
class LossConfig(Group):
    freq_weight: float = param(
        2.0, "DCT-L1 weight inside the multi-scale loss (FREQ_LOSS_WEIGHT)", at_least(0)
    )
    scales: tuple[int, ...] = param(
        (1, 2, 4), "scales of the L1 loss (MULTISCALE_SCALES)", (_scales, "a list of integers >= 1")
    )
    laplacian_weight: float = param(0.0, "Laplacian-pyramid band L1 weight; 0 = off", at_least(0))
    laplacian_levels: int = param(3, "Laplacian pyramid levels", within(1, 8))
    perceptual_weight: float = param(
        0.0, "VGG perceptual weight; 0 = off (the notebook's weight when on: 0.05)", at_least(0)
    )
    vgg_weights: str = param(
        "", "local torchvision vgg19(_bn) weights file, needed when perceptual_weight > 0"
    )


@dataclass(frozen=True)
class TrainConfig(Group):
    steps: int = param(1500, "optimisation steps", at_least(1))
    batch_size: int = param(8, "patches per step (BATCH_SIZE)", at_least(1))
    lr: float = param(1e-3, "Adam learning rate (the notebook's LEARNING_RATE: 1e-4)", above(0))
    lr_min: float = param(1e-7, "cosine schedule floor", at_least(0))
    grad_clip: float = param(1.0, "gradient-norm clip", above(0))
    ema: float = param(
        0.999,
        "EMA decay of the weights (validated, saved), reached after 9 ema / (1 - ema) steps "
        "(0.99: 891, 0.999: 8991); 0 = off",
        ((lambda v: 0 <= v < 1), "in [0, 1)"),
    )
    seed: int = param(144, "seed of the weights, batches and noise (SEED)", SEED)
    checkpoint_every: int = param(
        100, "steps between checkpoints (resume points)", at_least(1), weights=False
    )
    eval_every: int = param(
        200, "steps between validations on the fixed patches", at_least(1), weights=False
    )
    eval_sample_steps: int = param(
        1, "sampling steps of that quick validation (respaced chain)", at_least(1), weights=False
    )
    log_every: int = param(10, "steps between log lines", at_least(1), weights=False)
    max_nonfinite: int = param(
        10,
        "non-finite steps in a row (each skipped) before training stops",
        at_least(1),
        weights=False,
    )
    device: str = param(
        "auto", "auto (cuda when available), cpu or cuda", one_of(*DEVICES), weights=False
    )
    compile: bool = param(False, "torch.compile the network (CUDA; static shapes)", weights=False)
    nproc: int = param(
        1,
        "data-parallel processes (GPUs) under torchrun (batch_size: the global batch)",
        at_least(1),
        weights=False,
    )
    workers: int = param(
        2,
        "data-loader processes preparing the batches; 0: in the training loop",
        at_least(0),
        weights=False,
    )


@dataclass(frozen=True)
class EvaluateConfig(Group):
    steps: int = param(
        1,
        "sampling steps, <= diffusion.steps (a respaced chain; 1 scores best in PSNR)",
        at_least(1),
    )
    sampler: str = param(
        "ancestral",
        "ancestral: fresh noise every step (ResShift); ddim: deterministic after x_T",
        one_of(*SAMPLERS),
    )
    samples: int = param(
        1, "independent draws averaged (an MMSE estimate); cost x samples", at_least(1)
    )
    ensemble: bool = param(
        False, "average over the 8 rotations/flips of the input (x8 self-ensemble); cost x8"
    )
    seed: int = param(0, "sampling seed (image i uses seed + i)", SEED)
    tile: int = param(
        0, "0: whole images; else tiles of this side (a multiple of the network's)", at_least(0)
    )
    overlap: int = param(32, "tile overlap in pixels, blended smoothly", at_least(0))
    device: str = param("auto", "auto (cuda when available), cpu or cuda", one_of(*DEVICES))
    benchmarks: tuple[str, ...] = param(
        (),
        "HR folders also scored, each under its folder name in metrics.json",
        (_folders, "a list of folders, distinct names"),
    )


@dataclass(frozen=True)
class PlotsConfig(Group):
    examples: int = param(2, "validation images drawn as comparison panels", at_least(1))
    zoom: int = param(96, "side of the zoomed crop in pixels", at_least(8))


GROUPS: dict[str, type[Group]] = {
    "data": DataConfig,
    "prepare": PrepareConfig,
    "model": ModelConfig,
    "diffusion": DiffusionConfig,
    "loss": LossConfig,
    "train": TrainConfig,
    "evaluate": EvaluateConfig,
    "plots": PlotsConfig,
}


@dataclass(frozen=True)
class Params:
    """All of params.yaml, typed."""

    data: DataConfig = DataConfig()
    prepare: PrepareConfig = PrepareConfig()
    model: ModelConfig = ModelConfig()
    diffusion: DiffusionConfig = DiffusionConfig()
    loss: LossConfig = LossConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    plots: PlotsConfig = PlotsConfig()


def yaml_key(group: str, f) -> str:
    """The params.yaml key of a field: `group.name`, or its own top-level key (kappa)."""
    return f.metadata.get("key") or f"{group}.{f.name}"


def weight_settings(p: Params) -> dict[str, Any]:
    """{params.yaml key: value} of every setting that changes the trained weights (what a resumed
    checkpoint must match). Fetch settings are covered by the data fingerprint instead."""
    out = {}
    for group in ("prepare", "model", "diffusion", "loss", "train"):
        g = getattr(p, group)
        for f in fields(g):
            if f.metadata.get("weights", True):
                v = getattr(g, f.name)
                out[yaml_key(group, f)] = list(v) if isinstance(v, tuple) else v
    return out

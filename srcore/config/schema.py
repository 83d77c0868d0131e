"""Every parameter of the pipeline, defined once: its type, default, allowed values and meaning.

One frozen dataclass per params.yaml group. Each field is declared with `param(default, meaning,
rule)`: validation (srcore.config.params), the generated params.yaml and the resume check all read
these declarations, so a key exists in exactly one place. `weights=False` marks the settings that do
not change the trained weights (logging and checkpoint cadence, the device): only those may differ
when a training checkpoint is continued.

No torch here: the fetch and prepare stages import this module and need nothing heavy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from srcore.config.rules import (
    CHANCES,
    MAX_SCALE,
    PROBABILITY,
    Group,
    above,
    at_least,
    folders,
    odd_or_zero,
    one_of,
    param,
    scale_list,
    scale_range,
    scales,
    span,
    within,
)

DEVICES = ("auto", "cpu", "cuda")  # auto: cuda when available (srcore.net.device)
SAMPLERS = ("ancestral", "ddim")  # srcore.diffusion.resshift's two ways down the chain
SCALES = (2, 3, 4)  # the upscaling factors a model can be trained for
SEED = within(0, 2**31 - 1)  # every RNG seed: numpy's SeedSequence refuses negative ones
# How LR is made from HR (srcore.data.named): training takes the first three, evaluation all.
DEGRADATIONS = ("bicubic", "real", "realesrgan")
EVERYDAY = ("jpeg", "noise", "blur", "blur_jpeg")  # fixed, milder: what users' photos meet
EVAL_DEGRADATIONS = DEGRADATIONS + EVERYDAY
SCALE_INPUTS = ("embedding", "channel", "film")  # how a multi-scale network is told the scale
EMBEDDED_SCALE_INPUTS = ("embedding", "film")  # the network reads the plane back and embeds it


def tile_fits(tile: int, overlap: int, multiple: int) -> bool:
    """The tile rule of evaluate.tile and --tile: 0 (whole images), or a multiple of the network's
    size multiple larger than an overlap >= 0."""
    return tile == 0 or (tile > 0 and tile % multiple == 0 and 0 <= overlap < tile)


def tile_rule(multiple: int) -> str:
    return f"0 or a multiple of {multiple} larger than the overlap (>= 0)"


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
    patch: int | str = param(
        192,
        "HR patch side for training and validation patches (the notebook: 256; 192: x2, x3 and x4 "
        "on the HR grid)",
        at_least(16),
        auto=(192, 128),
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
        (odd_or_zero, "0 or an odd integer >= 3"),
    )
    scales: tuple[float, ...] | str = param(
        (1.0, 4.0),
        "[low, high]: one model for every scale in this range, drawn per training patch "
        "(prepare.scale inside it); []: prepare.scale alone",
        (scale_range, f"[] or two numbers, 1 <= low < high <= {MAX_SCALE}"),
        auto=((1.0, 4.0), ()),
    )
    scale_input: str = param(
        "film",
        "how a multi-scale network is told the scale: embedding (added to the time embedding), "
        "channel (a constant input plane) or film (a scale and shift of every block's features)",
        one_of(*SCALE_INPUTS),
    )
    cleanup: bool | str = param(
        False,
        "a clean-up knob: each training patch is degraded at a level drawn in [0, 1] that the "
        "network is told (FiLM) and estimates (its level head); set at inference (--cleanup)",
        auto=(False, True),
    )

    @property
    def cond_channels(self) -> int:
        """Channels of condition(): y0, the encodings, the amplitude, the scale and level
        planes."""
        planes = (1 if self.amp_kernel else 0) + bool(self.scales) + self.cleanup
        return 3 + 4 * self.pos_freqs + planes

    @property
    def in_channels(self) -> int:
        """Channels the first convolution sees per output pixel: x_t and the conditioning (the
        scale plane only with scale_input channel; the level plane never)."""
        embedded = bool(self.scales) and self.scale_input in EMBEDDED_SCALE_INPUTS
        return 3 + self.cond_channels - embedded - self.cleanup

    @property
    def film(self) -> bool:
        """Whether every block scales and shifts its features by the embedded scale or level."""
        return (bool(self.scales) and self.scale_input == "film") or self.cleanup

    def takes(self, scale: float, own: float) -> bool:
        """Whether a model of this config trained at `own` (prepare.scale) super-resolves at
        `scale`."""
        return self.scales[0] <= scale <= self.scales[1] if self.scales else scale == own

    def scales_words(self, own: float) -> str:
        """The scales this model takes, in words."""
        if self.scales:
            return f"{self.scales[0]:g} to {self.scales[1]:g}"
        return f"{own:g} only (a model trained with model.scales takes a range)"

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
        (1, 2, 4), "scales of the L1 loss (MULTISCALE_SCALES)", (scales, "a list of integers >= 1")
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
    steps: int | str = param(1500, "optimisation steps", at_least(1), auto=(1500, 3000))
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
    integer_share: float = param(
        0.5,
        "multi-scale training: share of patches at an integer scale >= 2 of model.scales (which "
        "one: train.integer_bias; none in the range: no effect), the others anywhere in the range",
        PROBABILITY,
    )
    integer_bias: float = param(
        2.0,
        "multi-scale training: an integer-scale patch is at k with chance in proportion to "
        "k ** -integer_bias (0: evenly; 2: x2 59 %, x3 26 %, x4 15 % of them)",
        within(0, 16),
    )
    final_share: float | str = param(
        0.0,
        "share of training patches at the chain's last step t = T, the one a 1-step sampler "
        "(evaluate.steps 1) uses; the others at t uniform in 1..T (0: ResShift's uniform t)",
        PROBABILITY,
        auto=(0.0, 1.0),
    )
    degradation: str = param(
        "bicubic",
        "LR of the training patches: bicubic (textbook), real (drawn per patch from the real "
        "group: the photo model), realesrgan (the same at Real-ESRGAN's published ranges)",
        one_of(*DEGRADATIONS),
    )
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
        (folders, "a list of folders, distinct names"),
    )
    cleanup: float | str = param(
        1.0,
        "clean-up level a model.cleanup model is told on the real and realesrgan inputs (drawn at "
        "level 1); the others are told srcore-upscale's default, 0; auto: every input the level "
        "the model's level head picks",
        PROBABILITY,
    )
    degradation_seed: int = param(
        0, "seed of the fixed degraded LR that evaluate.degradations score (per image name)", SEED
    )
    lpips_dir: str = param(
        "", "folder with LPIPS's AlexNet weights (srcore.eval.lpips); '' skips LPIPS with one line"
    )
    scales: tuple[float, ...] | str = param(
        (2.0, 3.0),
        "other scales scored (within model.scales), each under x<scale> in metrics.json",
        (scale_list, f"a list of distinct numbers in 1..{MAX_SCALE}"),
        auto=((2.0, 3.0), ()),
    )
    degradations: tuple[str, ...] = param(
        EVAL_DEGRADATIONS,
        "LR made from the HR images for scoring (srcore.data.named); each but bicubic under its "
        "name in metrics.json",
        (
            lambda v: "bicubic" in v and set(v) <= set(EVAL_DEGRADATIONS) and len(set(v)) == len(v),
            "a list of distinct names among: "
            + ", ".join(EVAL_DEGRADATIONS)
            + ", bicubic included",
        ),
    )


@dataclass(frozen=True)
class RealConfig(Group):
    """The real-world degradation of train.degradation real and evaluate.degradations real: a
    two-stage random pipeline in the manner of Real-ESRGAN. The defaults are the milder,
    antialiased ranges that trained the best photo model (studies/real_antialias, studies/cleanup);
    REALESRGAN below holds Real-ESRGAN's published ones. Sigmas are in pixels of the image they
    blur, noise in 8-bit levels."""

    blur_sigma: tuple[float, ...] = param((0.2, 1.5), "first blur's sigma range", span(0.1, 10))
    sinc_prob: float = param(0.05, "chance that a blur is a sinc (ringing) filter", PROBABILITY)
    resize_chances: tuple[float, ...] = param(
        (0.2, 0.7, 0.1), "first resize: chances of up, down, keep", CHANCES
    )
    resize_range: tuple[float, ...] = param(
        (0.5, 1.5), "first resize factor range", span(0.05, 4, 1)
    )
    gaussian_noise_prob: float = param(
        0.5, "chance of Gaussian noise (else Poisson), each stage", PROBABILITY
    )
    gray_noise_prob: float = param(0.4, "chance that the noise is grey (not colour)", PROBABILITY)
    noise_range: tuple[float, ...] = param((1.0, 20.0), "first Gaussian sigma range", span(0, 255))
    poisson_range: tuple[float, ...] = param((0.05, 2.0), "first Poisson scale range", span(0, 10))
    jpeg_range: tuple[float, ...] = param((50.0, 95.0), "first JPEG quality range", span(1, 100))
    second_blur_prob: float = param(0.3, "chance of the second stage's blur", PROBABILITY)
    blur_sigma2: tuple[float, ...] = param((0.2, 1.0), "second blur's sigma range", span(0.1, 10))
    resize_chances2: tuple[float, ...] = param(
        (0.3, 0.4, 0.3), "second resize (relative to LR): chances of up, down, keep", CHANCES
    )
    resize_range2: tuple[float, ...] = param(
        (0.7, 1.2), "second resize factor range", span(0.05, 4, 1)
    )
    noise_range2: tuple[float, ...] = param(
        (1.0, 15.0), "second Gaussian sigma range", span(0, 255)
    )
    poisson_range2: tuple[float, ...] = param(
        (0.05, 1.5), "second Poisson scale range", span(0, 10)
    )
    jpeg_range2: tuple[float, ...] = param((50.0, 95.0), "second JPEG quality range", span(1, 100))
    final_sinc_prob: float = param(0.1, "chance of the final sinc filter", PROBABILITY)
    antialias: bool = param(
        True,
        "resizes as Pillow's: bilinear and bicubic shrinks antialiased, bicubic with a = -0.5 "
        "(false: Real-ESRGAN's F.interpolate)",
    )


# Real-ESRGAN's published pipeline (options/train_realesrnet_x4plus.yml of xinntao/Real-ESRGAN):
# train.degradation and evaluate.degradations realesrgan.
REALESRGAN = RealConfig(
    blur_sigma=(0.2, 3.0),
    sinc_prob=0.1,
    resize_chances=(0.2, 0.7, 0.1),
    resize_range=(0.15, 1.5),
    gaussian_noise_prob=0.5,
    gray_noise_prob=0.4,
    noise_range=(1.0, 30.0),
    poisson_range=(0.05, 3.0),
    jpeg_range=(30.0, 95.0),
    second_blur_prob=0.8,
    blur_sigma2=(0.2, 1.5),
    resize_chances2=(0.3, 0.4, 0.3),
    resize_range2=(0.3, 1.2),
    noise_range2=(1.0, 25.0),
    poisson_range2=(0.05, 2.5),
    jpeg_range2=(30.0, 95.0),
    final_sinc_prob=0.8,
    antialias=False,
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
    "real": RealConfig,
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
    real: RealConfig = RealConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    plots: PlotsConfig = PlotsConfig()

    def real_of(self, degradation: str) -> RealConfig:
        """The ranges a named real pipeline draws from: Real-ESRGAN's for realesrgan, else the
        real group's."""
        return REALESRGAN if degradation == "realesrgan" else self.real


def yaml_key(group: str, f) -> str:
    """The params.yaml key of a field: `group.name`, or its own top-level key (kappa)."""
    return f.metadata.get("key") or f"{group}.{f.name}"


def weight_settings(p: Params) -> dict[str, Any]:
    """{params.yaml key: value} of every setting that changes the trained weights (what a resumed
    checkpoint must match): the real group only when training on real LR, model.scale_input,
    train.integer_share and train.integer_bias only for a multi-scale model, model.cleanup only
    when on. Fetch settings are covered by the data fingerprint instead."""
    out = {}
    groups = ["prepare", "model", "diffusion", "loss", "train"]
    multi_scale = {"model.scale_input", "train.integer_share", "train.integer_bias"}
    optional = {*multi_scale, "model.cleanup", "train.final_share"}  # added below when they apply
    for group in groups + (["real"] if p.train.degradation == "real" else []):
        g = getattr(p, group)
        for f in fields(g):
            key = f"{group}.{f.name}"
            if f.metadata.get("weights", True) and key not in optional:
                v = getattr(g, f.name)
                out[yaml_key(group, f)] = list(v) if isinstance(v, tuple) else v
    if p.model.scales:
        out["model.scale_input"] = p.model.scale_input
        out["train.integer_share"] = p.train.integer_share
        out["train.integer_bias"] = p.train.integer_bias
    if p.model.cleanup:  # absent when off: the identities of runs from before the knob hold
        out["model.cleanup"] = True
    if p.train.final_share:  # absent at 0, as model.cleanup
        out["train.final_share"] = p.train.final_share
    return out

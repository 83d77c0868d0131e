"""The real-world degradation: HR -> an LR photo as cameras, editors and the web make it.

A two-stage random pipeline in the manner of Real-ESRGAN (Wang et al., 2021), written here:

    stage 1   blur (srcore.data.kernels) -> resize (up / down / keep, area / bilinear / bicubic;
              Pillow's antialiased kernels or, as Real-ESRGAN, not: real.antialias)
              -> Gaussian or Poisson noise (colour or grey) -> JPEG
    stage 2   blur (with probability second_blur_prob) -> resize around the LR size -> noise
    final     in random order: [resize to the LR size + sinc, JPEG] or [JPEG, resize + sinc]

A level in [0, 1] (the clean-up knob, model.cleanup) scales every step's change: the blur is
mixed with the identity, the resize factors are raised to the level and their kernels mixed with
Pillow's antialiased bicubic, the noise's deviation is multiplied and JPEG's change is mixed in.
Level 1 is the pipeline above; level 0 is the clean bicubic LR of srcore.data.degrade, exactly.

Every draw comes from one numpy Generator, so the LR is a pure function of (HR, scale, config,
level, key): training draws one per patch from (seed, step, item), evaluation one per image from
(evaluate.degradation_seed, image name). The result is an 8-bit LR of srcore.data.degrade's size
rule (floor(H / scale) x floor(W / scale)); its bicubic enlargement (srcore.data.degrade.upsample)
is the network's y0, as for clean LR.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from srcore.config.schema import RealConfig
from srcore.data.degrade import bicubic_resize, lr_side, mod_crop, upsample
from srcore.data.kernels import SIZES, random_kernel, sinc

RESIZE_MODES = ("area", "bilinear", "bicubic")
_TAG = 0x5EA1  # keeps these draws apart from every other use of the same seed


def generator(*key: int) -> np.random.Generator:
    """The Generator of one degradation, keyed by integers (seed, step, item) or (seed, name)."""
    return np.random.default_rng([*key, _TAG])


def name_key(name: str) -> int:
    """A stable integer for an image name (crc32), so adding images does not move the others'."""
    return zlib.crc32(name.encode())


def blur(img: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """img: 3 x H x W float in [0, 1]; kernel k x k (k odd), correlated as conv2d does.
    Reflected borders (replicated when the image is no larger than half the kernel). Through the
    FFT, which for 21 x 21 kernels costs less than a direct depthwise convolution on a CPU."""
    k = kernel.shape[-1]
    pad = k // 2
    mode = "reflect" if min(img.shape[-2:]) > pad else "replicate"
    x = F.pad(img[None], (pad, pad, pad, pad), mode=mode)[0]
    size = x.shape[-2:]
    flipped = torch.as_tensor(kernel[::-1, ::-1].copy(), dtype=img.dtype)
    out = torch.fft.irfft2(torch.fft.rfft2(x) * torch.fft.rfft2(flipped, s=size), s=size)
    return out[:, k - 1 :, k - 1 :]


def resize(
    img: torch.Tensor, size: tuple[int, int], mode: str, antialias: bool = False
) -> torch.Tensor:
    """img: 3 x H x W float in [0, 1] -> 3 x size (height, width), not clipped. antialias: as
    Pillow resizes, a shrink by bilinear or bicubic widens its kernel by the factor and bicubic's
    kernel is a = -0.5 (torch's antialiased kernels, which enlargements use too); without it
    (Real-ESRGAN's F.interpolate, a = -0.75) frequencies above the new Nyquist fold back. Area
    averaging is a box of the factor's width either way."""
    extra = {} if mode == "area" else {"align_corners": False, "antialias": antialias}
    return F.interpolate(img[None], size=size, mode=mode, **extra)[0]


def gaussian_noise(
    img: torch.Tensor, sigma: float, gray: bool, rng: np.random.Generator
) -> torch.Tensor:
    """Additive noise of standard deviation sigma (8-bit levels), clipped to [0, 1]; grey: one
    plane for all three."""
    shape = (1 if gray else 3, *img.shape[1:])
    noise = rng.standard_normal(shape, dtype=np.float32) * (sigma / 255)
    return (img + torch.from_numpy(noise)).clamp(0, 1)


def poisson_noise(
    img: torch.Tensor, scale: float, gray: bool, rng: np.random.Generator
) -> torch.Tensor:
    """Shot noise of an 8-bit sensor (counts = 255 x intensity; Real-ESRGAN counts the image's
    distinct levels instead), its deviation times `scale`, clipped to [0, 1]; grey: drawn on the
    luma and shared by the three planes."""
    base = img.clamp(0, 1)
    if gray:
        base = (0.299 * base[0] + 0.587 * base[1] + 0.114 * base[2])[None]
    counts = base.numpy().astype(np.float64) * 255
    noise = (rng.poisson(counts) - counts) / 255 * scale
    return (img + torch.from_numpy(noise.astype(np.float32))).clamp(0, 1)


def jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """Pillow's JPEG at `quality` (4:2:0, as most cameras and sites) of the 8-bit image."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="JPEG", quality=int(quality))
    return _to_float(np.asarray(Image.open(buf).convert("RGB")))


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """3 x H x W float in [0, 1] -> H x W x 3 uint8 (clipped, rounded)."""
    return (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _to_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float32)).permute(2, 0, 1) / 255


@dataclass(frozen=True)
class Stage:
    """The settings of one blur-resize-noise pass (the first also JPEG-compresses)."""

    blur_prob: float
    blur_sigma: tuple[float, ...]
    resize_chances: tuple[float, ...]
    resize_range: tuple[float, ...]
    noise_range: tuple[float, ...]
    poisson_range: tuple[float, ...]
    jpeg_range: tuple[float, ...] | None

    @classmethod
    def first(cls, c: RealConfig) -> Stage:
        ranges = (c.blur_sigma, c.resize_chances, c.resize_range, c.noise_range, c.poisson_range)
        return cls(1.0, *ranges, c.jpeg_range)

    @classmethod
    def second(cls, c: RealConfig) -> Stage:
        ranges = (c.blur_sigma2, c.resize_chances2, c.resize_range2, c.noise_range2)
        return cls(c.second_blur_prob, *ranges, c.poisson_range2, None)


def resize_factor(
    rng: np.random.Generator, chances: tuple[float, ...], span: tuple[float, ...]
) -> float:
    """Up (1..span high), down (span low..1) or keep, with `chances` (up, down, keep)."""
    way = rng.choice(3, p=np.asarray(chances) / np.sum(chances))
    return rng.uniform(1, span[1]) if way == 0 else rng.uniform(span[0], 1) if way == 1 else 1.0


def toward(clean: torch.Tensor, degraded: torch.Tensor, level: float) -> torch.Tensor:
    """A step's change scaled by the level: `degraded` at 1 (itself), `clean` at 0."""
    return degraded if level == 1 else clean + level * (degraded - clean)


def mixed_kernel(kernel: np.ndarray, level: float) -> np.ndarray:
    """The kernel mixed with the identity (a centred impulse): still sums to 1."""
    if level == 1:
        return kernel
    impulse = np.zeros_like(kernel)
    impulse[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1
    return level * kernel + (1 - level) * impulse


def leveled_side(side: int, factor: float, level: float) -> int:
    """A resized side: floor(side x factor) at level 1 (Real-ESRGAN's F.interpolate), rounded at
    level 0, the rounding offset moving with the level between. A plain floor would lose a pixel to
    any shrink at a level just above 0 (side x 0.9999... floors to side - 1): an extra shrink and
    enlargement, a jump of about a grey level where the knob should be continuous."""
    return max(1, math.floor(side * factor + 0.5 * (1 - level)))


def leveled_resize(
    img: torch.Tensor, size: tuple[int, int], mode: str, cfg: RealConfig, level: float
) -> torch.Tensor:
    """resize() in the drawn mode, mixed by the level with Pillow's antialiased bicubic."""
    drawn = resize(img, size, mode, cfg.antialias)
    return drawn if level == 1 else toward(resize(img, size, "bicubic", True), drawn, level)


def _pass(
    img: torch.Tensor,
    cfg: RealConfig,
    stage: Stage,
    size: tuple[int, int],
    rng: np.random.Generator,
    level: float = 1.0,
) -> torch.Tensor:
    """One blur-resize-noise(-JPEG) pass; `size` (H, W) is what the resize factor scales."""
    if rng.random() < stage.blur_prob:
        kernel = random_kernel(rng, stage.blur_sigma, cfg.sinc_prob)
        img = blur(img, mixed_kernel(kernel, level))
    f = resize_factor(rng, stage.resize_chances, stage.resize_range) ** level
    new_size = (leveled_side(size[0], f, level), leveled_side(size[1], f, level))
    img = leveled_resize(img, new_size, _mode(rng), cfg, level)
    gray = rng.random() < cfg.gray_noise_prob
    if rng.random() < cfg.gaussian_noise_prob:
        img = gaussian_noise(img, rng.uniform(*stage.noise_range) * level, gray, rng)
    else:
        img = poisson_noise(img, rng.uniform(*stage.poisson_range) * level, gray, rng)
    if stage.jpeg_range is None:
        return img
    return toward(img, jpeg(img, round(rng.uniform(*stage.jpeg_range))), level)


def _mode(rng: np.random.Generator) -> str:
    return RESIZE_MODES[rng.integers(len(RESIZE_MODES))]


def real_lr(
    hr: np.ndarray,
    lr_size: tuple[int, int],
    cfg: RealConfig,
    rng: np.random.Generator,
    level: float = 1.0,
) -> np.ndarray:
    """uint8 HR (H x W x 3) -> uint8 LR of lr_size (height, width), degraded at `level` in [0, 1]
    (0: Pillow's bicubic shrink, the clean LR)."""
    if level == 0:
        return bicubic_resize(np.ascontiguousarray(hr), lr_size[::-1])
    h, w = hr.shape[:2]
    img = _pass(_to_float(hr), cfg, Stage.first(cfg), (h, w), rng, level)
    img = _pass(img, cfg, Stage.second(cfg), lr_size, rng, level)
    final = None
    if rng.random() < cfg.final_sinc_prob:  # Real-ESRGAN's final sinc: cutoff pi/3..pi
        final = sinc(int(rng.choice(SIZES)), rng.uniform(np.pi / 3, np.pi))
        final = mixed_kernel(final, level)
    quality, mode = round(rng.uniform(*cfg.jpeg_range2)), _mode(rng)

    def resize_and_sinc(x: torch.Tensor) -> torch.Tensor:
        x = leveled_resize(x, lr_size, mode, cfg, level)
        return x if final is None else blur(x, final)

    def compress(x: torch.Tensor) -> torch.Tensor:
        return toward(x, jpeg(x, quality), level)

    if rng.random() < 0.5:
        return to_uint8(compress(resize_and_sinc(img)))
    return to_uint8(resize_and_sinc(compress(img)))


def real_degrade(
    hr: np.ndarray, scale: float, cfg: RealConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """srcore.data.degrade.degrade's contract (its size rule) with a real LR: (cropped HR, LR, y0),
    all uint8."""
    lr_size = (lr_side(hr.shape[0], scale), lr_side(hr.shape[1], scale))
    if min(lr_size) < 1:
        raise ValueError(f"image of {hr.shape[1]}x{hr.shape[0]} is smaller than the scale {scale}")
    hr = mod_crop(hr, scale)
    lr = real_lr(hr, lr_size, cfg, rng)
    return hr, lr, upsample(lr, scale)


@dataclass(frozen=True)
class RealPatches:
    """What the data loader needs to degrade a patch: y0 of HR patch under a key."""

    cfg: RealConfig
    scale: float

    def y0(
        self,
        hr: np.ndarray,
        key: tuple[int, ...],
        scale: float | None = None,
        level: float = 1.0,
    ) -> np.ndarray:
        """uint8 P x P x 3 HR patch -> its real-degraded y0, P x P x 3: an LR of floor(P / s)
        pixels (s: `scale`, default self.scale) degraded at `level`, enlarged back to P, as
        srcore.data.degrade.patch_y0 (which level 0 equals)."""
        s = self.scale if scale is None else scale
        (height, width), rng = hr.shape[:2], generator(*key)
        lr = real_lr(hr, (lr_side(height, s), lr_side(width, s)), self.cfg, rng, level)
        return bicubic_resize(lr, (width, height))

"""super_resolve(): the network + the diffusion chain on a batch of bicubic bases y0.

Pads y0 once to the network's size multiple, computes the conditioning (positional encoding,
amplitude) once, runs the (optionally respaced) reverse chain with position-keyed noise, crops.
"""

from __future__ import annotations

import contextlib

import torch

from .diffusion import ResShift
from .encodings import pad_reflect
from .errors import DeviceError
from .model import DualDomainUNet
from .noise import keyed_normal


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available else cpu; 'cpu' / 'cuda' as asked.

    Raises DeviceError (a UserError) for an unknown name or for cuda on a machine without CUDA.
    """
    allowed = "(allowed: auto, cpu, cuda)"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise DeviceError(f"device {name!r} is not known {allowed}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device 'cuda' asked for, but torch sees no CUDA device {allowed}")
    return torch.device(name)


def autocast(device: torch.device):
    """bf16 autocast on CUDA (the network only; the chain arithmetic stays fp32), nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def super_resolve(
    model: DualDomainUNet,
    diffusion: ResShift,
    y0: torch.Tensor,
    seed: int | torch.Tensor = 0,
    origin: torch.Tensor | None = None,
    return_chain: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """y0: B x 3 x H x W in [-1, 1] on the model's device. Returns (SR in [-1, 1], chain states).

    seed: one int for every item, or B ints. origin: B x 2 (top, left) of each item inside its
    whole image, so that tiles get the encodings and noise of the whole image. Pass
    `diffusion.respace(n)` for fewer steps.
    """
    model.eval()
    B, _, H, W = y0.shape
    dev = y0.device
    seeds = torch.as_tensor(seed, dtype=torch.int64).expand(B) if not torch.is_tensor(seed) or seed.dim() == 0 else seed
    origin = torch.zeros(B, 2, dtype=torch.int64) if origin is None else origin
    m = model.cfg.size_multiple
    y0p = pad_reflect(y0.float(), 0, (-W) % m, 0, (-H) % m)
    cond = model.condition(y0p, origin.to(dev))

    def predict_x0(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with autocast(dev):
            residual = model(x_t, t, cond)
        return (y0p + residual.float()).clamp(-1.0, 1.0)

    def noise_fn(k: int) -> torch.Tensor:
        return keyed_normal(seeds, k, origin, tuple(y0p.shape), dev)

    x, chain = diffusion.p_sample_loop(predict_x0, y0p, noise_fn, return_chain)
    crop = lambda z: z[..., :H, :W].clamp(-1.0, 1.0)  # noqa: E731
    return crop(x), [crop(z) for z in chain]

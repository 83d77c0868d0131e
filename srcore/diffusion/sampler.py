"""super_resolve(): the network + the diffusion chain on a batch of bicubic bases y0.

Pads y0 once to the network's size multiple (the only place that pads), computes the conditioning
(positional encoding, amplitude) once, runs the (optionally respaced) reverse chain with
position-keyed noise, crops. The network is called as given: srcore.net.cudagraph.for_sampling gives
the bf16, CUDA-graphed form on a GPU.

Two estimates can be averaged on top (srcore.diffusion.tiles does it for whole images): `samples`
chains with independent noise (a Monte-Carlo estimate of the posterior mean, the MMSE estimate) and
the x8 self-ensemble, the 8 rotations/flips (`VIEWS`) of the input, each undone on its output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from srcore.config.sampling import SamplingSpec
from srcore.diffusion.noise import keyed_normal
from srcore.diffusion.resshift import ResShift
from srcore.net.encodings import pad_reflect
from srcore.net.unet import DualDomainUNet

# the x8 ensemble's views: (quarter turns, mirrored)
VIEWS = tuple((k, flip) for flip in (False, True) for k in range(4))
PLAIN = SamplingSpec()  # one ancestral draw, no ensemble, the model's own scale
SAMPLE_STRIDE = 1024  # noise of sample s at chain state k is keyed k + 1024 s (k <= 1000)


def view(x: torch.Tensor | np.ndarray, k: int, flip: bool) -> torch.Tensor | np.ndarray:
    """Rotate by k quarter turns (counter-clockwise) then mirror left-right; x: a ... x H x W
    tensor or an H x W x C array (the spatial axes are found by type)."""
    if torch.is_tensor(x):
        x = torch.rot90(x, k, (-2, -1))
        return x.flip(-1) if flip else x
    x = np.rot90(x, k, (0, 1))
    return x[:, ::-1] if flip else x


def unview(x: torch.Tensor | np.ndarray, k: int, flip: bool) -> torch.Tensor | np.ndarray:
    """The inverse of view(x, k, flip)."""
    if torch.is_tensor(x):
        x = x.flip(-1) if flip else x
        return torch.rot90(x, -k, (-2, -1))
    x = x[:, ::-1] if flip else x
    return np.rot90(x, -k, (0, 1))


@torch.no_grad()
def super_resolve(
    model: DualDomainUNet,
    diffusion: ResShift,
    y0: torch.Tensor,
    seed: int | torch.Tensor = 0,
    origin: torch.Tensor | None = None,
    spec: SamplingSpec = PLAIN,
    *,
    return_chain: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """y0: B x 3 x H x W in [-1, 1] on the model's device. Returns (SR in [-1, 1], chain states).

    seed: one int for every item, or B ints (spec.seed is not read). origin: B x 2 (top, left) of
    each item inside its whole image, so that tiles get the encodings and noise of the whole
    image. Pass `diffusion.respace(n)` for fewer steps. From spec: sampler, "ancestral" or "ddim"
    (srcore.diffusion.resshift); samples, independent draws averaged (padding and conditioning
    computed once; the chain is draw 0's); scale, the factor y0 was enlarged by (what a
    multi-scale model is told; a single-scale model ignores it); ensemble, the average over the 8
    VIEWS of those draws (mean_over_views; no chain is kept).
    """
    if spec.ensemble:
        if return_chain:
            raise ValueError("the chain is one view's: ask for it without the ensemble")
        one = replace(spec, ensemble=False)
        draw = lambda y, o: super_resolve(model, diffusion, y, seed, o, one)[0]  # noqa: E731
        return mean_over_views(draw, y0, origin), []
    model.eval()
    batch, _, height, width = y0.shape
    dev = y0.device
    if torch.is_tensor(seed) and seed.dim() == 1:
        seeds = seed
    else:
        seeds = torch.as_tensor(seed, dtype=torch.int64).expand(batch)
    origin = torch.zeros(batch, 2, dtype=torch.int64) if origin is None else origin
    m = model.cfg.size_multiple
    y0p = pad_reflect(y0.float(), 0, (-width) % m, 0, (-height) % m)  # the one padding
    cond = model.condition(y0p, origin.to(dev), spec.scale)

    def predict_x0(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (y0p + model(x_t, t, cond).float()).clamp(-1.0, 1.0)

    def crop(z: torch.Tensor) -> torch.Tensor:
        return z[..., :height, :width].clamp(-1.0, 1.0)

    total, chain = None, []
    for s in range(spec.samples):

        def noise_fn(k: int, s: int = s) -> torch.Tensor:
            return keyed_normal(seeds, k + SAMPLE_STRIDE * s, origin, tuple(y0p.shape), dev)

        x, states = diffusion.p_sample_loop(
            predict_x0, y0p, noise_fn, return_chain and s == 0, spec.sampler
        )
        if s == 0:
            total, chain = crop(x), states
        else:
            total = total + crop(x)
    mean = total / spec.samples if spec.samples > 1 else total
    return mean, [crop(z) for z in chain]


def mean_over_views(
    draw: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    y0: torch.Tensor,
    origin: torch.Tensor | None,
) -> torch.Tensor:
    """The x8 self-ensemble: draw(view of y0, its origin) undone and averaged over the 8 VIEWS,
    float32. A view other than the identity is an image of its own (origin None, i.e. 0), as in
    srcore.diffusion.tiles."""
    total = torch.zeros_like(y0, dtype=torch.float32)
    for k, flip in VIEWS:
        o = origin if (k, flip) == VIEWS[0] else None
        total += unview(draw(view(y0, k, flip), o), k, flip).float()
    return total / len(VIEWS)

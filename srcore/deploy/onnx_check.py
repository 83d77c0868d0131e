"""srcore-export's lr-only module, and the check it runs before writing a graph: ONNX Runtime
against the PyTorch module.

Either kind of graph (srcore.deploy.export): the five-input one (OneStepSampler), fed whole images
and pieces at an origin, and the lr-only one (LrOnlySampler), fed the LR image alone. Both modules
have `input_names` (the graph's inputs, in order), `out_side` (srcore.data.degrade's size rule)
and forward on those inputs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from srcore.common.cli import one_line
from srcore.common.errors import UserError
from srcore.deploy.onnx_backend import LR_ONLY

# On the check's random inputs a trained FiLM model (per-channel gains up to 20) turns the two
# runtimes' float rounding into up to 2 levels (on photos: 1 away from a 4-pixel border, 2 at it);
# a graph of another network is tens of levels off.
TOLERANCE = 2
CASES = ((1, 9, 40, 0, 0, 0), (2, 21, 14, 64, 128, 5))  # (n, h, w, top, left, trim): other sizes
# than the export example's; an lr-only graph takes the LR images of each, whole


class LrOnlySampler(nn.Module):
    """forward(lr) -> sr: `sampler` (srcore.deploy.export.OneStepSampler) on whole images at a
    fixed seed, its other inputs made inside the graph (the seed, origin 0, every row and column):
    the module of srcore-export --lr-only."""

    input_names = LR_ONLY

    def __init__(self, sampler: nn.Module, seed: int = 0):
        super().__init__()
        self.sampler, self.seed = sampler, seed
        self.eval()

    def out_side(self, n: int) -> int:
        """The sampler's output side of an LR side of n."""
        return self.sampler.out_side(n)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        n, (h, w) = lr.shape[0], lr.shape[-2:]
        seed = torch.full((n,), self.seed, dtype=torch.int64, device=lr.device)
        origin = torch.zeros(n, 2, dtype=torch.int64, device=lr.device)
        rows = torch.arange(self.out_side(h), device=lr.device)
        cols = torch.arange(self.out_side(w), device=lr.device)
        return self.sampler(lr, seed, origin, rows, cols)


def example_inputs(
    module: nn.Module, n: int, h: int, w: int, top: int = 0, left: int = 0, trim: int = 0
) -> tuple[torch.Tensor, ...]:
    """The module's inputs (`module.input_names`) of n random LR images of h x w: of lr, seed,
    origin, rows and cols, seeds 0..n-1, at (top, left), the enlarged base without its first `trim`
    rows and columns."""
    named = {
        "lr": torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(h * w)),
        "seed": torch.arange(n, dtype=torch.int64),
        "origin": torch.tensor([[top, left]] * n, dtype=torch.int64),
        "rows": torch.arange(trim, module.out_side(h)),
        "cols": torch.arange(trim, module.out_side(w)),
    }
    return tuple(named[k] for k in module.input_names)


def check_graph(module: nn.Module, proto) -> None:
    """Run the graph with ONNX Runtime on sizes other than the export example's, fed the module's
    inputs; a UserError if its inputs are not the module's, or it fails, or it differs from the
    module by more than TOLERANCE 8-bit levels."""
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = tuple(i.name for i in session.get_inputs())
    if names != tuple(module.input_names):
        raise UserError(f"the graph's inputs are {', '.join(names)}, not the module's")
    for n, h, w, top, left, trim in CASES:
        inputs = example_inputs(module, n, h, w, top, left, trim)
        with torch.no_grad():
            want = module(*inputs).numpy()
        try:
            got = session.run(None, dict(zip(names, (t.numpy() for t in inputs))))[0]
        except Exception as e:  # any failure at run time makes the graph unusable
            raise UserError(f"the graph fails on a {h} x {w} input: {one_line(e)}") from e
        if got.shape != want.shape:
            raise UserError(f"the graph gives {got.shape} for {want.shape} on a {h} x {w} input")
        worst = np.abs(np.round(got * 255.0) - np.round(want * 255.0)).max(initial=0)
        if worst > TOLERANCE:
            raise UserError(
                f"the graph differs from PyTorch on a {h} x {w} input ({worst:g} levels)"
            )

"""srcore-export: the one-step sampler as one ONNX graph, LR image in, enlarged image out.

    srcore-export MODEL OUT [--scale S] [--opset 18]
    (or python -m srcore.export ...)

The graph's inputs: `lr` N x 3 x h x w float in [0, 1] (8-bit levels / 255), `seed` N int64, and
`origin` N x 2 int64, the (top, left) output pixel of each piece inside its whole image (0 for a
whole image; a caller that tiles passes each tile's). Its output: `sr` N x 3 x H x W in [0, 1],
H x W = round(h s) x round(w s) (srcore.degrade's size rule). N, h and w are free.

Inside, what srcore-upscale does with one sampling step: the bicubic base y0 (Pillow's 8-bit
BICUBIC written out: its fixed-point weights computed from the runtime size, horizontal pass then
vertical, each rounded to 8-bit levels, so y0 equals srcore.degrade.upsample of the 8-bit LR), the
padding to the network's size multiple, model.condition, the prior noise (srcore.noise.keyed_normal
of seed and origin: the very noise of the PyTorch path), one network call, the crop. A
multi-scale model is exported at one scale (--scale, default the model's own). The scale, the
size multiple and the source model are stored in the file's metadata, which srcore-upscale
--backend onnx reads (srcore.onnx_backend).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .atomic import atomic_write
from .checkpoint import load_model
from .cli import HelpFormatter, call, one_line
from .degrade import hr_side
from .diffusion import ResShift
from .errors import UserError
from .model import DualDomainUNet
from .noise import keyed_normal
from .sampling import pick_scale, scale_value

FORMAT = "srcore-onnx/1"
OPSET = 18  # ONNX Runtime's AveragePool is ~50x slower from opset 19 on (the local amplitude's)
INPUTS, OUTPUT = ("lr", "seed", "origin"), "sr"
INSTALL = "pip install 'srcore[onnx]'"
TAPS = 5  # Pillow's bicubic support is 2 input pixels each side when enlarging: at most 5 taps
PRECISION_BITS = 22  # Pillow's fixed-point weights for 8-bit images (32 - 8 - 2)


def _cubic(x: torch.Tensor) -> torch.Tensor:
    """Pillow's bicubic kernel, a = -0.5, evaluated in its own order of operations."""
    a = -0.5
    x = x.abs()
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return torch.where(x < 1.0, near, torch.where(x < 2.0, far, torch.zeros_like(x)))


def bicubic_taps(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pillow's weights for enlarging a side of n_in pixels to n_out >= n_in: (index n_out x TAPS
    int64 into the input, weight n_out x TAPS int32 in units of 2^-22, 0 beyond the border)."""
    one = torch.ones((), dtype=torch.float64)
    center = (torch.arange(n_out, dtype=torch.float64) + 0.5) * (one * n_in / n_out)
    first = torch.floor(center - 1.5).clamp(min=0)
    end = torch.minimum(torch.floor(center + 2.5), one * n_in)
    x = first[:, None] + torch.arange(TAPS, dtype=torch.float64)[None, :]
    w = torch.where(x < end[:, None], _cubic(x - center[:, None] + 0.5), torch.zeros_like(x))
    total = w[:, 0] + w[:, 1] + w[:, 2] + w[:, 3] + w[:, 4]  # Pillow's order of summation
    v = w / total[:, None] * float(1 << PRECISION_BITS)
    weight = torch.trunc(v + torch.where(v < 0, -0.5, 0.5))  # rounded half away from zero
    return torch.minimum(x, one * (n_in - 1)).long(), weight.int()


def _resample(levels: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, dim: int):
    """One pass of Pillow's 8-bit resampling along `dim` (-1 or -2) of int32 levels."""
    acc = None
    for j in range(TAPS):
        k = weight[:, j] if dim == -1 else weight[:, j, None]
        term = levels.index_select(dim, index[:, j]) * k
        acc = term if acc is None else acc + term
    acc = (acc + (1 << (PRECISION_BITS - 1))).clamp(min=0)
    return torch.div(acc, 1 << PRECISION_BITS, rounding_mode="floor").clamp(max=255)


def pillow_bicubic(levels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """N x C x h x w int32 levels in 0..255 -> N x C x height x width, as Pillow's BICUBIC enlarges
    an 8-bit image (horizontal pass first, each pass rounded and clipped to 0..255)."""
    h, w = levels.shape[-2:]
    x = _resample(levels, *bicubic_taps(w, width), -1)
    return _resample(x, *bicubic_taps(h, height), -2)


def _pad_index(n: int, pad: int, reflect: torch.Tensor) -> torch.Tensor:
    i = torch.arange(n + pad)
    return torch.where(reflect, torch.where(i < n, i, 2 * (n - 1) - i), i.clamp(max=n - 1))


def pad_to_multiple(x: torch.Tensor, m: int) -> torch.Tensor:
    """srcore.encodings.pad_reflect of x (... x H x W) on the bottom and right to multiples of m,
    written as gathers so that the reflect-or-replicate choice is made at run time."""
    H, W = x.shape[-2:]
    ph, pw = (H + m - 1) // m * m - H, (W + m - 1) // m * m - W  # simpler symbols than (-H) % m
    one = torch.ones((), dtype=torch.int64)
    reflect = (one * ph < H) & (one * pw < W)
    rows, cols = _pad_index(H, ph, reflect), _pad_index(W, pw, reflect)
    return x.index_select(-2, rows).index_select(-1, cols)


class OneStepSampler(nn.Module):
    """forward(lr, seed, origin) -> sr: srcore.sampler.super_resolve with one step on the bicubic
    base of lr (shapes in the module docstring), returned in [0, 1]."""

    def __init__(self, model: DualDomainUNet, diffusion: ResShift, scale: float):
        super().__init__()
        if diffusion.num_steps != 1:
            raise ValueError("the graph is the one-step sampler: pass diffusion.respace(1)")
        self.model, self.diffusion, self.scale = model.eval(), diffusion, scale
        self.eval()

    def out_side(self, n: int) -> int:
        s = self.scale
        return n * int(s) if float(s).is_integer() else hr_side(n, s)

    def forward(self, lr: torch.Tensor, seed: torch.Tensor, origin: torch.Tensor) -> torch.Tensor:
        levels = torch.round(lr * 255.0).clamp(0, 255).int()
        h, w = lr.shape[-2:]
        base = pillow_bicubic(levels, self.out_side(h), self.out_side(w))
        y0 = base.float().div(127.5).sub(1.0)  # srcore.tensors.to_tensor
        height, width = y0.shape[-2:]
        y0p = pad_to_multiple(y0, self.model.cfg.size_multiple)
        cond = self.model.condition(y0p, origin, self.scale)

        def predict_x0(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return (y0p + self.model(x_t, t, cond).float()).clamp(-1.0, 1.0)

        def noise_fn(k: int) -> torch.Tensor:
            return keyed_normal(seed, k, origin, tuple(y0p.shape), y0p.device)

        x, _ = self.diffusion.p_sample_loop(predict_x0, y0p, noise_fn)
        return (x[..., :height, :width].clamp(-1.0, 1.0) + 1.0) / 2.0


def refusal(model: DualDomainUNet) -> str | None:
    """Why the graph cannot take this network at every size, or None."""
    if model.cfg.dct and model.cfg.dct_block == 0:
        return "model.dct_block 0 (one DCT over the whole map) needs matrices built per size"
    return None


def _translations() -> dict:
    """ONNX for two operators, faster in ONNX Runtime than the exporter's own: the right shifts
    (only the noise hash has them, on values in 0..2^32, so a division is exact) and
    pixel_unshuffle (SpaceToDepth, then its channels put in pixel_unshuffle's order)."""
    from onnxscript import opset18 as op

    def rshift(x, bits: int):
        return op.Div(x, op.CastLike(1 << bits, x))

    def pixel_unshuffle(x, factor: int):
        c, s2 = x.shape[1], factor * factor
        order = [(k % s2) * c + k // s2 for k in range(c * s2)]
        return op.Gather(
            op.SpaceToDepth(x, blocksize=factor), op.Constant(value_ints=order), axis=1
        )

    aten = torch.ops.aten
    return {aten.__rshift__.Scalar: rshift, aten.pixel_unshuffle.default: pixel_unshuffle}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's warnings and log lines (missing torchvision, skipped foldings) silenced."""
    names = ("torch.onnx", "torch.export", "onnxscript")
    levels = [logging.getLogger(n).level for n in names]
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, level in zip(names, levels):
            logging.getLogger(n).setLevel(level)


def example_inputs(n: int, h: int, w: int, top: int = 0, left: int = 0) -> tuple[torch.Tensor, ...]:
    """(lr, seed, origin) of n random LR images of h x w, seeds 0..n-1, at (top, left)."""
    lr = torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(h * w))
    seed = torch.arange(n, dtype=torch.int64)
    return lr, seed, torch.tensor([[top, left]] * n, dtype=torch.int64)


def to_onnx(sampler: OneStepSampler, opset: int = OPSET):
    """The exported onnx.ModelProto (dynamic N, h, w), checked by check_graph."""
    example = example_inputs(2, 17, 23)
    with torch.no_grad():
        sampler(*example)  # builds the DCT matrices outside the trace (srcore.dct caches them)
    dyn = torch.export.Dim.DYNAMIC
    shapes = {"lr": {0: dyn, 2: dyn, 3: dyn}, "seed": {0: dyn}, "origin": {0: dyn}}
    with _quiet():
        program = torch.onnx.export(
            sampler,
            example,
            dynamo=True,
            opset_version=opset,
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_shapes=shapes,
            custom_translation_table=_translations(),
            verbose=False,
        )
    proto = program.model_proto
    check_graph(sampler, proto)
    return proto


def check_graph(sampler: OneStepSampler, proto) -> None:
    """Run the graph with ONNX Runtime on sizes other than the export example's; a UserError if it
    fails or differs from the module by more than one 8-bit level."""
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for n, h, w, top, left in ((1, 9, 40, 0, 0), (2, 21, 14, 64, 128)):
        inputs = example_inputs(n, h, w, top, left)
        with torch.no_grad():
            want = sampler(*inputs).numpy()
        try:
            got = session.run(None, dict(zip(INPUTS, (t.numpy() for t in inputs))))[0]
        except Exception as e:  # any failure at run time makes the graph unusable
            raise UserError(f"the graph fails on a {h} x {w} input: {one_line(e)}") from e
        if got.shape != want.shape:
            raise UserError(f"the graph gives {got.shape} for {want.shape} on a {h} x {w} input")
        worst = np.abs(np.round(got * 255.0) - np.round(want * 255.0)).max(initial=0)
        if worst > 1:
            raise UserError(
                f"the graph differs from PyTorch on a {h} x {w} input ({worst:g} levels)"
            )


def export_model(model_path: Path, out: Path, scale: float | None = None, opset: int = OPSET):
    """Export the model file's one-step sampler at `scale` (None: its own) to `out`, atomically,
    with metadata. Returns the scale. A UserError (one line) for what cannot be exported."""
    try:
        import onnx
        import onnxruntime  # noqa: F401 - check_graph runs the graph
        import onnxscript  # noqa: F401 - the exporter's ONNX functions
    except ImportError as e:
        raise UserError(f"srcore-export needs {e.name}: {INSTALL}") from e
    if opset < OPSET:
        raise UserError(f"--opset {opset}: allowed {OPSET} or more")
    model, diffusion_cfg, checkpoint = load_model(model_path)
    scale = pick_scale(model.cfg, int(checkpoint["scale"]), scale, model_path)
    why = refusal(model)
    if why:
        raise UserError(f"{model_path}: cannot be exported to ONNX: {why}")
    sampler = OneStepSampler(model, ResShift.from_config(diffusion_cfg).respace(1), scale)
    try:
        proto = to_onnx(sampler, opset)
    except UserError as e:
        raise UserError(f"{model_path}: cannot be exported to ONNX: {e}") from e
    except Exception as e:  # the exporter's failures are many and long
        raise UserError(f"{model_path}: cannot be exported to ONNX: {one_line(e)[:300]}") from e
    meta = {"format": FORMAT, "scale": f"{scale:g}", "source": str(model_path)}
    meta["size_multiple"] = str(model.cfg.size_multiple)
    meta["noise"] = "srcore.noise.keyed_normal of seed and origin"
    onnx.helper.set_model_props(proto, meta)
    with atomic_write(out) as tmp:
        onnx.save_model(proto, str(tmp))
    return scale


def parser() -> argparse.ArgumentParser:
    """The command line of srcore-export."""
    ap = argparse.ArgumentParser(
        prog="srcore-export", description=__doc__, formatter_class=HelpFormatter
    )
    ap.add_argument("model", type=Path, help="a model file from training (models/model.pt)")
    ap.add_argument("out", type=Path, help="the ONNX file to write (e.g. models/model.onnx)")
    ap.add_argument(
        "--scale",
        type=scale_value,
        help="the enlargement, for a multi-scale model (default: its own)",
    )
    ap.add_argument("--opset", type=int, default=OPSET, help="the ONNX opset")
    return ap


def export_command(args: argparse.Namespace) -> int:
    """Export and say what was written."""
    print(f"exporting {args.model} (about half a minute) ...", flush=True)
    scale = export_model(args.model, args.out, args.scale, args.opset)
    print(f"wrote {args.out}: the one-step sampler of {args.model} at x{scale:g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv and export; the exit code (2 for a user's mistake)."""
    return call(export_command, parser().parse_args(argv))


def cli() -> None:
    """The srcore-export console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()

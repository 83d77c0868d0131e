"""The one-step sampler as one ONNX graph, LR image in, enlarged image out (srcore-export, in
srcore.commands.export, writes it).

The graph's inputs: `lr` N x 3 x h x w float in [0, 1] (8-bit levels / 255); `seed` N int64;
`origin` N x 2 int64, the (top, left) output pixel of each piece inside its whole image; `rows` and
`cols` int64, the rows and columns of the enlarged LR (round(h s) x round(w s),
srcore.data.degrade's size rule) that the piece is. Its output: `sr` N x 3 x len(rows) x len(cols)
in [0, 1]. A whole image: origin 0, rows and cols every index. A tile (srcore.deploy.onnx_backend):
the LR crop around it with a few pixels of context, and the tile's rows and columns inside that
crop's enlargement, so that its bicubic base equals the whole image's there. N, h, w and the piece's
size are free.

Inside, what srcore-upscale does with one sampling step: the bicubic base y0 (Pillow's 8-bit BICUBIC
written out: its fixed-point weights computed from the runtime size, horizontal pass then vertical,
each rounded to 8-bit levels, so y0 equals srcore.data.degrade.upsample of the 8-bit LR), the
padding to the network's size multiple, model.condition, the prior noise
(srcore.diffusion.noise.keyed_normal of seed and origin: the very noise of the PyTorch path), one
network call, the crop. A multi-scale model is exported at one scale (--scale, default the model's
own). The scale, the size multiple and the source model are stored in the file's metadata, which
srcore-upscale --backend onnx reads (srcore.deploy.onnx_backend).

--lr-only: a graph of `lr` alone (N, h, w free), for tools that feed an ONNX upscaler the image only
(chaiNNer, the onnxruntime apps). srcore.deploy.onnx_check.LrOnlySampler makes the other inputs
inside (--seed, default 0, fixed; origin 0; every row and column), so its `sr` is the five-input
graph's whole image at that seed. Its metadata adds `inputs` (lr) and `seed`. srcore-upscale and
srcore.Upscaler run it on whole images at that seed (another one given is refused); a tool that
tiles the image itself gives every tile the noise of a top-left corner. Before writing,
srcore.deploy.onnx_check.check_graph runs either graph against its PyTorch module.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from srcore.common.atomic import atomic_write
from srcore.common.cli import one_line
from srcore.common.errors import UserError
from srcore.config.sampling import AUTO, CLEANUP, SamplingSpec
from srcore.data.degrade import hr_side
from srcore.deploy.onnx_backend import FORMAT, INPUTS, INSTALL, LR_ONLY, OUTPUT
from srcore.deploy.onnx_check import LrOnlySampler, check_graph, example_inputs
from srcore.deploy.onnx_ops import custom_translations, pad_to_multiple, pillow_bicubic
from srcore.diffusion.loader import TrainedModel
from srcore.diffusion.noise import keyed_normal
from srcore.diffusion.resshift import ResShift
from srcore.net.unet import DualDomainUNet, at_level

OPSET = 18  # ONNX Runtime's AveragePool (the local amplitude's) is much slower from opset 19 on
# (scripts/bench_onnx.py --opset 19: the whole upscale 2x slower)

GRAPH_LEVEL = CLEANUP  # a clean-up model's graph is told srcore-upscale's default level


class OneStepSampler(nn.Module):
    """forward(lr, seed, origin, rows, cols) -> sr: srcore.diffusion.sampler.super_resolve with one
    step on the bicubic base of lr (shapes in the module docstring), returned in [0, 1]."""

    input_names = INPUTS

    def __init__(self, model: DualDomainUNet, diffusion: ResShift, scale: float):
        super().__init__()
        if diffusion.num_steps != 1:
            raise ValueError("the graph is the one-step sampler: pass diffusion.respace(1)")
        self.model, self.diffusion, self.scale = model.eval(), diffusion, scale
        self.eval()

    def out_side(self, n: int) -> int:
        """srcore.data.degrade.hr_side, kept a plain product for integer scales (a simpler symbolic
        size for the exporter than floor(n s + 0.5))."""
        s = self.scale
        return n * int(s) if float(s).is_integer() else hr_side(n, s)

    def forward(
        self,
        lr: torch.Tensor,
        seed: torch.Tensor,
        origin: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
    ) -> torch.Tensor:
        levels = torch.round(lr * 255.0).clamp(0, 255).int()
        h, w = lr.shape[-2:]
        base = pillow_bicubic(levels, self.out_side(h), self.out_side(w))
        base = base.index_select(-2, rows).index_select(-1, cols)  # the piece asked for
        y0 = base.float().div(127.5).sub(1.0)  # srcore.common.tensors.to_tensor
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


def to_onnx(module: OneStepSampler | LrOnlySampler, opset: int = OPSET):
    """The exported onnx.ModelProto (dynamic N, h, w), checked by check_graph."""
    example = example_inputs(module, 2, 17, 23)
    with torch.no_grad():
        module(*example)  # builds the DCT matrices outside the trace (srcore.net.dct caches them)
    dyn = torch.export.Dim.DYNAMIC
    shapes = {
        "lr": {0: dyn, 2: dyn, 3: dyn},
        "seed": {0: dyn},
        "origin": {0: dyn},
        "rows": {0: dyn},
        "cols": {0: dyn},
    }
    with _quiet():
        program = torch.onnx.export(
            module,
            example,
            dynamo=True,
            opset_version=opset,
            input_names=list(module.input_names),
            output_names=[OUTPUT],
            dynamic_shapes={k: shapes[k] for k in module.input_names},
            custom_translation_table=custom_translations(),
            verbose=False,
        )
    proto = program.model_proto
    check_graph(module, proto)
    return proto


def export_model(
    model_path: Path,
    out: Path,
    spec: SamplingSpec = SamplingSpec(),
    opset: int = OPSET,
    *,
    lr_only: bool = False,
) -> float:
    """Export the model file's one-step sampler to `out`, atomically, with metadata, at
    spec.scale (None: its own); a clean-up model is told spec.cleanup (None: GRAPH_LEVEL) in the
    graph. lr_only: the graph of `lr` alone
    (LrOnlySampler), spec.seed fixed in it. Returns the scale. A UserError (one line) for what
    cannot be exported."""
    try:
        import onnx
        import onnxruntime  # noqa: F401 - check_graph runs the graph
        import onnxscript  # noqa: F401 - the exporter's ONNX functions
    except ImportError as e:
        raise UserError(f"srcore-export needs {e.name}: {INSTALL}") from e
    if not OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise UserError(f"--opset {opset}: allowed {OPSET} to {onnx.defs.onnx_opset_version()}")
    check_out(Path(model_path), Path(out))
    trained = TrainedModel.load(model_path)
    if spec.cleanup == AUTO:
        raise UserError("cleanup auto: a graph is told one level (allowed: a number in [0, 1])")
    spec = trained.resolve(replace(spec, steps=1, tile=0), GRAPH_LEVEL)
    why = refusal(trained.net)
    if why:
        raise UserError(f"{model_path}: cannot be exported to ONNX: {why}")
    net, diffusion = at_level(trained.net, spec.cleanup), trained.diffusion.respace(1)
    sampler = OneStepSampler(net, diffusion, spec.scale)
    try:
        proto = to_onnx(LrOnlySampler(sampler, spec.seed) if lr_only else sampler, opset)
    except UserError as e:
        raise UserError(f"{model_path}: cannot be exported to ONNX: {e}") from e
    except Exception as e:  # the exporter's failures are many and long
        raise UserError(f"{model_path}: cannot be exported to ONNX: {one_line(e)[:300]}") from e
    onnx.helper.set_model_props(proto, metadata(Path(model_path), trained.net, spec, lr_only))
    try:
        with atomic_write(out) as tmp:
            onnx.save_model(proto, str(tmp))
    except OSError as e:
        raise UserError(f"{out}: cannot write the ONNX file ({e.strerror or e})") from e
    return spec.scale


def metadata(
    model_path: Path, model: DualDomainUNet, spec: SamplingSpec, lr_only: bool
) -> dict[str, str]:
    """The graph's metadata, which srcore.deploy.onnx_backend reads."""
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    meta = {"format": FORMAT, "scale": f"{spec.scale:g}", "source": model_path.name}
    meta |= {"source_sha256": digest, "size_multiple": str(model.cfg.size_multiple)}
    if model.cfg.cleanup:
        meta["cleanup"] = f"{spec.cleanup:g}"
    meta["inputs"] = ", ".join(LR_ONLY if lr_only else INPUTS)
    if lr_only:
        meta["seed"] = str(spec.seed)
    keys = "the fixed seed and origin 0" if lr_only else "seed and origin"
    meta["noise"] = f"srcore.diffusion.noise.keyed_normal of {keys}"
    return meta


def check_out(model_path: Path, out: Path) -> None:
    """A UserError, before the export's half minute, for an OUT that cannot be written."""
    if out.is_dir():
        raise UserError(f"{out}: a folder; give the ONNX file's name, e.g. {out / 'model.onnx'}")
    if out.exists() and model_path.exists() and out.samefile(model_path):
        raise UserError(f"{out}: is the model file itself; give another name, e.g. model.onnx")
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise UserError(f"{out}: cannot write there ({parent} is not a folder)")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{out}: cannot write there ({parent} is not writable)")

"""srcore-export: the one-step sampler as one ONNX graph, LR image in, enlarged image out.

    srcore-export MODEL OUT [--scale S] [--opset 18] [--cleanup L] [--lr-only [--seed N]]
    (or python -m srcore.commands.export ...)

The graph and its inputs: srcore.deploy.export. --lr-only writes a graph whose only input is the LR
image, for tools that feed an ONNX upscaler the image alone (chaiNNer, the onnxruntime apps): whole
images at the seed it fixes (--seed, default 0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from srcore.commands.options import level_value, scale_value, seed_value
from srcore.common.cli import HelpFormatter, call
from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.deploy.export import GRAPH_LEVEL, OPSET, export_model


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
    ap.add_argument(
        "--cleanup",
        type=level_value,
        help="for a model trained with the clean-up knob: the level the graph is told, 0..1 "
        f"(default {GRAPH_LEVEL:g}, as srcore-upscale; a graph is told one level, so no auto)",
    )
    ap.add_argument(
        "--lr-only",
        action="store_true",
        help="a graph whose only input is the LR image (for chaiNNer and other one-input tools): "
        "whole images at a fixed seed",
    )
    ap.add_argument(
        "--seed", type=seed_value, help="the seed fixed in an --lr-only graph (default 0)"
    )
    return ap


def export_command(args: argparse.Namespace) -> int:
    """Export and say what was written."""
    if args.seed is not None and not args.lr_only:
        raise UserError("--seed: only an --lr-only graph fixes its seed (add --lr-only)")
    print(f"exporting {args.model} (about half a minute) ...", flush=True)
    seed = args.seed or 0
    spec = SamplingSpec(scale=args.scale, cleanup=args.cleanup, seed=seed)
    scale = export_model(args.model, args.out, spec, args.opset, lr_only=args.lr_only)
    alone = f", the LR image alone in, seed {seed}" if args.lr_only else ""
    print(f"wrote {args.out}: the one-step sampler of {args.model} at x{scale:g}{alone}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv and export; the exit code (2 for a user's mistake)."""
    return call(export_command, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

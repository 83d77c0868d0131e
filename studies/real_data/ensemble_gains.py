"""Gains over bicubic of models scored with the x8 self-ensemble, on clean and real-degraded LR.

    python studies/real_data/ensemble_gains.py --model NAME=MODEL.pt [--model ...] --hr-dir DIR
        [--hr-dir ...] --real-params PARAMS.yaml --out studies/real_data/ensemble.json

Each (model, folder) is scored twice by srcore-evaluate with --ensemble: on clean LR (a knob model
told 0) and with --degradation real --real-params PARAMS.yaml (told 1). The JSON holds
{model: {bicubic|real: {folder: PSNR-Y gain over bicubic of the same LR}}}.
"""

import argparse
import json
import tempfile
from pathlib import Path

from srcore.commands.evaluate import main as evaluate
from srcore.common.atomic import write_json
from srcore.common.cli import run
from srcore.common.errors import UserError


def named_model(text: str) -> tuple[str, Path]:
    """NAME=PATH of --model."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=MODEL.pt")
    return name, Path(path)


def gain(model: Path, hr_dir: Path, extra: list[str], out: Path) -> float:
    """srcore-evaluate's PSNR-Y gain of one model on one folder, with --ensemble."""
    args = ["--model", str(model), "--hr-dir", str(hr_dir), "--ensemble", "--out", str(out)]
    if evaluate([*args, *extra]) != 0:
        raise UserError(f"{model} on {hr_dir}: srcore-evaluate failed (its message is above)")
    return json.loads(out.read_text())["psnr_y_gain"]


def main() -> None:
    """Parse the options, score every model on every folder, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=named_model, action="append", required=True)
    ap.add_argument("--hr-dir", type=Path, action="append", required=True)
    ap.add_argument("--real-params", type=Path, required=True, help="the real group to degrade by")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    inputs = {
        "bicubic": [],
        "real": ["--degradation", "real", "--real-params", str(args.real_params)],
    }
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in args.model:
            result[name] = {
                lr: {d.name: gain(model, d, extra, Path(tmp) / "e.json") for d in args.hr_dir}
                for lr, extra in inputs.items()
            }
            print(name, json.dumps(result[name]), flush=True)
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run(main)

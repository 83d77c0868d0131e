"""PSNR over the clean-up level: a model.cleanup model told each level, on clean and degraded LR.

    python studies/real_training/cleanup_curve.py --model KNOB.pt --hr-dir DIR [--hr-dir DIR ...]
        [--clean CLEAN.pt] [--levels 0 0.25 0.5 0.75 1] [--out docs/figures/cleanup_curve.png]
        [--json studies/real_training/cleanup_curve.json]

Every folder's images are scored twice, as the evaluate stage scores them: on clean LR (Pillow's
bicubic shrink) and on LR made by the `real` pipeline the model was trained on (the real group
saved in the model file; fixed draws from (0, file name)). The knob model is told each of
--levels on both; a clean model (--clean), which has no knob, is a level line for comparison.
One sampling step, seed 0. The figure plots the gain over bicubic of the same LR (PSNR-Y, dB) and
carries (srcore.report.figures.save) the date and machine it was made on; the JSON has every number.
"""

import argparse
import dataclasses
from pathlib import Path

from srcore.commands.options import cleanup_value
from srcore.common.atomic import write_json
from srcore.common.cli import run
from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import RealConfig
from srcore.diffusion.loader import Sampler, TrainedModel
from srcore.eval.scoring import evaluate_images, folder_items
from srcore.net.checkpoint import read_checkpoint
from srcore.report import figures

INPUTS = ("bicubic", "real")  # clean LR, and the model's own real pipeline


def trained_real(settings: dict, path: Path) -> RealConfig:
    """The real group a model was trained with, from its file's identity settings."""
    fields = {f.name for f in dataclasses.fields(RealConfig)}
    found = {k.split(".", 1)[1]: v for k, v in settings.items() if k.startswith("real.")}
    if not found:
        raise UserError(f"{path}: no real.* settings in the file (not trained on real LR)")
    return RealConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in found.items() if k in fields}
    )


def gains(sampler: Sampler, items: dict) -> dict:
    """{input: {folder: mean PSNR-Y gain over bicubic}} of one sampler on every item list."""
    scale = sampler.spec.scale
    return {
        d: {
            folder: evaluate_images(found, scale, sampler)[0]["psnr_y_gain"]
            for folder, found in by_folder.items()
        }
        for d, by_folder in items.items()
    }


def plot(curve: dict, levels: list[float], clean: dict | None) -> figures.plt.Figure:
    """Gain over the level told, one panel per kind of LR, a line per folder (dashed: clean)."""
    fig, axes = figures.plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    titles = {"bicubic": "clean LR", "real": "degraded LR (the model's real pipeline)"}
    for ax, d in zip(axes, INPUTS):
        for i, folder in enumerate(curve[d]):
            color = f"C{i}"
            ax.plot(levels, curve[d][folder], "o-", color=color, label=f"{folder}: clean-up model")
            if clean is not None:
                ax.axhline(
                    clean[d][folder], color=color, ls="--", lw=1, label=f"{folder}: clean model"
                )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(titles[d])
        ax.set_xlabel("clean-up level told (--cleanup)")
        ax.set_ylabel("PSNR-Y gain over bicubic of the same LR (dB)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def load_clean(path: Path, scale: float) -> Sampler:
    """The --clean model ready to sample at one step; it must be of `scale` and without the knob."""
    trained = TrainedModel.load(path)
    if trained.takes_cleanup or trained.own_scale != scale:
        raise UserError(f"--clean {path}: an x{scale:g} model without the clean-up knob, please")
    return trained.sampler(SamplingSpec(steps=1))


def main() -> None:
    """Parse the options, score every level, write the JSON and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="a model trained with model.cleanup")
    ap.add_argument("--hr-dir", type=Path, action="append", required=True, help="HR images")
    ap.add_argument("--clean", type=Path, help="a clean model, drawn as a level line")
    ap.add_argument("--levels", type=cleanup_value, nargs="+", default=[0, 0.25, 0.5, 0.75, 1])
    ap.add_argument("--out", type=Path, default=Path("docs/figures/cleanup_curve.png"))
    ap.add_argument("--json", type=Path, default=Path("studies/real_training/cleanup_curve.json"))
    args = ap.parse_args()
    trained = TrainedModel.load(args.model)
    ck = read_checkpoint(args.model)
    if not trained.takes_cleanup:
        raise UserError(f"{args.model} has no clean-up knob (model.cleanup false)")
    settings = ck.get("identity", {}).get("settings", {})
    real, scale = trained_real(settings, args.model), float(ck["scale"])
    clean_sampler = None if args.clean is None else load_clean(args.clean, scale)
    items = {d: {p.name: folder_items(p, scale, d, real) for p in args.hr_dir} for d in INPUTS}
    by_level = [
        gains(trained.sampler(SamplingSpec(steps=1, cleanup=lv)), items) for lv in args.levels
    ]
    curve = {d: {f: [g[d][f] for g in by_level] for f in items[d]} for d in INPUTS}
    clean = None if clean_sampler is None else gains(clean_sampler, items)
    write_json(
        args.json,
        {"levels": args.levels, "knob": curve, "clean": clean, "real": dataclasses.asdict(real)},
    )
    figures.save(plot(curve, args.levels, clean), args.out)
    print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    run(main)

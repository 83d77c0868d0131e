"""train: the diffusion model on the prepared patches -> models/model.pt (weights + configs).

Checkpoints go to checkpoints/train.pt (a persist output: an interrupted `dvc repro` continues from
it, and only then: see srcore.train.resume). Loss and validation PSNR are logged with DVCLive into
dvclive/. With train.nproc > 1 this script launches itself under torchrun (torch.distributed.run,
standalone, one process per GPU); launched by torchrun yourself (multi-node), it runs as one of its
ranks.
"""

import json
import os
import sys
from pathlib import Path

import pandas as pd

from dvclive import Live
from srcore.common.atomic import write_text
from srcore.common.cli import run
from srcore.common.errors import UserError
from srcore.config.params import load_params
from srcore.config.schema import Params, weight_settings
from srcore.data.batches import PatchBatches, whole_image_y0
from srcore.data.cache import read_index
from srcore.data.realworld import RealPatches
from srcore.diffusion.resshift import ResShift
from srcore.net.checkpoint import save_checkpoint
from srcore.net.device import pick_device
from srcore.train.levels import fit_level_head
from srcore.train.loop import train
from srcore.train.ranks import distributed
from srcore.train.resume import code_fingerprint, resumable_checkpoint, run_identity

PREPARED, CHECKPOINT, MODEL, LIVE = (
    Path("data/prepared"),
    Path("checkpoints/train.pt"),
    Path("models/model.pt"),
    "dvclive",
)


def trim_logs(live_dir: str, step: int) -> None:
    """Drop logged rows past `step` (logged after the checkpoint that training continues from)."""
    for tsv in Path(live_dir, "plots", "metrics").rglob("*.tsv"):
        df = pd.read_csv(tsv, sep="\t")
        write_text(tsv, df[df["step"] <= step].to_csv(sep="\t", index=False))


def data_fingerprint(prepared: Path) -> str:
    summary = prepared / "summary.json"
    fp = json.loads(summary.read_text()).get("fingerprint") if summary.is_file() else None
    if not fp:
        raise UserError(f"{summary}: no data fingerprint; run `dvc repro prepare` first")
    return fp


def launch(nproc: int) -> int:
    """This script under torchrun with `nproc` local processes; the exit code of the first that
    failed."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    try:
        torchrun(
            get_args_parser().parse_args(["--standalone", f"--nproc_per_node={nproc}", __file__])
        )
    except ChildFailedError as e:
        rank, failure = min(e.failures.items())
        print(
            f"error: training failed in rank {rank} (exit code {failure.exitcode}); "
            "its message is above",
            file=sys.stderr,
        )
        return failure.exitcode or 1
    return 0


def batches(p: Params, prepared: Path) -> tuple[PatchBatches, PatchBatches | None]:
    """The training batches (real-degraded and multi-scale as the params say) and the fixed
    validation patches, scored on the LR the model is trained for, as the evaluate stage does."""
    index, cache = prepared / "index.csv", prepared / "cache"
    t = p.train
    real = (
        None
        if t.degradation == "bicubic"
        else RealPatches(p.real_of(t.degradation), p.prepare.scale)
    )
    train_rows, valid_rows = read_index(index, "train"), read_index(index, "valid")
    integer = {"integer_share": t.integer_share, "integer_bias": t.integer_bias}
    args = (cache, train_rows, "train", t.batch_size, t.seed, real)
    train_data = PatchBatches(*args, scales=p.model.scales, levels=p.model.cleanup, **integer)
    if not len(valid_rows):
        return train_data, None
    names = list(dict.fromkeys(valid_rows["image"]))
    args = (cache, "valid", names, p.prepare.scale, t.degradation, p.real)
    y0_of = whole_image_y0(*args) if real else None
    return train_data, PatchBatches(cache, valid_rows, "valid", 8, 0, y0_of=y0_of)  # seed 0 draws


def fit_head(model, p: Params, train_data: PatchBatches) -> None:
    """A clean-up model's level head, fitted on its own per-level gains (srcore.train.levels)."""
    if hasattr(model, "level_head"):
        diffusion = ResShift.from_config(p.diffusion)
        error = fit_level_head(model, diffusion, train_data, p.train.steps)
        print(f"level head: predicts each level's gain within {error:.2f} dB (rms, held out)")


def main() -> int:
    p = load_params()
    if p.train.nproc > 1 and "LOCAL_RANK" not in os.environ:
        return launch(p.train.nproc)
    rank = distributed()[0]
    train_data, valid_data = batches(p, PREPARED)
    device = pick_device(p.train.device).type
    code, data = code_fingerprint([__file__]), data_fingerprint(PREPARED)
    identity = run_identity(weight_settings(p), code, data, device)
    found = None  # rank 0 decides; train() shares its checkpoint with the other ranks
    live = None  # rank 0 alone writes the logs
    if rank == 0:
        found = resumable_checkpoint(CHECKPOINT, identity, p.train.steps)
        live = Live(LIVE, resume=found is not None, save_dvc_exp=False, dvcyaml=None)
        if found is not None:
            trim_logs(LIVE, int(found["step"]))

    def log(metrics: dict, step: int) -> None:
        if live is not None:
            live.step = step
            for k, v in metrics.items():
                live.log_metric(k, v)
            live.sync()

    scale = p.prepare.scale
    model = train(
        p.train,
        p.model,
        p.diffusion,
        p.loss,
        scale,
        train_data,
        valid_data,
        CHECKPOINT,
        log,
        identity,
        found or False,
    )
    if live is not None:
        fit_head(model, p, train_data)
        save_checkpoint(
            MODEL,
            model,
            p.diffusion,
            scale,
            steps=p.train.steps,
            params_count=model.num_params(),
            identity=identity,
        )
        live.end()
    return 0


if __name__ == "__main__":
    run(main)

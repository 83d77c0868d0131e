"""train: the diffusion model on the prepared patches -> models/model.pt (weights + configs).

Checkpoints go to checkpoints/train.pt (a persist output: an interrupted `dvc repro` continues from
it). Loss and validation PSNR are logged with DVCLive into dvclive/ (rendered by `dvc plots`).
"""

from pathlib import Path

import pandas as pd

from dvclive import Live
from srcore.checkpoint import save_checkpoint
from srcore.cli import run
from srcore.data import PatchBatches, read_index
from srcore.params import diffusion_config, load_params, loss_config, model_config, train_config
from srcore.train import resumable_checkpoint, signature, train

PREPARED, CHECKPOINT, MODEL, LIVE = Path("data/prepared"), Path("checkpoints/train.pt"), Path("models/model.pt"), "dvclive"


def trim_logs(live_dir: str, step: int) -> None:
    """Drop logged rows past the resumed step (they were logged after the last checkpoint)."""
    for tsv in Path(live_dir, "plots", "metrics").rglob("*.tsv"):
        df = pd.read_csv(tsv, sep="\t")
        df[df["step"] <= step].to_csv(tsv, sep="\t", index=False)


def main() -> None:
    p = load_params()
    cfg, mcfg, dcfg, lcfg = train_config(p), model_config(p), diffusion_config(p), loss_config(p)
    index = PREPARED / "index.csv"
    train_data = PatchBatches(PREPARED / "cache", read_index(index, "train"), "train", cfg.batch_size, cfg.seed)
    valid_rows = read_index(index, "valid")
    valid_data = PatchBatches(PREPARED / "cache", valid_rows, "valid", 8, 0) if len(valid_rows) else None
    ck = resumable_checkpoint(CHECKPOINT, signature(cfg, mcfg, dcfg))
    live = Live(LIVE, resume=ck is not None, save_dvc_exp=False, dvcyaml=None)
    if ck is not None:
        trim_logs(LIVE, int(ck["step"]))

    def log(metrics: dict, step: int) -> None:
        live.step = step
        for k, v in metrics.items():
            live.log_metric(k, v)
        live.sync()

    model = train(cfg, mcfg, dcfg, lcfg, p["prepare"]["scale"], train_data, valid_data, CHECKPOINT, log)
    save_checkpoint(MODEL, model, dcfg, p["prepare"]["scale"], steps=cfg.steps, params_count=model.num_params())
    live.end()


if __name__ == "__main__":
    run(main)

"""A worker for the DDP tests:
`torchrun --nproc_per_node=N tests/helpers/ddp_train.py OUT DEVICE STEPS [RANK [fail|nan]]`.

srcore's training loop on a tiny synthetic cache (the same on every rank); rank 0 saves the final
weights to OUT/final.pt, rank r > 0 to OUT/final{r}.pt. With RANK, that rank's third loss raises
(fail, a failing rank) or is NaN with finite gradients (nan). Used where
the train stage cannot run (no DVCLive on the GPU machine) or a failure must be injected.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import srcore.train.loop as train_mod  # noqa: E402
from srcore.config.schema import DiffusionConfig, LossConfig, ModelConfig, TrainConfig  # noqa: E402
from srcore.data.batches import PatchBatches  # noqa: E402
from srcore.data.cache import INDEX_COLUMNS, save_array  # noqa: E402
from srcore.train.loop import train  # noqa: E402
from srcore.train.ranks import distributed  # noqa: E402


def tiny_cache(root: Path) -> PatchBatches:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    if not (
        root / "train" / "a.png.y0.npy"
    ).is_file():  # rank 0 may be writing it; the content is the same
        save_array(root / "train" / "a.png.hr.npy", img)
        save_array(root / "train" / "a.png.y0.npy", img // 2 + 60)
    index = pd.DataFrame(
        [("train", "a.png", t, left, 32) for t in (0, 32) for left in (0, 32)],
        columns=INDEX_COLUMNS,
    )
    return PatchBatches(root, index, "train", 4, 0)


def inject(rank: int, how: str) -> None:
    """Make this rank's third loss raise ("fail") or be NaN with finite gradients ("nan")."""

    class Injected(train_mod.SRLoss):
        calls = 0

        def forward(self, pred, target):
            Injected.calls += 1
            loss = super().forward(pred, target)
            if Injected.calls != 3:
                return loss
            if how == "fail":
                raise RuntimeError(f"injected failure in rank {rank}")
            return loss + torch.tensor(float("nan"))  # a constant: the gradient stays finite

    train_mod.SRLoss = Injected


if __name__ == "__main__":
    out, device, steps = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    how = sys.argv[5] if len(sys.argv) > 5 else "fail"
    rank, world, _ = distributed()
    if len(sys.argv) > 4 and int(sys.argv[4]) == rank:
        inject(rank, how)
    data = tiny_cache(out / f"cache{rank}")
    cfg = TrainConfig(
        steps=steps,
        batch_size=4,
        lr=1e-3,
        checkpoint_every=2,
        log_every=1,
        device=device,
        workers=0,
        ema=0.0 if how == "nan" else 0.999,  # "nan": every rank returns its raw weights
    )
    model = train(
        cfg,
        ModelConfig(width=8, time_dim=16, stem=1, dct_block=8, scales=()),
        DiffusionConfig(),
        LossConfig(),
        4,
        data,
        None,
        out / "ck.pt",
    )
    weights = {k: v.cpu() for k, v in model.state_dict().items()}
    torch.save(weights, out / ("final.pt" if rank == 0 else f"final{rank}.pt"))

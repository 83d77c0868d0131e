"""What a training checkpoint holds and a resumed run restores (srcore.train.loop): the weights, the
optimiser, the cosine schedule, the exponential moving average of the weights and the counters.

The average's decay of update n is min(ema, (1 + n) / (10 + n)): a warm-up that follows the
weights closely at first and settles at `ema`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from srcore.config.schema import DiffusionConfig, ModelConfig, TrainConfig
from srcore.net.checkpoint import save_checkpoint
from srcore.net.unet import DualDomainUNet


def ema_decay(updates: int, ema: float) -> float:
    """Decay of the EMA update number `updates` (0, 1, ...): min(ema, (1 + n) / (10 + n)). The
    warm-up lets the average follow the weights closely at first, then it settles at `ema`."""
    return min(ema, (1 + updates) / (10 + updates))


@torch.no_grad()
def ema_update(average: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * model, parameter by parameter (buffers copied)."""
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p, 1.0 - decay)
    for a, b in zip(average.buffers(), model.buffers()):
        a.copy_(b)


class TrainState:
    """The state a checkpoint holds and a resumed run restores: weights, optimiser, schedule, the
    average, and the counters."""

    def __init__(self, model_cfg: ModelConfig, cfg: TrainConfig, dev: torch.device, rank: int):
        torch.manual_seed(cfg.seed)
        self.model = DualDomainUNet(model_cfg).to(dev)
        if hasattr(self.model, "level_head"):  # fitted after training (srcore.train.levels)
            self.model.level_head.requires_grad_(False)
        if dev.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.opt, T_max=cfg.steps, eta_min=cfg.lr_min
        )
        self.average = None  # rank 0 alone validates and saves, so rank 0 alone keeps the average
        if cfg.ema and rank == 0:
            self.average = copy.deepcopy(self.model).requires_grad_(False).eval()
        self.step = self.skipped = self.ema_updates = 0

    def restore(self, checkpoint: dict) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.opt.load_state_dict(checkpoint["optimizer"])
        self.sched.load_state_dict(checkpoint["scheduler"])
        self.step, self.skipped = int(checkpoint["step"]), int(checkpoint.get("skipped", 0))
        self.ema_updates = int(checkpoint.get("ema_updates", 0))
        if self.average is not None:
            self.average.load_state_dict(checkpoint["ema"])

    def save(self, path: Path, diff_cfg: DiffusionConfig, scale: int, identity: dict) -> None:
        ema = {}
        if self.average is not None:
            ema = {"ema": _cpu(self.average.state_dict()), "ema_updates": self.ema_updates}
        save_checkpoint(
            path,
            self.model,
            diff_cfg,
            scale,
            step=self.step,
            identity=identity,
            skipped=self.skipped,
            optimizer=self.opt.state_dict(),
            scheduler=self.sched.state_dict(),
            **ema,
        )

    @property
    def weights(self) -> DualDomainUNet:
        """What validation sees and train() returns: the average when kept."""
        return self.model if self.average is None else self.average


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}

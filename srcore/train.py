"""Training: the seed's procedure on srcore, as one plain loop.

Random t per sample, x_t = q_sample(x0, y0, t) for the whole batch, the network predicts x0 - y0,
loss on x0_hat, Adam + cosine schedule, gradient clipping, bf16 autocast and channels_last on CUDA.
Checkpoints are written atomically every `checkpoint_every` steps and resumed from; batch k and
the noise of step k depend only on (seed, k), so a resumed run equals an uninterrupted one.

A NaN/Inf loss skips its step (no update) and is counted; `max_nonfinite` such steps in a row stop
training with an error naming the step and the last good checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import ModelFileError, config_mismatches, read_checkpoint, save_checkpoint
from .data import PatchBatches
from .diffusion import DiffusionConfig, ResShift
from .images import to_uint8
from .losses import LossConfig, SRLoss
from .metrics import psnr, rgb_to_y
from .model import DualDomainUNet, ModelConfig
from .sampler import autocast, pick_device, super_resolve


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 600
    batch_size: int = 8
    lr: float = 1e-4
    lr_min: float = 1e-7
    grad_clip: float = 1.0
    seed: int = 144
    checkpoint_every: int = 100
    eval_every: int = 200
    eval_sample_steps: int = 4
    log_every: int = 10
    max_nonfinite: int = 10
    device: str = "auto"
    compile: bool = False


class NonFiniteLoss(RuntimeError):
    pass


def train_step(
    model: DualDomainUNet, diffusion: ResShift, loss_fn: torch.nn.Module, opt: torch.optim.Optimizer,
    x0: torch.Tensor, y0: torch.Tensor, origin: torch.Tensor, grad_clip: float = 1.0, generator: torch.Generator | None = None,
) -> torch.Tensor:  # fmt: skip
    """One optimisation step on a batch (x0, y0 in [-1, 1], B x 3 x P x P). Returns the detached loss;
    when it is not finite the parameters are left untouched (checking that costs one device sync)."""
    B, dev = x0.shape[0], x0.device
    t = torch.randint(1, diffusion.num_steps + 1, (B,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator).to(dev, non_blocking=True)
    x_t = diffusion.q_sample(x0, y0, t, noise)
    with autocast(dev):
        residual = model(x_t, diffusion.timesteps[t].to(dev), model.condition(y0, origin))
    loss = loss_fn(y0 + residual.float(), x0)
    opt.zero_grad(set_to_none=True)
    if torch.isfinite(loss):
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
    return loss.detach()


@torch.no_grad()
def validate(
    model: DualDomainUNet | None, diffusion: ResShift | None, patches: PatchBatches, seed: int = 0, batch: int = 8
) -> float:
    """Mean Y-PSNR over the fixed validation patches (deterministic); model=None scores bicubic.
    No border is cropped: the patches lie inside their images."""
    scores = []
    for i in range(0, len(patches), batch):
        rows = patches.index.iloc[i : i + batch]
        x0, sr, origin = patches.rows(rows)
        if model is not None:
            dev = next(model.parameters()).device
            sr, _ = super_resolve(model, diffusion, sr.to(dev), torch.arange(i, i + len(rows)) + seed, origin)
        scores += [psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in zip(to_uint8(sr), to_uint8(x0))]
    return float(np.mean(scores))


def signature(cfg: TrainConfig, model_cfg: ModelConfig, diff_cfg: DiffusionConfig) -> dict:
    """What must match for a checkpoint to be continued (not device, compile or logging cadence)."""
    keep = {k: v for k, v in asdict(cfg).items() if k not in ("device", "compile", "checkpoint_every", "log_every")}
    return {"model": model_cfg.to_dict(), "diffusion": diff_cfg.to_dict(), "train": keep}


def resumable_checkpoint(path: Path, sig: dict) -> dict | None:
    """The checkpoint at `path` if it continues a run of signature `sig`, else None (with the reason printed)."""
    if not Path(path).is_file():
        return None
    try:
        ck = read_checkpoint(path)
    except ModelFileError as e:
        print(f"checkpoint unusable, starting from scratch: {e}")
        return None
    saved = {"model": ck["model_config"], "diffusion": ck["diffusion_config"], "train": ck.get("train_config") or {}}
    diff = [f"{k}.{m}" for k in sig for m in config_mismatches(saved[k], sig[k])]
    if diff:
        print(f"checkpoint {path} is from another configuration ({'; '.join(diff)}): starting from scratch")
        return None
    return ck


def train(
    cfg: TrainConfig, model_cfg: ModelConfig, diff_cfg: DiffusionConfig, loss_cfg: LossConfig, scale: int,
    train_data: PatchBatches, valid_data: PatchBatches | None, checkpoint: Path,
    log: Callable[[dict, int], None] = lambda m, s: None,
) -> DualDomainUNet:  # fmt: skip
    """Train to cfg.steps, resuming from `checkpoint` when it holds a run of the same configuration."""
    dev = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = DualDomainUNet(model_cfg).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    diffusion, loss_fn = ResShift.from_config(diff_cfg), SRLoss(loss_cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr_min)
    sig = signature(cfg, model_cfg, diff_cfg)
    start, skipped, ck = 0, 0, resumable_checkpoint(checkpoint, sig)
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, skipped = int(ck["step"]), int(ck.get("skipped", 0))
        print(f"resuming from {checkpoint} at step {start}")
    net = torch.compile(model, dynamic=False) if cfg.compile else model  # fixed patch shapes; state stays in `model`
    val_diffusion = diffusion.respace(min(cfg.eval_sample_steps, diffusion.num_steps))
    last_good, bad_run, t0 = (str(checkpoint) if start else "none"), 0, time.time()
    window = []  # finite losses since the last log line
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="train", unit="step")
    for step in bar:
        model.train()
        x0, y0, origin = (a.to(dev, non_blocking=True) for a in train_data.batch(step))
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        loss = train_step(net, diffusion, loss_fn, opt, x0, y0, origin, cfg.grad_clip, gen).item()
        if not math.isfinite(loss):
            bad_run, skipped = bad_run + 1, skipped + 1
            print(f"step {step + 1}: loss is {loss}, step skipped ({skipped} so far)")
            if bad_run >= cfg.max_nonfinite:
                raise NonFiniteLoss(
                    f"{bad_run} non-finite losses in a row, last at step {step + 1}; last good checkpoint: {last_good}"
                )
        else:
            bad_run = 0
            window.append(loss)
        sched.step()
        done = step + 1
        metrics = {}
        if done % cfg.log_every == 0 or done == cfg.steps:
            mean = float(np.mean(window)) if window else float("nan")
            metrics |= {"train/loss": mean, "train/lr": sched.get_last_lr()[0], "train/skipped": skipped}
            bar.set_postfix(loss=f"{mean:.4f}")
            window = []
        if valid_data is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            metrics["val/psnr_y"] = validate(model, val_diffusion, valid_data)
        if metrics:
            log(metrics, done)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            save_checkpoint(checkpoint, model, diff_cfg, scale, step=done, train_config=sig["train"], skipped=skipped,
                            optimizer=opt.state_dict(), scheduler=sched.state_dict())  # fmt: skip
            last_good = f"{checkpoint} (step {done})"
    print(f"trained {cfg.steps - start} steps in {time.time() - t0:.0f}s, {skipped} skipped (non-finite loss)")
    return model

"""Training: the notebook's procedure on srcore, as one plain loop.

Random t per sample, x_t = q_sample(x0, y0, t) for the whole batch, the network predicts x0 - y0,
loss on x0_hat, Adam + cosine schedule, gradient clipping, bf16 autocast and channels_last on CUDA.
Checkpoints are written atomically every `checkpoint_every` steps. A checkpoint is continued only
when it holds an unfinished run with the same identity (srcore.train.resume: the settings that
change the weights, the code, the training data, the kind of device). Batch k and the noise of step
k depend only on (seed, k), so a resumed run equals an uninterrupted one.

With `ema` > 0 an exponential moving average of the weights is kept (decay of update n:
min(ema, (1 + n) / (10 + n)), a warm-up that reaches `ema` after 9 ema / (1 - ema) - 1 updates:
0.99 after 890, 0.999 after 8,990); it is what validation sees and what train() returns on rank 0
(the saved model). Checkpoints hold the raw weights (to continue) and the average.

A step whose loss or gradient is not finite is skipped (no update) and counted; `max_nonfinite`
such steps in a row stop training with an error naming the step and the last good checkpoint.

Launched by torchrun, training is data-parallel (DDP; NCCL on CUDA, gloo on CPU): `batch_size` stays
the global batch and each rank takes its share of step k's batch and draws, so N processes give the
weights of one (up to the order of floating-point reductions). Every rank takes the same decision to
skip a step (srcore.train.ranks). Rank 0 alone validates, writes checkpoints and prints. Batches are
prepared by `workers` data-loader processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from srcore.config.sampling import SamplingSpec
from srcore.config.schema import (
    DiffusionConfig,
    LossConfig,
    ModelConfig,
    Params,
    PrepareConfig,
    RealConfig,
    TrainConfig,
    weight_settings,
)
from srcore.data.batches import PatchBatches, TrainSteps
from srcore.diffusion.loader import Sampler
from srcore.diffusion.resshift import ResShift
from srcore.eval.validate import validate
from srcore.net.cudagraph import for_sampling
from srcore.net.device import autocast
from srcore.net.unet import DualDomainUNet, at_level
from srcore.train.losses import SRLoss
from srcore.train.ranks import (
    distributed,
    init_process,
    mean_over_ranks,
    rank_of_process,
    shared_checkpoint,
)
from srcore.train.resume import resumable_checkpoint, run_identity
from srcore.train.state import TrainState, ema_decay, ema_update


class NonFiniteLoss(RuntimeError):
    """Too many non-finite steps in a row, or non-finite weights: training cannot go on."""


def train_step(
    net: torch.nn.Module,
    diffusion: ResShift,
    loss_fn: torch.nn.Module,
    opt: torch.optim.Optimizer,
    x0: torch.Tensor,
    y0: torch.Tensor,
    cond: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    grad_clip: float = 1.0,
) -> tuple[torch.Tensor, bool]:
    """One optimisation step; returns (detached loss, applied).

    x0, y0, noise: B x 3 x P x P (x0, y0 in [-1, 1]); cond = model.condition(y0, origin, scale); t:
    B chain indices. `net` is the network, plain, compiled or DDP-wrapped. When the loss or the
    gradient norm is not finite the update is skipped and the parameters are left untouched; under
    DDP a step is applied only if it is finite on every rank (one all-reduce), so the replicas never
    part.
    """
    dev = x0.device
    x_t = diffusion.q_sample(x0, y0, t, noise)
    with autocast(dev):
        residual = net(x_t, diffusion.timesteps[t].to(dev), cond)
    loss = loss_fn(y0 + residual.float(), x0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    finite = (torch.isfinite(loss) & torch.isfinite(grad_norm)).to(torch.int32)
    if dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    applied = bool(finite)
    if applied:
        opt.step()
    return loss.detach(), applied


def check_batches(model_cfg: ModelConfig, cfg: TrainConfig, train_data: PatchBatches) -> None:
    """ValueError when the batches were made for other settings (LR, scales, clean-up levels)."""
    if (cfg.degradation != "bicubic") != (train_data.real is not None):
        made = "real" if train_data.real is not None else "bicubic"
        raise ValueError(f"train.degradation is {cfg.degradation} but the batches' LR is {made}")
    if (model_cfg.scales or None) != train_data.scales:
        raise ValueError(
            f"model.scales is {model_cfg.scales} but the batches' are {train_data.scales}"
        )
    if model_cfg.cleanup != train_data.levels:
        drawn = "draw" if train_data.levels else "do not draw"
        raise ValueError(f"model.cleanup is {model_cfg.cleanup} but the batches {drawn} levels")


def train(
    cfg: TrainConfig,
    model_cfg: ModelConfig,
    diff_cfg: DiffusionConfig,
    loss_cfg: LossConfig,
    scale: int,
    train_data: PatchBatches,
    valid_data: PatchBatches | None,
    checkpoint: Path,
    log: Callable[[dict, int], None] = lambda metrics, step: None,
    identity: dict | None = None,
    resume: bool | dict = True,
) -> DualDomainUNet:
    """Train to cfg.steps; returns the weights to use (on rank 0: the EMA when cfg.ema > 0).

    resume=True continues `checkpoint` when it holds an unfinished run of the same identity
    (default identity: these configs' weight-changing settings); a dict is a checkpoint the caller
    already checked with resumable_checkpoint; False starts from scratch.
    """
    rank, world, _ = distributed()
    say = print if rank == 0 else (lambda *args, **kw: None)
    dev, parallel, own_group = init_process(cfg)
    check_batches(model_cfg, cfg, train_data)
    if identity is None:
        settings = Params(
            prepare=PrepareConfig(scale=scale),
            model=model_cfg,
            diffusion=diff_cfg,
            loss=loss_cfg,
            train=cfg,
            real=train_data.real.cfg if train_data.real else RealConfig(),
        )
        identity = run_identity(weight_settings(settings), device=dev.type)
    run = TrainState(model_cfg, cfg, dev, rank)
    found = resumable_checkpoint(checkpoint, identity, cfg.steps, say) if resume is True else resume
    found = shared_checkpoint(found or None, parallel)
    if found is not None:
        run.restore(found)
        say(f"resuming from {checkpoint} at step {run.step}")
    start, t0 = run.step, time.time()
    net = run.model
    if parallel:
        net = DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)
    if cfg.compile:  # fixed patch shapes; the state stays in run.model
        net = torch.compile(net, dynamic=False)
    diffusion, loss_fn = ResShift.from_config(diff_cfg), SRLoss(loss_cfg).to(dev)
    loader = torch.utils.data.DataLoader(
        TrainSteps(train_data, diffusion.num_steps, cfg.seed, rank, world, cfg.final_share),
        batch_size=None,
        sampler=range(start, cfg.steps),
        num_workers=cfg.workers,
        pin_memory=dev.type == "cuda",
    )
    last_good = f"{checkpoint} (step {start})" if start else "none"
    check = _Checks(cfg, run, diffusion, valid_data, dev, say, last_good, scale)
    bar = tqdm(total=cfg.steps, initial=start, desc="train", unit="step", disable=rank != 0)
    for x0, y0, origin, enlarged_by, level, t, noise in loader:
        run.model.train()
        x0, y0, noise = (a.to(dev, non_blocking=True) for a in (x0, y0, noise))
        cond = run.model.condition(y0, origin.to(dev), enlarged_by.to(dev), level.to(dev))
        loss, applied = train_step(
            net, diffusion, loss_fn, run.opt, x0, y0, cond, t, noise, cfg.grad_clip
        )
        run.step += 1
        metrics = check.after_step(loss.item(), applied, world)
        bar.update()
        if metrics and rank == 0:
            bar.set_postfix(loss=f"{metrics.get('train/loss', float('nan')):.4f}")
            log(metrics, run.step)
        if check.checkpoint_due():
            if rank == 0:
                run.save(checkpoint, diff_cfg, scale, identity)
            check.last_good = f"{checkpoint} (step {run.step})"
    bar.close()
    if own_group:
        dist.destroy_process_group()
    seconds = time.time() - t0
    say(f"trained {cfg.steps - start} steps in {seconds:.0f}s, {run.skipped} skipped (non-finite)")
    return run.weights


class _Checks:
    """What happens after each step: the skip count and its limit, the EMA update, the log line,
    the validation, and whether a checkpoint is due."""

    def __init__(self, cfg, run, diffusion, valid_data, dev, say, last_good: str, scale: float):
        self.cfg, self.run, self.dev, self.say, self.scale = cfg, run, dev, say, scale
        self.valid_data = valid_data
        self.val_diffusion = diffusion.respace(min(cfg.eval_sample_steps, diffusion.num_steps))
        # the fixed patches are real-degraded at the full level when training on real LR
        told = at_level(run.weights, 1.0)
        self.sampling_net = None if valid_data is None else for_sampling(told)
        self.last_good = last_good
        self.bad_run = 0
        self.window: list[float] = []  # finite losses since the last log line

    def after_step(self, loss: float, applied: bool, world: int) -> dict:
        cfg, run = self.cfg, self.run
        if applied:
            self.bad_run = 0
            self.window.append(loss)
            if cfg.ema:
                if run.average is not None:
                    ema_update(run.average, run.model, ema_decay(run.ema_updates, cfg.ema))
                run.ema_updates += 1
        else:
            self._skipped(loss, world)
        run.sched.step()
        done, metrics = run.step, {}
        if done % cfg.log_every == 0 or done == cfg.steps:
            mean = float(np.mean(self.window)) if self.window else float("nan")
            metrics["train/loss"] = mean_over_ranks(mean, self.dev)
            metrics["train/lr"] = run.sched.get_last_lr()[0]
            metrics["train/skipped"] = run.skipped
            self.window = []
        due = done % cfg.eval_every == 0 or done == cfg.steps
        if self.sampling_net is not None and due and rank_of_process() == 0:
            chain = self.val_diffusion
            spec = SamplingSpec(steps=chain.num_steps, scale=self.scale)
            sampler = Sampler(self.sampling_net, chain, spec)
            metrics["val/psnr_y"] = validate(self.valid_data, sampler)
        return metrics

    def _skipped(self, loss: float, world: int) -> None:
        self.bad_run += 1
        self.run.skipped += 1
        done = self.run.step
        if not math.isfinite(loss):
            what = f"loss ({loss})"
        else:
            what = "gradient" if world == 1 else "gradient, or loss on another process"
        self.say(f"step {done}: non-finite {what}, step skipped ({self.run.skipped} so far)")
        if self.bad_run >= self.cfg.max_nonfinite:
            msg = f"{self.bad_run} non-finite steps in a row, last at step {done}"
            raise NonFiniteLoss(f"{msg}; last good checkpoint: {self.last_good}")

    def checkpoint_due(self) -> bool:
        """After a good step at the cadence (so every checkpoint is a "last good" one)."""
        done = self.run.step
        if self.bad_run or not (done % self.cfg.checkpoint_every == 0 or done == self.cfg.steps):
            return False
        if not all(bool(torch.isfinite(w).all()) for w in self.run.model.state_dict().values()):
            msg = f"the weights are not finite after step {done}"
            raise NonFiniteLoss(f"{msg}; last good checkpoint: {self.last_good}")
        return True

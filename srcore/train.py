"""Training: the seed's procedure on srcore, as one plain loop.

Random t per sample, x_t = q_sample(x0, y0, t) for the whole batch, the network predicts x0 - y0,
loss on x0_hat, Adam + cosine schedule, gradient clipping, bf16 autocast and channels_last on CUDA.
Checkpoints are written atomically every `checkpoint_every` steps. A checkpoint is continued only
when it holds an unfinished run with the same identity: the same settings that change the weights
(srcore.config marks them), the same code and the same training data. Batch k and the noise of
step k depend only on (seed, k), so a resumed run equals an uninterrupted one.

With `ema` > 0 an exponential moving average of the weights is kept (decay of update n:
min(ema, (1 + n) / (10 + n)), so short runs benefit too); it is what validation sees and what
train() returns on rank 0 (the saved model). Checkpoints hold the raw weights (to continue) and the average.

A step whose loss or gradient is not finite is skipped (no update) and counted; `max_nonfinite`
such steps in a row stop training with an error naming the step and the last good checkpoint.

Launched by torchrun, training is data-parallel (DDP; NCCL on CUDA, gloo on CPU): `batch_size` stays
the global batch and each rank takes its share of step k's batch and draws, so N processes give the
weights of one (up to the order of floating-point reductions). Rank 0 alone validates, writes
checkpoints and prints. Batches are prepared by `workers` data-loader processes.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .checkpoint import ModelFileError, read_checkpoint, save_checkpoint
from .config import DiffusionConfig, LossConfig, ModelConfig, Params, PrepareConfig, TrainConfig, weight_settings
from .data import PatchBatches, TrainSteps
from .diffusion import ResShift
from .losses import SRLoss
from .metrics import psnr, rgb_to_y
from .model import DualDomainUNet
from .sampler import autocast, pick_device, super_resolve_mean
from .tensors import to_uint8


class NonFiniteLoss(RuntimeError):
    """Too many non-finite steps in a row, or non-finite weights: training cannot go on."""


def train_step(
    net: torch.nn.Module, diffusion: ResShift, loss_fn: torch.nn.Module, opt: torch.optim.Optimizer,
    x0: torch.Tensor, y0: torch.Tensor, cond: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, grad_clip: float = 1.0,
) -> tuple[torch.Tensor, bool]:  # fmt: skip
    """One optimisation step. x0, y0, noise: B x 3 x P x P (x0, y0 in [-1, 1]); cond = model.condition(y0,
    origin); t: B chain indices. `net` is the network, plain, compiled or DDP-wrapped. Returns (detached
    loss, applied): when the loss or the gradient norm is not finite the update is skipped and the
    parameters are left untouched (checking both costs one device sync)."""
    dev = x0.device
    x_t = diffusion.q_sample(x0, y0, t, noise)
    with autocast(dev):
        residual = net(x_t, diffusion.timesteps[t].to(dev), cond)
    loss = loss_fn(y0 + residual.float(), x0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    applied = bool(torch.isfinite(loss) & torch.isfinite(grad_norm))
    if applied:
        opt.step()
    return loss.detach(), applied


def ema_decay(updates: int, ema: float) -> float:
    """Decay of the EMA update number `updates` (0, 1, ...): min(ema, (1 + n) / (10 + n)). The warm-up
    lets the average follow the weights closely at first, then it settles at `ema`."""
    return min(ema, (1 + updates) / (10 + updates))


@torch.no_grad()
def ema_update(average: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * model, parameter by parameter (buffers copied)."""
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p, 1.0 - decay)
    for a, b in zip(average.buffers(), model.buffers()):
        a.copy_(b)


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) set by torchrun; (0, 1, 0) in a plain process."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def _stop_with_launcher() -> None:
    """torchrun starts each rank in a session of its own, so killing the launcher (or `dvc repro`) with
    SIGKILL would leave the ranks training and writing checkpoints. On Linux a rank dies with its parent."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the launcher was already gone
            os._exit(1)


def _mean_over_ranks(value: float, dev: torch.device) -> float:
    if not dist.is_initialized():
        return value
    v = torch.tensor([value], dtype=torch.float64, device=dev)
    dist.all_reduce(v)
    return float(v.item()) / dist.get_world_size()


@torch.no_grad()
def validate(
    model: DualDomainUNet | None, diffusion: ResShift | None, patches: PatchBatches, seed: int = 0, batch: int = 8,
    sampler: str = "ancestral", samples: int = 1, ensemble: bool = False,
) -> float:  # fmt: skip
    """Mean Y-PSNR over the fixed validation patches (deterministic); model=None scores bicubic.
    No border is cropped: the patches lie inside their images. sampler, samples, ensemble: see
    srcore.sampler.super_resolve_mean."""
    scores = []
    for i in range(0, len(patches), batch):
        rows = patches.index.iloc[i : i + batch]
        x0, sr, origin = patches.rows(rows)
        if model is not None:
            dev = next(model.parameters()).device
            seeds = torch.arange(i, i + len(rows)) + seed
            sr = super_resolve_mean(model, diffusion, sr.to(dev), seeds, origin, sampler, samples, ensemble)
        scores += [psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in zip(to_uint8(sr), to_uint8(x0))]
    return float(np.mean(scores))


def code_fingerprint(extra: Iterable[str | Path] = ()) -> str:
    """sha256 of the source of every loaded srcore module (what this process really runs) and `extra` files.
    Files are named by folder/name, so a copy of the repository elsewhere (a queued experiment) matches."""
    mods = [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "srcore" and getattr(m, "__file__", None)]
    files = {Path(m.__file__).resolve() for m in mods} | {Path(e).resolve() for e in extra}
    h = hashlib.sha256()
    for name, f in sorted((f"{f.parent.name}/{f.name}", f) for f in files):
        h.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def run_identity(settings: dict[str, Any], code: str = "", data: str = "") -> dict:
    """What a checkpoint must match to be continued: the weight-changing settings, code and data fingerprints."""
    return {"settings": settings, "code": code, "data": data}


def identity_changes(saved: dict, wanted: dict) -> list[str]:
    """'key: A -> B' for each weight-changing setting that differs, then code / data changes."""
    s, w = saved.get("settings") or {}, wanted["settings"]
    out = [f"{k}: {s.get(k)!r} -> {w.get(k)!r}" for k in sorted(set(s) | set(w)) if s.get(k) != w.get(k)]
    if saved.get("code") != wanted["code"]:
        out.append("the code changed")
    if saved.get("data") != wanted["data"]:
        out.append("the training data changed")
    return out


def resumable_checkpoint(path: Path, identity: dict, steps: int, say: Callable = print) -> dict | None:
    """The checkpoint at `path` if it holds an unfinished run of this identity, else None (the reason said)."""
    if not Path(path).is_file():
        return None
    try:
        ck = read_checkpoint(path)
    except ModelFileError as e:
        say(f"checkpoint unusable, training from scratch: {e}")
        return None
    changes = identity_changes(ck.get("identity") or {}, identity)
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        say(f"{path} is another run ({'; '.join(changes[:3])}{more}): training from scratch")
        return None
    if int(ck["step"]) >= steps:
        say(f"{path} is a finished run (step {ck['step']}): training from scratch")
        return None
    return ck


def train(
    cfg: TrainConfig, model_cfg: ModelConfig, diff_cfg: DiffusionConfig, loss_cfg: LossConfig, scale: int,
    train_data: PatchBatches, valid_data: PatchBatches | None, checkpoint: Path,
    log: Callable[[dict, int], None] = lambda m, s: None, identity: dict | None = None, resume: bool | dict = True,
) -> DualDomainUNet:  # fmt: skip
    """Train to cfg.steps; returns the weights to use (on rank 0: the EMA when cfg.ema > 0). resume=True continues
    `checkpoint` when it holds an unfinished run of the same identity (default identity: these configs'
    weight-changing settings); a dict is a checkpoint the caller already checked with
    resumable_checkpoint; False starts from scratch."""
    if identity is None:
        p = Params(prepare=PrepareConfig(scale=scale), model=model_cfg, diffusion=diff_cfg, loss=loss_cfg, train=cfg)
        identity = run_identity(weight_settings(p))
    rank, world, local = distributed()
    say = print if rank == 0 else (lambda *a, **k: None)
    dev = pick_device(cfg.device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    parallel = "LOCAL_RANK" in os.environ  # launched by torchrun: DDP, even with one process
    if parallel:
        _stop_with_launcher()
    own_group = parallel and not dist.is_initialized()
    if own_group:  # generous timeout: ranks > 0 wait in an all-reduce while rank 0 validates
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=timedelta(minutes=30))
    torch.manual_seed(cfg.seed)
    model = DualDomainUNet(model_cfg).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    diffusion, loss_fn = ResShift.from_config(diff_cfg), SRLoss(loss_cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr_min)
    average = copy.deepcopy(model).requires_grad_(False).eval() if cfg.ema and rank == 0 else None  # rank 0 uses it
    ck = resumable_checkpoint(checkpoint, identity, cfg.steps, say) if resume is True else (resume or None)
    if parallel:  # rank 0's checkpoint decides for every rank (other nodes have no checkpoints/ of their own)
        shared = [ck if rank == 0 else None]
        dist.broadcast_object_list(shared, src=0)
        ck = shared[0]
    start, skipped, ema_updates = 0, 0, 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, skipped = int(ck["step"]), int(ck.get("skipped", 0))
        ema_updates = int(ck.get("ema_updates", 0))
        if average is not None:
            average.load_state_dict(ck["ema"])
        say(f"resuming from {checkpoint} at step {start}")
    net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None) if parallel else model
    net = torch.compile(net, dynamic=False) if cfg.compile else net  # fixed patch shapes; state stays in `model`
    steps = TrainSteps(train_data, diffusion.num_steps, cfg.seed, rank, world)
    loader = torch.utils.data.DataLoader(steps, batch_size=None, sampler=range(start, cfg.steps), num_workers=cfg.workers,
                                         pin_memory=dev.type == "cuda")  # fmt: skip
    val_diffusion = diffusion.respace(min(cfg.eval_sample_steps, diffusion.num_steps))
    last_good, bad_run, t0 = (f"{checkpoint} (step {start})" if start else "none"), 0, time.time()
    window = []  # finite losses since the last log line
    bar = tqdm(total=cfg.steps, initial=start, desc="train", unit="step", disable=rank != 0)
    for step, (x0, y0, origin, t, noise) in enumerate(loader, start):
        model.train()
        x0, y0, noise = (a.to(dev, non_blocking=True) for a in (x0, y0, noise))
        cond = model.condition(y0, origin.to(dev))
        loss_t, applied = train_step(net, diffusion, loss_fn, opt, x0, y0, cond, t, noise, cfg.grad_clip)
        loss, done = loss_t.item(), step + 1  # `applied` agrees on every rank: the gradient is all-reduced
        if not applied:
            bad_run, skipped = bad_run + 1, skipped + 1
            what = "gradient" if math.isfinite(loss) else f"loss ({loss})"
            say(f"step {done}: non-finite {what}, step skipped ({skipped} so far)")
            if bad_run >= cfg.max_nonfinite:
                msg = f"{bad_run} non-finite steps in a row, last at step {done}"
                raise NonFiniteLoss(f"{msg}; last good checkpoint: {last_good}")
        else:
            bad_run = 0
            window.append(loss)
            if cfg.ema:
                if average is not None:
                    ema_update(average, model, ema_decay(ema_updates, cfg.ema))
                ema_updates += 1
        sched.step()
        bar.update()
        metrics = {}
        if done % cfg.log_every == 0 or done == cfg.steps:
            mean = _mean_over_ranks(float(np.mean(window)) if window else float("nan"), dev)
            metrics |= {"train/loss": mean, "train/lr": sched.get_last_lr()[0], "train/skipped": skipped}
            bar.set_postfix(loss=f"{mean:.4f}")
            window = []
        if rank == 0 and valid_data is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            metrics["val/psnr_y"] = validate(model if average is None else average, val_diffusion, valid_data)
        if metrics and rank == 0:
            log(metrics, done)
        # A checkpoint is written only after a good step, so every checkpoint is a "last good" one.
        if bad_run == 0 and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
            if not all(bool(torch.isfinite(w).all()) for w in model.state_dict().values()):
                raise NonFiniteLoss(f"the weights are not finite after step {done}; last good checkpoint: {last_good}")
            if rank == 0:
                ema = {"ema": _cpu(average.state_dict()), "ema_updates": ema_updates} if average is not None else {}
                save_checkpoint(checkpoint, model, diff_cfg, scale, step=done, identity=identity, skipped=skipped,
                                optimizer=opt.state_dict(), scheduler=sched.state_dict(), **ema)  # fmt: skip
            last_good = f"{checkpoint} (step {done})"
    bar.close()
    if own_group:
        dist.destroy_process_group()
    say(f"trained {cfg.steps - start} steps in {time.time() - t0:.0f}s, {skipped} skipped (non-finite loss or gradient)")
    return model if average is None else average


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}

"""Training: the seed's procedure on srcore, as one plain loop.

Random t per sample, x_t = q_sample(x0, y0, t) for the whole batch, the network predicts x0 - y0,
loss on x0_hat, Adam + cosine schedule, gradient clipping, bf16 autocast and channels_last on CUDA.
Checkpoints are written atomically every `checkpoint_every` steps. A checkpoint is continued only
when it holds an unfinished run with the same identity: the same settings that change the weights
(srcore.config marks them), the same code and the same training data. Batch k and the noise of
step k depend only on (seed, k), so a resumed run equals an uninterrupted one.

A step whose loss or gradient is not finite is skipped (no update) and counted; `max_nonfinite`
such steps in a row stop training with an error naming the step and the last good checkpoint.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import ModelFileError, read_checkpoint, save_checkpoint
from .config import DiffusionConfig, LossConfig, ModelConfig, Params, PrepareConfig, TrainConfig, weight_settings
from .data import PatchBatches
from .diffusion import ResShift
from .losses import SRLoss
from .metrics import psnr, rgb_to_y
from .model import DualDomainUNet
from .sampler import autocast, pick_device, super_resolve
from .tensors import to_uint8


class NonFiniteLoss(RuntimeError):
    """Too many non-finite steps in a row, or non-finite weights: training cannot go on."""


def train_step(
    model: DualDomainUNet, diffusion: ResShift, loss_fn: torch.nn.Module, opt: torch.optim.Optimizer,
    x0: torch.Tensor, y0: torch.Tensor, origin: torch.Tensor, grad_clip: float = 1.0, generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, bool]:  # fmt: skip
    """One optimisation step on a batch (x0, y0 in [-1, 1], B x 3 x P x P). Returns (detached loss,
    applied). When the loss or the gradient norm is not finite the update is skipped and the
    parameters are left untouched (checking both costs one device sync)."""
    B, dev = x0.shape[0], x0.device
    t = torch.randint(1, diffusion.num_steps + 1, (B,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator).to(dev, non_blocking=True)
    x_t = diffusion.q_sample(x0, y0, t, noise)
    with autocast(dev):
        residual = model(x_t, diffusion.timesteps[t].to(dev), model.condition(y0, origin))
    loss = loss_fn(y0 + residual.float(), x0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    applied = bool(torch.isfinite(loss) & torch.isfinite(grad_norm))
    if applied:
        opt.step()
    return loss.detach(), applied


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


def resumable_checkpoint(path: Path, identity: dict, steps: int) -> dict | None:
    """The checkpoint at `path` if it holds an unfinished run of this identity, else None (the reason printed)."""
    if not Path(path).is_file():
        return None
    try:
        ck = read_checkpoint(path)
    except ModelFileError as e:
        print(f"checkpoint unusable, training from scratch: {e}")
        return None
    changes = identity_changes(ck.get("identity") or {}, identity)
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        print(f"{path} is another run ({'; '.join(changes[:3])}{more}): training from scratch")
        return None
    if int(ck["step"]) >= steps:
        print(f"{path} is a finished run (step {ck['step']}): training from scratch")
        return None
    return ck


def train(
    cfg: TrainConfig, model_cfg: ModelConfig, diff_cfg: DiffusionConfig, loss_cfg: LossConfig, scale: int,
    train_data: PatchBatches, valid_data: PatchBatches | None, checkpoint: Path,
    log: Callable[[dict, int], None] = lambda m, s: None, identity: dict | None = None, resume: bool | dict = True,
) -> DualDomainUNet:  # fmt: skip
    """Train to cfg.steps. resume=True continues `checkpoint` when it holds an unfinished run of the same
    identity (default identity: these configs' weight-changing settings); a dict is a checkpoint the
    caller already checked with resumable_checkpoint; False starts from scratch."""
    if identity is None:
        p = Params(prepare=PrepareConfig(scale=scale), model=model_cfg, diffusion=diff_cfg, loss=loss_cfg, train=cfg)
        identity = run_identity(weight_settings(p))
    dev = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = DualDomainUNet(model_cfg).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    diffusion, loss_fn = ResShift.from_config(diff_cfg), SRLoss(loss_cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr_min)
    ck = resumable_checkpoint(checkpoint, identity, cfg.steps) if resume is True else (resume or None)
    start, skipped = 0, 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, skipped = int(ck["step"]), int(ck.get("skipped", 0))
        print(f"resuming from {checkpoint} at step {start}")
    net = torch.compile(model, dynamic=False) if cfg.compile else model  # fixed patch shapes; state stays in `model`
    val_diffusion = diffusion.respace(min(cfg.eval_sample_steps, diffusion.num_steps))
    last_good, bad_run, t0 = (f"{checkpoint} (step {start})" if start else "none"), 0, time.time()
    window = []  # finite losses since the last log line
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="train", unit="step")
    for step in bar:
        model.train()
        x0, y0, origin = (a.to(dev, non_blocking=True) for a in train_data.batch(step))
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        loss_t, applied = train_step(net, diffusion, loss_fn, opt, x0, y0, origin, cfg.grad_clip, gen)
        loss, done = loss_t.item(), step + 1
        if not applied:
            bad_run, skipped = bad_run + 1, skipped + 1
            what = "gradient" if math.isfinite(loss) else f"loss ({loss})"
            print(f"step {done}: non-finite {what}, step skipped ({skipped} so far)")
            if bad_run >= cfg.max_nonfinite:
                msg = f"{bad_run} non-finite steps in a row, last at step {done}"
                raise NonFiniteLoss(f"{msg}; last good checkpoint: {last_good}")
        else:
            bad_run = 0
            window.append(loss)
        sched.step()
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
        # A checkpoint is written only after a good step, so every checkpoint is a "last good" one.
        if bad_run == 0 and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
            if not all(bool(torch.isfinite(t).all()) for t in model.state_dict().values()):
                raise NonFiniteLoss(f"the weights are not finite after step {done}; last good checkpoint: {last_good}")
            save_checkpoint(checkpoint, model, diff_cfg, scale, step=done, identity=identity, skipped=skipped,
                            optimizer=opt.state_dict(), scheduler=sched.state_dict())  # fmt: skip
            last_good = f"{checkpoint} (step {done})"
    print(f"trained {cfg.steps - start} steps in {time.time() - t0:.0f}s, {skipped} skipped (non-finite loss or gradient)")
    return model

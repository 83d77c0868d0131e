"""Fitting a clean-up model's level head after training: which level suits which input.

Batches of training patches drawn past the last training step (the pipeline's own LR at levels
drawn in [0, 1], from keys no step used) are upscaled by the trained network in one step, as
sampling does, told each level of srcore.net.level.GRID. The PSNR of each result against its HR
patch, less level 0's, is what the head learns to predict from y0 alone (Adam on the squared
error, in dB); the network itself does not change. About a minute on 2 CPU cores for the photo
model; the stage prints the fit's error.
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from srcore.data.batches import PatchBatches
from srcore.diffusion.resshift import ResShift
from srcore.net.level import GRID, on_grid
from srcore.net.unet import DualDomainUNet

BATCHES = 64  # batches of training patches whose gains are measured (512 patches of 8)
EPOCHS = 40  # passes of the head over them
CLIP_DB = 6.0  # a gain beyond this (a flat patch) says nothing more about the level


@torch.no_grad()
def level_gains(
    net: DualDomainUNet, diffusion: ResShift, batch: tuple[torch.Tensor, ...], seed: int
) -> torch.Tensor:
    """B x len(GRID): the PSNR (dB) of the one-step SR told each level, less level 0's, of one
    batch (x0, y0, origin, scale, level, ...) on the network's device."""
    x0, y0, origin, scale = (a.to(next(net.parameters()).device) for a in batch[:4])
    one = diffusion.respace(1)
    noise = torch.randn(y0.shape, generator=torch.Generator().manual_seed(seed)).to(y0.device)
    errors = []
    for level in GRID:
        cond = net.condition(y0, origin, scale, torch.full((len(y0),), level))
        sr, _ = one.p_sample_loop(
            lambda x, t, c=cond: (y0 + net(x, t, c).float()).clamp(-1, 1), y0, lambda k: noise
        )
        errors.append(((sr - x0) ** 2).mean((1, 2, 3)).clamp_min(1e-10))
    psnr = -10 * torch.log10(torch.stack(errors, 1))
    return (psnr - psnr[:, :1]).clamp(-CLIP_DB, CLIP_DB)


def fit_level_head(
    net: DualDomainUNet, diffusion: ResShift, patches: PatchBatches, first_key: int
) -> float:
    """Fit net.level_head to the measured gains of BATCHES batches of `patches` (batch keys from
    first_key on); returns the fit's root-mean-square error in dB on the last eighth, held out."""
    net.eval()
    grids, targets = [], []
    for k in tqdm(range(first_key, first_key + BATCHES), desc="level head", unit="batch"):
        batch = patches.batch(k)
        targets.append(level_gains(net, diffusion, batch, k))
        grids.append(on_grid(net, batch[1].to(targets[-1].device)))
    held = BATCHES // 8
    head = net.level_head.requires_grad_(True).train()
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(first_key)
    for _ in range(EPOCHS):
        for i in torch.randperm(BATCHES - held, generator=gen).tolist():
            loss = torch.nn.functional.mse_loss(head(grids[i]), targets[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    head.requires_grad_(False).eval()
    with torch.no_grad():
        held_out = [
            torch.nn.functional.mse_loss(head(g), y) for g, y in zip(grids[-held:], targets[-held:])
        ]
    return float(torch.stack(held_out).mean().sqrt())

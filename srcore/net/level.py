"""The level head of a clean-up model: which clean-up level suits an input, for `--cleanup auto`.

A clean-up model (model.cleanup) is told how degraded its input is, 0 (clean) to 1 (the real
group's full draw), and a user rarely knows. The level an input was made at is not the one to tell:
measured, a JPEG at quality 75 or light noise is upscaled best told 0, a blurred photo about 0.5. So
this small head predicts, from the bicubic base y0 alone, the PSNR each level of GRID would give
over level 0 (in dB), and an image is told the level with the best predicted gain. It is fitted
after training on the network's own one-step results (srcore.train.levels). An image's prediction
is the mean over up to CROPS crops of y0 (the crops bound the cost on large photos).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # the levels whose gains the head predicts
CROPS = 16  # crops of y0 an image's prediction is averaged over
CROP = 128  # their side in pixels (the photo model's training patch)
DETAIL_GAIN = 8.0  # y0's detail is small against its range [-1, 1]: brought to the convs' scale
LEVEL_STEP = 0.05  # levels are rounded to this: levels told repeat, and print as read


class LevelHead(nn.Module):
    """y0 on the network's grid (pixel-unshuffled by the stem: B x 3 stem^2 x H/stem x W/stem) ->
    the predicted PSNR gain of each GRID level over level 0, B x len(GRID) (dB). It reads y0's
    detail (y0 less its 3 x 3 local mean): noise, JPEG blocks and the lack of detail that blur
    leaves show there, where the picture's content would otherwise swamp them. Two strided
    convolutions, then the mean and the log-deviation of the features."""

    def __init__(self, in_channels: int, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.GELU(),
        )
        self.out = nn.Linear(2 * width, len(GRID))

    def forward(self, y0_grid: torch.Tensor) -> torch.Tensor:
        """B x 3 stem^2 x h x w in [-1, 1] -> B x len(GRID) predicted gains (dB)."""
        x = y0_grid.float()
        detail = (x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)) * DETAIL_GAIN
        f = self.features(detail)
        deviation = f.std((2, 3), correction=0)  # 0, not NaN, on a 1 x 1 map (a tiny image)
        return self.out(torch.cat([f.mean((2, 3)), torch.log(deviation + 1e-3)], 1))


def best_level(gains: torch.Tensor) -> float:
    """The level of the largest predicted gain (len(GRID) numbers), refined between grid points by
    the parabola through the best and its neighbours, rounded to LEVEL_STEP."""
    k = int(gains.argmax())
    level = GRID[k]
    if 0 < k < len(GRID) - 1:
        left, mid, right = (float(g) for g in gains[k - 1 : k + 2])
        bend = left - 2 * mid + right
        if bend < 0:  # a peak: its vertex lies within half a grid step of the best point
            level += (left - right) / (2 * bend) * (GRID[1] - GRID[0])
    return rounded(level)


def rounded(level: float) -> float:
    """`level` to the nearest multiple of LEVEL_STEP."""
    return round(round(level / LEVEL_STEP) * LEVEL_STEP, 4)


def crops_of(y0: torch.Tensor, side: int, count: int = CROPS) -> torch.Tensor:
    """1 x 3 x H x W -> up to `count` crops of side x side on an even grid (N x 3 x side x side);
    an image smaller than a crop along a side is cropped to the largest multiple of 16 below its
    own size along it (at least 16: smaller images are padded first)."""
    short = max(0, 16 - y0.shape[-2]), max(0, 16 - y0.shape[-1])
    if any(short):
        y0 = F.pad(y0, (0, short[1], 0, short[0]), mode="replicate")
    _, _, H, W = y0.shape
    h, w = min(side, H // 16 * 16), min(side, W // 16 * 16)
    rows = max(1, min(int(count**0.5), H // h))
    cols = max(1, min(count // rows, W // w))
    tops = torch.linspace(0, H - h, rows).round().long().tolist()
    lefts = torch.linspace(0, W - w, cols).round().long().tolist()
    return torch.cat([y0[:, :, t : t + h, c : c + w] for t in tops for c in lefts])


def on_grid(net: nn.Module, y0: torch.Tensor) -> torch.Tensor:
    """y0 (B x 3 x H x W, H and W multiples of the stem) pixel-unshuffled as the head reads it."""
    stem = net.cfg.stem
    return F.pixel_unshuffle(y0, stem) if stem > 1 else y0


@torch.no_grad()
def estimate_level(net: nn.Module, y0: torch.Tensor) -> float:
    """The level a clean-up network's head picks for one image: y0, 1 x 3 x H x W in [-1, 1]
    (the bicubic base at the scale it is enlarged by), its gains averaged over its crops."""
    pieces = crops_of(y0, CROP).to(next(net.parameters()).device)
    return best_level(net.level_head(on_grid(net, pieces)).mean(0))


class AutoLevel(nn.Module):
    """A clean-up network told, for each input, the level its head picks from that input's y0:
    condition() estimates and adds it, the rest is the network's, so the samplers and the
    validation call it as any network (srcore.net.unet.AtLevel's shape). A whole image goes through
    Sampler.enlarge, which picks once for it; a batch of patches (validation) gets one per patch."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net, self.cfg = net, net.cfg

    def condition(
        self,
        y0: torch.Tensor,
        origin: torch.Tensor | None = None,
        scale: float | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network's condition() with each item's estimated level."""
        levels = torch.tensor([estimate_level(self.net, y[None]) for y in y0])
        return self.net.condition(y0, origin, scale, levels)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The network's forward(): cond carries the levels."""
        return self.net(x_t, t, cond)

    def num_params(self) -> int:
        """The network's parameters (the wrapper has none)."""
        return self.net.num_params()

"""The dual-domain UNet: spatial, DCT and Haar-wavelet branches fused at every level.

The network predicts the residual x0 - y0 from (x_t, t, cond), where cond = condition(y0, origin,
scale) is y0 plus its positional encoding and amplitude map, and for a multi-scale model
(`cfg.scales`) a constant plane holding the scale: the convolutions see it (scale_input channel), or
the network reads it back and embeds it, then adds that to the time embedding (scale_input
embedding) or scales and shifts every block's features with it (scale_input film: FiLM). A model
with the clean-up knob (`cfg.cleanup`) gets one more plane, the level its input was degraded at (0
clean .. 1 the real group's full draw), always embedded and applied by FiLM (with the scale's
embedding added under scale_input film); `at_level` fixes it for sampling. It knows nothing of the
diffusion schedule: t is just a number fed to a sinusoidal embedding. H and W must be multiples of
`cfg.size_multiple` (what the stem, the poolings, the wavelet and the block DCT need):
srcore.diffusion.sampler pads whole images once, and training patches are multiples by the params
check.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from srcore.config.schema import EMBEDDED_SCALE_INPUTS, ModelConfig
from srcore.net.dct import block_dct, block_idct, dct2d, idct2d
from srcore.net.encodings import fourier_encoding, local_amplitude
from srcore.net.level import AutoLevel, LevelHead


class TimeEmbedding(nn.Module):
    """t (B,) -> B x dim: sinusoidal features (as in the notebook and DDPM) through a 2-layer
    MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device) * (-math.log(10000.0) / (half - 1)))
        v = t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([v.sin(), v.cos()], -1))


def scale_code(scale: torch.Tensor) -> torch.Tensor:
    """The number a multi-scale network is told: log2(scale) / 2, 0 at x1 and 1 at x4."""
    return torch.log2(scale) / 2


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.ReLU(inplace=True),
        )


class DCTBranch(nn.Module):
    """DCT -> 1x1 conv, ReLU, 1x1 conv on the coefficients -> inverse DCT. The 1x1 convs mix
    channels at each coefficient of each block, so they run on block_dct's (blocks x coefficients)
    layout."""

    def __init__(self, ch: int, block: int):
        super().__init__()
        self.block = block
        self.process = nn.Sequential(
            nn.Conv2d(ch, ch, 1), nn.ReLU(inplace=True), nn.Conv2d(ch, ch, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.block == 0:
            return idct2d(self.process(dct2d(x)))
        H, W = x.shape[-2:]
        return block_idct(self.process(block_dct(x, self.block)), self.block, H, W)


class DWTBranch(nn.Module):
    """One-level Haar DWT; LL, LH, HL, HH each get their own 1x1 conv; inverse DWT.

    The Haar transform of each 2x2 block [[a, b], [c, d]] is written out (sums and differences, as
    pytorch-wavelets' 'haar' computes it, band order and signs included): no filter convolutions,
    and it runs in bf16 under autocast. The per-band convs' weights are the rows of one grouped
    conv.
    """

    def __init__(self, ch: int):
        super().__init__()
        self.process = nn.Conv2d(4 * ch, 4 * ch, 1, groups=4)  # holds the 4 bands' weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b, c, d = x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]
        top, bottom, dtop, dbottom = a + b, c + d, a - b, c - d  # row sums and row differences
        bands = (
            (top + bottom) / 2,
            (top - bottom) / 2,
            (dtop + dbottom) / 2,
            (dtop - dbottom) / 2,
        )  # LL, LH, HL, HH
        w, bias = self.process.weight.chunk(4), self.process.bias.chunk(4)
        ll, lh, hl, hh = (F.conv2d(band, w[k], bias[k]) for k, band in enumerate(bands))
        s, t, u, v = (
            ll + lh,
            ll - lh,
            hl + hh,
            hl - hh,
        )  # the inverse (the transform is its own inverse)
        pixels = torch.stack(
            ((s + u) / 2, (s - u) / 2, (t + v) / 2, (t - v) / 2), 2
        )  # a, b, c, d: B C 4 h w
        B, C, _, h, w_ = pixels.shape
        return F.pixel_shuffle(pixels.reshape(B, 4 * C, h, w_), 2)


class DualDomainBlock(nn.Module):
    """x + fuse([spatial(h), dct(h), dwt(h)]) with h = x + time bias; branches switchable. With
    FiLM (scale_input film, or the clean-up knob), h = (x + time bias) (1 + gamma(s)) + beta(s)
    from s, the scale's and the level's embeddings added."""

    def __init__(self, ch: int, cfg: ModelConfig):
        super().__init__()
        self.time = nn.Linear(cfg.time_dim, ch)
        self.spatial = ConvBlock(ch, ch)
        self.dct = DCTBranch(ch, cfg.dct_block) if cfg.dct else None
        self.dwt = DWTBranch(ch) if cfg.dwt else None
        self.fuse = nn.Conv2d(ch * (1 + cfg.dct + cfg.dwt), ch, 1)
        self.film = None
        if cfg.film:
            self.film = nn.Linear(cfg.time_dim, 2 * ch)
            nn.init.zeros_(self.film.weight)  # starts as the identity: gamma = beta = 0
            nn.init.zeros_(self.film.bias)

    def forward(
        self, x: torch.Tensor, temb: torch.Tensor, semb: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = x + self.time(temb)[:, :, None, None]
        if self.film is not None:
            gamma, beta = self.film(semb)[:, :, None, None].chunk(2, 1)
            h = h * (1 + gamma) + beta
        parts = [self.spatial(h)]
        if self.dct is not None:
            parts.append(self.dct(h))
        if self.dwt is not None:
            parts.append(self.dwt(h))
        return x + self.fuse(torch.cat(parts, 1))


class DualDomainUNet(nn.Module):
    """UNet of DualDomainBlocks. forward(x_t, t, cond) -> the predicted residual x0 - y0,
    B x 3 x H x W.

    With `stem` s > 1 the inputs (x_t and the conditioning, both computed at output resolution) are
    pixel-unshuffled to s^2 times the channels at 1/s of the resolution, a 1x1 convolution mixes
    them, the UNet runs there, and the residual is pixel-shuffled back: the cost per output pixel
    drops by about s^2 while the chain, the bicubic base and the encodings stay at output
    resolution. s = 1 is the notebook's layout (two 3x3 convolutions at full resolution).
    """

    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        self.cfg = cfg
        c = cfg.width
        self.time = TimeEmbedding(cfg.time_dim)
        if cfg.scales and cfg.scale_input in EMBEDDED_SCALE_INPUTS:  # 1000 x code, like t's 0..T
            self.scale_embedding = TimeEmbedding(cfg.time_dim)
        if cfg.cleanup:
            self.level_embedding = TimeEmbedding(cfg.time_dim)
        s2, cin = cfg.stem**2, cfg.in_channels * cfg.stem**2
        if cfg.stem == 1:
            self.inc = ConvBlock(cin, c)
        else:  # a 1x1 first: a 3x3 over s^2 x (3 + cond) channels would cost more than the UNet
            self.inc = nn.Sequential(
                nn.Conv2d(cin, c, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, c, 3, padding=1),
                nn.ReLU(inplace=True),
            )
        self.downs = nn.ModuleList(DualDomainBlock(c, cfg) for _ in range(cfg.depth))
        self.mid = DualDomainBlock(c, cfg)
        # Upsample + conv rather than transposed conv: no checkerboard artefacts (the notebook's
        # second limitation).
        self.ups = nn.ModuleList(nn.Conv2d(c if i == 0 else 2 * c, c, 1) for i in range(cfg.depth))
        self.decs = nn.ModuleList(DualDomainBlock(2 * c, cfg) for _ in range(cfg.depth))
        self.out = nn.Conv2d(2 * c if cfg.depth else c, 3 * s2, 1)
        nn.init.zeros_(self.out.weight)  # starts as "y0 is the answer": stable first steps
        nn.init.zeros_(self.out.bias)
        if cfg.cleanup:  # last, so the other layers start as without it; fitted after training
            self.level_head = LevelHead(3 * s2)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _to_grid(self, x: torch.Tensor) -> torch.Tensor:
        """B x C x H x W, H and W multiples of size_multiple -> pixel-unshuffled:
        B x C*stem^2 x H/stem x W/stem."""
        H, W = x.shape[-2:]
        m = self.cfg.size_multiple
        if H % m or W % m:
            raise ValueError(
                f"the network takes H and W that are multiples of {m}, got {H}x{W} "
                "(srcore.diffusion.sampler.super_resolve pads; training patches are multiples)"
            )
        return F.pixel_unshuffle(x, self.cfg.stem) if self.cfg.stem > 1 else x

    def condition(
        self,
        y0: torch.Tensor,
        origin: torch.Tensor | None = None,
        scale: float | torch.Tensor | None = None,
        level: float | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The conditioning on the UNet's grid, computed once per image and reused at every step.

        y0: B x 3 x H x W in [-1, 1], H and W multiples of size_multiple; origin: B x 2 (top, left)
        in HR pixels, default 0; scale: the factor y0 was enlarged by, one or B numbers (needed by
        a multi-scale model, ignored by a single-scale one); level: the clean-up level in [0, 1],
        one or B numbers (needed with cfg.cleanup, ignored otherwise). Returns y0, its encodings,
        its amplitude and the scale and level planes, pixel-unshuffled: B x cond_channels*stem^2
        x H/stem x W/stem.
        """
        B, _, H, W = y0.shape
        parts = [y0]
        if self.cfg.pos_freqs:
            if origin is None:
                origin = torch.zeros(B, 2, dtype=torch.long, device=y0.device)
            pe = fourier_encoding(
                origin.to(y0.device), H, W, self.cfg.pos_freqs, self.cfg.pos_period
            )
            parts.append(pe.to(y0.dtype))
        if self.cfg.amp_kernel:
            parts.append(local_amplitude((y0 + 1) / 2, self.cfg.amp_kernel))
        if self.cfg.scales:
            if scale is None:
                raise ValueError("a multi-scale model needs the scale y0 was enlarged by")
            s = torch.as_tensor(scale, dtype=torch.float32, device=y0.device).reshape(-1)
            parts.append(scale_code(s.expand(B))[:, None, None, None].expand(B, 1, H, W))
        if self.cfg.cleanup:
            if level is None:
                raise ValueError("a model with the clean-up knob needs the level (0 clean .. 1)")
            lv = torch.as_tensor(level, dtype=torch.float32, device=y0.device).reshape(-1)
            parts.append(lv.expand(B)[:, None, None, None].expand(B, 1, H, W))
        return self._to_grid(torch.cat(parts, 1))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x_t: B x 3 x H x W (multiples of size_multiple); t: B model timesteps;
        cond = condition(y0, origin, scale, level). Returns the residual, B x 3 x H x W."""
        temb, semb = self.time(t.reshape(-1).to(x_t.device)), None
        plane = self.cfg.stem**2  # channels of a constant plane on the grid
        if self.cfg.cleanup:  # the level plane: the last of cond
            semb = self.level_embedding(1000 * cond[:, -1, 0, 0].float())
            cond = cond[:, :-plane]
        if self.cfg.scales and self.cfg.scale_input in EMBEDDED_SCALE_INPUTS:  # then the scale's
            scale_emb = self.scale_embedding(1000 * cond[:, -1, 0, 0].float())
            cond = cond[:, :-plane]
            if self.cfg.scale_input == "embedding":
                temb = temb + scale_emb
            else:
                semb = scale_emb if semb is None else semb + scale_emb
        x = torch.cat([self._to_grid(x_t), cond.to(x_t.dtype)], 1)
        skips = [self.inc(x)]
        for block in self.downs:
            skips.append(block(F.max_pool2d(skips[-1], 2), temb, semb))
        h = self.mid(skips.pop(), temb, semb)
        for up, dec in zip(self.ups, self.decs):
            h = up(F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False))
            h = dec(torch.cat([h, skips.pop()], 1), temb, semb)
        out = self.out(h)
        return F.pixel_shuffle(out, self.cfg.stem) if self.cfg.stem > 1 else out


class AtLevel(nn.Module):
    """A clean-up network told one level at inference: condition() adds it, the rest is the
    network's, so the samplers, the tiles and the exporter call it as any network."""

    def __init__(self, net: DualDomainUNet, level: float):
        super().__init__()
        self.net, self.level, self.cfg = net, level, net.cfg

    def condition(
        self,
        y0: torch.Tensor,
        origin: torch.Tensor | None = None,
        scale: float | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network's condition() with this level."""
        return self.net.condition(y0, origin, scale, self.level)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The network's forward(): cond carries the level."""
        return self.net(x_t, t, cond)

    def num_params(self) -> int:
        """The network's parameters (the wrapper has none)."""
        return self.net.num_params()


def at_level(net: DualDomainUNet, level: float | str) -> nn.Module:
    """The network told clean-up level `level` in [0, 1], or auto: each input's own estimate
    (srcore.net.level.AutoLevel). A network without the knob: itself."""
    if not net.cfg.cleanup:
        return net
    return AutoLevel(net) if level == "auto" else AtLevel(net, level)

"""LPIPS (Zhang et al., 2018), the AlexNet variant: a learned perceptual distance, lower is closer.

Both images go through AlexNet's five convolution stages; at each stage the features are
normalised over channels, their squared difference is weighted per channel by LPIPS's linear
layer and averaged over space; the five terms are summed. Nothing is downloaded: the weights are
two local files in one folder (evaluate.lpips_dir):

    alexnet-owt-7be5be79.pth   torchvision's ImageNet AlexNet
    alex.pth                   LPIPS v0.1's linear layers (lin0 ... lin4)

A connected machine fetches them once (docs/experiments.md). They are read as tensors only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srcore.common.errors import UserError

BACKBONE, LINEAR = "alexnet-owt-7be5be79.pth", "alex.pth"
CHANNELS = (64, 192, 384, 256, 256)
# AlexNet's convolutions (out, in, kernel, stride, padding) under torchvision's `features.N` keys
CONVS = {0: (64, 3, 11, 4, 2), 3: (192, 64, 5, 1, 2), 6: (384, 192, 3, 1, 1)}
CONVS |= {8: (256, 384, 3, 1, 1), 10: (256, 256, 3, 1, 1)}
SHIFT = (-0.030, -0.088, -0.188)  # LPIPS's input scaling of [-1, 1] images
SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """distance(a, b): B x 3 x H x W in [-1, 1] each -> B distances (0 for equal images)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.ModuleDict(
            {str(i): nn.Conv2d(c_in, c, k, s, p) for i, (c, c_in, k, s, p) in CONVS.items()}
        )
        self.lin = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU outputs LPIPS compares."""
        x, out = (x - self.shift) / self.scale, []
        for i in CONVS:
            if i in (3, 6):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(self.features[str(i)](x))
            out.append(x)
        return out

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: B x 3 x H x W in [-1, 1] -> B distances >= 0."""
        total = 0.0
        for lin, fa, fb in zip(self.lin, self.stages(a), self.stages(b)):
            na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((na - nb) ** 2).mean(dim=(2, 3))[:, 0]
        return total


def load_lpips(folder: str | Path, setting: str = "evaluate.lpips_dir") -> LPIPS:
    """The network from the two weight files in `folder`; a UserError names the setting (or
    flag) and what is missing."""
    folder = Path(folder)
    files = {name: folder / name for name in (BACKBONE, LINEAR)}
    if missing := [str(p) for p in files.values() if not p.is_file()]:
        raise UserError(f"{setting}: {', '.join(missing)} not found")
    try:
        backbone = torch.load(files[BACKBONE], map_location="cpu", weights_only=True)
        linear = torch.load(files[LINEAR], map_location="cpu", weights_only=True)
        net = LPIPS()
        net.features.load_state_dict(
            {
                k.removeprefix("features."): v
                for k, v in backbone.items()
                if k.startswith("features.")
            }
        )
        net.lin.load_state_dict(
            {f"{k[3]}.weight": v for k, v in linear.items() if k.endswith("model.1.weight")}
        )
    except Exception as e:  # a truncated, foreign or pickled file: one short line naming it
        raise UserError(
            f"{setting}: {folder} does not hold LPIPS weights ({type(e).__name__})"
        ) from e
    return net.eval()


def lpips_distance(net: LPIPS, a: np.ndarray, b: np.ndarray) -> float:
    """LPIPS between two uint8 H x W x 3 images."""
    t = [
        torch.from_numpy(np.array(x, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1 for x in (a, b)
    ]
    return float(net(*t)[0])

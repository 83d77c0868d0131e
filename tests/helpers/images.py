"""Small images and untrained networks that the tests make (nothing is downloaded)."""

import numpy as np
import torch

from srcore.config.schema import ModelConfig
from srcore.net.unet import DualDomainUNet


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 h x w x 3: a smooth pattern plus mild noise, like a photo's texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 128 + 70 * np.sin(x / 13.0) * np.cos(y / 17.0)
    return np.clip(img[..., None] + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def tiny_model(seed: int = 0, **cfg) -> DualDomainUNet:
    """A width-8 network whose output layer (and FiLM layers, in a multi-scale one) are not zero,
    so its residual is not trivial and depends on the scale; a clean-up one's level head picks 0.5
    on every input (neither the default level 0 nor 1)."""
    torch.manual_seed(seed)
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, **{"scales": (), **cfg})).eval()
    torch.nn.init.normal_(m.out.weight, std=0.05)
    for name, w in m.named_parameters():
        if ".film." in name:
            torch.nn.init.normal_(w, std=0.1)
    if m.cfg.cleanup:
        prefer_level(m, 0.5)
    return m


def prefer_level(net: DualDomainUNet, level: float) -> None:
    """Make a clean-up network's level head predict the largest gain at `level` (a GRID point)
    whatever its input."""
    from srcore.net.level import GRID

    with torch.no_grad():
        net.level_head.out.weight.zero_()
        net.level_head.out.bias.copy_(-(torch.tensor(GRID) - level).abs())


def png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height RGB pixels and holds none (a decompression bomb's
    signature: Pillow refuses it on open)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def deep_rgb(h: int, w: int, alpha: bool = False, seed: int = 0) -> np.ndarray:
    """uint16 h x w x 3 (or 4) with low bytes that 8 bits would lose."""
    rng = np.random.default_rng(seed)
    base = smooth_image(h, w, seed).astype(np.uint16) * 257
    a = (base + rng.integers(0, 200, base.shape)).astype(np.uint16)
    if alpha:
        a = np.concatenate([a, np.full((h, w, 1), 40000, np.uint16)], axis=2)
    return a

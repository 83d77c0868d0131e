"""Where the network runs: the device a `device` setting or `--device` flag names, and its
precision.

On CUDA the network runs under bf16 autocast (the chain arithmetic stays fp32); on the CPU in fp32.
"""

from __future__ import annotations

import contextlib

import torch

from srcore.common.errors import DeviceError
from srcore.config.schema import DEVICES


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cpu' / 'cuda' as asked.

    Raises DeviceError (a UserError) for an unknown name or for cuda on a machine without CUDA.
    """
    allowed = f"(allowed: {', '.join(DEVICES)})"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in DEVICES:
        raise DeviceError(f"device {name!r} is not known {allowed}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device 'cuda' asked for, but torch sees no CUDA device {allowed}")
    return torch.device(name)


def autocast(device: torch.device, cache: bool = True) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on the CPU.

    cache=False for inference: autocast otherwise keeps the bf16 copy of every weight that requires
    grad until the outermost autocast context exits, and a CUDA graph captured inside would record
    reads of those copies, which it does not own.
    """
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=cache)
    return contextlib.nullcontext()

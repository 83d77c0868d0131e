"""Data-parallel processes under torchrun: this process's rank and device, the process group, and
what the ranks share (rank 0's checkpoint, the mean of a logged value). A plain process is rank 0
of 1 and none of this communicates.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta

import torch
import torch.distributed as dist

from srcore.config.schema import TrainConfig
from srcore.net.device import pick_device


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) set by torchrun; (0, 1, 0) in a plain process."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def stop_with_launcher() -> None:
    """torchrun starts each rank in a session of its own, so killing the launcher (or `dvc repro`)
    with SIGKILL would leave the ranks training and writing checkpoints. On Linux a rank dies with
    its parent."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the launcher was already gone
            os._exit(1)


def mean_over_ranks(value: float, dev: torch.device) -> float:
    """The mean of `value` over the ranks (itself in a plain process)."""
    if not dist.is_initialized():
        return value
    v = torch.tensor([value], dtype=torch.float64, device=dev)
    dist.all_reduce(v)
    return float(v.item()) / dist.get_world_size()


def init_process(cfg: TrainConfig) -> tuple[torch.device, bool, bool]:
    """(this rank's device, launched by torchrun, process group created here)."""
    _, _, local = distributed()
    dev = pick_device(cfg.device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    parallel = "LOCAL_RANK" in os.environ  # launched by torchrun: DDP, even with one process
    if parallel:
        stop_with_launcher()
    own_group = parallel and not dist.is_initialized()
    if own_group:  # generous timeout: ranks > 0 wait in an all-reduce while rank 0 validates
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(minutes=30))
    return dev, parallel, own_group


def shared_checkpoint(checkpoint: dict | None, parallel: bool) -> dict | None:
    """Rank 0's checkpoint decides for every rank (other nodes have no checkpoints/ of their
    own)."""
    if not parallel:
        return checkpoint
    shared = [checkpoint if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def rank_of_process() -> int:
    """This process's rank in the process group; 0 without one."""
    return dist.get_rank() if dist.is_initialized() else 0

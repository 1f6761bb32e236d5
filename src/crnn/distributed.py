"""Multi-process training through PyTorch's own engine: ``torchrun`` + DDP.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`setup` joins the
process group (NCCL on GPUs, gloo on CPUs) and picks this rank's device. Without those
variables everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "setup", "teardown", "barrier", "broadcast_flag"]


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device_pref: str = "auto", timeout_minutes: float = 30.0) -> DistInfo:
    """Join the process group when launched by torchrun; choose the device.

    ``device_pref``: ``auto`` (CUDA when available), ``cpu``, or ``cuda[:i]`` (with
    several processes on one machine each rank takes ``cuda:LOCAL_RANK``).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and not device_pref.startswith("cpu")
    if world == 1:
        if device_pref == "auto":
            device = torch.device("cuda" if use_cuda else "cpu")
        else:
            device = torch.device(device_pref)
        return DistInfo(device=device)
    if use_cuda:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    return DistInfo(rank, world, local_rank, device, backend)


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_flag(info: DistInfo, flag: bool) -> bool:
    """Rank 0's decision (e.g. early stop) for every rank."""
    if not info.enabled:
        return flag
    t = torch.tensor([int(flag)], device=info.device if info.backend == "nccl" else "cpu")
    dist.broadcast(t, src=0)
    return bool(t.item())


def min_int(info: DistInfo, value: int) -> int:
    """The smallest of every rank's ``value`` (e.g. the batch that fits on all GPUs)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], device=info.device if info.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())

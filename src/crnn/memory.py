"""Training batches and accelerator memory: find the largest batch that fits (``--batch-size
auto``) and turn an out-of-memory error into advice (the batch that failed, one that fits).

A probe runs one full training step's worth of work (forward, CTC loss, backward) on
random images of the widest width the data will produce, doubling the batch until it no
longer fits, then bisecting. The optimizer's own state (Adam: two copies of the weights)
is small for a CRNN next to the activations, and a 10% margin covers it and allocator
fragmentation.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["is_out_of_memory", "largest_fitting", "step_fits", "probe_width",
           "auto_batch_size"]


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or a RuntimeError saying the same (other backends)."""
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    return isinstance(exc, oom) or (isinstance(exc, RuntimeError)
                                    and "out of memory" in str(exc).lower())


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def largest_fitting(fits: Callable[[int], bool], start: int = 16, limit: int = 4096,
                    multiple: int = 8) -> int:
    """The largest ``n`` (a multiple of ``multiple``, at most ``limit``) with ``fits(n)``,
    assuming that fitting is monotone; 0 when not even ``multiple`` fits."""
    limit = limit // multiple * multiple
    if limit < multiple:
        return 0
    lo = 0  # largest known to fit
    n = max(multiple, min(start, limit) // multiple * multiple)
    hi = limit + multiple  # smallest known not to fit
    while n <= limit:  # grow (or shrink, when the start does not fit)
        if fits(n):
            lo = n
            if n == limit:
                return lo
            n = min(limit, n * 2)
        else:
            hi = n
            break
    if lo == 0:  # the start did not fit: search below it
        hi, n = min(hi, n), multiple
        if not fits(n):
            return 0
        lo = n
    while hi - lo > multiple:  # bisect between a fit and a failure
        mid = (lo + hi) // 2 // multiple * multiple
        if mid <= lo:
            break
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def step_fits(model: nn.Module, n: int, width: int, height: int, channels: int,
              device: torch.device, amp: bool) -> bool:
    """Does a training step on ``n`` random lines of ``width`` px fit in memory?"""
    images = logits = loss = None
    try:
        images = torch.randn(n, channels, height, width, device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(images)
        t, _, k = logits.shape
        length = max(1, t // 2)
        targets = torch.randint(1, k, (n * length,), device=device)
        loss = nn.functional.ctc_loss(
            logits.float().log_softmax(2), targets,
            torch.full((n,), t, dtype=torch.long), torch.full((n,), length, dtype=torch.long),
            zero_infinity=True)
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return True
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        return False
    finally:
        del images, logits, loss
        model.zero_grad(set_to_none=True)
        free_memory(device)


def probe_width(proxies: list[float] | None, height: int, fixed: int | None,
                max_width: int) -> int:
    """The widest batch the data will produce: the fixed width, or the widest label's
    estimated width (em x height, 25% margin), in 16-px steps, at most ``max_width``."""
    if fixed:
        return fixed
    widest = max(proxies) if proxies else 25.0
    return int(min(max_width, math.ceil(widest * height * 1.25 / 16) * 16))


def auto_batch_size(model: nn.Module, width: int, height: int, channels: int,
                    device: torch.device, amp: bool, limit: int = 4096) -> int:
    """90% of the largest batch whose training step fits, in multiples of 8 (0: none)."""
    was_training = model.training
    model.train()
    try:
        n = largest_fitting(lambda k: step_fits(model, k, width, height, channels, device, amp),
                            start=64, limit=limit)
    finally:
        model.train(was_training)
    return 0 if n == 0 else max(8, int(n * 0.9) // 8 * 8)

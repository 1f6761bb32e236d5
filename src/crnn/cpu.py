"""What this CPU can do, read once from the flags the kernel reports (``/proc/cpuinfo``):
where training may use bf16, and where int8 convolutions may use weights' full range."""

from __future__ import annotations

import functools
import platform

__all__ = ["cpu_flags", "has_native_bf16", "int8_full_range", "VNNI_FLAGS"]


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The feature flags of the first CPU ``/proc/cpuinfo`` lists; empty where there is
    no such file (macOS, Windows) or it has no flags line."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX). Elsewhere bf16 is
    emulated and several times slower than fp32."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


_X86 = {"x86_64", "amd64", "i386", "i686", "x86"}
# the flags of x86 CPUs whose int8 dot products add in 32 bits
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_full_range() -> bool:
    """Whether onnxruntime's int8 convolutions may use weights' full 8-bit range here.

    On an x86 CPU without VNNI (AVX2, or AVX-512 before VNNI) onnxruntime multiplies uint8
    activations by int8 weights with ``vpmaddubsw``, whose 16-bit sums of two products
    saturate when both factors are large: with full-range weights the bundled model's
    convolutions go wrong there (it read 15 of the 18 sample lines on an AVX2 CPU).
    Weights kept to 7 bits (``reduce_range``) cannot overflow. VNNI instructions add in
    32 bits, and non-x86 CPUs use other kernels: full range there. An x86 CPU whose flags
    cannot be read (macOS, Windows) counts as one without VNNI."""
    if platform.machine().lower() not in _X86:
        return True
    return bool(cpu_flags() & VNNI_FLAGS)

"""Synthetic printed text lines: fonts, text, rendering, dataset files and an on-the-fly
dataset. Nothing is imported until used; ``crnn synth --help`` describes the command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .generate import generate
    from .online import SynthDataset

__all__ = ["SynthDataset", "generate"]


def __getattr__(name: str) -> Any:
    if name == "SynthDataset":
        from .online import SynthDataset

        return SynthDataset
    if name == "generate":
        from .generate import generate

        return generate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""On-the-fly synthetic lines as a map-style dataset (no PyTorch needed to import it).

``SynthDataset(charset, count)[i]`` renders sample ``i`` when asked, identically every
time. Fonts are scanned and opened lazily in each process, so the dataset pickles into
DataLoader workers cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..charset import Charset
from .config import SynthConfig
from .fonts import FontSet
from .synthesizer import Sample, Synthesizer, build_spec, parse_size

__all__ = ["SynthDataset"]


class SynthDataset:
    """``count`` synthetic text lines of ``charset``, rendered on demand.

    Args:
        charset: a :class:`~crnn.charset.Charset` or a spec for ``Charset.resolve``
            (``digits``, ``ascii``, ``zh``, ``zh-large``, ``big5``, a file, ``chars:...``).
        count: number of samples (also sizes the coverage schedule).
        seed: sample ``i`` depends only on ``(seed, i)``.
        config: settings (default: the shipped ``default.yaml``).
        fonts: extra font files/folders (added to the system fonts), or a ready
            :class:`~crnn.synth.fonts.FontSet`.
        size: ``"280x32"``/``(280, 32)`` for a fixed size, a height (``32``), or None for
            ``output.height`` at the natural width.
        text_file: optional UTF-8 file whose lines become a text source.

    ``get_sample(i)`` (also ``ds[i]``) returns ``(image, label)``: uint8 ``(H, W)`` grey
    and its text. ``render(i)`` returns the full :class:`Sample` (font used, size, ...).
    """

    def __init__(self, charset: str | Path | Charset, count: int, seed: int = 0,
                 config: SynthConfig | None = None,
                 fonts: Sequence[str | Path] | FontSet | None = None,
                 size: str | int | tuple[int | None, int] | None = None,
                 text_file: str | Path | None = None) -> None:
        self.charset = Charset.resolve(charset)
        self.count = int(count)
        self.seed = int(seed)
        self.config = config
        self.fonts = fonts if isinstance(fonts, FontSet) else tuple(fonts or ())
        self.size = size if size is None else parse_size(size)
        self.text_file = text_file
        self._synth: Synthesizer | None = None
        self._pid = -1

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_synth"] = None  # each process builds its own fonts and caches
        state["_pid"] = -1
        return state

    def _synthesizer(self) -> Synthesizer:
        if self._synth is None or self._pid != os.getpid():
            spec = build_spec(self.charset, self.count, self.seed, self.config, self.fonts,
                              self.size, self.text_file)
            self._synth = Synthesizer(spec)
            self._pid = os.getpid()
        return self._synth

    def __len__(self) -> int:
        return self.count

    def render(self, i: int) -> Sample:
        """Sample ``i`` with its metadata (font face, font size, text source)."""
        return self._synthesizer().sample(i)

    def get_sample(self, i: int) -> tuple[np.ndarray, str]:
        """``(image uint8 (H, W), label)`` of sample ``i``, deterministic per index."""
        if i < 0:
            i += self.count
        s = self.render(i)
        return s.image, s.label

    __getitem__ = get_sample

"""Sample ``i`` of a synthetic dataset: text, font, image, all from one seeded RNG.

Sample ``i`` depends only on ``(seed, i)`` and the spec (charset, fonts, config, size,
count), never on which process renders it or in what order, so any number of workers
produce the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..charset import Charset
from ..errors import CharsetError, ConfigError, DatasetError
from .config import SynthConfig
from .fonts import FontFace, FontSet
from .render import FontCache, render_line
from .text import CoverageSchedule, TextSampler

__all__ = ["Sample", "SynthSpec", "Synthesizer", "build_spec", "fonts_for", "parse_size"]


def parse_size(size: str | int | tuple[int | None, int] | None, default_height: int = 32
               ) -> tuple[int | None, int]:
    """``"280x32"`` -> (280, 32); ``"48"`` or 48 -> (None, 48); None -> (None, default)."""
    if size is None:
        return None, default_height
    if isinstance(size, tuple):
        w, h = size
        return (int(w) if w is not None else None), int(h)
    if isinstance(size, int):
        return None, size
    s = size.lower().strip()
    try:
        if "x" in s:
            ws, hs = s.split("x", 1)
            w, h = int(ws), int(hs)
        else:
            w, h = None, int(s)
    except ValueError as exc:
        raise ConfigError(f"--size {size!r}: write WIDTHxHEIGHT (280x32) or a height (32)"
                          ) from exc
    if h < 8 or (w is not None and w < h):
        raise ConfigError(f"--size {size!r}: height must be >= 8 and width >= height")
    return w, h


@dataclass(frozen=True)
class Sample:
    """One rendered line.

    image: uint8 ``(H, W)`` grey. label: its text. font: the face that drew it (every
    character of ``label`` is in that face's cmap). source: the text source.
    required: coverage characters inserted into the line.
    """

    image: np.ndarray
    label: str
    font: FontFace
    font_size: int
    source: str
    required: str


@dataclass(frozen=True)
class SynthSpec:
    """Everything a worker process needs to render any sample (picklable)."""

    charset: Charset
    fonts: FontSet
    config: SynthConfig
    count: int
    seed: int = 0
    size: tuple[int | None, int] = (None, 32)
    text_file: str | None = None
    focus: str = ""  # the characters of text.coverage.focus (read by build_spec)


class Synthesizer:
    """Renders samples of a :class:`SynthSpec`; create one per process."""

    def __init__(self, spec: SynthSpec) -> None:
        self.spec = spec
        width, height = spec.size
        max_em = None if width is None else width / height * 1.1
        self.text = TextSampler(spec.fonts.renderable, spec.config, spec.text_file, max_em)
        cov = spec.config.get("text", "coverage")
        self.schedule = CoverageSchedule(
            self.text.allowed - {" "}, spec.count,
            int(cov["min_count"]), int(cov["max_per_line"]), spec.seed,
            focus=spec.focus, focus_min_count=int(cov["focus_min_count"]))
        self.fonts = FontCache(spec.fonts.faces)
        out = spec.config.get("output")
        if out["encoding"] == "png":
            # SUB filter + RLE: about twice as fast as libpng's adaptive filtering on noisy
            # lines, files ~7% larger
            self._ext, self._params = ".png", [
                cv2.IMWRITE_PNG_COMPRESSION, int(out["png_level"]),
                cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB,
                cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
        else:
            self._ext, self._params = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(out["jpeg_quality"])]

    @staticmethod
    def describe_coverage(spec: SynthSpec) -> str:
        """One line on what the coverage schedule of ``spec`` achieves."""
        return Synthesizer(spec).schedule.describe()

    @property
    def extension(self) -> str:
        return self._ext

    def sample(self, i: int) -> Sample:
        """Sample ``i`` (0-based), deterministic in (seed, i)."""
        if not 0 <= i < self.spec.count:
            raise IndexError(f"sample {i} outside 0..{self.spec.count - 1}")
        rng = random.Random(f"crnn-synth:{self.spec.seed}:{i}")
        required = self.schedule.required(i)
        width, height = self.spec.size
        for _attempt in range(5):
            text, source = self.text.sample(rng, required)
            k, text = self.spec.fonts.choose(text, rng, required)
            text = " ".join(text.split())
            if not text:
                continue
            covered = self.spec.fonts.covered[k]
            out = render_line(text, self.fonts, k, covered, rng, self.spec.config, height,
                              width)
            if out is not None:
                image, style = out
                return Sample(image, text, self.spec.fonts.faces[k], style.size, source,
                              required)
        raise DatasetError(f"sample {i}: five lines in a row left no ink; check the fonts "
                           "listed by 'crnn synth fonts'")

    def encode(self, image: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(self._ext, image, self._params)
        if not ok:
            raise DatasetError(f"cannot encode a {image.shape} image as {self._ext}")
        return buf.tobytes()

    def encoded(self, i: int) -> tuple[bytes, str]:
        s = self.sample(i)
        return self.encode(s.image), s.label


def fonts_for(charset: Charset, config: SynthConfig, fonts: Sequence[str | Path] = (),
              system: bool = True) -> FontSet:
    """The fonts for ``charset`` as ``config`` selects them (exclusions, regions)."""
    fcfg = config.get("fonts")
    return FontSet.discover(charset, list(fonts), system=system, exclude=fcfg["exclude"],
                            regions=fcfg["regions"],
                            italic_weight=float(fcfg["italic_weight"]))


def build_spec(charset: str | Path | Charset, count: int, seed: int = 0,
               config: SynthConfig | None = None, fonts: FontSet | list | tuple | None = None,
               size: str | int | tuple[int | None, int] | None = None,
               text_file: str | Path | None = None, system_fonts: bool = True) -> SynthSpec:
    """Resolve charset, config and fonts into a :class:`SynthSpec` (scans fonts)."""
    from .config import load_synth_config

    cs = Charset.resolve(charset)
    cfg = config if config is not None else load_synth_config()
    if count < 1:
        raise ConfigError(f"--count {count}: give at least 1 line")
    fs = fonts if isinstance(fonts, FontSet) else fonts_for(cs, cfg, fonts or (), system_fonts)
    return SynthSpec(cs, fs, cfg, int(count), int(seed),
                     parse_size(size, int(cfg.get("output", "height"))),
                     str(text_file) if text_file else None,
                     read_focus(cfg.get("text", "coverage")["focus"], cs))


def read_focus(path: str, charset: Charset) -> str:
    """The characters of ``text.coverage.focus``, a charset-style file (one character per
    line, UTF-8 or GBK, an optional ``blank`` first line), in file order; each must be in
    ``charset``."""
    if not path:
        return ""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"text.coverage.focus: {p} does not exist; give a file of the "
                          "characters to lift, or \"\" for none")
    try:
        chars = Charset.from_file(p).chars
    except CharsetError as e:
        raise ConfigError(f"text.coverage.focus: {e}") from None
    outside = [c for c in chars if c not in charset]
    if outside:
        raise ConfigError(f"text.coverage.focus: {p} holds {len(outside)} character(s) "
                          f"outside the charset, e.g. {''.join(outside[:10])!r}; focus "
                          "only characters of --charset")
    return "".join(chars)

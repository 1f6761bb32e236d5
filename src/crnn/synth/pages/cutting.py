"""From the PDF's word boxes to verified text lines: ``pdftotext -bbox-layout`` parsed,
lines split at wide gaps, each matched to the document's source text, and cut at their
font box or ink box."""

from __future__ import annotations

import math
import random
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import DatasetError
from .style import _LIGATURES, _SPLIT_GAP

# --------------------------------------------------------------------------- PDF -> lines

@dataclass
class _Segment:
    """A run of words on one pdftotext line; box in PDF points."""

    text: str
    box: tuple[float, float, float, float]
    label: str | None = None      # the matching source span, when verified
    px: tuple[int, int, int, int] = (0, 0, 0, 0)   # crop box in page pixels (before skew)


@dataclass
class _PageOut:
    """One rendered page: its crops and what ``--keep-pages`` writes."""

    doc_index: int
    page_no: int
    record: dict[str, Any]
    crops: list[tuple[bytes, str, int]] = field(default_factory=list)  # png, label, line idx
    rejected: list[str] = field(default_factory=list)
    image_path: Path | None = None


def _bbox_pages(html: str, path: Path) -> list[list[_Segment]]:
    """Segments per page from ``pdftotext -bbox-layout`` output."""
    try:
        root = ET.fromstring(html)
    except ET.ParseError as exc:
        raise DatasetError(f"cannot parse pdftotext output for {path}: {exc}") from exc
    pages = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        segs: list[_Segment] = []
        for line in page.iter("{http://www.w3.org/1999/xhtml}line"):
            words = []
            for w in line.iter("{http://www.w3.org/1999/xhtml}word"):
                t = unicodedata.normalize("NFC", "".join(
                    _LIGATURES.get(c, c) for c in (w.text or "")))
                if t.strip():
                    words.append((t, *(float(w.get(k, "0"))
                                       for k in ("xMin", "yMin", "xMax", "yMax"))))
            if not words:
                continue
            height = max(w[4] - w[2] for w in words)
            run = [words[0]]
            for w in words[1:]:
                if w[1] - run[-1][3] > _SPLIT_GAP * height:
                    segs.append(_make_segment(run))
                    run = []
                run.append(w)
            segs.append(_make_segment(run))
        pages.append(segs)
    return pages


def _document_order(positions: list[tuple[int, int] | None]) -> list[int]:
    """Reading-order rank of each line from its place in the document's source (columns
    in flow order, tables row by row), where pdftotext's own order may interleave
    columns. A line not found in the source keeps its place after the line before it."""
    keys = []
    last: tuple[int, int] = (-1, -1)
    for i, p in enumerate(positions):
        if p is not None:
            last = p
        keys.append((last, i))
    rank = [0] * len(positions)
    for r, (_, i) in enumerate(sorted(keys)):
        rank[i] = r
    return rank


def _make_segment(words: list[tuple[Any, ...]]) -> _Segment:
    return _Segment("".join("".join(w[0].split()) for w in words),
                    (min(w[1] for w in words), min(w[2] for w in words),
                     max(w[3] for w in words), max(w[4] for w in words)))


class _Source:
    """A document's source texts, searchable with whitespace removed."""

    def __init__(self, texts: list[str]) -> None:
        self.entries: list[tuple[str, str, list[int]]] = []
        for t in texts:
            idx = [i for i, c in enumerate(t) if not c.isspace()]
            self.entries.append((t, "".join(t[i] for i in idx), idx))

    def position_of(self, stripped: str, taken: set[tuple[int, int]],
                    after: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """Where ``stripped`` sits in the document: (source text index, offset), added to
        ``taken``; None if nowhere. Preferred in turn: the continuation of the line before
        (``after``: its text index and end offset), a whole source text (a one-line table
        cell, so that ``2`` is not placed inside an earlier number), the first occurrence
        not yet taken (so a label used twice takes its occurrences in turn). A text that
        also occurs inside an earlier paragraph and is neither of the first two (the
        first line of a wrapped cell) is placed there: a known limit."""
        if not stripped:
            return None
        if after is not None:
            e, k = after
            if self.entries[e][1].startswith(stripped, k) and (e, k) not in taken:
                taken.add((e, k))
                return e, k
        for e, (_, flat, _) in enumerate(self.entries):
            if flat == stripped and (e, 0) not in taken:
                taken.add((e, 0))
                return e, 0
        for e, (_, flat, _) in enumerate(self.entries):
            k = flat.find(stripped)
            while k >= 0:
                if (e, k) not in taken:
                    taken.add((e, k))
                    return e, k
                k = flat.find(stripped, k + 1)
        return None

    def label_of(self, stripped: str) -> str | None:
        """The source span whose non-space characters are exactly ``stripped``."""
        if not stripped:
            return None
        for text, flat, idx in self.entries:
            k = flat.find(stripped)
            if k >= 0:
                return text[idx[k]: idx[k + len(stripped) - 1] + 1]
        return None


def _crop_boxes(segs: list[_Segment], scale: float, width: int, height: int) -> None:
    """Pixel crop boxes: the text box plus a few pixels, never reaching a neighbour's box."""
    boxes = [tuple(v * scale for v in s.box) for s in segs]
    for i, s in enumerate(segs):
        x0, y0, x1, y1 = boxes[i]
        h = y1 - y0
        py, px = max(2.0, 0.12 * h), max(3.0, 0.3 * h)
        top, bot, left, right = y0 - py, y1 + py, x0 - px, x1 + px
        for j, (a0, b0, a1, b1) in enumerate(boxes):
            if j == i:
                continue
            if a0 < x1 and a1 > x0:                       # overlaps horizontally
                if (b0 + b1) < (y0 + y1):                 # above
                    top = max(top, (y0 + b1) / 2)
                else:
                    bot = min(bot, (y1 + b0) / 2)
            if min(y1, b1) - max(y0, b0) > 0.5 * min(h, b1 - b0):   # same row
                if (a0 + a1) < (x0 + x1):
                    left = max(left, (x0 + a1) / 2)
                else:
                    right = min(right, (x1 + a0) / 2)
        s.px = (max(0, math.floor(left)), max(0, math.floor(top)),
                min(width, math.ceil(right)), min(height, math.ceil(bot)))


def _pull_back(ink: Any, gap: int) -> int | None:
    """How much of a padding strip to keep (listed from the text box outwards) so that it
    stops ``gap`` pixels short of foreign ink; None to keep it all. A run of ink touching
    the box is the overhang of the line's own glyphs and is always kept."""
    own = 0
    while own < len(ink) and ink[own]:
        own += 1
    hits = ink[own:].nonzero()[0]
    return max(own, own + int(hits[0]) - gap) if hits.size else None


def _trim_pads(segs: list[_Segment], img: Any, scale: float, gap: int = 3) -> None:
    """Pull each padded side back to ``gap`` pixels short of any ink in its padding that is
    not the line's own (a table rule, an underline, a neighbour's stroke): glyphs lie inside
    pdftotext's box, or overhang it by a run of ink that touches it, so other ink between
    the box and the crop edge belongs to something else. Left and right strips are searched
    beside the box only (a rule running under the whole line must not eat the side
    padding); top and bottom strips over the trimmed width."""
    dark = img < 160
    for s in segs:
        x0, y0, x1, y1 = s.px
        bx0, by0 = max(x0, math.floor(s.box[0] * scale)), max(y0, math.floor(s.box[1] * scale))
        bx1, by1 = min(x1, math.ceil(s.box[2] * scale)), min(y1, math.ceil(s.box[3] * scale))
        if x0 < bx0 and (k := _pull_back(dark[by0:by1, x0:bx0].any(axis=0)[::-1], gap)) is not None:
            x0 = bx0 - k
        if bx1 < x1 and (k := _pull_back(dark[by0:by1, bx1:x1].any(axis=0), gap)) is not None:
            x1 = bx1 + k
        if y0 < by0 and (k := _pull_back(dark[y0:by0, x0:x1].any(axis=1)[::-1], gap)) is not None:
            y0 = by0 - k
        if by1 < y1 and (k := _pull_back(dark[by1:y1, x0:x1].any(axis=1), gap)) is not None:
            y1 = by1 + k
        s.px = (x0, y0, x1, y1)


def _ink_crops(segs: list[_Segment], img: Any, rng: random.Random, share: float) -> None:
    """For ``share`` of the lines, cut at the ink inside the crop box plus 2-8 px on each
    side (drawn per side), as a line finder on a scanned page cuts: the text box's blank
    ascender and descender room goes, so "CLOSED." fills the height that "Ag国" does."""
    dark = img < 160
    h, w = img.shape
    for s in segs:
        if rng.random() >= share:
            continue
        x0, y0, x1, y1 = s.px
        region = dark[y0:y1, x0:x1]
        rows, cols = region.any(axis=1).nonzero()[0], region.any(axis=0).nonzero()[0]
        if rows.size == 0:
            continue
        m = [rng.randint(2, 8) for _ in range(4)]
        s.px = (max(0, x0 + int(cols[0]) - m[0]), max(0, y0 + int(rows[0]) - m[1]),
                min(w, x0 + int(cols[-1]) + 1 + m[2]), min(h, y0 + int(rows[-1]) + 1 + m[3]))

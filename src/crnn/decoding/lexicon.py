"""Lexicon-constrained decoding (Shi, Bai & Yao 2015, section 2.3).

Given a list of words or phrases, a line reads as the entry with the highest CTC
probability ``P(entry | logits)`` (the exact forward algorithm, summed over alignments).
Scoring every entry of a large list per line is wasteful, so as in the paper only entries
within edit distance ``delta`` of the best-path reading are scored (at most
``max_candidates``, the nearest); lists of at most ``full_search_max`` entries are scored
in full. When no entry lies within ``delta``, the ``NEAREST`` nearest entries are scored.

Two indexes find the near entries: ``index="bktree"``, a BK-tree (:class:`BKTree`), or
``index="scan"`` (the default), rapidfuzz's C++ scan of the whole list with a distance
cutoff. On every list measured the scan won (docs/decoders.md): edit distances between
short CJK words, or strings of similar length, are too uniform for the tree's triangle
pruning, so a Python tree walk visits much of the list and costs 5-15x the scan (and
its build is quadratic-ish, 26 s for 100k Chinese words).

    >>> lex = Lexicon.from_file("names.txt", charset)
    >>> lex.candidates("张三丰", max_distance=3)
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ..charset import Charset
from ..errors import CrnnError
from .ctc import ctc_forward

__all__ = ["BKTree", "Lexicon", "LexiconError", "SkippedEntry", "score_lexicon", "INDEXES"]

INDEXES = ("scan", "bktree")

# Rows (line, entry) scored per forward pass: bounds the (T, rows, 2L+1) work arrays.
_ROWS_PER_PASS = 1024


class LexiconError(CrnnError):
    """A lexicon file cannot be read or has no usable entry."""


class BKTree:
    """A Burkhard-Keller tree over strings with the Levenshtein distance.

    Each node keeps its children by their distance to it; by the triangle inequality a
    query within ``d`` of the search string only descends into children whose edge
    distance lies in ``[dist - d, dist + d]``.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.words: list[str] = []
        self.children: list[dict[int, int]] = []
        for w in words:
            self.add(w)

    def __len__(self) -> int:
        return len(self.words)

    def add(self, word: str) -> int:
        """Insert a word (duplicates are kept as separate nodes); returns its index."""
        idx = len(self.words)
        self.words.append(word)
        self.children.append({})
        if idx == 0:
            return idx
        node = 0
        while True:
            d = Levenshtein.distance(word, self.words[node])
            nxt = self.children[node].get(d)
            if nxt is None:
                self.children[node][d] = idx
                return idx
            node = nxt

    def search(self, query: str, max_distance: int) -> list[tuple[int, int]]:
        """All ``(distance, index)`` within ``max_distance`` of ``query``, nearest first."""
        if not self.words:
            return []
        found: list[tuple[int, int]] = []
        stack = [0]
        while stack:
            node = stack.pop()
            d = Levenshtein.distance(query, self.words[node])
            if d <= max_distance:
                found.append((d, node))
            lo, hi = d - max_distance, d + max_distance
            stack.extend(c for e, c in self.children[node].items() if lo <= e <= hi)
        found.sort()
        return found

    def nearest(self, query: str, count: int = 1) -> list[tuple[int, int]]:
        """The ``count`` words nearest ``query`` as ``(distance, index)``, nearest first
        (ties broken by index); the search radius shrinks as closer words turn up."""
        if not self.words or count < 1:
            return []
        best: list[tuple[int, int]] = []  # max-heap by (distance, index), negated
        stack = [0]
        while stack:
            node = stack.pop()
            d = Levenshtein.distance(query, self.words[node])
            if len(best) < count:
                heapq.heappush(best, (-d, -node))
            elif (d, node) < (-best[0][0], -best[0][1]):
                heapq.heapreplace(best, (-d, -node))
            radius = -best[0][0] if len(best) == count else None
            stack.extend(c for e, c in self.children[node].items()
                         if radius is None or d - radius <= e <= d + radius)
        return sorted((-nd, -ni) for nd, ni in best)


@dataclass(frozen=True)
class SkippedEntry:
    """A lexicon line left out: its 1-based line number, text and offending characters."""

    line: int
    entry: str
    missing: str


class Lexicon:
    """Entries a decoder may output, encoded in a charset.

    Args:
        entries: words or phrases; surrounding whitespace is stripped, empty ones and
            repeats are dropped.
        charset: the classes the decoder reads (a model's charset, or the part of it a
            decoder allows). Entries with other characters are skipped with a warning
            and listed in :attr:`skipped`.
        source: where the entries came from, for messages.
        full_search_max: lists up to this size are scored in full; larger ones through
            the index.
        index: ``"scan"`` or ``"bktree"``, how near entries are found (same results).
        max_candidates: the most entries scored per line (the nearest).
    Raises:
        LexiconError: nothing usable is left.
    """

    #: entries scored when none lies within the edit-distance radius
    NEAREST = 16

    def __init__(
        self,
        entries: Iterable[str],
        charset: Charset,
        source: str = "list",
        full_search_max: int = 64,
        index: str = "scan",
        max_candidates: int = 256,
    ) -> None:
        if index not in INDEXES:
            raise LexiconError(f"unknown lexicon index {index!r}: choose one of {INDEXES}")
        kept: dict[str, list[int]] = {}
        skipped: list[SkippedEntry] = []
        total = 0
        for lineno, raw in enumerate(entries, start=1):
            entry = raw.strip()
            if not entry:
                continue
            total += 1
            if entry in kept:
                continue
            missing = charset.missing(entry)
            if missing:
                skipped.append(SkippedEntry(lineno, entry, "".join(missing)))
                continue
            kept[entry] = charset.encode(entry) or []
        self.source = source
        self.charset = charset
        self.entries: tuple[str, ...] = tuple(kept)
        self.targets: tuple[tuple[int, ...], ...] = tuple(tuple(v) for v in kept.values())
        self.skipped: tuple[SkippedEntry, ...] = tuple(skipped)
        if skipped:
            shown = "; ".join(f"line {s.line} {s.entry!r} ({s.missing!r})" for s in skipped[:5])
            warnings.warn(
                f"lexicon {source}: skipped {len(skipped)} of {total} entries with characters "
                f"outside charset {charset.name}: {shown}",
                stacklevel=2,
            )
        if not self.entries:
            why = (f"all {total} entries have characters outside charset {charset.name}"
                   if total else "it has no entries (one word or phrase per line, UTF-8)")
            raise LexiconError(f"lexicon {source} is unusable: {why}")
        self.full_search_max = int(full_search_max)
        self.max_candidates = int(max_candidates)
        self.index = index
        large = len(self.entries) > self.full_search_max
        self._tree = BKTree(self.entries) if large and index == "bktree" else None

    @classmethod
    def from_file(cls, path: str | Path, charset: Charset, **kw: Any) -> Lexicon:
        """One entry per line, UTF-8 (a byte-order mark is allowed); ``kw`` as for the
        constructor."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise LexiconError(f"cannot read lexicon {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise LexiconError(
                f"lexicon {path} is not UTF-8 (bad byte at offset {exc.start}); re-save it "
                "as UTF-8"
            ) from exc
        return cls(text.splitlines(), charset, source=str(path), **kw)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Lexicon({self.source!r}, {len(self)} entries, {len(self.skipped)} skipped)"

    def candidates(self, reading: str, max_distance: int) -> list[int]:
        """Indices of the entries to score for a best-path ``reading``: all of a small
        list; else those within ``max_distance`` edits (the ``max_candidates`` nearest),
        or if there are none the ``NEAREST`` nearest entries. Nearest first, ties in
        list order."""
        if len(self.entries) <= self.full_search_max:
            return list(range(len(self.entries)))
        d = max(0, int(max_distance))
        if self._tree is not None:
            hits = self._tree.search(reading, d) or self._tree.nearest(reading, self.NEAREST)
        else:
            found = process.extract(reading, self.entries, scorer=Levenshtein.distance,
                                    score_cutoff=d, limit=None)
            if not found:
                found = process.extract(reading, self.entries, scorer=Levenshtein.distance,
                                        limit=self.NEAREST)
            hits = sorted((int(dist), int(i)) for _, dist, i in found)
        return [i for _, i in hits[: self.max_candidates]]


def score_lexicon(
    scores: np.ndarray,
    lse: np.ndarray,
    lengths: np.ndarray,
    candidates: Sequence[Sequence[int]],
    lexicon: Lexicon,
) -> list[np.ndarray]:
    """CTC log-likelihood of each candidate entry on its line.

    scores: ``(T, N, K)`` logits in ``lexicon.charset``'s classes; lse ``(T, N)`` their
    log-normaliser; lengths ``(N,)`` valid frames; candidates: entry indices per line.
    Returns per line a float64 array aligned with its candidates (-inf: cannot fit).
    """
    lines = np.concatenate([np.full(len(c), i, np.int64) for i, c in enumerate(candidates)])
    entries = np.concatenate([np.asarray(c, np.int64) for c in candidates])
    out = np.empty(len(entries))
    # similar lengths together: less padding in each pass
    order = np.argsort([len(lexicon.targets[e]) for e in entries], kind="stable")
    for s in range(0, len(order), _ROWS_PER_PASS):
        rows = order[s : s + _ROWS_PER_PASS]
        ll, _ = ctc_forward(scores, lse, lines[rows],
                            [lexicon.targets[e] for e in entries[rows]], lengths[lines[rows]])
        out[rows] = ll
    splits = np.cumsum([len(c) for c in candidates])[:-1]
    return np.split(out, splits)

"""Line accuracy, character error rate and normalised edit distance."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

__all__ = ["TextNormalizer", "Score"]


@dataclass(frozen=True)
class TextNormalizer:
    """How predictions and truths are compared.

    ignore_space: remove all whitespace before comparing.
    ignore_case: compare case-folded text.
    nfkc: apply Unicode NFKC (full-width ``ＡＢ１`` -> ``AB1``, ``⒈`` -> ``1.``).
    """

    ignore_space: bool = False
    ignore_case: bool = False
    nfkc: bool = False

    def __call__(self, text: str) -> str:
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.ignore_case:
            text = text.casefold()
        if self.ignore_space:
            text = "".join(text.split())
        return text


class Score:
    """Accumulates predictions against truths.

    accuracy: fraction of lines exactly right.
    cer: total edits / total truth characters.
    ned: mean over lines of ``1 - edits / max(len(truth), len(pred))`` (1.0 is perfect),
        the ICDAR-2019 "1-N.E.D." figure.
    """

    def __init__(self, normalizer: TextNormalizer | None = None) -> None:
        self.normalizer = normalizer or TextNormalizer()
        self.lines = 0
        self.correct = 0
        self.edits = 0
        self.chars = 0
        self._ned_sum = 0.0

    def add(self, pred: str, truth: str) -> bool:
        p, t = self.normalizer(pred), self.normalizer(truth)
        d = Levenshtein.distance(p, t)
        self.lines += 1
        self.correct += d == 0
        self.edits += d
        self.chars += len(t)
        longest = max(len(p), len(t))
        self._ned_sum += 1.0 - (d / longest if longest else 0.0)
        return d == 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.lines if self.lines else 0.0

    @property
    def cer(self) -> float:
        return self.edits / self.chars if self.chars else 0.0

    @property
    def ned(self) -> float:
        return self._ned_sum / self.lines if self.lines else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"lines": self.lines, "accuracy": self.accuracy, "cer": self.cer, "ned": self.ned}

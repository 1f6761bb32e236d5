"""Evaluation: run a :class:`Recognizer` over a dataset and score it.

Used by ``crnn eval`` and by validation during training, so both report the same figures.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .data.dataset import Source
from .errors import CrnnError
from .metrics import Score, TextNormalizer
from .recognizer import Recognizer

__all__ = ["EvalResult", "evaluate"]


@dataclass
class EvalResult:
    score: Score
    seconds: float
    unreadable: int = 0  # samples whose image is missing or cannot be decoded (not scored)
    examples: list[tuple[str, str, str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one message per unreadable sample

    @property
    def lines_per_second(self) -> float:
        return self.score.lines / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = self.score.as_dict()
        d.update(seconds=round(self.seconds, 3), lines_per_second=round(self.lines_per_second, 1),
                 unreadable=self.unreadable)
        return d


def evaluate(recognizer: Recognizer, source: Source, normalizer: TextNormalizer | None = None,
             errors_path: str | Path | None = None, chunk: int = 512, examples: int = 5,
             limit: int | None = None) -> EvalResult:
    """Score every sample of ``source``; ``errors_path`` gets a TSV of each wrong or
    unreadable sample (name, truth, prediction, confidence), written atomically.

    A sample whose image is missing or cannot be decoded is not a misreading: it is left
    out of the score, counted in ``unreadable`` and named in ``problems``."""
    score = Score(normalizer)
    n = len(source) if limit is None else min(limit, len(source))
    wrong: list[tuple[str, str, str, float]] = []
    shown: list[tuple[str, str, str, float]] = []
    unreadable = 0
    problems: list[str] = []
    t0 = time.perf_counter()
    for s in range(0, n, chunk):
        items, truths, names = [], [], []
        for i in range(s, min(s + chunk, n)):
            try:
                img, label, name = source.raw(i)
            except CrnnError as exc:
                img, label, name = b"", source.label(i), str(exc)
            items.append(img)
            truths.append(label)
            names.append(name)
        for res, truth in zip(recognizer.recognize(items, names), truths, strict=True):
            row = (res.source or "", truth, res.text if res.ok else f"<error: {res.error}>",
                   res.confidence)
            if res.error is not None:
                unreadable += 1
                problems.append(res.error)
                wrong.append(row)
                continue
            ok = score.add(res.text, truth)
            if len(shown) < examples:
                shown.append(row)
            if not ok:
                wrong.append(row)
    seconds = time.perf_counter() - t0
    if errors_path is not None:
        _write_errors(Path(errors_path), wrong)
    return EvalResult(score, seconds, unreadable, shown, problems)


def _write_errors(path: Path, rows: list[tuple[str, str, str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["sample", "truth", "prediction", "confidence"])
        for name, truth, pred, conf in rows:
            w.writerow([name, truth, pred, f"{conf:.4f}"])
    os.replace(tmp, path)

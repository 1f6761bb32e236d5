"""Pages with line ground truth in the dev format (``../shared/dev/pages``) and their scores.

A folder holds ``index.tsv`` (page_id, image, kind, columns, dpi, variant, ...), the page
images, and ``gt/<page_id>.txt``: one typeset line per line, in reading order. Scores, all
after NFKC with every whitespace removed:

- page CER: edit distance between the concatenated true lines and the concatenated output
  lines (reading order counts), over the true characters; summed over pages;
- line recall: true lines matched one to one (greedy, lowest line CER first) to an output
  line with line CER <= 0.1, over the true lines;
- junk: output lines matched to no true line (borders, seals, noise read as text, or a
  line split or merged past recognition).
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

__all__ = ["DevPage", "PageScore", "load_dev_pages", "norm", "score_page", "total"]

MATCH_CER = 0.1


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class DevPage:
    page_id: str
    image: Path
    variant: str  # clean, scan, rot, photo
    kind: str
    lines: tuple[str, ...]


@dataclass
class PageScore:
    edits: int = 0
    chars: int = 0
    truth_lines: int = 0
    matched: int = 0
    output_lines: int = 0
    junk: int = 0
    junk_examples: list[str] = field(default_factory=list)

    @property
    def cer(self) -> float:
        return self.edits / max(self.chars, 1)

    @property
    def recall(self) -> float:
        return self.matched / max(self.truth_lines, 1)

    @property
    def junk_share(self) -> float:
        return self.junk / max(self.output_lines, 1)

    def add(self, other: PageScore) -> PageScore:
        return PageScore(self.edits + other.edits, self.chars + other.chars,
                         self.truth_lines + other.truth_lines, self.matched + other.matched,
                         self.output_lines + other.output_lines, self.junk + other.junk,
                         (self.junk_examples + other.junk_examples)[:12])


def load_dev_pages(folder: str | Path) -> list[DevPage]:
    folder = Path(folder)
    index = folder / "index.tsv"
    if not index.is_file():
        raise SystemExit(f"{folder}: no index.tsv (expected the ../shared/dev/pages layout)")
    pages = []
    with index.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            gt = folder / "gt" / f"{row['page_id']}.txt"
            lines = tuple(ln for ln in gt.read_text(encoding="utf-8").splitlines() if ln.strip())
            pages.append(DevPage(row["page_id"], folder / row["image"], row["variant"],
                                 row["kind"], lines))
    return pages


def score_page(truth: tuple[str, ...] | list[str], output: list[str]) -> PageScore:
    t = [norm(x) for x in truth]
    o = [norm(x) for x in output if norm(x)]
    ref = "".join(t)
    s = PageScore(Levenshtein.distance(ref, "".join(o)), len(ref), len(t), 0, len(o), 0)
    pairs = []
    for i, a in enumerate(t):
        for j, b in enumerate(o):
            if abs(len(a) - len(b)) > MATCH_CER * max(len(a), 1):
                continue
            cer = Levenshtein.distance(a, b) / max(len(a), 1)
            if cer <= MATCH_CER:
                pairs.append((cer, i, j))
    used_t, used_o = set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_t and j not in used_o:
            used_t.add(i)
            used_o.add(j)
    s.matched = len(used_t)
    s.junk = len(o) - len(used_o)
    s.junk_examples = [o[j] for j in range(len(o)) if j not in used_o]
    return s


def total(scores: list[PageScore]) -> PageScore:
    out = PageScore()
    for s in scores:
        out = out.add(s)
    return out

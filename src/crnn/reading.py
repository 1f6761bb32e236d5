"""How a trained model reads a line at recognition time: the reading policy.

Training shows the model each line once, as it is. Reading can do better: the bundled
model reads a line a little wider than cut (``stretch``), with a little background on its
right (``right_pad``), and reads an unsure line again at other widths (``rereads``), the
readings voting (:func:`vote`); a small handicap on the CTC blank (``blank_penalty``) keeps
thin marks (the dot in ``2.``, one of ``--``) that the model sees but rates just below the
blank. The policy is chosen for a model on validation lines
(``tools/reading_policy.py`` searches it), travels in its checkpoint beside (not inside)
the preprocessing, is inherited by a model fine-tuned from it (``init``), and is applied
by :func:`read_lines` alone, which :class:`crnn.Recognizer`, page OCR (each line once, best
path: :meth:`ReadingPolicy.once`), training validation and the policy search all call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import cv2
import numpy as np

from .charset import mostly_latin
from .decoding.ctc import Decoded
from .errors import ConfigError
from .slant import sharpest_slope

__all__ = ["ReadingPolicy", "read_lines", "cross_choose", "window_choose", "window_of",
           "recut", "ink_box", "InkBox", "straighten", "line_slope", "vote", "mostly_latin"]

SCOPES = ("all", "latin")


@dataclass(frozen=True)
class ReadingPolicy:
    """stretch: every line is read this much wider than cut (1: as it is).
    rereads: further stretches at which an unsure line is read again; of all its
        readings, the text with the highest summed confidence is kept. Narrow letters
        (``tt``, ``ff``, ``t.``) get the frames CTC needs (T = W/4) in one reading or
        another, and one reading's slip is outvoted. Empty: one reading.
    reread_below: only lines whose first reading's confidence is at most this are read
        again (1: every line); sure first readings are kept.
    reread_scope: ``all`` lines, or only those read as mostly ``latin``.
    right_pad: each line is padded on the right with its background to at least
        ``1 + right_pad`` times its width (then up to the next width of a grid,
        :func:`crnn.recognizer.padded_width`). Training batches pad every line but the
        widest, so a model reads a little right margin best; as the padding depends on
        the line alone, a line reads the same alone or in any batch.
    ink_margin: when set, every line is first cut at its ink box and given this many
        ink heights of its own background on each side (:func:`recut`), so lines cut
        by different tools (a font's line box, an ink box plus a few pixels, a
        detector's loose box) reach the model alike; a line read again (``rereads``) is
        then read as it was cut, at each reread stretch, and where those readings and
        the recut one disagree, once more as cut at ``stretch``; all its readings vote.
        The ink box of a hanzi line is its characters' em, but a Latin line's depends
        on its letters (x-height, ascenders, descenders), so a margin counted in ink
        heights sizes its letters differently line to line: the cut as it came is a
        second view. None: lines are read as cut.
    deskew: when above 0, a line whose text runs at a slant of up to this many degrees
        (a scanned page set a little askew, cut at the box of its tilted ink) is turned
        level and cut again to its now lower ink band, keeping its top and bottom
        margins (:func:`straighten`), before anything else; a level line is read as
        cut. 0: no line is turned.
    blank_penalty: subtracted from the blank's logit in every frame before decoding (and
        before the confidence is taken), in natural-log units: a frame is read as a
        character when that character is at least ``exp(-blank_penalty)`` times as
        probable as the blank. A model trained with CTC drops faint thin marks (a dot
        after a digit, one dash of ``--``) at a small margin; 0: the plain best path.
    lm_weight, lm_bonus, lm_below, lm_latin_below: language-model fusion for unsure
        lines. A model file ``M.pt`` (or ``M.onnx``) with a character n-gram model
        ``M.lm.bin`` beside it (``crnn lm build``), asked to fuse it (``--fuse-lm``,
        ``Recognizer.load(..., fuse_lm=True)``), reads each line by the best path first;
        a line whose confidence is at most ``lm_below`` is decoded again from the same
        scores by beam search fused with the language model, ``log P_ctc + lm_weight *
        log P_lm + lm_bonus * length`` (:mod:`crnn.decoding.decoders`). The bonus pays back what
        the language model charges each character, so the search does not drop one of
        ``--`` or ``...``. A line whose best path reads as mostly Latin is searched when
        at most ``lm_latin_below`` sure instead (None: ``lm_below`` too): in English a
        sure best path can still be wrong where only context tells (a lone ``l`` for
        ``I``, ``..`` for ``...``), and such lines are few in Chinese documents. 0
        weight: no language model (explicit decoder options, such as ``--decoder
        greedy``, also turn it off).
    cross_below: with ``ink_margin``, a line not read again by ``rereads`` whose recut
        reading is at most this sure is read as cut too; where the two readings differ,
        the text kept is the one the two views score best together: the mean of its CTC
        log-likelihoods under each (summed over alignments), plus the language model's
        fused terms (``lm_weight * log P_lm + lm_bonus * length``) where it has one. A
        recut changes what the network sees of a look-alike's strokes (士/土, 句/旬) as
        well as where the line sits, and a slip in one view is rarely the other's;
        scoring both texts under both views settles it, where a vote of the two
        confidences goes with the surer slip. None: each line read in one view.
    cross_window: with ``cross_below``, the second view is not the whole line as cut but
        a window of it: the recut reading's least sure character and this many whole
        characters on each side (:func:`window_of`), read by its best path; the two
        texts then differ only there, and the window's scores stand for the cut view's.
        A window costs a fraction of the line, so many more unsure lines get a second
        view for the same time. A window whose reading disagrees with the first at a
        character it shares with the rest of the line (an edge cut through a character)
        is not used. None: the whole line.
    """

    stretch: float = 1.0
    rereads: tuple[float, ...] = ()
    reread_below: float = 1.0
    reread_scope: str = "all"
    right_pad: float = 0.0
    ink_margin: float | None = None
    deskew: float = 0.0
    blank_penalty: float = 0.0
    lm_weight: float = 0.0
    lm_bonus: float = 0.0
    lm_below: float = 1.0
    lm_latin_below: float | None = None
    cross_below: float | None = None
    cross_window: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rereads", tuple(float(s) for s in self.rereads))
        bad = [s for s in (self.stretch, *self.rereads) if not 0.5 <= s <= 2.0]
        if bad:
            raise ConfigError(f"reading stretch {bad[0]} must lie in [0.5, 2]")
        if self.stretch in self.rereads:
            raise ConfigError(f"rereads {self.rereads} repeat the stretch {self.stretch}")
        if not 0.0 <= self.reread_below <= 1.0:
            raise ConfigError(f"reread_below {self.reread_below} must lie in [0, 1]")
        if self.reread_scope not in SCOPES:
            raise ConfigError(f"reread scope {self.reread_scope!r}: use all or latin")
        if not 0.0 <= self.right_pad <= 1.0:
            raise ConfigError(f"right_pad {self.right_pad} must lie in [0, 1]")
        if self.ink_margin is not None and not 0.0 <= self.ink_margin <= 2.0:
            raise ConfigError(f"ink_margin {self.ink_margin} must lie in [0, 2] (or none)")
        if not 0.0 <= self.deskew <= 10.0:
            raise ConfigError(f"deskew {self.deskew} must lie in [0, 10] degrees")
        if not 0.0 <= self.blank_penalty <= 5.0:
            raise ConfigError(f"blank_penalty {self.blank_penalty} must lie in [0, 5]")
        if not 0.0 <= self.lm_weight <= 5.0 or not 0.0 <= self.lm_bonus <= 20.0:
            raise ConfigError(f"lm_weight {self.lm_weight} must lie in [0, 5] and lm_bonus "
                              f"{self.lm_bonus} in [0, 20]")
        if not 0.0 <= self.lm_below <= 1.0:
            raise ConfigError(f"lm_below {self.lm_below} must lie in [0, 1]")
        if self.lm_latin_below is not None and not 0.0 <= self.lm_latin_below <= 1.0:
            raise ConfigError(f"lm_latin_below {self.lm_latin_below} must lie in [0, 1] "
                              "(or none)")
        if self.cross_below is not None:
            if not 0.0 <= self.cross_below <= 1.0:
                raise ConfigError(f"cross_below {self.cross_below} must lie in [0, 1] "
                                  "(or none)")
            if self.ink_margin is None:
                raise ConfigError("cross_below reads an unsure line recut and as cut: it "
                                  "needs an ink_margin (the recut view)")
        if self.cross_window is not None:
            object.__setattr__(self, "cross_window", int(self.cross_window))
            if not 1 <= self.cross_window <= 20:
                raise ConfigError(f"cross_window {self.cross_window} must lie in [1, 20] "
                                  "characters (or none)")
            if self.cross_below is None:
                raise ConfigError("cross_window is the second view of cross_below's lines: "
                                  "set cross_below too")

    def once(self) -> ReadingPolicy:
        """This policy without its rereads, stretch and blank penalty: each line read
        once, as cut, by the plain best path, with the same right margin. (Language-model
        fusion is the recogniser's decoder's, built once from the model's own policy.)"""
        return ReadingPolicy(right_pad=self.right_pad)

    def replace(self, **changes) -> ReadingPolicy:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ReadingPolicy:
        return cls(**{k: d[k] for k in ("stretch", "rereads", "reread_below", "reread_scope",
                                        "right_pad", "ink_margin", "deskew",
                                        "blank_penalty",
                                        "lm_weight", "lm_bonus", "lm_below",
                                        "lm_latin_below", "cross_below", "cross_window")
                   if k in d})

    @classmethod
    def from_preprocess_dict(cls, d: dict) -> ReadingPolicy:
        """The policy that checkpoints and ONNX files written before it had a place of its
        own kept among the preprocessing settings (``read_stretch``, ``reread``,
        ``reread_below``, ``reread_latin``, ``read_pad``; before v7, ``latin_stretch``
        and ``latin_below``: one second reading of mostly-Latin lines)."""
        if d.get("latin_stretch", 1.0) > 1.0 and "reread" not in d:
            return cls(stretch=d.get("read_stretch", 1.0), rereads=(d["latin_stretch"],),
                       reread_below=d.get("latin_below", 1.0), reread_scope="latin",
                       right_pad=d.get("read_pad", 0.0))
        return cls(stretch=d.get("read_stretch", 1.0), rereads=tuple(d.get("reread", ())),
                   reread_below=d.get("reread_below", 1.0),
                   reread_scope="latin" if d.get("reread_latin") else "all",
                   right_pad=d.get("read_pad", 0.0))


class Read(Protocol):
    """(lines, stretch, right_pad) -> each line read once at that stretch and margin; with
    ``best_path``, by its best path alone (no language-model search)."""

    def __call__(self, lines: Sequence[np.ndarray], stretch: float, pad: float,
                 best_path: bool = False) -> list[Decoded]: ...


class Score(Protocol):
    """(lines, stretch, right_pad, texts per line, each line's reading in that view) ->
    each text's score under that view of its line: its CTC log-likelihood plus ``prior``
    times the decoder's language-model terms, where it has them (the reading's kept
    scores may spare a read)."""

    def __call__(self, lines: Sequence[np.ndarray], stretch: float, pad: float,
                 texts: Sequence[Sequence[str]], readings: Sequence[Decoded],
                 prior: float = 1.0) -> list[list[float]]: ...


# (lines, stretch, right_pad, each line's reading in that view) -> per reading, its
# characters as columns of its line, (n, 2): the middle of the first and of the last frame
# of each character in the reading's likeliest alignment; None where it kept no scores
Locate = Callable[[Sequence[np.ndarray], float, float, Sequence[Decoded]],
                  list[np.ndarray | None]]


def read_lines(read: Read, lines: Sequence[np.ndarray], policy: ReadingPolicy,
               score: Score | None = None, locate: Locate | None = None) -> list[Decoded]:
    """``lines`` read under ``policy``: ``read(lines, stretch, right_pad)`` reads a list
    of line images once, at one stretch; here every line is read at ``policy.stretch``,
    and those read with a confidence of at most ``reread_below`` (mostly Latin ones
    only, in the ``latin`` scope) again at each of ``rereads``, keeping the text their
    readings vote for. With ``deskew``, a slanted line is turned level first
    (:func:`straighten`); with ``ink_margin``, every line is then read :func:`recut`,
    and those read again are read as they were cut (and at ``stretch`` too where the
    readings disagree). With ``cross_below`` (and ``score``), the other unsure lines are
    read as cut too, whole (:func:`cross_choose`) or, with ``cross_window`` (and
    ``locate``), in a window around their least sure character (:func:`window_choose`),
    and the two views choose between their readings."""
    if policy.deskew > 0:
        lines = [straighten(x, policy.deskew) for x in lines]
    boxes = [None] * len(lines) if policy.ink_margin is None else \
        [ink_box(x, policy.ink_margin) for x in lines]
    first = [x if b is None else b.cut(x) for x, b in zip(lines, boxes, strict=True)]
    out = read(first, policy.stretch, policy.right_pad)
    again = [i for i, d in enumerate(out) if d.confidence <= policy.reread_below
             and (policy.reread_scope == "all" or mostly_latin(d.text))] \
        if policy.rereads else []
    if policy.cross_below is not None and score is not None:
        taken = set(again)  # a line without an ink box has one view: it is not crossed
        cross = [i for i, d in enumerate(out) if d.confidence <= policy.cross_below
                 and i not in taken and boxes[i] is not None]
        views = ([first[i] for i in cross], [lines[i] for i in cross])
        if not cross:
            chosen = []
        elif policy.cross_window is not None and locate is not None:
            chosen = window_choose(*views, [boxes[i] for i in cross], [out[i] for i in cross],
                                   read, score, locate, policy)
        else:
            chosen = cross_choose(*views, [out[i] for i in cross], read, score, policy)
        for i, d in zip(cross, chosen, strict=True):
            out[i] = d
    if not again:
        return _bare(out)
    readings: dict[int, list[Decoded]] = {i: [out[i]] for i in again}

    def read_again(which: list[int], stretch: float) -> None:
        if not which:
            return
        for i, d in zip(which, read([lines[i] for i in which], stretch, policy.right_pad),
                        strict=True):
            readings[i].append(d)

    for s in policy.rereads:
        read_again(again, s)
    if policy.ink_margin is not None:  # recut: where the views disagree, the line as cut decides
        read_again([i for i in again if len({d.text for d in readings[i]}) > 1],
                   policy.stretch)
    for i in again:
        out[i] = vote(readings[i])
    return _bare(out)


def _bare(readings: list[Decoded]) -> list[Decoded]:
    """The readings without the scores a search kept for rescoring (memory)."""
    return [d if d.scores is None else replace(d, scores=None) for d in readings]


def cross_choose(recut_lines: Sequence[np.ndarray], cut_lines: Sequence[np.ndarray],
                 readings: Sequence[Decoded], read: Read, score: Score,
                 policy: ReadingPolicy) -> list[Decoded]:
    """Lines already read recut (``readings``) read again as cut; where the two readings
    differ, each text is scored under both views (``score``) and the text with the higher
    mean is kept, with its own reading's confidence and character probabilities."""
    args = (policy.stretch, policy.right_pad)
    second = read(cut_lines, *args)
    out = list(readings)
    split = [i for i, (a, b) in enumerate(zip(readings, second, strict=True))
             if a.text != b.text]
    if not split:
        return out
    texts = [(readings[i].text, second[i].text) for i in split]
    under_recut = score([recut_lines[i] for i in split], *args, texts,
                        [readings[i] for i in split])
    under_cut = score([cut_lines[i] for i in split], *args, texts, [second[i] for i in split])
    for k, i in enumerate(split):
        if under_recut[k][1] + under_cut[k][1] > under_recut[k][0] + under_cut[k][0]:
            out[i] = second[i]
    return out


def window_choose(recut_lines: Sequence[np.ndarray], cut_lines: Sequence[np.ndarray],
                  boxes: Sequence[InkBox], readings: Sequence[Decoded], read: Read,
                  score: Score, locate: Locate, policy: ReadingPolicy) -> list[Decoded]:
    """:func:`cross_choose` with a window of each line as cut for its second view
    (:func:`window_of`, ``policy.cross_window`` characters each side of the least sure
    one), read by its best path: where the window reads otherwise, the line's text with
    the window's reading in place of its own characters there is the other text, and the
    two are scored by the whole recut line and by the window (each text by its part
    there; the language model's terms counted with the whole line's, twice, as the two
    views' sum counts them in :func:`cross_choose`). A line whose characters cannot be
    placed (its reading kept no scores), or whose window reads otherwise at an edge
    character it shares with the rest of the line, keeps its reading."""
    args = (policy.stretch, policy.right_pad)
    context = policy.cross_window or 0
    spans = locate(recut_lines, *args, readings)
    out = list(readings)
    jobs: list[tuple[int, int, int, np.ndarray]] = []  # line, characters [k0, k1), window
    for i, (d, sp) in enumerate(zip(readings, spans, strict=True)):
        if sp is None or not d.text or len(sp) != len(d.text) \
                or len(d.char_probs) != len(d.text):
            continue
        k = int(np.argmin(d.char_probs))
        k0, k1 = max(0, k - context), min(len(d.text), k + context + 1)
        win = window_of(cut_lines[i], boxes[i], sp, k0, k1)
        if win is not None:
            jobs.append((i, k0, k1, win))
    if not jobs:
        return out
    seen = read([w for *_, w in jobs], *args, best_path=True)
    split = [(job, r) for job, r in zip(jobs, seen, strict=True)
             if _differs_inside(readings[job[0]].text, job[1], job[2], r.text)]
    if not split:
        return out
    whole, parts, alone = [], [], []
    for (i, k0, k1, _), r in split:
        text = readings[i].text
        spliced = _splice(readings[i], k0, k1, r)
        alone.append(spliced)
        whole.append((text, spliced.text))
        parts.append((text[k0:k1], r.text))
    under_recut = score([recut_lines[i] for (i, *_), _ in split], *args, whole,
                        [readings[i] for (i, *_), _ in split], prior=2.0)
    under_window = score([w for (*_, w), _ in split], *args, parts, [r for _, r in split],
                         prior=0.0)
    for k, ((i, *_), _) in enumerate(split):
        if under_recut[k][1] + under_window[k][1] > under_recut[k][0] + under_window[k][0]:
            out[i] = alone[k]
    return out


def _differs_inside(text: str, k0: int, k1: int, seen: str) -> bool:
    """Whether a window's reading ``seen`` of characters ``text[k0:k1]`` tells another
    text (spaces aside), with the same first (last) character where the window's edge is
    not the line's: there a cut may clip a character, and the line's other view holds it
    whole."""
    mine, theirs = text[k0:k1].replace(" ", ""), seen.replace(" ", "")
    if mine == theirs or not theirs:
        return False
    return (k0 == 0 or mine[0] == theirs[0]) and (k1 == len(text) or mine[-1] == theirs[-1])


def _splice(reading: Decoded, k0: int, k1: int, seen: Decoded) -> Decoded:
    """``reading`` with a window's reading ``seen`` in place of its characters
    ``[k0, k1)`` (keeping the spaces at their ends), each character with its own
    reading's probability."""
    text, probs = reading.text, reading.char_probs
    mine = text[k0:k1]
    lead = len(mine) - len(mine.lstrip(" "))
    trail = len(mine) - len(mine.rstrip(" "))
    core = seen.text.strip(" ")
    at = len(seen.text) - len(seen.text.lstrip(" "))
    core_probs = seen.char_probs[at:at + len(core)] \
        if len(seen.char_probs) == len(seen.text) else (seen.confidence,) * len(core)
    new_text = text[:k0 + lead] + core + text[k1 - trail:]
    new_probs = probs[:k0 + lead] + tuple(core_probs) + probs[k1 - trail:]
    return Decoded(new_text, min(new_probs, default=reading.confidence), new_probs)


@dataclass(frozen=True)
class InkBox:
    """Where :func:`recut` cuts a line: its ink box, columns ``[x0, x1)`` and rows
    ``[y0, y1)``, then ``pad`` pixels of ``fill`` (its background) on every side."""

    x0: int
    x1: int
    y0: int
    y1: int
    pad: int
    fill: float | tuple[float, ...]

    def cut(self, line: np.ndarray) -> np.ndarray:
        """``line`` cut to the box, with its margin."""
        return cv2.copyMakeBorder(np.ascontiguousarray(line[self.y0:self.y1, self.x0:self.x1]),
                                  self.pad, self.pad, self.pad, self.pad,
                                  cv2.BORDER_CONSTANT, value=self.fill)

    def to_line(self, x: np.ndarray) -> np.ndarray:
        """Columns of the recut line -> the same places on the line as cut."""
        return x - self.pad + self.x0


def window_of(line: np.ndarray, box: InkBox, spans: np.ndarray, k0: int, k1: int
              ) -> np.ndarray | None:
    """``line`` (as cut) cropped to characters ``[k0, k1)`` of a reading of its recut view
    (``box``): ``spans`` ``(n, 2)`` the recut columns of each character's first and last
    frame. An inner edge is the middle of the widest run of columns with the least ink
    between the last frame of the character before and the first of the one after: the
    gap between them, rather than the narrower one inside a character of two halves
    (收, 明); the line's own ends stay. None: under 4 columns."""
    width = line.shape[1]
    at = box.to_line(np.asarray(spans, dtype=np.float64))
    grey = line if line.ndim == 2 else cv2.cvtColor(line, cv2.COLOR_RGB2GRAY)
    ink = _ink(grey)
    column_ink = ink.sum(axis=0) if ink is not None else np.zeros(width, np.int64)

    def gap(c: int) -> int:
        lo = min(width - 1, max(0, int(np.floor(at[c - 1, 1]))))
        hi = min(width - 1, max(0, int(np.ceil(at[c, 0]))))
        if hi <= lo:
            return min(width - 1, max(0, (lo + hi) // 2))
        part = column_ink[lo:hi + 1]
        low = np.concatenate(([False], part == part.min(), [False]))
        edges = np.flatnonzero(low[1:] != low[:-1])
        starts, ends = edges[::2], edges[1::2]
        widest = int(np.argmax(ends - starts))
        return lo + int((starts[widest] + ends[widest] - 1) // 2)

    left = 0 if k0 == 0 else gap(k0)
    right = width if k1 == len(spans) else gap(k1) + 1
    if right - left < 4:
        return None
    return np.ascontiguousarray(line[:, left:right])


def vote(readings: Sequence[Decoded]) -> Decoded:
    """The reading whose text has the highest summed confidence over ``readings`` (the
    surest reading of that text; on a tie, the text read first). Two readings: the surer
    one."""
    totals: dict[str, float] = {}
    for d in readings:
        totals[d.text] = totals.get(d.text, 0.0) + d.confidence
    best = max(totals, key=lambda t: totals[t])  # max keeps the first of equal totals
    return max((d for d in readings if d.text == best), key=lambda d: d.confidence)


def _main_band(row_ink: np.ndarray) -> tuple[int, int] | None:
    """Rows ``[y0, y1)`` of a line's ink: the runs of rows with at least two ink pixels,
    less a thin run touching the top or bottom edge (a neighbour's cut-off piece)."""
    on = np.concatenate(([False], row_ink >= 2, [False]))
    edges = np.flatnonzero(on[1:] != on[:-1])
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    if not runs:
        return None
    mass = [int(row_ink[a:b].sum()) for a, b in runs]
    main = runs[mass.index(max(mass))]
    height = len(row_ink)
    keep = [r for r in runs if r == main or not ((r[0] == 0 or r[1] == height)
                                                 and r[1] - r[0] < 0.5 * (main[1] - main[0]))]
    return min(a for a, _ in keep), max(b for _, b in keep)


def recut(line: np.ndarray, margin: float) -> np.ndarray:
    """``line`` (uint8, grey or RGB, dark text on a lighter ground) cut at its ink box and
    given ``margin`` ink heights of its own background on every side (:func:`ink_box`);
    a line with no box to trust is returned as it is."""
    box = ink_box(line, margin)
    return line if box is None else box.cut(line)


def ink_box(line: np.ndarray, margin: float) -> InkBox | None:
    """Where :func:`recut` cuts ``line``. The ink is what Otsu's level on the grey line
    calls dark, in rows holding at least two such pixels (a lone speck does not stretch
    the box); a band of such rows at the top or bottom edge, apart from the line's main
    band and under half its height, is a cut-off piece of the neighbouring line and left
    out. The background is the median of the rest. None for a line with no clear ink,
    more ink than ground (light text on dark), or "ink" from its top edge to its bottom
    (a scan's shadow or tone band, which Otsu's level can call dark)."""
    grey = line if line.ndim == 2 else cv2.cvtColor(line, cv2.COLOR_RGB2GRAY)
    ink = _ink(grey)
    if ink is None:
        return None
    band = _main_band(ink.sum(axis=1))
    if band is None:
        return None
    y0, y1 = band
    if y0 == 0 and y1 == len(grey):
        return None  # "ink" from edge to edge: a shadow or a tone, not a box to trust
    cols = np.flatnonzero(ink[y0:y1].any(axis=0))
    pad = int(round(margin * (y1 - y0)))
    ground = np.median(line[~ink], axis=0)
    fill = tuple(float(v) for v in np.atleast_1d(ground)) if line.ndim == 3 else float(ground)
    return InkBox(int(cols[0]), int(cols[-1]) + 1, y0, y1, pad, fill)


MIN_GAIN = 1.05  # a slant must sharpen a line's row profile this much over level


def _ink(grey: np.ndarray) -> np.ndarray | None:
    """What Otsu's level calls dark in ``grey``, or None where there is no clear dark
    text on a lighter ground (a blank line, light text on dark)."""
    if grey.size == 0 or int(grey.min()) == int(grey.max()):
        return None
    level, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = grey <= level
    return ink if 0.0 < ink.mean() < 0.5 else None


def line_slope(line: np.ndarray, max_degrees: float = 3.0) -> float:
    """The slant of a text line's rows, ``dy/dx`` (positive: falling to the right), within
    ``±max_degrees``: the slope along which the ink's row profile is sharpest
    (:func:`crnn.slant.sharpest_slope`, quarter-degree steps, then finer), on a copy
    scaled to 32 px high. 0 for a line with no clear ink, one shorter than 4 of its
    heights, or one where no slant sharpens the profile by ``MIN_GAIN`` (5%) or more over
    level."""
    grey = line if line.ndim == 2 else cv2.cvtColor(line, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    if h > 32:
        grey = cv2.resize(grey, (max(1, round(w * 32 / h)), 32), interpolation=cv2.INTER_AREA)
    ink = _ink(grey)
    if ink is None or grey.shape[1] < 4 * grey.shape[0]:
        return 0.0
    best, sharpest, level = sharpest_slope(ink, max_degrees, max(1, round(max_degrees / 0.25)),
                                           11, "energy")
    return best if sharpest >= MIN_GAIN * level else 0.0


def straighten(line: np.ndarray, max_degrees: float = 3.0, min_drift: float = 0.1
               ) -> np.ndarray:
    """``line`` (uint8, grey or RGB, dark text on a lighter ground) turned level when its
    text slants (:func:`line_slope`) so far that it drifts by at least ``min_drift`` of
    the line's ink height from one end to the other, and cut again to the ink band it
    then has, with the top and bottom margins it had (filled with its own background
    where the turn leaves none). A level line, or one with no clear ink, is returned as
    it is (the same array)."""
    slope = line_slope(line, max_degrees)  # on a small copy: most lines stop here
    if slope == 0.0:
        return line
    grey = line if line.ndim == 2 else cv2.cvtColor(line, cv2.COLOR_RGB2GRAY)
    ink = _ink(grey)
    band = _main_band(ink.sum(axis=1)) if ink is not None else None
    h, w = grey.shape
    if band is None or abs(slope) * w < min_drift * (band[1] - band[0]):
        return line
    ground = np.median(line[~ink], axis=0)
    fill = tuple(float(v) for v in np.atleast_1d(ground)) * (3 if line.ndim == 2 else 1)

    def band_of(turned: np.ndarray) -> tuple[int, int] | None:
        g = turned if turned.ndim == 2 else cv2.cvtColor(turned, cv2.COLOR_RGB2GRAY)
        found = _ink(g)
        return _main_band(found.sum(axis=1)) if found is not None else None

    level = turn_line(line, float(np.degrees(np.arctan(slope))), fill[:3],
                      (band[0], h - band[1]), band_of)
    return line if level is None else level


def turn_line(line: np.ndarray, degrees: float, fill: tuple[float, ...],
              margins: tuple[int, int],
              band_of: Callable[[np.ndarray], tuple[int, int] | None]) -> np.ndarray | None:
    """``line`` turned by ``degrees`` (counter-clockwise, as OpenCV counts) about its
    centre on a ground of ``fill`` grown to hold its turned corners, and cut at the ink
    rows ``band_of`` finds in the result with ``margins`` (top, bottom) rows beside them
    (filled where the turn leaves fewer); None where it finds none. Levels a slanted
    line (:func:`straighten`) and slants a level one (``crnn.data.augment``)."""
    h, w = line.shape[:2]
    grow = int(np.ceil(abs(np.tan(np.radians(degrees))) * w / 2.0)) + 2
    big = cv2.copyMakeBorder(np.ascontiguousarray(line), grow, grow, 0, 0,
                             cv2.BORDER_CONSTANT, value=fill)
    turn = cv2.getRotationMatrix2D((w / 2.0, h / 2.0 + grow), degrees, 1.0)
    turned = cv2.warpAffine(big, turn, (w, h + 2 * grow), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    band = band_of(turned)
    if band is None:
        return None
    y0, y1 = band[0] - margins[0], band[1] + margins[1]
    pad0, pad1 = max(0, -y0), max(0, y1 - turned.shape[0])
    if pad0 or pad1:
        turned = cv2.copyMakeBorder(turned, pad0, pad1, 0, 0, cv2.BORDER_CONSTANT,
                                    value=fill)
    return np.ascontiguousarray(turned[y0 + pad0:y1 + pad0])

"""Line texts restricted to what a charset (and the installed fonts) can show.

Sources: natural Chinese drawn from jieba's word frequencies (``corpus``), classical
Chinese in its shape (``classical``: short phrases of single characters and particles,
dense punctuation, quoted speech), document fields (``fields``), English (``english``),
numbers (``numbers``), random characters (``random``) and lines of a user's file
(``file``). A source is used only when the
charset can express it; every line is checked against the allowed characters, so no
label ever holds a character outside the charset.

A :class:`CoverageSchedule` adds to line ``i`` a few characters chosen so that every
allowed character appears at least ``min_count`` times in ``count`` lines: rare
characters, which natural text would almost never show, get their share.
"""

from __future__ import annotations

import bisect
import importlib.util
import math
import random
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from ..errors import DatasetError
from . import fields
from . import words as lx
from .config import SynthConfig

__all__ = [
    "CoverageSchedule", "TextSampler", "build_word_index", "clip_em", "drawable", "em_width",
    "jieba_dict_path", "load_words", "pseudo_word", "text_em",
]

_ZH_PUNCT_MID = "，，，、、；：,"
_ZH_PUNCT_END = "。。。！？；"
# informal writing (reviews, messages): pauses and ends in ellipses, dashes, tildes, runs
_ZH_INFORMAL_MID = ("，", "，", "，", "……", "…", "...", "。。。", "——", "～", "~", "！", ",")
_ZH_INFORMAL_END = ("。", "！", "……", "…", "...", "。。。", "！！", "！！！", "？？", "～", "~",
                    "!", "?", "..", "。。")
_ZH_PAIRS = ("（）", "《》", "“”", "【】", "「」", "()", "〔〕")
_EN_PUNCT_MID = (",", ",", ",", ";", ":", "...", "..")
_EN_PUNCT_END = (".", ".", ".", ".", "!", "?", "...", "!!", "?!", "..")
# a line of a wrapped paragraph, a salutation or a list item may end in any of these
_EN_PUNCT_TAIL = _EN_PUNCT_MID + (".",)
# the pronoun and its contractions: the commonest capital letter of running English
_EN_I = ("I", "I", "I", "I'm", "I've", "I'd", "I'll")
# quotes around a word: straight, curly, single
_EN_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("'", "'"), ("\u2018", "\u2019"))
# Classical Chinese: the particles and pronouns that give it its look (之乎者也, 曰 before
# speech, 兮 in verse), who speaks, and its phrase lengths (four-character verse, five and
# seven in poems, longer in prose).
_CLASSICAL_PARTICLES = "之乎者也矣焉哉兮曰其而以于为所故则乃夫盖亦既莫弗尔汝吾予余若如与诸且皆未不"
_CLASSICAL_SPEAKERS = ("子", "王", "公", "君", "客", "对", "或", "臣", "使者", "左右", "孟子",
                       "太史公")
_CLASSICAL_PHRASE = (3, 4, 4, 4, 4, 4, 5, 5, 6, 7, 7, 8, 9)
_CLASSICAL_QUOTES = ("“”", "“”", "“”", "「」")
# Unicode categories never generated: controls, format characters, combining marks and
# separators other than the plain space draw nothing (or nothing on their own).
_INVISIBLE = ("Cc", "Cf", "Cs", "Mn", "Me", "Zl", "Zp", "Zs")


def drawable(ch: str) -> bool:
    """Whether ``ch`` may appear in a generated line (the plain space may)."""
    return ch == " " or unicodedata.category(ch) not in _INVISIBLE


@lru_cache(maxsize=65536)
def em_width(ch: str) -> float:
    """Approximate advance in em: 1 for wide (CJK, full-width) characters, else 0.55."""
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55


def _joined(ch: str) -> bool:
    """Characters that glue into one token (Latin words, numbers, URLs)."""
    return ch.isascii() and (ch.isalnum() or ch in "@._-:/%,+")


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable made-up lower-case word of one to three syllables (``brellomtiff``)."""
    n = rng.choices((1, 2, 3), weights=(3, 4, 2))[0]
    return "".join(rng.choice(lx.ONSETS) + rng.choice(lx.VOWELS) + rng.choice(lx.CODAS)
                   for _ in range(n))


def text_em(text: str) -> float:
    return sum(em_width(c) for c in text)


def clip_em(text: str, max_em: float) -> str:
    """The longest prefix of ``text`` no wider than ``max_em``, without a trailing space;
    a Latin word cut in the middle is dropped when an earlier space allows."""
    total = 0.0
    for k, c in enumerate(text):
        total += em_width(c)
        if total > max_em:
            if k and _joined(text[k - 1]) and _joined(c) and " " in text[:k]:
                k = text.rindex(" ", 0, k)
            return text[:k].rstrip()
    return text


def jieba_dict_path() -> Path:
    """The frequency dictionary bundled with the installed jieba package."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        raise DatasetError("natural Chinese text needs jieba's word list, which the synth extra "
                           "installs: pip install 'crnn[synth]'")
    path = Path(spec.origin).parent / "dict.txt"
    if not path.is_file():
        raise DatasetError(f"jieba is installed but has no {path}; reinstall jieba")
    return path


def load_words(allowed: frozenset[str], power: float) -> tuple[list[str], list[float]]:
    """Words of jieba's dict.txt made only of ``allowed`` characters, with cumulative
    weights ``frequency ** power`` (for :meth:`random.Random.choices`)."""
    words: list[str] = []
    weights: list[float] = []
    with open(jieba_dict_path(), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) < 2:
                continue
            w = parts[0]
            if all(c in allowed for c in w):
                words.append(w)
                weights.append(float(parts[1]) ** power)
    return words, list(accumulate(weights))


def build_word_index(words: list[str], cum: list[float], per_char: int = 6
                     ) -> dict[str, list[str]]:
    """Character -> the ``per_char`` most frequent words (2-4 characters) that hold it."""
    weight = [b - a for a, b in zip([0.0, *cum[:-1]], cum, strict=True)]
    order = sorted((k for k, w in enumerate(words) if 2 <= len(w) <= 4),
                   key=weight.__getitem__, reverse=True)
    index: dict[str, list[str]] = {}
    for k in order:
        w = words[k]
        for ch in w:
            bucket = index.setdefault(ch, [])
            if len(bucket) < per_char and w not in bucket:
                bucket.append(w)
    return index


class CoverageSchedule:
    """Which characters line ``i`` of ``count`` must carry so that each of ``chars``
    appears at least ``min_count`` times, and each of ``focus`` at least ``focus_min_count``
    times.

    The slots (``min_count * C``, plus the focus characters' extra appearances) are spread
    evenly over the lines (line ``i`` owns slots ``i*S//count .. (i+1)*S//count - 1``, at
    most ``max_per_line`` of them). Without a focus, slot ``s`` holds ``perm[s % C]``, so
    every run of ``C`` slots shows each character once. With one, each character's
    appearances sit at even strides over the slot sequence (a random phase per character),
    so a schedule cut short by ``max_per_line`` still gives every character its share.
    Common characters appear far more often anyway; the schedule lifts the rare ones, and
    a focus lifts chosen ones further (the new rows of a grown charset).
    """

    def __init__(self, chars: Iterable[str], count: int, min_count: int, max_per_line: int,
                 seed: int, focus: Iterable[str] = (), focus_min_count: int = 0) -> None:
        self.chars = sorted(set(chars))
        rng = random.Random(f"crnn-synth-coverage:{seed}")
        rng.shuffle(self.chars)
        c = len(self.chars)
        self.count = count
        self.min_count = min_count
        self.max_per_line = max_per_line
        have = set(self.chars)
        self.focus = sorted(set(focus) & have) if focus_min_count > min_count else []
        self.focus_min_count = focus_min_count if self.focus else 0
        extra = (self.focus_min_count - min_count) * len(self.focus)
        self.need = min_count * c + extra if count and max_per_line else 0
        self.slots = min(self.need, max_per_line * count)
        self.reachable = self.slots >= self.need
        self._sequence: list[str] | None = None
        if self.focus and self.slots:
            focus_set = set(self.focus)
            keyed = []
            for ch in self.chars:
                n = self.focus_min_count if ch in focus_set else min_count
                phase = rng.random()
                keyed.extend(((j + phase) / n, ch) for j in range(n))
            keyed.sort()
            self._sequence = [ch for _, ch in keyed[:self.slots]]

    def required(self, i: int) -> str:
        if not self.slots:
            return ""
        a = i * self.slots // self.count
        b = (i + 1) * self.slots // self.count
        if self._sequence is not None:
            return "".join(self._sequence[a:b])
        c = len(self.chars)
        return "".join(self.chars[s % c] for s in range(a, b))

    def describe(self) -> str:
        c = len(self.chars)
        if not self.slots:
            return "coverage sampling off"
        per_line = self.slots / self.count
        focus = (f", each of {len(self.focus):,} focus characters >= {self.focus_min_count}"
                 if self.focus else "")
        if self.reachable:
            return (f"coverage: {per_line:.2f} scheduled character(s) per line; each of {c:,} "
                    f"characters appears >= {self.min_count} times{focus} in "
                    f"{self.count:,} lines")
        lines_needed = math.ceil(self.need / self.max_per_line)
        return (f"coverage: {self.count:,} lines x {self.max_per_line} cannot give each of "
                f"{c:,} characters {self.min_count} appearances{focus}; use --count "
                f"{lines_needed:,} or more, or raise text.coverage.max_per_line")


class TextSampler:
    """Draws line texts for a charset.

    Args:
        allowed: the characters a line may hold (charset characters some font covers).
        config: synthesis settings (``text`` section).
        text_file: optional user file; its lines become the ``file`` source.
        max_em: cap on a line's visual length (for fixed-size output), or None.

    Heavy data (jieba's dictionary) is loaded on first use, per process.
    """

    def __init__(self, allowed: Iterable[str], config: SynthConfig,
                 text_file: str | Path | None = None, max_em: float | None = None) -> None:
        self.allowed = frozenset(c for c in allowed if drawable(c))
        if not self.allowed - {" "}:
            raise DatasetError("no character of the charset can be rendered with the fonts "
                               "found; see 'crnn synth fonts'")
        self.visible = "".join(sorted(self.allowed - {" "}))
        self.config = config
        lo, hi = config.range("text", "length")
        if max_em is not None:
            hi = max(1.0, min(hi, max_em))
            lo = min(lo, hi)
        self.length = (lo, hi)
        self.text_file = Path(text_file) if text_file else None
        self._words: tuple[list[str], list[float]] | None = None
        self._singles: tuple[list[str], list[float]] | None = None
        self._word_index: dict[str, list[str]] | None = None
        self._file_lines: list[str] | None = None
        hanzi = sum(1 for c in self.allowed if "\u4e00" <= c <= "\u9fff")
        self.has_hanzi = hanzi >= 50
        self.has_latin = sum(c in self.allowed for c in "etaoinshrdlu") >= 10
        self.has_digits = sum(c in self.allowed for c in "0123456789") >= 10
        makers: dict[str, Callable[[random.Random, float], str]] = {
            "corpus": self._corpus, "classical": self._classical, "fields": self._fields,
            "english": self._english, "numbers": self._numbers, "random": self._random,
        }
        usable = {"corpus": self.has_hanzi, "classical": self.has_hanzi,
                  "fields": self.has_digits or self.has_hanzi,
                  "english": self.has_latin, "numbers": self.has_digits, "random": True}
        weights = config.get("text", "sources")
        self.sources = [(name, makers[name]) for name in makers
                        if usable[name] and weights[name] > 0]
        if not self.sources:
            self.sources = [("random", self._random)]
        self.source_weights = [float(weights[n]) for n, _ in self.sources]
        if self.text_file is not None and not self.text_file.is_file():
            raise DatasetError(f"--text {self.text_file}: no such file")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_words"] = None  # reloaded in the receiving process
        state["_singles"] = None
        state["_word_index"] = None
        state["_file_lines"] = None
        return state

    # ---------------------------------------------------------------- public
    def sample(self, rng: random.Random, required: str = "") -> tuple[str, str]:
        """A line (stripped, single-spaced, only allowed characters) and its source name.

        ``required`` characters (from a :class:`CoverageSchedule`) are inserted at random
        places; the line is shortened to make room for them.
        """
        target = rng.uniform(*self.length)
        room = max(1.0, target - 2 * text_em(required))  # a required character may come
        # inside a word (below), so leave room for two characters each
        text, source = "", "random"
        if self.text_file is not None and rng.random() < self.config.get("text",
                                                                        "file_fraction"):
            text, source = self._from_file(rng, room), "file"
        if not text:
            name, make = rng.choices(self.sources, weights=self.source_weights)[0]
            for _ in range(8):
                text = self._clean(make(rng, room))
                if text and self._ok(text):
                    source = name
                    break
            else:
                text, source = self._random(rng, room), "random"
        text = clip_em(text, self.length[1])
        if required:
            in_words = source in ("corpus", "fields", "file") and self.has_hanzi
            text = self._insert(text, required, rng, in_words)
        return text, source

    # ---------------------------------------------------------------- helpers
    def _ok(self, text: str) -> bool:
        return all(c in self.allowed for c in text)

    def _clean(self, text: str) -> str:
        if " " not in self.allowed:
            text = text.replace(" ", "")
        return " ".join(text.split())

    def _insert(self, text: str, required: str, rng: random.Random, in_words: bool) -> str:
        """Insert ``required`` at random places that do not split a Latin word, number,
        URL or e-mail address. With ``in_words``, a Chinese character comes inside a common
        word that holds it (褴 -> 褴褛), so natural lines stay natural."""
        pieces = list(text)
        for c in required:
            piece = self._word_with(c, rng) if in_words and em_width(c) == 1.0 else c
            spots = [k for k in range(len(pieces) + 1)
                     if k == 0 or k == len(pieces) or not (_joined(pieces[k - 1][-1])
                                                           and _joined(pieces[k][0]))]
            pieces.insert(rng.choice(spots), piece)
        return " ".join("".join(pieces).split())

    def _word_with(self, c: str, rng: random.Random) -> str:
        """A frequent dictionary word containing ``c`` (or ``c`` itself if none)."""
        if self._word_index is None:
            self._word_index = build_word_index(*self._load_words())
        options = self._word_index.get(c)
        return rng.choice(options) if options else c

    def _load_words(self) -> tuple[list[str], list[float]]:
        if self._words is None:
            self._words = load_words(self.allowed, self.config.get("text", "word_power"))
            if not self._words[0]:
                raise DatasetError("no word of jieba's dictionary fits the charset")
        return self._words

    # ---------------------------------------------------------------- sources
    def _random(self, rng: random.Random, em: float) -> str:
        n = max(1, round(em / 0.8))
        out = "".join(rng.choice(self.visible) for _ in range(n))
        if " " in self.allowed and n > 4 and rng.random() < 0.3:
            k = rng.randint(1, n - 2)
            out = out[:k] + " " + out[k:]
        return out

    def _corpus(self, rng: random.Random, em: float) -> str:
        words, cum = self._load_words()
        total = cum[-1]
        latin_p = self.config.get("text", "latin_in_chinese")
        p_informal = self.config.get("text", "informal_marks")
        informal = p_informal > 0 and rng.random() < p_informal  # 0 draws nothing
        mid_marks, end_marks = ((_ZH_INFORMAL_MID, _ZH_INFORMAL_END) if informal
                                else (_ZH_PUNCT_MID, _ZH_PUNCT_END))
        out: list[str] = []
        length, phrase = 0.0, 0
        open_pair: str | None = None
        if rng.random() < 0.05:  # a line that opens with a bracket: （记者：……）
            open_pair = rng.choice(_ZH_PAIRS)
            out.append(open_pair[0])
        elif rng.random() < 0.05:  # a list item or clause: （3）……, 二、……
            out.append(fields.list_marker(rng))
        while length < em:
            r = rng.random()
            if r < latin_p and (self.has_latin or self.has_digits):
                tok = self._numbers(rng, 3) if rng.random() < 0.6 or not self.has_latin \
                    else rng.choice(lx.ABBREVIATIONS + lx.ENGLISH_WORDS[:60])
            elif latin_p <= r < latin_p + 0.01:  # 约翰·史密斯
                tok = fields.foreign_name(rng)
            else:
                tok = words[bisect.bisect_left(cum, rng.random() * total)]
            out.append(tok)
            length += text_em(tok)
            phrase += 1
            if length >= em:
                break
            if open_pair is None and phrase >= 2 and rng.random() < 0.04:
                open_pair = rng.choice(_ZH_PAIRS)
                out.append(open_pair[0])
                phrase = 0
            elif open_pair is not None and phrase >= 1 and rng.random() < 0.4:
                out.append(open_pair[1])
                open_pair = None
            elif phrase >= 2 and rng.random() < 0.18:
                out.append(rng.choice(mid_marks))
                phrase = 0
        if open_pair is not None:
            out.append(open_pair[1])
        if rng.random() < (0.6 if informal else 0.25):
            out.append(rng.choice(end_marks))
        return "".join(out)

    def _classical(self, rng: random.Random, em: float) -> str:
        """A window of a classical paragraph: phrases of 3-9 single characters (drawn by
        their frequency in jieba's dictionary, a fifth of them particles), a mark after
        each (，。；：、？！), speech opened by ``X曰：“`` and closed by
        ``。”``/``？”``, quotes inside speech in ``‘’``. The window may start or end
        inside a phrase or a quote, as the lines of a typeset paragraph do. Not real
        text: the look of it, with the characters and marks that classical lines put
        side by side."""
        chars, cum = self._single_chars()
        particles = [c for c in _CLASSICAL_PARTICLES if c in self.allowed]
        speakers = [s for s in _CLASSICAL_SPEAKERS if all(c in self.allowed for c in s)]

        def char() -> str:
            if particles and rng.random() < 0.2:
                return rng.choice(particles)
            return chars[bisect.bisect_left(cum, rng.random() * cum[-1])]

        out: list[str] = []
        quote: str | None = None
        inner = False
        while text_em("".join(out)) < em + 6:
            if quote is None and rng.random() < 0.15:
                who = rng.choice(speakers) if speakers and rng.random() < 0.5 \
                    else char() + char()
                quote = rng.choice(_CLASSICAL_QUOTES)
                out.append(who + "曰：" + quote[0])
            phrase = "".join(char() for _ in range(rng.choice(_CLASSICAL_PHRASE)))
            if quote is not None and not inner and rng.random() < 0.08:
                phrase, inner = "‘" + phrase, True
            out.append(phrase)
            if inner and rng.random() < 0.5:
                out.append(rng.choice("。？！") + "’")
                inner = False
            if quote is not None and not inner and rng.random() < 0.3:
                out.append(rng.choice("。。？！") + quote[1])
                quote = None
            else:
                out.append(rng.choice("，，，，，。。。；；：、？！"))
        text = "".join(out)
        if rng.random() < 0.6:  # a line from inside the paragraph
            text = text[rng.randrange(min(len(text) // 2, 12) + 1):]
        return clip_em(text, em)

    def _single_chars(self) -> tuple[list[str], list[float]]:
        if self._singles is None:
            words, cum = self._load_words()
            undo = 1.0 / self.config.get("text", "word_power")  # back to plain frequency:
            chars, weights = [], []  # classical lines are common characters, densely
            for w, a, b in zip(words, [0.0, *cum[:-1]], cum, strict=True):
                if len(w) == 1 and "\u4e00" <= w <= "\u9fff":
                    chars.append(w)
                    weights.append((b - a) ** undo)
            if not chars:
                raise DatasetError("no single character of jieba's dictionary fits the charset")
            self._singles = chars, list(accumulate(weights))
        return self._singles

    def _fields(self, rng: random.Random, em: float) -> str:
        field = fields.document_field(rng)
        return fields.list_marker(rng) + field if rng.random() < 0.08 else field

    def _english(self, rng: random.Random, em: float) -> str:
        """Words of a small vocabulary, made-up words (letters the vocabulary would never
        put side by side), names, abbreviations and numbers; sentence, title or upper
        case; a line may end in a comma or colon (wrapped text, salutations) as well as a
        full stop, an ellipsis or doubled marks (``...``, ``!!``, ``?!``), and a word may
        stand in brackets or quotes. More than a third of these lines keep their words'
        case, starting mid-sentence in lower case as wrapped text does; lines hold the
        pronoun ``I`` as prose does, and may run across a sentence end (``... eaten. I
        don't``); abbreviations may end in a full stop (``a.m.,``, ``etc.``). Words may be
        possessive
        (``Bachelor's``), contracted (``don't``) or hyphenated (``passport-sized``); a
        line may hold a room or code (``A-204``), an e-mail address or URL, or a
        separator between parts (``University · www.x.edu.cn``). A quarter of the lines
        are fields of English forms, letters and invoices (:func:`.fields.english_field`:
        ``Invoice No.: INV-2025-00417``, ``Dear Dr. Wang,``)."""
        if rng.random() < 0.25:
            return fields.english_field(rng)
        words: list[str] = []
        verbatim: set[int] = set()  # e-mail addresses and URLs keep their case
        starts: set[int] = set()  # words after a sentence end inside the line
        length = 0.0
        while length < em:
            r = rng.random()
            if rng.random() < 0.035:
                w = rng.choice(_EN_I)
            elif rng.random() < 0.02:
                w = rng.choice(lx.DOTTED_ABBREVIATIONS)
            elif r < 0.06:
                w = rng.choice(lx.SYLLABLES).capitalize()
            elif r < 0.10:
                w = rng.choice(lx.ABBREVIATIONS)
            elif r < 0.16:
                w = self._numbers(rng, 2)
            elif r < 0.31:
                w = pseudo_word(rng)
            elif r < 0.33:
                w = fields.room_code(rng)
            elif r < 0.345:
                w = rng.choice(lx.CONTRACTIONS)
            elif r < 0.355:
                w = fields.email(rng) if rng.random() < 0.5 else fields.url(rng)
                verbatim.add(len(words))
            elif r < 0.37 and words:
                w = rng.choice(lx.SEPARATORS)
            else:
                w = rng.choice(lx.ENGLISH_WORDS)
                k = rng.random()
                if k < 0.04:
                    w += "'" if w.endswith("s") else "'s"
                elif k < 0.07:
                    w += "-" + rng.choice(lx.ENGLISH_WORDS)
            if rng.random() < 0.03 or (not words and rng.random() < 0.02):
                w = f"({w})"
            elif rng.random() < 0.025:
                q = rng.choice(_EN_QUOTES)
                w = f"{q[0]}{w}{q[1]}"
            words.append(w)
            length += text_em(w) + 0.3
            if length < em:
                k = rng.random()
                if k < 0.08:
                    words[-1] += rng.choice(_EN_PUNCT_MID)
                elif k < 0.11:  # a sentence ends, the next begins in the same line
                    words[-1] += rng.choice(_EN_PUNCT_END)
                    starts.add(len(words))
        style = rng.random()
        for i, w in enumerate(words):
            if i in verbatim:
                continue
            if i in starts and style < 0.8:
                words[i] = w[:1].upper() + w[1:]
            if (style < 0.4 and i == 0) or 0.4 <= style < 0.55:
                words[i] = w[:1].upper() + w[1:]
            elif 0.55 <= style < 0.63:
                words[i] = w.upper()
        tail = rng.random()
        if tail < 0.5:
            marks = _EN_PUNCT_END if tail < 0.3 else _EN_PUNCT_TAIL
            words[-1] = words[-1].rstrip(",;:") + rng.choice(marks)
        return " ".join(words)

    def _numbers(self, rng: random.Random, em: float) -> str:
        n_digits = max(1, round(em / 0.55))
        form = rng.randrange(10)
        if form < 4:
            return "".join(str(rng.randrange(10)) for _ in range(rng.randint(1, n_digits)))
        if form == 4:
            return fields.group_thousands(rng.randint(1000, 10 ** min(12, max(4, n_digits))))
        if form == 5:
            return f"{rng.uniform(0, 10 ** rng.randint(1, 5)):.{rng.randint(1, 3)}f}"
        if form == 6:
            return f"{rng.uniform(0, 100):.{rng.randint(0, 2)}f}%"
        if form == 7:
            return f"-{rng.randint(1, 9999)}" if rng.random() < 0.5 \
                else f"{rng.randint(1, 99)}/{rng.randint(2, 99)}"
        if form == 8:
            return f"{rng.randint(1, 999)}-{rng.randint(1, 999)}"
        return f"No.{rng.randint(1, 99999)}" if rng.random() < 0.5 \
            else f"v{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"

    def _from_file(self, rng: random.Random, em: float) -> str:
        if self._file_lines is None:
            assert self.text_file is not None
            try:
                raw = self.text_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise DatasetError(f"--text {self.text_file}: cannot read as UTF-8 text "
                                   f"({exc})") from exc
            lines = [" ".join(ln.split()) for ln in raw.splitlines()]
            self._file_lines = [ln for ln in lines if ln]
            if not self._file_lines:
                raise DatasetError(f"--text {self.text_file} holds no text lines")
        line = rng.choice(self._file_lines)
        line = self._clean("".join(c for c in line if c in self.allowed))  # drop the rest
        if text_em(line) > em:
            start = rng.randrange(len(line))
            line = clip_em(line[start:], em).strip()
        return line

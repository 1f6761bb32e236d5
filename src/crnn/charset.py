"""Text <-> class indices.

Index 0 is the CTC blank; the charset's characters are classes 1..K. A charset comes from a
preset (``digits``, ``ascii``, ``zh``, ``zh-large``, ``big5``; ``zh``: ASCII, GB2312,
``char_std_5990.txt``, the punctuation printed Chinese uses, full-width forms and the
通用规范汉字表's 8,105 characters; ``big5``: the 13,053 hanzi of Big5, traditional
characters, to grow a charset with), a file (one character per line, UTF-8
or GBK/GB18030), or a string. Files keep their *line* mapping as well as their distinct
characters, because index-style label files (the Synthetic Chinese String Dataset) refer to
line numbers, and published charset files repeat some characters.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import CharsetError

__all__ = ["Charset", "OOV_POLICIES", "PRESETS", "mostly_latin"]

OOV_POLICIES = ("error", "skip-sample", "drop-char")
PRESETS = ("digits", "ascii", "zh", "zh-large", "big5")

# Words a charset file's first line may hold to stand for the CTC blank.
_BLANK_PLACEHOLDERS = (" ", "blank", "<blank>", "[blank]")

# Python's gb2312 codec maps a few symbols to code points printed Chinese does not use.
_GB_NORMALISE = {"\u2015": "\u2014", "\u30fb": "\u00b7", "\u2225": "\u2016"}

# Punctuation that printed Chinese really uses beyond GB2312.
_ZH_EXTRA = "—·〇～•…‘’“”、。《》「」『』【】〔〕（）％＋－／：；＜＝＞？＠［］｛｝￥"


class Charset:
    """An ordered set of characters; class ``i`` (1-based) is ``chars[i - 1]``, 0 is blank.

    Args:
        chars: the characters in order. Duplicates are merged (the first position wins) with
            a warning. Each item must be exactly one character.
        name: where it came from (a preset name, a file path or ``"string"``), for messages.
        line_to_class: for file charsets, the class of each line number of the file
            (line 0 is the blank placeholder -> class 0). Index-style labels use it.
    """

    def __init__(
        self,
        chars: Iterable[str],
        name: str = "string",
        line_to_class: Sequence[int] | None = None,
    ) -> None:
        ordered: list[str] = []
        index: dict[str, int] = {}
        dupes: list[str] = []
        for ch in chars:
            if len(ch) != 1:
                raise CharsetError(
                    f"charset {name}: entry {ch!r} is not a single character; "
                    "put one character per line"
                )
            if ch in index:
                dupes.append(ch)
                continue
            index[ch] = len(ordered) + 1
            ordered.append(ch)
        if dupes and line_to_class is None:
            warnings.warn(
                f"charset {name}: merged {len(dupes)} duplicate character(s): "
                f"{''.join(sorted(set(dupes)))!r}",
                stacklevel=2,
            )
        if not ordered:
            raise CharsetError(f"charset {name} is empty")
        self.chars: tuple[str, ...] = tuple(ordered)
        self.name = name
        self._index = index
        self.line_to_class: tuple[int, ...] | None = (
            tuple(line_to_class) if line_to_class is not None else None
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_string(cls, text: str, name: str = "string") -> Charset:
        return cls(list(text), name=name)

    @classmethod
    def from_file(cls, path: str | Path) -> Charset:
        """Read a one-character-per-line file, UTF-8 or GBK/GB18030 (detected, strict)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CharsetError(f"cannot read charset file {path}: {exc.strerror}") from exc
        text = _decode_charset_bytes(raw, path)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the trailing newline
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        if not lines:
            raise CharsetError(f"charset file {path} is empty")
        has_blank = lines[0] in _BLANK_PLACEHOLDERS or lines[0].strip().lower() == "blank"
        start = 1 if has_blank else 0
        chars: list[str] = []
        line_to_class: list[int] = [0] * start
        seen: dict[str, int] = {}
        dupes: list[tuple[int, str]] = []
        for lineno in range(start, len(lines)):
            ch = lines[lineno]
            if ch == "":
                raise CharsetError(
                    f"charset file {path}, line {lineno}: empty line; every line after the "
                    "first must hold exactly one character (a space is written as ' ')"
                )
            if len(ch) != 1:
                stripped = ch.strip()
                if len(stripped) == 1:
                    ch = stripped
                else:
                    raise CharsetError(
                        f"charset file {path}, line {lineno}: {ch!r} is not a single character"
                    )
            if ch in seen:
                dupes.append((lineno, ch))
                line_to_class.append(seen[ch])
                continue
            chars.append(ch)
            seen[ch] = len(chars)
            line_to_class.append(len(chars))
        if dupes:
            shown = ", ".join(f"line {n} {c!r}" for n, c in dupes[:8])
            warnings.warn(
                f"charset file {path}: {len(dupes)} duplicate line(s) merged into one class "
                f"each ({shown}); index-style labels keep their line mapping",
                stacklevel=2,
            )
        return cls(chars, name=str(path), line_to_class=line_to_class)

    @classmethod
    def preset(cls, name: str) -> Charset:
        return cls(_preset_chars(name), name=name)

    @classmethod
    def resolve(cls, spec: str | Path | Charset) -> Charset:
        """A preset name, a path to a charset file, or ``chars:<characters>``."""
        if isinstance(spec, Charset):
            return spec
        spec_s = str(spec)
        if spec_s in PRESETS:
            return cls.preset(spec_s)
        if spec_s.startswith("chars:"):
            return cls.from_string(spec_s[len("chars:") :])
        if Path(spec_s).is_file():
            return cls.from_file(spec_s)
        raise CharsetError(
            f"unknown charset {spec_s!r}: give a preset ({', '.join(PRESETS)}), a path to a "
            "charset file (one character per line), or 'chars:' followed by the characters"
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return {"name": self.name, "chars": "".join(self.chars)}

    @classmethod
    def from_dict(cls, d: dict) -> Charset:
        return cls(list(d["chars"]), name=d.get("name", "checkpoint"))

    # ------------------------------------------------------------------ mapping
    def __len__(self) -> int:
        return len(self.chars)

    @property
    def num_classes(self) -> int:
        """Model output size: characters + the blank."""
        return len(self.chars) + 1

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and self.chars == other.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"Charset({self.name!r}, {len(self)} characters)"

    def index(self, ch: str) -> int:
        return self._index[ch]

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` outside the charset, in order of first appearance."""
        out: list[str] = []
        for ch in text:
            if ch not in self._index and ch not in out:
                out.append(ch)
        return out

    def encode(self, text: str, oov: str = "error", where: str = "") -> list[int] | None:
        """Map text to classes 1..K.

        ``oov`` says what to do with a character outside the charset: ``error`` raises
        :class:`CharsetError` naming the character and ``where`` (the sample); ``skip-sample``
        returns ``None``; ``drop-char`` leaves the character out.
        """
        out: list[int] = []
        for pos, ch in enumerate(text):
            k = self._index.get(ch)
            if k is not None:
                out.append(k)
            elif oov == "drop-char":
                continue
            elif oov == "skip-sample":
                return None
            elif oov == "error":
                sample = f" in {where}" if where else ""
                raise CharsetError(
                    f"character {ch!r} (U+{ord(ch):04X}) at position {pos} of label {text!r}"
                    f"{sample} is not in charset {self.name} ({len(self)} characters); add it "
                    "to the charset, or choose --oov skip-sample / drop-char"
                )
            else:
                raise CharsetError(f"unknown out-of-charset policy {oov!r}: use {OOV_POLICIES}")
        return out

    def decode(self, classes: Iterable[int]) -> str:
        """Classes 1..K to text; 0 (blank) is skipped. No CTC collapsing here."""
        chars = self.chars
        return "".join(chars[k - 1] for k in classes if k > 0)

    def decode_lines(self, line_numbers: Iterable[int], where: str = "") -> str:
        """Index-style labels: line numbers of the charset file -> text."""
        if self.line_to_class is None:
            raise CharsetError(
                f"index-style labels{(' in ' + where) if where else ''} need a charset file "
                f"(their numbers are its line numbers), but charset {self.name} is not one"
            )
        out = []
        for n in line_numbers:
            if not 0 < n < len(self.line_to_class):
                raise CharsetError(
                    f"index {n}{(' in ' + where) if where else ''} is outside charset file "
                    f"{self.name} (lines 1..{len(self.line_to_class) - 1}); is it the "
                    "charset these labels were made with?"
                )
            out.append(self.chars[self.line_to_class[n] - 1])
        return "".join(out)


def mostly_latin(text: str) -> bool:
    """At least two non-space characters, over 70% of them ASCII: a line of Latin script
    (an English sentence, an address, a code), which the bundled reading policy reads a
    second time and searches with the language model however sure its first reading."""
    chars = [c for c in text if not c.isspace()]
    return len(chars) >= 2 and sum(c.isascii() for c in chars) > 0.7 * len(chars)


def _decode_charset_bytes(raw: bytes, path: Path) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK; GBK user-defined code points decode to the Private
        # Use Area instead of being dropped.
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n")
        raise CharsetError(
            f"charset file {path} is neither UTF-8 nor GBK/GB18030 (bad bytes on line {line}); "
            "re-save it as UTF-8"
        ) from exc


def _gb_block(lead: range, trail: range, codec: str) -> list[str]:
    out = []
    for hi in lead:
        for lo in trail:
            try:
                ch = bytes([hi, lo]).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and unicodedata.category(ch) not in ("Co", "Cn", "Cc"):
                out.append(_GB_NORMALISE.get(ch, ch))
    return out


def _std5990() -> list[str]:
    text = resources.files("crnn").joinpath("assets/char_std_5990.txt").read_text("utf-8")
    return [c for c in text.split("\n")[1:] if len(c) == 1]


def _general_standard() -> list[str]:
    """The 8,105 characters of the 通用规范汉字表 (2013), in its order."""
    text = resources.files("crnn").joinpath("assets/tgh_8105.txt").read_text("utf-8")
    return [c for c in text.split("\n") if len(c) == 1]


@cache
def _preset_chars(name: str) -> tuple[str, ...]:
    ascii_chars = [chr(c) for c in range(0x20, 0x7F)]
    if name == "digits":
        return tuple("0123456789")
    if name == "ascii":
        return tuple(ascii_chars)
    if name in ("zh", "zh-large"):
        gb2312 = _gb_block(range(0xA1, 0xF8), range(0xA1, 0xFF), "gb2312")
        fullwidth = [chr(c) for c in range(0xFF01, 0xFF5F)]
        chars = ascii_chars + gb2312 + _std5990() + list(_ZH_EXTRA) + fullwidth \
            + _general_standard()
        if name == "zh-large":
            gbk = _gb_block(range(0x81, 0xFF), range(0x40, 0xFF), "gbk")
            chars += [c for c in gbk if unicodedata.category(c) == "Lo"]
        # Drop private-use characters and keep first occurrences in order.
        return tuple(
            dict.fromkeys(c for c in chars if unicodedata.category(c) not in ("Co", "Cn"))
        )
    if name == "big5":
        # Traditional Chinese: the hanzi of Big5's two levels (frequent, then less
        # frequent), in code order
        frequent = _gb_block(range(0xA4, 0xC7), range(0x40, 0xFF), "big5")
        rest = _gb_block(range(0xC9, 0xFA), range(0x40, 0xFF), "big5")
        return tuple(dict.fromkeys(c for c in frequent + rest
                                   if unicodedata.name(c, "").startswith("CJK")))
    raise CharsetError(f"unknown charset preset {name!r}: choose one of {', '.join(PRESETS)}")

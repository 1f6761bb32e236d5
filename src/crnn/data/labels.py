"""Label files: ``path<TAB>label``, ``path label text`` and index style ``path k1 k2 ...``.

See ``shared/formats/README.md``. Files are streamed line by line (a 3.6M-line file never
sits in memory); a bad line becomes an entry with an ``error`` instead of stopping the read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..charset import Charset
from ..errors import CharsetError, DatasetError

__all__ = ["LabelEntry", "LABEL_FORMATS", "detect_format", "iter_label_file", "count_lines"]

LABEL_FORMATS = ("auto", "tab", "space", "index")


@dataclass(frozen=True)
class LabelEntry:
    lineno: int  # 1-based line number in the label file
    image: str  # image path as written in the file
    label: str  # decoded text ("" when error is set)
    error: str | None = None


def _open_lines(path: Path) -> Iterator[tuple[int, str | None, bytes]]:
    try:
        f = path.open("rb")
    except OSError as exc:
        raise DatasetError(f"cannot read label file {path}: {exc.strerror}") from exc
    with f:
        for lineno, raw in enumerate(f, 1):
            raw = raw.rstrip(b"\r\n")
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield lineno, raw.decode("utf-8"), raw
            except UnicodeDecodeError:
                yield lineno, None, raw


def _is_index_line(line: str, min_numbers: int = 1) -> bool:
    parts = line.split(" ")
    return len(parts) > min_numbers and all(p.isdigit() for p in parts[1:])


def detect_format(path: str | Path, charset: Charset | None = None, probe: int = 200) -> str:
    """Guess the style from the first lines: tabs -> ``tab``; all-integer labels with a
    charset *file* (which index labels need) -> ``index``; otherwise ``space``. Several
    numbers per line without a charset file is ambiguous and refused with advice."""
    lines = [ln for _, ln, _ in itertools.islice(_open_lines(Path(path)), probe) if ln]
    if not lines:
        raise DatasetError(f"label file {path} is empty")
    if all("\t" in ln for ln in lines):
        return "tab"
    if all(_is_index_line(ln) for ln in lines):
        if charset is not None and charset.line_to_class is not None:
            return "index"
        if not all(_is_index_line(ln, 2) for ln in lines):
            return "space"  # one number per line: a digit-string label such as "img.png 42"
        raise DatasetError(
            f"label file {path} looks index-style (image name, then numbers); give the "
            "charset file its numbers refer to (--charset char_std_5990.txt), or "
            "--format space if the numbers are the text"
        )
    return "space"


def iter_label_file(
    path: str | Path, fmt: str = "auto", charset: Charset | None = None
) -> Iterator[LabelEntry]:
    """Yield every non-empty line as a :class:`LabelEntry` (with ``error`` for bad ones)."""
    path = Path(path)
    if fmt not in LABEL_FORMATS:
        raise DatasetError(f"unknown label format {fmt!r}: use one of {LABEL_FORMATS}")
    if fmt == "auto":
        fmt = detect_format(path, charset)
    if fmt == "index" and (charset is None or charset.line_to_class is None):
        raise DatasetError(f"index-style labels in {path} need the charset file (--charset)")
    for lineno, line, raw in _open_lines(path):
        where = f"{path}:{lineno}"
        if line is None:
            yield LabelEntry(lineno, raw.split(b"\t")[0].decode("utf-8", "replace"), "",
                             f"{where}: line is not UTF-8; re-save the label file as UTF-8")
            continue
        if not line.strip():
            continue
        if fmt == "tab":
            image, sep, label = line.partition("\t")
        else:
            image, sep, label = line.partition(" ")
        if not sep:
            yield LabelEntry(lineno, image, "", f"{where}: no label after the image path")
            continue
        if fmt == "index":
            try:
                numbers = [int(x) for x in label.split()]
                label = charset.decode_lines(numbers, where=where)  # type: ignore[union-attr]
            except ValueError:
                yield LabelEntry(lineno, image, "", f"{where}: index label {label!r} is not "
                                 "a list of integers")
                continue
            except CharsetError as exc:
                yield LabelEntry(lineno, image, "", str(exc))
                continue
        if label == "":
            yield LabelEntry(lineno, image, "", f"{where}: empty label for {image}")
            continue
        yield LabelEntry(lineno, image, label)


def count_lines(path: str | Path) -> int:
    """Fast newline count (for progress bars over multi-million-line files)."""
    n = 0
    last = b"\n"
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")

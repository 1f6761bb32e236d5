"""Text for a validation set whose wording no training line has: English sentences of the
licence texts every Debian system carries, and the Chinese translations of programs'
messages (their ``zh_CN`` message catalogues), one per line:

    python tools/heldout_text.py --charset src/crnn/models/default.charset.txt \\
        --out build/v16/heldout_text.txt
    crnn synth pages --pages 48 --seed 7101 --text build/v16/heldout_text.txt \\
        --fonts heldout --crop ink --out build/v16/val_prose.lmdb

Training text comes from ``crnn synth text`` and ``tools/prose_corpus.py`` (fortunes);
neither reads these files, so pages typeset from them with held-out font families
(``--fonts heldout``) measure reading of unseen wording in unseen faces. Format
directives (``%s``, ``{0}``), accelerator marks (``_File``) and markup are dropped; a line
with a character outside the charset is left out whole.
"""

from __future__ import annotations

import argparse
import gettext
import re
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prose_corpus import paragraphs, sentences  # noqa: E402

from crnn.charset import Charset  # noqa: E402

LICENCES = Path("/usr/share/common-licenses")
CATALOGUES = Path("/usr/share/locale/zh_CN/LC_MESSAGES")
DIRECTIVE = re.compile(r"%(\([^)]*\))?[-+ #0-9.*]*[a-zA-Z]|\{[^}]*\}|<[^>]+>|\\[ntr]|_(?=\w)")


def english(folder: Path, max_chars: int) -> list[str]:
    out = []
    for f in sorted(folder.iterdir()):
        if f.is_file() and not f.is_symlink():
            text = f.read_text(encoding="utf-8", errors="replace")
            for block in text.split("\n\n"):
                for para in paragraphs(block.splitlines()):
                    out += sentences(para, max_chars)
    return out


def chinese(folder: Path, max_chars: int) -> list[str]:
    out = []
    for f in sorted(folder.glob("*.mo")):
        try:
            with open(f, "rb") as fh:
                catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
        except (OSError, gettext.error, UnicodeDecodeError):
            continue
        for text in catalog.values():
            if not isinstance(text, str) or not any("\u4e00" <= c <= "\u9fff" for c in text):
                continue
            for line in DIRECTIVE.sub("", text).splitlines():
                line = " ".join(line.split()).strip(" :：")
                if 4 <= len(line) <= max_chars:
                    out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--charset", required=True, help="keep lines this charset can write")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--max-chars", type=int, default=40)
    args = ap.parse_args(argv)
    allowed = set(Charset.resolve(args.charset).chars)
    lines = english(LICENCES, args.max_chars) + chinese(CATALOGUES, args.max_chars)
    seen: set[str] = set()
    kept = []
    for line in lines:
        line = unicodedata.normalize("NFC", line)
        if len(line) >= 4 and line not in seen and all(c in allowed for c in line):
            seen.add(line)
            kept.append(line)
    if not kept:
        ap.error(f"no text found in {LICENCES} or {CATALOGUES}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    cjk = sum(1 for s in kept if any("\u4e00" <= c <= "\u9fff" for c in s))
    print(f"wrote {len(kept):,} lines ({cjk:,} Chinese) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Traditional-character text from simplified text, for training lines in 繁體字:

    pip install opencc-python-reimplemented==0.1.7
    python tools/traditional_text.py --charset configs/v43/charset.txt \
        --out build/v43/trad_docs.txt build/v19/docs.txt

Each line is converted by OpenCC's ``s2t`` tables (phrases first, so 头发 becomes 頭髮 and
发展 發展); lines that come out unchanged (no character has a traditional form) are
dropped, and so is any line with a character outside ``--charset`` (never patched).
Give it text that is already clean of every measurement set: the conversion keeps a line's
wording, so a sentence that overlaps a set in simplified form overlaps it still.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crnn.charset import Charset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", type=Path, help="UTF-8 text files, one line each")
    ap.add_argument("--charset", required=True, help="lines must fit it (preset or file)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    try:
        from opencc import OpenCC
    except ImportError:
        sys.exit("needs OpenCC's tables: pip install opencc-python-reimplemented==0.1.7")
    convert = OpenCC("s2t").convert
    allowed = set(Charset.resolve(args.charset).chars) | {" "}
    kept = same = outside = 0
    seen: set[str] = set()
    with open(args.out, "w", encoding="utf-8") as out:
        for path in args.inputs:
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line:
                    continue
                trad = convert(line)
                if trad == line:
                    same += 1
                elif not set(trad) <= allowed:
                    outside += 1
                elif trad not in seen:
                    seen.add(trad)
                    out.write(trad + "\n")
                    kept += 1
    print(f"{args.out}: {kept:,} lines; left out {same:,} with no traditional form and "
          f"{outside:,} with a character outside the charset")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

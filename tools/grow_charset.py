"""Grow a model's charset without moving any of its classes:

    python tools/grow_charset.py --base v15_charset.txt --add zh \
        --out src/crnn/models/default.charset.txt --new-out configs/v16/new_chars.txt

The base file's lines stay as they are, in order (a model fine-tuned with ``--init`` keeps
every trained output row); the characters of ``--add`` (a preset, a charset file or
``chars:...``) that the base lacks follow in ``--add``'s order, whitespace left out (labels
carry one plain space). ``--new-out`` writes just the added characters, one per line, for
``crnn synth``'s ``text.coverage.focus`` (each shown often enough to learn).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crnn.charset import Charset  # noqa: E402


def grow(base: Path, add: str) -> tuple[list[str], list[str]]:
    """The grown file's lines and the characters added."""
    lines = base.read_text(encoding="utf-8").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    have = set(Charset.resolve(str(base)).chars)
    new = [c for c in dict.fromkeys(Charset.resolve(add).chars)
           if c not in have and not c.isspace()]
    return lines + new, new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="the charset file to grow")
    ap.add_argument("--add", required=True, help="preset, charset file or chars:...")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--new-out", type=Path, help="also write the added characters here")
    args = ap.parse_args(argv)
    lines, new = grow(args.base, args.add)
    for path, text in ((args.out, "\n".join(lines)),
                       (args.new_out, "\n".join(new) + "\n" if new else "")):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    print(f"{args.out}: {len(Charset.resolve(str(args.out)).chars):,} characters, "
          f"{len(new):,} added after {args.base}'s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How many lines of a measurement set a training text shares wording with.

Training text must not hold the lines a model is measured on. For each text file (one
line per sample, or ``file<TAB>text`` labels), this counts the label lines that share a
run of 8 tokens (a Chinese character or a Latin word is a token; case, punctuation and
spacing ignored: tools/prose_corpus.py's rule) with it, and exits 1 when any does.
Shorter label lines (a time, a name, a heading) prove nothing and are not counted; a
single long name (8 characters such as 新疆维吾尔自治区) can still make one hit::

    python tools/text_overlap.py --labels ../shared/dev/printed_zh/labels.tsv \\
        --labels ../shared/dev/printed_en/labels.tsv build/v17/prose.txt build/v17/corpus.txt

Only counts are printed, never the shared wording. ``--clean OUT`` writes the one text
given without the lines that share such a run with the labels (or equal a shorter label
line whole: tools/prose_corpus.py's ``--exclude-overlap`` rule), for text no one wrote
line by line, such as ``crnn synth text``'s generated lines::

    python tools/text_overlap.py --labels ../shared/dev/printed_zh/labels.tsv \\
        --labels ../shared/dev/printed_en/labels.tsv --clean build/v21/corpus.txt \\
        build/v21/corpus_raw.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prose_corpus import OVERLAP_TOKENS, label_grams, overlaps, token_runs, tokens  # noqa: E402


def _label_texts(path: Path) -> list[str]:
    return [ln.split("\t", 1)[-1] for ln in path.read_text(encoding="utf-8").splitlines()]


def shared_lines(labels: list[str], text: Path, n: int = OVERLAP_TOKENS) -> int:
    """How many of ``labels`` (those of at least ``n`` tokens) share a run of ``n`` tokens
    with a line of ``text``."""
    grams: set[tuple[str, ...]] = set()
    with text.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            grams |= token_runs(tokens(line.split("\t", 1)[-1]), n)
    return sum(1 for label in labels if not token_runs(tokens(label), n).isdisjoint(grams))


def clean(text: Path, label_files: list[Path], out: Path) -> tuple[int, int]:
    """Write ``text``'s lines that overlap no label line to ``out`` (atomically); return
    (lines kept, lines dropped)."""
    grams = label_grams(label_files)
    kept: list[str] = []
    dropped = 0
    for line in text.read_text(encoding="utf-8").splitlines():
        if overlaps(line.split("\t", 1)[-1], grams):
            dropped += 1
        else:
            kept.append(line)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    tmp.replace(out)
    return len(kept), dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts", nargs="+", type=Path, help="training text files")
    ap.add_argument("--labels", action="append", required=True, type=Path,
                    help="file<TAB>text label file of a measurement set (repeatable)")
    ap.add_argument("--clean", type=Path, metavar="OUT",
                    help="write the (one) text without its overlapping lines to OUT")
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.texts + args.labels if not p.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    if args.clean is not None:
        if len(args.texts) != 1:
            ap.error("--clean takes one text file")
        if args.clean.resolve() == args.texts[0].resolve():
            ap.error("--clean OUT must not be the text it reads")
        kept, dropped = clean(args.texts[0], args.labels, args.clean)
        print(f"{args.clean}: {kept} lines of {args.texts[0]} kept, {dropped} dropped")
        return 0
    found = False
    for lab in args.labels:
        labels = _label_texts(lab)
        for text in args.texts:
            n = shared_lines(labels, text)
            found |= n > 0
            print(f"{text}: {n} of {len(labels)} lines of {lab} share "
                  f"{OVERLAP_TOKENS} tokens with it")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

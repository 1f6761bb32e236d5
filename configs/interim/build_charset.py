"""Write the interim model's charset: printable ASCII, 23 CJK punctuation marks and the
N most frequent Chinese characters, counted over jieba's word-frequency dictionary
(each character of a word gets the word's frequency).

    python configs/interim/build_charset.py --hanzi 3500 --with-fields --late-punct \
        --out configs/interim/charset.txt

``--with-fields`` appends the characters that ``crnn synth``'s document-field generator
produces but the frequency list lacks (the capital numerals of amounts in words, ¥, the
characters of common given names and surnames...), most frequent first.

The first lines (blank placeholder, ASCII, punctuation) and the order of the characters
stay fixed as N grows, so a model trained on a smaller N fine-tunes into a larger one
with every existing output row kept (``crnn train --set init=...``).
"""

from __future__ import annotations

import argparse
from collections import Counter

from crnn.data.synth.text import jieba_dict_path

PUNCT = "，。、：；（）《》“”‘’！？—·〇～％￥【】"
# Punctuation added after the first models (the tortoise-shell brackets of official
# document numbers, 校发〔2025〕12号): appended last so earlier rows keep their places.
LATE_PUNCT = "〔〕"


def frequent_hanzi(n: int) -> list[str]:
    counts: Counter[str] = Counter()
    with open(jieba_dict_path(), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            for ch in word:
                if "\u4e00" <= ch <= "\u9fff":
                    counts[ch] += freq
    # ties broken by code point so the list is the same on every machine
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ch for ch, _ in ranked[:n]]


def field_characters(have: set[str], samples: int = 200_000) -> list[str]:
    """Characters of generated document fields (names, dates, money, addresses...) that
    are not in ``have``, most frequent first (ties by code point)."""
    import random

    from crnn.data.synth.fields import document_field

    rng = random.Random(0)
    counts: Counter[str] = Counter()
    for _ in range(samples):
        counts.update(c for c in document_field(rng) if c not in have and not c.isspace())
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hanzi", type=int, default=2500)
    ap.add_argument("--with-fields", action="store_true",
                    help="add the characters of generated document fields")
    ap.add_argument("--late-punct", action="store_true",
                    help=f"append {LATE_PUNCT} (after the field characters)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    chars = ["blank"] + [chr(c) for c in range(0x20, 0x7F)] + list(PUNCT)
    chars += frequent_hanzi(args.hanzi)
    if args.with_fields:
        chars += field_characters(set(chars))
    if args.late_punct:
        chars += [c for c in LATE_PUNCT if c not in chars]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(chars) + "\n")
    print(f"{args.out}: {len(chars) - 1} characters")


if __name__ == "__main__":
    main()

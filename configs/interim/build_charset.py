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

``--base FILE`` grows an existing charset instead: FILE's characters keep their order and
what the other options add comes after them (``--extra`` appends given characters last);
``--new-out`` writes just the added characters, for ``crnn synth``'s
``text.coverage.focus``. The bundled model v9's charset:

    python configs/interim/build_charset.py --base configs/gpu/charset.txt --within zh \
        --hanzi 5500 --with-fields --late-punct --extra "①②③④⑤⑥⑦⑧⑨⑩×±℃→●■★☆◆√※" \
        --out configs/v9/charset.txt --new-out configs/v9/new_chars.txt
"""

from __future__ import annotations

import argparse
from collections import Counter

from crnn.charset import Charset
from crnn.synth.text import jieba_dict_path

PUNCT = "，。、：；（）《》“”‘’！？—·〇～％￥【】"
# Punctuation added after the first models (the tortoise-shell brackets of official
# document numbers, 校发〔2025〕12号): appended last so earlier rows keep their places.
LATE_PUNCT = "〔〕"


def frequent_hanzi(n: int, within: set[str] | None = None) -> list[str]:
    """The ``n`` most frequent hanzi of jieba's dictionary, only those in ``within`` if
    given. (The dictionary holds some mis-encoded entries, UTF-8 read as GBK such as 鐨
    and 鍦; a ``within`` of ``zh`` leaves them out.)"""
    counts: Counter[str] = Counter()
    with open(jieba_dict_path(), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            for ch in word:
                if "\u4e00" <= ch <= "\u9fff" and (within is None or ch in within):
                    counts[ch] += freq
    # ties broken by code point so the list is the same on every machine
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ch for ch, _ in ranked[:n]]


def field_characters(have: set[str], samples: int = 200_000) -> list[str]:
    """Characters of generated document fields (names, dates, money, addresses...) that
    are not in ``have``, most frequent first (ties by code point)."""
    import random

    from crnn.synth.fields import document_field

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
    ap.add_argument("--within", help="a charset preset or file the hanzi must belong to; "
                    "with --base, base hanzi outside it that are not field characters are "
                    "dropped")
    ap.add_argument("--base", help="an existing charset file to grow (its order is kept)")
    ap.add_argument("--extra", default="", help="characters appended last")
    ap.add_argument("--out", required=True)
    ap.add_argument("--new-out", help="also write the characters added to --base here")
    args = ap.parse_args()
    chars = ["blank"] + [chr(c) for c in range(0x20, 0x7F)] + list(PUNCT)
    within = set(Charset.resolve(args.within).chars) if args.within else None
    chars += frequent_hanzi(args.hanzi, within)
    if args.with_fields:
        chars += field_characters(set(chars))
    if args.late_punct:
        chars += [c for c in LATE_PUNCT if c not in chars]
    chars += [c for c in dict.fromkeys(args.extra) if c not in chars and not c.isspace()]
    base: list[str] = []
    if args.base:
        with open(args.base, encoding="utf-8") as fh:
            base = [line.rstrip("\n") for line in fh]
        if within is not None:
            keep = set(field_characters(set()))
            dropped = {c for c in base if "\u4e00" <= c <= "\u9fff" and c not in within
                       and c not in keep}
            base = [c for c in base if c not in dropped]
            print(f"dropped {len(dropped)} hanzi of {args.base} outside --within "
                  f"{args.within}, e.g. {''.join(sorted(dropped)[:12])}")
        have = set(base)
        chars = base + [c for c in chars if c not in have]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(chars) + "\n")
    print(f"{args.out}: {len(chars) - 1} characters")
    if args.new_out:
        with open(args.new_out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(chars[len(base):]) + "\n")
        print(f"{args.new_out}: {len(chars) - len(base)} characters added")


if __name__ == "__main__":
    main()

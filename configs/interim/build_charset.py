"""Write the interim model's charset: printable ASCII, 23 CJK punctuation marks and the
N most frequent Chinese characters, counted over jieba's word-frequency dictionary
(each character of a word gets the word's frequency).

    python configs/interim/build_charset.py --hanzi 2500 --out configs/interim/charset.txt

The first lines (blank placeholder, ASCII, punctuation) and the order of the characters
stay fixed as N grows, so a model trained on a smaller N fine-tunes into a larger one
with every existing output row kept (``crnn train --set init=...``).
"""

from __future__ import annotations

import argparse
from collections import Counter

from crnn.data.synth.text import jieba_dict_path

PUNCT = "，。、：；（）《》“”‘’！？—·〇～％￥【】"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hanzi", type=int, default=2500)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    chars = ["blank"] + [chr(c) for c in range(0x20, 0x7F)] + list(PUNCT)
    chars += frequent_hanzi(args.hanzi)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(chars) + "\n")
    print(f"{args.out}: {len(chars) - 1} characters")


if __name__ == "__main__":
    main()

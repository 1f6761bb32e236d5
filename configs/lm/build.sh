#!/usr/bin/env bash
# The bundled model's language model (src/crnn/models/default.lm.bin): a character 4-gram
# (interpolated modified Kneser-Ney, n-grams of 2+ characters seen fewer than 3 times left
# out) over the training text of the recipes before it plus jieba's word list, with every
# line that shares 8 tokens with ../shared/dev dropped. None of the own validation texts
# (build/v16 heldout text, val_quotes' build/v19/quotes_text.txt, build/v25/classical_val.txt,
# build/v23/en_val_text.txt) goes in. Run from the repository root after the recipes that
# make the text files (configs/v19, v22, v25, v32 headers). 2026-12-06: 765,188 lines kept
# (57 dropped), 15.0 MB, about 2 minutes.
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
cat build/v19/docs.txt build/v19/prose.txt build/v25/classical.txt build/v32/informal.txt \
    build/v19/pages_text.txt build/v22/en_text.txt "$out/jieba_words.txt" > "$out/raw.txt"
"$py" tools/text_overlap.py --labels ../shared/dev/printed_zh/labels.tsv \
    --labels ../shared/dev/printed_en/labels.tsv --clean "$out/corpus.txt" "$out/raw.txt"
.venv/bin/crnn lm build --text "$out/corpus.txt" --order 4 --min-count 3 --out "$out/lm4_m3.bin"
# then, with the model it serves (its stored fusion settings chosen on own validation sets,
# docs/models.md):
#   crnn export --model MODEL.pt --format fp16 --cpu-int8 --lm build/lm/lm4_m3.bin \
#       --lm-weight 0.3 --lm-bonus B --lm-below 0.9 --out src/crnn/models/default.pt

#!/usr/bin/env bash
# Make .gpu/, everything a GPU run of the bundled model's recipe (tools/gpu/README.md)
# needs on a lent machine that has torch, numpy, Pillow and opencv but no package access,
# no fonts and no LibreOffice:
#
#   bash tools/gpu/prepare.sh        # in the repository root, with .venv built (make venv)
#
#   .gpu/fonts.tar.xz   the faces crnn synth uses for the recipe's charset, subset to it
#   .gpu/whl/           lmdb and rapidfuzz wheels for CPython 3.12 (the machine has the rest)
#   .gpu/site/jieba/    jieba's dict.txt (synth's word frequencies need nothing else of it)
#   .gpu/init.pt        the bundled model (fp16 weights; training loads them into fp32)
#   .gpu/prose.txt      the recipe's prose sentences (tools/prose_corpus.py, from the
#                       fortunes, the Debian reference and the Chinese manuals that
#                       make text-deps installs)
#   .gpu/pages.tar.xz   training-page lines at 32 px in 16 greys (pack_pages.py): all of
#                       $PAGES_VAL and as many of $PAGES as fit, if they were rendered
#                       (the commands in the header of $RECIPE/train.yaml)
#
# The folder is ignored by git and has to be carried on every call (limit 64 MiB in all);
# the script checks its size.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
G=.gpu
RECIPE=${RECIPE:-configs/v16}
CHARSET=${CHARSET:-src/crnn/models/default.charset.txt}   # the bundled model's (init)
rm -rf "$G" && mkdir -p "$G/site/jieba" "$G/whl"

"$PY" tools/gpu/pack_fonts.py --charset "$CHARSET" --out "$G/fonts" | tail -n 1
(cd "$G" && tar -cJf fonts.tar.xz fonts && rm -rf fonts)

"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$G/whl" lmdb rapidfuzz

touch "$G/site/jieba/__init__.py"
cp "$("$PY" -c 'import jieba, os; print(os.path.dirname(jieba.__file__))')/dict.txt" \
    "$G/site/jieba/"

cp src/crnn/models/default.pt "$G/init.pt"
# the recipe's prose: no fortune file ../shared/dev's lines come from, nothing sharing 8
# tokens with its labels; quoted speech; the Chinese manuals (configs/v19/train.yaml's header)
"$PY" tools/prose_corpus.py --charset "$CHARSET" --out "$G/prose_fortunes.txt" \
    --skip chinese --skip tang300 --quoted 0.15 --seed 190 \
    --exclude-overlap ../shared/dev/printed_zh/labels.tsv \
    --exclude-overlap ../shared/dev/printed_en/labels.tsv \
    /usr/share/games/fortunes /usr/share/debian-reference/debian-reference.zh-cn.txt.gz
"$PY" tools/prose_corpus.py --charset "$CHARSET" --out "$G/prose_docs.txt" \
    --cjk-only --quoted 0.15 --seed 19 \
    --exclude-overlap ../shared/dev/printed_zh/labels.tsv \
    --exclude-overlap ../shared/dev/printed_en/labels.tsv \
    /usr/share/libreoffice/help/zh-CN /usr/share/gimp/2.0/help/zh_CN \
    /usr/share/doc/maint-guide-zh-cn/html /usr/share/doc/debian/FAQ/zh-cn
cat "$G/prose_fortunes.txt" "$G/prose_docs.txt" > "$G/prose.txt"
rm "$G/prose_fortunes.txt" "$G/prose_docs.txt"

# lines of training pages (the machine has no LibreOffice to typeset them), in what is
# left of the 56 MB below
PAGES=${PAGES:-build/v19/pages_train.lmdb}
PAGES_VAL=${PAGES_VAL:-build/v16/val_heldout.lmdb}
missing=""
for d in $PAGES $PAGES_VAL; do [ -d "$d" ] || missing="$missing $d"; done
if [ -z "$missing" ]; then
    mkdir -p "$G/pages"
    "$PY" tools/gpu/pack_pages.py --data $PAGES_VAL --all --out "$G/pages/pages_val.lmdb"
    left=$(( 56 - 2 - $(du -sm "$G" | cut -f1) ))
    "$PY" tools/gpu/pack_pages.py --data $PAGES --mb "$left" --out "$G/pages/pages.lmdb"
    (cd "$G" && tar -cJf pages.tar.xz pages && rm -rf pages)
else
    echo "no training pages ($missing): the run will train on synthetic lines alone" >&2
fi

du -sh "$G"/*; du -sh "$G"
mb=$(du -sm "$G" | cut -f1)
if [ "$mb" -gt 56 ]; then
    echo "$G is $mb MiB: with the working tree it may pass the 64 MiB a call carries" >&2
    exit 1
fi

#!/usr/bin/env bash
# Make .gpu/, everything the GPU fine-tune (configs/gpu/README.md) needs on a lent machine
# that has torch, numpy, Pillow and opencv but no package access and no fonts:
#
#   bash configs/gpu/prepare.sh        # in the repository root, with .venv built (make venv)
#
#   .gpu/fonts.tar.xz   the faces crnn synth uses for configs/v9/charset.txt, subset to it
#   .gpu/whl/           lmdb and rapidfuzz wheels for CPython 3.12 (the machine has the rest)
#   .gpu/site/jieba/    jieba's dict.txt (synth's word frequencies need nothing else of it)
#   .gpu/init.pt        the bundled model with its prior correction undone (its fp16
#                       weights; training loads them into fp32)
#   .gpu/pages.tar.xz   training-page lines at 32 px in 16 greys (pack_pages.py): all of
#                       $PAGES_VAL and as many of $PAGES as fit, if they were rendered
#                       (configs/v12/train.yaml and configs/v13/train.yaml, the recipes)
#
# The folder is ignored by git and has to be carried on every call (limit 64 MiB in all);
# the script checks its size.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
G=.gpu
CHARSET=configs/v9/charset.txt
rm -rf "$G" && mkdir -p "$G/site/jieba" "$G/whl"

"$PY" configs/gpu/pack_fonts.py --charset "$CHARSET" --out "$G/fonts" | tail -n 1
(cd "$G" && tar -cJf fonts.tar.xz fonts && rm -rf fonts)

"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$G/whl" lmdb rapidfuzz

touch "$G/site/jieba/__init__.py"
cp "$("$PY" -c 'import jieba, os; print(os.path.dirname(jieba.__file__))')/dict.txt" \
    "$G/site/jieba/"

# v10 ships with the bias of v9's 958 added rows lowered by 2.0; training starts from the
# weights as they were trained
"$PY" configs/v9/lower_rows.py --model src/crnn/models/default.pt \
    --chars configs/v9/new_chars.txt --by -2.0 --out "$G/init.pt"

# lines of training pages (the machine has no LibreOffice to typeset them), in what is
# left of the 56 MB below
PAGES=${PAGES:-build/v12/pages_train.lmdb build/v13/pages_train.lmdb}
PAGES_VAL=${PAGES_VAL:-build/v12/pages_val.lmdb}
missing=""
for d in $PAGES $PAGES_VAL; do [ -d "$d" ] || missing="$missing $d"; done
if [ -z "$missing" ]; then
    mkdir -p "$G/pages"
    "$PY" configs/gpu/pack_pages.py --data $PAGES_VAL --all --out "$G/pages/pages_val.lmdb"
    left=$(( 56 - 2 - $(du -sm "$G" | cut -f1) ))
    "$PY" configs/gpu/pack_pages.py --data $PAGES --mb "$left" --out "$G/pages/pages.lmdb"
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

#!/usr/bin/env bash
# Make .gpu/, everything a GPU run (tools/gpu/README.md) needs on a lent machine that has
# torch, numpy, Pillow and opencv but no package access, no fonts and no LibreOffice:
#
#   bash tools/gpu/prepare.sh        # in the repository root, with .venv built (make venv)
#
#   .gpu/whl/            lmdb and rapidfuzz wheels for CPython 3.12 (the machine has the rest)
#   .gpu/jieba.txt.xz    jieba's dict.txt (synth's word frequencies need nothing else of it)
#   .gpu/prose.txt.xz    the recipe's prose sentences (tools/prose_corpus.py, from the
#                        fortunes, the Debian reference and the Chinese manuals that
#                        make text-deps installs)
#   .gpu/fonts.tar.xz    the faces crnn synth uses for the charset, subset to it, as many
#                        as fit (tools/gpu/pack_fonts.py --max-mb)
#   .gpu/pages.tar.xz    training-page lines at 32 px in 16 greys (pack_pages.py): some of
#                        $PAGES_VAL and as many of $PAGES as fit (configs/v19/train.yaml's
#                        pages where rendered, else $PAGES_N pages typeset here from the
#                        run's prose: LibreOffice and poppler, make system-deps)
#
# The model to start from is made on the machine from the working tree's bundled model
# (run.sh). The folder is ignored by git and has to be carried on every call: a call
# carries 64 MiB with the working tree (42 MB: the bundled model and language model), so
# this script sizes the fonts and pages to what is left and checks the total.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
G=.gpu
# the charset the run trains (run.sh's default: the bundled 7,864 grown by the 1,340 of the
# 通用规范汉字表 they lack, configs/v35); the fonts and the prose are chosen for it
CHARSET=${CHARSET:-configs/v35/charset.txt}
SYNTH_CONFIG=${SYNTH_CONFIG:-configs/v35/synth_tgh.yaml}   # run.sh's, for the same fonts
rm -rf "$G" && mkdir -p "$G/whl"
# MiB a call can carry beside the working tree (tracked and untracked, unignored files)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null \
    | tail -n 1 | cut -f1)
budget=$(( 64 * 1048576 - tree - 1048576 ))   # a MiB to spare
used() { du -sb "$G" | cut -f1; }

"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$G/whl" lmdb rapidfuzz
xz -c "$("$PY" -c 'import jieba, os; print(os.path.dirname(jieba.__file__))')/dict.txt" \
    > "$G/jieba.txt.xz"

# the recipe's prose: no fortune file ../shared/dev's lines come from, nothing sharing 8
# tokens with its labels; quoted speech; the Chinese manuals (configs/v19/train.yaml's header)
P=build/gpu_prep
mkdir -p $P
"$PY" tools/prose_corpus.py --charset "$CHARSET" --out "$P/prose_fortunes.txt" \
    --skip chinese --skip tang300 --quoted 0.15 --seed 190 \
    --exclude-overlap ../shared/dev/printed_zh/labels.tsv \
    --exclude-overlap ../shared/dev/printed_en/labels.tsv \
    /usr/share/games/fortunes /usr/share/debian-reference/debian-reference.zh-cn.txt.gz
"$PY" tools/prose_corpus.py --charset "$CHARSET" --out "$P/prose_docs.txt" \
    --cjk-only --quoted 0.15 --seed 19 \
    --exclude-overlap ../shared/dev/printed_zh/labels.tsv \
    --exclude-overlap ../shared/dev/printed_en/labels.tsv \
    /usr/share/libreoffice/help/zh-CN /usr/share/gimp/2.0/help/zh_CN \
    /usr/share/doc/maint-guide-zh-cn/html /usr/share/doc/debian/FAQ/zh-cn
cat "$P/prose_fortunes.txt" "$P/prose_docs.txt" > "$P/prose.txt"
xz -T0 -c "$P/prose.txt" > "$G/prose.txt.xz"

# the faces, subset once per charset and config into build/gpu_prep (a stopped run goes on
# where it was: CJK faces take seconds each, ~700 faces half an hour on 2 cores), then as
# many as fit in what is left less PAGES_MB for the pages (xz packs these about 2.2:1)
key=$(cat "$CHARSET" "$SYNTH_CONFIG" | sha256sum | cut -c1-12)
PAGES_MB=${PAGES_MB:-3}
room=$(( budget - $(used) - PAGES_MB * 1048576 ))
raw=$(( room * 22 / 10 ))
for _ in 1 2 3 4 5 6; do
    rm -rf "$P/fonts"
    "$PY" tools/gpu/pack_fonts.py --charset "$CHARSET" --config "$SYNTH_CONFIG" \
        --out "$P/fonts-$key" --max-mb "$(( raw / 1000000 ))" --pick-out "$P/fonts" \
        2> /dev/null | tail -n 1
    tar -cf - -C $P fonts | xz -T0 -6 > "$G/fonts.tar.xz"
    [ "$(stat -c %s "$G/fonts.tar.xz")" -le "$room" ] && break
    raw=$(( raw * 85 / 100 ))
done

# lines of training pages (the machine has no LibreOffice to typeset them), in what is
# left of the 56 MB below: the recipe's pages where they were rendered (configs/v19's
# header), else PAGES_N pages typeset here from the run's prose in the training families;
# the held-out-font validation pages as configs/v16's header makes them
PAGES=${PAGES:-build/v19/pages_train.lmdb}
PAGES_VAL=${PAGES_VAL:-build/v16/val_heldout.lmdb}
PAGES_N=${PAGES_N:-100}   # about 3,000 lines: more than fit
CRNN="$(dirname "$PY")/crnn"
if [ ! -d "$PAGES" ] && [ "$PAGES_N" -gt 0 ]; then
    PAGES=build/gpu_prep/pages_train.lmdb
    [ -d "$PAGES" ] || "$CRNN" synth pages --pages "$PAGES_N" --seed 7390 --text "$P/prose.txt" \
        --fonts train --crop mixed --out "$PAGES" --workers "$(nproc)" --quiet
fi
[ -d "$PAGES_VAL" ] || "$CRNN" synth pages --pages 48 --seed 7001 --fonts heldout --crop ink \
    --out "$PAGES_VAL" --workers "$(nproc)" --quiet
if [ -d "$PAGES" ] && [ -d "$PAGES_VAL" ]; then
    mkdir -p "$G/pages"
    # MB of images left (the packed lines barely compress; 0.3 MB for the LMDB files): a
    # quarter for validation lines, the rest for training lines
    left=$(awk "BEGIN { print ($budget - $(used)) / 1e6 - 0.3 }")
    "$PY" tools/gpu/pack_pages.py --data $PAGES_VAL --mb "$(awk "BEGIN { print $left / 4 }")" \
        --out "$G/pages/pages_val.lmdb"
    "$PY" tools/gpu/pack_pages.py --data $PAGES --mb "$(awk "BEGIN { print $left * 3 / 4 }")" \
        --out "$G/pages/pages.lmdb"
    (cd "$G" && tar -cJf pages.tar.xz pages && rm -rf pages)
else
    echo "no training pages: the run will train on synthetic lines alone" >&2
fi

du -sh "$G"/*; du -sh "$G"
if [ "$(used)" -gt "$budget" ]; then
    echo "$G is $(( $(used) / 1048576 )) MiB and the working tree $(( tree / 1048576 )) MiB:" \
        "more than the 64 MiB a call carries" >&2
    exit 1
fi
echo "$G: $(( $(used) / 1048576 )) MiB; with the working tree $(( (tree + $(used)) / 1048576 )) of 64 MiB"

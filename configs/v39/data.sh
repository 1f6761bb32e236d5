#!/bin/bash
# configs/v39 (and v36, v41, v42): their training data and the 10 own validation sets rebuilt on a fresh
# machine, the commands and seeds of configs/v16, v17, v19, v22, v23, v25, v27, v29 and v32's headers
# (s50: 36 minutes on the 2-core AVX-512 CPU; build/v32/pages_informal.lmdb with 120 pages, not
# v32's 200). Needs `make venv text-deps`. Run from anywhere: bash configs/v39/data.sh
set -e
cd "$(dirname "$0")/../.."
mkdir -p build/v16 build/v17 build/v19 build/v22 build/v23/en_val_src build/v25 build/v27 build/v29 \
  build/v32 build/s42 build/s47
C=.venv/bin/crnn; P=.venv/bin/python
# the text is cut to v40's 7,863 characters, the charset these recipes were made with (the first
# 7,864 lines of src/crnn/models/default.charset.txt, which v42 grew by 1,340 after them)
CS=build/v40.charset.txt
head -n 7864 src/crnn/models/default.charset.txt | head -c -1 > $CS
OV="--labels ../shared/dev/printed_zh/labels.tsv --labels ../shared/dev/printed_en/labels.tsv"
EX="--exclude-overlap ../shared/dev/printed_zh/labels.tsv --exclude-overlap ../shared/dev/printed_en/labels.tsv"
t() { echo "$(date +%T) $*"; }
t text
$P tools/prose_corpus.py --charset $CS --skip chinese --skip tang300 --quoted 0.15 --seed 190 $EX \
  --out build/v19/prose.txt /usr/share/games/fortunes /usr/share/debian-reference/debian-reference.zh-cn.txt.gz
$P tools/prose_corpus.py --charset $CS --cjk-only --quoted 0.15 --seed 19 $EX --out build/v19/docs.txt \
  /usr/share/libreoffice/help/zh-CN /usr/share/gimp/2.0/help/zh_CN /usr/share/doc/maint-guide-zh-cn/html /usr/share/doc/debian/FAQ/zh-cn
$C synth text --charset $CS --config configs/v16/synth.yaml --count 80000 --seed 170 --out build/v17/corpus_raw.txt
$P tools/text_overlap.py $OV --clean build/v17/corpus.txt build/v17/corpus_raw.txt
$P tools/text_overlap.py $OV build/v19/prose.txt build/v19/docs.txt
cat build/v19/prose.txt build/v19/docs.txt build/v17/corpus.txt > build/v19/pages_text.txt
cat build/v19/prose.txt build/v19/docs.txt > build/v19/lines_text.txt
$C synth text --charset configs/v21/charset.txt --config configs/v25/synth_classical.yaml --count 12000 --seed 251 --out build/v25/classical_raw.txt
$P tools/text_overlap.py $OV --clean build/v25/classical.txt build/v25/classical_raw.txt
$C synth text --charset $CS --config configs/v22/synth_en.yaml --count 20000 --seed 222 --out build/v22/en_text_raw.txt
$P tools/text_overlap.py $OV --clean build/v22/en_text.txt build/v22/en_text_raw.txt
$C synth text --charset $CS --config configs/v32/synth_informal.yaml --count 20000 --seed 311 --out build/v32/informal_raw.txt
$P tools/text_overlap.py $OV --clean build/v32/informal.txt build/v32/informal_raw.txt
$P tools/heldout_text.py --charset $CS --out build/v16/heldout_text.txt
t val
$C synth pages --pages 48 --seed 7001 --fonts heldout --crop ink --out build/v16/val_heldout.lmdb --workers 2
$C synth pages --pages 48 --seed 7101 --text build/v16/heldout_text.txt --fonts heldout --crop ink --out build/v16/val_prose.lmdb --workers 2
t lines
$C synth --charset $CS --config configs/v16/synth.yaml --text build/v19/lines_text.txt --count 40000 --seed 271 --workers 2 --out build/v27/synth_fonts.lmdb
$C synth --charset $CS --config configs/v25/synth_classical.yaml --count 24000 --seed 252 --workers 2 --out build/v25/synth_classical.lmdb
$C synth --charset $CS --config configs/v32/synth_informal.yaml --count 30000 --seed 312 --workers 2 --out build/v32/synth_informal.lmdb
t pages
$C synth pages --pages 450 --seed 7027 --text build/v19/pages_text.txt --fonts train --crop mixed --out build/v27/pages_fonts.lmdb --workers 2
t pages_classical
$C synth pages --pages 120 --seed 7227 --text build/v25/classical.txt --fonts train --crop mixed --out build/v27/pages_classical.lmdb --workers 2
t pages_en
$C synth pages --pages 150 --seed 7127 --text build/v22/en_text.txt --fonts train --crop mixed --out build/v27/pages_en.lmdb --workers 2
t pages_informal
$C synth pages --pages 120 --seed 7031 --text build/v32/informal.txt --fonts train --crop mixed --out build/v32/pages_informal.lmdb --workers 2
t own val sets
$C synth pages --pages 24 --seed 7302 --fonts heldout --crop ink --degrade 1.0 --workers 2 --out build/v22/val_scan.lmdb
$C synth pages --pages 24 --seed 7211 --fonts heldout --crop box --workers 2 --out build/s47/val_box.lmdb
$P tools/prose_corpus.py --charset $CS --cjk-only --quoted 1.0 --seed 1900 --out build/v19/quotes_text.txt build/v16/heldout_text.txt
$C synth pages --pages 24 --seed 7191 --text build/v19/quotes_text.txt --fonts heldout --crop ink --out build/v19/val_quotes.lmdb --workers 2
$C synth text --charset configs/v21/charset.txt --config configs/v25/synth_classical.yaml --count 3000 --seed 253 --out build/v25/classical_val_raw.txt
$P tools/text_overlap.py $OV --clean build/v25/classical_val.txt build/v25/classical_val_raw.txt
$C synth pages --pages 30 --seed 7125 --text build/v25/classical_val.txt --fonts heldout --crop ink --degrade 0.5 --workers 2 --out build/v25/val_classical.lmdb
(cd build/v23/en_val_src && apt-get download fortune-anarchism fortunes-bofh-excuses fortunes-debian-hints >/dev/null && for f in *.deb; do dpkg -x $f x; done)
mkdir -p build/v23/en_val_src/files; cp build/v23/en_val_src/x/usr/share/games/fortunes/{anarchism,bofh-excuses,debian-hints} build/v23/en_val_src/files/
$P tools/prose_corpus.py --charset $CS $EX --out build/v23/en_val_text.txt build/v23/en_val_src/files
$C synth pages --pages 30 --seed 7401 --fonts heldout --crop ink --text build/v23/en_val_text.txt --out build/v23/val_en.lmdb --workers 2
$P tools/tilted_set.py --src build/v16/val_heldout.lmdb --out build/s42/val_tilt.lmdb --seed 42
$P tools/tilted_set.py --src build/v16/val_prose.lmdb --out build/s42/val_tilt_prose.lmdb --seed 43
$P tools/tilted_set.py --src build/v23/val_en.lmdb --out build/s42/val_tilt_en.lmdb --seed 44
t training data
$C synth pages --pages 900 --seed 7019 --text build/v19/pages_text.txt --fonts train --crop mixed --out build/v19/pages_train.lmdb --workers 2
$C synth --charset $CS --config configs/v16/synth.yaml --text build/v19/lines_text.txt --count 80000 --seed 191 --workers 2 --out build/v19/synth.lmdb
$C synth --charset $CS --config configs/v16/synth.yaml --text build/v19/lines_text.txt --count 40000 --seed 291 --workers 2 --out build/v29/synth_fonts.lmdb
$C synth pages --pages 150 --seed 7129 --text build/v22/en_text.txt --fonts train --crop mixed --out build/v29/pages_en.lmdb --workers 2
$C synth pages --pages 120 --seed 7229 --text build/v25/classical.txt --fonts train --crop mixed --out build/v29/pages_classical.lmdb --workers 2
$C synth pages --pages 450 --seed 7029 --text build/v19/pages_text.txt --fonts train --crop mixed --out build/v29/pages_fonts.lmdb --workers 2
$C synth pages --pages 240 --seed 7025 --text build/v25/classical.txt --fonts train --crop mixed --out build/v25/pages_classical.lmdb --workers 2
$C synth pages --pages 300 --seed 7022 --text build/v22/en_text.txt --fonts train --crop mixed --out build/v22/pages_en.lmdb --workers 2
t done

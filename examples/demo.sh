#!/usr/bin/env bash
# The main job until a trained model ships with the package: render a small dataset of
# printed Latin/digit lines with `crnn synth`, train a small CRNN on the CPU, then read
# held-out line images with `crnn predict` and score them with `crnn eval`.
# Run through `make demo` (which installs everything first), or directly with crnn on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_DIR:-build/demo}
CHARSET="chars: 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.:/@"
SIZE=${DEMO_TRAIN_LINES:-4000}
mkdir -p "$OUT"

echo "== 1. render $SIZE training lines, 300 validation lines and 40 held-out images"
# Four regular Latin faces from Debian's fonts-dejavu and fonts-liberation2 (make demo
# installs them): a sans and a serif each
FONTS=(/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
       /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
       /usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf
       /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf)
SYNTH=(crnn synth --charset "$CHARSET" --config configs/demo_synth.yaml --overwrite --quiet
       --fonts "${FONTS[@]}" --no-system-fonts)
"${SYNTH[@]}" --count "$SIZE" --seed 1 --out "$OUT/train.lmdb"
"${SYNTH[@]}" --count 300 --seed 2 --out "$OUT/val.lmdb"
"${SYNTH[@]}" --count 40 --seed 3 --out "$OUT/heldout/" --format folder

echo "== 2. train a small CRNN (configs/demo.yaml) on the CPU"
crnn train --config configs/demo.yaml --set "charset=$CHARSET" --out "$OUT/run" \
    --train "$OUT/train.lmdb" --val "$OUT/val.lmdb"

echo "== 3. read the held-out images"
crnn predict "$OUT/heldout/images" --model "$OUT/run/best.pt" | head -n 10
echo "   ... (first 10 of 40: path, text, confidence)"

echo "== 4. score them against their labels"
crnn eval --model "$OUT/run/best.pt" --data "$OUT/heldout/labels.txt" \
    --errors "$OUT/heldout_errors.tsv"

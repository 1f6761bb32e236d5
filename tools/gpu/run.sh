#!/usr/bin/env bash
# The bundled model's recipe ($RECIPE: its charset, synth settings and prose) trained on a
# lent one-GPU machine with no package access (tools/gpu/README.md). A session has 15
# minutes of device time, machine start included, and a warm machine goes back after 30 s
# idle, so the whole run is one call:
#
#   bash tools/gpu/run.sh all END_S     # data, a step-rate probe, training sized to end
#                                       # END_S seconds from now, results to $OUT
#
# or, where more device time is lent, three calls that keep the machine while the
# training runs in the background:
#
#   bash tools/gpu/run.sh start END_S   # data + the probe, then training in the background
#   bash tools/gpu/run.sh wait SECONDS  # report progress; copy the best model to $OUT
#   bash tools/gpu/run.sh finish MAX_S  # wait for the end (at most MAX_S); results to $OUT
#
# Needs .gpu/, made on the workstation by tools/gpu/prepare.sh: whl/ (lmdb, rapidfuzz
# wheels), fonts.tar.xz (pack_fonts.py output), jieba.txt.xz, prose.txt.xz and
# pages.tar.xz (pack_pages.py output). The model to start from is the working tree's
# bundled one, its output layer factored here through RANK units (tools/factor_output.py;
# train.yaml's output_rank). What comes back ($OUT: best.pt, last.pt) is scored on the
# workstation with crnn eval on the held-out-font validation sets.
# Carry .gpu on every call: an ignored folder a call does not carry is deleted there.
# Never `pkill -f "crnn train"` from a call's command line: the pattern matches the
# call's own shell, which then dies with no output.
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=1   # as in the v5 run: the GPU does the math, processes the rest
G=build/gpu
OUT=${OUT:-$G/out}
BATCH=${BATCH:-256}
# the grown charset and the synth settings that show each of its new characters often
# (configs/v35/train.yaml's header); the bundled charset is src/crnn/models/default.charset.txt
RECIPE=${RECIPE:-configs/v35}
SYNTH_CONFIG=${SYNTH_CONFIG:-$RECIPE/synth_tgh.yaml}
CHARSET=${CHARSET:-$RECIPE/charset.txt}
RANK=${RANK:-256}   # train.yaml's output_rank (0: a whole output layer)
# sizes, overridable for a dry run on a workstation (README: "Dry run")
PROBE_N=${PROBE_N:-150000} PROBE_STEPS=${PROBE_STEPS:-200} SYNTH_S=${SYNTH_S:-60}
VAL_N=${VAL_N:-4000} MIN_STEPS=${MIN_STEPS:-300}   # fewer: the call ends with nothing
PAGES_SHARE=${PAGES_SHARE:-0.05}  # of training samples from .gpu/pages.tar.xz, if carried
TRAIN_ARGS=${TRAIN_ARGS:-}  # more crnn train arguments for both runs (e.g. --set workers=1)
now() { date +%s; }
running() { [ -f $G/train.pid ] && kill -0 "$(cat $G/train.pid)" 2> /dev/null; }

progress() {
    [ -f $G/run/metrics.jsonl ] && tail -n 3 $G/run/metrics.jsonl
    grep -a -o "Error.*\|Traceback.*" $G/train.log 2>/dev/null | tail -n 5
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
}

collect() {
    # best and latest weights in fp16, without the optimiser state (an $OUT file must stay
    # under 16 MiB: v37's network with 9,204 classes is 21 MB in fp32)
    for f in best last; do
        [ -f $G/run/$f.pt ] && python3 -m crnn export --model $G/run/$f.pt --format fp16 \
            --out "$OUT/$f.pt" 2> /dev/null   # (its warning: no language model beside it)
    done
    for f in run/metrics.jsonl run/config.yaml synth_report.json times.txt; do
        [ -f $G/$f ] && cp $G/$f "$OUT/"
    done
    [ -f $G/train.log ] && tail -c 20000 $G/train.log | tr '\r' '\n' | tail -n 40 > "$OUT/train_tail.log"
}

start() {  # END_S: data, the probe, then training in the background sized to end then
    end=$(( $(now) + $1 ))
    [ -n "${SKIP_PIP:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 1
    mkdir -p /tmp/fonts /tmp/site/jieba && tar -xJf .gpu/fonts.tar.xz -C /tmp/fonts || exit 1
    touch /tmp/site/jieba/__init__.py
    xz -dc .gpu/jieba.txt.xz > /tmp/site/jieba/dict.txt && xz -dc .gpu/prose.txt.xz > $G/prose.txt \
        || exit 1
    if [ "$RANK" -gt 0 ]; then
        python3 tools/factor_output.py --model src/crnn/models/default.pt --rank "$RANK" \
            --out $G/init.pt || exit 1
    else
        cp src/crnn/models/default.pt $G/init.pt
    fi
    rm -rf $G/pages
    [ -f .gpu/pages.tar.xz ] && { tar -xJf .gpu/pages.tar.xz -C $G || exit 1; }
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c "import torch, lmdb, rapidfuzz; from PIL import features; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU', '| raqm (ligatures, kerning):', features.check('raqm'))" || exit 1
    S="python3 -m crnn synth --charset $CHARSET --config $SYNTH_CONFIG --text $G/prose.txt \
        --no-system-fonts --fonts /tmp/fonts/fonts --workers $(nproc) --quiet --overwrite"
    t=$(now); $S --count $VAL_N --seed 22 --out $G/val.lmdb || exit 1
    echo "val: $VAL_N lines in $(( $(now) - t )) s" | tee -a $G/times.txt
    t=$(date +%s.%N); $S --count $PROBE_N --seed 23 --out $G/probe.lmdb || exit 1
    rate=$(python3 -c "import time; print(int($PROBE_N / (time.time() - $t)))")
    echo "synth: $rate lines/s on $(nproc) processes ($PROBE_N lines)" | tee -a $G/times.txt
    # step rate: PROBE_STEPS steps on the first chunk of the training data
    rm -rf $G/probe
    python3 -m crnn train --config tools/gpu/train.yaml --charset $CHARSET --train $G/probe.lmdb \
        --out $G/probe --max-steps $PROBE_STEPS --set val_every=100000 \
        --set log_every=$(( PROBE_STEPS > 1 ? PROBE_STEPS / 2 : 1 )) \
        --set batch_size=$BATCH --set output_rank=$RANK $TRAIN_ARGS --quiet || exit 1
    sps=$(python3 - <<EOF
import json
rows = [json.loads(x) for x in open("$G/probe/metrics.jsonl") if '"loss"' in x]
a, b = rows[-2], rows[-1]          # cumulative rates at the probe's middle and end
t = lambda r: r["step"] * $BATCH / r["samples_per_s"]
print(round((b["step"] - a["step"]) / (t(b) - t(a)), 2))
EOF
)
    [ -n "$sps" ] || { echo "no step rate from the probe ($G/probe/metrics.jsonl)"; exit 1; }
    echo "training: $sps steps/s at batch $BATCH (probe, second half)" | tee -a $G/times.txt
    # the rest of the data: as many lines as ~SYNTH_S seconds of rendering gives (<= 4M)
    n=$(( rate * SYNTH_S )); [ $n -gt 4000000 ] && n=4000000
    t=$(now); $S --count $n --seed 21 --out $G/train.lmdb --report $G/synth_report.json || exit 1
    echo "train: $n lines in $(( $(now) - t )) s" | tee -a $G/times.txt
    # training-page lines (prepare.sh), repeated to make about PAGES_SHARE of the samples;
    # their validation lines join the synthetic ones
    pages_train="" pages_val=""
    if [ -d $G/pages/pages.lmdb ]; then
        np=$(python3 -c "from crnn.data.lmdb import LmdbReader; print(len(LmdbReader('$G/pages/pages.lmdb')))")
        r=$(python3 -c "print(max(1, round($PAGES_SHARE * ($n + $PROBE_N) / ((1 - $PAGES_SHARE) * $np))))")
        pages_train=$(for _ in $(seq "$r"); do printf ' %s' $G/pages/pages.lmdb; done)
        pages_val=$G/pages/pages_val.lmdb
        echo "training pages: $np lines, each $r times" | tee -a $G/times.txt
    fi
    # steps that fit before the end: less ~90 s for start-up (label scan), and at 70% of the
    # probe's rate, which leaves out validations and the loader restart at each epoch end
    # (v5's run averaged 16.6 steps/s against the probe's 24.3)
    left=$(( end - $(now) - 90 ))
    steps=$(python3 -c "print(int($left * $sps * 0.7))")
    echo "training $steps steps (${left} s at $sps steps/s)" | tee -a $G/times.txt
    [ "$steps" -ge "$MIN_STEPS" ] || { echo "too little time left to train"; exit 1; }
    rm -rf $G/run
    setsid nohup python3 -m crnn train --config tools/gpu/train.yaml --charset $CHARSET \
        --train $G/probe.lmdb $G/train.lmdb $pages_train --val $G/val.lmdb $pages_val \
        --max-steps "$steps" \
        --set batch_size=$BATCH --set output_rank=$RANK $TRAIN_ARGS \
        > $G/train.log 2>&1 < /dev/null &
    echo $! > $G/train.pid
}

finish() {  # MAX_S: wait for the training's end; results to $OUT
    local stop=$(( $(now) + $1 ))
    while running && [ "$(now)" -lt "$stop" ]; do sleep 10; done
    progress; collect; ls -la "$OUT"
}

case "${1:-}" in
all|start|wait|finish) mkdir -p "$G" "$OUT" ;;
esac
case "${1:-}" in
all)
    # training ends ~40 s before END_S: the last checkpoint and the copies to $OUT
    t0=$(now); start $(( ${2:?END_S} - 40 )) || exit 1
    finish $(( ${2} - ($(now) - t0) - 15 ))
    ;;
start)
    start "${2:?END_S}" || exit 1
    sleep 60; progress; collect
    ;;
wait)
    stop=$(( $(now) + ${2:?SECONDS} ))
    while [ "$(now)" -lt "$stop" ]; do
        sleep 60; echo "--- $(date +%T)"; progress
        running || { echo "training has ended"; break; }
    done
    collect
    ;;
finish)
    finish "${2:?MAX_S}"
    ;;
*)
    echo "usage: $0 all END_S | start END_S | wait SECONDS | finish MAX_S" >&2; exit 2
    ;;
esac

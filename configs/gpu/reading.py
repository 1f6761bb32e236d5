"""Choose a model's reading settings on the dev page sets:

    python configs/gpu/reading.py --model build/pick/best.by2.fp16.pt --budget 1.4

Every line of each set is read once at each ``--stretches`` value (no second reading).
Each reading policy the model could store (``crnn export --read-stretch F --reread S,...
--reread-below C``: read at F; lines at most C sure are read again at each S and keep the
text their readings vote for, ``crnn.recognizer.vote``) is then scored from those
readings, exactly as ``Recognizer`` would combine them, with ``crnn eval --nfkc
--ignore-space``'s comparison. Cost is the columns read per line against one reading
at F (a reread at S costs S/F of one). Prints the policies that read most dev lines
within ``--budget``, cheapest first among equals, the policy the model stores now, and
each one's score on the ``--report`` sets (report only: choose on dev).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from crnn.data.dataset import LmdbSource
from crnn.data.images import decode_image
from crnn.decoders import Decoded
from crnn.metrics import TextNormalizer
from crnn.recognizer import Recognizer, vote

DEV = ["build/eval/pages33.lmdb", "build/eval/pages44.lmdb"]
REPORT = ["build/eval/pages55.lmdb", "build/eval/pages77.lmdb"]
GATES = (0.8, 0.9, 0.95, 0.97, 0.99, 1.0)


class Readings:
    """One data set read at every stretch: ``by[s][i]`` is line i read at stretch s."""

    def __init__(self, rec: Recognizer, path: str, stretches: list[float]) -> None:
        src = LmdbSource(path)
        arrays, self.truths = [], []
        for i in range(len(src)):
            data, label, name = src.raw(i)
            arrays.append(decode_image(data, 1, name))
            self.truths.append(label)
        self.by: dict[float, list[Decoded]] = {}
        for s in stretches:
            t0 = time.perf_counter()
            self.by[s] = rec.recognize_arrays(arrays, second_reading=False, stretch=s)
            print(f"{path}: {len(arrays)} lines at {s:g} in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr, flush=True)


def score(sets: list[Readings], first: float, rereads: tuple[float, ...], below: float
          ) -> tuple[int, float]:
    """(right lines, mean cost per line) of one policy over ``sets``."""
    norm = TextNormalizer(ignore_space=True, nfkc=True)
    right, cost, n = 0, 0.0, 0
    for r in sets:
        for i, truth in enumerate(r.truths):
            d = r.by[first][i]
            n += 1
            cost += 1.0
            if rereads and d.confidence <= below:
                d = vote([d] + [r.by[s][i] for s in rereads])
                cost += sum(s / first for s in rereads)
            right += norm(d.text) == norm(truth)
    return right, cost / max(n, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="exported model (fp16 or fp32 .pt)")
    ap.add_argument("--dev", nargs="+", default=DEV)
    ap.add_argument("--report", nargs="*", default=REPORT)
    ap.add_argument("--stretches", default="0.9,1.0,1.1,1.2,1.3,1.4")
    ap.add_argument("--max-rereads", type=int, default=4)
    ap.add_argument("--budget", type=float, default=1.5, help="most cost per line to list")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    for d in args.dev + args.report:
        if not Path(d).exists():
            sys.exit(f"{d}: no such data set; render it with crnn synth pages "
                     "(docs/models.md names the seeds and page counts)")
    stretches = [float(x) for x in args.stretches.split(",")]
    rec = Recognizer.load(args.model, device="cpu")
    pre = rec.preprocess
    if pre.reread_latin:
        print("the model rereads only mostly-Latin lines (--reread-scope latin); the policies "
              "here reread every unsure line", file=sys.stderr)
    dev = [Readings(rec, d, stretches) for d in args.dev]
    report = [Readings(rec, d, stretches) for d in args.report]

    rows = []
    for first in stretches:
        others = [s for s in stretches if s != first]
        rows.append((first, (), 1.0))
        for k in range(1, args.max_rereads + 1):
            for rereads in itertools.combinations(others, k):
                rows += [(first, rereads, c) for c in GATES]
    scored = []
    for first, rereads, below in rows:
        right, cost = score(dev, first, rereads, below)
        if cost <= args.budget:
            scored.append((-right, cost, first, rereads, below))
    scored.sort()
    stored = (pre.read_stretch, tuple(s for s in pre.reread if s != pre.read_stretch),
              pre.reread_below)
    if stored[0] in stretches and all(s in stretches for s in stored[1]):
        right, cost = score(dev, *stored)
        scored.insert(0, (-right, cost, *stored))
    names = [Path(d).stem for d in args.dev + args.report]
    print("| read at | reread at | if sure <= | cost | " + " | ".join(names) + " | dev |")
    print("| ---: | --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " | ---: |")
    for i, (_, cost, first, rereads, below) in enumerate(scored[: args.top + 1]):
        per = [score([r], first, rereads, below)[0] for r in dev + report]
        tag = " (stored)" if i == 0 and (first, rereads, below) == stored else ""
        print(f"| {first:g}{tag} | {','.join(f'{s:g}' for s in rereads) or '-'} | "
              f"{below:g} | {cost:.2f} | " + " | ".join(f"{p:,}" for p in per)
              + f" | {sum(per[: len(dev)]):,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

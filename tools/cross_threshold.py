"""Choose a model's ``cross_below`` (the second view of unsure lines) on validation sets of
your own (never ../shared/dev):

    python tools/cross_threshold.py --model default --data build/v16/val_heldout.lmdb ...

Every line of each set is read twice, as the model reads it with no second view and with
every line given one (``cross_below`` 1.0). A line's choice between its two views depends on
it alone, so the lines right at each threshold ``t`` follow exactly from these readings: a
line whose first reading is at most ``t`` sure takes its two-view reading, any other its
first (``crnn eval --nfkc --ignore-space``'s comparison). Prints, per threshold, the lines
right over all sets, the lines the second view fixes and breaks, and the share of lines it
reads again (its cost: one more run of the network for each). Store the chosen value with
``crnn export --model M --format fp16 --cross-below T --out OUT``; the reading path's speed
is then measured with ``benchmarks/recognize.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from crnn.data.dataset import open_sources
from crnn.metrics import TextNormalizer
from crnn.recognizer import Recognizer

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97, 1.0)


def tally(truths: Sequence[str], one: Sequence[tuple[str, float]], two: Sequence[str],
          threshold: float) -> tuple[int, int, int, int]:
    """Lines right, fixed, broken and read again at ``threshold``: ``one`` the (text,
    confidence) of each line read in one view, ``two`` its text read with a second view."""
    norm = TextNormalizer(ignore_space=True, nfkc=True)
    right = fixed = broken = again = 0
    for truth, (text, conf), other in zip(truths, one, two, strict=True):
        first = norm(text) == norm(truth)
        if conf <= threshold:
            again += 1
            second = norm(other) == norm(truth)
            fixed += second and not first
            broken += first and not second
            first = second
        right += first
    return right, fixed, broken, again


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="a model whose policy recuts lines "
                                                      "(ink_margin), e.g. the bundled one")
    ap.add_argument("--data", nargs="+", required=True, help="labelled line sets")
    ap.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    args = ap.parse_args(argv)
    rec = Recognizer.load(args.model, device="cpu")
    if rec.reading.ink_margin is None:
        ap.error(f"{args.model} reads lines as cut (no ink_margin): there is no second view")
    one_view = rec.reading.replace(cross_below=None)
    every = rec.reading.replace(cross_below=1.0)
    truths: list[str] = []
    one: list[tuple[str, float]] = []
    two: list[str] = []
    for path in args.data:
        src = open_sources([path], None, "auto", rec.charset)
        items = [src.raw(i)[0] for i in range(len(src))]
        truths += [src.label(i) for i in range(len(src))]
        t0 = time.perf_counter()
        one += [(r.text, r.confidence) for r in rec.recognize(items, reading=one_view)]
        two += [r.text for r in rec.recognize(items, reading=every)]
        print(f"{path}: {len(items)} lines read both ways in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    base = tally(truths, one, two, -1.0)[0]
    print(f"{len(truths)} lines; one view: {base} right; stored: "
          f"cross_below {rec.reading.cross_below}")
    print(f"{'cross_below':>11} {'right':>7} {'fixed':>6} {'broken':>6} {'read again':>11}")
    for t in (float(x) for x in args.thresholds.split(",")):
        right, fixed, broken, again = tally(truths, one, two, t)
        print(f"{t:11g} {right:7d} {fixed:6d} {broken:6d} {again / len(truths):10.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

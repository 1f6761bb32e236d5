"""Choose a model's reading settings on validation sets of your own (never ../shared/dev):

    python tools/reading_policy.py --model build/v16/run/last.pt \
        --choose build/v16/val_heldout.lmdb --report build/v16/val_report.lmdb

Every line of each set is read once at each ``--stretches`` value (no second reading).
Each reading policy the model could store (``crnn export --read-stretch F --reread S,...
--reread-below C --blank-penalty B``: read at F; lines at most C sure are read again at
each S and keep the text their readings vote for; B off the blank's logit before decoding,
each value of ``--blank-penalties`` read apart) is then scored from those readings by
``crnn.reading.read_lines``, the function ``Recognizer`` reads with, with ``crnn eval --nfkc
--ignore-space``'s comparison. Cost is the columns read per line, in line widths: F,
plus the sum of S for a line read again (the shipped 1.1 / 1.0,1.2 at 0.8 costs about
1.23; the network's time is close to proportional). Prints the policy the model stores
now, then the policies that read most lines of the ``--choose`` sets within ``--budget``,
cheapest first among equals, each with its score on the ``--report`` sets (report only).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from crnn.data.dataset import LmdbSource
from crnn.data.images import decode_image
from crnn.decoding.decoders import Decoded
from crnn.metrics import TextNormalizer
from crnn.reading import ReadingPolicy, read_lines
from crnn.recognizer import Recognizer

GATES = (0.8, 0.9, 0.95, 0.97, 0.99, 1.0)


class Readings:
    """One data set read at every stretch and blank penalty: ``by[b, s][i]`` is line i
    read at stretch s with blank penalty b."""

    def __init__(self, rec: Recognizer, path: str, stretches: list[float],
                 penalties: list[float]) -> None:
        pad = rec.reading.right_pad
        src = LmdbSource(path)
        arrays, self.truths = [], []
        for i in range(len(src)):
            data, label, name = src.raw(i)
            arrays.append(decode_image(data, 1, name))
            self.truths.append(label)
        self.by: dict[tuple[float, float], list[Decoded]] = {}
        for b, s in itertools.product(penalties, stretches):
            t0 = time.perf_counter()
            self.by[b, s] = rec.recognize_arrays(
                arrays, ReadingPolicy(stretch=s, right_pad=pad, blank_penalty=b))
            print(f"{path}: {len(arrays)} lines at {s:g}, blank penalty {b:g}, in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def score(sets: list[Readings], first: float, rereads: tuple[float, ...], below: float,
          penalty: float = 0.0) -> tuple[int, float]:
    """(right lines, mean cost per line) of one policy over ``sets``, combined by
    ``crnn.reading.read_lines`` itself from the readings made beforehand."""
    norm = TextNormalizer(ignore_space=True, nfkc=True)
    policy = ReadingPolicy(stretch=first, rereads=rereads, reread_below=below)
    right, cost, n = 0, 0.0, 0
    for r in sets:
        spent = [0.0]

        def read(lines, stretch, _pad, r=r, spent=spent):
            spent[0] += stretch * len(lines)
            return [r.by[penalty, stretch][i] for i in lines]

        out = read_lines(read, list(range(len(r.truths))), policy)
        right += sum(norm(d.text) == norm(t) for d, t in zip(out, r.truths, strict=True))
        cost += spent[0]
        n += len(r.truths)
    return right, cost / max(n, 1)


def table(dev: list[Readings], report: list[Readings], names: list[str],
          stretches: list[float], max_rereads: int, budget: float, top: int,
          stored: tuple[float, tuple[float, ...], float, float] | None = None,
          penalties: tuple[float, ...] = (0.0,)) -> list[str]:
    """Markdown rows: the stored policy first (when its stretches were read), then the
    ``top`` policies with the most right lines on the --choose sets within ``budget``,
    cheapest first."""
    policies = []
    for b, first in itertools.product(penalties, stretches):
        others = [s for s in stretches if s != first]
        policies.append((first, (), 1.0, b))
        for k in range(1, max_rereads + 1):
            for rereads in itertools.combinations(others, k):
                policies += [(first, rereads, c, b) for c in GATES]
    scored = []
    for p in policies:
        right, cost = score(dev, *p)
        if cost <= budget and p != stored:
            scored.append((-right, cost, p))
    scored.sort()
    chosen = [p for _, _, p in scored[:top]]
    if stored is not None and stored[0] in stretches and set(stored[1]) <= set(stretches) \
            and stored[3] in penalties:
        chosen.insert(0, stored)
    lines = ["| read at | reread at | if sure <= | blank penalty | cost | " + " | ".join(names)
             + " | chosen on |",
             "| ---: | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in names)
             + " | ---: |"]
    for p in chosen:
        first, rereads, below, b = p
        per = [score([r], *p)[0] for r in dev + report]
        tag = " (stored)" if p == stored else ""
        lines.append(f"| {first:g}{tag} | {','.join(f'{s:g}' for s in rereads) or '-'} | "
                     f"{below:g} | {b:g} | {score(dev, *p)[1]:.2f} | "
                     + " | ".join(f"{n:,}" for n in per) + f" | {sum(per[: len(dev)]):,} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="exported model (fp16 or fp32 .pt)")
    ap.add_argument("--choose", nargs="+", required=True, dest="dev",
                    help="the sets the policy is chosen on (LMDB or label files)")
    ap.add_argument("--report", nargs="*", default=[], help="sets only reported")
    ap.add_argument("--stretches", default="0.9,1.0,1.1,1.2,1.3,1.4")
    ap.add_argument("--blank-penalties", metavar="B[,B...]",
                    help="blank penalties to search (default: the model's own)")
    ap.add_argument("--max-rereads", type=int, default=4)
    ap.add_argument("--budget", type=float, default=1.7, help="most cost per line to list")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    for d in args.dev + args.report:
        if not Path(d).exists():
            sys.exit(f"{d}: no such data set; render it with crnn synth pages (the recipe's "
                     "header names the command)")
    stretches = [float(x) for x in args.stretches.split(",")]
    rec = Recognizer.load(args.model, device="cpu")
    stored_policy = rec.reading
    if stored_policy.reread_scope == "latin":
        print("the model rereads only mostly-Latin lines (--reread-scope latin); the policies "
              "here reread every unsure line", file=sys.stderr)
    penalties = [float(x) for x in args.blank_penalties.split(",")] \
        if args.blank_penalties else [stored_policy.blank_penalty]
    dev = [Readings(rec, d, stretches, penalties) for d in args.dev]
    report = [Readings(rec, d, stretches, penalties) for d in args.report]

    stored = (stored_policy.stretch, stored_policy.rereads, stored_policy.reread_below,
              stored_policy.blank_penalty)
    names = [Path(d).stem for d in args.dev + args.report]
    for line in table(dev, report, names, stretches, args.max_rereads, args.budget, args.top,
                      stored, tuple(penalties)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Synthesis speed: lines per second written to an LMDB, per charset and worker count.

    python benchmarks/synth_speed.py                 # zh and ascii, 1 and 2 workers
    python benchmarks/synth_speed.py --count 20000 --workers 1 2 4

Each run is a full ``generate`` (rendering, PNG encoding, LMDB writes) into a temporary
folder. The table reports wall-clock lines/s and lines/s per worker and, for one worker
(rendering in this process), lines per CPU-second: the per-core speed, which stays
meaningful when other programs share the machine. (Pool workers are children of the
multiprocessing fork server, so their CPU time is not visible here.) Workers start with
empty glyph caches, so short runs understate steady-state speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2

from crnn.synth.config import load_synth_config
from crnn.synth.generate import generate
from crnn.synth.synthesizer import build_spec


def _cpu_seconds() -> float:
    """User + system CPU time of this process."""
    t = os.times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--charsets", nargs="+", default=["zh", "ascii"])
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--count", type=int, default=6000)
    p.add_argument("--size", default=None, help="e.g. 280x32 (default: 32 px high)")
    p.add_argument("--config", default=None)
    args = p.parse_args(argv)
    cv2.setNumThreads(1)  # as in the pool workers: one renderer = one core
    cfg = load_synth_config(args.config)
    rows = []
    for cs in args.charsets:
        t0 = time.perf_counter()
        spec = build_spec(cs, args.count, seed=0, config=cfg, size=args.size)
        setup = time.perf_counter() - t0
        for w in args.workers:
            with tempfile.TemporaryDirectory() as tmp:
                c0 = _cpu_seconds()
                rep = generate(spec, Path(tmp) / "bench.lmdb", "lmdb", w, progress=False)
                cpu = _cpu_seconds() - c0
            rows.append((cs, w, rep.count, rep.seconds, rep.lines_per_second,
                         rep.lines_per_second / w, rep.count / cpu if w == 1 else None, setup))
            print(f"{cs} workers={w}: {rep.lines_per_second:,.0f} lines/s", file=sys.stderr)
    print(f"\ncpus available: {len(os.sched_getaffinity(0))}, load average after the runs: "
          f"{os.getloadavg()[0]:.2f} (other programs compete when it exceeds the workers)")
    print("| charset | workers | lines | seconds | lines/s | lines/s per worker | "
          "lines per CPU-second | font setup s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for cs, w, n, sec, lps, per, per_cpu, setup in rows:
        cpu = f"{per_cpu:,.0f}" if per_cpu else "-"
        print(f"| {cs} | {w} | {n:,} | {sec:.1f} | {lps:,.0f} | {per:,.0f} | {cpu} | "
              f"{setup:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

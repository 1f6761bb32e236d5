"""Score candidate models on the dev page sets, to choose what to ship:

    python configs/gpu/pick.py --models .device/best.pt .device/last.pt \
        --by 0,1,2 --data build/eval/pages33.lmdb build/eval/pages44.lmdb

Each checkpoint (fp32 training output, the prior correction not yet applied) gets the
bias of v9's added rows (``--chars``) lowered by each ``--by`` value
(``configs/v9/lower_rows.py``), is exported as the bundled model is (fp16, v10's reading
settings: ``--export-args``), and is read with ``crnn eval --nfkc --ignore-space`` on
every ``--data`` set. Prints right lines per set and in all, and keeps each exported file
and its errors TSV in ``--work``. The bundled model is scored the same way as the first
row. Choose on the dev sets (seeds 33 and 44, docs/models.md), then report the others.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXPORT = ("--format fp16 --read-stretch 1.1 --reread 1.0,1.2 --reread-below 0.8 "
          "--reread-scope all --read-pad 0.1")


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return proc.stdout


def score(model: Path, data: list[str], work: Path, tag: str) -> list[int]:
    right = []
    for d in data:
        errors = work / f"{tag}.{Path(d).stem}.errors.tsv"
        out = run([sys.executable, "-m", "crnn", "eval", "--model", str(model), "--data", d,
                   "--nfkc", "--ignore-space", "--json", "--errors", str(errors),
                   "--device", "cpu"])
        row = json.loads(out)
        right.append(round(row["accuracy"] * row["lines"]))
    return right


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True, help="fp32 training checkpoints")
    ap.add_argument("--by", default="0,1,2", help="bias lowerings to try, comma-separated")
    ap.add_argument("--chars", default="configs/v9/new_chars.txt")
    ap.add_argument("--data", nargs="+",
                    default=["build/eval/pages33.lmdb", "build/eval/pages44.lmdb"])
    ap.add_argument("--export-args", default=EXPORT)
    ap.add_argument("--work", default="build/pick")
    ap.add_argument("--no-bundled", action="store_true", help="skip the bundled model's row")
    args = ap.parse_args()
    work = ROOT / args.work
    work.mkdir(parents=True, exist_ok=True)
    for d in args.data:
        if not (ROOT / d).exists():
            sys.exit(f"{d}: no such data set; render it with crnn synth pages "
                     "(docs/models.md names the seeds and page counts)")
    rows: list[tuple[str, list[int]]] = []
    if not args.no_bundled:
        rows.append(("bundled", score(Path("default"), args.data, work, "bundled")))
        print(f"{rows[-1][0]:40s} {rows[-1][1]} {sum(rows[-1][1])}", flush=True)
    for m in args.models:
        for by in (float(x) for x in args.by.split(",")):
            tag = f"{Path(m).stem}.by{by:g}"
            lowered = work / f"{tag}.pt"
            run([sys.executable, str(HERE.parent / "v9" / "lower_rows.py"), "--model", m,
                 "--chars", args.chars, "--by", str(by), "--out", str(lowered)])
            exported = work / f"{tag}.fp16.pt"
            run([sys.executable, "-m", "crnn", "export", "--model", str(lowered),
                 "--out", str(exported), *args.export_args.split()])
            rows.append((f"{m}, lowered by {by:g}", score(exported, args.data, work, tag)))
            print(f"{rows[-1][0]:40s} {rows[-1][1]} {sum(rows[-1][1])}", flush=True)
    names = [Path(d).stem for d in args.data]
    print("\n| model | " + " | ".join(names) + " | total |")
    print("| --- | " + " | ".join("---:" for _ in names) + " | ---: |")
    for name, right in rows:
        print(f"| {name} | " + " | ".join(f"{r:,}" for r in right) + f" | {sum(right):,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

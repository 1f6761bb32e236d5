"""Multi-process training throughput on CPU with torchrun + gloo.

Renders a small digits LMDB, then trains the same model for a fixed number of steps with
1..N processes (one thread each, per-rank batch fixed) and prints samples/s and the
speed-up. On a GPU machine, pass --device cuda to use NCCL with one GPU per process.

    python benchmarks/ddp_scaling.py --procs 1 2 --steps 40
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_data(folder: Path, n: int) -> Path:
    from crnn.data.tools import create_dataset
    from tests.conftest import make_label_folder

    labels = make_label_folder(folder / "src", n, "0123456789")
    out = folder / "train.lmdb"
    create_dataset(labels, None, out, progress=False)
    return out


def run(nproc: int, data: Path, out: Path, steps: int, batch: int, device: str,
        cnn: str, hidden: int) -> float:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", "-m", "crnn", "train", "--train", str(data),
           "--charset", "digits", "--out", str(out), "--batch-size", str(batch),
           "--max-steps", str(steps), "--workers", "0", "--quiet", "--device", device,
           "--set", f"cnn_channels={cnn}", "--set", f"hidden={hidden}",
           "--set", "log_every=1", "--set", "width=160"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
    return rates[-1] if rates else steps * batch * nproc / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16, help="per-rank batch size")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cnn", default="[32,64,128,128,192,192,192]")
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp), 1024)
        base = None
        print(f"{'processes':>9} {'batch/rank':>10} {'global':>7} {'samples/s':>10} "
              f"{'speed-up':>8}")
        for n in args.procs:
            rate = run(n, data, Path(tmp) / f"run{n}", args.steps, args.batch, args.device,
                       args.cnn, args.hidden)
            base = base or rate
            print(f"{n:9d} {args.batch:10d} {args.batch * n:7d} {rate:10.1f} "
                  f"{rate / base:8.2f}")


if __name__ == "__main__":
    main()

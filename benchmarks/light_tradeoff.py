"""The light CRNN variant against the regular layout: the same data, the same training
budget, then accuracy and CPU speed side by side, in one run.

Both models are trained from scratch by ``crnn train`` on the demo's rendered Latin/digit
lines (``examples/demo.sh``'s data: 4,000 training lines, 300 validation lines, four
DejaVu/Liberation faces) for the same number of epochs, then read 300 held-out lines of
the same kind. Rows: the regular layout (``configs/demo.yaml``: full convolutions, one
BiLSTM) and the light variant (``configs/light.yaml``'s choices: depthwise-separable
convolutions and a GRU head), each through PyTorch eager and ONNX fp32.

    python benchmarks/light_tradeoff.py [--out build/light_tradeoff] [--epochs 12]

Takes about 12 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHARSET = "chars: 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.:/@"
FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
         "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"]
VARIANTS = {
    "regular (demo.yaml: conv, 1 BiLSTM)": [],
    "light (separable conv, 1 BiGRU)": ["--set", "separable=true", "--set", "rnn_type=gru"],
}


def crnn(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "crnn", *args], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="build/light_tradeoff")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    synth = ["synth", "--charset", CHARSET, "--config", "configs/demo_synth.yaml",
             "--overwrite", "--quiet", "--fonts", *FONTS, "--no-system-fonts"]
    for name, count, seed in (("train", 4000, 1), ("val", 300, 2), ("test", 300, 4)):
        if not (out / f"{name}.lmdb").exists():
            crnn(*synth, "--count", str(count), "--seed", str(seed),
                 "--out", str(out / f"{name}.lmdb"))

    import torch

    from crnn.checkpoint import load_checkpoint
    from crnn.data.dataset import open_sources
    from crnn.data.images import decode_image
    from crnn.recognizer import Recognizer

    src = open_sources([str(out / "test.lmdb")])
    images, truth = [], []
    for i in range(len(src)):
        raw, label, where = src.raw(i)
        images.append(decode_image(raw, 1, name=where))
        truth.append(label)
    rows = []
    for k, (name, extra) in enumerate(VARIANTS.items()):
        run = out / f"run{k}"
        t0 = time.perf_counter()
        if not (run / "best.pt").exists():
            crnn("train", "--config", "configs/demo.yaml", "--set", f"charset={CHARSET}",
                 "--out", str(run), "--train", str(out / "train.lmdb"), "--val",
                 str(out / "val.lmdb"), "--set", f"epochs={args.epochs}", "--quiet", *extra)
        train_s = time.perf_counter() - t0
        ckpt = load_checkpoint(run / "best.pt")
        params = sum(p.numel() for p in ckpt.build_model().parameters())
        for backend in ("torch", "onnx"):
            rec = Recognizer.load(run / "best.pt", device="cpu", backend=backend,
                                  batch_size=32)
            rec.recognize_arrays(images[:32])  # warm-up
            t0 = time.perf_counter()
            got = [d.text for d in rec.recognize_arrays(images)]
            lps = len(images) / (time.perf_counter() - t0)
            lat = []
            for im in images[:100]:
                t0 = time.perf_counter()
                rec.recognize_arrays([im])
                lat.append(time.perf_counter() - t0)
            acc = float(np.mean([a == b for a, b in zip(got, truth, strict=True)]))
            rows.append((name, backend, params, train_s, lps, 1000 * float(np.median(lat)),
                         acc))
    print(f"\n{len(images)} held-out lines, {torch.get_num_threads()} threads, "
          f"{args.epochs} epochs on 4,000 lines each")
    print("| model | backend | parameters | train s | lines/s | p50 ms | line accuracy |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, backend, params, train_s, lps, p50, acc in rows:
        print(f"| {name} | {backend} | {params:,} | {train_s:.0f} | {lps:.1f} | {p50:.1f} | "
              f"{acc:.2%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

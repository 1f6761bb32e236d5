"""Training speed: the tutorial's training loop (written here as a baseline) against
``crnn train``, on the same LMDB, model and device, in one run; plus the data pipeline
alone, per DataLoader worker count.

The baseline follows ``../shared/reference/crnn-tutorial.txt``: fp32; a DataLoader (shuffle,
the tutorial's default of no worker processes unless ``--baseline-workers``) whose dataset
decodes each LMDB image with PIL, resizes it to W x 32 and normalises it per sample;
``.to(device)`` on each batch; ``nn.CTCLoss()`` with its defaults; Adam at 1e-3. The
model is the tutorial's CRNN (``crnn.model`` with the default config) in both rows.
``crnn train`` runs with its defaults (bf16 autocast and cudnn.benchmark on CUDA, pinned
memory, ``--workers`` worker processes, width-bucketed batches) at the same fixed width.

    python benchmarks/train_speed.py [--data x.lmdb] [--widths 100 280]
        [--batch-sizes 64 256 1024] [--steps 30] [--workers 4]
    python benchmarks/train_speed.py --device cpu     # fp32 against the default precision

``--device cpu`` prints one table instead: ``crnn train`` end to end with
``--set amp=false`` (fp32) against its default precision (bf16 autocast where the CPU has
native bf16, fp32 elsewhere), and with bf16 forced, for the tutorial model at 32x100 and
32x280 and the bundled architecture (and charset) at 32x320 (bf16 forced on that row
only: where it is emulated it is slow), then the data pipeline alone with the same worker
count.

Without ``--data`` it renders 4,096 printed lines of 2-6 em with ``crnn synth`` (ascii).
Samples/s is measured over ``--steps`` steps after 3 warm-up steps. On a GPU it also
reports the GPU's utilisation during the crnn rows (nvidia-smi, when present).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

WARMUP = 3


class TutorialDataset(torch.utils.data.Dataset):
    """The tutorial's way: PIL decode, fixed resize, per-sample normalisation."""

    def __init__(self, path: Path, charset, width: int) -> None:
        from crnn.data.lmdb import LmdbReader

        self.reader = LmdbReader(path)
        self.charset = charset
        self.width = width

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, i: int):
        raw, label = self.reader.get(i)
        img = Image.open(io.BytesIO(raw)).convert("L").resize((self.width, 32),
                                                              Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
        x = (x - 0.5) / 0.5
        return x[None], torch.tensor(self.charset.encode(label, "drop-char") or [1])


def tutorial_collate(items):
    images = torch.stack([x for x, _ in items])
    lengths = torch.tensor([len(t) for _, t in items])
    return images, torch.cat([t for _, t in items]), lengths


def baseline(data: Path, charset, width: int, batch: int, steps: int, device: torch.device,
             workers: int) -> float:
    from crnn.model import CRNN, ModelConfig

    model = CRNN(ModelConfig(num_classes=charset.num_classes)).to(device).train()
    loader = torch.utils.data.DataLoader(TutorialDataset(data, charset, width),
                                         batch_size=batch, shuffle=True,
                                         collate_fn=tutorial_collate, num_workers=workers,
                                         drop_last=True)
    criterion = nn.CTCLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    done, t0 = 0, 0.0
    while done < steps + WARMUP:
        for images, targets, lengths in loader:
            images, targets = images.to(device), targets.to(device)
            out = model(images).log_softmax(2)
            frames = torch.full((images.shape[0],), out.shape[0], dtype=torch.long)
            loss = criterion(out, targets, frames, lengths)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # the tutorial prints the loss: a sync per step
            done += 1
            if done == WARMUP:
                t0 = time.perf_counter()
            if done == steps + WARMUP:
                break
    return steps * batch / (time.perf_counter() - t0)


def crnn_train(data: Path, charset: str, width: int, batch: int, steps: int, workers: int,
               out: Path, overrides: list[str] | None = None,
               force_bf16: bool = False, warmup: int = WARMUP) -> float:
    """``crnn train`` end to end (data loading, step, schedule, logging) for ``steps``
    timed steps; ``overrides`` are ``--set`` values; ``force_bf16`` runs bf16 autocast on
    a CPU without native bf16 too (to show what the default avoids)."""
    import crnn.train as train_mod
    from crnn.config import load_config

    times: list[float] = []

    def after_step(step: int) -> None:
        # the loop no longer waits for the GPU each step: wait here, as the baseline does
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter())

    train_mod._after_step = after_step
    native = train_mod.has_native_bf16
    if force_bf16:
        train_mod.has_native_bf16 = lambda: True
    cfg = load_config(overrides=overrides, train=[str(data)], charset=charset,
                      oov="drop-char", width=width, batch_size=batch,
                      max_steps=steps + warmup, workers=workers, out=str(out),
                      val_every=10**9, save_every=10**9, log_every=10**9, tensorboard=False)
    try:
        train_mod.train(cfg, progress=False)
    finally:
        train_mod._after_step = lambda step: None
        train_mod.has_native_bf16 = native
    return steps * batch / (times[-1] - times[warmup - 1])


def pipeline(data: Path, charset, workers: int, count: int) -> float:
    """crnn's data path alone: LMDB read + decode + resize + width-bucketed collate."""
    from crnn.data.dataset import (
        BucketBatchSampler,
        LineDataset,
        collate,
        open_sources,
        scan_labels,
    )
    from crnn.data.images import Preprocess

    src = open_sources([str(data)])
    scan = scan_labels(src, charset, "drop-char")
    ds = LineDataset(src, charset, Preprocess(), "drop-char", scan.indices)
    loader = torch.utils.data.DataLoader(
        ds, batch_sampler=BucketBatchSampler(scan.proxies, 64), collate_fn=collate,
        num_workers=workers, prefetch_factor=4 if workers else None)
    n, t0 = 0, 0.0
    for b in loader:  # timed from the first batch on: worker start-up left out
        if not t0:
            t0 = time.perf_counter()
            continue
        n += len(b)
        if n >= count:
            break
    return n / (time.perf_counter() - t0)


class GpuUtil:
    """Mean GPU utilisation (%) sampled by nvidia-smi while a block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.ok = shutil.which("nvidia-smi") is not None and torch.cuda.is_available()

    def __enter__(self) -> GpuUtil:
        self.stop = threading.Event()
        if self.ok:
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def _poll(self) -> None:
        while not self.stop.is_set():
            r = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu",
                                "--format=csv,noheader,nounits"], capture_output=True,
                               text=True)
            try:
                self.samples.append(float(r.stdout.split()[0]))
            except (ValueError, IndexError):
                pass
            self.stop.wait(0.5)

    def __exit__(self, *exc) -> None:
        self.stop.set()

    @property
    def mean(self) -> str:
        return f"{np.mean(self.samples):.0f}%" if self.samples else "-"


def bundled_overrides() -> tuple[str, list[str]]:
    """The bundled model's charset (written to a file) and architecture as ``--set``s."""
    from crnn.checkpoint import load_checkpoint
    from crnn.recognizer import resolve_model_path

    ckpt = load_checkpoint(resolve_model_path("default"))
    m = ckpt.model_config
    sets = [f"cnn_channels={list(m.cnn_channels)}", f"hidden={m.hidden}", f"n_rnn={m.n_rnn}",
            f"rnn_type={m.rnn_type}", f"leaky_relu={str(m.leaky_relu).lower()}"]
    return "".join(ckpt.charset.chars), sets


def cpu_precision(args: argparse.Namespace, data: Path, tmp: Path) -> None:
    """The CPU table: fp32 (``--set amp=false``) against ``crnn train``'s default, end to
    end, for the tutorial model at 32x100 and 32x280 and the bundled architecture at
    32x320, all in one run; then bf16 forced; then the data pipeline alone."""
    import crnn.train as train_mod

    steps = args.steps or 8
    chars, sets = bundled_overrides()
    charset_file = tmp / "bundled_charset.txt"
    charset_file.write_text("\n".join(c for c in chars if c != "\n") + "\n",
                            encoding="utf-8")
    _, why = train_mod.amp_policy(True, torch.device("cpu"))
    print(f"CPU: {torch.get_num_threads()} threads; native bf16: "
          f"{train_mod.has_native_bf16()}; default precision: {why}")
    print(f"batch {args.cpu_batch}, {steps} timed steps after {WARMUP} warm-up, "
          f"{args.workers} DataLoader worker(s)\n")
    print("| model | input | fp32 (amp=false) samples/s | default samples/s | ratio | "
          "bf16 forced samples/s | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [("tutorial", 100, args.charset, []), ("tutorial", 280, args.charset, []),
            ("bundled", 320, str(charset_file), sets)]
    for name, width, cs, extra in rows:
        run = tmp / f"cpu_{name}_{width}"
        fp32 = crnn_train(data, cs, width, args.cpu_batch, steps, args.workers,
                          run / "fp32", [*extra, "amp=false"])
        default = crnn_train(data, cs, width, args.cpu_batch, steps, args.workers,
                             run / "default", extra)
        forced = ""
        if name == "bundled":  # emulated bf16 is slow: one row shows it, 2 steps timed
            bf16 = crnn_train(data, cs, width, args.cpu_batch, 2, args.workers, run / "bf16",
                              extra, force_bf16=True, warmup=1)
            forced = f"{bf16:.1f} | {bf16 / fp32:.2f}x"
        print(f"| {name} | 32x{width} | {fp32:.1f} | {default:.1f} | {default / fp32:.2f}x | "
              f"{forced or '- | -'} |", flush=True)
    from crnn.charset import Charset

    rate = pipeline(data, Charset.resolve(args.charset), args.workers, 1024)
    print(f"\n| data pipeline alone ({args.workers} worker(s), as crnn train by default) | "
          f"samples/s |\n| --- | ---: |\n| LMDB read + decode + resize + collate | "
          f"{rate:,.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="training LMDB (default: 4,096 rendered ascii lines)")
    ap.add_argument("--charset", default="ascii", help="the data's charset")
    ap.add_argument("--widths", type=int, nargs="+", default=[100, 280])
    ap.add_argument("--batch-sizes", type=int, nargs="+")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--workers", type=int, default=2, help="crnn train's DataLoader workers")
    ap.add_argument("--baseline-workers", type=int, default=0)
    ap.add_argument("--pipeline-workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--device", choices=("auto", "cpu"), default="auto",
                    help="cpu: the precision table (fp32 against the default, end to end "
                         "through crnn train) and the data pipeline, on the CPU")
    ap.add_argument("--cpu-batch", type=int, default=32, help="batch of the CPU table")
    args = ap.parse_args()

    from crnn.charset import Charset

    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    sizes = args.batch_sizes or ([64, 128, 256, 512, 1024] if cuda else [64])
    steps = args.steps or (30 if cuda else 5)
    charset = Charset.resolve(args.charset)
    tmp = Path(tempfile.mkdtemp(prefix="crnn-train-speed-"))
    try:
        data = Path(args.data) if args.data else tmp / "lines.lmdb"
        if not args.data:  # lines of 2-6 em: CTC can fit their labels at 100 px too
            (tmp / "synth.yaml").write_text("text:\n  length: [2, 6]\n")
            subprocess.run([sys.executable, "-m", "crnn", "synth", "--charset", "ascii",
                            "--count", "4096", "--config", str(tmp / "synth.yaml"),
                            "--out", str(data), "--quiet"], check=True)
        if args.device == "cpu":
            cpu_precision(args, data, tmp)
            return 0
        name = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
        print(f"device: {name}; torch {torch.__version__}; {steps} timed steps per row")
        print("\n| width | batch | tutorial loop samples/s | crnn train samples/s | ratio | "
              "GPU util (crnn) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for width in args.widths:
            for batch in sizes:
                try:
                    base = baseline(data, charset, width, batch, steps, device,
                                    args.baseline_workers)
                except Exception as exc:  # an OOM of the baseline is a result too
                    print(f"  baseline {width}x{batch}: {type(exc).__name__}", file=sys.stderr)
                    base = float("nan")
                with GpuUtil() as util:
                    ours = crnn_train(data, args.charset, width, batch, steps, args.workers,
                                      tmp / f"run{width}_{batch}")
                print(f"| {width} | {batch} | {base:,.0f} | {ours:,.0f} | {ours / base:.2f}x "
                      f"| {util.mean} |", flush=True)
        print("\n| data pipeline (crnn: LMDB read + decode + resize + collate) | samples/s |")
        print("| --- | ---: |")
        for w in args.pipeline_workers:
            print(f"| {w} worker(s) | {pipeline(data, charset, w, 2048):,.0f} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

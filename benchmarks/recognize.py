"""Line recognition on the CPU: crnn's backends against Tesseract and PaddleOCR recognizers.

On one set of printed line images, in one run: lines/s (batched), p50/p99 single-line
latency, line accuracy and CER (NFKC, whitespace removed) for

- crnn as ``crnn predict`` reads with no flags (``Recognizer.load``'s default backend:
  ONNX on the CPU where onnxruntime is installed; the model's own language model on
  unsure lines where it has one beside it); the same with ``--no-fuse-lm``; PyTorch
  eager; ONNX fp32; ONNX int8 (dynamic, recurrent and output layers); that with the
  convolutions in int8 too, where the model carries calibration lines (``crnn export
  --calibrate``); the light variant (ONNX fp32);
- Tesseract 5 (CLI, ``--psm 7``, chi_sim+eng), if installed;
- PaddleOCR PP-OCRv4 rec (inside ``rapidocr_onnxruntime`` 1.4.x) and PP-OCRv6 small rec
  (inside ``rapidocr`` 3.10), recognition only, if installed (``make bench``).

    python benchmarks/recognize.py --data val.lmdb [--model best.pt] [--light-model l.pt]
        [--limit 300] [--threads 2] [--ratio-rounds 5]

Each system is timed once, one after the other, so on a machine whose speed drifts the
ratios drift with it: ``--ratio-rounds N`` then times ``crnn predict``'s default and
PP-OCRv6 small rec N more times over the same lines, alternately, and prints each round's
ratio and their median.

Without ``--model`` the bundled model is used; if this build has none, an untrained
tutorial-size model with the ``zh`` charset stands in, which measures speed only (its
accuracy is printed as "pending").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def load_lines(spec: str, limit: int) -> tuple[list[np.ndarray], list[str]]:
    from crnn.data.dataset import open_source
    from crnn.data.images import decode_image

    src = open_source(spec)
    images, labels = [], []
    for i in range(min(limit, len(src))):
        raw, label, name = src.raw(i)
        images.append(decode_image(raw, 1, name) if isinstance(raw, bytes) else raw)
        labels.append(label)
    return images, labels


def stand_in_checkpoint(tmp: Path, light: bool) -> Path:
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.model import CRNN, ModelConfig

    torch.manual_seed(0)
    cs = Charset.preset("zh")
    kw = dict(separable=True, cnn_channels=(32, 64, 128, 128, 192, 192, 256),
              rnn_type="gru", hidden=128) if light else {}
    cfg = ModelConfig(num_classes=cs.num_classes, **kw)
    path = tmp / ("light.pt" if light else "tutorial.pt")
    save_checkpoint(Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict()), path)
    return path


class Row:
    def __init__(self, name: str, batch_fn: Callable[[list[np.ndarray]], list[str]],
                 single_fn: Callable[[np.ndarray], str] | None = None, trained: bool = True):
        self.name = name
        self.batch_fn = batch_fn
        self.single_fn = single_fn or (lambda im: batch_fn([im])[0])
        self.trained = trained


def measure(row: Row, images: list[np.ndarray], labels: list[str], latency_n: int) -> dict:
    row.batch_fn(images[:4])  # warm-up
    t0 = time.perf_counter()
    preds = row.batch_fn(images)
    rate = len(images) / (time.perf_counter() - t0)
    lat = []
    for im in images[:latency_n]:
        t = time.perf_counter()
        row.single_fn(im)
        lat.append(time.perf_counter() - t)
    from rapidfuzz.distance import Levenshtein

    pairs = [(norm(p), norm(t)) for p, t in zip(preds, labels, strict=True)]
    acc = np.mean([p == t for p, t in pairs])
    cer = sum(Levenshtein.distance(p, t) for p, t in pairs) / max(1, sum(len(t) for _, t in
                                                                        pairs))
    return {"name": row.name, "lines_s": rate, "p50": 1e3 * float(np.percentile(lat, 50)),
            "p99": 1e3 * float(np.percentile(lat, 99)),
            "acc": f"{100 * acc:.2f}%" if row.trained else "pending",
            "cer": f"{100 * cer:.2f}%" if row.trained else "pending"}


def crnn_rows(model: Path, light: Path | None, trained: bool, light_trained: bool,
              threads: int, batch: int) -> list[Row]:
    from crnn.checkpoint import load_checkpoint
    from crnn.cpu import int8_full_range
    from crnn.export import OnnxModel, calibration_inputs, onnx_bytes, quantize_int8
    from crnn.recognizer import Recognizer, language_model_beside

    def wrap(rec: Recognizer) -> Callable[[list[np.ndarray]], list[str]]:
        return lambda ims: [d.text for d in rec.recognize_arrays(ims)]

    ckpt = load_checkpoint(model)
    fp32 = onnx_bytes(ckpt)
    rows = [
        # what `crnn predict` runs with no flags (Recognizer.load's default backend, and
        # the model's own language model on unsure lines where it has one beside it)
        Row("crnn predict default", wrap(Recognizer.load(model, device="cpu",
                                                         batch_size=batch)), trained=trained),
        # the same by the best path alone
        *([Row("crnn predict --no-fuse-lm", wrap(Recognizer.load(
            model, device="cpu", batch_size=batch, fuse_lm=False)), trained=trained)]
          if language_model_beside(model) is not None else []),
        Row("crnn torch eager", wrap(Recognizer.from_checkpoint(ckpt, "cpu", batch)),
            trained=trained),
        Row("crnn ONNX fp32", wrap(Recognizer(OnnxModel(fp32, threads), ckpt.charset,
                                              ckpt.preprocess, "cpu", batch,
                                              reading=ckpt.reading)), trained=trained),
        Row("crnn ONNX int8", wrap(Recognizer(OnnxModel(quantize_int8(fp32), threads),
                                              ckpt.charset, ckpt.preprocess, "cpu", batch,
                                              reading=ckpt.reading)), trained=trained),
    ]
    lines = ckpt.meta.get("int8_calibration")
    if lines:  # the convolutions too, as the default CPU path runs such a checkpoint
        conv8 = quantize_int8(fp32, calibration_inputs(lines, ckpt), int8_full_range())
        rows.append(Row("crnn ONNX int8 + int8 conv", wrap(Recognizer(
            OnnxModel(conv8, threads), ckpt.charset, ckpt.preprocess, "cpu", batch,
            reading=ckpt.reading)), trained=trained))
    if light is not None:
        lk = load_checkpoint(light)
        rows.append(Row("crnn light ONNX fp32",
                        wrap(Recognizer(OnnxModel(onnx_bytes(lk), threads), lk.charset,
                                        lk.preprocess, "cpu", batch, reading=lk.reading)),
                        trained=light_trained))
    return rows


def tesseract_row(tmp: Path) -> Row | None:
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout
    lang = "+".join(x for x in ("chi_sim", "eng") if x in langs.split()) or "eng"
    from PIL import Image

    def one(im: np.ndarray) -> str:
        p = tmp / "line.png"
        Image.fromarray(im).save(p)
        out = subprocess.run([exe, str(p), "stdout", "-l", lang, "--psm", "7"],
                             capture_output=True, text=True)
        return out.stdout.strip()

    return Row(f"Tesseract CLI ({lang}, psm 7)", lambda ims: [one(i) for i in ims])


def rapidocr_rows() -> list[Row]:
    rows = []
    try:
        from rapidocr_onnxruntime import RapidOCR as RapidV4

        eng4 = RapidV4()

        def v4(ims: list[np.ndarray]) -> list[str]:
            out = []
            for im in ims:
                res, _ = eng4(np.repeat(im[:, :, None], 3, 2), use_det=False, use_cls=False,
                              use_rec=True)
                out.append(res[0][0] if res else "")
            return out

        rows.append(Row("PP-OCRv4 rec (rapidocr_onnxruntime 1.4)", v4))
    except ImportError:
        print("rapidocr_onnxruntime not installed: make bench", file=sys.stderr)
    try:
        from rapidocr import RapidOCR as RapidV3

        eng6 = RapidV3(params={"Global.use_det": False, "Global.use_cls": False,
                               "Global.log_level": "error"})

        def v6(ims: list[np.ndarray]) -> list[str]:
            out = []
            for im in ims:
                res = eng6(np.repeat(im[:, :, None], 3, 2), use_det=False, use_cls=False,
                           use_rec=True)
                txt = getattr(res, "txts", None)
                out.append(txt[0] if txt else "")
            return out

        rows.append(Row("PP-OCRv6 small rec (rapidocr 3.10)", v6))
    except ImportError:
        print("rapidocr not installed: make bench", file=sys.stderr)
    return rows


def cpu_note() -> str:
    """What decides the int8 figures on this CPU (``crnn.cpu``)."""
    from crnn.cpu import VNNI_FLAGS, cpu_flags, int8_full_range

    vnni = sorted(cpu_flags() & VNNI_FLAGS)
    return (f"int8 convolution weights in {8 if int8_full_range() else 7} bits "
            f"({', '.join(vnni) if vnni else 'no VNNI'})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="LMDB or label file of printed lines")
    ap.add_argument("--model", help="crnn checkpoint (default: bundled, else untrained)")
    ap.add_argument("--light-model", help="a trained light-variant checkpoint")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--latency-lines", type=int, default=50)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--ratio-rounds", type=int, default=0, metavar="N",
                    help="then time crnn's default and PP-OCRv6 small alternately N times")
    args = ap.parse_args()

    import torch

    from crnn.recognizer import bundled_model_path

    torch.set_num_threads(args.threads)
    images, labels = load_lines(args.data, args.limit)
    widths = [int(round(im.shape[1] * 32 / im.shape[0])) for im in images]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        model = Path(args.model) if args.model else bundled_model_path()
        trained = model is not None
        model = model or stand_in_checkpoint(tmp, light=False)
        light = Path(args.light_model) if args.light_model else stand_in_checkpoint(tmp, True)
        rows = crnn_rows(model, light, trained, args.light_model is not None, args.threads,
                         args.batch)
        if not args.no_peers:
            tess = tesseract_row(tmp)
            rows += ([tess] if tess else []) + rapidocr_rows()
        print(f"{len(images)} lines from {args.data}; width at 32 px: median "
              f"{int(np.median(widths))}, max {max(widths)}; {args.threads} threads; "
              f"CPU: {os.cpu_count()} cores, {cpu_note()}")
        if trained:
            from crnn.checkpoint import load_checkpoint

            policy = load_checkpoint(model).reading
            scope = "mostly-Latin" if policy.reread_scope == "latin" else "all"
            print(f"crnn {model.name}: read {policy.stretch}x wide, right margin "
                  f"{policy.right_pad}; rereads at {', '.join(map(str, policy.rereads)) or 'none'}"
                  f" of {scope} lines read at confidence <= {policy.reread_below}; "
                  f"blank penalty {policy.blank_penalty}; deskew {policy.deskew}; "
                  + ("read as cut" if policy.ink_margin is None else
                     f"recut at the ink box + {policy.ink_margin} ink heights")
                  + ("" if policy.cross_below is None else
                     f"; other lines read at confidence <= {policy.cross_below} read as cut "
                     "too, both views scoring their texts"))
            if policy.lm_weight:
                latin = policy.lm_below if policy.lm_latin_below is None \
                    else policy.lm_latin_below
                print(f"its language model (default row): weight {policy.lm_weight}, bonus "
                      f"{policy.lm_bonus}, on lines read at confidence <= {policy.lm_below}"
                      f" (mostly-Latin lines: <= {latin})")
        print(f"{'recognizer':44} {'lines/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'accuracy':>9} "
              f"{'CER':>7}")
        results = []
        for row in rows:
            r = measure(row, images, labels, args.latency_lines)
            results.append(r)
            print(f"{r['name']:44} {r['lines_s']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} "
                  f"{r['acc']:>9} {r['cer']:>7}", flush=True)
        ref = next((r for r in results if r["name"].startswith("PP-OCRv6")), None)
        if ref:
            for r in results:
                if r["name"].startswith("crnn"):
                    print(f"{r['name']}: {r['lines_s'] / ref['lines_s']:.2f}x PP-OCRv6 "
                          "small rec lines/s")
        peer = next((r for r in rows if r.name.startswith("PP-OCRv6")), None)
        if args.ratio_rounds > 0 and peer is not None:
            alternate(rows[0], peer, images, args.ratio_rounds)


def alternate(ours: Row, peer: Row, images: list[np.ndarray], rounds: int) -> None:
    """Time both over the same lines ``rounds`` times, in turn, and print the ratios."""
    ratios = []
    for k in range(rounds):
        rate = []
        for row in (ours, peer):
            t0 = time.perf_counter()
            row.batch_fn(images)
            rate.append(len(images) / (time.perf_counter() - t0))
        ratios.append(rate[0] / rate[1])
        print(f"round {k + 1}: {ours.name} {rate[0]:.1f}, {peer.name} {rate[1]:.1f} lines/s: "
              f"{ratios[-1]:.2f}x", flush=True)
    print(f"{ours.name}: median {float(np.median(ratios)):.2f}x PP-OCRv6 small rec lines/s "
          f"over {rounds} alternating rounds (min {min(ratios):.2f}x, max {max(ratios):.2f}x)")


if __name__ == "__main__":
    main()

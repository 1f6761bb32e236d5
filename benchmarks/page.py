"""Page OCR on page-rendered documents with known lines: crnn's line finding and page CER,
beside Tesseract's full-page mode, in one run.

Pages come from ``crnn synth pages --keep-pages DIR`` (a PNG and a JSON of its lines, box
and text, per page); made here when ``--pages`` is not given. Figures:

- line recall / precision: a found line box matches a true one at IoU >= 0.5;
- page CER: edit distance between the page's text in reading order and the truth (NFKC,
  whitespace removed) over the truth length; needs a trained ``--model`` for crnn;
- seconds per page.

    python benchmarks/page.py [--pages DIR] [--count 8] [--model best.pt] [--rotate]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def recall_precision(found: list, truth: list) -> tuple[int, int, int, int]:
    hit_t = sum(any(iou(f, t) >= 0.5 for f in found) for t in truth)
    hit_f = sum(any(iou(f, t) >= 0.5 for t in truth) for f in found)
    return hit_t, len(truth), hit_f, len(found)


def load_pages(folder: Path) -> list[tuple[Path, dict]]:
    out = []
    for js in sorted(folder.glob("*.json")):
        rec = json.loads(js.read_text(encoding="utf-8"))
        out.append((js.with_name(rec["image"]), rec))
    return out


def tesseract_page(png: Path, lang: str) -> tuple[list, str]:
    res = subprocess.run(["tesseract", str(png), "stdout", "-l", lang, "--psm", "3", "tsv"],
                         capture_output=True, text=True)
    lines: dict[tuple, list] = {}
    boxes: dict[tuple, tuple] = {}
    for row in res.stdout.splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12:
            continue
        level = int(f[0])
        key = (f[2], f[3], f[4])
        x, y, w, h = (int(v) for v in f[6:10])
        if level == 4:
            boxes[key] = (x, y, x + w, y + h)
        elif level == 5 and f[11].strip():
            lines.setdefault(key, []).append(f[11])
    text = "".join("".join(lines.get(k, [])) for k in boxes)
    return [b for k, b in boxes.items() if k in lines], text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", help="a --keep-pages folder of crnn synth pages")
    ap.add_argument("--count", type=int, default=8, help="pages to render if no --pages")
    ap.add_argument("--model", help="trained crnn checkpoint (page CER needs one)")
    ap.add_argument("--rotate", action="store_true",
                    help="also turn every page by 90/180/270 degrees and a 3-degree skew")
    ap.add_argument("--no-tesseract", action="store_true")
    args = ap.parse_args()

    from crnn.ocr import read_page
    from crnn.ocr.page import analyze
    from crnn.recognizer import Recognizer

    tmp = Path(tempfile.mkdtemp())
    try:
        folder = Path(args.pages) if args.pages else tmp / "pages"
        if not args.pages:
            from crnn.data.synth.pages import render_pages

            render_pages(tmp / "val.lmdb", args.count, seed=11, keep_pages=folder)
        pages = load_pages(folder)
        rec = Recognizer.load(args.model, device="cpu") if args.model else None
        tess = shutil.which("tesseract") and not args.no_tesseract
        langs = ""
        if tess:
            have = subprocess.run(["tesseract", "--list-langs"], capture_output=True,
                                  text=True).stdout.split()
            langs = "+".join(x for x in ("chi_sim", "eng") if x in have) or "eng"
        rows = {"crnn layout": [0, 0, 0, 0, 0.0, 0, 0, 0.0]}
        if tess:
            rows[f"Tesseract psm 3 ({langs})"] = [0, 0, 0, 0, 0.0, 0, 0, 0.0]
        variants = [(0, 0.0)] + ([(90, 0.0), (180, 0.0), (270, 0.0), (0, 3.0)]
                                 if args.rotate else [])
        orient_ok = orient_n = 0
        for png, truth in pages:
            tboxes = [ln["box"] for ln in truth["lines"]]
            ttext = norm("".join(ln["text"] for ln in truth["lines"]))
            grey = np.asarray(Image.open(png).convert("L"))
            t0 = time.perf_counter()
            layout = analyze(grey)
            r = rows["crnn layout"]
            found = [layout.original_box(ln.box, grey.shape[1], grey.shape[0])
                     for block in layout.blocks for ln in block]
            for i, v in enumerate(recall_precision(found, tboxes)):
                r[i] += v
            if rec is not None:
                page = read_page(grey, rec)
                r[5] += Levenshtein.distance(norm(page.text.replace("\n", "")), ttext)
                r[6] += len(ttext)
            r[7] += time.perf_counter() - t0
            if tess:
                t0 = time.perf_counter()
                tb, text = tesseract_page(png, langs)
                r = rows[f"Tesseract psm 3 ({langs})"]
                for i, v in enumerate(recall_precision(tb, tboxes)):
                    r[i] += v
                r[5] += Levenshtein.distance(norm(text), ttext)
                r[6] += len(ttext)
                r[7] += time.perf_counter() - t0
            if rec is not None:
                from crnn.ocr.layout import rotate

                for turn, skew in variants[1:]:
                    img = np.ascontiguousarray(np.rot90(grey, k=turn // 90))
                    if skew:
                        img, _ = rotate(img, skew)
                    page = read_page(img, rec)
                    want = (360 - turn) % 360 if turn else 0
                    orient_n += 1
                    orient_ok += page.rotation == want
        n = len(pages)
        print(f"{n} pages from {folder}")
        print(f"{'method':34} {'line recall':>11} {'precision':>9} {'page CER':>9} "
              f"{'s/page':>7}")
        for name, r in rows.items():
            cer = f"{r[5] / r[6]:.4f}" if r[6] else "pending"
            print(f"{name:34} {r[0] / max(1, r[1]):11.4f} {r[2] / max(1, r[3]):9.4f} "
                  f"{cer:>9} {r[7] / max(1, n):7.2f}")
        if orient_n:
            print(f"orientation (90/180/270, 3 deg skew) right on {orient_ok}/{orient_n}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Page OCR on page-rendered documents with known lines: crnn's page reader beside
Tesseract's full-page mode and RapidOCR's detector + recognizer, on the same pages in one
run.

Pages come from ``crnn synth pages --keep-pages DIR`` (a PNG and a JSON of its lines, box,
polygon and text, per page); made here when ``--pages`` is not given. Figures, per method
and page condition (upright clean, upright scan-degraded, and with ``--rotate`` each page
once more turned by 90/180/270 degrees or skewed 3 degrees, in turn):

- line recall / precision: a found line box matches a true one at IoU >= 0.5 (true boxes
  are carried through the same turn or skew);
- page CER: edit distance between the page's text in the method's own reading order and
  the truth in the document's reading order (NFKC, whitespace removed), summed over
  pages, over the truth length. The truth order is the one the page was written in
  (``order`` in the page JSON: columns in flow order, tables row by row; pages made
  before that field existed fall back to ``pdftotext``'s order), so reading-order
  mistakes count as errors;
- line CER: order-free. Each found line goes to the true line its box overlaps most (at
  least half of the found box); the found lines of one true line are joined left to
  right and compared with it; true lines with no found line count as deleted, found
  lines on no true line as inserted;
- seconds per page, wall clock, one page at a time.

    python benchmarks/page.py [--pages DIR] [--count 8] [--model default] [--rotate]

With ``--pages`` a folder in the dev format (``index.tsv`` + ``gt/<page>.txt``, as
``../shared/dev/pages``: pages made by another pipeline, clean, scanned, turned and
photographed), the scores are those of ``benchmarks/dev_pages.py`` instead: page CER,
line recall and junk lines (output lines matching no true line), per variant and over
all pages, plus seconds per page; each method gets the page image as stored (colour).

    python benchmarks/page.py --pages ../shared/dev/pages

crnn reads with the bundled model unless ``--model`` names another; ``--model none``
measures line finding only. Tesseract (Debian ``tesseract-ocr`` with ``chi_sim``) and
RapidOCR (PyPI ``rapidocr`` 3.10: PP-OCRv6 small det + cls + rec) are installed by
``make bench-deps``; a missing peer is skipped with a message.
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

Box = tuple[float, float, float, float]
# a method reads one page: (grey page) -> (line boxes, their texts (None when it only
# finds lines), page text in reading order)
Method = Callable[[np.ndarray], tuple[list[Box], list[str] | None, str]]


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def recall_precision(found: list[Box], truth: list[Box]) -> tuple[int, int, int, int]:
    hit_t = sum(any(iou(f, t) >= 0.5 for f in found) for t in truth)
    hit_f = sum(any(iou(f, t) >= 0.5 for t in truth) for f in found)
    return hit_t, len(truth), hit_f, len(found)


def line_edits(found: list[Box], texts: list[str], truth: list[Box], want: list[str]
               ) -> int:
    """Order-free edit count: found lines assigned to the true line they overlap most."""
    groups: dict[int, list[tuple[float, str]]] = {}
    edits = 0
    for box, text in zip(found, texts, strict=True):
        area = max(1e-9, (box[2] - box[0]) * (box[3] - box[1]))
        best, best_frac = -1, 0.5
        for j, t in enumerate(truth):
            ix = max(0.0, min(box[2], t[2]) - max(box[0], t[0]))
            iy = max(0.0, min(box[3], t[3]) - max(box[1], t[1]))
            if ix * iy / area >= best_frac:
                best, best_frac = j, ix * iy / area
        if best < 0:
            edits += len(norm(text))  # inserted
        else:
            groups.setdefault(best, []).append((box[0], text))
    for j, w in enumerate(want):
        got = "".join(t for _, t in sorted(groups.get(j, [])))
        edits += Levenshtein.distance(norm(got), norm(w))
    return edits


def load_pages(folder: Path) -> list[tuple[Path, dict]]:
    out = []
    for js in sorted(folder.glob("*.json")):
        rec = json.loads(js.read_text(encoding="utf-8"))
        out.append((js.with_name(rec["image"]), rec))
    if not out:
        raise SystemExit(f"{folder}: no page JSON files; make them with "
                         "crnn synth pages --keep-pages DIR")
    return out


def transform(grey: np.ndarray, polys: list[list], variant: str) -> tuple[np.ndarray,
                                                                          list[Box]]:
    """The page turned or skewed as ``variant`` says, and its true line boxes moved along
    (the bounding box of each moved polygon)."""
    from crnn.ocr.layout import rotate

    h, w = grey.shape
    if variant.startswith("turned"):
        k = int(variant.split()[1]) // 90  # counter-clockwise quarter turns, as np.rot90
        img = np.ascontiguousarray(np.rot90(grey, k))
        # original (x, y) -> rotated: k=1 (y, w-x), k=2 (w-x, h-y), k=3 (h-y, x)
        maps = {1: lambda x, y: (y, w - x), 2: lambda x, y: (w - x, h - y),
                3: lambda x, y: (h - y, x)}
        f = maps[k]
    elif variant.startswith("skewed"):
        img, m = rotate(grey, float(variant.split()[1]))

        def f(x, y):
            return (m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2])
    else:
        return grey, [_bbox(p) for p in polys]
    return img, [_bbox([f(x, y) for x, y in p]) for p in polys]


def _bbox(pts) -> Box:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def crnn_method(model: str | None, fuse_lm: bool | None = None) -> tuple[str, Method]:
    from crnn.ocr import read_page
    from crnn.ocr.page import analyze

    if model is None:
        def layout_only(grey: np.ndarray) -> tuple[list[Box], None, str]:
            lay = analyze(grey)
            h, w = grey.shape[:2]
            return [lay.original_box(ln.box, w, h) for b in lay.blocks for ln in b], None, ""

        return "crnn (line finding only)", layout_only
    from crnn.recognizer import Recognizer, resolve_model_path

    rec = Recognizer.load(model, device="cpu", fuse_lm=fuse_lm)

    def read(grey: np.ndarray) -> tuple[list[Box], list[str], str]:
        page = read_page(grey, rec)
        return [ln.box for ln in page.lines], [ln.text for ln in page.lines], page.text

    lm = " --no-fuse-lm" if fuse_lm is False else ""
    return f"crnn ocr{lm} ({resolve_model_path(model).name})", read


def tesseract_method(tmp: Path) -> tuple[str, Method] | None:
    if not shutil.which("tesseract"):
        print("tesseract not installed (make bench-deps): row skipped", file=sys.stderr)
        return None
    have = subprocess.run(["tesseract", "--list-langs"], capture_output=True,
                          text=True).stdout.split()
    langs = "+".join(x for x in ("chi_sim", "eng") if x in have) or "eng"
    # psm 1: automatic page segmentation with orientation detection, when osd is there
    psm = "1" if "osd" in have else "3"

    def read(grey: np.ndarray) -> tuple[list[Box], list[str], str]:
        png = tmp / "tess.png"
        Image.fromarray(grey).save(png)
        res = subprocess.run(["tesseract", str(png), "stdout", "-l", langs, "--psm", psm,
                              "tsv"], capture_output=True, text=True)
        words: dict[tuple, list[str]] = {}
        boxes: dict[tuple, Box] = {}
        for row in res.stdout.splitlines()[1:]:
            f = row.split("\t")
            if len(f) < 12:
                continue
            key = (f[1], f[2], f[3], f[4])
            x, y, bw, bh = (int(v) for v in f[6:10])
            if f[0] == "4":
                boxes[key] = (x, y, x + bw, y + bh)
            elif f[0] == "5" and f[11].strip():
                words.setdefault(key, []).append(f[11])
        keys = [k for k in boxes if k in words]
        texts = [" ".join(words[k]) for k in keys]
        return [boxes[k] for k in keys], texts, "".join(texts)

    return f"Tesseract psm {psm} ({langs})", read


def rapidocr_method() -> tuple[str, Method] | None:
    try:
        from rapidocr import RapidOCR
    except ImportError:
        print("rapidocr not installed (make bench-deps): row skipped", file=sys.stderr)
        return None
    engine = RapidOCR(params={"Global.log_level": "error"})

    def read(grey: np.ndarray) -> tuple[list[Box], list[str], str]:
        # RapidOCR takes OpenCV's BGR order
        res = engine(np.repeat(grey[:, :, None], 3, 2) if grey.ndim == 2
                     else np.ascontiguousarray(grey[:, :, ::-1]))
        if res.boxes is None or res.txts is None:
            return [], [], ""
        boxes = [_bbox(q) for q in np.asarray(res.boxes).tolist()]
        return boxes, list(res.txts), "".join(res.txts)

    return "RapidOCR 3.10 (PP-OCRv6 small det+cls+rec)", read


def dev_main(folder: Path, methods: list[tuple[str, Method]]) -> None:
    """Pages in the dev format: page CER, line recall, junk lines, s/page per variant."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dev_pages import load_dev_pages, score_page, total

    pages = load_dev_pages(folder)
    variants = sorted({p.variant for p in pages},
                      key=lambda v: (["clean", "scan", "rot", "photo"] + [v]).index(v))
    scores: dict[tuple[str, str], list] = {}
    seconds: dict[tuple[str, str], float] = {}
    for p in pages:
        img = np.asarray(Image.open(p.image).convert("RGB"))
        for name, read in methods:
            t0 = time.perf_counter()
            _, texts, _ = read(img)
            seconds[(name, p.variant)] = (seconds.get((name, p.variant), 0.0)
                                          + time.perf_counter() - t0)
            scores.setdefault((name, p.variant), []).append(score_page(p.lines, texts or []))
    print(f"{len(pages)} pages from {folder}")
    print("| method | pages | n | page CER | line recall | junk lines | s/page |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _ in methods:
        rows = [(v, scores[(name, v)], seconds[(name, v)]) for v in variants]
        rows.append(("all", [s for _, ss, _ in rows for s in ss], sum(t for *_, t in rows)))
        for v, ss, sec in rows:
            t = total(ss)
            print(f"| {name} | {v} | {len(ss)} | {t.cer:.4f} | {t.recall:.3f} | {t.junk} of "
                  f"{t.output_lines} ({100 * t.junk_share:.1f}%) | {sec / len(ss):.2f} |")
    for name, _ in methods:
        junk = total([s for (n, _), ss in scores.items() if n == name for s in ss])
        if junk.junk_examples:
            print(f"{name}: junk lines, e.g. " + " | ".join(junk.junk_examples[:8]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", help="a --keep-pages folder of crnn synth pages")
    ap.add_argument("--count", type=int, default=8, help="pages to render if no --pages")
    ap.add_argument("--model", default="default",
                    help="crnn checkpoint or ONNX file (default: the bundled model; "
                         "'none' for line finding only)")
    ap.add_argument("--rotate", action="store_true",
                    help="also read each page turned 90/180/270 degrees or skewed 3 "
                         "degrees (one of these per page, in turn)")
    ap.add_argument("--no-peers", action="store_true", help="crnn only")
    ap.add_argument("--no-fuse-lm", action="store_true",
                    help="also crnn by the best path alone (without its own language "
                         "model on unsure lines)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp())
    try:
        folder = Path(args.pages) if args.pages else tmp / "pages"
        if (folder / "index.tsv").is_file():
            methods = [crnn_method(None if args.model == "none" else args.model)]
            if args.no_fuse_lm and args.model != "none":
                methods.append(crnn_method(args.model, fuse_lm=False))
            if not args.no_peers:
                methods += [m for m in (tesseract_method(tmp), rapidocr_method()) if m]
            dev_main(folder, methods)
            return
        if not args.pages:
            from crnn.synth.pages import render_pages

            render_pages(tmp / "val.lmdb", args.count, seed=11, keep_pages=folder)
        pages = load_pages(folder)
        methods = [crnn_method(None if args.model == "none" else args.model)]
        if not args.no_peers:
            methods += [m for m in (tesseract_method(tmp), rapidocr_method()) if m]
        extra = ["turned 90", "turned 180", "turned 270", "skewed 3"]
        # per (method, condition): hit truth, truth, hit found, found, edits, chars, s,
        # pages, order-free line edits
        table: dict[tuple[str, str], list[float]] = {}
        for i, (png, truth) in enumerate(pages):
            grey0 = np.asarray(Image.open(png).convert("L"))
            polys = [ln.get("poly") or [(ln["box"][0], ln["box"][1]),
                                        (ln["box"][2], ln["box"][3])]
                     for ln in truth["lines"]]
            want_lines = [ln["text"] for ln in truth["lines"]]
            # the page's text in reading order: the pages' "order" field (document order:
            # columns in flow order, tables row by row); pdftotext's order without it
            in_order = sorted(truth["lines"], key=lambda ln: ln.get("order", 0))
            want = norm("".join(ln["text"] for ln in in_order))
            cond0 = "upright, scan-degraded" if truth.get("degrade") else "upright, clean"
            variants = [cond0] + ([extra[i % len(extra)]] if args.rotate else [])
            for variant in variants:
                grey, tboxes = transform(grey0, polys, variant)
                cond = variant if variant.startswith("upright") else variant.split()[0]
                for name, read in methods:
                    t0 = time.perf_counter()
                    found, texts, text = read(grey)
                    dt = time.perf_counter() - t0
                    r = table.setdefault((name, cond), [0.0] * 9)
                    for j, v in enumerate(recall_precision(found, tboxes)):
                        r[j] += v
                    if texts is not None:
                        r[4] += Levenshtein.distance(norm(text), want)
                        r[5] += len(want)
                        r[8] += line_edits(found, texts, tboxes, want_lines)
                    r[6] += dt
                    r[7] += 1
        print(f"{len(pages)} pages from {folder}"
              + (" (+1 turned or skewed copy each)" if args.rotate else ""))
        print(f"{'method':44} {'pages':>24} {'n':>3} {'recall':>7} {'precision':>9} "
              f"{'page CER':>8} {'line CER':>8} {'s/page':>7}")
        order = ["upright, clean", "upright, scan-degraded", "turned", "skewed"]
        for name, _ in methods:
            for cond in order:
                r = table.get((name, cond))
                if not r:
                    continue
                cer = f"{r[4] / r[5]:.4f}" if r[5] else "-"
                lcer = f"{r[8] / r[5]:.4f}" if r[5] else "-"
                print(f"{name:44} {cond:>24} {int(r[7]):3d} {r[0] / max(1, r[1]):7.4f} "
                      f"{r[2] / max(1, r[3]):9.4f} {cer:>8} {lcer:>8} {r[6] / r[7]:7.2f}")
            rs = [table[(name, c)] for c in order if (name, c) in table]
            tot = [sum(x) for x in zip(*rs, strict=True)]
            cer = f"{tot[4] / tot[5]:.4f}" if tot[5] else "-"
            lcer = f"{tot[8] / tot[5]:.4f}" if tot[5] else "-"
            print(f"{name:44} {'all':>24} {int(tot[7]):3d} {tot[0] / max(1, tot[1]):7.4f} "
                  f"{tot[2] / max(1, tot[3]):9.4f} {cer:>8} {lcer:>8} {tot[6] / tot[7]:7.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

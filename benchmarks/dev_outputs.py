"""Every output of a model on the dev set, for checking that a change keeps behaviour:

    python benchmarks/dev_outputs.py --out before.json        # on the old tree
    python benchmarks/dev_outputs.py --out after.json         # on the new tree
    cmp before.json after.json

Writes, as JSON, the text ``Recognizer.load(--model)`` reads for every line image of
``printed_zh`` and ``printed_en`` and the lines ``read_page`` reads on every page of
``pages`` (in ``--dev``, default ``../shared/dev``), and the backend it ran on. Two trees
that read the same text byte for byte write identical files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the JSON file to write")
    ap.add_argument("--dev", default=str(Path(__file__).resolve().parents[1].parent / "shared"
                                         / "dev"))
    ap.add_argument("--model", default="default")
    args = ap.parse_args()

    from crnn.ocr.page import load_pages, read_page
    from crnn.recognizer import Recognizer

    dev = Path(args.dev)
    rec = Recognizer.load(args.model)
    out: dict = {"backend": rec.backend}
    for name in ("printed_zh", "printed_en"):
        files = sorted(p for p in (dev / name).iterdir() if p.suffix in (".png", ".jpg"))
        for f, r in zip(files, rec.recognize(files), strict=True):
            out[f"{name}/{f.name}"] = r.text
    for img in sorted((dev / "pages" / "images").iterdir()):
        page = read_page(next(load_pages(img)), rec)
        out[f"pages/{img.name}"] = [ln.text for ln in page.lines]
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"{len(out) - 1} outputs ({rec.backend}) written to {args.out}")


if __name__ == "__main__":
    main()

"""Pack training-page lines small enough to carry to the GPU machine:

    python tools/gpu/pack_pages.py --data build/v12/pages_train.lmdb \
        build/v13/pages_train.lmdb --mb 15 --out .gpu/pages.lmdb

The machine has no LibreOffice, so lines of training pages (``crnn synth pages --text``,
docs/pages.md) are rendered here and travel in ``.gpu/``. Each line is stored as the
model sees it: resized to the model's 32 px height by ``scale_line``, in 16 grey levels
as a 4-bit PNG (about 1.8 KB a line, against about 4 KB for 8-bit grey at 32 px and
13 KB as rendered). The lines are shuffled (``--seed``) and written until the
next would pass ``--mb``; ``--all`` writes every line regardless (a validation set).
"""

from __future__ import annotations

import argparse
import io
import random
import sys

import numpy as np
from PIL import Image

from crnn.data.dataset import open_sources
from crnn.data.images import Preprocess, decode_image, scale_line
from crnn.data.lmdb import LmdbWriter
from crnn.errors import CrnnError

LEVELS = 16
PALETTE = [v * 255 // (LEVELS - 1) for v in range(LEVELS) for _ in range(3)]


def pack(img: np.ndarray) -> bytes:
    """A grey line -> 4-bit PNG bytes of it as the model reads it (``scale_line`` with the
    default preprocessing: 32 px high), in ``LEVELS`` grey levels."""
    img = scale_line(img, Preprocess())
    q = np.rint(img.astype(np.float32) * ((LEVELS - 1) / 255.0)).astype(np.uint8)
    im = Image.fromarray(q, "P")
    im.putpalette(PALETTE)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True, bits=4)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True, help="page-line LMDBs to pack")
    ap.add_argument("--out", required=True, help="the LMDB to write")
    ap.add_argument("--mb", type=float, default=15.0, help="most image bytes, in MB (1e6)")
    ap.add_argument("--all", action="store_true", help="every line, whatever the size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
    try:
        src = open_sources(args.data)
        order = list(range(len(src)))
        random.Random(args.seed).shuffle(order)
        size, bad = 0, 0
        with LmdbWriter(args.out, overwrite=args.overwrite) as w:
            for i in order:
                data, label, name = src.raw(i)
                try:
                    png = pack(decode_image(data, 1, name))
                except CrnnError as exc:
                    print(f"skipped {exc}", file=sys.stderr)
                    bad += 1
                    continue
                if not args.all and size + len(png) > args.mb * 1e6:
                    break
                w.add(png, label)
                size += len(png)
            n = w.count
    except CrnnError as exc:
        sys.exit(str(exc))
    print(f"{args.out}: {n:,} of {len(src):,} lines, {size / 1e6:.1f} MB of images "
          f"({size / max(n, 1) / 1e3:.2f} KB a line){f', {bad} undecodable' if bad else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

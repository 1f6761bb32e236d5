"""An own validation set of slanted lines, as a page scanned askew is cut into lines.

Each line of a source LMDB is padded with its own background, turned by 0.2-1.6 degrees
either way (OpenCV, bilinear), and cut again at its ink box (Otsu's level; rows with two
or more ink pixels) plus 2-8 px on each side; every other line is then degraded as a
scan (:func:`crnn.data.augment.scan_degrade`). The draws depend on ``--seed`` and the
line's index alone, so the set is made again byte for byte. The bundled model's deskew
(``crnn.reading.straighten``) was chosen on sets made so from ``val_heldout``,
``val_prose`` and ``val_en`` (``docs/models.md``):

    python tools/tilted_set.py --src build/v16/val_heldout.lmdb \\
        --out build/s42/val_tilt.lmdb --seed 42
"""

from __future__ import annotations

import argparse
import random

import cv2
import numpy as np

from crnn.data.augment import scan_degrade
from crnn.data.lmdb import LmdbReader, LmdbWriter


def tilt_line(img: np.ndarray, rng: random.Random, degrade: bool) -> np.ndarray | None:
    """``img`` (grey uint8) turned and cut again as described above; None when no ink
    is left to cut at."""
    h, w = img.shape
    ground = int(np.median(np.concatenate([img[0], img[-1]])))
    pad = int(0.03 * w) + 10
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=ground)
    angle = rng.uniform(0.2, 1.6) * rng.choice((-1, 1))
    turn = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), angle, 1.0)
    turned = cv2.warpAffine(big, turn, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR,
                            borderValue=ground)
    level, _ = cv2.threshold(turned, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = turned <= level
    rows = np.flatnonzero(ink.sum(axis=1) >= 2)
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom, left, right = (rng.randint(2, 8) for _ in range(4))
    out = turned[max(0, rows[0] - top):rows[-1] + 1 + bottom,
                 max(0, cols[0] - left):cols[-1] + 1 + right]
    return scan_degrade(out, rng) if degrade else out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", required=True, help="LMDB of line images")
    ap.add_argument("--out", required=True, help="LMDB to write (refused if it exists)")
    ap.add_argument("--seed", default="42")
    args = ap.parse_args(argv)
    src = LmdbReader(args.src)
    kept = 0
    with LmdbWriter(args.out) as out:
        for i in range(len(src)):
            data, label = src.get(i)
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
            line = tilt_line(img, random.Random(f"tilt/{args.seed}/{i}"), degrade=i % 2 == 1)
            if line is None:
                continue
            out.add(cv2.imencode(".png", line)[1].tobytes(), label)
            kept += 1
    print(f"wrote {args.out}: {kept} of {len(src)} lines turned")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A contact sheet of random synthetic samples with their labels, to check by eye that
each picture shows what its label says.

    python benchmarks/synth_sheet.py --charset zh --count 40 --out build/synth_sheet.png
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from crnn.synth import SynthDataset
from crnn.synth.config import load_synth_config

LABEL_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _label_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for f in LABEL_FONTS:
        if Path(f).is_file():
            return ImageFont.truetype(f, size, index=2 if f.endswith("CJK-Regular.ttc") else 0)
    return ImageFont.load_default()


def make_sheet(ds: SynthDataset, indices: list[int], scale: float = 1.5, columns: int = 2,
               col_width: int = 760) -> Image.Image:
    """Tiles: the sample (scaled) above its label, font and size."""
    font = _label_font(15)
    tiles = []
    for i in indices:
        s = ds.render(i)
        img = Image.fromarray(s.image)
        w, h = img.size
        f = min(scale, col_width / w)
        img = img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.BICUBIC)
        tile = Image.new("L", (col_width, img.height + 40), 255)
        tile.paste(img, (0, 0))
        d = ImageDraw.Draw(tile)
        d.text((2, img.height + 2), f"[{i}] {s.label}", fill=0, font=font)
        d.text((2, img.height + 21), f"{s.font.name} {s.font_size}px {w}x{h} {s.source}",
               fill=110, font=font)
        tiles.append(tile)
    rows = -(-len(tiles) // columns)
    heights = [max(t.height for t in tiles[r * columns:(r + 1) * columns]) for r in range(rows)]
    sheet = Image.new("L", (columns * (col_width + 10), sum(heights) + 4 * rows), 200)
    y = 0
    for r in range(rows):
        for c, t in enumerate(tiles[r * columns:(r + 1) * columns]):
            sheet.paste(t, (c * (col_width + 10), y))
        y += heights[r] + 4
    return sheet


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--charset", default="zh")
    p.add_argument("--count", type=int, default=40, help="samples on the sheet")
    p.add_argument("--pool", type=int, default=100000, help="dataset size to draw from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default=None, help="e.g. 280x32")
    p.add_argument("--config", default=None)
    p.add_argument("--scale", type=float, default=1.5, help="zoom of each sample")
    p.add_argument("--columns", type=int, default=2)
    p.add_argument("--out", default="build/synth_sheet.png")
    args = p.parse_args(argv)
    ds = SynthDataset(args.charset, args.pool, seed=args.seed,
                      config=load_synth_config(args.config) if args.config else None,
                      size=args.size)
    indices = sorted(random.Random(args.seed).sample(range(args.pool), args.count))
    sheet = make_sheet(ds, indices, args.scale, args.columns)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"wrote {out} ({sheet.width}x{sheet.height}, {len(indices)} samples)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

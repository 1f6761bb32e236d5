"""``crnn synth pages`` on the command line."""

from __future__ import annotations

import argparse
import os
import sys

from ...errors import ConfigError, CrnnError
from .build import render_pages
from .style import _INSTALL_HINT, _PROG, CROPS, FONT_SETS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Lay out whole documents (admission letters, notices, forms, tables,\n"
                    "two-column pages) with LibreOffice, rasterise them with pdftoppm, and cut\n"
                    "the text lines whose text matches the source into a validation dataset\n"
                    "(or, with --text, a training set of the same layouts with other text).",
        epilog="examples:\n"
               "  crnn synth pages --out val_pages.lmdb --pages 20\n"
               "  crnn synth pages --out val_pages.lmdb --pages 200 --dpi 150,200,300 "
               "--degrade 0.5 --workers 4 --keep-pages pages/\n"
               "  crnn synth pages --out crops/ --pages 5 --format folder --overwrite\n"
               "  crnn synth pages --out train_pages.lmdb --pages 500 --text corpus.txt\n"
               f"needs: {_INSTALL_HINT} and Chinese fonts (fonts-noto-cjk ...)")
    p.add_argument("--out", required=True, help="output LMDB directory (or folder)")
    p.add_argument("--pages", type=int, default=20, help="pages to render (default 20)")
    p.add_argument("--dpi", default="150,200,300",
                   help="comma-separated resolutions, one drawn per document (default "
                        "150,200,300)")
    p.add_argument("--degrade", type=float, default=0.5,
                   help="share of documents whose pages get a mild scan degradation "
                        "(skew, blur, noise, JPEG); default 0.5")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--keep-pages", metavar="DIR",
                   help="also keep each page PNG and a JSON of its lines here")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="parallel LibreOffice/poppler jobs (default: CPUs, at most 4)")
    p.add_argument("--format", dest="fmt", default="lmdb", choices=("lmdb", "folder"),
                   help="lmdb (default) or folder: crops/NNNNNN.png + labels.tsv")
    p.add_argument("--text", metavar="FILE",
                   help="UTF-8 text, one line per line: keep the documents' layout but fill "
                        "their paragraphs and cells with these lines (training pages whose "
                        "wording is not the validation pages')")
    p.add_argument("--fonts", default="all", choices=FONT_SETS,
                   help="font families: all (default), train (all but the held-out ones) "
                        "or heldout (only those, for an unseen-font validation set)")
    p.add_argument("--crop", default="box", choices=CROPS,
                   help="line cuts: box (default: the text box plus a share of its height), "
                        "ink (the ink plus 2-8 px, as page line finders cut) or mixed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _parse_dpis(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError as exc:
        raise ConfigError(f"--dpi takes comma-separated integers like 150,200,300, not "
                          f"{text!r}") from exc


def main(argv: list[str] | None = None) -> int:
    """Run ``crnn synth pages``; returns the exit status (2 on a usage or data error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:       # --help (0) or an argparse usage error (2)
        return int(exc.code or 0)
    try:
        stats = render_pages(args.out, args.pages, _parse_dpis(args.dpi), seed=args.seed,
                             degrade=args.degrade, keep_pages=args.keep_pages,
                             workers=args.workers, fmt=args.fmt, overwrite=args.overwrite,
                             progress=not args.quiet and sys.stderr.isatty(), text=args.text,
                             fonts=args.fonts, crop=args.crop)
    except (CrnnError, OSError) as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {stats['lines']} lines from {stats['pages']} pages to {args.out} "
          f"({stats['rejected']} lines rejected, {stats['degraded_pages']} pages degraded, "
          f"{len(stats['skipped'])} document(s) skipped, "
          f"{stats['seconds']:.1f} s, {stats['pages_per_minute']:.1f} pages/min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

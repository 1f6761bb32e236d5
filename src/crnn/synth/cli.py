"""``crnn synth``: render synthetic text-line datasets, list usable fonts, write the line
generator's text (``text``), or (``pages``) build page-rendered sets.

The root command calls :func:`main` with everything after ``crnn synth``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from ..data.outputs import check_out
from ..errors import CrnnError, DatasetError

__all__ = ["main", "build_parser", "build_fonts_parser", "build_text_parser"]

_GEN_EXAMPLES = """\
examples:
  crnn synth --charset zh --count 20000 --out synth.lmdb
  crnn synth --charset ascii --count 5000 --size 280x32 --out en/ --format folder
  crnn synth --charset digits --count 1000 --seed 7 --workers 2 --out digits.lmdb
  crnn synth --charset zh --text my_lines.txt --fonts ~/fonts --config synth.yaml --out x.lmdb
  crnn synth fonts --charset zh          # which fonts can draw the charset
  crnn synth pages --help                # page-rendered validation sets
  crnn synth text --count 200000 --out corpus.txt   # the generator's text, no images

Settings (fonts, colours, backgrounds, degradations, text sources) live in
crnn/synth/default.yaml; --config FILE overrides any of its keys.
"""

_TEXT_EXAMPLES = """\
examples:
  crnn synth text --count 200000 --out corpus.txt
  crnn lm build --text corpus.txt --order 5 --out lm.bin          # a language model of it
  crnn synth pages --pages 500 --text corpus.txt --out train_pages.lmdb   # typeset pages
"""

_FONTS_EXAMPLES = """\
examples:
  crnn synth fonts --charset zh
  crnn synth fonts --charset ascii --fonts ~/fonts/MyFont.ttf --no-system-fonts
  crnn synth fonts --charset zh-large --all
"""


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _add_font_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--charset", default="zh",
                   help="digits, ascii, zh, zh-large, big5, a charset file, or chars:... "
                        "(default: zh)")
    p.add_argument("--fonts", nargs="+", action="extend", default=[], metavar="DIR_OR_FILE",
                   help="extra font files or folders (.ttf .otf .ttc .otc), added to the "
                        "system fonts")
    p.add_argument("--no-system-fonts", action="store_true",
                   help="use only the fonts given with --fonts")


def _add_text_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML file overriding crnn/synth/default.yaml")
    p.add_argument("--text", metavar="FILE",
                   help="UTF-8 file whose lines become a text source (text.file_fraction)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crnn synth",
        description="Render printed text lines (Chinese, English, document fields) into a "
                    "training dataset: an LMDB or images + a tab-separated label file. "
                    "Subcommands: 'crnn synth fonts' lists usable fonts; 'crnn synth text' "
                    "writes the generator's text; 'crnn synth pages' builds page-rendered "
                    "sets.",
        epilog=_GEN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True,
                   help="output: DIR.lmdb, or a folder (ends with / or --format folder)")
    p.add_argument("--count", type=int, required=True, help="number of lines")
    _add_font_args(p)
    p.add_argument("--workers", type=int, default=_default_workers(),
                   help="rendering processes (default: all CPUs); output is identical "
                        "for any number")
    p.add_argument("--seed", type=int, default=0, help="sample i depends only on (seed, i)")
    _add_text_args(p)
    p.add_argument("--size", help="fixed WIDTHxHEIGHT such as 280x32, or a height; default: "
                                  "output.height (32) at the text's natural width")
    p.add_argument("--format", choices=("lmdb", "folder"),
                   help="default: lmdb, or folder when --out ends with /")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--report", metavar="FILE.json",
                   help="write per-character counts and coverage statistics here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def build_fonts_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crnn synth fonts",
        description="List the fonts crnn synth would use for a charset, with how much of "
                    "the charset each covers (read from each font's cmap).",
        epilog=_FONTS_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_font_args(p)
    p.add_argument("--config", help="YAML file overriding crnn/synth/default.yaml")
    p.add_argument("--all", action="store_true",
                   help="also list faces left out (regional variants, excluded families, "
                        "bitmap-only or no coverage)")
    return p


def build_text_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crnn synth text",
        description="Write the lines crnn synth's text generator draws (words, document "
                    "fields, English, numbers; only characters the fonts can draw), one per "
                    "line, without rendering them: a corpus for 'crnn lm build' or for "
                    "'crnn synth pages --text'. The coverage schedule is not applied.",
        epilog=_TEXT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the UTF-8 text file to write")
    p.add_argument("--count", type=int, required=True, help="number of lines")
    _add_font_args(p)
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same lines")
    _add_text_args(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return p


def _cmd_text(args: argparse.Namespace) -> int:
    import random
    import tempfile

    from .config import load_synth_config
    from .synthesizer import build_spec
    from .text import TextSampler

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise DatasetError(f"{out} already exists; remove it or pass --overwrite")
    spec = build_spec(args.charset, args.count, args.seed, load_synth_config(args.config),
                      args.fonts, None, args.text, system_fonts=not args.no_system_fonts)
    sampler = TextSampler(spec.fonts.renderable, spec.config, spec.text_file, None)
    rng = random.Random(f"crnn-synth-text/{args.seed}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for _ in range(args.count):
                f.write(sampler.sample(rng)[0] + "\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the corpus is an ordinary file
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"crnn synth text: {args.count:,} lines, charset {spec.charset.name} "
          f"({len(spec.fonts.renderable):,} renderable characters) -> {out}", file=sys.stderr)
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .config import load_synth_config
    from .generate import generate
    from .synthesizer import build_spec

    fmt = args.format or ("folder" if args.out.endswith(("/", os.sep)) else "lmdb")
    out = check_out(args.out.rstrip("/" + os.sep) or args.out, args.overwrite)
    cfg = load_synth_config(args.config)
    spec = build_spec(args.charset, args.count, args.seed, cfg, args.fonts, args.size,
                      args.text, system_fonts=not args.no_system_fonts)
    workers = max(1, min(args.workers, args.count))
    if workers == 1:
        import cv2

        cv2.setNumThreads(1)  # OpenCV's thread pool only adds overhead on 32-px lines
    print(f"crnn synth: {args.count:,} lines, charset {spec.charset.name} "
          f"({len(spec.fonts.renderable):,} renderable characters), {len(spec.fonts)} font "
          f"faces, {workers} worker(s) -> {out} ({fmt})", file=sys.stderr)
    report = generate(spec, out, fmt, workers, overwrite=args.overwrite,
                      progress=not args.quiet)
    print(report.summary(), file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict(), ensure_ascii=False,
                                                indent=1), encoding="utf-8")
    return 0


def _cmd_fonts(args: argparse.Namespace) -> int:
    from ..charset import Charset
    from .config import load_synth_config
    from .fonts import (
        FontFace,
        FontSet,
        face_codepoints,
        find_font_files,
        install_hint,
        scan_faces,
        select_faces,
    )

    cfg = load_synth_config(args.config).get("fonts")
    charset = Charset.resolve(args.charset)
    files = find_font_files(args.fonts, system=not args.no_system_fonts)
    faces = scan_faces(files, strict=[f for f in args.fonts if Path(f).is_file()])
    kept = select_faces(faces, cfg["exclude"], cfg["regions"])
    fs = FontSet(kept, charset, float(cfg["italic_weight"]))
    total = len([c for c in charset.chars if c not in "\t\n\r"])
    used = {(f.path, f.index): cov for f, cov in zip(fs.faces, fs.covered, strict=True)}
    print(f"fonts for charset {charset.name} ({total:,} characters), "
          f"{len(files)} font files, {len(faces)} faces:")
    print(f"{'covers':>8} {'%':>6}  face (file#index)")
    shown = faces if args.all else [f for f in kept if (f.path, f.index) in used]
    wanted = {ord(c) for c in charset.chars}

    def covers(f: FontFace) -> int:
        cov = used.get((f.path, f.index))
        return len(cov) if cov is not None else len(wanted & face_codepoints(f))

    for f in sorted(shown, key=lambda f: (-covers(f), f.name)):
        cov = used.get((f.path, f.index))
        n = covers(f)
        note = "" if cov is not None else "  [not used: " + (
            "bitmap only" if not f.outlines else "region variant or excluded family"
            if f not in kept else "covers nothing of the charset") + "]"
        print(f"{n:>8,} {100.0 * n / max(total, 1):>5.1f}%  {f.name} ({f.path}#{f.index})"
              f"{note}")
    print(f"renderable: {len(fs.renderable):,} of {total:,} characters "
          f"({100.0 * len(fs.renderable) / max(total, 1):.1f}%) by {len(fs)} faces")
    if fs.missing:
        print(f"no font covers {len(fs.missing):,} characters, e.g. "
              f"{''.join(fs.missing[:40])}")
    hint = install_hint(charset, fs)
    if hint:
        print(f"to cover the charset: {hint}")
    return 0 if len(fs) else 1


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"crnn synth: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run ``crnn synth`` with ``argv`` (the arguments after ``synth``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    saved = warnings.showwarning
    warnings.showwarning = _warning_line
    try:
        if argv and argv[0] == "pages":
            from .pages import main as pages_main

            return pages_main(argv[1:])
        if argv and argv[0] == "fonts":
            return _cmd_fonts(build_fonts_parser().parse_args(argv[1:]))
        if argv and argv[0] == "text":
            return _cmd_text(build_text_parser().parse_args(argv[1:]))
        return _cmd_generate(build_parser().parse_args(argv))
    except CrnnError as exc:
        print(f"crnn synth: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"crnn synth: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crnn synth: interrupted (nothing written)", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = saved

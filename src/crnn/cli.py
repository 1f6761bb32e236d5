"""The ``crnn`` command. Thin: parse arguments, call an engine, print."""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, CrnnError

__all__ = ["main", "build_parser", "Command", "COMMANDS"]

_FORMATTER = argparse.RawDescriptionHelpFormatter


def _int_in(value: str, lo: int, hi: int | None = None) -> int | None:
    """``value`` as an integer in ``lo..hi``, or None."""
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= lo and (hi is None or n <= hi) else None


def _batch_size(value: str) -> int | str:
    n = value if value == "auto" else _int_in(value, 1)
    if n is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give a positive integer or auto")
    return n


def _positive_int(value: str) -> int:
    n = _int_in(value, 1)
    if n is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give a positive integer")
    return n


def _dpi(value: str) -> int:
    from .data.images import MAX_DPI, MIN_DPI

    n = _int_in(value, MIN_DPI, MAX_DPI)
    if n is None:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give a resolution from {MIN_DPI} to {MAX_DPI} dpi (300 reads "
            "printed text well; more only makes pages slower and larger)")
    return n


def _add_max_pixels(sp: argparse.ArgumentParser, what: str) -> None:
    from .data.images import DEFAULT_MAX_PIXELS

    sp.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS,
                    help=f"refuse an {what} of more pixels (width x height), checked before "
                         f"decoding (default {DEFAULT_MAX_PIXELS:,})")


def _warning_line(message, category, filename, lineno, file=None, line=None):
    print(f"crnn: warning: {message}", file=file or sys.stderr)


def _add_decoder_args(sp: argparse.ArgumentParser) -> None:
    g = sp.add_argument_group("decoding (docs/decoders.md)")
    g.add_argument("--decoder", choices=("greedy", "beam", "lexicon"),
                   help="greedy (default), beam search, or the best entry of --lexicon")
    g.add_argument("--beam-width", type=int, default=10)
    g.add_argument("--n-best", type=int, default=1, help="readings to return (beam, lexicon)")
    g.add_argument("--allow", help="only these characters: e.g. '0123456789-' or a named "
                                   "set: digits, date, phone, id, latin, alnum, ascii")
    g.add_argument("--lexicon", help="word/phrase list, one per line (implies --decoder "
                                     "lexicon)")
    g.add_argument("--lm", help="character n-gram model from 'crnn lm build' (beam)")
    g.add_argument("--lm-weight", type=float, default=0.5)
    g.add_argument("--length-bonus", type=float, default=0.0)
    g.add_argument("--fuse-lm", action=argparse.BooleanOptionalAction, default=None,
                   help="search unsure lines again with the model's own language model "
                        "(M.lm.bin beside it) at the weights the model stores. Default: "
                        "when the model has one, as the bundled model does; --fuse-lm: an "
                        "error if it has none; --no-fuse-lm: the best path alone (faster)")


def _decoder_config(args: argparse.Namespace):
    """The decoder the options ask for; None when they ask for none, so the model reads
    as its checkpoint says (best path, or with its own language model)."""
    from .decoding.decoders import DecoderConfig

    if (args.decoder is None and args.lexicon is None and args.lm is None
            and args.allow is None and args.n_best == 1):
        return None
    kind = args.decoder or ("lexicon" if args.lexicon else "beam" if args.lm else "greedy")
    return DecoderConfig(kind=kind, beam_width=args.beam_width, n_best=args.n_best,
                         allow=args.allow, lexicon=args.lexicon, lm=args.lm,
                         lm_weight=args.lm_weight, length_bonus=args.length_bonus)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crnn", formatter_class=_FORMATTER,
        description="CRNN text-line recognition: datasets, training, evaluation, inference.",
        epilog="examples:\n  crnn predict line.png --model runs/demo/best.pt\n"
               "  crnn dataset create --labels train.txt --out train.lmdb\n"
               "  crnn train --train train.lmdb --val val.lmdb --charset ascii\n"
               "  crnn synth --out synth.lmdb --count 10000 --charset zh")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        if cmd.own_main:  # its parser lives with its code (crnn synth --help)
            sub.add_parser(cmd.name, help=cmd.help, add_help=False)
        else:
            assert cmd.arguments is not None
            cmd.arguments(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help,
                                         epilog=cmd.epilog,
                                         formatter_class=_FORMATTER))
    return p


# ---------------------------------------------------------------------------- arguments
def _args_predict(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("inputs", nargs="+", help="image files, directories or glob patterns")
    sp.add_argument("--model", default="default",
                    help="checkpoint path, or 'default' for the bundled model")
    sp.add_argument("--charset", help="alphabet for a plain crnn.pytorch state dict")
    sp.add_argument("--json", action="store_true", help="JSON lines: path, text, confidence")
    sp.add_argument("--char-probs", action="store_true",
                    help="with --json, add each character's probability")
    sp.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    sp.add_argument("--batch-size", type=int, default=64)
    sp.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                    help="auto: onnxruntime on the CPU where onnx and onnxruntime are "
                    "installed (same text, faster; the export is cached), PyTorch otherwise")
    _add_max_pixels(sp, "image")
    _add_decoder_args(sp)


def _args_eval(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--model", default="default")
    sp.add_argument("--data", required=True, nargs="+", help="LMDB directory or label file")
    sp.add_argument("--images-root", help="folder the label file's image paths start from")
    sp.add_argument("--format", default="auto", choices=("auto", "tab", "space", "index"))
    sp.add_argument("--charset", help="charset file for index-style labels / state dicts")
    sp.add_argument("--errors", help="write every wrong sample to this TSV file")
    sp.add_argument("--ignore-space", action="store_true", help="remove whitespace first")
    sp.add_argument("--ignore-case", action="store_true", help="compare case-folded text")
    sp.add_argument("--nfkc", action="store_true",
                    help="apply Unicode NFKC first (full-width -> half-width forms)")
    sp.add_argument("--limit", type=int, help="only the first N samples")
    sp.add_argument("--device", default="auto")
    sp.add_argument("--batch-size", type=int, default=64)
    sp.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    sp.add_argument("--json", action="store_true", help="print the figures as JSON")
    _add_decoder_args(sp)


def _args_train(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--config", help="YAML file of config keys")
    sp.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE", help="override a config key (repeatable)")
    sp.add_argument("--train", nargs="+", help="training LMDB(s) / label file(s)")
    sp.add_argument("--val", nargs="+", help="validation LMDB(s) / label file(s)")
    sp.add_argument("--charset",
                    help="preset (digits, ascii, zh, zh-large, big5), file or chars:...")
    sp.add_argument("--out", help="run directory (checkpoints, logs, resolved config)")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--max-steps", type=int)
    sp.add_argument("--batch-size", type=_batch_size,
                    help="lines per step (per process), or auto: the largest batch whose "
                         "training step fits in GPU memory, less 10%%")
    sp.add_argument("--lr", type=float)
    sp.add_argument("--workers", type=int)
    sp.add_argument("--device")
    sp.add_argument("--init", help="fine-tune from this checkpoint (charset may differ)")
    sp.add_argument("--resume", help="continue a run exactly from its last.pt")
    sp.add_argument("--quiet", action="store_true", help="no progress bar or log lines")


def _args_dataset(sp: argparse.ArgumentParser) -> None:
    dsub = sp.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    dp = dsub.add_parser(
        "create", help="label file + images -> LMDB", formatter_class=_FORMATTER,
        epilog="examples:\n  crnn dataset create --labels train.tsv --images-root imgs "
               "--out train.lmdb\n  crnn dataset create --labels data_train.txt --images-root "
               "images --format index --charset char_std_5990.txt --out train.lmdb")
    dp.add_argument("--labels", required=True, help="label file (tab, space or index style)")
    dp.add_argument("--images-root", help="folder image paths are relative to "
                                          "(default: the label file's folder)")
    dp.add_argument("--out", required=True, help="LMDB directory to write")
    dp.add_argument("--format", default="auto", choices=("auto", "tab", "space", "index"))
    dp.add_argument("--charset", help="check labels against it (required for index style)")
    dp.add_argument("--oov", default="error", choices=("error", "skip-sample", "drop-char"),
                    help="what to do with characters outside --charset")
    dp.add_argument("--no-check-images", action="store_true",
                    help="do not test-decode each image (faster)")
    dp.add_argument("--overwrite", action="store_true")
    for name, helptext in (("info", "counts, label lengths, image sizes"),
                           ("verify", "decode every image and list every bad sample")):
        dp = dsub.add_parser(name, help=helptext, formatter_class=_FORMATTER,
                             epilog=f"example:\n  crnn dataset {name} train.lmdb --charset zh")
        dp.add_argument("path", help="LMDB directory")
        dp.add_argument("--charset", help="report characters outside this charset")
        dp.add_argument("--json", action="store_true")
    dp = dsub.add_parser("export", help="LMDB -> image files + labels.tsv",
                         formatter_class=_FORMATTER,
                         epilog="example:\n  crnn dataset export train.lmdb --out train_files")
    dp.add_argument("path", help="LMDB directory")
    dp.add_argument("--out", required=True, help="folder to create")
    dp.add_argument("--overwrite", action="store_true")


def _args_export(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--model", default="default", help="checkpoint path or 'default'")
    sp.add_argument("--format", default="onnx", choices=("onnx", "fp16"),
                    help="onnx, or fp16: a compact PyTorch checkpoint without training state")
    sp.add_argument("--int8", action="store_true", help="dynamic int8 weight quantization")
    sp.add_argument("--cpu-int8", action=argparse.BooleanOptionalAction, default=None,
                    help="with --format fp16: store that the model runs with int8 recurrent "
                         "and output layers where crnn reads it through onnxruntime (the "
                         "default CPU path); --no-cpu-int8 clears it")
    sp.add_argument("--calibrate", nargs="+", metavar="DATA",
                    help="with --cpu-int8 or --int8: quantize the convolutions too, "
                         "calibrated on lines drawn from these datasets (LMDB, label file "
                         "or folder; lines like those the model will read); --cpu-int8 "
                         "stores the lines in the checkpoint (quantized where it is read, "
                         "8-bit weights on a CPU with VNNI), --int8 writes 7-bit weights "
                         "(right on any CPU)")
    sp.add_argument("--calibrate-lines", type=int, default=128, metavar="N",
                    help="how many lines --calibrate draws, spread evenly over its datasets")
    sp.add_argument("--out", required=True, help="the file to write")
    sp.add_argument("--charset", help="alphabet for a plain crnn.pytorch state dict")
    sp.add_argument("--read-stretch", type=float, metavar="S",
                    help="store this stretch: every line is read this much wider "
                         "(1 = as it is)")
    sp.add_argument("--reread", metavar="S[,S...]",
                    help="store these stretches: an unsure line is read again this much "
                         "wider and its readings vote ('none' = one reading)")
    sp.add_argument("--reread-below", type=float, metavar="C",
                    help="store this confidence: only first readings at most this sure "
                         "are read again")
    sp.add_argument("--reread-scope", choices=("all", "latin"),
                    help="read again every unsure line, or only lines read as mostly Latin")
    sp.add_argument("--read-pad", type=float, metavar="F",
                    help="store this right margin: each line is read padded with its "
                         "background to at least 1+F times its width (docs/models.md gives "
                         "the bundled model's reading policy)")
    sp.add_argument("--ink-margin", metavar="M",
                    help="store this: every line is re-cut at its ink box with M ink "
                         "heights of background on each side before reading, and a line "
                         "read again (--reread) is read as cut ('none': read lines as cut)")
    sp.add_argument("--deskew", type=float, metavar="DEG",
                    help="store this: a line whose text slants by up to DEG degrees is "
                         "turned level and cut again before reading (0 = lines read as cut)")
    sp.add_argument("--blank-penalty", type=float, metavar="B",
                    help="store this: B is taken off the CTC blank's logit in every frame "
                         "before decoding, so thin marks the model rates just below the "
                         "blank are kept (0 = plain best path)")
    sp.add_argument("--lm", metavar="FILE",
                    help="a character language model ('crnn lm build') to copy beside the "
                         "output as OUT.lm.bin: the model's own, fused into the decoding of "
                         "its unsure lines (with --lm-weight)")
    sp.add_argument("--lm-weight", type=float, metavar="A",
                    help="store this: weight of the model's language model in beam search "
                         "(0 = none)")
    sp.add_argument("--lm-bonus", type=float, metavar="B",
                    help="store this: score added per character in that search")
    sp.add_argument("--lm-below", type=float, metavar="C",
                    help="store this confidence: only lines whose best path is at most this "
                         "sure are searched with the language model")
    sp.add_argument("--lm-latin-below", metavar="C",
                    help="store this confidence for lines whose best path reads as mostly "
                         "Latin ('none' = as --lm-below)")
    sp.add_argument("--cross-below", metavar="C",
                    help="store this confidence: a line not reread whose recut reading is "
                         "at most this sure is read as cut too, and the text both views "
                         "score best is kept (needs --ink-margin; 'none' = one view)")
    sp.add_argument("--cross-window", metavar="N",
                    help="store this: --cross-below's second view is a window of the line "
                         "as cut, its least sure character and N on each side ('none' = "
                         "the whole line)")


def _args_ocr(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("inputs", nargs="+", help="page images or PDFs")
    sp.add_argument("--model", default="default")
    sp.add_argument("--format", default="txt",
                    choices=("txt", "json", "hocr", "alto", "overlay"))
    sp.add_argument("--out", help="output file (default: standard output; required for "
                                  "overlay, which writes one PNG per page: OUT, OUT-2.png...)")
    sp.add_argument("--dpi", type=_dpi, default=300,
                    help="PDF rasterisation resolution (50..1200; default 300)")
    sp.add_argument("--device", default="auto")
    sp.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    _add_max_pixels(sp, "page")
    _add_decoder_args(sp)


def _args_serve(sp: argparse.ArgumentParser) -> None:
    from .serve import add_arguments

    add_arguments(sp)
    _add_decoder_args(sp)


def _args_lm(sp: argparse.ArgumentParser) -> None:
    from .decoding.lm import add_arguments

    add_arguments(sp)


# ---------------------------------------------------------------------------- commands
def _cmd_predict(args: argparse.Namespace) -> int:
    from .recognizer import Recognizer, expand_inputs

    paths, problems = expand_inputs(args.inputs)
    for msg in problems:
        print(f"crnn: error: {msg}", file=sys.stderr)
    if not paths:
        return 2
    rec = Recognizer.load(args.model, device=args.device, batch_size=args.batch_size,
                          charset=args.charset, backend=args.backend,
                          decoder=_decoder_config(args),
                          fuse_lm=args.fuse_lm)
    rec.max_pixels = args.max_pixels
    failed = len(problems)
    for r in rec.recognize(paths):
        if args.json:
            print(json.dumps(r.as_dict(args.char_probs), ensure_ascii=False), flush=True)
        elif r.ok:
            print(f"{r.source}\t{r.text}\t{r.confidence:.4f}")
        if not r.ok:
            failed += 1
            print(f"crnn: error: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .charset import Charset
    from .data.dataset import open_sources
    from .evaluate import evaluate
    from .metrics import TextNormalizer
    from .recognizer import Recognizer

    charset = Charset.resolve(args.charset) if args.charset else None
    rec = Recognizer.load(args.model, device=args.device, batch_size=args.batch_size,
                          charset=charset if charset and charset.line_to_class is None
                          else None, backend=args.backend, decoder=_decoder_config(args),
                          fuse_lm=args.fuse_lm)
    source = open_sources(args.data, args.images_root, args.format, charset or rec.charset)
    norm = TextNormalizer(args.ignore_space, args.ignore_case, args.nfkc)
    res = evaluate(rec, source, norm, args.errors, limit=args.limit)
    for msg in res.problems[:20]:
        print(f"crnn: error: {msg}", file=sys.stderr)
    if len(res.problems) > 20:
        print(f"crnn: error: ... and {len(res.problems) - 20} more unreadable samples",
              file=sys.stderr)
    d = res.as_dict()
    if args.json:
        print(json.dumps(d))
    else:
        print(f"lines {d['lines']}  accuracy {d['accuracy']:.4f}  CER {d['cer']:.4f}  "
              f"1-NED {d['ned']:.4f}  unreadable {d['unreadable']}  "
              f"{d['lines_per_second']:.1f} lines/s on {rec.device}")
        if args.errors:
            print(f"wrong samples written to {args.errors}")
    if res.unreadable:
        print(f"crnn: {res.unreadable} unreadable samples were left out of the score",
              file=sys.stderr)
    return 1 if res.unreadable else 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .config import load_config
    from .train import train

    flags = {"train": args.train, "val": args.val, "charset": args.charset, "out": args.out,
             "epochs": args.epochs, "max_steps": args.max_steps, "batch_size": args.batch_size,
             "lr": args.lr, "workers": args.workers, "device": args.device, "init": args.init}
    base = None
    if args.resume:  # the run's own config, which the command line may still amend
        base = (load_checkpoint(args.resume).train_state or {}).get("config")
    cfg = load_config(args.config, args.overrides, base=base, **flags)
    res = train(cfg, resume=args.resume, progress=not args.quiet)
    if not res.is_main:  # a torchrun job reports once
        return 0
    best = f"{res.best_accuracy:.4f}" if res.best_accuracy is not None else "n/a"
    print(f"trained {res.steps} steps in {res.seconds:.1f} s; best val accuracy {best}; "
          f"checkpoints in {res.out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .export import export_fp16, export_onnx
    from .recognizer import resolve_model_path

    ckpt = load_checkpoint(resolve_model_path(args.model), charset=args.charset)
    changes: dict = {}
    if args.reread is not None:
        try:
            changes["rereads"] = () if args.reread.strip().lower() in ("none", "") else \
                tuple(float(x) for x in args.reread.split(","))
        except ValueError:
            raise ConfigError(f"--reread {args.reread!r}: give stretches such as 1.1,1.2, "
                              "or none") from None
    if args.read_stretch is not None:
        changes["stretch"] = args.read_stretch
    if args.reread_below is not None:
        changes["reread_below"] = args.reread_below
    if args.reread_scope is not None:
        changes["reread_scope"] = args.reread_scope
    if args.read_pad is not None:
        changes["right_pad"] = args.read_pad
    for name in ("deskew", "blank_penalty", "lm_weight", "lm_bonus", "lm_below"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    # settings that 'none' turns off
    for name, example, kind in (("ink_margin", "0.3", float), ("lm_latin_below", "1.0", float),
                                ("cross_below", "0.3", float), ("cross_window", "2", int)):
        value = getattr(args, name)
        if value is None:
            continue
        try:
            changes[name] = None if value.strip().lower() == "none" else kind(value)
        except ValueError:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} {value!r}: give a number such as {example}, or "
                              "none") from None
    if changes:
        ckpt.reading = ckpt.reading.replace(**changes)
    if args.cpu_int8 is not None:
        if args.format != "fp16":
            raise ConfigError("--cpu-int8 is stored in an fp16 checkpoint (--format fp16); "
                              "for an int8 ONNX file use --int8")
        ckpt.meta = {**ckpt.meta, "cpu_int8": args.cpu_int8}
        if not args.cpu_int8:
            ckpt.meta.pop("int8_calibration", None)
    calibration = None
    if args.calibrate:
        if not (args.cpu_int8 or args.int8):
            raise ConfigError("--calibrate quantizes the convolutions of an int8 model: "
                              "add --cpu-int8 (with --format fp16) or --int8")
        from .data.dataset import open_source
        from .export import calibration_lines

        calibration = calibration_lines([open_source(d) for d in args.calibrate],
                                        args.calibrate_lines, ckpt.preprocess)
        if args.cpu_int8:
            ckpt.meta = {**ckpt.meta, "int8_calibration": calibration}
    if args.lm is not None:
        from .decoding.lm import NGramLM

        NGramLM.load(args.lm)  # refuses a file that is not a language model, naming it
    if args.format == "fp16":
        out = export_fp16(ckpt, args.out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, fp16)")
    else:
        out = export_onnx(ckpt, args.out, int8=args.int8, calibration=calibration)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB{', int8' if args.int8 else ''})")
    if args.lm is not None:
        lm_out = out.with_name(out.stem + ".lm.bin")
        if Path(args.lm).resolve() != lm_out.resolve():
            tmp = lm_out.with_name(lm_out.name + ".tmp")
            shutil.copyfile(args.lm, tmp)
            tmp.replace(lm_out)
        print(f"wrote {lm_out} ({lm_out.stat().st_size / 1e6:.1f} MB, its language model)")
        if ckpt.reading.lm_weight == 0:
            print("crnn export: warning: no --lm-weight stored, so --fuse-lm cannot use "
                  f"{lm_out}", file=sys.stderr)
    elif ckpt.reading.lm_weight > 0 and not out.with_name(out.stem + ".lm.bin").is_file():
        print(f"crnn export: warning: the stored policy fuses a language model, but none is "
              f"beside {out}: give --lm FILE", file=sys.stderr)
    return 0


def _cmd_ocr(args: argparse.Namespace) -> int:
    from .ocr import formats, load_pages, read_page
    from .recognizer import Recognizer

    if args.format == "overlay" and not args.out:
        print("crnn: error: --format overlay needs --out page.png", file=sys.stderr)
        return 2
    rec = Recognizer.load(args.model, device=args.device, backend=args.backend,
                          decoder=_decoder_config(args),
                          fuse_lm=args.fuse_lm)
    pages, images, failed = [], [], 0
    for path in args.inputs:
        try:
            for n, img in enumerate(load_pages(path, args.dpi, args.max_pixels), 1):
                page = read_page(img, rec, number=len(pages) + 1)
                page.source = f"{path}#{n}" if n > 1 else str(path)
                pages.append(page)
                images.append(img)
        except CrnnError as exc:
            failed += 1
            print(f"crnn: error: {exc}", file=sys.stderr)
    if args.format == "overlay":
        out = Path(args.out)
        for i, (img, page) in enumerate(zip(images, pages, strict=True)):
            target = out if i == 0 else out.with_name(f"{out.stem}-{i + 1}{out.suffix}")
            formats.overlay(img, page).save(target)
            print(f"wrote {target}")
        return 1 if failed else 0
    writer = {"txt": formats.to_text, "json": formats.to_json, "hocr": formats.to_hocr,
              "alto": formats.to_alto}[args.format]
    text = writer(pages)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 1 if failed else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import run

    args.decoder_config = _decoder_config(args)
    return run(args)


def _cmd_dataset(args: argparse.Namespace) -> int:
    from .charset import Charset
    from .data import tools

    charset = Charset.resolve(args.charset) if getattr(args, "charset", None) else None
    if args.dataset_command == "create":
        rep = tools.create_dataset(args.labels, args.images_root, args.out, args.format,
                                   charset, args.oov, args.overwrite,
                                   not args.no_check_images)
        print(f"wrote {rep.written} samples to {rep.out}")
        if rep.skipped:
            print(f"skipped {sum(rep.skipped.values())}: "
                  + ", ".join(f"{n} {r}" for r, n in rep.skipped.most_common()))
            for ex in rep.examples:
                print(f"  {ex}")
        return 0
    if args.dataset_command == "info":
        info = tools.dataset_info(args.path, charset)
        if args.json:
            print(json.dumps(info, ensure_ascii=False))
        else:
            _print_info(info)
        return 0
    if args.dataset_command == "verify":
        n, bad = tools.verify_dataset(args.path, charset)
        if args.json:
            print(json.dumps({"samples": n, "bad": bad}, ensure_ascii=False))
        else:
            for key, reason in bad:
                print(f"sample {key}: {reason}")
            print(f"{n} samples, {len(bad)} problem(s)")
        return 1 if bad else 0
    n = tools.export_dataset(args.path, args.out, args.overwrite)
    print(f"exported {n} samples to {args.out} (labels.tsv + images/)")
    return 0


def _print_info(info: dict) -> None:
    ll = info["label_length"]
    print(f"{info['path']}: {info['samples']} samples (keys from {info['first_key']})")
    print(f"label length: min {ll['min']}, mean {ll['mean']:.1f}, max {ll['max']}")
    hist = ll["histogram"]
    top = max(hist.values(), default=1)
    for length, count in hist.items():
        print(f"  {length:4d} {count:9d} {'#' * max(1, round(40 * count / top))}")
    print(f"distinct characters: {info['distinct_characters']}")
    for dim in ("image_width", "image_height"):
        if dim in info:
            s = info[dim]
            print(f"{dim.replace('_', ' ')}: min {s['min']}, median {s['p50']:.0f}, "
                  f"mean {s['mean']}, max {s['max']} (from {info['images_checked']} images)")
    if info.get("unreadable_headers"):
        print(f"unreadable images among those: {info['unreadable_headers']}")
    if "outside_charset" in info:
        out = info["outside_charset"]
        print(f"characters outside {info['charset']}: {len(out)}"
              + (": " + " ".join(f"{c!r}x{k}" for c, k in list(out.items())[:50]) if out
                 else ""))


# ---------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Command:
    """One ``crnn`` subcommand: its name and one-line help, and either ``arguments`` (adds
    its options to its parser) with ``run`` (the parsed namespace -> exit status), or
    ``own_main`` ("module:function" given the arguments after the name) for a command that
    parses its own command line (``crnn synth`` takes an optional sub-action)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    run: Callable[[argparse.Namespace], int] | None = None
    epilog: str | None = None
    own_main: str | None = None


def _cmd_lm(args: argparse.Namespace) -> int:
    from .decoding.lm import run

    return run(args)


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("predict", "recognize text in line images", _args_predict, _cmd_predict,
            epilog="examples:\n  crnn predict line.png\n  crnn predict scans/ 'more/*.jpg' "
                   "--model runs/demo/best.pt --json"),
    Command("eval", "score a model on a dataset", _args_eval, _cmd_eval,
            epilog="example:\n  crnn eval --model runs/demo/best.pt --data val.lmdb "
                   "--errors errors.tsv --nfkc --ignore-space"),
    Command("train", "train or fine-tune a CRNN", _args_train, _cmd_train,
            epilog="examples:\n  crnn train --config configs/demo.yaml\n"
                   "  crnn train --train train.lmdb --val val.lmdb --charset ascii "
                   "--set lr=0.0005 --set scheduler=cosine\n"
                   "  crnn train --resume runs/crnn/last.pt\n"
                   "every config key can be given with --set key=value; see docs/training.md"),
    Command("dataset", "create, inspect, verify or export LMDB datasets", _args_dataset,
            _cmd_dataset),
    Command("export", "export a checkpoint to ONNX", _args_export, _cmd_export,
            epilog="examples:\n  crnn export --model runs/demo/best.pt --out model.onnx\n"
                   "  crnn export --model runs/demo/best.pt --int8 --out model.int8.onnx\n"
                   "  crnn predict line.png --model model.onnx"),
    Command("ocr", "read whole printed pages (images, multi-page TIFF, PDF)", _args_ocr, _cmd_ocr,
            epilog="examples:\n  crnn ocr letter.png\n  crnn ocr scan.pdf --format hocr "
                   "--out scan.hocr\n  crnn ocr page.jpg --format overlay --out check.png"),
    Command("serve", "HTTP recognition service and web page", _args_serve, _cmd_serve,
            epilog="examples:\n  crnn serve --model runs/demo/best.pt\n"
                   "  crnn serve --model model.onnx --host 0.0.0.0 --port 8080 --token SECRET\n"
                   "see docs/serve.md"),
    Command("synth", "render synthetic text-line datasets (crnn synth --help)",
            own_main="crnn.synth.cli:main"),
    Command("lm", "build or score a character n-gram language model", _args_lm, _cmd_lm,
            epilog="examples:\n  crnn lm build --text corpus.txt --order 5 --out lm.bin\n"
                   "  crnn predict line.png --decoder beam --lm lm.bin"),
)}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``with``/``finally`` cleans up (temporary
    dataset folders, worker pools) before the process ends."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    saved_showwarning = warnings.showwarning
    warnings.showwarning = _warning_line
    saved_sigterm = None
    if threading.current_thread() is threading.main_thread():
        saved_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        own = COMMANDS.get(argv[0]) if argv else None
        if own is not None and own.own_main:
            module, function = own.own_main.split(":")
            return getattr(importlib.import_module(module), function)(argv[1:])
        args = build_parser().parse_args(argv)
        command = COMMANDS[args.command]
        assert command.run is not None
        return command.run(args)
    except CrnnError as exc:
        print(f"crnn: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}:" if exc.filename else ""
        print(f"crnn: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except _Terminated:
        print("crnn: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("crnn: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = saved_showwarning
        if saved_sigterm is not None:
            signal.signal(signal.SIGTERM, saved_sigterm)


if __name__ == "__main__":
    sys.exit(main())

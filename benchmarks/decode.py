"""Decoding speed: lines/s of each decoder on a realistic batch, printed as a table.

The logits imitate a trained model's: each line comes from a target string (drawn from a
synthetic "language", a random Markov chain over the charset, so that a language model
trained on other text of it can help), laid out as runs of 1-3 frames separated by 0-2
blank frames; each frame's class gets a logit boost of 9-15 over unit Gaussian noise on
all classes, and 10% of frames carry a runner-up 1.5-4 below the winner, so best-path
decoding makes some mistakes. Accuracy is the share of lines read exactly as generated.

    python benchmarks/decode.py [--lines 256] [--frames 70] [--classes 6800] [--repeat 3]
        [--compare-libs]

``--accuracy`` measures instead what the decoders change with a trained model (the bundled
one unless ``--model`` names another), on two tasks:

- page-rendered lines (``crnn synth pages``, ``--pages`` pages, seed 11; or ``--data``):
  greedy, beam, beam + a character 4-gram LM, and lexicon decoding. The LM is built from
  200,000 lines drawn from ``crnn synth``'s text generator (the training text
  distribution), never from the page texts; the lexicon is every true line of the set plus
  20,000 generated lines as distractors (the paper's closed-vocabulary setting).
- field lines rendered by ``crnn synth``'s line renderer (``--fields`` lines per kind):
  dates, phone numbers and ID numbers (the generator's values made only of the preset's
  characters) read with and without the matching ``allow`` preset,
  and Chinese names read with and without a lexicon of 5,000 generated names that holds
  them.

Line accuracy is exact match after NFKC with spaces removed (as ``crnn eval --nfkc
--ignore-space``); CER likewise.

``--compare-libs`` adds pyctcdecode and fast-ctc-decode (beam 10) if they are installed;
they are not dependencies of crnn (see docs/decoders.md for why).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crnn.charset import Charset
from crnn.decoding.ctc import greedy_decode, log_softmax
from crnn.decoding.decoders import DecoderConfig, LexiconDecoder, build_decoder
from crnn.decoding.lexicon import INDEXES, Lexicon
from crnn.decoding.lm import NGramLM


def markov_texts(rng: np.random.Generator, k: int, count: int, succ: np.ndarray) -> list[list[int]]:
    """Random walks of 4-24 classes over the successor table ``succ (K, S)``."""
    out = []
    for _ in range(count):
        length = int(rng.integers(4, 25))
        c = int(rng.integers(1, k))
        seq = [c]
        for _ in range(length - 1):
            c = int(succ[c, rng.integers(0, succ.shape[1])])
            seq.append(c)
        out.append(seq)
    return out


def peaky_logits(
    rng: np.random.Generator, targets: list[list[int]], t: int, k: int
) -> tuple[np.ndarray, list[list[int]]]:
    """Logits ``(T, N, K)`` float32 for the targets (cut to what fits in ``t`` frames)."""
    n = len(targets)
    x = rng.standard_normal((t, n, k), dtype=np.float32)
    kept = []
    for i, tgt in enumerate(targets):
        frames: list[int] = []
        fit: list[int] = []
        for c in tgt:
            run = int(rng.integers(1, 4))
            gap = max(int(rng.integers(0, 3)), 1 if fit and fit[-1] == c else 0)
            if len(frames) + gap + run > t:
                break
            frames += [0] * gap + [c] * run
            fit.append(c)
        frames += [0] * (t - len(frames))
        kept.append(fit)
        boost = rng.uniform(9.0, 15.0, size=t).astype(np.float32)
        x[np.arange(t), i, frames] += boost
        conf = np.flatnonzero(rng.random(t) < 0.10)
        alt = rng.integers(1, k, size=len(conf))
        x[conf, i, alt] += boost[conf] - rng.uniform(1.5, 4.0, len(conf)).astype(np.float32)
    return x, kept


def timed(fn: Callable[[], list[str]], repeat: int) -> tuple[float, list[str]]:
    best, texts = float("inf"), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        texts = fn()
        best = min(best, time.perf_counter() - t0)
    return best, texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=256)
    ap.add_argument("--frames", type=int, default=70)
    ap.add_argument("--classes", type=int, default=6800, help="K, blank included")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compare-libs", action="store_true")
    ap.add_argument("--skip-words", action="store_true",
                    help="skip the Chinese-word lexicon table (needs jieba)")
    acc = ap.add_argument_group("--accuracy: decoders with a trained model")
    acc.add_argument("--accuracy", action="store_true")
    acc.add_argument("--model", default="default", help="checkpoint or .onnx")
    acc.add_argument("--data", help="page-rendered lines (LMDB) instead of rendering them")
    acc.add_argument("--pages", type=int, default=8, help="pages to render (no --data)")
    acc.add_argument("--fields", type=int, default=200, help="lines per field kind")
    args = ap.parse_args(argv)
    if args.accuracy:
        return accuracy(args)

    rng = np.random.default_rng(args.seed)
    k = args.classes
    charset = Charset(Charset.preset("zh").chars[: k - 1], name=f"zh[:{k - 1}]")
    succ = rng.integers(1, k, size=(k, 6))
    targets = markov_texts(rng, k, args.lines, succ)
    logits, kept = peaky_logits(rng, targets, args.frames, k)
    truth = [charset.decode(t) for t in kept]

    tmp = Path(tempfile.mkdtemp(prefix="crnn-decode-bench-"))
    corpus = [charset.decode(t) for t in markov_texts(rng, k, 20_000, succ)]
    t0 = time.perf_counter()
    lm = NGramLM.build(corpus, order=4)
    lm_build = time.perf_counter() - t0
    lm.save(tmp / "lm.bin")
    others = [charset.decode(t) for t in markov_texts(rng, k, 100_000, succ)]
    for size in (50, 10_000):
        lex = list(dict.fromkeys(truth + others))[: max(size, len(truth))]
        (tmp / f"lex{size}.txt").write_text("\n".join(lex), encoding="utf-8")

    rows: list[tuple[str, float, float, float]] = []

    def add(name: str, fn: Callable[[], list[str]], build_s: float = 0.0) -> None:
        secs, texts = timed(fn, args.repeat)
        acc = float(np.mean([a == b for a, b in zip(texts, truth, strict=True)]))
        rows.append((name, args.lines / secs, secs * 1000, acc))
        extra = f" (built in {build_s:.2f} s)" if build_s > 0.05 else ""
        print(f"  {name}: {args.lines / secs:,.0f} lines/s{extra}", file=sys.stderr)

    def decoder(**kw: object) -> Callable[[], list[str]]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = build_decoder(DecoderConfig(**kw), charset)  # type: ignore[arg-type]
        decoder.build_s = time.perf_counter() - t0  # type: ignore[attr-defined]
        return lambda: [r.text for r in d(logits)]

    print(f"batch: T={args.frames}, N={args.lines}, K={k}; LM: order 4 on "
          f"{len(corpus):,} lines, built in {lm_build:.1f} s", file=sys.stderr)
    add("greedy", decoder())
    add("greedy, whole-batch log_softmax (before)",
        lambda: [r.text for r in greedy_decode(log_softmax(logits, axis=2), charset,
                                               is_log_probs=True)])
    add("greedy, allow=digits", decoder(allow="digits"))
    for w in (1, 5, 10, 20):
        add(f"beam {w}", decoder(kind="beam", beam_width=w))
    add("beam 10, n_best 5", decoder(kind="beam", beam_width=10, n_best=5))
    add("beam 10 + LM (order 4)", decoder(kind="beam", beam_width=10, lm=str(tmp / "lm.bin"),
                                          lm_weight=0.5))
    add("beam 10, allow=digits", decoder(kind="beam", beam_width=10, allow="digits"))
    add("lexicon 50 (full search)", decoder(kind="lexicon", lexicon=str(tmp / "lex50.txt")))
    lex_cfg = DecoderConfig(kind="lexicon", lexicon=str(tmp / "lex10000.txt"))
    for index in INDEXES:
        t0 = time.perf_counter()
        lex = Lexicon.from_file(tmp / "lex10000.txt", charset, index=index)
        build_s = time.perf_counter() - t0
        d = LexiconDecoder(lex_cfg, charset, lexicon=lex)
        add(f"lexicon 10,000 ({index}, delta 3)", lambda d=d: [r.text for r in d(logits)],
            build_s)

    if args.compare_libs:
        labels = ["", *charset.chars]
        try:
            from pyctcdecode import build_ctcdecoder

            pyc = build_ctcdecoder(labels)

            def run_pyc() -> list[str]:
                lp = log_softmax(logits, axis=2)
                return [pyc.decode_beams(lp[:, i], beam_width=10)[0][0]
                        for i in range(args.lines)]

            add("pyctcdecode 0.5 beam 10", run_pyc)
        except ImportError:
            print("  pyctcdecode not installed", file=sys.stderr)
        try:
            import fast_ctc_decode

            alphabet = "N" + "".join(charset.chars)
            few = min(args.lines, 4)  # about 2.6 s a line at K=6800

            def run_fcd() -> list[str]:
                p = np.exp(log_softmax(logits, axis=2))
                got = [fast_ctc_decode.beam_search(np.ascontiguousarray(p[:, i]), alphabet,
                                                   beam_size=10, beam_cut_threshold=1e-4)[0]
                       for i in range(few)]
                return got + truth[few:]  # lines not decoded count as read

            secs, _ = timed(run_fcd, 1)
            rows.append(("fast-ctc-decode 0.3.7 beam 10", few / secs, secs / few * args.lines
                         * 1000, float("nan")))
        except ImportError:
            print("  fast-ctc-decode not installed", file=sys.stderr)

    table(f"decoder (T={args.frames}, N={args.lines}, K={k})", rows)
    words = jieba_words()
    if words is not None and not args.skip_words:
        table(f"lexicon of Chinese words (jieba dict, top N by frequency; T=24, "
              f"N={args.lines}, K={k}, delta 1)", word_lexicon_rows(words, charset, args))
    return 0


def table(title: str, rows: list[tuple[str, float, float, float]]) -> None:
    print(f"\n| {title} | lines/s | ms/batch | line accuracy |")
    print("| --- | ---: | ---: | ---: |")
    for name, lps, ms, acc in rows:
        acc_s = "n/a" if np.isnan(acc) else f"{acc:.3f}"
        print(f"| {name} | {lps:,.{1 if lps < 10 else 0}f} | {ms:,.0f} | {acc_s} |")


def jieba_words() -> list[str] | None:
    """jieba's dictionary (a crnn dependency): 350k real Chinese words, by frequency."""
    try:
        import jieba
    except ImportError:
        return None
    path = Path(jieba.__file__).parent / "dict.txt"
    rows = [ln.split(" ") for ln in path.read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: -int(r[1]))
    return [r[0] for r in rows]


def word_lexicon_rows(
    words: list[str], charset: Charset, args: argparse.Namespace
) -> list[tuple[str, float, float, float]]:
    """Lines of one word each, half of them misread by one character."""
    rng = np.random.default_rng(args.seed + 1)
    k = args.classes
    rows = []
    for size, indexes in ((10_000, INDEXES), (100_000, ("scan",))):
        lex_words = [w for w in words if not charset.missing(w)][:size]
        truth = [lex_words[i] for i in rng.integers(0, size, args.lines)]
        targets = [charset.encode(w) or [] for w in truth]
        logits, _ = peaky_logits(rng, targets, 24, k)
        for i, tgt in enumerate(targets):  # misread one character of every other line
            if i % 2 and len(tgt) > 1:
                frames = np.flatnonzero(logits[:, i].argmax(1) == tgt[-1])
                logits[frames, i, int(rng.integers(1, k))] += 20.0
        path = Path(tempfile.mkdtemp(prefix="crnn-lex-")) / "words.txt"
        path.write_text("\n".join(lex_words), encoding="utf-8")
        cfg = DecoderConfig(kind="lexicon", lexicon=str(path), lexicon_distance=1)
        for index in indexes:
            t0 = time.perf_counter()
            lex = Lexicon.from_file(path, charset, index=index)
            build_s = time.perf_counter() - t0
            d = LexiconDecoder(cfg, charset, lexicon=lex)
            secs, texts = timed(lambda d=d, x=logits: [r.text for r in d(x)], args.repeat)
            acc = float(np.mean([a == b for a, b in zip(texts, truth, strict=True)]))
            rows.append((f"{size:,} words, {index} (index built in {build_s:.1f} s)",
                         args.lines / secs, secs * 1000, acc))
            print(f"  {rows[-1][0]}: {rows[-1][1]:,.0f} lines/s", file=sys.stderr)
        greedy = build_decoder(DecoderConfig(), charset)
        secs, texts = timed(lambda g=greedy, x=logits: [r.text for r in g(x)], args.repeat)
        acc = float(np.mean([a == b for a, b in zip(texts, truth, strict=True)]))
        rows.append((f"{size:,} words: greedy, for reference", args.lines / secs, secs * 1000,
                     acc))
    return rows


def accuracy(args: argparse.Namespace) -> int:
    """Line accuracy / CER of each decoder with a trained model (see the module doc)."""
    import random
    import unicodedata

    from rapidfuzz.distance import Levenshtein

    from crnn.decoding.decoders import build_decoder, resolve_allowed
    from crnn.recognizer import Recognizer, resolve_model_path
    from crnn.synth.config import load_synth_config
    from crnn.synth.fields import date, id_number, person_name, phone
    from crnn.synth.render import render_line
    from crnn.synth.synthesizer import Synthesizer, build_spec

    def norm(t: str) -> str:
        return "".join(unicodedata.normalize("NFKC", t).split())

    rec = Recognizer.load(args.model, device="cpu")
    charset = rec.charset
    tmp = Path(tempfile.mkdtemp(prefix="crnn-decode-acc-"))
    print(f"model {resolve_model_path(args.model)} ({len(charset):,} characters)",
          file=sys.stderr)

    # page-rendered lines
    if args.data:
        lmdb_path = Path(args.data)
    else:
        from crnn.synth.pages import render_pages

        lmdb_path = tmp / "pages.lmdb"
        render_pages(lmdb_path, args.pages, seed=11)
    from crnn.data.dataset import open_sources
    from crnn.data.images import decode_image

    src = open_sources([str(lmdb_path)])
    images, truth = [], []
    for i in range(len(src)):
        raw, label, where = src.raw(i)
        images.append(decode_image(raw, 1, name=where))
        truth.append(label)

    # text for the LM and the lexicon distractors: crnn synth's generator, not the pages
    spec = build_spec(charset, 200_000, seed=5, config=load_synth_config())
    synth = Synthesizer(spec)
    rng = random.Random(5)
    gen = [synth.text.sample(rng)[0] for _ in range(200_000)]
    corpus_file = tmp / "corpus.txt"
    corpus_file.write_text("\n".join(gen), encoding="utf-8")
    t0 = time.perf_counter()
    NGramLM.build(gen, order=4).save(tmp / "lm.bin")
    print(f"LM: order 4 on {len(gen):,} generated lines in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    lex = list(dict.fromkeys(truth + gen[:20_000]))
    (tmp / "lines.txt").write_text("\n".join(lex), encoding="utf-8")

    def run(cfg: DecoderConfig, imgs: list[np.ndarray], want: list[str]
            ) -> tuple[float, float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec.decoder = build_decoder(cfg, charset)
        t0 = time.perf_counter()
        got = [norm(d.text) for d in rec.recognize_arrays(imgs)]
        secs = time.perf_counter() - t0
        w = [norm(t) for t in want]
        acc = float(np.mean([a == b for a, b in zip(got, w, strict=True)]))
        cer = sum(Levenshtein.distance(a, b) for a, b in zip(got, w, strict=True)) / max(
            1, sum(len(b) for b in w))
        return acc, cer, len(imgs) / secs

    def show(title: str, rows: list[tuple[str, DecoderConfig]], imgs, want) -> None:
        print(f"\n| {title} | line accuracy | CER | lines/s (model + decoder) |")
        print("| --- | ---: | ---: | ---: |")
        for name, cfg in rows:
            a, c, lps = run(cfg, imgs, want)
            print(f"| {name} | {a:.4f} | {c:.4f} | {lps:,.0f} |", flush=True)

    lm = str(tmp / "lm.bin")
    show(f"page-rendered lines ({len(truth)}, {lmdb_path.name})", [
        ("greedy", DecoderConfig()),
        ("beam 10", DecoderConfig(kind="beam", beam_width=10)),
        ("beam 10 + LM (weight 0.3)", DecoderConfig(kind="beam", beam_width=10, lm=lm,
                                                    lm_weight=0.3)),
        ("beam 10 + LM (weight 0.5)", DecoderConfig(kind="beam", beam_width=10, lm=lm,
                                                    lm_weight=0.5)),
        ("beam 10 + LM (weight 0.5, length bonus 1)",
         DecoderConfig(kind="beam", beam_width=10, lm=lm, lm_weight=0.5, length_bonus=1.0)),
        (f"lexicon ({len(lex):,} lines: the set's + generated)",
         DecoderConfig(kind="lexicon", lexicon=str(tmp / "lines.txt"))),
    ], images, truth)

    # field lines, rendered one by one with the training renderer's fonts and effects
    fspec = build_spec(charset, 1, seed=6, config=load_synth_config())
    fsynth = Synthesizer(fspec)

    def render(texts: list[str], seed: int) -> list[np.ndarray]:
        r = random.Random(seed)
        out = []
        for t in texts:
            while True:
                k, drawn = fspec.fonts.choose(t, r)
                img = render_line(drawn, fsynth.fonts, k, fspec.fonts.covered[k], r,
                                  fspec.config, 32) if drawn == t else None
                if img is not None:
                    out.append(img[0])
                    break
        return out

    frng = random.Random(7)
    for kind, maker, preset in (("dates", date, "date"), ("phone numbers", phone, "phone"),
                                ("ID numbers", id_number, "id")):
        # the field's task: values made only of the preset's characters (an English
        # "Sep 1, 2025" is not a date field for allow=date)
        fits = set(resolve_allowed(preset))
        texts = []
        while len(texts) < args.fields:
            t = maker(frng)
            if not charset.missing(t) and set(t) <= fits:
                texts.append(t)
        imgs = render(texts, len(texts))
        show(f"{kind} ({len(texts)})", [("greedy", DecoderConfig()),
                                         (f"greedy, allow={preset}",
                                          DecoderConfig(allow=preset)),
                                         (f"beam 10, allow={preset}",
                                          DecoderConfig(kind="beam", allow=preset))],
             imgs, texts)
    names = list(dict.fromkeys(n for n in (person_name(frng) for _ in range(20_000))
                               if not charset.missing(n)))[:5000]
    (tmp / "names.txt").write_text("\n".join(names), encoding="utf-8")
    texts = [names[frng.randrange(len(names))] for _ in range(args.fields)]
    show(f"Chinese names ({len(texts)})", [
        ("greedy", DecoderConfig()),
        (f"lexicon of {len(names):,} names",
         DecoderConfig(kind="lexicon", lexicon=str(tmp / "names.txt"))),
    ], render(texts, 99), texts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

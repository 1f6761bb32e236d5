"""Natural prose for training text: sentences out of fortune-cookie files and plain text.

The synthesizer's own text (``crnn synth text``) is word salad drawn by frequency: right
for covering a charset, wrong for what documents look like (sentence case, ``...``,
``a.m.,``, ``Mr.``, quotes at line ends, classical verse). Debian's ``fortunes`` and
``fortunes-zh`` packages hold a few megabytes of real English and Chinese prose, verse
(Tang and Song poems), quotations and attributions, and a plain text such as the
Debian reference manual's Chinese edition holds modern technical prose; this script turns
them into one sentence (or clause run) per line for ``crnn synth --text`` and ``crnn synth
pages --text`` (the bundled model's recipe, configs/v19/train.yaml, runs it twice)::

    python tools/prose_corpus.py --charset src/crnn/models/default.charset.txt \\
        --skip chinese --skip tang300 --quoted 0.15 --seed 190 \\
        --exclude-overlap ../shared/dev/printed_zh/labels.tsv --out build/v19/prose.txt \\
        /usr/share/games/fortunes /usr/share/debian-reference/debian-reference.zh-cn.txt.gz

HTML pages (a manual's Chinese edition: LibreOffice's and GIMP's help, Debian's guides)
give the text of their paragraphs, list items and headings; code, navigation and any
paragraph with inline code in it are left out, and ``--cjk-only`` keeps the sentences with
Chinese in them. ``--quoted F`` puts a share F of the Chinese sentences into quoted speech
(``王先生说：“……。”``), which manuals seldom hold and documents do.

Colour escapes, ``%`` separators and ASCII art are dropped; wrapped lines are joined
(a space between Latin words, none between Chinese characters); an attribution keeps its
text without the leading dashes; a sentence with a character outside the charset is left
out whole (never patched); duplicates are dropped; the order is the files' order.

Text that a measurement set holds must never be trained on. ``--skip`` leaves fortune
files out by name, and ``--exclude-overlap LABELS`` drops every sentence that shares a
run of 8 tokens (a Chinese character or a Latin word is a token; case, punctuation and
spacing ignored) with a line of a ``file<TAB>text`` label file, and says how many went.
The bundled model's recipe skips ``chinese`` and ``tang300`` (the verse and classical
quotations ``../shared/dev`` draws from) and checks the rest against the dev labels.
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import random
import re
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crnn.charset import Charset  # noqa: E402
from crnn.synth.fields import person_name  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Where a sentence may end: . ! ? (and closing quotes/brackets) before a space, or 。！？；
SENTENCE_END = re.compile(r"[.!?]+[\"')\]”’]*\s+|[。！？；][”’」』）》]*")
# Words whose full stop ends no sentence.
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "etc", "jr", "sr", "inc",
                 "ltd", "co", "mt", "ft", "gen", "gov", "rev", "sen", "rep", "capt", "col",
                 "lt", "sgt", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
                 "oct", "nov", "dec", "fig", "vol", "ch", "pp", "approx", "dept", "univ"}
# Characters pictures are drawn with.
ART_STROKES = set("/\\|_<>^~=#*[]{}")
# Files that are pictures or code rather than prose.
SKIP_FILES = {"art", "ascii-art", "perl", "translate-me"}


def _is_cjk(ch: str) -> bool:
    return ch > "\u2e80"


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return a + b if _is_cjk(a[-1]) or _is_cjk(b[0]) else f"{a} {b}"


def _looks_like_art(lines: list[str]) -> bool:
    """A picture drawn in characters: many drawing strokes, or few letters."""
    text = "".join(ln.strip() for ln in lines)
    if not text:
        return True
    strokes = sum(ch in ART_STROKES for ch in text)
    wordy = sum(ch.isalnum() or ch.isspace() or _is_cjk(ch) for ch in text)
    return strokes / len(text) > 0.12 or wordy / len(text) < 0.6


HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# Elements whose text is a paragraph of prose.
_HTML_BLOCKS = {"p", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                "caption", "blockquote", "div"}
# Elements whose text is no prose (code, scripts, navigation), left out with what they
# hold, and inline code, which leaves the paragraph around it out too: the rest would read
# "the file  holds" where a file name stood.
_HTML_SKIP = {"pre", "script", "style", "noscript", "head", "nav", "header", "footer",
              "button", "select", "textarea", "svg"}
_HTML_CODE = {"code", "kbd", "samp", "tt", "var"}
# A space the page's source wrapping left between two Chinese characters (or a Chinese
# character and its punctuation): no space in the text.
_CJK_GAP = re.compile(r"(?<=[\u2e80-\uffef])\s+(?=[\u2e80-\uffef])")


class _HTMLText(html.parser.HTMLParser):
    """The text of each block element of an HTML page, one string per block; nested
    blocks end the outer block's text where they start."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._cur: list[str] = []
        self._skip = 0
        self._tainted = False

    def _flush(self) -> None:
        text = _CJK_GAP.sub("", " ".join("".join(self._cur).split()))
        if text and not self._tainted:
            self.blocks.append(text)
        self._cur, self._tainted = [], False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_CODE:
            self._tainted = True
        elif tag in _HTML_BLOCKS or tag == "br":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HTML_BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._cur.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _is_html(path: Path) -> bool:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return name.endswith(HTML_SUFFIXES)


def cookies(path: Path):
    """The cookies of one fortune file, each a list of stripped lines; a text file
    without ``%`` separators (gzipped or not) gives one per blank-line-separated block,
    and an HTML page one per paragraph (code, commands and navigation left out)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    raw = ANSI.sub("", data.decode("utf-8", errors="replace"))
    if _is_html(path):
        parser = _HTMLText()
        parser.feed(raw)
        parser.close()
        for block in parser.blocks:
            yield [block]
        return
    blocks = raw.split("\n%\n") if "\n%\n" in raw else re.split(r"\n[ \t]*\n", raw)
    for cookie in blocks:
        yield [ln.rstrip() for ln in cookie.strip("\n%").splitlines()]


def paragraphs(lines: list[str]):
    """Wrapped lines joined into paragraphs; a blank line, an attribution or a verse line
    (a Chinese line ending in its own punctuation) ends one."""
    cur = ""
    for ln in lines:
        s = ln.strip()
        if not s:
            if cur:
                yield cur
            cur = ""
            continue
        attribution = s.startswith(("--", "——"))
        if attribution:
            if cur:
                yield cur
            cur = ""
            s = s.lstrip("-—").strip()
            if s:
                yield s
            continue
        cur = _join(cur, " ".join(s.split()))
        if _is_cjk(s[-1]) and s[-1] in "。！？；》」":
            yield cur
            cur = ""
    if cur:
        yield cur


def _pieces(text: str, max_chars: int):
    """``text`` cut at spaces (or anywhere, in a run without them) into pieces of at most
    ``max_chars``."""
    piece = ""
    for word in text.split(" "):
        while len(word) > max_chars:
            if piece:
                yield piece
                piece = ""
            yield word[:max_chars]
            word = word[max_chars:]
        if piece and len(piece) + 1 + len(word) > max_chars:
            yield piece
            piece = ""
        piece = f"{piece} {word}" if piece else word
    if piece:
        yield piece


def _split_sentences(paragraph: str) -> list[str]:
    """``paragraph`` cut after each sentence end; a full stop after an abbreviation, an
    initial or a dotted form (``Dr.``, ``J.``, ``P.O.``, ``a.m.``) or before a lowercase
    word, and an ellipsis, stay inside the sentence."""
    out, start = [], 0
    for m in SENTENCE_END.finditer(paragraph):
        mark = m.group()
        if mark.startswith("..."):
            continue
        if mark[0] == ".":
            word = paragraph[start:m.start()].split(" ")[-1].strip("(\"'").lower()
            following = paragraph[m.end():m.end() + 1]
            if (word in ABBREVIATIONS or len(word) <= 1 or "." in word
                    or (following and following.islower())):
                continue
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    out.append(paragraph[start:].strip())
    return [x for x in out if x]


def sentences(paragraph: str, max_chars: int):
    """Sentences of a paragraph; a longer one is cut at commas into runs of at most
    ``max_chars``, and a run still longer at spaces."""
    for sent in _split_sentences(paragraph):
        if len(sent) <= max_chars:
            yield sent
            continue
        run = ""
        for part in re.split(r"(?<=[,;:，、：])\s*", sent):
            if run and len(run) + 1 + len(part) > max_chars:
                yield from _pieces(run, max_chars)
                run = ""
            run = _join(run, part) if run else part
        if run:
            yield from _pieces(run, max_chars)


OVERLAP_TOKENS = 8
_TOKEN = re.compile(r"[0-9a-z]+|[^\W0-9a-z_]")


def tokens(text: str) -> list[str]:
    """Latin words and digit runs, and single other letters (a Chinese character each),
    after NFKC and lowercasing; punctuation and spaces are no tokens."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def token_runs(toks: list[str], n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens."""
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def label_grams(label_files: list[Path], n: int = OVERLAP_TOKENS) -> set[tuple[str, ...]]:
    """Every run of ``n`` tokens in the texts of ``file<TAB>text`` label files (a line
    shorter than ``n`` tokens gives itself whole)."""
    grams: set[tuple[str, ...]] = set()
    for path in label_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            toks = tokens(line.split("\t", 1)[-1])
            if len(toks) >= n:
                grams |= token_runs(toks, n)
            elif toks:
                grams.add(tuple(toks))
    return grams


def overlaps(sentence: str, grams: set[tuple[str, ...]], n: int = OVERLAP_TOKENS) -> bool:
    toks = tokens(sentence)
    if len(toks) < n:
        return tuple(toks) in grams
    return any(g in grams for g in token_runs(toks, n))


def corpus(paths: list[Path], allowed: set[str], max_chars: int,
           skip: set[str] = frozenset(), exclude: set[tuple[str, ...]] = frozenset(),
           dropped: list[str] | None = None) -> list[str]:
    """The sentences of fortune files, text files and HTML pages (or folders of them:
    the fortune files in one, the HTML pages anywhere below it) written with ``allowed``;
    files named in ``skip`` are left out, and sentences overlapping ``exclude`` (see
    :func:`label_grams`) go to ``dropped``."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and not f.suffix
                            and f.name not in SKIP_FILES and f.name not in skip)
            files += sorted(f for f in p.rglob("*") if f.is_file() and _is_html(f)
                            and f.name not in skip)
        elif p.name not in skip:
            files.append(p)
    seen: set[str] = set()
    out: list[str] = []
    for f in files:
        for cookie in cookies(f):
            if _looks_like_art(cookie):
                continue
            for para in paragraphs(cookie):
                for sent in sentences(unicodedata.normalize("NFC", para), max_chars):
                    if len(sent) < 2 or sent in seen:
                        continue
                    if not all(ch in allowed or ch == " " for ch in sent):
                        continue
                    seen.add(sent)
                    if exclude and overlaps(sent, exclude):
                        if dropped is not None:
                            dropped.append(sent)
                        continue
                    out.append(sent)
    return out


# How quoted speech opens in Chinese prose; the quote holds the sentence's own end mark.
SPEECH_VERBS = ("说", "问", "答", "道", "曰", "云", "表示", "指出", "认为", "写道", "回答",
                "强调", "笑道", "问道")
# What follows a surname when a speaker is named by it.
SPEAKER_TITLES = ("先生", "女士", "老师", "教授", "同学", "经理", "君", "公", "子", "生")


def quote_speech(lines: list[str], fraction: float, rng: random.Random) -> list[str]:
    """A ``fraction`` of the Chinese sentences that end in 。！？ (and hold no quote
    marks) put into a speaker's mouth: ``张伟说：“……。”``, the way news, stories and
    classical prose quote. Technical prose seldom quotes whole sentences, so without this
    a model rarely sees a closing ” after 。 or ？ (and reads it as ASCII ")."""
    out = []
    for line in lines:
        if (rng.random() < fraction and line[-1] in "。！？" and _is_cjk(line[0])
                and not any(q in line for q in "“”\"「」")):
            speaker = person_name(rng)
            if rng.random() < 0.4:  # a surname and a title: 王先生, 李教授, 孟子
                speaker = speaker[:2 if len(speaker) == 4 else 1] + rng.choice(SPEAKER_TITLES)
            line = f"{speaker}{rng.choice(SPEECH_VERBS)}：“{line}”"
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", type=Path,
                    help="fortune files, text files, HTML pages, or folders of them")
    ap.add_argument("--charset", required=True, help="keep sentences this charset can write")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--max-chars", type=int, default=60, help="cut longer sentences at commas")
    ap.add_argument("--skip", action="append", default=[], metavar="NAME",
                    help="leave out the fortune file of this name (repeatable)")
    ap.add_argument("--exclude-overlap", action="append", default=[], type=Path,
                    metavar="LABELS", help="drop sentences sharing a run of "
                    f"{OVERLAP_TOKENS} tokens with a line of this file<TAB>text label file "
                    "(repeatable): text you measure on")
    ap.add_argument("--quoted", type=float, default=0.0, metavar="FRACTION",
                    help="put this share of the Chinese sentences into quoted speech "
                    "(see quote_speech)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --quoted")
    ap.add_argument("--cjk-only", action="store_true",
                    help="keep only sentences with a Chinese character (the Chinese "
                    "edition of a manual leaves some English untranslated, in fragments)")
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.paths + args.exclude_overlap if not p.exists()]
    if missing:
        ap.error(f"no such file or folder: {', '.join(missing)} (install the texts: "
                 "make text-deps)")
    dropped: list[str] = []
    lines = corpus(args.paths, set(Charset.resolve(args.charset).chars), args.max_chars,
                   skip=set(args.skip), exclude=label_grams(args.exclude_overlap),
                   dropped=dropped)
    if args.cjk_only:
        lines = [s for s in lines if any(_is_cjk(c) for c in s)]
    if not lines:
        ap.error("no sentence could be written with that charset")
    if args.quoted:
        lines = quote_speech(lines, args.quoted, random.Random(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    latin = sum(1 for s in lines if not any(_is_cjk(c) for c in s))
    print(f"wrote {len(lines):,} lines ({latin:,} without CJK) to {args.out}")
    if args.exclude_overlap:
        print(f"dropped {len(dropped):,} sentences overlapping "
              f"{', '.join(map(str, args.exclude_overlap))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

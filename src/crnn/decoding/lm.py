"""Character n-gram language model: build from plain text, store, score; ``crnn lm``.

Tokens are characters (each Chinese character, Latin letter, digit, punctuation mark and
space is one token; runs of whitespace count as one space), or with ``word_tokens`` every
run of Latin letters ``[A-Za-z]+`` is one token and everything else stays a character.
Each non-empty line of the training text is a sentence, wrapped in ``<s> ... </s>``.

Smoothing: interpolated modified Kneser-Ney (Chen & Goodman 1998), three discounts per
order estimated from counts of counts, the unigram level interpolated with the uniform
distribution so that every token, ``<unk>`` included, gets a probability. The model is
stored in backoff form (each seen n-gram's interpolated log-probability, each context's
log interpolation weight), which gives the interpolated probabilities exactly; see
``docs/decoders.md`` for the file layout. Natural logarithms throughout.

    crnn lm build --text corpus.txt --order 5 --out lm.bin
    crnn lm score --lm lm.bin --text held_out.txt
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import CrnnError

__all__ = ["NGramLM", "LanguageModelError", "tokenize", "add_arguments", "run", "main", "MAGIC",
           "FORMAT_VERSION"]

MAGIC = b"CRNNLM\x00\x1a"
FORMAT_VERSION = 1
FLAG_WORD_TOKENS = 1
# magic, version, order, flags, vocabulary size, n-gram entries, vocabulary bytes
_HEADER = struct.Struct("<8sIIIIQQ")

UNK, BOS, EOS = 0, 1, 2
SPECIALS = ("<unk>", "<s>", "</s>")
_NEVER = -99.0  # log-probability stored for <s>, which is never predicted
_LATIN_WORD = re.compile(r"[A-Za-z]+|.", re.S)


class LanguageModelError(CrnnError):
    """A language-model file or its training text cannot be used."""


def tokenize(text: str, word_tokens: bool = False) -> list[str]:
    """One line of text -> tokens (whitespace runs become one space, ends stripped)."""
    text = " ".join(text.split())
    if not word_tokens:
        return list(text)
    return _LATIN_WORD.findall(text)


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney discounts ``D1, D2, D3+`` from adjusted counts ``(U,)``."""
    n = [int(np.count_nonzero(counts == i)) for i in (1, 2, 3, 4)]
    fallback = np.array([0.5, 1.0, 1.5])
    if n[0] == 0 or n[1] == 0:
        return fallback
    y = n[0] / (n[0] + 2 * n[1])
    d = np.array([
        1 - 2 * y * n[1] / n[0],
        2 - 3 * y * n[2] / n[1],
        3 - 4 * y * n[3] / n[2] if n[2] else fallback[2],
    ])
    # tiny corpora give out-of-range estimates; keep each in (0, i]
    bad = ~np.isfinite(d) | (d <= 0) | (d > np.array([1.0, 2.0, 3.0]))
    return np.where(bad, fallback, d)


def _apply_discount(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.where(a >= 3, d[2], np.where(a == 2, d[1], np.where(a == 1, d[0], 0.0)))


class NGramLM:
    """A backoff n-gram table, queried in batches.

    A *state* is the id of the longest context the model knows (0 = no context). Entry
    ``e`` (0-based) of the table is the n-gram with global id ``e + 1``; its key is
    ``id(context) * V + token``, keys are sorted, so a lookup is a binary search.

    Args:
        vocab: tokens by id; ids 0, 1, 2 are ``<unk>``, ``<s>``, ``</s>``.
        order: n. keys ``(E,)`` int64, logprob ``(E,)`` float32, backoff ``(E+1,)``
        float32 (index = global id, 0 the empty context), suffix ``(E+1,)`` int32 (the id
        of the n-gram without its first token), per_order ``(order,)`` entries per order.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        order: int,
        keys: np.ndarray,
        logprob: np.ndarray,
        backoff: np.ndarray,
        suffix: np.ndarray,
        per_order: np.ndarray,
        word_tokens: bool = False,
        source: str = "memory",
    ) -> None:
        self.vocab = tuple(vocab)
        self.order = int(order)
        self.keys = keys
        self.logprob = logprob
        self.backoff = backoff
        self.suffix = suffix
        self.per_order = per_order
        self.word_tokens = bool(word_tokens)
        self.source = source
        self._index = {tok: i for i, tok in enumerate(self.vocab)}
        self._next = self._minimal_states()

    # ------------------------------------------------------------------ queries
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def token_id(self, token: str) -> int:
        """A token's id; ``<unk>`` (0) for tokens the training text never had."""
        return self._index.get(token, UNK)

    def start_state(self) -> int:
        """The state after ``<s>``: where every line starts."""
        return int(self._next[BOS + 1])

    def _minimal_states(self) -> np.ndarray:
        """For each global id, the state to continue from: itself if it is the context of
        some longer n-gram, else (recursively) its suffix's. Nothing else changes scores,
        as a context without continuations has backoff 0."""
        e = len(self.keys)
        has_children = np.zeros(e + 1, dtype=bool)
        has_children[np.unique(self.keys // self.vocab_size)] = True
        nxt = np.zeros(e + 1, dtype=np.int64)
        start = 1
        for count in self.per_order.tolist():  # lower orders first: suffixes are ready
            ids = np.arange(start, start + count)
            nxt[ids] = np.where(has_children[ids], ids, nxt[self.suffix[ids]])
            start += count
        return nxt

    def score(self, states: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log P(token | state)`` ``(M,)`` float64 and the states after each token."""
        cur = np.array(states, dtype=np.int64).reshape(-1)
        tok = np.asarray(tokens, dtype=np.int64).reshape(-1)
        lp = np.zeros(len(cur))
        new = np.zeros(len(cur), dtype=np.int64)
        todo = np.arange(len(cur))
        e = len(self.keys)
        v = self.vocab_size
        while todo.size:  # at most `order` rounds: the empty context knows every token
            key = cur[todo] * v + tok[todo]
            idx = np.minimum(np.searchsorted(self.keys, key), e - 1)
            hit = self.keys[idx] == key
            h = todo[hit]
            lp[h] += self.logprob[idx[hit]]
            new[h] = self._next[idx[hit] + 1]
            todo = todo[~hit]
            lp[todo] += self.backoff[cur[todo]]
            cur[todo] = self.suffix[cur[todo]]
        return lp, new

    def sentence_logprob(self, text: str) -> tuple[float, int]:
        """Natural-log probability of one line (``</s>`` included) and its token count."""
        toks = [self.token_id(t) for t in tokenize(text, self.word_tokens)] + [EOS]
        state = self.start_state()
        total = 0.0
        for tok in toks:
            lp, nxt = self.score(np.array([state]), np.array([tok]))
            total += float(lp[0])
            state = int(nxt[0])
        return total, len(toks)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, lines: Iterable[str], order: int = 4, word_tokens: bool = False,
              min_count: int = 1) -> NGramLM:
        """Train on lines of text (one sentence each) with interpolated modified KN.

        min_count: n-grams of two or more tokens seen fewer times are left out of the
        table (the smoothing still counts them); each context's backoff weight is
        computed again so that its probabilities still sum to one. 1 keeps every n-gram;
        2 or 3 make a model several times smaller that scores almost alike."""
        if order < 1:
            raise LanguageModelError(f"--order must be at least 1, got {order}")
        if min_count < 1:
            raise LanguageModelError(f"--min-count must be at least 1, got {min_count}")
        index: dict[str, int] = {}
        seq: list[int] = []
        for line in lines:
            toks = tokenize(line, word_tokens)
            if not toks:
                continue
            seq.append(-1)  # <s>, resolved once the vocabulary is sorted
            for t in toks:
                k = index.get(t)
                if k is None:
                    k = index[t] = len(index)
                seq.append(k)
            seq.append(-2)  # </s>
        if not index:
            raise LanguageModelError("the training text has no tokens (all lines empty?)")
        words = sorted(index)
        vocab = [*SPECIALS, *words]
        remap = np.empty(len(index), dtype=np.int64)
        remap[[index[w] for w in words]] = np.arange(len(words)) + len(SPECIALS)
        raw = np.asarray(seq, dtype=np.int64)
        tokens = np.where(raw == -1, BOS, np.where(raw == -2, EOS, remap[np.maximum(raw, 0)]))
        sent = np.cumsum(tokens == BOS) - 1
        arrays, raw = _kneser_ney(tokens, sent, len(vocab), order)
        lm = cls(vocab, order, *arrays, word_tokens=word_tokens, source="built")
        return lm._pruned(raw, min_count) if min_count > 1 and order > 1 else lm

    def _pruned(self, raw: np.ndarray, min_count: int) -> NGramLM:
        """This model without the n-grams (two tokens or more) of a raw count below
        ``min_count``, each remaining context's backoff weight recomputed:
        ``(1 - sum P(w|h)) / (1 - sum P'(w|h'))`` over the kept continuations ``w`` of
        ``h``, ``P'`` being the pruned model's probability from ``h``'s suffix ``h'``.
        A raw count is never above its prefix's or suffix's, so the kept n-grams' contexts
        and suffixes are kept too."""
        e, v = len(self.keys), self.vocab_size
        keep = np.ones(e + 1, dtype=bool)  # by global id; 0 is the empty context
        keep[1:] = raw >= min_count
        keep[1 : 1 + int(self.per_order[0])] = True  # every unigram
        new_id = np.cumsum(keep) - 1  # old global id -> new global id
        old = np.flatnonzero(keep[1:])  # kept entries' old 0-based indices
        ctx = new_id[self.keys[old] // v]
        keys = ctx * v + self.keys[old] % v
        suffix = np.concatenate([[0], new_id[self.suffix[old + 1]]]).astype(np.int32)
        per_order = np.array([int(np.count_nonzero(keep[1:][lo:hi])) for lo, hi in
                              _order_spans(self.per_order)], dtype=np.int64)
        backoff = np.zeros(len(keys) + 1, dtype=np.float32)
        lm = NGramLM(self.vocab, self.order, keys, self.logprob[old], backoff, suffix,
                     per_order, self.word_tokens, self.source)
        spans = _order_spans(per_order)
        n_ctx = len(keys) + 1
        for k in range(1, self.order):  # contexts of order k, lower orders done first
            lo, hi = spans[k]
            c = keys[lo:hi] // v  # each order-(k+1) entry's context (a new global id)
            w = keys[lo:hi] % v
            p_hi = np.exp(lm.logprob[lo:hi].astype(np.float64))
            lp_lo, _ = lm.score(suffix[c], w)
            s_hi = np.bincount(c, weights=p_hi, minlength=n_ctx)
            s_lo = np.bincount(c, weights=np.exp(lp_lo), minlength=n_ctx)
            has = np.bincount(c, minlength=n_ctx) > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                bo = np.log(np.maximum(1.0 - s_hi, 1e-12) / np.maximum(1.0 - s_lo, 1e-12))
            backoff[has] = bo[has].astype(np.float32)
        lm._next = lm._minimal_states()
        return lm

    # ------------------------------------------------------------------ file format
    def save(self, path: str | Path) -> None:
        """Write the documented binary format (atomically: temp file + rename)."""
        path = Path(path)
        vocab_bytes = "\n".join(self.vocab).encode("utf-8")
        flags = FLAG_WORD_TOKENS if self.word_tokens else 0
        parts = [
            _HEADER.pack(MAGIC, FORMAT_VERSION, self.order, flags, self.vocab_size,
                         len(self.keys), len(vocab_bytes)),
            _pad8(vocab_bytes),
        ]
        for arr, dtype in self._arrays_with_types():
            parts.append(_pad8(np.ascontiguousarray(arr, dtype=dtype).tobytes()))
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(b"".join(parts))
        tmp.replace(path)

    def _arrays_with_types(self) -> list[tuple[np.ndarray, str]]:
        return [(self.per_order, "<u8"), (self.keys, "<i8"), (self.logprob, "<f4"),
                (self.backoff, "<f4"), (self.suffix, "<i4")]

    @classmethod
    def load(cls, path: str | Path) -> NGramLM:
        """Read a file written by :meth:`save` (no pickle; arrays are read in place)."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LanguageModelError(f"cannot read language model {path}: {exc.strerror}") from exc
        hint = "build one with: crnn lm build --text FILE --order 4 --out lm.bin"
        if len(data) < _HEADER.size or not data.startswith(MAGIC):
            raise LanguageModelError(f"{path} is not a crnn language model; {hint}")
        _, version, order, flags, v, e, nvocab = _HEADER.unpack_from(data)
        if version != FORMAT_VERSION:
            raise LanguageModelError(
                f"{path}: language-model format version {version}, this crnn reads "
                f"{FORMAT_VERSION}; rebuild it ({hint})"
            )
        off = _HEADER.size
        try:
            vocab = data[off : off + nvocab].decode("utf-8").split("\n")
            off += _padded(nvocab)
            arrays = []
            for count, dtype in ((order, "<u8"), (e, "<i8"), (e, "<f4"), (e + 1, "<f4"),
                                 (e + 1, "<i4")):
                arrays.append(np.frombuffer(data, dtype=dtype, count=count, offset=off))
                off += _padded(arrays[-1].nbytes)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LanguageModelError(f"{path} is truncated or corrupt ({exc}); {hint}") from exc
        per_order, keys, logprob, backoff, suffix = arrays
        if len(vocab) != v or int(per_order.sum()) != e or off != len(data):
            raise LanguageModelError(f"{path}: inconsistent sizes in the header; {hint}")
        return cls(vocab, order, keys, logprob, backoff, suffix, per_order.astype(np.int64),
                   word_tokens=bool(flags & FLAG_WORD_TOKENS), source=str(path))

    def __repr__(self) -> str:
        counts = ", ".join(f"{k + 1}-grams {c}" for k, c in enumerate(self.per_order.tolist()))
        kind = "word+char" if self.word_tokens else "char"
        return (f"NGramLM({self.source!r}, order {self.order}, {kind} tokens, "
                f"V={self.vocab_size}, {counts})")


def _order_spans(per_order: np.ndarray) -> list[tuple[int, int]]:
    """0-based entry index range of each order."""
    ends = np.cumsum(per_order).tolist()
    return [(int(a), int(b)) for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _padded(n: int) -> int:
    return (n + 7) // 8 * 8


def _pad8(b: bytes) -> bytes:
    return b + b"\x00" * (_padded(len(b)) - len(b))


def _kneser_ney(
    tokens: np.ndarray, sent: np.ndarray, v: int, order: int
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Token stream ``(L,)`` with sentence ids ``(L,)`` -> the backoff table arrays, and
    each entry's raw count.

    Per order k, n-grams get local ids 0..U_k-1 (unigrams: the token id); each knows its
    context (its first k-1 tokens) and suffix (its last k-1 tokens) as local ids of order
    k-1, its raw count, and its first token.
    """
    n_tok = len(tokens)
    ctx: list[np.ndarray] = [np.zeros(v, np.int64)]
    last: list[np.ndarray] = [np.arange(v)]
    suf: list[np.ndarray] = [np.zeros(v, np.int64)]
    raw: list[np.ndarray] = [np.bincount(tokens, minlength=v)]
    first: list[np.ndarray] = [np.arange(v)]
    ids = tokens.copy()  # id of the (k)-gram starting at each position, -1 if none
    for k in range(2, order + 1):
        span = n_tok - k + 1
        valid = np.zeros(n_tok, dtype=bool)
        if span > 0:
            valid[:span] = sent[:span] == sent[k - 1 :]
        pos = np.flatnonzero(valid)
        key = ids[pos] * v + tokens[pos + k - 1]
        uniq, first_at, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        at = pos[first_at]
        ctx.append(uniq // v)
        last.append(uniq % v)
        suf.append(ids[at + 1])
        raw.append(counts)
        first.append(tokens[at])
        ids = np.full(n_tok, -1, dtype=np.int64)
        ids[pos] = inverse.reshape(-1)
    # adjusted counts: continuation counts below the top order, except after <s>
    adj: list[np.ndarray] = []
    for k in range(order):
        if k == order - 1:
            a = raw[k].astype(np.float64)
        else:
            cont = np.bincount(suf[k + 1], minlength=len(raw[k])).astype(np.float64)
            a = np.where(first[k] == BOS, raw[k], cont).astype(np.float64)
        adj.append(a)
    adj[0][BOS] = 0.0  # <s> is never predicted
    offsets = np.cumsum([1] + [len(r) for r in raw])  # global id of each order's first entry
    e = int(offsets[-1] - 1)
    keys = np.empty(e, dtype=np.int64)
    logprob = np.empty(e, dtype=np.float64)
    backoff = np.zeros(e + 1, dtype=np.float64)
    suffix = np.zeros(e + 1, dtype=np.int64)
    prob_below: np.ndarray | None = None
    for k in range(order):
        a = adj[k]
        d = _discounts(a[a > 0] if k else np.delete(a, BOS))
        own = np.maximum(a - _apply_discount(a, d), 0.0)
        n_ctx = 1 if k == 0 else len(raw[k - 1])
        c = ctx[k]
        total = np.bincount(c, weights=a, minlength=n_ctx)
        held = np.bincount(c, weights=a - own, minlength=n_ctx)  # discount mass per context
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = np.where(total > 0, held / np.where(total > 0, total, 1.0), 1.0)
            if k == 0:
                p = own / total[0] + gamma[0] / (v - 1)  # uniform over all but <s>
                p[BOS] = 0.0
            else:
                assert prob_below is not None
                p = own / total[c] + gamma[c] * prob_below[suf[k]]
            lp = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), _NEVER)
        lo, hi = int(offsets[k]) - 1, int(offsets[k + 1]) - 1
        keys[lo:hi] = ((offsets[k - 1] + c) if k else c) * v + last[k]
        logprob[lo:hi] = lp
        suffix[lo + 1 : hi + 1] = (offsets[k - 1] + suf[k]) if k else 0
        if k:  # the interpolation weight of each context that has continuations
            ctx_ids = np.arange(n_ctx)
            with np.errstate(divide="ignore"):
                bo = np.where(total > 0, np.log(np.where(gamma > 0, gamma, 1.0)), 0.0)
            backoff[offsets[k - 1] + ctx_ids] = bo
        prob_below = p
    per_order = np.array([len(r) for r in raw], dtype=np.int64)
    # stored precision, so that a built model and its saved copy score alike
    return ((keys, logprob.astype(np.float32), backoff.astype(np.float32),
             suffix.astype(np.int32), per_order), np.concatenate(raw))


# ---------------------------------------------------------------------- command line
def _read_lines(paths: Sequence[str]) -> Iterable[str]:
    for p in paths:
        try:
            with open(p, encoding="utf-8-sig") as fh:
                yield from fh
        except OSError as exc:
            raise LanguageModelError(f"cannot read text file {p}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise LanguageModelError(
                f"text file {p} is not UTF-8 (bad byte at offset {exc.start}); re-save it "
                "as UTF-8"
            ) from exc


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """``crnn lm``'s actions (build, score) and their options, added to ``ap``."""
    sub = ap.add_subparsers(dest="lm_command", metavar="ACTION", required=True)
    b = sub.add_parser(
        "build", help="train a model on plain text (one sentence per line, UTF-8)",
        epilog="example:\n  crnn lm build --text news.txt letters.txt --order 5 --out lm.bin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--text", nargs="+", required=True, metavar="FILE", help="training text")
    b.add_argument("--order", type=int, default=4, help="n of the n-grams (default 4)")
    b.add_argument("--out", required=True, metavar="FILE", help="where to write the model")
    b.add_argument("--min-count", type=int, default=1, metavar="N",
                   help="leave out n-grams (2+ tokens) seen fewer than N times: a smaller "
                        "model (default 1: keep all)")
    b.add_argument("--word-tokens", action="store_true",
                   help="make each run of Latin letters one token (default: characters)")
    s = sub.add_parser(
        "score", help="perplexity of a model on held-out text",
        epilog="example:\n  crnn lm score --lm lm.bin --text held_out.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--lm", required=True, metavar="FILE")
    s.add_argument("--text", nargs="+", required=True, metavar="FILE")


def run(args: argparse.Namespace) -> int:
    """``crnn lm build|score`` with parsed arguments; returns the exit status."""
    try:
        if args.lm_command == "build":
            t0 = time.perf_counter()
            lm = NGramLM.build(_read_lines(args.text), args.order, args.word_tokens,
                               args.min_count)
            lm.save(args.out)
            size = Path(args.out).stat().st_size
            print(f"wrote {args.out}: {lm!r}, {size / 1e6:.1f} MB, "
                  f"{time.perf_counter() - t0:.1f} s")
        else:
            lm = NGramLM.load(args.lm)
            total, count, oov = 0.0, 0, 0
            for line in _read_lines(args.text):
                if not line.strip():
                    continue
                lp, n = lm.sentence_logprob(line)
                total += lp
                count += n
                oov += sum(lm.token_id(t) == UNK for t in tokenize(line, lm.word_tokens))
            if not count:
                raise LanguageModelError("the text to score has no tokens")
            print(f"{lm!r}\ntokens {count} (incl. </s>), out of vocabulary {oov}, "
                  f"perplexity {np.exp(-total / count):.2f}")
    except CrnnError as exc:
        print(f"crnn lm: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``crnn lm`` called from Python: parse ``argv`` (the arguments after ``lm``), run."""
    ap = argparse.ArgumentParser(
        prog="crnn lm", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Character n-gram language models for beam-search decoding "
        "(interpolated modified Kneser-Ney).")
    add_arguments(ap)
    return run(ap.parse_args(argv))

"""Decoders: logits ``(T, N, K)`` -> text, one entry point for predict, eval and serve.

    >>> dec = build_decoder(DecoderConfig(kind="beam", beam_width=10, lm="lm.bin"), charset)
    >>> dec(logits, lengths)[0].text

Kinds:

- ``greedy``: best path (``crnn.decoding.ctc.greedy_decode``).
- ``beam``: CTC prefix beam search; ``n_best`` readings with their log-probabilities;
  optional character n-gram language model by shallow fusion,
  ``score = log P_ctc + lm_weight * log P_lm + length_bonus * length``.
  Width 1 without a language model is best-path decoding exactly.
- ``lexicon``: the entry of a word/phrase list with the highest CTC probability.

Every kind honours ``allow``: the classes outside it are removed before the softmax
renormalisation (the same as setting their logits to -inf), the blank always stays.
Lexicon and language model files are loaded once, in :func:`build_decoder`.
"""

from __future__ import annotations

import dataclasses
import math
import string
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..charset import Charset, mostly_latin
from ..errors import ConfigError
from .ctc import (
    Decoded,
    PrefixScorer,
    _frame_candidates,
    alignment_char_probs,
    best_and_normalizer,
    ctc_forward,
    greedy_decode,
    log_normalizer,
    prefix_beam_search,
)
from .lexicon import Lexicon, score_lexicon
from .lm import EOS, NGramLM

__all__ = [
    "ALLOW_PRESETS",
    "DecoderConfig",
    "Decoder",
    "GreedyDecoder",
    "BeamDecoder",
    "LexiconDecoder",
    "LineScores",
    "best_alignments",
    "build_decoder",
    "resolve_allowed",
]

KINDS = ("greedy", "beam", "lexicon")
_DIGITS = "0123456789"
ALLOW_PRESETS: dict[str, str] = {
    "digits": _DIGITS,
    # numeric and Chinese-numeral dates: 2025-09-01, 2025年9月1日, 二〇二五年九月一日
    "date": _DIGITS + "-./ 年月日〇零一二三四五六七八九十",
    "phone": _DIGITS + "-+() ",
    "id": _DIGITS + "X",
    "latin": string.ascii_letters,
    "alnum": string.ascii_letters + _DIGITS,
    "ascii": "".join(chr(c) for c in range(0x20, 0x7F)),
}
# Classes a frame may extend a prefix with, at most (the likeliest above prune_prob).
_MAX_CANDIDATES = 16
# Unsure lines searched in one call, at most (its arrays: frames x lines x their classes).
_SEARCH_CHUNK = 128
# The logit of a column a line does not have (probability 0, yet finite arithmetic).
_ABSENT = -1e30


def resolve_allowed(spec: str) -> str:
    """An ``allow`` value -> its characters.

    A preset name (``digits``, ``date``, ``phone``, ``id``, ``latin``, ``alnum``,
    ``ascii``), presets joined by ``+`` (``latin+digits``), ``chars:`` followed by the
    characters, or else the characters themselves (``0123456789-``). Names win: write
    ``chars:id`` for the two letters.
    """
    if spec.startswith("chars:"):
        return spec[len("chars:") :]
    parts = spec.split("+")
    if all(p in ALLOW_PRESETS for p in parts):
        return "".join(ALLOW_PRESETS[p] for p in parts)
    return spec


@dataclass(frozen=True)
class DecoderConfig:
    """How logits become text. See the module docstring for the kinds.

    beam_width: prefixes kept per frame (beam). n_best: readings returned in
    ``Decoded.alternatives`` (beam, lexicon). allow: characters the decoder may output
    (:func:`resolve_allowed`). lexicon: path of a word list, one entry per line (kind
    ``lexicon``). lm: path of a ``crnn lm build`` model (kind ``beam``). lm_weight: alpha,
    length_bonus: beta of the fused score. prune_prob: beam search extends prefixes only
    with classes at least this probable in a frame. lexicon_distance: edit-distance radius
    around the best-path reading within which lexicon entries are scored (large lists).
    search_below (beam): only lines whose best-path confidence is at most this are
    searched; surer lines keep their best path (1: every line is searched).
    search_latin_below (beam): the same for lines whose best path reads as mostly Latin
    (:func:`crnn.charset.mostly_latin`); None: ``search_below`` for them too.
    """

    kind: str = "greedy"
    beam_width: int = 10
    n_best: int = 1
    allow: str | None = None
    lexicon: str | None = None
    lm: str | None = None
    lm_weight: float = 0.5
    length_bonus: float = 0.0
    prune_prob: float = 1e-3
    lexicon_distance: int = 3
    search_below: float = 1.0
    search_latin_below: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"decoder kind {self.kind!r} is unknown: choose one of {KINDS}")
        for name in ("beam_width", "n_best", "lexicon_distance"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"decoder {name} must be an integer, got {v!r}")
        if self.beam_width < 1:
            raise ConfigError(f"decoder beam_width must be >= 1, got {self.beam_width}")
        if self.n_best < 1:
            raise ConfigError(f"decoder n_best must be >= 1, got {self.n_best}")
        if self.kind == "beam" and self.n_best > self.beam_width:
            raise ConfigError(
                f"decoder n_best ({self.n_best}) cannot exceed beam_width ({self.beam_width})"
            )
        if self.lexicon_distance < 0:
            raise ConfigError(f"lexicon_distance must be >= 0, got {self.lexicon_distance}")
        for name in ("allow", "lexicon", "lm"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, str) or not v):
                raise ConfigError(f"decoder {name} must be a non-empty string or None, got {v!r}")
        if self.kind == "lexicon" and self.lexicon is None:
            raise ConfigError("decoder kind 'lexicon' needs a lexicon file (--lexicon FILE)")
        if self.lexicon is not None and self.kind != "lexicon":
            raise ConfigError(f"a lexicon is used by decoder kind 'lexicon', not {self.kind!r}")
        if self.lm is not None and self.kind != "beam":
            raise ConfigError(
                f"a language model is used by decoder kind 'beam', not {self.kind!r}"
            )
        for name in ("lm_weight", "length_bonus", "prune_prob", "search_below"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"decoder {name} must be a finite number, got {v!r}")
        if self.lm_weight < 0:
            raise ConfigError(f"decoder lm_weight must be >= 0, got {self.lm_weight}")
        if not 0 <= self.search_below <= 1:
            raise ConfigError(f"decoder search_below must be in [0, 1], got {self.search_below}")
        latin = self.search_latin_below
        if latin is not None and (isinstance(latin, bool) or not isinstance(latin, (int, float))
                                  or not 0 <= latin <= 1):
            raise ConfigError(f"decoder search_latin_below must be in [0, 1] or None, got "
                              f"{latin!r}")
        if not 0 <= self.prune_prob < 1:
            raise ConfigError(f"decoder prune_prob must be in [0, 1), got {self.prune_prob}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DecoderConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown decoder option(s) {unknown}: valid are {sorted(names)}")
        return cls(**d)


class _ClassSpace:
    """The classes a decoder may output: all of the charset, or the allowed part of it.

    ``cols`` ``(A,)`` are the logit columns kept (0, the blank, first); ``charset`` names
    the kept columns 1..A-1, so decoding in the reduced space needs no mapping back.
    """

    def __init__(self, charset: Charset, allow: str | None) -> None:
        self.full = charset
        if allow is None:
            self.cols: np.ndarray | None = None
            self.charset = charset
            return
        chars = resolve_allowed(allow)
        present = sorted({charset.index(ch) for ch in chars if ch in charset})
        missing = "".join(dict.fromkeys(ch for ch in chars if ch not in charset))
        if not present:
            raise ConfigError(
                f"allow={allow!r}: none of its characters is in charset {charset.name}"
            )
        named = all(p in ALLOW_PRESETS for p in allow.split("+"))
        if missing and not named:
            warnings.warn(
                f"allow={allow!r}: {missing!r} not in charset {charset.name}; ignored",
                stacklevel=3,
            )
        self.cols = np.array([0, *present], dtype=np.int64)
        self.charset = Charset([charset.chars[k - 1] for k in present],
                               name=f"{charset.name} (allow {allow})")

    def select(self, logits: np.ndarray) -> np.ndarray:
        """``(T, N, K)`` -> ``(T, N, A)`` float32."""
        x = np.asarray(logits, dtype=np.float32)
        if x.ndim != 3:
            raise ValueError(f"expected logits of shape (T, N, K), got {x.shape}")
        if x.shape[2] != self.full.num_classes:
            raise ValueError(
                f"logits have {x.shape[2]} classes but charset {self.full.name} has "
                f"{self.full.num_classes} (characters + blank): wrong charset for this model?"
            )
        return x if self.cols is None else x[:, :, self.cols]


class Decoder:
    """Base: ``decoder(logits (T, N, K), lengths (N,) | None) -> list[Decoded]`` (N items).

    ``lengths`` are the valid frames of each line (padding past them is ignored).
    """

    def __init__(self, config: DecoderConfig, charset: Charset) -> None:
        self.config = config
        self.charset = charset
        self.space = _ClassSpace(charset, config.allow)

    def _inputs(self, logits: np.ndarray, lengths: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """The logits over the allowed classes, and each line's frames."""
        x = self.space.select(logits)
        t, n, _ = x.shape
        if lengths is None:
            return x, np.full(n, t, dtype=np.int64)
        lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if lens.shape != (n,):
            raise ValueError(f"lengths has shape {lens.shape}, expected ({n},)")
        return x, np.clip(lens, 0, t)

    def __call__(self, logits: np.ndarray, lengths: np.ndarray | None = None) -> list[Decoded]:
        x, lens = self._inputs(logits, lengths)
        if x.shape[1] == 0:
            return []
        return self._decode(x, lens)

    def decode_batches(self, batches: Iterable[tuple[np.ndarray, np.ndarray | None]]
                       ) -> list[list[Decoded]]:
        """Many batches, ``(logits, lengths)`` each, decoded as ``self(logits, lengths)``
        decodes them one by one (the same readings); a decoder may gather work across
        them. Each batch is read from the iterable once, in turn, so its logits can be
        let go before the next one is made."""
        return [self(logits, lengths) for logits, lengths in batches]

    def _decode(self, x: np.ndarray, lengths: np.ndarray) -> list[Decoded]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


class GreedyDecoder(Decoder):
    """Best path: the likeliest class per frame, repeats merged, blanks dropped."""

    def _decode(self, x: np.ndarray, lengths: np.ndarray) -> list[Decoded]:
        return greedy_decode(x, self.space.charset, lengths)


def _finish(
    x: np.ndarray,
    lse: np.ndarray,
    lengths: np.ndarray,
    charset: Charset,
    ranked: list[list[tuple[tuple[int, ...], float]]],
    class_map: np.ndarray | None = None,
) -> list[Decoded]:
    """Per line, ranked ``(classes, score)`` -> Decoded: the best reading's characters get
    their probabilities from its best alignment, as greedy decoding reports them. With
    ``class_map`` (:func:`crnn.decoding.ctc.prefix_beam_search`), readings hold columns."""
    n = len(ranked)
    best = [r[0][0] if r else () for r in ranked]
    _, paths = ctc_forward(x, lse, np.arange(n), best, lengths, viterbi=True)
    assert paths is not None
    out = []
    for i in range(n):
        if not ranked[i]:  # nothing could fit in the frames
            out.append(Decoded("", 0.0, ()))
            continue
        alts = tuple((charset.decode(c if class_map is None else
                                     tuple(class_map[i, list(c)].tolist())), s)
                     for c, s in ranked[i])
        char_p = alignment_char_probs(x, lse, i, best[i], paths[:, i])
        if char_p:
            conf = min(char_p)
        else:  # an empty reading: how sure the frames are of the blank, as greedy says
            t = int(lengths[i])
            conf = float(np.exp(x[:t, i, 0] - lse[:t, i]).mean()) if t else 0.0
        out.append(Decoded(alts[0][0], conf, char_p, alts))
    return out


class _BonusScorer:
    """Length bonus without a language model."""

    def __init__(self, bonus: float) -> None:
        self.bonus = bonus

    def initial(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def extend(self, states: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(states), self.bonus), states

    def final(self, states: np.ndarray) -> np.ndarray:
        return np.zeros(len(states))


class _CharLMScorer:
    """Shallow fusion with a character-token model, vectorised."""

    def __init__(self, lm: NGramLM, charset: Charset, weight: float, bonus: float) -> None:
        self.lm, self.weight, self.bonus = lm, weight, bonus
        # class -> model token (class 0, the blank, is never asked for)
        self.tokens = np.array([0, *(lm.token_id(ch) for ch in charset.chars)], dtype=np.int64)
        # holds no state between lines: one is made per decoder (BeamDecoder._scorer)

    def initial(self, n: int) -> np.ndarray:
        return np.full(n, self.lm.start_state(), dtype=np.int64)

    def extend(self, states: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lp, new = self.lm.score(states, self.tokens[classes])
        return self.weight * lp + self.bonus, new

    def final(self, states: np.ndarray) -> np.ndarray:
        lp, _ = self.lm.score(states, np.full(len(states), EOS))
        return self.weight * lp


class _WordLMScorer:
    """Shallow fusion with a model whose Latin words are tokens: a word's letters are
    scored together when the word ends (at a non-letter or the end of the line)."""

    def __init__(self, lm: NGramLM, charset: Charset, weight: float, bonus: float) -> None:
        self.lm, self.weight, self.bonus = lm, weight, bonus
        self.chars = ("", *charset.chars)
        self.states: list[tuple[int, str]] = [(lm.start_state(), "")]
        self.index: dict[tuple[int, str], int] = {self.states[0]: 0}
        self.cache: dict[tuple[int, int], tuple[float, int]] = {}

    def _intern(self, state: tuple[int, str]) -> int:
        k = self.index.get(state)
        if k is None:
            k = self.index[state] = len(self.states)
            self.states.append(state)
        return k

    def _step(self, ctx: int, token: str) -> tuple[float, int]:
        lp, new = self.lm.score(np.array([ctx]), np.array([self.lm.token_id(token)]))
        return float(lp[0]), int(new[0])

    def initial(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def extend(self, states: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        delta = np.empty(len(states))
        new = np.empty(len(states), dtype=np.int64)
        for i, key in enumerate(zip(states.tolist(), classes.tolist(), strict=True)):
            hit = self.cache.get(key)
            if hit is None:
                ctx, pending = self.states[key[0]]
                ch = self.chars[key[1]]
                if ch.isascii() and ch.isalpha():
                    hit = (self.bonus, self._intern((ctx, pending + ch)))
                else:
                    lp = 0.0
                    if pending:
                        lp, ctx = self._step(ctx, pending)
                    lp_c, ctx = self._step(ctx, ch)
                    hit = (self.weight * (lp + lp_c) + self.bonus, self._intern((ctx, "")))
                self.cache[key] = hit
            delta[i], new[i] = hit
        return delta, new

    def final(self, states: np.ndarray) -> np.ndarray:
        out = np.empty(len(states))
        for i, s in enumerate(states.tolist()):
            ctx, pending = self.states[s]
            lp = 0.0
            if pending:
                lp, ctx = self._step(ctx, pending)
            out[i] = self.weight * (lp + self._step(ctx, "</s>")[0])
        return out


class BeamDecoder(Decoder):
    """CTC prefix beam search (see :func:`crnn.decoding.ctc.prefix_beam_search`).

    The reported scores are exact: the n best readings are rescored with the forward
    algorithm (the beam's own sums miss alignments through pruned classes).
    """

    def __init__(self, config: DecoderConfig, charset: Charset) -> None:
        super().__init__(config, charset)
        self.lm = NGramLM.load(config.lm) if config.lm is not None else None
        self._char_scorer = (_CharLMScorer(self.lm, self.space.charset, config.lm_weight,
                                           config.length_bonus)
                             if self.lm is not None and not self.lm.word_tokens else None)

    def _scorer(self) -> PrefixScorer | None:
        cfg = self.config
        if self._char_scorer is not None:
            return self._char_scorer
        if self.lm is None:
            return _BonusScorer(cfg.length_bonus) if cfg.length_bonus else None
        return _WordLMScorer(self.lm, self.space.charset, cfg.lm_weight, cfg.length_bonus)

    def _searches_all(self) -> bool:
        cfg = self.config
        return cfg.search_below >= 1.0 and (cfg.search_latin_below is None
                                            or cfg.search_latin_below >= 1.0)

    def _decode(self, x: np.ndarray, lengths: np.ndarray) -> list[Decoded]:
        if self._searches_all():
            return self._search(x, lengths, log_normalizer(x))
        return self._best_path_then_search([(x, lengths)])[0]

    def decode_batches(self, batches: Iterable[tuple[np.ndarray, np.ndarray | None]]
                       ) -> list[list[Decoded]]:
        """Unless every line is searched, the unsure lines of all batches are searched
        together, in a few calls, once every batch is read by its best path: a search
        costs a step per frame however many lines it holds. Each unsure line keeps only
        the columns of the classes its search can reach (:func:`_columns`), so the
        batches' logits are let go as they are read."""
        if self._searches_all():
            return super().decode_batches(batches)
        return self._best_path_then_search(self._inputs(x, n) for x, n in batches)

    def _best_path_then_search(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]
                               ) -> list[list[Decoded]]:
        cfg = self.config
        out: list[list[Decoded]] = []
        unsure: list[tuple[int, int, LineScores]] = []
        for b, (x, lengths) in enumerate(batches):
            if x.shape[1] == 0:
                out.append([])
                continue
            best, lse = best_and_normalizer(x)
            read = greedy_decode(x, self.space.charset, lengths, lse=lse, best=best)
            unsure += [(b, i, _columns(x, lse, best, i, int(lengths[i]), cfg.prune_prob,
                                       max(_MAX_CANDIDATES, cfg.beam_width)))
                       for i, d in enumerate(read) if d.confidence <= self._below(d.text)]
            out.append(read)
        unsure.sort(key=lambda u: -len(u[2].lse))  # a chunk's lines of like lengths
        for k in range(0, len(unsure), _SEARCH_CHUNK):
            chunk = unsure[k:k + _SEARCH_CHUNK]
            x, lse, lengths, cmap = _pack([u[2] for u in chunk])
            for (b, i, cols), d in zip(chunk, self._search(x, lengths, lse, cmap),
                                       strict=True):
                out[b][i] = replace(d, scores=cols)
        return out

    def _below(self, text: str) -> float:
        """The confidence at or under which a line first read as ``text`` is searched."""
        cfg = self.config
        if cfg.search_latin_below is not None and mostly_latin(text):
            return cfg.search_latin_below
        return cfg.search_below

    def _search(self, x: np.ndarray, lengths: np.ndarray, lse: np.ndarray,
                class_map: np.ndarray | None = None) -> list[Decoded]:
        cfg = self.config
        scorer = self._scorer()
        n = x.shape[1]
        if cfg.beam_width == 1 and scorer is None:
            # One prefix summed over its alignments can lose to the best single path, so a
            # width-1 prefix search is not best-path decoding; this is, exactly.
            best = x.argmax(axis=2)
            cands = [[_collapse_tuple(best[: lengths[i], i])] for i in range(n)]
            extras = [[0.0] for _ in range(n)]
        else:
            hyps = prefix_beam_search(x, lse, lengths, cfg.beam_width, cfg.prune_prob,
                                      max(_MAX_CANDIDATES, cfg.beam_width), scorer,
                                      class_map)
            cands, extras = [], []
            for line in hyps:
                seen: dict[tuple[int, ...], float] = {}
                for h in line:  # a prefix can sit in two beams; it is one reading
                    if h.classes not in seen:
                        seen[h.classes] = h.score - h.ctc_score
                    if len(seen) == cfg.n_best:
                        break
                cands.append(list(seen))
                extras.append(list(seen.values()))
        rows = np.concatenate([np.full(len(c), i) for i, c in enumerate(cands)]).astype(np.int64)
        flat = [c for line in cands for c in line]
        exact, _ = ctc_forward(x, lse, rows, flat, lengths[rows])
        ranked: list[list[tuple[tuple[int, ...], float]]] = []
        k = 0
        for i in range(n):
            line = []
            for c, extra in zip(cands[i], extras[i], strict=True):
                score = float(exact[k]) + extra
                k += 1
                if math.isfinite(score):
                    line.append((c, score))
            line.sort(key=lambda cs: -cs[1])
            ranked.append(line)
        return _finish(x, lse, lengths, self.space.charset, ranked, class_map)


@dataclass(frozen=True)
class LineScores:
    """One line's scores over the few classes a search of it can use: ``x`` ``(T, k)``
    logits of ``classes`` (``(k,)``, the blank first), ``lse`` ``(T,)`` the log-normaliser
    over every class."""

    x: np.ndarray
    lse: np.ndarray
    classes: np.ndarray

    def log_likelihood(self, targets: Sequence[Sequence[int]]) -> np.ndarray | None:
        """``log P(target | line)`` of each class sequence (all alignments, natural log),
        as :func:`crnn.decoding.ctc.ctc_forward` gives it on the full logits; None when
        a target holds a class outside these columns."""
        column = {int(c): j for j, c in enumerate(self.classes)}
        try:
            mapped = [[column[c] for c in t] for t in targets]
        except KeyError:
            return None
        m = len(mapped)
        total, _ = ctc_forward(self.x[:, None, :], self.lse[:, None], np.zeros(m, np.int64),
                               mapped, np.full(m, len(self.lse)))
        return total


def best_alignments(lines: Sequence[LineScores], targets: Sequence[Sequence[int]],
                    chunk: int = 32) -> list[np.ndarray | None]:
    """Each target's likeliest single alignment (Viterbi) over its line's kept columns:
    per frame ``(T,)`` of that line, the extended-label position (even: a blank, ``2i + 1``:
    character ``i``); None where the target holds a class outside the columns. Lines of
    like lengths are aligned together, ``chunk`` to a call."""
    out: list[np.ndarray | None] = [None] * len(lines)
    mapped: dict[int, list[int]] = {}
    for j, (scores, target) in enumerate(zip(lines, targets, strict=True)):
        column = {int(c): q for q, c in enumerate(scores.classes)}
        if all(c in column for c in target):
            mapped[j] = [column[c] for c in target]
    order = sorted(mapped, key=lambda j: -len(lines[j].lse))
    for k in range(0, len(order), chunk):
        part = order[k:k + chunk]
        x, lse, lengths, _ = _pack([lines[j] for j in part])
        _, path = ctc_forward(x, lse, np.arange(len(part)), [mapped[j] for j in part],
                              lengths, viterbi=True)
        assert path is not None
        for q, j in enumerate(part):
            out[j] = path[:lengths[q], q]
    return out


def _columns(x: np.ndarray, lse: np.ndarray, best: np.ndarray, i: int, length: int,
             prune: float, max_candidates: int) -> LineScores:
    """Line ``i`` of a batch, cut to its frames and to the classes its search can reach:
    the blank, every class that is a candidate in some frame
    (:func:`crnn.decoding.ctc.prefix_beam_search` extends prefixes with no other), and
    its best path's (``best``: the batch's ``x.argmax(axis=2)``). A search over these
    columns reads what a search over all does."""
    xi, li = x[:length, i:i + 1], lse[:length, i:i + 1]
    cand, lp = _frame_candidates(xi, li, prune, max_candidates)
    reach = np.union1d(cand[np.isfinite(lp)], best[:length, i])
    classes = np.concatenate([[0], reach[reach != 0]]).astype(np.int64)
    return LineScores(np.ascontiguousarray(xi[:, 0, classes]), li[:, 0].copy(), classes)


def _pack(lines: Sequence[LineScores]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines of columns as one batch: logits ``(T, N, k)`` (columns a line lacks, and
    frames past its end, at a logit no class reaches), log-normaliser ``(T, N)``,
    lengths ``(N,)`` and class map ``(N, k)``."""
    t = max(len(c.lse) for c in lines)
    k = max(len(c.classes) for c in lines)
    n = len(lines)
    x = np.full((t, n, k), _ABSENT, dtype=lines[0].x.dtype)
    lse = np.zeros((t, n), dtype=lines[0].lse.dtype)
    cmap = np.zeros((n, k), dtype=np.int64)
    for j, c in enumerate(lines):
        x[:len(c.lse), j, :len(c.classes)] = c.x
        lse[:len(c.lse), j] = c.lse
        cmap[j, :len(c.classes)] = c.classes
    return x, lse, np.array([len(c.lse) for c in lines], dtype=np.int64), cmap


def _collapse_tuple(path: np.ndarray) -> tuple[int, ...]:
    keep = np.ones(len(path), dtype=bool)
    keep[1:] = path[1:] != path[:-1]
    return tuple(int(c) for c in path[keep & (path != 0)])


class LexiconDecoder(Decoder):
    """The lexicon entry with the highest CTC probability per line (see crnn.decoding.lexicon).

    ``lexicon``: an already built :class:`Lexicon` (over ``charset``, or over the allowed
    part of it) instead of reading ``config.lexicon``.
    """

    def __init__(
        self, config: DecoderConfig, charset: Charset, lexicon: Lexicon | None = None
    ) -> None:
        super().__init__(config, charset)
        if lexicon is None:
            assert config.lexicon is not None
            lexicon = Lexicon.from_file(config.lexicon, self.space.charset)
        elif lexicon.charset != self.space.charset:
            raise ConfigError(f"{lexicon!r} is encoded in charset {lexicon.charset.name}, "
                              f"this decoder reads {self.space.charset.name}")
        self.lexicon = lexicon

    def _decode(self, x: np.ndarray, lengths: np.ndarray) -> list[Decoded]:
        lex = self.lexicon
        cs = self.space.charset
        best, lse = best_and_normalizer(x)
        n = x.shape[1]
        cand = [lex.candidates(cs.decode(_collapse_tuple(best[: lengths[i], i])),
                               self.config.lexicon_distance) for i in range(n)]
        scores = score_lexicon(x, lse, lengths, cand, lex)
        ranked = []
        for i in range(n):
            top = np.argsort(-scores[i], kind="stable")[: self.config.n_best]
            ranked.append([(lex.targets[cand[i][j]], float(scores[i][j])) for j in top
                           if np.isfinite(scores[i][j])])
        return _finish(x, lse, lengths, cs, ranked)


def build_decoder(cfg: DecoderConfig, charset: Charset) -> Decoder:
    """The decoder ``cfg`` describes, with its lexicon or language model loaded."""
    if cfg.kind == "greedy":
        return GreedyDecoder(cfg, charset)
    if cfg.kind == "beam":
        return BeamDecoder(cfg, charset)
    return LexiconDecoder(cfg, charset)

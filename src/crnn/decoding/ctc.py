"""CTC decoding: per-frame class scores -> text.

Pure numpy so it serves PyTorch and ONNX outputs alike. Shapes: ``(T, N, K)`` with class 0
the blank, as the model produces.

Besides best-path decoding this module holds the exact CTC forward algorithm (the
probability of a given text, summed over all its alignments, and its best alignment) and a
prefix beam search vectorised over the lines of a batch. ``crnn.decoding.decoders`` builds the
user-facing decoders (beam, lexicon, allowed characters, language model) on top of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..charset import Charset

__all__ = [
    "Decoded",
    "greedy_decode",
    "log_softmax",
    "log_normalizer",
    "best_and_normalizer",
    "collapse",
    "ctc_forward",
    "ctc_log_likelihood",
    "ctc_align",
    "alignment_char_probs",
    "prefix_beam_search",
    "BeamHypothesis",
    "PrefixScorer",
]

# Elements per block when sweeping a (T, N, K) array: 4 MiB of float32 stays in cache, and
# reusing one buffer avoids faulting in fresh pages (a 6,800-class batch is ~0.5 GB).
_BLOCK = 1 << 20
_NEG_INF = -np.inf


@dataclass(frozen=True)
class Decoded:
    """One decoded line.

    text: the recognized text.
    confidence: the lowest per-character probability (1.0 for an empty line whose frames
        are all confidently blank: the mean blank probability is used then).
    char_probs: the probability of each character of ``text`` (its best frame).
    alternatives: the n best readings ``(text, score)``, best first, from the decoders that
        search (beam, lexicon); ``text`` is ``alternatives[0][0]`` then. ``score`` is the
        natural-log CTC probability of the text (summed over all alignments), plus the
        language-model and length terms when those are used. Empty for greedy.
    scores: for a line searched after its best path (a language model's unsure lines),
        its logits over the classes the search could reach and their log-normaliser
        (``crnn.decoding.decoders.LineScores``), so that another text can be scored on
        them without reading the line again; None otherwise. Not compared.
    """

    text: str
    confidence: float
    char_probs: tuple[float, ...] = field(default=())
    alternatives: tuple[tuple[str, float], ...] = field(default=())
    scores: Any = field(default=None, compare=False, repr=False)


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    m = logits.max(axis=axis, keepdims=True)
    shifted = logits - m
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _frame_blocks(t: int, n: int, k: int) -> list[slice]:
    step = max(1, _BLOCK // max(1, n * k))
    return [slice(s, min(t, s + step)) for s in range(0, t, step)]


def _pool() -> ThreadPoolExecutor | None:
    """Threads for the normaliser's blocks (numpy lets go of the GIL in its loops), one
    per core up to four; None on a single core."""
    global _POOL
    if _POOL is None and _THREADS > 1:
        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="crnn-lse")
    return _POOL


_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None


def log_normalizer(scores: np.ndarray) -> np.ndarray:
    """``log(sum(exp(scores), axis=2))`` of ``(T, N, K)`` logits -> ``(T, N)`` float32.

    ``scores - log_normalizer(scores)[..., None]`` are the log-probabilities. See
    :func:`best_and_normalizer`, which finds each frame's best class in the same sweep.
    """
    return best_and_normalizer(scores)[1]


def best_and_normalizer(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's likeliest class ``scores.argmax(axis=2)`` ``(T, N)`` and the
    log-normaliser :func:`log_normalizer` ``(T, N)`` float32 of ``(T, N, K)`` logits, in
    one sweep: cache-sized blocks, one reused buffer per thread, the blocks shared among
    the cores. It never holds a second copy of the batch, on two cores it takes half the
    time of one (the model's run and this one do not overlap), and each block is read
    from memory once for both (a 17,000-class batch is ~2 GB).
    """
    scores = np.asarray(scores, dtype=np.float32)
    t, n, k = scores.shape
    best = np.zeros((t, n), dtype=np.int64)
    out = np.empty((t, n), dtype=np.float32)
    blocks = _frame_blocks(t, n, k)
    if not blocks or k == 0:
        return best, out
    size = (blocks[0].stop - blocks[0].start) * n * k

    def run(part: list[slice]) -> None:
        buf = np.empty(size, dtype=np.float32)
        for sl in part:
            blk = scores[sl]
            b = buf[: blk.size].reshape(blk.shape)
            a = blk.argmax(axis=2)
            m = np.take_along_axis(blk, a[:, :, None], axis=2)
            np.subtract(blk, m, out=b)
            np.exp(b, out=b)
            best[sl] = a
            out[sl] = m[:, :, 0] + np.log(b.sum(axis=2))

    pool = _pool() if len(blocks) > 1 else None
    if pool is None:
        run(blocks)
    else:
        parts = [blocks[i::_THREADS] for i in range(_THREADS)]
        for f in [pool.submit(run, p) for p in parts if p]:
            f.result()
    return best, out


def collapse(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best path ``(T,)`` -> (kept classes, the frame index where each run starts).

    Merges repeats, then drops blanks: ``[a, a, 0, a] -> [a, a]``.
    """
    path = np.asarray(path)
    if path.size == 0:
        return path, path
    starts = np.ones(path.shape[0], dtype=bool)
    starts[1:] = path[1:] != path[:-1]
    keep = starts & (path != 0)
    frames = np.flatnonzero(keep)
    return path[frames], frames


def greedy_decode(
    scores: np.ndarray,
    charset: Charset,
    lengths: np.ndarray | None = None,
    is_log_probs: bool = False,
    lse: np.ndarray | None = None,
    best: np.ndarray | None = None,
) -> list[Decoded]:
    """Best-path decoding of a batch.

    scores: ``(T, N, K)`` logits (or log-probabilities with ``is_log_probs``).
    lengths: valid frames per line ``(N,)``; frames past it (padding) are ignored.
    lse: the scores' ``(T, N)`` log-normaliser when the caller has it already.
    best: ``scores.argmax(axis=2)`` when the caller has it already.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 3:
        raise ValueError(f"expected scores of shape (T, N, K), got {scores.shape}")
    if best is None and lse is None and not is_log_probs:
        best, lse = best_and_normalizer(scores)  # the normaliser does not move the argmax
    elif best is None:
        best = scores.argmax(axis=2)  # (T, N)
    best_lp = np.take_along_axis(scores, best[:, :, None], axis=2)[:, :, 0]
    if not is_log_probs:
        best_lp = best_lp - (log_normalizer(scores) if lse is None else lse)
    best_p = np.exp(best_lp)  # (T, N)
    t_total, n = best.shape
    out = []
    for i in range(n):
        t = t_total if lengths is None else int(lengths[i])
        path = best[:t, i]
        probs = best_p[:t, i]
        classes, frames = collapse(path)
        if classes.size == 0:
            conf = float(probs.mean()) if t else 0.0
            out.append(Decoded("", conf, ()))
            continue
        # each character's probability: its best frame within its run
        ends = np.append(np.flatnonzero(path[1:] != path[:-1]) + 1, t)
        run_end = ends[np.searchsorted(ends, frames, side="right")]
        char_p = tuple(float(probs[s:e].max()) for s, e in zip(frames, run_end, strict=True))
        out.append(Decoded(charset.decode(classes.tolist()), min(char_p), char_p))
    return out


# --------------------------------------------------------------------------- forward algorithm
def _logsumexp3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe))


def _extend_targets(targets: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Targets -> extended labels ``(M, S)`` (blank, l1, blank, l2, ..., blank; padded with
    -1) and their lengths ``(M,)`` = 2L+1."""
    m = len(targets)
    lens = np.fromiter((len(t) for t in targets), dtype=np.int64, count=m)
    s = 2 * int(lens.max(initial=0)) + 1
    ext = np.full((m, s), -1, dtype=np.int64)
    ext[:, 0] = 0
    for i, tgt in enumerate(targets):
        ln = len(tgt)
        ext[i, 1 : 2 * ln : 2] = np.asarray(tgt, dtype=np.int64)
        ext[i, 2 : 2 * ln + 1 : 2] = 0
    return ext, 2 * lens + 1


def ctc_forward(
    scores: np.ndarray,
    lse: np.ndarray,
    lines: np.ndarray,
    targets: Sequence[Sequence[int]],
    frames: np.ndarray,
    viterbi: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The CTC forward algorithm in log space, vectorised over targets and their positions.

    scores: ``(T, N, K)`` logits (class 0 blank); ``lse``: their ``(T, N)`` log-normaliser.
    lines: ``(M,)`` the line of ``scores`` each target is scored against.
    targets: ``M`` class sequences (no blanks). frames: ``(M,)`` valid frames of each row.
    Returns ``log P(target | line)`` ``(M,)`` summed over all alignments, and None. With
    ``viterbi``: the best single alignment's log-probability instead, and that alignment
    ``(T, M)`` as extended-label positions (even = blank, ``2i+1`` = character ``i``; -1
    past ``frames``).
    A target that cannot fit in its frames (length + repeated neighbours > frames) gets -inf.
    """
    t_total = scores.shape[0]
    m = len(targets)
    ext, s_len = _extend_targets(targets)
    s = ext.shape[1]
    lines = np.asarray(lines, dtype=np.int64)
    frames = np.minimum(np.asarray(frames, dtype=np.int64), t_total)
    pad = ext < 0
    cls = np.where(pad, 0, ext)
    # lp[t, m, s] = log p_t(ext[m, s]) on line lines[m]
    lp = scores[:, lines[:, None], cls].astype(np.float64)
    lp -= lse[:, lines][:, :, None]
    lp[:, pad] = _NEG_INF
    skip = np.zeros((m, s), dtype=bool)  # may jump from s-2 (a character unlike the last one)
    skip[:, 2:] = (ext[:, 2:] > 0) & (ext[:, 2:] != ext[:, :-2])
    alpha = np.full((m, s), _NEG_INF)
    if t_total:
        alpha[:, :2] = lp[0, :, :2]
    back = np.zeros((t_total, m, s), dtype=np.int8) if viterbi else None
    shift1 = np.full((m, s), _NEG_INF)
    shift2 = np.full((m, s), _NEG_INF)
    for t in range(1, t_total):
        shift1[:, 1:] = alpha[:, :-1]
        shift2[:, 2:] = np.where(skip[:, 2:], alpha[:, :-2], _NEG_INF)
        if viterbi:  # the likeliest of the three, the earlier on a tie
            best = np.maximum(alpha, shift1)
            arg = (shift1 > alpha).view(np.int8)
            arg[shift2 > best] = 2
            new = np.maximum(best, shift2) + lp[t]
            back[t] = arg  # type: ignore[index]
        else:
            new = _logsumexp3(alpha, shift1, shift2) + lp[t]
        live = (t < frames)[:, None]
        alpha = np.where(live, new, alpha)
    rows = np.arange(m)
    last = alpha[rows, s_len - 1]
    prev = np.where(s_len >= 2, alpha[rows, np.maximum(s_len - 2, 0)], _NEG_INF)
    if viterbi:
        total = np.maximum(last, prev)
    else:
        total = np.logaddexp(last, prev)
    total = np.where(frames == 0, np.where(s_len == 1, 0.0, _NEG_INF), total)
    if not viterbi:
        return total, None
    # Backtrack the best alignment, all rows at once.
    path = np.full((t_total, m), -1, dtype=np.int64)
    state = np.where(prev > last, s_len - 2, s_len - 1)
    for t in range(t_total - 1, -1, -1):
        live = t < frames
        path[t] = np.where(live, state, -1)
        if t > 0:
            step = back[t, rows, state]  # type: ignore[index]
            state = np.where(live, state - step, state)
    return total, path


def alignment_char_probs(
    scores: np.ndarray, lse: np.ndarray, line: int, target: Sequence[int], path: np.ndarray
) -> tuple[float, ...]:
    """Each character's probability at its best frame along an alignment.

    scores ``(T, N, K)``, lse ``(T, N)``; path ``(T,)``: the alignment of ``target`` to
    line ``line`` from :func:`ctc_forward` (extended-label positions, -1 past the end).
    """
    live = np.flatnonzero((path >= 0) & (path % 2 == 1))
    if not len(target):
        return ()
    pos = (path[live] - 1) // 2
    tgt = np.asarray(target, dtype=np.int64)
    p = np.exp(scores[live, line, tgt[pos]].astype(np.float64) - lse[live, line])
    best = np.zeros(len(target))
    np.maximum.at(best, pos, p)
    return tuple(float(v) for v in best)


def ctc_log_likelihood(
    scores: np.ndarray, targets: Sequence[Sequence[int]], is_log_probs: bool = False
) -> np.ndarray:
    """``log P(target | line)`` of each target, summed over all CTC alignments.

    scores: ``(T, K)`` logits of one line (or log-probabilities with ``is_log_probs``).
    targets: class sequences 1..K-1 (no blanks). Returns ``(M,)`` float64 (natural log).
    """
    x = np.asarray(scores, dtype=np.float32)[:, None, :]
    lse = np.zeros(x.shape[:2], np.float32) if is_log_probs else log_normalizer(x)
    m = len(targets)
    total, _ = ctc_forward(x, lse, np.zeros(m, np.int64), targets, np.full(m, x.shape[0]))
    return total


def ctc_align(
    scores: np.ndarray, target: Sequence[int], is_log_probs: bool = False
) -> tuple[float, tuple[float, ...], np.ndarray]:
    """The best alignment of ``target`` to one line ``(T, K)``.

    Returns its log-probability, each character's probability at its best frame within the
    alignment (as ``greedy_decode`` reports them), and the alignment ``(T,)`` as positions
    in the extended label (even = blank, ``2i+1`` = character ``i``).
    """
    x = np.asarray(scores, dtype=np.float32)[:, None, :]
    lse = np.zeros(x.shape[:2], np.float32) if is_log_probs else log_normalizer(x)
    total, path = ctc_forward(x, lse, np.zeros(1, np.int64), [target], np.full(1, x.shape[0]),
                              viterbi=True)
    assert path is not None
    return float(total[0]), alignment_char_probs(x, lse, 0, target, path[:, 0]), path[:, 0]


# --------------------------------------------------------------------------- beam search
class PrefixScorer(Protocol):
    """What prefix beam search asks of a language model (shallow fusion).

    States are int64 handles the scorer defines. ``extend`` returns, for each prefix state
    and appended class, the score added to the prefix (e.g. ``alpha * log P_lm + beta``)
    and the new state; ``final`` the score added when a prefix ends the line.
    """

    def initial(self, n: int) -> np.ndarray: ...

    def extend(
        self, states: np.ndarray, classes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def final(self, states: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class BeamHypothesis:
    """A prefix at the end of the search: its classes, its CTC log-probability as the beam
    accumulated it (alignments through pruned classes are missing), and its fused score
    (CTC + language model + length terms)."""

    classes: tuple[int, ...]
    ctc_score: float
    score: float


class _Trie:
    """Prefixes as nodes with parent pointers; node 0 is the empty prefix."""

    def __init__(self, capacity: int) -> None:
        self.parent = np.zeros(max(capacity, 16), dtype=np.int64)
        self.char = np.zeros_like(self.parent)
        self.depth = np.zeros_like(self.parent)
        self.parent[0] = -1
        self.size = 1

    def add(self, parents: np.ndarray, chars: np.ndarray) -> np.ndarray:
        k = len(parents)
        if self.size + k > len(self.parent):
            grow = max(len(self.parent), k)
            for name in ("parent", "char", "depth"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros(grow, dtype=arr.dtype)]))
        ids = np.arange(self.size, self.size + k)
        self.parent[ids] = parents
        self.char[ids] = chars
        self.depth[ids] = self.depth[parents] + 1
        self.size += k
        return ids

    def sequences(self, nodes: np.ndarray) -> np.ndarray:
        """Nodes (any shape) -> classes ``(*shape, max_depth)``, 0-padded on the right."""
        depth = self.depth[np.maximum(nodes, 0)] * (nodes >= 0)
        width = int(depth.max(initial=0))
        out = np.zeros((*nodes.shape, width), dtype=np.int64)
        if width == 0:
            return out
        cur = np.where(nodes >= 0, nodes, 0).ravel()
        flat = out.reshape(-1, width)
        for _ in range(width):  # walk every prefix up to the root at once
            live = np.flatnonzero(cur > 0)
            if not len(live):
                break
            flat[live, self.depth[cur[live]] - 1] = self.char[cur[live]]
            cur[live] = self.parent[cur[live]]
        return out


def _frame_candidates(
    scores: np.ndarray, lse: np.ndarray, prune: float, max_candidates: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame and line, the non-blank classes worth extending a prefix with.

    Returns classes ``(T, N, C)`` and their log-probabilities (float64, -inf padding):
    those with probability >= ``prune``, at most ``max_candidates`` (the likeliest).
    """
    t, n, k = scores.shape
    floor = np.float32(np.log(prune)) if prune > 0 else np.float32(-np.inf)
    thresh = lse + floor  # (T, N), in logit units
    parts: list[np.ndarray] = []
    for sl in _frame_blocks(t, n, k):
        mask = scores[sl] >= thresh[sl, :, None]
        mask[:, :, 0] = False  # the blank is scored separately
        parts.append(np.flatnonzero(mask) + sl.start * n * k)
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    group, ci = np.divmod(flat, k)  # group = t * n + line, in increasing order
    ti, ni = np.divmod(group, n)
    vals = scores[ti, ni, ci].astype(np.float64) - lse[ti, ni]
    counts = np.bincount(group, minlength=t * n)
    width = int(min(counts.max(initial=0), max_candidates))
    if counts.max(initial=0) > max_candidates:  # keep each frame's likeliest
        order = np.lexsort((-vals, group))
        ti, ni, ci, vals, group = ti[order], ni[order], ci[order], vals[order], group[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(group)) - starts[group]
    keep = rank < width
    cand = np.zeros((t, n, width), dtype=np.int64)
    cand_lp = np.full((t, n, width), _NEG_INF)
    cand[ti[keep], ni[keep], rank[keep]] = ci[keep]
    cand_lp[ti[keep], ni[keep], rank[keep]] = vals[keep]
    return cand, cand_lp


def prefix_beam_search(
    scores: np.ndarray,
    lse: np.ndarray,
    lengths: np.ndarray | None,
    beam_width: int,
    prune: float = 1e-3,
    max_candidates: int = 16,
    scorer: PrefixScorer | None = None,
    class_map: np.ndarray | None = None,
) -> list[list[BeamHypothesis]]:
    """CTC prefix beam search over a batch, vectorised over its lines.

    scores: ``(T, N, K)`` logits, class 0 the blank; lse: their ``(T, N)`` log-normaliser.
    lengths: valid frames per line ``(N,)`` or None for all.
    beam_width: prefixes kept per line after each frame.
    prune: a frame extends prefixes only with classes of probability >= ``prune`` (at most
        ``max_candidates`` of them); blank and repeats of a prefix's last class are always
        scored, so with ``prune=0`` the search is exact up to the beam width.
    scorer: optional language model (shallow fusion), see :class:`PrefixScorer`.
    class_map: ``(N, K)``: the class each column of ``scores`` stands for, per line, when
        each line is searched over a few columns of its own (the scorer is asked about
        those classes); None: column ``k`` is class ``k``. Hypotheses hold columns.

    Returns per line its hypotheses, best fused score first (at most ``beam_width``).
    """
    t_total, n, _ = scores.shape
    b = int(beam_width)
    lengths_arr = (np.full(n, t_total, np.int64) if lengths is None
                   else np.minimum(np.asarray(lengths, dtype=np.int64), t_total))
    order = np.argsort(-lengths_arr, kind="stable")  # longest first: active lines are a prefix
    sorted_len = lengths_arr[order]
    cand, cand_lp = _frame_candidates(scores, lse, prune, max_candidates)
    c = cand.shape[2]
    # log-probabilities of the blank, lines in search order (the big array is never copied)
    lp_blank = scores[:, order, 0].astype(np.float64) - lse[:, order]
    lse_o = lse[:, order].astype(np.float64)
    cand, cand_lp = cand[:, order], cand_lp[:, order]
    cmap = None if class_map is None else np.asarray(class_map, dtype=np.int64)[order]
    trie = _Trie(capacity=n * b * 8)

    node = np.full((n, b), -1, dtype=np.int64)
    node[:, 0] = 0
    last = np.zeros((n, b), dtype=np.int64)
    pb = np.full((n, b), _NEG_INF)
    pb[:, 0] = 0.0
    pnb = np.full((n, b), _NEG_INF)
    extra = np.zeros((n, b))
    lm_state = np.zeros((n, b), dtype=np.int64)
    if scorer is not None:
        lm_state[:] = scorer.initial(n)[:, None]
    rows = np.arange(n)[:, None]

    for t in range(t_total):
        na = int(np.count_nonzero(sorted_len > t))
        if na == 0:
            break
        nd, ls, pb_, pnb_ = node[:na], last[:na], pb[:na], pnb[:na]
        ex, st, r = extra[:na], lm_state[:na], rows[:na]
        valid = nd >= 0
        lpb = lp_blank[t, :na]  # (na,)
        lp_last = scores[t, order[:na, None], ls] - lse_o[t, :na, None]
        lp_last = np.where(ls > 0, lp_last, _NEG_INF)
        tot = np.logaddexp(pb_, pnb_)
        # the prefix stays: a blank, or its last character once more
        pb_c = tot + lpb[:, None]
        pnb_c = pnb_ + lp_last
        # beam j = beam i + last_j: the extension of i by last_j lands in j
        par = np.where(valid, trie.parent[np.maximum(nd, 0)], -2)
        match = (par[:, :, None] == nd[:, None, :]) & valid[:, None, :]  # (na, J, I)
        has = match.any(axis=2)
        src = match.argmax(axis=2)
        src_pb = np.take_along_axis(pb_, src, axis=1)
        src_tot = np.take_along_axis(tot, src, axis=1)
        src_last = np.take_along_axis(ls, src, axis=1)
        into = np.where(src_last == ls, src_pb, src_tot) + lp_last
        pnb_c = np.where(has, np.logaddexp(pnb_c, into), pnb_c)
        # extensions by this frame's candidate classes
        cid, clp = cand[t, :na], cand_lp[t, :na]  # (na, C)
        same = cid[:, None, :] == ls[:, :, None]  # (na, B, C)
        pnb_e = np.where(same, pb_[:, :, None], tot[:, :, None]) + clp[:, None, :]
        pnb_e[~valid] = _NEG_INF
        if c:  # drop the extensions already merged into an existing beam
            kill = has & same.any(axis=2)
            jn, jb = np.nonzero(kill)
            pnb_e[jn, src[jn, jb], same[jn, jb].argmax(axis=1)] = _NEG_INF
        ex_e = np.broadcast_to(ex[:, :, None], pnb_e.shape).copy()
        st_e = np.broadcast_to(st[:, :, None], pnb_e.shape).copy()
        if scorer is not None and c:
            q = np.isfinite(pnb_e)
            qn, qb, qc = np.nonzero(q)
            if len(qn):
                cls = cid[qn, qc] if cmap is None else cmap[qn, cid[qn, qc]]
                delta, new_st = scorer.extend(st[qn, qb], cls)
                ex_e[q] += delta
                st_e[q] = new_st
        score_c = np.where(valid, np.logaddexp(pb_c, pnb_c) + ex, _NEG_INF)
        score_e = pnb_e + ex_e
        pool = np.concatenate([score_c, score_e.reshape(na, b * c)], axis=1)
        if pool.shape[1] > b:
            top = np.argpartition(-pool, b - 1, axis=1)[:, :b]
        else:
            top = np.broadcast_to(np.arange(b), (na, b))
        top_score = np.take_along_axis(pool, top, axis=1)
        is_ext = top >= b
        e = np.maximum(top - b, 0)
        ei, ec = e // max(c, 1), e % max(c, 1)
        j = np.minimum(top, b - 1)
        alive = np.isfinite(top_score)
        new_ext = is_ext & alive
        new_node = nd[r, j].copy()
        if new_ext.any():
            new_node[new_ext] = trie.add(nd[r, ei][new_ext], cid[r, ec][new_ext])
        node[:na] = np.where(alive, new_node, -1)
        last[:na] = np.where(is_ext, cid[r, ec], ls[r, j])
        pb[:na] = np.where(is_ext, _NEG_INF, pb_c[r, j])
        pnb[:na] = np.where(is_ext, pnb_e[r, ei, ec], pnb_c[r, j])
        extra[:na] = np.where(is_ext, ex_e[r, ei, ec], ex[r, j])
        lm_state[:na] = np.where(is_ext, st_e[r, ei, ec], st[r, j])
        dead = ~alive
        pb[:na][dead] = _NEG_INF
        pnb[:na][dead] = _NEG_INF

    ctc = np.logaddexp(pb, pnb)
    fused = ctc + extra
    if scorer is not None:
        live = node >= 0
        fin = np.zeros_like(fused)
        fin[live] = scorer.final(lm_state[live])
        fused = fused + fin
    fused = np.where(node >= 0, fused, _NEG_INF)
    seqs = trie.sequences(node)
    depth = np.where(node >= 0, trie.depth[np.maximum(node, 0)], 0)
    out: list[list[BeamHypothesis]] = [[] for _ in range(n)]
    rank = np.argsort(-fused, axis=1, kind="stable")
    for pos in range(n):
        line = int(order[pos])
        hyps = []
        for k in rank[pos]:
            if not np.isfinite(fused[pos, k]):
                break
            cls = tuple(int(v) for v in seqs[pos, k, : depth[pos, k]])
            hyps.append(BeamHypothesis(cls, float(ctc[pos, k]), float(fused[pos, k])))
        out[line] = hyps
    return out

"""CTC decoding: per-frame class scores -> text.

Pure numpy so it serves PyTorch and ONNX outputs alike. Shapes: ``(T, N, K)`` with class 0
the blank, as the model produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .charset import Charset

__all__ = ["Decoded", "greedy_decode", "log_softmax", "collapse"]


@dataclass(frozen=True)
class Decoded:
    """One decoded line.

    text: the recognized text.
    confidence: the lowest per-character probability (1.0 for an empty line whose frames
        are all confidently blank: the mean blank probability is used then).
    char_probs: the probability of each character of ``text`` (its best frame).
    """

    text: str
    confidence: float
    char_probs: tuple[float, ...] = field(default=())


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    m = logits.max(axis=axis, keepdims=True)
    shifted = logits - m
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


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
) -> list[Decoded]:
    """Best-path decoding of a batch.

    scores: ``(T, N, K)`` logits (or log-probabilities with ``is_log_probs``).
    lengths: valid frames per line ``(N,)``; frames past it (padding) are ignored.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 3:
        raise ValueError(f"expected scores of shape (T, N, K), got {scores.shape}")
    logp = scores if is_log_probs else log_softmax(scores, axis=2)
    best = logp.argmax(axis=2)  # (T, N)
    best_p = np.exp(np.take_along_axis(logp, best[:, :, None], axis=2)[:, :, 0])  # (T, N)
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

"""The slant of printed text, found from its ink alone: the slope along which the ink's row
profile is sharpest. One search serves whole pages (:mod:`crnn.ocr.layout`: deskew, and
telling a sideways page) and single lines (:func:`crnn.reading.straighten`).

The ink is sheared, not rotated: for a slope ``s`` every column ``x`` moves up by
``round(s * (x - w // 2))`` rows, so rows of text that run along ``s`` fall into sharp
peaks of the profile. Neighbouring columns move alike, so each run of them is summed once
and moved as one (a few dozen runs per slope instead of every ink pixel).
"""

from __future__ import annotations

import numpy as np

__all__ = ["row_profiles", "profile_scores", "sharpest_slope"]

SCORES = ("energy", "edges")


def row_profiles(ink: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """``(len(slopes), rows)``: for each slope ``s``, the ink count of ``ink`` (a boolean or
    0/1 ``(h, w)`` mask) along lines ``y = c + s x`` (``x`` counted from column ``w // 2``),
    one row per offset ``c`` (the profile is padded so that no ink falls off)."""
    h, w = ink.shape
    slopes = np.asarray(slopes, dtype=np.float64)
    cols = np.arange(w) - w // 2
    shift = -np.rint(slopes[:, None] * cols[None, :]).astype(np.int64)  # (S, w)
    starts = np.ones(shift.shape, dtype=bool)
    starts[:, 1:] = shift[:, 1:] != shift[:, :-1]
    slope_of, first = np.nonzero(starts)  # each run: its slope and first column
    last_of_slope = np.append(slope_of[1:] != slope_of[:-1], True)
    end = np.where(last_of_slope, w, np.append(first[1:], w))
    summed = np.zeros((h, w + 1), dtype=np.int64)
    np.cumsum(ink, axis=1, out=summed[:, 1:])
    runs = summed[:, end] - summed[:, first]  # (h, runs): each run's row profile
    offset = int(np.abs(shift).max(initial=0))
    rows = h + 2 * offset
    bins = (np.arange(h)[:, None] + (shift[slope_of, first] + offset + slope_of * rows)[None, :])
    prof = np.bincount(bins.ravel(), weights=runs.ravel(), minlength=len(slopes) * rows)
    return prof.reshape(len(slopes), rows)


def profile_scores(ink: np.ndarray, slopes: np.ndarray, score: str = "energy") -> np.ndarray:
    """How sharp the row profile is along each slope: ``energy``, the sum of its squares
    (a line: one band of text), or ``edges``, the sum of squares of its steps from row to
    row, from and to empty rows beyond (a page: many bands and the gaps between them)."""
    prof = row_profiles(ink, slopes)
    if score == "energy":
        return (prof ** 2).sum(axis=1)
    if score == "edges":
        return (np.diff(np.pad(prof, ((0, 0), (1, 1))), axis=1) ** 2).sum(axis=1)
    raise ValueError(f"score must be one of {SCORES}, got {score!r}")


def sharpest_slope(ink: np.ndarray, max_degrees: float, coarse: int, fine: int,
                   score: str = "energy") -> tuple[float, float, float]:
    """The slope (``dy/dx``, positive: text falling to the right) within ``±max_degrees``
    along which ``ink``'s row profile is sharpest, searched coarse to fine: ``2 * coarse
    + 1`` evenly spaced slopes, then ``fine`` slopes across one coarse step either side
    of the best. Returns (that slope, its score, the score of level text)."""
    top = float(np.tan(np.radians(max_degrees)))
    grid = np.linspace(-top, top, 2 * coarse + 1)
    scores = profile_scores(ink, grid, score)
    step = grid[1] - grid[0]
    near = np.clip(grid[int(scores.argmax())] + np.linspace(-step, step, fine), -top, top)
    near_scores = profile_scores(ink, near, score)
    best = int(near_scores.argmax())
    return float(near[best]), float(near_scores[best]), float(scores[coarse])

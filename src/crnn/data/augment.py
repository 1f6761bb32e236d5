"""Scan degradations drawn afresh each time a training line is read (``augment`` in the
training config).

A line stored in a dataset shows one rendering of its text, degraded once (or not at all)
when the dataset was made. Read through :func:`scan_degrade`, a share of the lines is
degraded again, differently in every epoch: toner and stroke weight, resolution loss, blur,
paper tone, contrast and uneven light, a shadow across part of the line, paper texture,
noise, a small rotation (the line cut again at its taller ink box, as lines of a page
scanned askew are) and JPEG compression, as a scanner or a photocopier leaves them.
The draws depend on the random generator alone, which the caller seeds with (seed, epoch,
sample), so data-loader workers and a resumed run degrade each line the same way.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np

from ..reading import turn_line

__all__ = ["jpeg_roundtrip", "resample", "scan_degrade"]


def _grey_levels(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Paper tone and ink darkness: map black..white onto ink..paper."""
    paper = rng.uniform(175.0, 255.0)
    ink = rng.uniform(0.0, min(95.0, paper - 80.0))
    return ink + (paper - ink) * (img / 255.0)


def _toner(img: np.ndarray, rng: random.Random, scale: float) -> np.ndarray:
    """Thinner or bolder strokes (too little or too much toner), and specks of missing
    toner inside the strokes."""
    if rng.random() < 0.8:
        k = 2 if scale < 1.5 or rng.random() < 0.5 else 3
        kernel = np.ones((k, k), np.uint8)
        bolder = rng.random() < 0.5
        # dark ink on light paper: bolder strokes are a grey-level erosion (minimum)
        moved = cv2.erode(img, kernel) if bolder else cv2.dilate(img, kernel)
        a = rng.uniform(0.35, 1.0)  # part of a pixel's step: weight changes by < 1 px too
        img = img + a * (moved - img)
    if rng.random() < 0.3:
        g = np.random.default_rng(rng.randrange(2**32))
        specks = g.random(img.shape[:2], dtype=np.float32) < rng.uniform(0.02, 0.12)
        if img.ndim == 3:
            specks = specks[:, :, None]
        img = np.where(specks, img + rng.uniform(0.3, 0.8) * (255.0 - img), img)
    return img


def resample(img: np.ndarray, scale: float, down: int, up: int) -> np.ndarray:
    """Resolution loss: ``img`` scaled by ``scale`` with interpolation ``down``, then back
    to its size with ``up`` (OpenCV interpolation flags)."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(2, round(w * scale)), max(4, round(h * scale))),
                       interpolation=down)
    return cv2.resize(small, (w, h), interpolation=up)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """uint8 ``img`` compressed as a JPEG of ``quality`` and decoded (unchanged where
    OpenCV cannot encode it)."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if decoded is not None and decoded.shape == img.shape:
            return decoded
    return img


def _resolution(img: np.ndarray, rng: random.Random) -> np.ndarray:
    s = rng.uniform(0.4, 0.85)
    down = rng.choice((cv2.INTER_AREA, cv2.INTER_LINEAR))
    up = rng.choices((cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST),
                     weights=(0.6, 0.3, 0.1))[0]
    return resample(img, s, down, up)


def _light(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """An illumination gradient across the line, or a shadow over one part of it."""
    h, w = img.shape[:2]
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)
    if rng.random() < 0.6:
        a = rng.uniform(0, 2 * math.pi)
        ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
        ramp = xs[None, :] * math.cos(a) * (w / max(h, w)) + ys[:, None] * math.sin(a) * (
            h / max(h, w))
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        shade = 1.0 - rng.uniform(0.1, 0.45) * ramp
    else:  # a soft-edged shadow band, the fold of a page or a hand's shadow
        c, half = rng.uniform(0.0, 1.0), rng.uniform(0.1, 0.5)
        soft = rng.uniform(0.02, 0.2)
        inside = np.clip((half - np.abs(xs - c)) / soft, 0.0, 1.0)
        shade = np.broadcast_to(1.0 - rng.uniform(0.2, 0.55) * inside[None, :], (h, w))
    if img.ndim == 3:
        shade = shade[:, :, None]
    return img * shade


def _texture(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Paper grain and blotches, stronger on the paper than under the ink."""
    h, w = img.shape[:2]
    g = np.random.default_rng(rng.randrange(2**32))
    cell = rng.choice((2, 4, 8))
    coarse = g.standard_normal((max(2, h // cell), max(2, w // cell))).astype(np.float32)
    tex = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    if img.ndim == 3:
        tex = tex[:, :, None]
    return img - rng.uniform(3.0, 14.0) * tex * (img / 255.0)


def _ink_rows(img: np.ndarray, level: float) -> tuple[int, int] | None:
    """First and past-last row holding at least two pixels darker than ``level``."""
    grey = img if img.ndim == 2 else img.mean(axis=2)
    rows = np.flatnonzero((grey < level).sum(axis=1) >= 2)
    return (int(rows[0]), int(rows[-1]) + 1) if rows.size else None


def _tilt(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """The line turned by up to 1.6 degrees on a ground grown to hold it, and cut again at
    its (now taller) ink band with the top and bottom margins it had: a page scanned
    askew, cut into lines at their ink boxes."""
    h, w = img.shape[:2]
    border = float(np.median(np.concatenate([img[0].ravel(), img[-1].ravel()])))
    level = (border + float(img.min())) / 2.0
    band = _ink_rows(img, level)
    if band is None or border - float(img.min()) < 40.0:
        return img
    turned = turn_line(img, rng.uniform(-1.6, 1.6), (border,) * 3,
                       (band[0], h - band[1]), lambda t: _ink_rows(t, level))
    return img if turned is None else turned


def scan_degrade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """``img`` (uint8, ``(H, W)`` or ``(H, W, 3)``) degraded as a scan: a new uint8 array.
    A line taller than 48 px is first scaled to a height of 32-48 px (the model reads it at
    32; degrading a page-resolution crop costs several times as much for the same look), so
    the result may be smaller than ``img``. Each effect is drawn with its own probability;
    strengths scale with the line's height (a 64-px line's strokes are twice a 32-px
    line's). A turned line is taller than it was, by the drift of its slant."""
    h, w = img.shape[:2]
    if h > 48:
        to = rng.randint(32, 48)
        img = cv2.resize(img, (max(1, round(w * to / h)), to), interpolation=cv2.INTER_AREA)
    scale = img.shape[0] / 32.0
    out = img.astype(np.float32)
    if rng.random() < 0.5:
        out = _toner(out, rng, scale)
    if rng.random() < 0.35:
        out = _tilt(out, rng)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.0) * scale)
    if rng.random() < 0.35:
        out = _resolution(out, rng)
    if rng.random() < 0.6:
        out = _grey_levels(out, rng)
    if rng.random() < 0.35:
        out = _light(out, rng)
    if rng.random() < 0.3:
        out = _texture(out, rng)
    if rng.random() < 0.5:
        g = np.random.default_rng(rng.randrange(2**32))
        out = out + g.standard_normal(out.shape, dtype=np.float32) * rng.uniform(2.0, 14.0)
    result = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.45:
        result = jpeg_roundtrip(result, rng.randint(20, 85))
    return result

"""Draw one text line as a grey image: font, spacing, weight, geometry, paper, ink, and
scan/photo degradations.

The pipeline, all seeded by one :class:`random.Random`:

1. The text is assembled from glyphs PIL rasterised (and cached) at the font size
   (the output height by default), kerned as the font's kerning table says, with
   optional extra character or word spacing (justified lines), fake bold, an underline
   and the face's fi/fl/ff ligatures.
2. Horizontal stretch, rotation, perspective and shear warp the mask onto a canvas large
   enough to hold it.
3. The crop is the ink's bounding box, widened vertically to the font's line box (so
   "ooo" and "Ag国" get the same text height), plus small random margins; or, for a
   share of lines (``margins.ink_box``), the ink's own box plus a few pixels, as a line
   finder cuts a page. Text is never clipped: the crop always contains every inked pixel.
4. The crop is scaled to the output height (and placed on a fixed-width canvas if asked).
5. Paper (flat, gradient or textured) and ink grey levels are composed through the mask.
6. Uneven light, blur, down/up-sampling, noise and JPEG artefacts, each with its own
   probability.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from ..data.augment import jpeg_roundtrip, resample
from .config import SynthConfig
from .fonts import FontFace

__all__ = ["FontCache", "Glyph", "LineStyle", "compose", "degrade", "render_line", "text_mask"]

# Reference strings whose line box sets the text height: tall and deep glyphs.
_REF_CJK = "国Ag|"
_REF_LATIN = "Agjy|"
# Standard Latin ligatures, longest first: drawn as one glyph where the face has one and
# the line's style asks for them (LibreOffice, LaTeX and most typesetting turn them on).
LIGATURES = ("ffi", "ffl", "ff", "fi", "fl")


class Glyph(NamedTuple):
    """A rasterised character: coverage ``(h, w)`` uint8 placed at (dx, dy) from the pen
    position on the baseline; ``advance`` in pixels."""

    bitmap: np.ndarray
    dx: int
    dy: int
    advance: float


class FontCache:
    """PIL fonts per (face, pixel size) and their rasterised glyphs, per process.

    FreeType rasterises a glyph once; lines are then assembled from cached bitmaps, which
    is several times faster than asking PIL to lay out every line and makes character
    spacing free. Glyphs beyond ``max_glyphs`` evict the oldest half.
    """

    def __init__(self, faces: Sequence[FontFace], max_glyphs: int = 60000) -> None:
        self.faces = tuple(faces)
        self.max_glyphs = max_glyphs
        self._fonts: dict[tuple[int, int], ImageFont.FreeTypeFont] = {}
        self._shapers: dict[tuple[int, int], ImageFont.FreeTypeFont | None] = {}
        self._kerns: dict[tuple[int, int, str], float] = {}
        self._ligatures: dict[tuple[int, int, str], bool] = {}
        self._glyphs: dict[tuple[int, int, str], Glyph] = {}
        self._refs: dict[tuple[int, int], tuple[int, int]] = {}
        self._scratch: dict[int, Image.Image] = {}

    def __getstate__(self) -> dict:
        return {"faces": self.faces, "max_glyphs": self.max_glyphs, "_fonts": {},
                "_shapers": {}, "_kerns": {}, "_ligatures": {}, "_glyphs": {}, "_refs": {},
                "_scratch": {}}

    def font(self, k: int, size: int) -> ImageFont.FreeTypeFont:
        key = (k, size)
        f = self._fonts.get(key)
        if f is None:
            face = self.faces[k]
            f = ImageFont.truetype(face.path, size, index=face.index,
                                   layout_engine=ImageFont.Layout.BASIC)
            self._fonts[key] = f
        return f

    def kern(self, k: int, size: int, pair: str) -> float:
        """The font's kerning between the two characters of ``pair``, in pixels (negative:
        closer), as a text shaper (libraqm) applies it: ``AV``, ``Wa``, ``r.``. Zero where
        PIL has no raqm, and for pairs with a CJK character (CJK faces do not kern)."""
        if max(pair) >= "\u2e80":
            return 0.0
        key = (k, size, pair)
        v = self._kerns.get(key)
        if v is None:
            shaper = self._shaper(k, size)
            v = 0.0
            if shaper is not None:
                # ligatures off: the glyphs are still drawn one by one
                lengths = [shaper.getlength(t, features=["-liga", "-clig"])
                           for t in (pair, pair[0], pair[1])]
                v = lengths[0] - lengths[1] - lengths[2]
            if len(self._kerns) >= self.max_glyphs:
                self._kerns.clear()
            self._kerns[key] = v
        return v

    def has_ligature(self, k: int, size: int, seq: str) -> bool:
        """Whether the face draws ``seq`` (``fi``, ``ffl`` ...) as a ligature: shaped by
        libraqm with ligatures on, it differs from the same letters with them off. False
        where PIL has no raqm."""
        key = (k, size, seq)
        v = self._ligatures.get(key)
        if v is None:
            shaper = self._shaper(k, size)
            v = False
            if shaper is not None:
                on = shaper.getmask(seq)
                off = shaper.getmask(seq, features=["-liga", "-clig"])
                v = on.size != off.size or bytes(on) != bytes(off)
            self._ligatures[key] = v
        return v

    def _shaper(self, k: int, size: int) -> ImageFont.FreeTypeFont | None:
        key = (k, size)
        if key not in self._shapers:
            shaper = None
            if features.check("raqm"):
                face = self.faces[k]
                shaper = ImageFont.truetype(face.path, size, index=face.index,
                                            layout_engine=ImageFont.Layout.RAQM)
            self._shapers[key] = shaper
        return self._shapers[key]

    def glyph(self, k: int, size: int, ch: str) -> Glyph:
        key = (k, size, ch)
        g = self._glyphs.get(key)
        if g is None:
            g = self._rasterise(k, size, ch)
            if len(self._glyphs) >= self.max_glyphs:
                for old in list(self._glyphs)[: self.max_glyphs // 2]:
                    del self._glyphs[old]
            self._glyphs[key] = g
        return g

    def _rasterise(self, k: int, size: int, ch: str) -> Glyph:
        # Draw at a fixed origin on a scratch canvas and crop to the ink: one FreeType
        # glyph load per character (asking PIL for the bbox first would load it twice).
        # A ligature (several letters, has_ligature) is drawn by the shaper, as one glyph.
        font = self.font(k, size) if len(ch) == 1 else self._shaper(k, size)
        scratch = self._scratch.get(size)
        if scratch is None:
            scratch = self._scratch[size] = Image.new("L", (4 * size, 3 * size), 0)
        ox, oy = size, 2 * size
        draw = ImageDraw.Draw(scratch)
        draw.text((ox, oy), ch, fill=255, font=font, anchor="ls")
        box = scratch.getbbox()
        advance = float(font.getlength(ch))
        if box is None:
            return Glyph(np.zeros((0, 0), np.uint8), 0, 0, advance)
        x0, y0, x1, y1 = box
        if x0 == 0 or y0 == 0 or x1 == scratch.width or y1 == scratch.height:
            # an unusually large glyph touches the scratch edge: measure it properly
            left, top, right, bottom = font.getbbox(ch, anchor="ls")
            img = Image.new("L", (right - left, bottom - top), 0)
            ImageDraw.Draw(img).text((-left, -top), ch, fill=255, font=font, anchor="ls")
            bitmap, dx, dy = np.asarray(img), int(left), int(top)
        else:
            bitmap, dx, dy = np.array(scratch.crop(box)), x0 - ox, y0 - oy
        scratch.paste(0, box)
        return Glyph(bitmap, dx, dy, advance)

    def line_box(self, k: int, size: int, covered: frozenset[str]) -> tuple[int, int]:
        """(top, bottom) of the face's line box relative to the baseline (top < 0)."""
        key = (k, size)
        box = self._refs.get(key)
        if box is None:
            ref = "".join(c for c in (_REF_CJK if "国" in covered else _REF_LATIN)
                          if c in covered) or "0"
            _l, top, _r, bottom = self.font(k, size).getbbox(ref, anchor="ls")
            box = (int(top), int(bottom))
            self._refs[key] = box
        return box


@dataclass(frozen=True)
class LineStyle:
    """The per-line choices that shape the mask (drawn by :func:`draw_style`)."""

    size: int
    spacing: float = 0.0  # extra pixels between characters
    stroke: int = 0       # fake-bold dilation in pixels
    kerning: float = 0.0  # multiple of the font's own kerning (0: none)
    word_spacing: float = 0.0  # extra pixels after each space (a justified line)
    underline: int = 0    # underline thickness in pixels (0: none)
    underline_ends: tuple[float, float] = (0.0, 0.0)  # how far it runs past the text, px
    ligatures: bool = False  # fi, fl, ff, ffi, ffl as the face's ligature glyphs


def draw_style(rng: random.Random, cfg: SynthConfig, height: int) -> LineStyle:
    """Font pixel size (``fonts.scale`` x output height, rounded to ``fonts.size_step``),
    kerning, extra character and word spacing, fake bold, underline and ligatures for one
    line."""
    step = int(cfg.get("fonts", "size_step"))
    lo, hi = cfg.range("fonts", "scale")
    size = max(8, round(rng.uniform(lo, hi) * height / step) * step)
    spacing = 0.0
    sp = cfg.effect("spacing")
    if rng.random() < sp.p:
        spacing = rng.uniform(sp.lo, sp.hi) * size
    stroke = 0
    fb = cfg.effect("fake_bold")
    if rng.random() < fb.p:
        stroke = rng.randint(int(fb.lo), int(fb.hi))
    kerning = 0.0
    kr = cfg.effect("kerning")
    if rng.random() < kr.p:
        kerning = rng.uniform(kr.lo, kr.hi)
    word_spacing = 0.0
    ws = cfg.effect("word_spacing")
    if rng.random() < ws.p:
        word_spacing = rng.uniform(ws.lo, ws.hi) * size
    underline, ends = 0, (0.0, 0.0)
    ul = cfg.effect("underline")
    if rng.random() < ul.p:
        underline = max(1, round(rng.uniform(ul.lo, ul.hi) * size))
        # a fill-in line: often runs on past the text, now and then starts before it
        ends = (rng.uniform(0, 0.5) * size if rng.random() < 0.2 else 0.0,
                rng.uniform(0, 2.0) * size if rng.random() < 0.6 else 0.0)
    ligatures = rng.random() < float(cfg.get("fonts", "ligatures"))
    return LineStyle(size, spacing, stroke, kerning, word_spacing, underline, ends, ligatures)


def _units(text: str, fonts: FontCache, k: int, size: int, ligatures: bool) -> list[str]:
    """``text`` as the glyphs it is drawn with: characters, and with ``ligatures`` the
    face's ligatures (``first`` -> ``fi``, ``r``, ``s``, ``t``)."""
    if not ligatures or "f" not in text:
        return list(text)
    units: list[str] = []
    i = 0
    while i < len(text):
        lig = next((s for s in LIGATURES if text.startswith(s, i)
                    and fonts.has_ligature(k, size, s)), text[i])
        units.append(lig)
        i += len(lig)
    return units


def text_mask(text: str, fonts: FontCache, k: int, style: LineStyle
              ) -> tuple[np.ndarray, int]:
    """Assemble ``text`` from cached glyphs, white on black.

    Returns (mask ``(h, w)`` uint8 holding every inked pixel, baseline row).
    """
    placed = []
    pen = 0.0
    prev = ""
    for ch in _units(text, fonts, k, style.size, style.ligatures):
        if style.kerning and prev:
            pen += style.kerning * fonts.kern(k, style.size, prev[-1] + ch[0])
        prev = ch
        g = fonts.glyph(k, style.size, ch)
        if g.bitmap.size:
            placed.append((round(pen) + g.dx, g.dy, g.bitmap))
        pen += g.advance + style.spacing
        if ch == " ":
            pen += style.word_spacing
    pad = 2 + style.stroke
    if not placed:
        return np.zeros((2 * pad + 1, 2 * pad + 1), np.uint8), pad
    if style.underline:
        # a bar below the baseline (a tenth of the size down), from the first ink to the
        # last, run on by ``underline_ends``; drawn before the dilation so bold thickens it
        ink_x0 = min(p[0] for p in placed)
        ink_x1 = max(p[0] + p[2].shape[1] for p in placed)
        x0 = ink_x0 - round(style.underline_ends[0])
        width = ink_x1 + round(style.underline_ends[1]) - x0
        y = max(1, round(0.1 * style.size))
        placed.append((x0, y, np.full((style.underline, max(1, width)), 255, np.uint8)))
    x0 = min(p[0] for p in placed)
    y0 = min(p[1] for p in placed)
    x1 = max(p[0] + p[2].shape[1] for p in placed)
    y1 = max(p[1] + p[2].shape[0] for p in placed)
    mask = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), np.uint8)
    for x, y, bmp in placed:
        h, w = bmp.shape
        ys, xs = y - y0 + pad, x - x0 + pad
        region = mask[ys:ys + h, xs:xs + w]
        np.maximum(region, bmp, out=region)
    if style.stroke:
        size = 2 * style.stroke + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return mask, pad - y0


def _geometry(rng: random.Random, cfg: SynthConfig, h: int, w: int, size: int
              ) -> np.ndarray | None:
    """A 3x3 homography (horizontal stretch, rotation, shear, perspective) about the mask
    centre, or None."""
    m = np.eye(3)
    changed = False
    cx, cy = w / 2.0, h / 2.0
    st = cfg.effect("stretch")
    if rng.random() < st.p:
        m = np.array([[rng.uniform(st.lo, st.hi), 0, 0], [0, 1, 0], [0, 0, 1]]) @ m
        changed = True
    rot = cfg.effect("rotate")
    if rng.random() < rot.p:
        a = math.radians(rng.uniform(rot.lo, rot.hi))
        c, s = math.cos(a), math.sin(a)
        m = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ m
        changed = True
    sh = cfg.effect("shear")
    if rng.random() < sh.p:
        m = np.array([[1, rng.uniform(sh.lo, sh.hi), 0], [0, 1, 0], [0, 0, 1]]) @ m
        changed = True
    ps = cfg.effect("perspective")
    if rng.random() < ps.p:
        amt = rng.uniform(ps.lo, ps.hi) * size
        src = np.float32([[-cx, -cy], [cx, -cy], [cx, cy], [-cx, cy]])
        dst = src + np.float32([[rng.uniform(-amt, amt), rng.uniform(-amt, amt)]
                                for _ in range(4)])
        m = cv2.getPerspectiveTransform(src, dst).astype(np.float64) @ m
        changed = True
    if not changed:
        return None
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    return back @ m @ to_origin


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points ``(n, 2)`` through the homography ``m`` (3, 3)."""
    p = pts @ m[:2, :2].T + m[:2, 2]
    w = pts @ m[2, :2] + m[2, 2]
    return p / w[:, None]


def _crop_padded(a: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """``a[y0:y1, x0:x1]`` with zeros where the window leaves the array."""
    h, w = a.shape
    out = np.zeros((y1 - y0, x1 - x0), dtype=a.dtype)
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if sy0 < sy1 and sx0 < sx1:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = a[sy0:sy1, sx0:sx1]
    return out


def _ink_bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.max(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.max(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def shape_line(mask: np.ndarray, base: int, box: tuple[int, int], rng: random.Random,
               cfg: SynthConfig, size: int) -> np.ndarray | None:
    """Warp and crop a text mask to the line box plus margins; None if nothing is inked."""
    bounds = _ink_bounds(mask)
    if bounds is None:
        return None
    iy0, iy1, ix0, ix1 = bounds
    ref = np.float64([[ix0, base + box[0]], [ix1, base + box[0]], [ix1, base + box[1]],
                      [ix0, base + box[1]]])
    h, w = mask.shape
    m = _geometry(rng, cfg, h, w, size)
    if m is not None:
        corners = _apply(m, np.float64([[0, 0], [w, 0], [w, h], [0, h]]))
        x_min, y_min = np.floor(corners.min(axis=0))
        x_max, y_max = np.ceil(corners.max(axis=0))
        shift = np.array([[1, 0, -x_min], [0, 1, -y_min], [0, 0, 1]])
        m = shift @ m
        nw, nh = int(x_max - x_min) + 1, int(y_max - y_min) + 1
        mask = cv2.warpPerspective(mask, m, (nw, nh), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        bounds = _ink_bounds(mask)
        if bounds is None:
            return None
        iy0, iy1, ix0, ix1 = bounds
        ref = _apply(m, ref)
    if rng.random() < cfg.get("margins", "ink_box"):
        # a cut at the ink's own box, as line finders on scanned pages make: "ooo" then
        # fills the height that "Ag国" does; margins are a share of the font size
        lo, hi = cfg.range("margins", "ink_em")
        top, bottom, left, right = (round(rng.uniform(lo, hi) * size) for _ in range(4))
        return _crop_padded(mask, iy0 - top, iy1 + bottom, ix0 - left, ix1 + right)
    ry0, ry1 = math.floor(ref[:, 1].min()), math.ceil(ref[:, 1].max())
    y0, y1 = min(iy0, ry0), max(iy1, ry1)
    bh = y1 - y0
    top = round(rng.uniform(*cfg.range("margins", "top")) * bh)
    bottom = round(rng.uniform(*cfg.range("margins", "bottom")) * bh)
    left = round(rng.uniform(*cfg.range("margins", "left")) * bh)
    right = round(rng.uniform(*cfg.range("margins", "right")) * bh)
    return _crop_padded(mask, y0 - top, y1 + bottom, ix0 - left, ix1 + right)


def fit(mask: np.ndarray, height: int, width: int | None, rng: random.Random) -> np.ndarray:
    """Scale a cropped mask to ``height`` (and onto a ``width`` canvas if given).

    A line wider than ``width`` is squeezed horizontally rather than clipped.
    """
    h, w = mask.shape
    nw = max(1, round(w * height / h))
    if width is not None and nw > width:
        nw = width
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    out = cv2.resize(mask, (nw, height), interpolation=interp)
    if width is None or nw == width:
        return out
    canvas = np.zeros((height, width), dtype=out.dtype)
    x = int((width - nw) * rng.random() ** 2)
    canvas[:, x:x + nw] = out
    return canvas


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def compose(mask: np.ndarray, rng: random.Random, cfg: SynthConfig) -> np.ndarray:
    """Paper and ink through the coverage mask: float32 ``(H, W)`` grey levels."""
    h, w = mask.shape
    paper = rng.uniform(*cfg.range("colors", "paper"))
    ink_lo, ink_hi = cfg.range("colors", "ink")
    ink = min(rng.uniform(ink_lo, ink_hi), paper - cfg.get("colors", "min_contrast"))
    ink = max(ink, 0.0)
    if rng.random() < cfg.get("colors", "invert_p"):
        paper, ink = 255.0 - paper, 255.0 - ink
    bgc = cfg.get("background")
    kind = rng.choices(("flat", "gradient", "paper"),
                       weights=(bgc["flat"], bgc["gradient"], bgc["paper"]))[0]
    if kind == "flat":
        bg: np.ndarray | float = paper
    elif kind == "gradient":
        strength = rng.uniform(*cfg.range("background", "gradient_strength"))
        a = rng.uniform(0, 2 * math.pi)
        xs = np.linspace(-0.5, 0.5, w, dtype=np.float32) * math.cos(a) * (w / max(h, w))
        ys = np.linspace(-0.5, 0.5, h, dtype=np.float32) * math.sin(a) * (h / max(h, w))
        bg = paper + strength * (ys[:, None] + xs[None, :]) * (1 if paper > ink else -1)
    else:
        strength = rng.uniform(*cfg.range("background", "paper_strength"))
        g = _np_rng(rng)
        coarse = g.standard_normal((max(2, h // 8), max(2, w // 8))).astype(np.float32)
        blotch = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        grain = g.standard_normal((h, w)).astype(np.float32) * 0.3
        bg = paper - abs(strength) * 0.5 * (blotch + grain) * (1 if paper > ink else -1)
    alpha = mask.astype(np.float32) * (rng.uniform(*cfg.range("colors", "opacity")) / 255.0)
    out = bg + (ink - bg) * alpha
    return np.asarray(out, dtype=np.float32)


def degrade(img: np.ndarray, rng: random.Random, cfg: SynthConfig) -> np.ndarray:
    """Scan/photo defects on a float32 image; returns uint8 ``(H, W)``."""
    h, w = img.shape
    eff = cfg.effect("light")
    if rng.random() < eff.p:
        s = rng.uniform(eff.lo, eff.hi)
        if rng.random() < 0.5:
            a = rng.uniform(0, 2 * math.pi)
            ramp = (np.linspace(0, 1, w, dtype=np.float32)[None, :] * abs(math.cos(a))
                    + np.linspace(0, 1, h, dtype=np.float32)[:, None] * abs(math.sin(a)))
            ramp /= max(float(ramp.max()), 1e-6)
            if rng.random() < 0.5:
                ramp = ramp[::-1, ::-1]
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            xs = (np.arange(w, dtype=np.float32) - cx) / max(w, 1)
            ys = (np.arange(h, dtype=np.float32) - cy) / max(w, 1)
            ramp = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
            ramp /= max(float(ramp.max()), 1e-6)
        img = img * (1.0 - s * ramp)
    eff = cfg.effect("blur")
    if rng.random() < eff.p:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(eff.lo, eff.hi))
    eff = cfg.effect("resample")
    if rng.random() < eff.p:
        s = rng.uniform(eff.lo, eff.hi)
        interp = rng.choices((cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST),
                             weights=(0.7, 0.2, 0.1))[0]
        img = resample(img, s, cv2.INTER_AREA, interp)
    eff = cfg.effect("noise")
    if rng.random() < eff.p:
        img = img + _np_rng(rng).standard_normal((h, w), dtype=np.float32) * rng.uniform(
            eff.lo, eff.hi)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    eff = cfg.effect("jpeg")
    if rng.random() < eff.p:
        out = jpeg_roundtrip(out, rng.randint(int(eff.lo), int(eff.hi)))
    return out


def render_line(text: str, fonts: FontCache, k: int, covered: frozenset[str],
                rng: random.Random, cfg: SynthConfig, height: int, width: int | None = None
                ) -> tuple[np.ndarray, LineStyle] | None:
    """Render ``text`` with face ``k``: uint8 ``(height, W)`` grey image and its style.

    Returns None when the text leaves no ink (the caller draws another line).
    """
    style = draw_style(rng, cfg, height)
    mask, base = text_mask(text, fonts, k, style)
    shaped = shape_line(mask, base, fonts.line_box(k, style.size, covered), rng, cfg,
                        style.size)
    if shaped is None:
        return None
    fitted = fit(shaped, height, width, rng)
    return degrade(compose(fitted, rng, cfg), rng, cfg), style

"""The one preprocessing path: bytes -> pixels -> resized, normalised tensor -> padded batch.

Training, validation, evaluation, inference, export and serving all call these functions
with the :class:`Preprocess` stored in the checkpoint, so nothing downstream re-guesses the
input height, width policy or channel count.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, DatasetError

__all__ = ["Preprocess", "decode_image", "load_image", "resize_line", "scale_line",
           "to_tensor_batch"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm")


@dataclass(frozen=True)
class Preprocess:
    """How a line image becomes model input.

    height: model input height (a multiple of 16).
    width: a fixed width (the tutorial's 100), or None to keep the aspect ratio.
    channels: 1 (grey) or 3 (RGB).
    min_width / max_width: bounds on the resized width when keeping aspect ratio.
    read_stretch: at recognition (not training), lines are read this much wider (1:
        as they are). Line cuts with wide top and bottom margins (``crnn synth pages``:
        ink fills ~57% of the height, ~72% in training lines) read better slightly
        widened (docs/models.md).
    reread: at recognition, further stretches at which an unsure line is read
        again (``(1.1, 1.2)``: 1.1x and 1.2x wider); of all its readings, the text with
        the highest summed confidence is kept. Narrow letters (``tt``, ``ff``, ``t.``)
        get the frames CTC needs (T = W/4) in one reading or another, and a slip of one
        reading is outvoted by the others. Empty: one reading. A model trained with
        ``degrade.stretch`` tolerates 0.9 to about 1.3.
    reread_below: only lines whose first reading's confidence is at most this are read
        again (1: every line); sure first readings are kept as they are.
    reread_latin: read again only lines read as mostly Latin.
    read_pad: at recognition, each line is padded on the right with its background to
        at least ``1 + read_pad`` times its width (then up to the next point of a grid
        of widths, :func:`crnn.recognizer.padded_width`). Training batches pad every
        line but the widest, so a model reads a little right margin best; and as each
        line's padding depends on that line alone, it reads the same alone or in any
        batch.
    """

    height: int = 32
    width: int | None = None
    channels: int = 1
    min_width: int = 16
    max_width: int = 2048
    read_stretch: float = 1.0
    reread: tuple[float, ...] = ()
    reread_below: float = 1.0
    reread_latin: bool = False
    read_pad: float = 0.0

    def __post_init__(self) -> None:
        if self.height < 16 or self.height % 16:
            raise ConfigError(f"input height {self.height} must be a multiple of 16 (e.g. 32)")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, not {self.channels}")
        if self.width is not None and self.width < 8:
            raise ConfigError(f"fixed width {self.width} is too small (at least 8)")
        if self.min_width < 8 or self.max_width < self.min_width:
            raise ConfigError(f"bad width bounds {self.min_width}..{self.max_width}")
        object.__setattr__(self, "reread", tuple(float(s) for s in self.reread))
        bad = [s for s in (self.read_stretch, *self.reread) if not 0.5 <= s <= 2.0]
        if bad:
            raise ConfigError(f"reading stretch {bad[0]} must lie in [0.5, 2]")
        if self.read_stretch in self.reread:
            raise ConfigError(f"reread {self.reread} repeats read_stretch {self.read_stretch}")
        if not 0.0 <= self.reread_below <= 1.0:
            raise ConfigError(f"reread_below {self.reread_below} must lie in [0, 1]")
        if not 0.0 <= self.read_pad <= 1.0:
            raise ConfigError(f"read_pad {self.read_pad} must lie in [0, 1]")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        kw = {k: d[k] for k in ("height", "width", "channels", "min_width", "max_width",
                                "read_stretch", "reread", "reread_below", "reread_latin",
                                "read_pad") if k in d}
        if d.get("latin_stretch", 1.0) > 1.0 and "reread" not in d:
            # written before v7: one second reading, of mostly-Latin lines only
            kw.update(reread=(d["latin_stretch"],), reread_below=d.get("latin_below", 1.0),
                      reread_latin=True)
        return cls(**kw)

    def target_width(self, h: int, w: int) -> int:
        if self.width is not None:
            return self.width
        tw = int(round(w * self.height / max(h, 1)))
        return min(max(tw, self.min_width), self.max_width)


def decode_image(data: bytes, channels: int = 1, name: str = "image") -> np.ndarray:
    """Encoded bytes -> uint8 array ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB).

    OpenCV decodes the common formats fast; Pillow takes the rest (GIF, odd TIFFs).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    arr = None
    if buf.size:
        flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
        arr = cv2.imdecode(buf, flag)
    if arr is None:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im = ImageOps.exif_transpose(im)
                arr = np.asarray(im.convert("L" if channels == 1 else "RGB"))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DatasetError(
                f"{name}: cannot decode image ({len(data)} bytes): not a PNG/JPEG/BMP/TIFF/"
                "WebP image, or the file is truncated"
            ) from exc
    elif channels == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    if arr.ndim < 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise DatasetError(f"{name}: image has no pixels")
    return arr


def load_image(path: str | Path, channels: int = 1) -> np.ndarray:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file ({exc.strerror})") from exc
    return decode_image(data, channels, name=str(path))


def scale_line(img: np.ndarray, pre: Preprocess, stretch: float = 1.0) -> np.ndarray:
    """uint8 ``(H, W[, 3])`` -> uint8 ``(height, W'[, 3])``, the size the model reads it
    at; ``stretch`` widens the line first (as if it were that much wider), in the same
    resize."""
    h, w = img.shape[:2]
    tw = pre.target_width(h, round(w * stretch))
    if (h, w) != (pre.height, tw):
        shrink = tw < w and pre.height < h
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        img = cv2.resize(img, (tw, pre.height), interpolation=interp)
    return img


def resize_line(img: np.ndarray, pre: Preprocess, stretch: float = 1.0) -> np.ndarray:
    """uint8 ``(H, W[, 3])`` -> float32 ``(C, height, W')`` in [-1, 1] (:func:`scale_line`,
    then scaled to the network's range)."""
    out = scale_line(img, pre, stretch).astype(np.float32) * (2.0 / 255.0) - 1.0
    if out.ndim == 2:
        out = out[None]
    else:
        out = out.transpose(2, 0, 1)
    return np.ascontiguousarray(out)


def to_tensor_batch(items: list[np.ndarray], multiple: int = 4, width: int | None = None):
    """Right-pad ``(C, H, W_i)`` arrays to the widest (rounded up to ``multiple``), or to
    ``width`` when given (at least the widest).

    Padding uses each image's own background estimate (the mean of its first and last
    columns) rather than a fixed value, so padded columns look like margin, not ink.
    Returns a float32 tensor ``(N, C, H, W)``.
    """
    import torch

    if not items:
        raise ValueError("empty batch")
    c, h = items[0].shape[:2]
    widest = max(a.shape[2] for a in items)
    wmax = -(-widest // multiple) * multiple if width is None else width
    if wmax < widest:
        raise ValueError(f"pad width {width} is narrower than a line of the batch")
    batch = np.empty((len(items), c, h, wmax), dtype=np.float32)
    for i, a in enumerate(items):
        w = a.shape[2]
        batch[i, :, :, :w] = a
        if w < wmax:
            bg = 0.5 * (a[:, :, 0].mean() + a[:, :, -1].mean())
            batch[i, :, :, w:] = bg
    return torch.from_numpy(batch)

"""The one preprocessing path: bytes -> pixels -> resized, normalised tensor -> padded batch.

Training, validation, evaluation, inference, export and serving all call these functions
with the :class:`Preprocess` stored in the checkpoint, so nothing downstream re-guesses the
input height, width policy or channel count.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, DatasetError, ImageTooLargeError

__all__ = ["Preprocess", "DEFAULT_MAX_PIXELS", "MAX_DPI", "MIN_DPI", "check_pixels",
           "decode_image", "image_size", "load_image", "pad_batch", "pil_to_array", "resize_line",
           "scale_line", "to_tensor_batch"]

# The most pixels `crnn predict` and `crnn ocr` decode from one image (or page) unless
# --max-pixels says otherwise: a 600-dpi A3 page has 70 M; a line image far fewer.
DEFAULT_MAX_PIXELS = 100_000_000
# PDF pages are rasterised at MIN_DPI..MAX_DPI (300 reads printed text well)
MIN_DPI, MAX_DPI = 50, 1200

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm")


@dataclass(frozen=True)
class Preprocess:
    """How a line image becomes model input.

    height: model input height (a multiple of 16).
    width: a fixed width (the tutorial's 100), or None to keep the aspect ratio.
    channels: 1 (grey) or 3 (RGB).
    min_width / max_width: bounds on the resized width when keeping aspect ratio.

    How a trained model reads (stretch, rereads, right margin) is not preprocessing: it
    is the model's :class:`crnn.reading.ReadingPolicy`, stored beside this.
    """

    height: int = 32
    width: int | None = None
    channels: int = 1
    min_width: int = 16
    max_width: int = 2048

    def __post_init__(self) -> None:
        if self.height < 16 or self.height % 16:
            raise ConfigError(f"input height {self.height} must be a multiple of 16 (e.g. 32)")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, not {self.channels}")
        if self.width is not None and self.width < 8:
            raise ConfigError(f"fixed width {self.width} is too small (at least 8)")
        if self.min_width < 8 or self.max_width < self.min_width:
            raise ConfigError(f"bad width bounds {self.min_width}..{self.max_width}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        # older files kept the reading policy here too; checkpoint.py moves it out
        return cls(**{k: d[k] for k in ("height", "width", "channels", "min_width",
                                        "max_width") if k in d})

    def target_width(self, h: int, w: int) -> int:
        if self.width is not None:
            return self.width
        tw = int(round(w * self.height / max(h, 1)))
        return min(max(tw, self.min_width), self.max_width)


def image_size(data: bytes, name: str = "image") -> tuple[int, int] | None:
    """``(width, height)`` from the image's header (no pixels are decoded), or None when
    Pillow does not know the format. A size beyond Pillow's own ceiling (about 179 M
    pixels) raises :class:`ImageTooLargeError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(_too_large(name, exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _too_large(name: str, exc: Exception) -> str:
    return (f"{name}: image too large to decode: {exc} This is the decoder's own ceiling, "
            "beyond any --max-pixels; downscale the image")


def check_pixels(width: int, height: int, max_pixels: int | None, name: str) -> None:
    """Refuse an image of more than ``max_pixels`` pixels, naming it and the flag."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}; downscale it, or raise the limit with --max-pixels "
            f"{width * height}")


def _has_alpha(data: bytes) -> bool:
    """Whether a PNG or WebP file carries transparency (read from its header)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25:
        if data[25] in (4, 6):  # grey + alpha, RGBA
            return True
        idat = data.find(b"IDAT")
        return b"tRNS" in data[:idat if idat > 0 else 4096]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return (data[12:16] == b"VP8X" and len(data) > 20 and bool(data[20] & 0x10)) or \
            (data[12:16] == b"VP8L" and len(data) > 24 and bool(data[24] & 0x10))
    return False


def _flatten(arr: np.ndarray, channels: int) -> np.ndarray:
    """A decoded array of any depth and channel count (OpenCV's order: grey, BGR, BGRA)
    -> uint8 grey or RGB, transparent pixels composited onto white paper."""
    if arr.dtype != np.uint8:
        top = 65535.0 if arr.dtype == np.uint16 else max(1.0, float(arr.max()))
        arr = np.clip(arr.astype(np.float32) * (255.0 / top), 0, 255).round().astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        alpha = arr[:, :, -1:].astype(np.float32) * (1.0 / 255.0)
        colour = arr[:, :, :-1].astype(np.float32)
        arr = (colour * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
    if arr.ndim == 2:
        return arr if channels == 1 else np.repeat(arr[:, :, None], 3, axis=2)
    if channels == 1:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def pil_to_array(im: Image.Image, channels: int = 1) -> np.ndarray:
    """A Pillow image of any mode (1-bit, palette, 16-bit, CMYK, with or without
    transparency) -> uint8 grey ``(H, W)`` or RGB ``(H, W, 3)``, transparent pixels on
    white."""
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
            im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"))
        return _flatten(np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]]), channels)
    if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grey
        arr = np.asarray(im)
        if im.mode.startswith("I;16"):
            arr = arr.astype(np.uint16)
        return _flatten(arr, channels)
    return np.asarray(im.convert("L" if channels == 1 else "RGB"))


def decode_image(data: bytes, channels: int = 1, name: str = "image",
                 max_pixels: int | None = None) -> np.ndarray:
    """Encoded bytes -> uint8 array ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB).

    OpenCV decodes the common formats fast; Pillow takes the rest (GIF, odd TIFFs).
    Transparent pixels are composited onto white (black text on a transparent
    background reads as printed text). With ``max_pixels``, an image whose header
    declares more pixels is refused before it is decoded (:class:`ImageTooLargeError`).
    """
    if max_pixels is not None:
        size = image_size(data, name)
        if size is not None:
            check_pixels(*size, max_pixels, name)
    buf = np.frombuffer(data, dtype=np.uint8)
    arr = None
    if buf.size:
        try:
            if _has_alpha(data):
                arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
                arr = None if arr is None else _flatten(arr, channels)
            else:
                flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
                arr = cv2.imdecode(buf, flag)
                if arr is not None and channels == 3:
                    arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        except cv2.error as exc:
            raise DatasetError(f"{name}: cannot decode image ({len(data)} bytes): too large "
                               "or malformed") from exc
    if arr is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as im:
                    im = ImageOps.exif_transpose(im)
                    arr = pil_to_array(im, channels)
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(_too_large(name, exc)) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise DatasetError(
                f"{name}: cannot decode image ({len(data)} bytes): not a PNG/JPEG/BMP/TIFF/"
                "WebP image, or the file is truncated"
            ) from exc
    if arr.ndim < 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise DatasetError(f"{name}: image has no pixels")
    return arr


def load_image(path: str | Path, channels: int = 1,
               max_pixels: int | None = None) -> np.ndarray:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file ({exc.strerror})") from exc
    return decode_image(data, channels, name=str(path), max_pixels=max_pixels)


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
    """:func:`pad_batch` as a float32 tensor ``(N, C, H, W)``."""
    import torch

    return torch.from_numpy(pad_batch(items, multiple, width))


def pad_batch(items: list[np.ndarray], multiple: int = 4, width: int | None = None
              ) -> np.ndarray:
    """Right-pad ``(C, H, W_i)`` arrays to the widest (rounded up to ``multiple``), or to
    ``width`` when given (at least the widest), into one float32 ``(N, C, H, W)`` array.

    Padding uses each image's own background estimate (the mean of its first and last
    columns) rather than a fixed value, so padded columns look like margin, not ink.
    """
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
    return batch

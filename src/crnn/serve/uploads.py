"""Upload parsing: multipart bodies, base64 JSON images, and the checks every image passes
before it is decoded."""

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import (
    DatasetError,
    ImageTooLargeError,
)
from .settings import IMAGE_FORMATS, ServeError


# --------------------------------------------------------------------------- input parsing
@dataclass
class _Item:
    """One image of a request: ``label`` names it in messages, ``name`` in results."""

    label: str
    name: str
    data: bytes | None = None
    image: np.ndarray | None = None
    error: ServeError | None = None


def check_and_decode(data: bytes, label: str, max_pixels: int, channels: int) -> np.ndarray:
    """Image bytes -> uint8 pixels, or :class:`ServeError` (413/415/422) naming ``label``.

    The size comes from the header (Pillow reads no pixels to give it), so an oversized or
    decompression-bomb image is refused before it is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    from ..data.images import decode_image

    if not data:
        raise ServeError(422, f"{label}: empty (0 bytes), expected an image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except Image.DecompressionBombError as exc:
        raise ServeError(413, f"{label}: image too large to decode ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ServeError(415, f"{label}: not an image ({len(data)} bytes); send "
                              f"{IMAGE_FORMATS}") from exc
    if width * height > max_pixels:
        raise ServeError(413, f"{label}: {width}x{height} is {width * height} pixels, over "
                              f"the limit of {max_pixels} (--max-pixels)")
    try:
        return decode_image(data, channels, name=label)
    except ImageTooLargeError as exc:
        raise ServeError(413, str(exc)) from exc
    except DatasetError as exc:
        raise ServeError(422, str(exc)) from exc


def _truthy(value: str, label: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("", "0", "false", "no", "off"):
        return False
    raise ServeError(422, f"{label}: expected true or false, not {value[:40]!r}")


def parse_multipart(body: bytes, content_type: str, max_images: int) -> tuple[list[_Item], bool]:
    """A ``multipart/form-data`` body -> its image parts and the ``char_probs`` flag.

    Parsed in memory (the body is already bounded by ``max_request_bytes``): nothing is
    spooled to disk. Every part other than ``char_probs`` is an image; its file name, or else
    its field name, names it.
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ServeError(422, "multipart/form-data request without a boundary parameter")
    parts: list[dict[str, Any]] = []
    field_buf = bytearray()
    value_buf = bytearray()

    def on_part_begin() -> None:
        if len(parts) > max_images:  # char_probs + max_images parts at most
            raise ServeError(413, f"too many parts: at most {max_images} images per request "
                                  "(--max-images)")
        parts.append({"headers": {}, "data": bytearray()})

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field_buf.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value_buf.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1]["headers"][bytes(field_buf).lower()] = bytes(value_buf)
        field_buf.clear()
        value_buf.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1]["data"].extend(data[start:end])

    ended = []
    callbacks = {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                 "on_header_value": on_header_value, "on_header_end": on_header_end,
                 "on_part_data": on_part_data, "on_end": lambda: ended.append(True)}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ServeError(422, f"malformed multipart/form-data body: {exc}") from exc
    if not ended:
        raise ServeError(422, "malformed multipart/form-data body: it ends before the closing "
                              "boundary")
    items: list[_Item] = []
    char_probs = False
    for number, part in enumerate(parts, 1):
        _, disp = parse_options_header(part["headers"].get(b"content-disposition", b""))
        field_name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename", b"").decode("utf-8", "replace")
        if field_name == "char_probs" and not filename:
            char_probs = _truthy(bytes(part["data"]).decode("utf-8", "replace"),
                                 "form field char_probs")
            continue
        index = len(items)
        name = filename or field_name or f"image {index}"
        label = f'part {number} ("{field_name}"' + (f', file "{filename}")' if filename else ")")
        items.append(_Item(label, name, bytes(part["data"])))
    return items, char_probs


def _b64(data: str, label: str) -> bytes:
    if data.startswith("data:"):  # a data: URL, as browsers make them
        head, sep, data = data.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ServeError(422, f"{label}: a data: URL must be base64 "
                                  "(data:image/png;base64,...)")
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServeError(422, f"{label}: data is not valid base64 ({exc})") from exc

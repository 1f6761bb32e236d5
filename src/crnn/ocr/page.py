"""``read_page``: whole printed pages -> lines of text with boxes, in reading order.

Page in (grey or colour, any size) -> red seals masked out -> a photographed sheet found
and flattened -> ink mask -> rules removed -> 90/270 and skew correction -> line boxes ->
blocks in reading order -> a row's fields joined -> 180-degree check by the confidence of
the widest crops read both ways -> every grey crop read once by the :class:`Recognizer`
in width-bucketed batches, the right way up -> what is not text dropped.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from ..data.images import (
    DEFAULT_MAX_PIXELS,
    MAX_DPI,
    MIN_DPI,
    check_pixels,
    pil_to_array,
)
from ..errors import (
    ConfigError,
    DatasetError,
    ImageTooLargeError,
    NotAnImageError,
    TooManyPagesError,
)
from ..recognizer import Recognizer
from .layout import (
    Box,
    LineBox,
    binarize,
    estimate_skew,
    find_lines,
    join_fields,
    orientation,
    reading_order,
    remove_rules,
    rotate,
    text_height,
)
from .paper import find_paper, flatten

__all__ = ["Line", "Block", "Page", "Layout", "analyze", "read_page", "load_pages",
           "document_pages", "is_text"]

Point = tuple[float, float]


@dataclass
class Line:
    box: Box  # in the original page's pixel coordinates
    text: str
    confidence: float
    # the line's four corners in the original page's pixels, starting at the text's top
    # left and going clockwise (a skewed or turned page gives a turned quadrilateral)
    quad: tuple[Point, Point, Point, Point] | None = None


@dataclass
class Block:
    box: Box
    lines: list[Line] = field(default_factory=list)


@dataclass
class Page:
    width: int
    height: int
    rotation: int  # 0, 90, 180 or 270: how far the page was turned to read it upright
    skew: float  # degrees of the residual skew corrected
    blocks: list[Block] = field(default_factory=list)
    number: int = 1
    source: str | None = None

    @property
    def lines(self) -> list[Line]:
        return [ln for b in self.blocks for ln in b.lines]

    @property
    def text(self) -> str:
        return "\n\n".join("\n".join(ln.text for ln in b.lines) for b in self.blocks)

    def as_dict(self) -> dict:
        return asdict(self)


def load_pages(path: str | Path, dpi: int = 300,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """Pages of an image file (multi-page TIFF included) or a PDF (rasterised with
    poppler's pdftoppm at ``dpi``), as RGB uint8 arrays, transparent pixels on white.
    A page of more than ``max_pixels`` pixels is refused with an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    _check_dpi(dpi)
    with path.open("rb") as f:
        head = f.read(5)
    if head == b"%PDF-":
        yield from _pdf_pages(path, str(path), dpi, max_pixels)
        return
    with _open_image(path, str(path)) as im:
        yield from _image_pages(im, str(path), max_pixels, None)


def document_pages(data: bytes, name: str = "upload", dpi: int = 300,
                   max_pixels: int | None = DEFAULT_MAX_PIXELS, max_pages: int | None = None,
                   page: int | None = None) -> tuple[list[np.ndarray], int]:
    """The pages of an image or PDF held in memory (an upload), and how many the document
    has. ``page`` (1-based) picks one page; otherwise a document of more than
    ``max_pages`` pages is refused (:class:`TooManyPagesError`) before any is rasterised.
    Errors name ``name``; bytes that are no image or PDF raise :class:`NotAnImageError`."""
    _check_dpi(dpi)
    if page is not None and page < 1:
        raise ConfigError(f"{name}: page {page}: pages are numbered from 1")
    if data[:5] == b"%PDF-":
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / "upload.pdf"
            pdf.write_bytes(data)
            total = _pdf_page_count(pdf, name)
            _check_page_choice(name, total, max_pages, page)
            return list(_pdf_pages(pdf, name, dpi, max_pixels, page)), total
    with _open_image(io.BytesIO(data), name) as im:
        total = int(getattr(im, "n_frames", 1))
        _check_page_choice(name, total, max_pages, page)
        return list(_image_pages(im, name, max_pixels, page)), total


def _check_dpi(dpi: int) -> None:
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ConfigError(f"--dpi {dpi}: give a resolution from {MIN_DPI} to {MAX_DPI}")


def _check_page_choice(name: str, total: int, max_pages: int | None, page: int | None) -> None:
    if page is not None:
        if page > total:
            raise ConfigError(f"{name}: page {page} asked for, the document has {total}")
    elif max_pages is not None and total > max_pages:
        raise TooManyPagesError(f"{name}: {total} pages, over the limit of {max_pages}; "
                                "send fewer pages or ask for one page at a time")


@contextmanager
def _open_image(source: Path | io.BytesIO, name: str) -> Iterator[Image.Image]:
    """``Image.open`` whose failures are crnn errors naming the input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name}: image too large to decode ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        detail = f" ({exc})" if isinstance(source, Path) else ""
        raise NotAnImageError(f"{name}: not a readable image or PDF{detail}") from exc
    with im:
        yield im


def _image_pages(im: Image.Image, name: str, max_pixels: int | None,
                 page: int | None) -> Iterator[np.ndarray]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            for n, frame in enumerate(ImageSequence.Iterator(im), 1):
                if page is not None and n != page:
                    continue
                label = f"{name} page {n}" if n > 1 else name
                check_pixels(*frame.size, max_pixels, label)
                frame = ImageOps.exif_transpose(frame)
                yield pil_to_array(frame, 3)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name}: image too large to decode ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{name}: not a readable image or PDF ({exc})") from exc


def _pdf_page_count(pdf: Path, name: str) -> int:
    try:
        res = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=False,
                             timeout=60)
    except FileNotFoundError as exc:
        raise DatasetError("reading PDFs needs poppler's pdfinfo and pdftoppm: apt-get "
                           "install poppler-utils") from exc
    found = re.search(rb"^Pages:\s+(\d+)", res.stdout, re.MULTILINE)
    if res.returncode != 0 or found is None:
        detail = res.stderr.decode(errors="replace").strip()[:200]
        raise NotAnImageError(f"{name}: not a readable PDF ({detail or 'pdfinfo failed'})")
    return int(found.group(1))


def _pdf_pages(path: Path, name: str, dpi: int, max_pixels: int | None,
               page: int | None = None) -> Iterator[np.ndarray]:
    pick = ["-f", str(page), "-l", str(page)] if page is not None else []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["pdftoppm", "-r", str(dpi), *pick, "-png", str(path), f"{tmp}/p"],
                           check=True, capture_output=True)
        except FileNotFoundError as exc:
            raise DatasetError("reading PDFs needs poppler's pdftoppm: apt-get install "
                               "poppler-utils") from exc
        except subprocess.CalledProcessError as exc:
            raise DatasetError(f"{name}: pdftoppm failed: "
                               f"{exc.stderr.decode(errors='replace')[:200]}") from exc
        files = sorted(Path(tmp).glob("p*.png"), key=lambda q: int(q.stem.split("-")[-1]))
        if not files:
            raise DatasetError(f"{name}: pdftoppm made no page images at {dpi} dpi; check "
                               "that the PDF opens (pdfinfo) and try a lower --dpi")
        for n, p in enumerate(files, page or 1):
            with Image.open(p) as im:
                check_pixels(*im.size, max_pixels, f"{name} page {n} at {dpi} dpi")
                if min(im.size) < 16:
                    raise DatasetError(f"{name} page {n}: rasterised to only {im.size[0]}x"
                                       f"{im.size[1]} pixels at {dpi} dpi; try --dpi 300")
                yield pil_to_array(im, 3)


def _grey_without_seals(img: np.ndarray) -> np.ndarray:
    """Grey page; strongly red pixels (stamps, seals) become paper so they are not read."""
    if img.ndim == 2:
        return img
    r, g, b = (img[:, :, i].astype(np.int16) for i in range(3))
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    red = (r > 110) & (r - np.maximum(g, b) > 60)
    if red.any():
        grey = grey.copy()
        grey[cv2.dilate(red.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0] = 255
    return grey


def _crop(grey: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    h = y1 - y0
    pad_y, pad_x = max(2, int(0.15 * h)), max(2, int(0.25 * h))
    H, W = grey.shape
    return grey[max(0, y0 - pad_y):min(H, y1 + pad_y), max(0, x0 - pad_x):min(W, x1 + pad_x)]


def _project(points: list[tuple[float, float]], m: np.ndarray) -> np.ndarray:
    """``points`` (x, y) through the 3x3 homography ``m``: an (n, 2) array."""
    pts = np.array([[x, y, 1.0] for x, y in points]) @ m.T
    return pts[:, :2] / pts[:, 2:3]


def _to_original(box: Box, inv: np.ndarray, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    mapped = _project([(x0, y0), (x1, y0), (x0, y1), (x1, y1)], inv)
    xs, ys = mapped[:, 0], mapped[:, 1]
    return (max(0, int(xs.min())), max(0, int(ys.min())), min(width, int(np.ceil(xs.max()))),
            min(height, int(np.ceil(ys.max()))))


@dataclass
class Layout:
    """Where the lines of a page are, before reading them."""

    grey: np.ndarray  # the page flattened (a photo), turned upright (90/270), deskewed,
    # its rules painted over in the paper's shade
    blocks: list[list[LineBox]]  # line boxes in ``grey`` coordinates, in reading order
    turn: int  # 0 or 90: the quarter turn applied
    skew: float  # degrees of skew corrected
    to_original: np.ndarray  # 3 x 3 homography from ``grey`` to original coordinates
    paper: np.ndarray | None = None  # a photographed sheet's corners, as found (4 x 2)

    def original_box(self, box: Box, width: int, height: int) -> Box:
        return _to_original(box, self.to_original, width, height)

    def original_quad(self, box: Box, width: int, height: int, flipped: bool = False
                      ) -> tuple[Point, Point, Point, Point]:
        """``box``'s corners in original coordinates, from the text's top left clockwise
        (on a page read upside down, the text's top left is the box's bottom right)."""
        x0, y0, x1, y1 = box
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        if flipped:
            corners = corners[2:] + corners[:2]
        pts = _project(corners, self.to_original)
        return tuple((round(float(min(max(x, 0), width)), 1),  # type: ignore[return-value]
                      round(float(min(max(y, 0), height)), 1)) for x, y in pts)


# skew below this many degrees is left as it is: a 2,000-px line drifts by under 10 px,
# which line finding absorbs, and turning the page would cost a second ink pass
_MIN_SKEW = 0.3


def analyze(image: np.ndarray, min_line_height: int = 6) -> Layout:
    """Find the lines of a page (grey or RGB uint8): seals masked, a photographed sheet
    found and flattened, rules removed, a sideways page turned, skew corrected, lines
    found, ordered, and the fields of a row joined into its line."""
    grey = _grey_without_seals(image)
    paper = find_paper(grey)
    m_paper = np.eye(3)
    if paper is not None:
        grey, m_paper = flatten(grey, paper)
    # the ink is found once, and a quarter turn turns its masks with the page; only a
    # deskew rotation (interpolated) finds it again
    ink, rules = _ink(grey)
    sideways, skew = orientation(ink)
    m_turn = _identity()
    if sideways:
        grey, m_turn = rotate(grey, 90)
        ink, rules = _moved(ink, m_turn, grey.shape), _moved(rules, m_turn, grey.shape)
        skew = estimate_skew(ink)
    m_skew = _identity()
    shade = int(np.median(grey))  # the paper's
    if abs(skew) >= _MIN_SKEW:
        # the corners the turn uncovers get the paper's shade, so their edges are no ink
        grey, m_skew = rotate(grey, skew, fill=shade)
        ink, rules = _ink(grey)
    else:
        skew = 0.0
    # slivers under a quarter as wide as high are edges and rules' ends (a lone "1" is
    # wider)
    lines = [ln for ln in find_lines(ink) if ln.box[3] - ln.box[1] >= min_line_height
             and ln.box[2] - ln.box[0] >= 0.25 * (ln.box[3] - ln.box[1])]
    to_orig = np.linalg.inv(_as3(m_skew) @ _as3(m_turn) @ m_paper)
    blocks = join_fields(reading_order(lines, rules))
    if rules.any():
        # a line joined across a table's cells must not read the rules between them
        grey = grey.copy()
        grey[rules] = shade
    return Layout(grey, blocks, 90 if sideways else 0, round(skew, 2), to_orig, paper)


def _moved(mask: np.ndarray, m: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask through the 2x3 affine map ``m`` onto a canvas of ``shape``."""
    return cv2.warpAffine(mask.astype(np.uint8), m, (shape[1], shape[0]),
                          flags=cv2.INTER_NEAREST, borderValue=0) > 0


def _ink(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The page's ink without its rules, and the rules."""
    ink = binarize(grey)
    return remove_rules(ink, text_height=text_height(ink))


def read_page(image: np.ndarray | str | Path, recognizer: Recognizer | None = None,
              number: int = 1, min_line_height: int = 6) -> Page:
    """Find and read every text line of one page image (path or uint8 array)."""
    if isinstance(image, (str, Path)):
        image = next(load_pages(image))
    rec = recognizer or Recognizer.load()
    height, width = image.shape[:2]
    layout = analyze(image, min_line_height)
    blocks = layout.blocks
    crops = [_crop(layout.grey, ln.box) for b in blocks for ln in b]
    flipped, results = _read_upright(rec, crops)
    page = Page(width, height, (layout.turn + (180 if flipped else 0)) % 360, layout.skew,
                number=number)
    # each crop's index in reading order; an upside-down page is read in reverse
    indexed = []
    k = 0
    for b in blocks:
        indexed.append([(k + j, ln) for j, ln in enumerate(b)])
        k += len(b)
    if flipped:
        indexed = [list(reversed(b)) for b in reversed(indexed)]
    for b in indexed:
        block_lines = []
        for i, ln in b:
            box = layout.original_box(ln.box, width, height)
            edge = _at_edge(ln.box, layout.grey.shape) or _at_edge(box, (height, width))
            if is_text(results[i].text, results[i].confidence, ln.box, edge):
                block_lines.append(Line(box, results[i].text, round(results[i].confidence, 4),
                                        layout.original_quad(ln.box, width, height, flipped)))
        if block_lines:
            bx = [ln.box for ln in block_lines]
            page.blocks.append(Block((min(x[0] for x in bx), min(x[1] for x in bx),
                                      max(x[2] for x in bx), max(x[3] for x in bx)),
                                     block_lines))
    return page


# below this confidence, a line cut by the page's edge is the edge itself (a scanner's
# shadow, the table under a photographed sheet), not text
_EDGE_MIN_CONFIDENCE = 0.8


def is_text(text: str, confidence: float, box: Box | None = None,
            at_edge: bool = False) -> bool:
    """Whether a line candidate read as ``text`` with ``confidence`` is text, not a
    border, a rule or a speck: it reads as at least one letter, digit or ideograph (a
    stroke read as ``|`` or ``'`` is not); and when it is cut by the page's edge
    (``at_edge``: a scanner's shadow, a sheet's border), it reads with a confidence of
    at least 0.8 and as densely as text does: at least one character per four line
    heights of its ``box``'s width (a shadow along the edge reads as a stray glyph or
    two)."""
    if not any(ch.isalnum() for ch in text):
        return False
    if not at_edge:
        return True
    if confidence < _EDGE_MIN_CONFIDENCE:
        return False
    if box is not None:
        x0, y0, x1, y1 = box
        if len(text.strip()) < 0.25 * (x1 - x0) / max(1, y1 - y0):
            return False
    return True


def _at_edge(box: Box, shape: tuple[int, ...]) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= 1 or y0 <= 1 or x1 >= shape[1] - 1 or y1 >= shape[0] - 1


def _read_upright(rec: Recognizer, crops: list[np.ndarray]) -> tuple[bool, list]:
    """Read every crop the right way up: first the widest lines both ways (upside down
    when their mean confidence is over 0.1 higher turned 180 degrees), then the rest in
    that orientation only, so an upside-down page is not read twice.

    One reading per line, as the line is (``ReadingPolicy.once()``: stretch 1, no
    rereads, no blank penalty, the model's right margin). The model's stretch, rereads
    and blank penalty were chosen on the page sets' own line cuts, not on the line
    finder's crops, and do not carry over: with model v7, ``benchmarks/page.py --rotate``
    gave a page CER of 0.0050 / 0.0048 (seeds 55 / 77) read at 1x, 0.0060 / 0.0066 at its
    1.1x, and 0.0051 / 0.0056 with its rereads as well, 30% slower; with v19, its blank
    penalty of 2 raised the page CER of 12 pages of ``benchmarks/page.py --count 12``
    from 0.0377 to 0.0474 (and of ``../shared/dev/pages`` from 0.0023 to 0.0026)."""
    if not crops:
        return False, []
    probe = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1])[:6]
    once = rec.reading.once()
    up = rec.recognize([crops[i] for i in probe], reading=once)
    down = rec.recognize([_turn(crops[i]) for i in probe], reading=once)
    flipped = (float(np.mean([r.confidence for r in down]))
               > float(np.mean([r.confidence for r in up])) + 0.1)
    results: list = [None] * len(crops)
    for i, r in zip(probe, down if flipped else up, strict=True):
        results[i] = r
    rest = [i for i in range(len(crops)) if results[i] is None]
    if rest:
        todo = [_turn(crops[i]) if flipped else crops[i] for i in rest]
        for i, r in zip(rest, rec.recognize(todo, reading=once), strict=True):
            results[i] = r
    return flipped, results


def _turn(crop: np.ndarray) -> np.ndarray:
    """The crop turned by 180 degrees."""
    return np.ascontiguousarray(crop[::-1, ::-1])


def _identity() -> np.ndarray:
    return np.array([[1.0, 0, 0], [0, 1.0, 0]])


def _as3(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0, 0, 1]])

"""Page results as plain text, JSON, hOCR, ALTO XML and an overlay picture."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .page import Line, Page

__all__ = ["to_text", "to_json", "to_hocr", "to_alto", "overlay", "FORMATS"]

FORMATS = ("txt", "json", "hocr", "alto", "overlay")


def to_text(pages: Sequence[Page]) -> str:
    return "\n\f\n".join(p.text for p in pages) + "\n"


def to_json(pages: Sequence[Page]) -> str:
    return json.dumps({"pages": [p.as_dict() for p in pages]}, ensure_ascii=False, indent=1)


def _bbox(box) -> str:
    return "bbox {} {} {} {}".format(*box)


def _words(line: Line) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The line's space-separated words with boxes estimated inside the line box: each
    character takes 1 em if East Asian wide, else 0.55 em (a run of Chinese without
    spaces is one word, as in Tesseract's output)."""
    text = " ".join(line.text.split())
    if not text:
        return []
    weights = [1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text]
    x0, y0, x1, y1 = line.box
    scale = (x1 - x0) / sum(weights)
    out, start = [], 0
    for word in text.split(" "):
        end = start + len(word)
        left = x0 + int(sum(weights[:start]) * scale)
        right = max(left + 1, x0 + int(sum(weights[:end]) * scale))
        out.append((word, (left, y0, right, y1)))
        start = end + 1  # past the space
    return out


def to_hocr(pages: Sequence[Page], source: str = "") -> str:
    """hOCR 1.2 (XHTML): ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
           '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="zh" lang="zh">',
           "<head><title></title>",
           '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
           '<meta name="ocr-system" content="crnn"/>',
           '<meta name="ocr-langs" content="zh en"/>',
           '<meta name="ocr-scripts" content="Hans Latn"/>',
           f'<meta name="ocr-number-of-pages" content="{len(pages)}"/>',
           '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line '
           'ocrx_word"/>', "</head>", "<body>"]
    for p in pages:
        image = f'image {json.dumps(p.source or source)}; ' if (p.source or source) else ""
        title = f"{image}{_bbox((0, 0, p.width, p.height))}; ppageno {p.number - 1}"
        out.append(f'<div class="ocr_page" id="page_{p.number}" title={quoteattr(title)}>')
        for bi, b in enumerate(p.blocks, 1):
            bid = f"{p.number}_{bi}"
            out.append(f'<div class="ocr_carea" id="block_{bid}" title="{_bbox(b.box)}">')
            out.append(f'<p class="ocr_par" id="par_{bid}" title="{_bbox(b.box)}">')
            for li, ln in enumerate(b.lines, 1):
                lid = f"{bid}_{li}"
                conf = int(round(100 * ln.confidence))
                words = " ".join(
                    f'<span class="ocrx_word" id="word_{lid}_{wi}" title="{_bbox(box)}; '
                    f'x_wconf {conf}">{escape(word)}</span>'
                    for wi, (word, box) in enumerate(_words(ln), 1))
                out.append(f'<span class="ocr_line" id="line_{lid}" title="{_bbox(ln.box)}">'
                           f'{words}</span>')
            out.append("</p></div>")
        out.append("</div>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def to_alto(pages: Sequence[Page], source: str = "") -> str:
    """ALTO v4 XML, measurements in pixels."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# '
           'http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">',
           "<Description><MeasurementUnit>pixel</MeasurementUnit>",
           f"<sourceImageInformation><fileName>{escape(source)}</fileName>"
           "</sourceImageInformation>",
           "<OCRProcessing ID=\"OCR_0\"><ocrProcessingStep><processingSoftware>"
           "<softwareName>crnn</softwareName></processingSoftware></ocrProcessingStep>"
           "</OCRProcessing></Description>", "<Layout>"]

    def pos(box) -> str:
        x0, y0, x1, y1 = box
        return f'HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}"'

    for p in pages:
        out.append(f'<Page ID="page_{p.number}" PHYSICAL_IMG_NR="{p.number}" '
                   f'WIDTH="{p.width}" HEIGHT="{p.height}">')
        out.append(f'<PrintSpace {pos((0, 0, p.width, p.height))}>')
        for bi, b in enumerate(p.blocks, 1):
            out.append(f'<TextBlock ID="block_{p.number}_{bi}" {pos(b.box)}>')
            for li, ln in enumerate(b.lines, 1):
                lid = f"{p.number}_{bi}_{li}"
                parts, prev = [], None
                for wi, (word, box) in enumerate(_words(ln), 1):
                    if prev is not None:  # the space since the previous word
                        parts.append(f'<SP HPOS="{prev[2]}" VPOS="{box[1]}" '
                                     f'WIDTH="{max(0, box[0] - prev[2])}"/>')
                    parts.append(f'<String ID="string_{lid}_{wi}" {pos(box)} '
                                 f'CONTENT={quoteattr(word)} WC="{ln.confidence:.3f}"/>')
                    prev = box
                xml = "".join(parts)
                out.append(f'<TextLine ID="line_{lid}" {pos(ln.box)}>{xml}</TextLine>')
            out.append("</TextBlock>")
        out.append("</PrintSpace></Page>")
    out += ["</Layout>", "</alto>", ""]
    return "\n".join(out)


_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _font(size: int) -> ImageFont.ImageFont:
    for f in _FONT_CANDIDATES:
        if Path(f).is_file():
            return ImageFont.truetype(f, size)
    return ImageFont.load_default()


def overlay(image: np.ndarray, page: Page) -> Image.Image:
    """The page, lightened, with each line's box and its reading (order number, text,
    confidence) drawn above it, for a person to check. On a sideways page (rotation 90 or
    270) the labels run along the lines, on the side that is up when the page is read."""
    base = Image.fromarray(image).convert("RGB")
    base = Image.blend(base, Image.new("RGB", base.size, "white"), 0.35)
    draw = ImageDraw.Draw(base)
    sideways = page.rotation in (90, 270)
    tilt = abs(math.tan(math.radians(page.skew)))
    for n, ln in enumerate(page.lines, 1):
        x0, y0, x1, y1 = ln.box
        colour = (0, 150, 0) if ln.confidence >= 0.8 else (220, 120, 0) if \
            ln.confidence >= 0.5 else (220, 0, 0)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2)
        # the line's own height: its box is taller by the skew across its length
        across, along = (x1 - x0, y1 - y0) if sideways else (y1 - y0, x1 - x0)
        height = max(0.3 * across, across - along * tilt)
        size = max(10, int(0.6 * height))
        label = f"{n}. {ln.text}  ({ln.confidence:.2f})"
        font = _font(size)
        if not sideways:
            draw.text((x0, max(0, y0 - size - 2)), label, fill=(0, 0, 200), font=font)
            continue
        box = draw.textbbox((0, 0), label, font=font)
        tile = Image.new("L", (box[2] + 2, box[3] + 2), 0)
        ImageDraw.Draw(tile).text((0, 0), label, fill=255, font=font)
        if page.rotation == 270:  # turned counter-clockwise: lines run bottom to top
            tile = tile.rotate(90, expand=True)
            at = (max(0, x0 - tile.width - 2), max(0, y1 - tile.height))
        else:  # turned clockwise: lines run top to bottom
            tile = tile.rotate(-90, expand=True)
            at = (x1 + 2, y0)
        base.paste((0, 0, 200), (*at, at[0] + tile.width, at[1] + tile.height), tile)
    return base

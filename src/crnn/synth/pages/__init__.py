"""``crnn synth pages``: a validation set cut from whole pages laid out by real software.

Documents from :mod:`.templates` (admission letters, notices, forms, fee tables,
two-column newsletters, schedules) are written as flat ODF (``.fodt``) with explicit font
families, converted to PDF by LibreOffice (``soffice --headless --convert-to pdf``, several
documents per call, a private profile per worker), rasterised by ``pdftoppm -gray`` at
150-300 dpi, and cut into text lines at the boxes ``pdftotext -bbox-layout`` reports.
Every line's text is checked against the document's own source text (whitespace ignored);
lines that do not match exactly are rejected and counted, never guessed. The label is the
matching span of the source (NFC, single spaces between Latin words only).

With ``--text FILE`` the documents keep their layout (blocks, roles, table shapes, fonts,
sizes) but every paragraph, cell, header and footer is filled with lines of that file
(:func:`.templates.fill_text`): training lines typeset by LibreOffice whose wording
is not the validation pages'.

A share of the pages gets a mild scan degradation (contrast, a skew within +-1 degree,
blur, noise, JPEG); line crops then follow the transform (each line is sampled along its
rotated box). With ``--keep-pages DIR`` each page PNG is kept with a JSON of its lines
(box and polygon in page pixels, text, whether verified, the sample number, and ``order``:
the line's rank in reading order, taken from the document's source so that columns read
in flow order and tables row by row) for page-level OCR work. The list itself is in
pdftotext's order.
"""

from .build import render_pages
from .cli import build_parser, main
from .fodt import document_to_fodt
from .style import CROPS, FONT_CHOICES, FONT_SETS, HELD_OUT_FONTS, available_fonts, document_style

__all__ = ["main", "build_parser", "render_pages", "document_style", "document_to_fodt",
           "available_fonts", "FONT_CHOICES", "FONT_SETS", "CROPS", "HELD_OUT_FONTS"]

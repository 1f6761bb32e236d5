"""``crnn synth pages``: a validation set cut from whole pages laid out by real software.

Documents from :mod:`.page_templates` (admission letters, notices, forms, fee tables,
two-column newsletters, schedules) are written as flat ODF (``.fodt``) with explicit font
families, converted to PDF by LibreOffice (``soffice --headless --convert-to pdf``, several
documents per call, a private profile per worker), rasterised by ``pdftoppm -gray`` at
150-300 dpi, and cut into text lines at the boxes ``pdftotext -bbox-layout`` reports.
Every line's text is checked against the document's own source text (whitespace ignored);
lines that do not match exactly are rejected and counted, never guessed. The label is the
matching span of the source (NFC, single spaces between Latin words only).

With ``--text FILE`` the documents keep their layout (blocks, roles, table shapes, fonts,
sizes) but every paragraph, cell, header and footer is filled with lines of that file
(:func:`.page_templates.fill_text`): training lines typeset by LibreOffice whose wording
is not the validation pages'.

A share of the pages gets a mild scan degradation (contrast, a skew within +-1 degree,
blur, noise, JPEG); line crops then follow the transform (each line is sampled along its
rotated box). With ``--keep-pages DIR`` each page PNG is kept with a JSON of its lines
(box and polygon in page pixels, text, whether verified, the sample number, and ``order``:
the line's rank in reading order, taken from the document's source so that columns read
in flow order and tables row by row) for page-level OCR work. The list itself is in
pdftotext's order.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..data.outputs import check_out, mark, swap_into_place
from ..errors import ConfigError, CrnnError, DatasetError
from .page_templates import (
    Columns,
    Document,
    Para,
    Table,
    document_lines,
    fill_text,
    make_document,
)

__all__ = ["main", "build_parser", "render_pages", "document_style", "document_to_fodt",
           "available_fonts", "FONT_CHOICES", "HELD_OUT_FONTS"]

_PROG = "crnn synth pages"
_INSTALL_HINT = "apt-get install libreoffice-writer-nogui poppler-utils"
_FONT_HINT = ("apt-get install fonts-noto-cjk fonts-wqy-zenhei fonts-arphic-uming "
              "fonts-arphic-ukai fonts-lxgw-wenkai fonts-liberation2 fonts-dejavu")

# Font families by face, as fc-list names them; the first available ones are used.
FONT_CHOICES: dict[str, tuple[str, ...]] = {
    "song": ("Noto Serif CJK SC", "AR PL UMing CN", "Source Han Serif SC", "AR PL SungtiL GB",
             "IPAMincho", "IPAexMincho", "TakaoMincho"),
    "hei": ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Source Han Sans SC",
            "Droid Sans Fallback", "IPAGothic"),
    "kai": ("AR PL UKai CN", "LXGW WenKai", "AR PL KaitiM GB"),
    "serif": ("Liberation Serif", "DejaVu Serif", "Noto Serif", "FreeSerif", "Nimbus Roman",
              "TeX Gyre Termes", "TeX Gyre Schola", "TeX Gyre Bonum", "C059",
              "TeX Gyre Pagella", "P052", "Caladea", "Linux Libertine O", "EB Garamond 12"),
    "sans": ("Liberation Sans", "DejaVu Sans", "Noto Sans", "FreeSans", "Nimbus Sans",
             "TeX Gyre Heros", "Carlito", "Open Sans", "Roboto", "Cantarell", "Lato",
             "TeX Gyre Adventor", "URW Gothic"),
}
# Families kept out of training (``--fonts train``) to measure reading of unseen faces
# (``--fonts heldout``); P052/Pagella and URW Gothic/Adventor are one design each.
HELD_OUT_FONTS: tuple[str, ...] = ("TeX Gyre Pagella", "P052", "Caladea", "Lato",
                                   "TeX Gyre Adventor", "URW Gothic", "IPAexMincho",
                                   "AR PL KaitiM GB")
FONT_SETS = ("all", "train", "heldout")
CROPS = ("box", "ink", "mixed")
_CJK_FACES = ("song", "hei", "kai")
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}
_PAGE_W_CM, _PAGE_H_CM = 21.0, 29.7
_SPLIT_GAP = 2.5        # a gap wider than this many line heights splits a pdftotext line
_SOFFICE_TIMEOUT = 300  # seconds per soffice call


# --------------------------------------------------------------------------- tools, fonts

def _need(tool: str, *alternatives: str) -> str:
    for name in (tool, *alternatives):
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError(f"'{tool}' is not installed; page rendering needs LibreOffice and "
                      f"poppler: {_INSTALL_HINT}")


def available_fonts() -> set[str]:
    """Family names fontconfig knows (``fc-list : family``), every alias of each."""
    fc = shutil.which("fc-list")
    if fc is None:
        raise ConfigError("'fc-list' is not installed (package fontconfig); it lists the "
                          "fonts LibreOffice can use")
    out = subprocess.run([fc, ":", "family"], capture_output=True, text=True, check=False)
    return {name.strip() for line in out.stdout.splitlines() for name in line.split(",")
            if name.strip()}


def _font_table(families: set[str], font_set: str = "all") -> dict[str, list[str]]:
    """The available families of each face; ``font_set`` ``train`` leaves out
    :data:`HELD_OUT_FONTS`, ``heldout`` keeps only those (a face without any held-out family
    keeps its training families, so every document can be laid out)."""
    table = {face: [f for f in names if f in families] for face, names in FONT_CHOICES.items()}
    if font_set == "train":
        table = {face: [f for f in fs if f not in HELD_OUT_FONTS] for face, fs in table.items()}
    elif font_set == "heldout":
        table = {face: [f for f in fs if f in HELD_OUT_FONTS] or fs for face, fs in table.items()}
    if not any(table[f] for f in _CJK_FACES):
        raise ConfigError("no Chinese font found (looked for "
                          + ", ".join(n for f in _CJK_FACES for n in FONT_CHOICES[f])
                          + f"); install some: {_FONT_HINT}")
    return table


# --------------------------------------------------------------------------- styles

@dataclass(frozen=True)
class _Degrade:
    """Scan degradation of one page; strengths drawn per page."""

    angle: float      # degrees, positive = counter-clockwise
    blur: float       # Gaussian sigma in pixels (0 = none)
    noise: float      # Gaussian noise sigma in grey levels
    jpeg: int         # JPEG quality (0 = none)
    paper: int        # background grey level
    ink: int          # darkest grey level


def document_style(seed: int, index: int, fonts: dict[str, list[str]], dpis: Sequence[int],
                   degrade: float, kind: str) -> dict[str, Any]:
    """Typographic and rendering choices for document ``index`` (deterministic)."""
    rng = random.Random(f"crnn-pages-style/{seed}/{index}")
    cjk_faces = [f for f in _CJK_FACES if fonts[f]]

    def pick(face: str) -> tuple[str, str]:
        if not fonts[face]:
            face = rng.choice(cjk_faces)
        return face, rng.choice(fonts[face])

    body_face, body_cjk = pick(rng.choices(_CJK_FACES, (0.45, 0.3, 0.25))[0])
    latin_kind = rng.choices(("same", "serif", "sans"), (0.3, 0.4, 0.3))[0]
    if kind == "admission-en":
        latin_kind = rng.choice(("serif", "sans"))
    latin_kind = latin_kind if latin_kind == "same" or fonts[latin_kind] else "same"
    body_latin = body_cjk if latin_kind == "same" else rng.choice(fonts[latin_kind])
    title_face, title_cjk = pick(rng.choice(("hei", "song", "kai", "hei")))
    head_face, head_cjk = pick(rng.choice(("hei", "hei", body_face)))
    size = rng.choice((10.5, 11.0, 12.0, 12.0, 14.0))
    style: dict[str, Any] = {
        "body_face": body_face, "body_cjk": body_cjk, "body_latin": body_latin,
        "title_face": title_face, "title_cjk": title_cjk,
        "title_latin": title_cjk if rng.random() < 0.5 or not fonts["sans"]
        else rng.choice(fonts["sans"]),
        "head_cjk": head_cjk, "head_latin": head_cjk,
        "size": size,
        "title_size": rng.choice((16.0, 18.0, 20.0, 22.0, 24.0)),
        "redhead_size": rng.choice((20.0, 22.0, 26.0, 28.0)),
        "redhead_color": rng.choice(("#c00000", "#d01010", "#000000")),
        "line_height": rng.choice((100, 115, 125, 135, 150, 160)),
        "align": rng.choice(("justify", "justify", "start")),
        "autospace": rng.random() < 0.6,
        "margin_lr": round(rng.uniform(2.0, 3.0), 2),
        "margin_tb": round(rng.uniform(1.8, 2.6), 2),
        "para_gap": round(rng.choice((0.0, 0.1, 0.2, 0.3)), 2),
        "cell_pad": round(rng.uniform(0.12, 0.25), 2),
        "border_pt": rng.choice((0.5, 0.75, 1.0)),
        "table_size": size if rng.random() < 0.6 else max(9.0, size - 1.5),
        "dpi": rng.choice(list(dpis)),
        "pages_degraded": rng.random() < degrade,
        "page_seed": rng.randrange(2**31),
    }
    return style


def _draw_degrade(rng: random.Random, dpi: int) -> _Degrade:
    scale = dpi / 200.0
    return _Degrade(
        angle=round(rng.uniform(-1.0, 1.0), 3),
        blur=round(rng.uniform(0.0, 0.9) * scale, 3) if rng.random() < 0.8 else 0.0,
        noise=round(rng.uniform(2.0, 9.0), 2),
        jpeg=rng.randint(35, 85) if rng.random() < 0.75 else 0,
        paper=rng.randint(228, 255),
        ink=rng.randint(0, 55),
    )


# --------------------------------------------------------------------------- ODF writing

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"'
)


def _text_props(latin: str, cjk: str, size: float, bold: bool = False,
                color: str = "#000000", underline: bool = False) -> str:
    weight = "bold" if bold else "normal"
    under = ' style:text-underline-style="solid" style:text-underline-width="auto" ' \
            'style:text-underline-color="font-color"' if underline else ""
    return (f'<style:text-properties style:font-name="{latin}" '
            f'style:font-name-asian="{cjk}" style:font-name-complex="{cjk}" '
            f'fo:font-size="{size}pt" style:font-size-asian="{size}pt" '
            f'style:font-size-complex="{size}pt" fo:font-weight="{weight}" '
            f'style:font-weight-asian="{weight}" fo:color="{color}" fo:language="en" '
            f'fo:country="US" style:language-asian="zh" style:country-asian="CN" '
            f'fo:hyphenate="false"{under}/>')


def _para_style(name: str, align: str, text: str, *, indent_pt: float = 0.0,
                top: float = 0.0, bottom: float = 0.0, line_height: int = 100,
                autospace: bool = True, extra: str = "") -> str:
    return (f'<style:style style:name="{name}" style:family="paragraph">'
            f'<style:paragraph-properties fo:text-align="{align}" '
            f'fo:text-indent="{indent_pt:.1f}pt" fo:margin-top="{top}cm" '
            f'fo:margin-bottom="{bottom}cm" fo:line-height="{line_height}%" '
            f'style:text-autospace="{"ideograph-alpha" if autospace else "none"}" '
            f'style:line-break="strict" fo:orphans="2" fo:widows="2"{extra}/>'
            f'{text}</style:style>')


def document_to_fodt(doc: Document, style: dict[str, Any]) -> str:
    """The flat-ODF text of ``doc`` laid out with ``style`` (from :func:`document_style`)."""
    s = style
    size, lh, auto = float(s["size"]), int(s["line_height"]), bool(s["autospace"])
    body_lat, body_cjk = str(s["body_latin"]), str(s["body_cjk"])
    families = sorted({body_lat, body_cjk, str(s["title_latin"]), str(s["title_cjk"]),
                       str(s["head_latin"]), str(s["head_cjk"])})
    fid = {f: f"F{i}" for i, f in enumerate(families)}
    faces = "".join(f'<style:font-face style:name="{fid[f]}" '
                    f'svg:font-family={quoteattr(repr(f))}/>' for f in families)
    body_lat, body_cjk = fid[body_lat], fid[body_cjk]
    title_lat, title_cjk = fid[str(s["title_latin"])], fid[str(s["title_cjk"])]
    head_lat, head_cjk = fid[str(s["head_latin"])], fid[str(s["head_cjk"])]
    text_w = _PAGE_W_CM - 2 * float(s["margin_lr"])
    ts = float(s["table_size"])
    border = f'{s["border_pt"]}pt solid #000000'
    styles = [
        _para_style("Body", str(s["align"]), _text_props(body_lat, body_cjk, size),
                    indent_pt=2 * size, bottom=float(s["para_gap"]), line_height=lh,
                    autospace=auto),
        _para_style("BodyNI", "start", _text_props(body_lat, body_cjk, size),
                    bottom=float(s["para_gap"]), line_height=lh, autospace=auto),
        _para_style("BodyU", "start", _text_props(body_lat, body_cjk, size, underline=True),
                    bottom=float(s["para_gap"]), line_height=lh, autospace=auto),
        _para_style("Right", "end", _text_props(body_lat, body_cjk, size), line_height=lh,
                    autospace=auto, top=0.1),
        _para_style("Center", "center", _text_props(body_lat, body_cjk, size),
                    bottom=0.15, autospace=auto),
        _para_style("Title", "center",
                    _text_props(title_lat, title_cjk, float(s["title_size"]), bold=True),
                    top=0.3, bottom=0.45, autospace=auto),
        _para_style("Subtitle", "center",
                    _text_props(title_lat, title_cjk, size + 3, bold=True), bottom=0.2,
                    autospace=auto),
        _para_style("Redhead", "center",
                    _text_props(title_lat, title_cjk, float(s["redhead_size"]), bold=True,
                                color=str(s["redhead_color"])),
                    bottom=0.35, autospace=auto,
                    extra=f' fo:border-bottom="1.5pt solid {s["redhead_color"]}" '
                          'fo:padding-bottom="0.3cm"'),
        _para_style("Heading", "start",
                    _text_props(head_lat, head_cjk, size + 1, bold=True),
                    top=0.25, bottom=0.15, autospace=auto),
        _para_style("Cell", "start", _text_props(body_lat, body_cjk, ts), autospace=auto),
        _para_style("CellHead", "center", _text_props(body_lat, body_cjk, ts, bold=True),
                    autospace=auto),
        _para_style("Header", "center", _text_props(body_lat, body_cjk, max(8.0, size - 2)),
                    autospace=auto, extra=' fo:border-bottom="0.5pt solid #000000" '
                                          'fo:padding-bottom="0.15cm"'),
        _para_style("Footer", "center", _text_props(body_lat, body_cjk, max(8.0, size - 2)),
                    autospace=auto),
        f'<style:style style:name="Cols" style:family="section"><style:section-properties>'
        f'<style:columns fo:column-count="2" fo:column-gap="{max(0.9, size * 0.09):.2f}cm"/>'
        f'</style:section-properties></style:style>',
        f'<style:style style:name="CellB" style:family="table-cell"><style:table-cell-properties '
        f'fo:padding="{s["cell_pad"]}cm" fo:border="{border}"/></style:style>',
        '<style:style style:name="CellN" style:family="table-cell"><style:table-cell-properties '
        'fo:padding="0.05cm" fo:border="none"/></style:style>',
    ]
    body: list[str] = []
    role_style = {"title": "Title", "subtitle": "Subtitle", "redhead": "Redhead",
                  "heading": "Heading", "body": "Body", "body-noindent": "BodyNI",
                  "right": "Right", "center": "Center", "small": "Footer",
                  "header": "Header", "footer": "Footer"}
    n_tables = 0
    for b in doc.blocks:
        if isinstance(b, Para):
            name = "BodyU" if b.underline else role_style[b.role]
            body.append(f'<text:p text:style-name="{name}">{escape(b.text)}</text:p>')
        elif isinstance(b, Table):
            n_tables += 1
            t = f"T{n_tables}"
            total = sum(b.widths)
            styles.append(f'<style:style style:name="{t}" style:family="table">'
                          f'<style:table-properties style:width="{text_w:.3f}cm" '
                          f'table:align="margins" fo:margin-top="0.2cm" '
                          f'fo:margin-bottom="0.3cm"/></style:style>')
            cols = []
            for i, w in enumerate(b.widths):
                styles.append(f'<style:style style:name="{t}.C{i}" style:family="table-column">'
                              f'<style:table-column-properties '
                              f'style:column-width="{text_w * w / total:.3f}cm"/></style:style>')
                cols.append(f'<table:table-column table:style-name="{t}.C{i}"/>')
            rows = []
            cell = "CellB" if b.borders else "CellN"
            for r, row in enumerate(b.rows):
                para = "CellHead" if b.header and r == 0 else "Cell"
                cells = "".join(
                    f'<table:table-cell table:style-name="{cell}" office:value-type="string">'
                    f'<text:p text:style-name="{para}">{escape(c)}</text:p></table:table-cell>'
                    for c in row)
                rows.append(f"<table:table-row>{cells}</table:table-row>")
            body.append(f'<table:table table:name="{t}" table:style-name="{t}">'
                        + "".join(cols) + "".join(rows) + "</table:table>")
        elif isinstance(b, Columns):
            inner = "".join(f'<text:p text:style-name="{role_style[p.role]}">{escape(p.text)}'
                            f"</text:p>" for p in b.paras)
            body.append(f'<text:section text:style-name="Cols" text:name="S{len(body)}">'
                        f"{inner}</text:section>")
    hf_props = ('<style:header-footer-properties fo:min-height="0.4cm" fo:margin-bottom="0.3cm"'
                ' fo:margin-top="0.3cm"/>')
    layout = (f'<style:page-layout style:name="PL"><style:page-layout-properties '
              f'fo:page-width="{_PAGE_W_CM}cm" fo:page-height="{_PAGE_H_CM}cm" '
              f'fo:margin-top="{s["margin_tb"]}cm" fo:margin-bottom="{s["margin_tb"]}cm" '
              f'fo:margin-left="{s["margin_lr"]}cm" fo:margin-right="{s["margin_lr"]}cm"/>'
              + (f"<style:header-style>{hf_props}</style:header-style>" if doc.header else "")
              + (f"<style:footer-style>{hf_props}</style:footer-style>" if doc.footer else "")
              + "</style:page-layout>")
    master = '<style:master-page style:name="Standard" style:page-layout-name="PL">'
    if doc.header:
        master += (f'<style:header><text:p text:style-name="Header">{escape(doc.header)}'
                   f"</text:p></style:header>")
    if doc.footer:
        master += (f'<style:footer><text:p text:style-name="Footer">{escape(doc.footer)}'
                   f"</text:p></style:footer>")
    master += "</style:master-page>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<office:document {_NS} office:version="1.2" '
            'office:mimetype="application/vnd.oasis.opendocument.text">'
            f"<office:font-face-decls>{faces}</office:font-face-decls>"
            f"<office:automatic-styles>{layout}{''.join(styles)}</office:automatic-styles>"
            f"<office:master-styles>{master}</office:master-styles>"
            f"<office:body><office:text>{''.join(body)}</office:text></office:body>"
            "</office:document>\n")


# --------------------------------------------------------------------------- PDF -> lines

@dataclass
class _Segment:
    """A run of words on one pdftotext line; box in PDF points."""

    text: str
    box: tuple[float, float, float, float]
    label: str | None = None      # the matching source span, when verified
    px: tuple[int, int, int, int] = (0, 0, 0, 0)   # crop box in page pixels (before skew)


@dataclass
class _PageOut:
    """One rendered page: its crops and what ``--keep-pages`` writes."""

    doc_index: int
    page_no: int
    record: dict[str, Any]
    crops: list[tuple[bytes, str, int]] = field(default_factory=list)  # png, label, line idx
    rejected: list[str] = field(default_factory=list)
    image_path: Path | None = None


def _bbox_pages(html: str, path: Path) -> list[list[_Segment]]:
    """Segments per page from ``pdftotext -bbox-layout`` output."""
    try:
        root = ET.fromstring(html)
    except ET.ParseError as exc:
        raise DatasetError(f"cannot parse pdftotext output for {path}: {exc}") from exc
    pages = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        segs: list[_Segment] = []
        for line in page.iter("{http://www.w3.org/1999/xhtml}line"):
            words = []
            for w in line.iter("{http://www.w3.org/1999/xhtml}word"):
                t = unicodedata.normalize("NFC", "".join(
                    _LIGATURES.get(c, c) for c in (w.text or "")))
                if t.strip():
                    words.append((t, *(float(w.get(k, "0"))
                                       for k in ("xMin", "yMin", "xMax", "yMax"))))
            if not words:
                continue
            height = max(w[4] - w[2] for w in words)
            run = [words[0]]
            for w in words[1:]:
                if w[1] - run[-1][3] > _SPLIT_GAP * height:
                    segs.append(_make_segment(run))
                    run = []
                run.append(w)
            segs.append(_make_segment(run))
        pages.append(segs)
    return pages


def _document_order(positions: list[tuple[int, int] | None]) -> list[int]:
    """Reading-order rank of each line from its place in the document's source (columns
    in flow order, tables row by row), where pdftotext's own order may interleave
    columns. A line not found in the source keeps its place after the line before it."""
    keys = []
    last: tuple[int, int] = (-1, -1)
    for i, p in enumerate(positions):
        if p is not None:
            last = p
        keys.append((last, i))
    rank = [0] * len(positions)
    for r, (_, i) in enumerate(sorted(keys)):
        rank[i] = r
    return rank


def _make_segment(words: list[tuple[Any, ...]]) -> _Segment:
    return _Segment("".join("".join(w[0].split()) for w in words),
                    (min(w[1] for w in words), min(w[2] for w in words),
                     max(w[3] for w in words), max(w[4] for w in words)))


class _Source:
    """A document's source texts, searchable with whitespace removed."""

    def __init__(self, texts: list[str]) -> None:
        self.entries: list[tuple[str, str, list[int]]] = []
        for t in texts:
            idx = [i for i, c in enumerate(t) if not c.isspace()]
            self.entries.append((t, "".join(t[i] for i in idx), idx))

    def position_of(self, stripped: str, taken: set[tuple[int, int]],
                    after: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """Where ``stripped`` sits in the document: (source text index, offset), added to
        ``taken``; None if nowhere. Preferred in turn: the continuation of the line before
        (``after``: its text index and end offset), a whole source text (a one-line table
        cell, so that ``2`` is not placed inside an earlier number), the first occurrence
        not yet taken (so a label used twice takes its occurrences in turn). A text that
        also occurs inside an earlier paragraph and is neither of the first two (the
        first line of a wrapped cell) is placed there: a known limit."""
        if not stripped:
            return None
        if after is not None:
            e, k = after
            if self.entries[e][1].startswith(stripped, k) and (e, k) not in taken:
                taken.add((e, k))
                return e, k
        for e, (_, flat, _) in enumerate(self.entries):
            if flat == stripped and (e, 0) not in taken:
                taken.add((e, 0))
                return e, 0
        for e, (_, flat, _) in enumerate(self.entries):
            k = flat.find(stripped)
            while k >= 0:
                if (e, k) not in taken:
                    taken.add((e, k))
                    return e, k
                k = flat.find(stripped, k + 1)
        return None

    def label_of(self, stripped: str) -> str | None:
        """The source span whose non-space characters are exactly ``stripped``."""
        if not stripped:
            return None
        for text, flat, idx in self.entries:
            k = flat.find(stripped)
            if k >= 0:
                return text[idx[k]: idx[k + len(stripped) - 1] + 1]
        return None


def _crop_boxes(segs: list[_Segment], scale: float, width: int, height: int) -> None:
    """Pixel crop boxes: the text box plus a few pixels, never reaching a neighbour's box."""
    boxes = [tuple(v * scale for v in s.box) for s in segs]
    for i, s in enumerate(segs):
        x0, y0, x1, y1 = boxes[i]
        h = y1 - y0
        py, px = max(2.0, 0.12 * h), max(3.0, 0.3 * h)
        top, bot, left, right = y0 - py, y1 + py, x0 - px, x1 + px
        for j, (a0, b0, a1, b1) in enumerate(boxes):
            if j == i:
                continue
            if a0 < x1 and a1 > x0:                       # overlaps horizontally
                if (b0 + b1) < (y0 + y1):                 # above
                    top = max(top, (y0 + b1) / 2)
                else:
                    bot = min(bot, (y1 + b0) / 2)
            if min(y1, b1) - max(y0, b0) > 0.5 * min(h, b1 - b0):   # same row
                if (a0 + a1) < (x0 + x1):
                    left = max(left, (x0 + a1) / 2)
                else:
                    right = min(right, (x1 + a0) / 2)
        s.px = (max(0, math.floor(left)), max(0, math.floor(top)),
                min(width, math.ceil(right)), min(height, math.ceil(bot)))


def _pull_back(ink: Any, gap: int) -> int | None:
    """How much of a padding strip to keep (listed from the text box outwards) so that it
    stops ``gap`` pixels short of foreign ink; None to keep it all. A run of ink touching
    the box is the overhang of the line's own glyphs and is always kept."""
    own = 0
    while own < len(ink) and ink[own]:
        own += 1
    hits = ink[own:].nonzero()[0]
    return max(own, own + int(hits[0]) - gap) if hits.size else None


def _trim_pads(segs: list[_Segment], img: Any, scale: float, gap: int = 3) -> None:
    """Pull each padded side back to ``gap`` pixels short of any ink in its padding that is
    not the line's own (a table rule, an underline, a neighbour's stroke): glyphs lie inside
    pdftotext's box, or overhang it by a run of ink that touches it, so other ink between
    the box and the crop edge belongs to something else. Left and right strips are searched
    beside the box only (a rule running under the whole line must not eat the side
    padding); top and bottom strips over the trimmed width."""
    dark = img < 160
    for s in segs:
        x0, y0, x1, y1 = s.px
        bx0, by0 = max(x0, math.floor(s.box[0] * scale)), max(y0, math.floor(s.box[1] * scale))
        bx1, by1 = min(x1, math.ceil(s.box[2] * scale)), min(y1, math.ceil(s.box[3] * scale))
        if x0 < bx0 and (k := _pull_back(dark[by0:by1, x0:bx0].any(axis=0)[::-1], gap)) is not None:
            x0 = bx0 - k
        if bx1 < x1 and (k := _pull_back(dark[by0:by1, bx1:x1].any(axis=0), gap)) is not None:
            x1 = bx1 + k
        if y0 < by0 and (k := _pull_back(dark[y0:by0, x0:x1].any(axis=1)[::-1], gap)) is not None:
            y0 = by0 - k
        if by1 < y1 and (k := _pull_back(dark[by1:y1, x0:x1].any(axis=1), gap)) is not None:
            y1 = by1 + k
        s.px = (x0, y0, x1, y1)


def _ink_crops(segs: list[_Segment], img: Any, rng: random.Random, share: float) -> None:
    """For ``share`` of the lines, cut at the ink inside the crop box plus 2-8 px on each
    side (drawn per side), as a line finder on a scanned page cuts: the text box's blank
    ascender and descender room goes, so "CLOSED." fills the height that "Ag国" does."""
    dark = img < 160
    h, w = img.shape
    for s in segs:
        if rng.random() >= share:
            continue
        x0, y0, x1, y1 = s.px
        region = dark[y0:y1, x0:x1]
        rows, cols = region.any(axis=1).nonzero()[0], region.any(axis=0).nonzero()[0]
        if rows.size == 0:
            continue
        m = [rng.randint(2, 8) for _ in range(4)]
        s.px = (max(0, x0 + int(cols[0]) - m[0]), max(0, y0 + int(rows[0]) - m[1]),
                min(w, x0 + int(cols[-1]) + 1 + m[2]), min(h, y0 + int(rows[-1]) + 1 + m[3]))


def _degrade_page(img: Any, d: _Degrade, seed: int) -> tuple[Any, Any]:
    """Apply ``d`` to a grey page; returns (page, 2x3 matrix from clean to degraded pixels)."""
    import cv2
    import numpy as np

    h, w = img.shape
    rng = np.random.default_rng(seed)
    page = (d.ink + (d.paper - d.ink) * (img.astype(np.float32) / 255.0))
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), d.angle, 1.0)
    page = cv2.warpAffine(page, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=float(d.paper))
    if d.blur > 0:
        page = cv2.GaussianBlur(page, (0, 0), d.blur)
    page += rng.normal(0.0, d.noise, page.shape).astype(np.float32)
    out = np.clip(page + 0.5, 0, 255).astype(np.uint8)
    if d.jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        if not ok:
            raise DatasetError("OpenCV could not JPEG-encode a page")
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out, m


def _render_pdf(pdf: Path, doc: Document, style: dict[str, Any], index: int,
                work: Path, keep: Path | None, crop_rule: str = "box") -> list[_PageOut]:
    """Rasterise one PDF and cut its verified lines."""
    import cv2
    import numpy as np

    dpi = int(style["dpi"])
    prefix = work / f"p{index:06d}"
    _run([_need("pdftoppm"), "-r", str(dpi), "-gray", "-png", str(pdf), str(prefix)], pdf)
    html_path = work / f"p{index:06d}.html"
    _run([_need("pdftotext"), "-bbox-layout", "-enc", "UTF-8", str(pdf), str(html_path)], pdf)
    pages = _bbox_pages(html_path.read_text(encoding="utf-8"), pdf)
    images = sorted(work.glob(f"p{index:06d}-*.png"), key=lambda p: int(p.stem.rsplit("-")[1]))
    if len(images) != len(pages):
        raise DatasetError(f"{pdf}: pdftoppm made {len(images)} pages, pdftotext saw "
                           f"{len(pages)}")
    source = _Source(document_lines(doc))
    prng = random.Random(int(style["page_seed"]))
    out: list[_PageOut] = []
    for page_no, (img_path, segs) in enumerate(zip(images, pages, strict=True), 1):
        img = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DatasetError(f"cannot read the page image {img_path} pdftoppm wrote")
        img_path.unlink()
        h, w = img.shape
        scale = dpi / 72.0
        taken: set[tuple[int, int]] = set()
        positions: list[tuple[int, int] | None] = []
        after = None
        for s in segs:
            s.label = source.label_of(s.text)
            pos = source.position_of(s.text, taken, after) if s.label is not None else None
            after = None if pos is None else (pos[0], pos[1] + len(s.text))
            positions.append(pos)
        order = _document_order(positions)
        _crop_boxes(segs, scale, w, h)
        _trim_pads(segs, img, scale)
        if crop_rule != "box":
            _ink_crops(segs, img, prng, 1.0 if crop_rule == "ink" else 0.5)
        deg = _draw_degrade(prng, dpi) if style["pages_degraded"] else None
        if deg is not None:
            img, m = _degrade_page(img, deg, prng.randrange(2**31))
        else:
            m = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        po = _PageOut(index, page_no, {
            "document": index, "page": page_no, "kind": doc.kind, "dpi": dpi,
            "width": w, "height": h,
            "fonts": {"cjk": style["body_cjk"], "latin": style["body_latin"],
                      "title": style["title_cjk"]},
            "degrade": None if deg is None else deg.__dict__, "lines": []})
        for li, s in enumerate(segs):
            x0, y0, x1, y1 = (v * scale for v in s.box)
            poly = [[float(m[0, 0] * x + m[0, 1] * y + m[0, 2]),
                     float(m[1, 0] * x + m[1, 1] * y + m[1, 2])]
                    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            xs, ys = [p[0] for p in poly], [p[1] for p in poly]
            po.record["lines"].append({
                "text": s.label if s.label is not None else s.text,
                "verified": s.label is not None,
                "order": order[li],
                "box": [round(min(xs), 1), round(min(ys), 1), round(max(xs), 1),
                        round(max(ys), 1)],
                "poly": [[round(a, 1), round(b, 1)] for a, b in poly]})
            if s.label is None:
                po.rejected.append(s.text)
                continue
            cx0, cy0, cx1, cy1 = s.px
            if cx1 - cx0 < 4 or cy1 - cy0 < 6:
                po.rejected.append(s.text)
                po.record["lines"][-1]["verified"] = False
                continue
            if deg is None:
                crop = img[cy0:cy1, cx0:cx1]
            else:
                a = np.array([[m[0, 0], m[0, 1], m[0, 0] * cx0 + m[0, 1] * cy0 + m[0, 2]],
                              [m[1, 0], m[1, 1], m[1, 0] * cx0 + m[1, 1] * cy0 + m[1, 2]]])
                crop = cv2.warpAffine(img, a, (cx1 - cx0, cy1 - cy0),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_REPLICATE)
            ok, buf = cv2.imencode(".png", crop)
            if not ok:
                raise DatasetError("OpenCV could not PNG-encode a line crop")
            po.crops.append((buf.tobytes(), s.label, li))
        if keep is not None:
            po.image_path = keep / f"doc{index:05d}-{page_no}.png"
            if not cv2.imwrite(str(po.image_path), img):
                raise DatasetError(f"cannot write {po.image_path}")
        out.append(po)
    return out


def _run(cmd: list[str], what: Path, timeout: float = 120.0) -> None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DatasetError(f"{Path(cmd[0]).name} took over {timeout:.0f} s on {what}") from exc
    if res.returncode != 0:
        raise DatasetError(f"{Path(cmd[0]).name} failed on {what} (exit {res.returncode}): "
                           f"{res.stderr.strip()[-500:]}")


# --------------------------------------------------------------------------- workers

class _Job:
    """Shared state of one run: tools, fonts, profiles for concurrent soffice calls."""

    def __init__(self, seed: int, dpis: Sequence[int], degrade: float, workers: int,
                 work: Path, keep: Path | None, text: Sequence[str] | None = None,
                 font_set: str = "all", crop: str = "box") -> None:
        self.seed, self.dpis, self.degrade = seed, list(dpis), degrade
        self.work, self.keep, self.text, self.crop = work, keep, text, crop
        self.soffice = _need("soffice", "libreoffice")
        _need("pdftoppm")
        _need("pdftotext")
        self.fonts = _font_table(available_fonts(), font_set)
        self.profiles: queue.Queue[Path] = queue.Queue()
        for i in range(workers):
            p = work / f"profile{i}"
            p.mkdir()
            self.profiles.put(p)

    def chunk(self, indices: list[int]) -> list[_PageOut]:
        """Render documents ``indices``: one soffice call for all, then each PDF."""
        d = self.work / f"chunk{indices[0]:06d}"
        d.mkdir()
        docs, styles, files = [], [], []
        for i in indices:
            doc = make_document(self.seed, i)
            if self.text is not None:
                doc = fill_text(doc, self.text, random.Random(f"crnn-pages-text/{self.seed}/{i}"))
            st = document_style(self.seed, i, self.fonts, self.dpis, self.degrade, doc.kind)
            f = d / f"doc{i:06d}.fodt"
            f.write_text(document_to_fodt(doc, st), encoding="utf-8")
            docs.append(doc)
            styles.append(st)
            files.append(f)
        profile = self.profiles.get()
        try:
            cmd = [self.soffice, "--headless", "--norestore", "--nologo", "--nolockcheck",
                   "--nodefault", f"-env:UserInstallation={profile.as_uri()}",
                   "--convert-to", "pdf", "--outdir", str(d), *map(str, files)]
            _run(cmd, d, timeout=_SOFFICE_TIMEOUT)
        finally:
            self.profiles.put(profile)
        out: list[_PageOut] = []
        for i, doc, st, f in zip(indices, docs, styles, files, strict=True):
            pdf = f.with_suffix(".pdf")
            if not pdf.is_file():
                raise DatasetError(f"LibreOffice made no PDF from {f.name}; try converting it "
                                   f"by hand: soffice --headless --convert-to pdf {f}")
            out.extend(_render_pdf(pdf, doc, st, i, d, self.keep, self.crop))
        shutil.rmtree(d, ignore_errors=True)
        return out


class _FolderWriter:
    """``crops/000001.png`` files plus ``labels.tsv``, moved into place when complete."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        self.path, self.overwrite = check_out(path, overwrite), overwrite
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        mark(self._tmp)
        (self._tmp / "crops").mkdir()
        self._labels = (self._tmp / "labels.tsv").open("w", encoding="utf-8", newline="\n")
        self.count = 0

    def add(self, image: bytes, label: str) -> int:
        self.count += 1
        name = f"crops/{self.count:06d}.png"
        (self._tmp / name).write_bytes(image)
        self._labels.write(f"{name}\t{label}\n")
        return self.count

    def close(self) -> Path:
        self._labels.close()
        try:
            return swap_into_place(self._tmp, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if not self._labels.closed:
            self._labels.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


# --------------------------------------------------------------------------- API

def render_pages(out: str | Path, pages: int, dpis: Sequence[int] = (150, 200, 300),
                 seed: int = 0, degrade: float = 0.5, keep_pages: str | Path | None = None,
                 workers: int = 1, fmt: str = "lmdb", overwrite: bool = False,
                 chunk_size: int = 4, progress: bool = False,
                 text: str | Path | None = None, fonts: str = "all",
                 crop: str = "box") -> dict[str, Any]:
    """Render ``pages`` pages and write their verified line crops to ``out``.

    ``fmt`` is ``lmdb`` (the standard text-recognition LMDB) or ``folder``
    (``crops/NNNNNN.png`` + ``labels.tsv``). Documents are drawn from ``seed``; the same
    arguments give the same texts and crops whatever ``workers`` is. Returns statistics:
    ``pages``, ``documents``, ``lines``, ``rejected``, ``rejected_examples``,
    ``degraded_pages``, ``seconds``, ``pages_per_minute``, ``lines_per_page``.
    ``fonts``: ``all`` families, ``train`` (all but :data:`HELD_OUT_FONTS`) or ``heldout``.
    ``crop``: ``box`` (the text box plus a share of its height), ``ink`` (the ink plus
    2-8 px) or ``mixed`` (each line one or the other).
    """
    from ..data.lmdb import LmdbWriter

    t0 = time.perf_counter()
    out = Path(out)
    if pages < 1:
        raise ConfigError(f"--pages must be at least 1, not {pages}")
    if not dpis or any(not 72 <= d <= 600 for d in dpis):
        raise ConfigError(f"--dpi values must lie in 72..600 (150-300 recommended), not "
                          f"{list(dpis)}")
    if not 0.0 <= degrade <= 1.0:
        raise ConfigError(f"--degrade is a probability in 0..1, not {degrade}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    if fonts not in FONT_SETS:
        raise ConfigError(f"--fonts must be one of {', '.join(FONT_SETS)}, not {fonts!r}")
    if crop not in CROPS:
        raise ConfigError(f"--crop must be one of {', '.join(CROPS)}, not {crop!r}")
    if fmt not in ("lmdb", "folder"):
        raise ConfigError(f"--format must be lmdb or folder, not {fmt!r}")
    check_out(out, overwrite)
    text_lines = _read_text(text) if text is not None else None
    keep = Path(keep_pages) if keep_pages is not None else None
    if keep is not None:
        if keep.exists() and not keep.is_dir():
            raise DatasetError(f"--keep-pages {keep} exists and is not a folder")
        old = sorted(keep.glob("doc*-*.png")) + sorted(keep.glob("doc*-*.json"))
        if old and not overwrite:
            raise DatasetError(f"--keep-pages folder {keep} already holds pages ({old[0].name}"
                               " ...); use another folder or pass --overwrite")
        for f in old:
            f.unlink()
        keep.mkdir(parents=True, exist_ok=True)

    stats: dict[str, Any] = {"pages": 0, "documents": 0, "lines": 0, "rejected": 0,
                             "rejected_examples": [], "degraded_pages": 0, "dpi": {}}
    work = Path(tempfile.mkdtemp(prefix="crnn-pages-"))
    writer: Any = None
    try:
        job = _Job(seed, dpis, degrade, workers, work, keep, text_lines, fonts, crop)
        writer = (LmdbWriter(out, overwrite=overwrite) if fmt == "lmdb"
                  else _FolderWriter(out, overwrite))
        chunks = [list(range(i, min(pages, i + chunk_size))) for i in range(0, pages, chunk_size)]
        bar = _progress(pages, progress)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results: Iterator[list[_PageOut]] = pool.map(job.chunk, chunks)
            seen_docs: set[int] = set()
            for chunk_pages in results:
                for po in chunk_pages:
                    if stats["pages"] >= pages:      # a document ran onto more pages
                        if po.image_path is not None:
                            po.image_path.unlink(missing_ok=True)
                        continue
                    _write_page(po, writer, keep, stats)
                    seen_docs.add(po.doc_index)
                    if bar is not None:
                        bar.update(1)
            stats["documents"] = len(seen_docs)
        if bar is not None:
            bar.close()
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.perf_counter() - t0
    stats["seconds"] = round(secs, 2)
    stats["pages_per_minute"] = round(60.0 * stats["pages"] / secs, 2) if secs else 0.0
    stats["lines_per_page"] = round(stats["lines"] / max(1, stats["pages"]), 2)
    return stats


def _write_page(po: _PageOut, writer: Any, keep: Path | None, stats: dict[str, Any]) -> None:
    stats["pages"] += 1
    stats["degraded_pages"] += po.record["degrade"] is not None
    dpi = str(po.record["dpi"])
    stats["dpi"][dpi] = stats["dpi"].get(dpi, 0) + 1
    stats["rejected"] += len(po.rejected)
    room = 20 - len(stats["rejected_examples"])
    stats["rejected_examples"].extend(po.rejected[:max(0, room)])
    for png, label, li in po.crops:
        po.record["lines"][li]["sample"] = writer.add(png, label) - 1   # 0-based
        stats["lines"] += 1
    if keep is not None and po.image_path is not None:
        po.record["image"] = po.image_path.name
        po.image_path.with_suffix(".json").write_text(
            json.dumps(po.record, ensure_ascii=False, indent=1), encoding="utf-8")


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="page", desc="pages", file=sys.stderr)


# --------------------------------------------------------------------------- CLI

def _read_text(path: str | Path) -> list[str]:
    """The lines of a ``--text`` file that hold more than whitespace."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"--text {p}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"--text {p}: not UTF-8 text (byte {exc.start}); convert it, e.g. "
                           f"iconv -f GBK -t UTF-8 {p} > {p.stem}.utf8.txt") from None
    lines = [t.strip() for t in raw.splitlines() if t.strip()]
    if not lines:
        raise DatasetError(f"--text {p}: the file holds no text; give one line of text per "
                           "line")
    return lines


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Lay out whole documents (admission letters, notices, forms, tables,\n"
                    "two-column pages) with LibreOffice, rasterise them with pdftoppm, and cut\n"
                    "the text lines whose text matches the source into a validation dataset\n"
                    "(or, with --text, a training set of the same layouts with other text).",
        epilog="examples:\n"
               "  crnn synth pages --out val_pages.lmdb --pages 20\n"
               "  crnn synth pages --out val_pages.lmdb --pages 200 --dpi 150,200,300 "
               "--degrade 0.5 --workers 4 --keep-pages pages/\n"
               "  crnn synth pages --out crops/ --pages 5 --format folder --overwrite\n"
               "  crnn synth pages --out train_pages.lmdb --pages 500 --text corpus.txt\n"
               f"needs: {_INSTALL_HINT} and Chinese fonts (fonts-noto-cjk ...)")
    p.add_argument("--out", required=True, help="output LMDB directory (or folder)")
    p.add_argument("--pages", type=int, default=20, help="pages to render (default 20)")
    p.add_argument("--dpi", default="150,200,300",
                   help="comma-separated resolutions, one drawn per document (default "
                        "150,200,300)")
    p.add_argument("--degrade", type=float, default=0.5,
                   help="share of documents whose pages get a mild scan degradation "
                        "(skew, blur, noise, JPEG); default 0.5")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--keep-pages", metavar="DIR",
                   help="also keep each page PNG and a JSON of its lines here")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="parallel LibreOffice/poppler jobs (default: CPUs, at most 4)")
    p.add_argument("--format", dest="fmt", default="lmdb", choices=("lmdb", "folder"),
                   help="lmdb (default) or folder: crops/NNNNNN.png + labels.tsv")
    p.add_argument("--text", metavar="FILE",
                   help="UTF-8 text, one line per line: keep the documents' layout but fill "
                        "their paragraphs and cells with these lines (training pages whose "
                        "wording is not the validation pages')")
    p.add_argument("--fonts", default="all", choices=FONT_SETS,
                   help="font families: all (default), train (all but the held-out ones) "
                        "or heldout (only those, for an unseen-font validation set)")
    p.add_argument("--crop", default="box", choices=CROPS,
                   help="line cuts: box (default: the text box plus a share of its height), "
                        "ink (the ink plus 2-8 px, as page line finders cut) or mixed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _parse_dpis(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError as exc:
        raise ConfigError(f"--dpi takes comma-separated integers like 150,200,300, not "
                          f"{text!r}") from exc


def main(argv: list[str] | None = None) -> int:
    """Run ``crnn synth pages``; returns the exit status (2 on a usage or data error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:       # --help (0) or an argparse usage error (2)
        return int(exc.code or 0)
    try:
        stats = render_pages(args.out, args.pages, _parse_dpis(args.dpi), seed=args.seed,
                             degrade=args.degrade, keep_pages=args.keep_pages,
                             workers=args.workers, fmt=args.fmt, overwrite=args.overwrite,
                             progress=not args.quiet and sys.stderr.isatty(), text=args.text,
                             fonts=args.fonts, crop=args.crop)
    except (CrnnError, OSError) as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {stats['lines']} lines from {stats['pages']} pages to {args.out} "
          f"({stats['rejected']} lines rejected, {stats['degraded_pages']} pages degraded, "
          f"{stats['seconds']:.1f} s, {stats['pages_per_minute']:.1f} pages/min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A document as flat ODF (``.fodt``) that LibreOffice typesets with explicit fonts."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .style import _PAGE_H_CM, _PAGE_W_CM
from .templates import (
    Columns,
    Document,
    Para,
    Table,
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

"""Classical layout analysis for printed pages: binarise, remove rules, deskew, find lines,
group them into blocks and put them in reading order. No trained detector.

All functions take a grey page ``(H, W)`` uint8 (white paper, dark ink) and return boxes
as ``(x0, y0, x1, y1)`` integer pixel coordinates (x1/y1 exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..slant import profile_scores

__all__ = ["Box", "LineBox", "binarize", "remove_rules", "text_height", "estimate_skew", "rotate",
           "find_lines", "reading_order", "is_sideways", "orientation"]

Box = tuple[int, int, int, int]


@dataclass
class LineBox:
    box: Box
    x_height: float  # median ink-component height inside the line (a font-size estimate)


def binarize(grey: np.ndarray) -> np.ndarray:
    """Ink mask (bool): adaptive (local) threshold, confirmed by a global Otsu level so
    paper texture and uneven light do not become ink."""
    h, w = grey.shape
    block = max(15, (min(h, w) // 40) | 1)
    local = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                  cv2.THRESH_BINARY_INV, block, 12)
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return (local > 0) & (grey < min(250, otsu + 40))


def remove_rules(ink: np.ndarray, min_len: int | None = None,
                 text_height: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Remove long horizontal/vertical strokes (table rules, borders, underlines).

    A rule is a stroke at least ``min_len`` long (default: a twelfth of the page). Given
    the page's ``text_height`` (:func:`text_height`), a shorter stroke that meets such a
    rule is one too when it is longer than any glyph's (three text heights upright, ten
    across): the rules between a table's cells, which run only a row or two. The mask
    is thickened across the stroke direction before the opening, so rules that are
    slightly slanted (a scan a degree off) are still found. Returns (ink without rules,
    the rules' mask)."""
    h, w = ink.shape
    m = ink.astype(np.uint8)
    lh = min_len or max(40, w // 12)
    lv = min_len or max(40, h // 12)
    across = cv2.dilate(m, np.ones((3, 1), np.uint8))
    upright = cv2.dilate(m, np.ones((1, 3), np.uint8))
    horiz = _strokes(across, (lh, 1))
    vert = _strokes(upright, (1, lv))
    if text_height is not None and min_len is None:
        long_rules = cv2.dilate(horiz | vert, np.ones((5, 5), np.uint8))
        for mask, kernel, found in ((upright, (1, int(3 * text_height)), vert),
                                    (across, (int(10 * text_height), 1), horiz)):
            if max(kernel) >= max(found.shape):
                continue
            short = _strokes(mask, kernel) & ~found
            n, labels = cv2.connectedComponents(short)
            if n > 1:
                touching = np.unique(labels[(long_rules > 0) & (labels > 0)])
                found |= np.isin(labels, touching).astype(np.uint8) & short
    rules = (horiz | vert) > 0
    # grow the rules by a pixel so their anti-aliased edges go too
    rules = cv2.dilate(rules.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return ink & ~rules, rules


def _strokes(mask: np.ndarray, kernel: tuple[int, int]) -> np.ndarray:
    """The runs of ``mask`` (uint8 0/1) at least ``kernel`` (w, h) long."""
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, kernel))


def text_height(ink: np.ndarray) -> float:
    """The typical height of an ink component (a character, in CJK; a letter, in Latin),
    in pixels: a font-size estimate."""
    heights = _components(ink)[:, 3]
    heights = heights[heights >= 4]
    return max(4.0, float(np.median(heights))) if heights.size else 8.0


def _small(mask: np.ndarray, target: int = 900) -> np.ndarray:
    h, w = mask.shape
    s = min(1.0, target / max(h, w))
    if s >= 1.0:
        return mask.astype(np.uint8)
    return cv2.resize(mask.astype(np.uint8) * 255, (int(w * s), int(h * s)),
                      interpolation=cv2.INTER_AREA) > 60


def orientation(ink: np.ndarray, max_angle: float = 10.0) -> tuple[bool, float]:
    """``(sideways, skew)`` of a page's ink, from one search of its row profile.

    ``sideways``: the text runs vertically (the page is turned 90 or 270 degrees): rows of
    horizontal text give a much sharper row profile than column profile. Both profiles
    are taken at their best slant within ``max_angle`` degrees, so that a skewed page,
    whose rows blur, is not taken for a turned one.

    ``skew``: as :func:`estimate_skew`, refined from the row search the sideways test
    made; 0.0 for a sideways page (estimate it once the page is turned).
    """
    small = _small(ink)
    if small.sum() < 50:
        return False, 0.0
    angles, rows = _row_search(small, max_angle)
    slopes = np.tan(np.radians(angles))
    if profile_scores(small.T, slopes, "edges").max() > 1.3 * rows.max():
        return True, 0.0
    return False, _refine(small, float(angles[int(np.argmax(rows))]))


def estimate_skew(ink: np.ndarray, max_angle: float = 10.0) -> float:
    """The rotation (degrees, counter-clockwise positive as in OpenCV) that makes text
    lines horizontal: the angle along which the ink's row profile is sharpest
    (:func:`crnn.slant.profile_scores`), in degree steps, then tenths."""
    small = _small(ink)
    if small.sum() < 50:
        return 0.0
    angles, rows = _row_search(small, max_angle)
    return _refine(small, float(angles[int(np.argmax(rows))]))


def is_sideways(ink: np.ndarray, max_angle: float = 10.0) -> bool:
    """True when the text runs vertically (:func:`orientation`)."""
    return orientation(ink, max_angle)[0]


def _row_search(small: np.ndarray, max_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Angles in degree steps within ``max_angle`` and the row-profile score at each."""
    angles = np.arange(-max_angle, max_angle + 0.01, 1.0)
    # text that falls to the right (slope tan a) is levelled by turning it a degrees
    return angles, profile_scores(small, np.tan(np.radians(angles)), "edges")


def _refine(small: np.ndarray, coarse: float) -> float:
    """The sharpest angle in tenths of a degree within one degree of ``coarse``."""
    fine = np.arange(coarse - 1.0, coarse + 1.01, 0.1)
    scores = profile_scores(small, np.tan(np.radians(fine)), "edges")
    return float(fine[int(np.argmax(scores))])


def rotate(img: np.ndarray, angle: float, fill: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by ``angle`` degrees around the centre, enlarging the canvas so nothing is
    cut. Returns (image, the 2x3 affine matrix from original to rotated coordinates)."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    border = (fill,) * 3 if img.ndim == 3 else fill
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    return out, m


def _components(ink: np.ndarray) -> np.ndarray:
    """Stats ``(n, 5)`` [x, y, w, h, area] of ink components, noise removed."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    stats = stats[1:]
    keep = (stats[:, 4] >= 3) & (stats[:, 3] >= 2)
    return stats[keep]


def find_lines(ink: np.ndarray) -> list[LineBox]:
    """Text-line boxes.

    1. Ink components are smeared horizontally by about one character height (joining
       the characters of a word or a run of CJK text) and slightly vertically (joining
       the strokes of characters like 二 or the dot of i): each smeared component is a
       *piece*; pieces taller than two lines are split at row-profile valleys; big dense
       blobs (photos) are dropped.
    2. The pieces are cut into blocks by the same XY-cut as :func:`reading_order`, so
       column gutters and wide gaps (a right-aligned date beside a name) separate blocks.
    3. Inside each block, pieces sharing a row are joined into a line.
    """
    ch = text_height(ink)
    kx = max(3, int(round(ch * 1.0)))
    ky = max(1, int(round(ch * 0.25)))
    smear = cv2.dilate(ink.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT,
                                                                       (kx, ky)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(smear, connectivity=8)
    pieces: list[LineBox] = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        region = ink[y:y + h, x:x + w]
        area = int(region.sum())
        if area < 6 or h < 3:
            continue
        if h > 6 * ch and area / (w * h) > 0.45:
            continue  # a photo or a filled block, not text
        for top, bottom in _split_rows(region, ch):
            sub = region[top:bottom]
            cols = np.flatnonzero(sub.any(axis=0))
            rows = np.flatnonzero(sub.any(axis=1))
            if cols.size == 0:
                continue
            y0, y1 = y + top + int(rows[0]), y + top + int(rows[-1]) + 1
            x0, x1 = x + int(cols[0]), x + int(cols[-1]) + 1
            pieces.append(LineBox((x0, y0, x1, y1), _char_height(ink[y0:y1, x0:x1],
                                                                 float(y1 - y0))))
    if not pieces:
        return []
    line_h = float(np.median([p.box[3] - p.box[1] for p in pieces]))
    # specks, stray punctuation and short rules: far lower than any text line
    pieces = [p for p in pieces if p.box[3] - p.box[1] >= 0.4 * line_h]
    blocks: list[list[LineBox]] = []
    _xycut(pieces, line_h, blocks, sort=False)
    lines: list[LineBox] = []
    for block in blocks:
        lines += _join_rows(block)
    return lines


def _char_height(region: np.ndarray, default: float) -> float:
    h = _components(region)[:, 3]
    h = h[h >= 3]
    return float(np.median(h)) if h.size else default


def _join_rows(pieces: list[LineBox]) -> list[LineBox]:
    """Join the pieces of one block that sit on the same row and are of similar height."""
    items = sorted(pieces, key=lambda p: p.box[0])
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(items):
            for j in range(i + 1, len(items)):
                b = items[j]
                ha, hb = a.box[3] - a.box[1], b.box[3] - b.box[1]
                overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
                if overlap >= 0.5 * min(ha, hb) and max(ha, hb) <= 2.5 * min(ha, hb):
                    box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]),
                           max(a.box[2], b.box[2]), max(a.box[3], b.box[3]))
                    wa, wb = a.box[2] - a.box[0], b.box[2] - b.box[0]
                    xh = (a.x_height * wa + b.x_height * wb) / (wa + wb)
                    items[i] = LineBox(box, xh)
                    del items[j]
                    changed = True
                    break
            if changed:
                break
    return items


def _split_rows(region: np.ndarray, ch: float) -> list[tuple[int, int]]:
    """Split a candidate that holds several touching lines at its row-profile valleys."""
    h = region.shape[0]
    if h < 2.2 * ch:
        return [(0, h)]
    prof = region.sum(axis=1).astype(np.float64)
    smooth = np.convolve(prof, np.ones(3) / 3, mode="same")
    # a valley: a row with far less ink than the typical inked row (tight leading leaves
    # only a few stray pixels between lines, never a wholly blank row)
    thresh = 0.1 * float(np.median(smooth[smooth > 0])) if np.any(smooth > 0) else 0.0
    cuts = [0]
    in_gap = False
    gap_start = 0
    for r, v in enumerate(smooth):
        if v <= thresh and not in_gap:
            in_gap, gap_start = True, r
        elif v > thresh and in_gap:
            in_gap = False
            mid = (gap_start + r) // 2
            if mid - cuts[-1] >= 0.5 * ch:
                cuts.append(mid)
    cuts.append(h)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b - a >= 3]


def _split_gaps(cols: np.ndarray, min_gap: float) -> list[tuple[int, int]]:
    gaps = np.flatnonzero(np.diff(cols) > min_gap)
    starts = [int(cols[0])] + [int(cols[g + 1]) for g in gaps]
    ends = [int(cols[g]) for g in gaps] + [int(cols[-1])]
    return list(zip(starts, ends, strict=True))


def reading_order(lines: list[LineBox], rules: np.ndarray | None = None
                  ) -> list[list[LineBox]]:
    """Group lines into blocks in reading order with a recursive XY-cut: at each level cut
    along the widest empty band, vertical (columns, left to right) or horizontal (top to
    bottom); a region with no band is one block, its lines top to bottom. A region whose
    columns hold short items on shared rows is a table, one block read row by row, when
    it has three or more columns or ruling lines (``rules``: the mask
    :func:`remove_rules` returns, in the lines' coordinates) run through it; two columns
    of short lines without rules are read column by column."""
    if not lines:
        return []
    ch = float(np.median([ln.box[3] - ln.box[1] for ln in lines]))
    blocks: list[list[LineBox]] = []
    _xycut(lines, ch, blocks, rules=rules)
    return blocks


def _gaps(intervals: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Empty bands between merged intervals: (width, start, end)."""
    iv = sorted(intervals)
    out = []
    cur_end = iv[0][1]
    for a, b in iv[1:]:
        if a > cur_end:
            out.append((a - cur_end, cur_end, a))
        cur_end = max(cur_end, b)
    return out


def _xycut(lines: list[LineBox], ch: float, blocks: list[list[LineBox]],
           sort: bool = True, rules: np.ndarray | None = None) -> None:
    """``ch``: the typical line height. Vertical bands at least ``ch`` wide (``2.5 ch``
    within a single row) and horizontal ones at least ``0.6 ch`` high separate blocks;
    the wider band is cut first."""
    if len(lines) == 1:
        blocks.append(lines)
        return
    # a gutter between columns may be narrow, but within a single row only a wide gap
    # (a right-aligned date, a second field) separates items: justified text can put
    # more than an em between words
    one_row = max(ln.box[3] for ln in lines) - min(ln.box[1] for ln in lines) < 1.6 * ch
    min_v = (2.5 if one_row else 1.0) * ch
    vgaps = [g for g in _gaps([(ln.box[0], ln.box[2]) for ln in lines]) if g[0] >= min_v]
    hgaps = _gaps([(ln.box[1], ln.box[3]) for ln in lines])
    vbest = max(vgaps, default=None)
    hbest = max(hgaps, default=None)
    if vbest is not None and (hbest is None or vbest[0] >= hbest[0]):
        if sort and not one_row:
            table = _table_rows(lines, ch, rules)
            if table is not None:
                blocks.extend(table)
                return
        cut = (vbest[1] + vbest[2]) / 2
        left = [ln for ln in lines if ln.box[2] <= cut]
        right = [ln for ln in lines if ln.box[2] > cut]
        if sort and not one_row and _form(left, right, ch):
            blocks.append(_flat(_rows(lines, 0.5)))
            return
        # columns share their height and each holds lines set close together; two
        # sides that do not (a field beside a heading, a second field on a row above a
        # line, a date right of a paragraph's last line) are read top to bottom
        if hbest is None or not sort or (_shared_height(left, right) >= 0.5
                                         and _dense(left, ch) and _dense(right, ch)):
            _xycut(left, ch, blocks, sort, rules)
            _xycut(right, ch, blocks, sort, rules)
            return
        hbest = (max(hbest[0], ch), hbest[1], hbest[2])
    if hbest is not None and hbest[0] >= 0.6 * ch:
        cut = (hbest[1] + hbest[2]) / 2
        _xycut([ln for ln in lines if ln.box[3] <= cut], ch, blocks, sort, rules)
        _xycut([ln for ln in lines if ln.box[3] > cut], ch, blocks, sort, rules)
        return
    if not sort:
        blocks.append(lines)
        return
    # one block: a table (whose column gaps merged cells may have closed) row by row,
    # else lines top to bottom, those sharing a row left to right
    table = _table_rows(lines, ch, rules) if not one_row else None
    blocks.extend(table if table is not None else [_flat(_rows(lines, 0.5))])


# a form's labels are short ("Date of birth:", "录取专业："), in line heights
_FORM_MAX_LABEL = 7.0


def _form(left: list[LineBox], right: list[LineBox], ch: float) -> bool:
    """Whether two sides of a cut are a form's labels and their values, to be read row by
    row: every line on the left is short, and most of them (at least two) have a line on
    the right that :func:`join_fields` would join to it."""
    if len(left) < 2 or max(ln.box[2] - ln.box[0] for ln in left) > _FORM_MAX_LABEL * ch:
        return False
    paired = sum(any(_same_row(a, b) for b in right) for a in left)
    return paired >= 2 and paired >= 0.7 * len(left)


def _span(lines: list[LineBox]) -> Box:
    """The box around a group of lines."""
    return (min(ln.box[0] for ln in lines), min(ln.box[1] for ln in lines),
            max(ln.box[2] for ln in lines), max(ln.box[3] for ln in lines))


def _shared_height(a: list[LineBox], b: list[LineBox]) -> float:
    """How much of the shorter vertical span of two groups of lines the other covers."""
    _, a0, _, a1 = _span(a)
    _, b0, _, b1 = _span(b)
    return max(0, min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))


def _dense(lines: list[LineBox], ch: float) -> bool:
    """Several lines whose typical vertical gap is at most 1.5 line heights (a column of
    text, double-spaced at most), as opposed to a single line or lines far apart."""
    if len(lines) < 2:
        return False
    ls = sorted(lines, key=lambda ln: ln.box[1])
    gaps = [max(0, b.box[1] - a.box[3]) for a, b in zip(ls, ls[1:], strict=False)]
    return float(np.median(gaps)) <= 1.5 * ch


# A table's cells are short: text columns (a newsletter's) run to many characters a line.
_TABLE_MAX_CELL = 12.0   # median line width, in line heights
_TABLE_MIN_SHARED = 0.6  # share of a table's rows holding two or more cells


def _rows(lines: list[LineBox], overlap: float) -> list[list[list[LineBox]]]:
    """Lines grouped into rows of cells, top to bottom: sorted by top, a line joins the
    current row when it overlaps the row's vertical span by at least ``overlap`` of its
    own height. A row's cells run left to right; lines stacked in one cell (overlapping
    in x) top to bottom."""
    rows: list[list[LineBox]] = []
    span = (0, 0)
    for ln in sorted(lines, key=lambda ln: (ln.box[1], ln.box[0])):
        h = ln.box[3] - ln.box[1]
        if rows and min(span[1], ln.box[3]) - max(span[0], ln.box[1]) >= overlap * h:
            rows[-1].append(ln)
            span = (min(span[0], ln.box[1]), max(span[1], ln.box[3]))
        else:
            rows.append([ln])
            span = (ln.box[1], ln.box[3])
    out = []
    for row in rows:
        cells: list[list[LineBox]] = []
        right = -1
        for ln in sorted(row, key=lambda ln: ln.box[0]):
            if cells and ln.box[0] < right:
                cells[-1].append(ln)
                right = max(right, ln.box[2])
            else:
                cells.append([ln])
                right = ln.box[2]
        out.append([sorted(cell, key=lambda ln: ln.box[1]) for cell in cells])
    return out


def _flat(rows: list[list[list[LineBox]]]) -> list[LineBox]:
    return [ln for row in rows for cell in row for ln in cell]


def _table_rows(lines: list[LineBox], ch: float, rules: np.ndarray | None
                ) -> list[list[LineBox]] | None:
    """The region as blocks if it holds a table, else None: the single-item rows above
    the table (a heading the cut could not separate) as one block, the table row by row
    (see :func:`_rows`), the single-item rows below as one block.

    A table: short items (text columns whose lines share rows, as a newsletter's do, have
    long ones); at least two rows, most of them holding two or more cells side by side;
    and three or more cells in at least half of those rows, or ruling lines in the
    region. A row is what a line overlapping the row's span by a fifth of its height
    joins, so a two-line cell stays in the row its vertically centred neighbours span; a
    single-cell row just below a row and inside one of its cells' x-range is that cell's
    next line (a top-aligned cell that wraps)."""
    widths = [ln.box[2] - ln.box[0] for ln in lines]
    if float(np.median(widths)) > _TABLE_MAX_CELL * ch:
        return None
    rows: list[list[list[LineBox]]] = []
    for row in _rows(lines, 0.2):
        if rows and len(row) == 1:
            cell = _wrapped_cell(rows[-1], row[0], ch)
            if cell is not None:
                cell.extend(row[0])
                continue
        rows.append(row)
    multi = [i for i, row in enumerate(rows) if len(row) >= 2]
    if not multi:
        return None
    top, bottom = multi[0], multi[-1] + 1
    core = rows[top:bottom]
    if len(core) < 2 or len(multi) < _TABLE_MIN_SHARED * len(core):
        return None
    wide = sum(len(rows[i]) >= 3 for i in multi) >= 0.5 * len(multi)
    if not wide:
        # ruling lines between or around the rows (half a line height of margin)
        m = int(0.5 * ch)
        x0, y0, x1, y1 = _span(lines)
        if rules is None or not rules[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m].any():
            return None
    parts = [rows[:top], core, rows[bottom:]]
    return [_flat(p) for p in parts if p]


def _wrapped_cell(row: list[list[LineBox]], cell: list[LineBox], ch: float
                  ) -> list[LineBox] | None:
    """The cell of ``row`` that ``cell`` (a lone cell of the next row) continues: it
    starts at most 0.6 line heights below the row and lies within that cell's x-range
    (a few pixels of slack); else None."""
    bottom = max(_span(c)[3] for c in row)
    cx0, cy0, cx1, _ = _span(cell)
    if cy0 - bottom > 0.6 * ch:
        return None
    slack = 0.3 * ch
    for c in row:
        x0, _, x1, _ = _span(c)
        if cx0 >= x0 - slack and cx1 <= x1 + slack:
            return c
    return None


# the widest gap, in line heights, between the fields of one typeset row ("Name: X" and
# "ID: Y" set with tabs); a right-aligned date beside a signature sits further out
_FIELD_GAP = 13.0


def join_fields(blocks: list[list[LineBox]]) -> list[list[LineBox]]:
    """Join lines that follow each other in reading order on one row into one line: a
    form's label and its value, fields set apart by tabs, the cells of a table row (as
    a typeset row is one line of text). They must overlap vertically by half the lower
    one's height, differ in height by less than half, and stand at most ``_FIELD_GAP``
    line heights apart. Text columns are read one after the other, so their lines never
    follow each other on a row. When the first line of a block joins the last of the
    block before, the rest of it continues that block."""
    out: list[list[LineBox]] = []
    for block in blocks:
        first = True
        for ln in block:
            prev = out[-1][-1] if out and out[-1] else None
            if prev is not None and _same_row(prev, ln):
                out[-1][-1] = _union(prev, ln)
            elif first:
                out.append([ln])
            else:
                out[-1].append(ln)
            first = False
    return out


def _same_row(a: LineBox, b: LineBox) -> bool:
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    low, high = min(ay1 - ay0, by1 - by0), max(ay1 - ay0, by1 - by0)
    gap = bx0 - ax1
    return (-0.2 * low <= gap <= _FIELD_GAP * high and high <= 1.5 * low
            and min(ay1, by1) - max(ay0, by0) >= 0.5 * low)


def _union(a: LineBox, b: LineBox) -> LineBox:
    wa, wb = a.box[2] - a.box[0], b.box[2] - b.box[0]
    return LineBox((min(a.box[0], b.box[0]), min(a.box[1], b.box[1]),
                    max(a.box[2], b.box[2]), max(a.box[3], b.box[3])),
                   (a.x_height * wa + b.x_height * wb) / max(1, wa + wb))

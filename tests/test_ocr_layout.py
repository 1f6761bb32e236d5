"""Layout analysis on synthetic pages whose line boxes are known."""

import random

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from crnn.ocr.layout import (
    LineBox,
    binarize,
    estimate_skew,
    find_lines,
    is_sideways,
    join_fields,
    orientation,
    reading_order,
    remove_rules,
    rotate,
    text_height,
)
from crnn.ocr.page import analyze
from crnn.ocr.paper import find_paper
from crnn.slant import profile_scores

from .conftest import find_font

WORDS = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega 2025-09-01 " \
        "No.12 Room 305 Tel 010-62751234".split()


def make_page(two_columns=False, seed=0, rule=False, seal=False):
    """A 1000 x 1300 page; returns (RGB array, [(box, text)] in reading order)."""
    rng = random.Random(seed)
    font_path = find_font()
    img = Image.new("RGB", (1000, 1300), "white")
    d = ImageDraw.Draw(img)
    truth = []

    def put(x, y, text, size):
        font = ImageFont.truetype(font_path, size)
        x0, y0, x1, y1 = font.getbbox(text)
        d.text((x - x0, y - y0), text, font=font, fill=(20, 20, 20))
        truth.append(((x, y, x + x1 - x0, y + y1 - y0), text))

    put(300, 60, "Admission Notice 2025", 44)
    y = 160
    cols = [(70, 430), (540, 430)] if two_columns else [(70, 860)]
    col_truth_start = len(truth)
    for ci, (x, width) in enumerate(cols):
        yy = y
        for _ in range(12):
            words = []
            while True:
                w = rng.choice(WORDS)
                trial = " ".join(words + [w])
                if ImageFont.truetype(font_path, 24).getlength(trial) > width:
                    break
                words.append(w)
            put(x, yy, " ".join(words), 24)
            yy += 44
        if ci == 0:
            col_end = yy
    yy = max(col_end, yy) + 40
    put(70, yy, "Signature: Zhang San", 24)
    put(700, yy, "2025-09-01", 24)  # a right-aligned date on the same row
    if rule:
        d.line((60, yy + 40, 940, yy + 40), fill=(0, 0, 0), width=3)
    if seal:
        d.ellipse((650, yy - 80, 850, yy + 120), outline=(220, 30, 30), width=8)
        d.text((700, yy), "SEAL", fill=(220, 30, 30),
               font=ImageFont.truetype(font_path, 40))
    del col_truth_start
    return np.asarray(img), truth


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area else 0.0


def match(found, truth, thr=0.5):
    hits = sum(any(iou(f, t) >= thr for f in found) for t in truth)
    prec = sum(any(iou(f, t) >= thr for t in truth) for f in found)
    return hits / len(truth), prec / max(1, len(found))


def grey(img):
    return np.asarray(Image.fromarray(img).convert("L"))


@pytest.mark.parametrize("two_columns", [False, True])
def test_lines_found_and_read_in_order(two_columns):
    img, truth = make_page(two_columns, rule=True)
    ink, rules = remove_rules(binarize(grey(img)))
    assert rules.any()  # the ruling line was found
    lines = find_lines(ink)
    recall, precision = match([ln.box for ln in lines], [b for b, _ in truth])
    assert recall >= 0.95 and precision >= 0.95, (recall, precision)
    ordered = [ln.box for block in reading_order(lines) for ln in block]
    # map each found line to its truth index; reading order must follow the truth order
    idx = [max(range(len(truth)), key=lambda t: iou(b, truth[t][0])) for b in ordered]
    assert idx == sorted(idx)


def _boxes(cells):
    """(name, x0, y0, x1) with 30-px-high lines -> LineBoxes and a name lookup."""
    lines = [LineBox((x0, y0, x1, y0 + 30), 20.0) for _, x0, y0, x1 in cells]
    names = {ln.box: c[0] for ln, c in zip(lines, cells, strict=True)}
    return lines, names


def _read(lines, names):
    return [names[ln.box] for block in reading_order(lines) for ln in block]


def test_tables_read_row_by_row_text_columns_column_by_column():
    # a ruled schedule: 4 columns of short cells; the last row's place takes two lines
    # and its date sits between them (vertically centred); a value one pixel higher
    # than its label still comes after it
    cells = []
    for r, y in enumerate((100, 160, 220)):
        cells += [(f"date{r}", 50, y, 170), (f"time{r}", 260, y + (r == 1), 400),
                  (f"what{r}", 480, y - (r == 1), 700), (f"place{r}", 780, y, 900)]
    cells[-1] = ("place2a", 780, 205, 900)
    cells.append(("place2b", 780, 240, 860))
    lines, names = _boxes(cells)
    assert _read(lines, names) == ["date0", "time0", "what0", "place0", "date1", "time1",
                                   "what1", "place1", "date2", "time2", "what2", "place2a",
                                   "place2b"]
    # a form whose heading starts right of the label column (so the first cut is the
    # vertical one beside the labels): heading first, then label, value, label, value
    cells = [("unit", 600, 40, 900), ("title", 300, 90, 700)]
    for r, y in enumerate((160, 220, 280)):
        cells += [(f"label{r}", 50, y, 150), (f"value{r}", 250, y, 400),
                  (f"label{r}b", 500, y, 600), (f"value{r}b", 700, y, 850)]
    lines, names = _boxes(cells)
    assert _read(lines, names) == ["unit", "title"] + [
        f"{k}{r}{b}" for r in range(3) for b in ("", "b") for k in ("label", "value")]
    # four rows whose description cell wraps (top-aligned: the second line is a row of
    # its own until joined to the cell above)
    cells = []
    for r in range(4):
        y = 100 + 90 * r
        cells += [(f"no{r}", 50, y, 90), (f"item{r}", 200, y, 500), (f"item{r}w", 200, y + 35,
                                                                      330),
                  (f"sum{r}", 600, y, 700)]
    lines, names = _boxes(cells)
    assert _read(lines, names) == [n for r in range(4) for n in
                                   (f"no{r}", f"item{r}", f"item{r}w", f"sum{r}")]
    # two columns of short list items: a table only where ruling lines run through it
    cells = [(f"{side}{i}", x0, 100 + 45 * i, x0 + 250)
             for side, x0 in (("L", 50), ("R", 600)) for i in range(5)]
    lines, names = _boxes(cells)
    by_column = [f"L{i}" for i in range(5)] + [f"R{i}" for i in range(5)]
    assert _read(lines, names) == by_column
    ruled = np.zeros((400, 1000), bool)
    ruled[137, 40:900] = True   # a rule between the first two rows
    order = [names[ln.box] for block in reading_order(lines, ruled) for ln in block]
    assert order == [f"{side}{i}" for i in range(5) for side in "LR"]
    # two fields on a row above a line under the first (a wide gap beside it): top to
    # bottom; a right-aligned number just above a left-aligned greeting: likewise
    cells = [("title", 300, 40, 700), ("name", 50, 100, 250), ("id", 600, 100, 900),
             ("major", 50, 150, 230), ("no", 700, 210, 900), ("dear", 50, 242, 200)]
    lines, names = _boxes(cells)
    assert _read(lines, names) == ["title", "name", "id", "major", "no", "dear"]
    # a two-column newsletter whose lines share rows: long lines, read column by column
    cells = [(f"{side}{i}", x0, 100 + 45 * i, x0 + 420)
             for side, x0 in (("left", 50), ("right", 530)) for i in range(6)]
    lines, names = _boxes(cells)
    assert _read(lines, names) == [f"left{i}" for i in range(6)] + \
        [f"right{i}" for i in range(6)]


def test_wide_gap_keeps_date_separate():
    img, truth = make_page()
    lines = find_lines(remove_rules(binarize(grey(img)))[0])
    sig, date = truth[-2][0], truth[-1][0]
    assert any(iou(ln.box, sig) > 0.6 for ln in lines)
    assert any(iou(ln.box, date) > 0.6 for ln in lines)


@pytest.mark.parametrize("angle", [-4.0, 2.5, 7.0])
def test_skew_is_measured(angle):
    img, _ = make_page(seed=1)
    turned, _ = rotate(grey(img), angle)
    ink = remove_rules(binarize(turned))[0]
    assert estimate_skew(ink) == pytest.approx(-angle, abs=0.35)


def test_sideways_pages_are_detected():
    img, _ = make_page(seed=2)
    g = grey(img)
    assert not is_sideways(remove_rules(binarize(g))[0])
    assert is_sideways(remove_rules(binarize(np.ascontiguousarray(np.rot90(g))))[0])
    # skewed pages are not sideways (their rows blur; columns must not win)
    for angle in (-6.0, 3.0, 8.0):
        assert not is_sideways(remove_rules(binarize(rotate(g, angle)[0]))[0]), angle


def test_row_profiles_move_runs_of_columns_as_each_pixel_would_move():
    """The slant search sums runs of columns sheared alike; its scores must equal those of
    moving every ink pixel on its own (integer sums, so exactly)."""
    rng = np.random.default_rng(5)
    for h, w in ((32, 9), (32, 400), (7, 1301), (300, 200)):
        ink = rng.random((h, w)) < 0.2
        slopes = np.concatenate([np.linspace(-0.18, 0.18, 13), rng.uniform(-0.05, 0.05, 4)])
        ys, xs = np.nonzero(ink)
        energy, edges = [], []
        for s in slopes:
            rows = ys - np.rint(s * (xs - w // 2)).astype(np.int64)
            prof = np.bincount(rows - rows.min()).astype(np.float64)
            energy.append((prof ** 2).sum())
            edges.append((np.diff(np.pad(prof, 1)) ** 2).sum())
        assert np.array_equal(profile_scores(ink, slopes, "energy"), np.array(energy))
        assert np.array_equal(profile_scores(ink, slopes, "edges"), np.array(edges))
    with pytest.raises(ValueError, match="score"):
        profile_scores(ink, slopes, "sharpness")


def _found(layout, truth, thr=0.6):
    """How many true boxes a found line (mapped back to the page) overlaps at ``thr``."""
    h, w = layout.grey.shape
    boxes = [layout.original_box(ln.box, 10**5, 10**5) for b in layout.blocks for ln in b]
    return sum(any(iou(f, t) >= thr for f in boxes) for t, _ in truth), len(boxes)


def test_form_fields_on_a_row_join_columns_and_far_dates_do_not():
    font_path = find_font()
    img = Image.new("L", (1000, 700), 255)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_path, 24)
    rows = [("Name:", "Zhang San", "ID:", "20250901"), ("Major:", "Physics", "", ""),
            ("Address:", "12 Garden Road, Wuhan", "", ""), ("Phone:", "027-6275 1234", "", "")]
    for r, (label, value, label2, value2) in enumerate(rows):
        y = 80 + 50 * r
        d.text((60, y), label, font=font, fill=0)
        d.text((200, y), value, font=font, fill=0)     # about 3 line heights after labels
        if label2:
            d.text((520, y), label2, font=font, fill=0)
            d.text((600, y), value2, font=font, fill=0)
    d.text((60, 400), "Signature: Zhang San", font=font, fill=0)
    d.text((760, 400), "2025-09-01", font=font, fill=0)  # 18 line heights away
    layout = analyze(np.asarray(img))
    lines = [ln.box for b in layout.blocks for ln in b]
    assert len(lines) == 6, lines
    # each form row is one line, from its label to its last value
    for r in range(4):
        row = [b for b in lines if b[1] < 80 + 50 * r + 20 < b[3]]
        assert len(row) == 1 and row[0][0] < 70, (r, lines)
    assert lines[0][2] > 700  # "ID: 20250901" joined the first row
    assert sum(b[1] < 410 < b[3] for b in lines) == 2  # signature and date stay apart
    # two text columns whose lines share rows stay two columns
    page, truth = make_page(two_columns=True)
    found, n = _found(analyze(page), truth)
    assert found >= len(truth) - 1 and n <= len(truth) + 1, (found, n, len(truth))


def test_join_fields_follows_reading_order_only():
    a, b = LineBox((0, 0, 100, 30), 20.0), LineBox((200, 2, 300, 31), 20.0)
    c = LineBox((0, 60, 100, 90), 20.0)
    assert [[ln.box for ln in blk] for blk in join_fields([[a], [b, c]])] == [
        [(0, 0, 300, 31), (0, 60, 100, 90)]]
    # lines far apart, of very different heights, or not on one row stay apart
    far = LineBox((600, 0, 700, 30), 20.0)
    tall = LineBox((200, 0, 300, 80), 20.0)
    below = LineBox((200, 20, 300, 50), 20.0)
    for other in (far, tall, below):
        assert len([ln for blk in join_fields([[a], [other]]) for ln in blk]) == 2


def test_short_table_rules_go_tall_glyphs_stay():
    ink = np.zeros((1500, 900), bool)  # page-long rules: 125 px or more
    ink[100:103, 50:850] = True          # a table's long rules ...
    ink[180:183, 50:850] = True
    ink[100:183, 400:402] = True         # ... and a divider between two cells, one row high
    ink[300:400, 600:612] = True         # a tall heading's stroke, touching no rule
    for x in range(60, 380, 20):         # 20-px text
        ink[130:150, x:x + 12] = True
    clean, rules = remove_rules(ink, text_height=text_height(ink))
    assert not clean[100:183, 400:402].any()
    assert clean[300:400, 600:612].all()
    assert clean[130:150, 60:72].all()
    # without the text height only page-long strokes are rules
    assert remove_rules(ink)[0][120:170, 400:402].all()


def _photo(page: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``page`` photographed: shrunk, turned in perspective and laid on a dark, textured
    table, with uneven light. Returns (photo, the sheet's true corners)."""
    rng = np.random.default_rng(seed)
    h, w = page.shape[:2]
    H, W = int(h * 1.25), int(w * 1.25)
    corners = np.float32([[0.12 * W, 0.08 * H], [0.9 * W, 0.11 * H], [0.86 * W, 0.93 * H],
                          [0.09 * W, 0.9 * H]])
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), corners)
    table = (60 + rng.normal(0, 12, (H, W))).clip(0, 255).astype(np.uint8)
    sheet = cv2.warpPerspective(grey(page), m, (W, H), borderValue=0)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H)) > 0
    photo = np.where(inside, sheet, table).astype(np.float32)
    light = np.linspace(0.8, 1.0, W)[None, :]
    return (photo * light).clip(0, 255).astype(np.uint8), corners


def test_a_photographed_sheet_is_found_and_flattened():
    page, truth = make_page(seed=3)
    photo, corners = _photo(page)
    quad = find_paper(photo)
    assert quad is not None
    assert np.abs(quad - corners).max() < 0.02 * photo.shape[1], (quad, corners)
    layout = analyze(photo)
    # every line is found, once, and straight: its box in the flattened page is no
    # taller than the font's lines (a skewed line would be)
    assert sum(len(b) for b in layout.blocks) == len(truth)
    assert max(ln.box[3] - ln.box[1] for b in layout.blocks for ln in b) < 0.06 * \
        layout.grey.shape[0]
    # scans and clean pages are all paper: nothing to flatten
    assert find_paper(grey(page)) is None
    scan = np.clip(grey(page).astype(int) - 30, 0, 255).astype(np.uint8)  # grey paper
    assert find_paper(scan) is None


def test_a_skewed_grey_scan_gives_no_lines_at_the_turned_corners():
    page, truth = make_page(seed=4)
    scan = (grey(page).astype(np.float32) * 0.85).astype(np.uint8)  # paper at 217
    turned, _ = rotate(scan, 2.5, fill=217)
    layout = analyze(turned)
    assert abs(layout.skew) > 2
    assert sum(len(b) for b in layout.blocks) == len(truth)


def test_orientation_answers_both_questions_from_one_search():
    img, _ = make_page(seed=2)
    g = grey(img)
    ink = remove_rules(binarize(rotate(g, 3.0)[0]))[0]
    assert orientation(ink) == (False, estimate_skew(ink))
    assert orientation(ink)[1] == pytest.approx(-3.0, abs=0.35)
    turned = remove_rules(binarize(np.ascontiguousarray(np.rot90(g))))[0]
    assert orientation(turned) == (True, 0.0)

"""read_page and crnn ocr end to end (a tiny digits model: plumbing, not accuracy)."""

import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from crnn.cli import main
from crnn.ocr import read_page
from crnn.recognizer import Recognizer

from .conftest import find_font


def digits_page():
    font = ImageFont.truetype(find_font(), 28)
    img = Image.new("RGB", (800, 600), "white")
    d = ImageDraw.Draw(img)
    for i, text in enumerate(["2025 0901", "123 456 789", "10086"]):
        d.text((60, 60 + 90 * i), text, font=font, fill="black")
    d.text((560, 420), "2024", font=font, fill="black")  # a separate item on its row
    d.ellipse((500, 150, 700, 350), outline=(230, 20, 20), width=10)  # a red seal
    return img


def test_read_page_finds_every_line_and_maps_boxes_back(tiny_checkpoint):
    rec = Recognizer.load(tiny_checkpoint, device="cpu")
    img = np.asarray(digits_page())
    page = read_page(img, rec)
    assert page.rotation == 0 and page.width == 800
    # lines may read as "" with an untrained model; the layout still has to be right
    from crnn.ocr.layout import binarize, find_lines, remove_rules
    from crnn.ocr.page import _grey_without_seals
    found = find_lines(remove_rules(binarize(_grey_without_seals(img)))[0])
    assert len(found) == 4  # the seal is not a line
    turned = np.ascontiguousarray(np.rot90(img))
    page90 = read_page(turned, rec)
    assert page90.rotation in (90, 270)
    for ln in page90.lines:
        x0, y0, x1, y1 = ln.box
        assert 0 <= x0 < x1 <= turned.shape[1] and 0 <= y0 < y1 <= turned.shape[0]


def test_ocr_cli_formats(tmp_path, tiny_checkpoint, capsys):
    page = tmp_path / "page.png"
    digits_page().save(page)
    model = ["--model", str(tiny_checkpoint)]
    assert main(["ocr", str(page), *model, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pages"][0]["width"] == 800
    assert main(["ocr", str(page), *model, "--format", "hocr", "--out",
                 str(tmp_path / "p.hocr")]) == 0
    root = ET.parse(tmp_path / "p.hocr").getroot()
    assert root.tag.endswith("html")
    assert main(["ocr", str(page), *model, "--format", "alto", "--out",
                 str(tmp_path / "p.xml")]) == 0
    alto = ET.parse(tmp_path / "p.xml").getroot()
    assert alto.find(".//{http://www.loc.gov/standards/alto/ns-v4#}Page").get("WIDTH") == "800"
    assert main(["ocr", str(page), *model, "--format", "overlay", "--out",
                 str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").size == (800, 600)
    capsys.readouterr()
    (tmp_path / "bad.png").write_text("not an image")
    rc = main(["ocr", str(tmp_path / "bad.png"), str(page), *model])
    assert rc == 1 and "bad.png" in capsys.readouterr().err


def test_multipage_tiff_and_pdf(tmp_path, tiny_checkpoint, capsys):
    pages = [digits_page(), digits_page().rotate(180)]
    tif = tmp_path / "two.tif"
    pages[0].save(tif, save_all=True, append_images=pages[1:])
    assert main(["ocr", str(tif), "--model", str(tiny_checkpoint), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["number"] for p in doc["pages"]] == [1, 2]
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed")
    pdf = tmp_path / "doc.pdf"
    pages[0].save(pdf, resolution=100)
    assert main(["ocr", str(pdf), "--model", str(tiny_checkpoint), "--format", "json",
                 "--dpi", "100"]) == 0
    assert len(json.loads(capsys.readouterr().out)["pages"]) == 1


def interop_pages():
    """Two pages with Chinese, Latin, XML special characters and an empty block."""
    from crnn.ocr.page import Block, Line, Page

    p1 = Page(1200, 900, 0, 0.0, number=1, source="letter.png")
    p1.blocks = [Block((100, 80, 1100, 200), [
        Line((100, 80, 700, 120), "录取通知书", 0.97),
        Line((100, 150, 1100, 200), "Dear Li Hua & <family>: \"welcome\"", 0.81)]),
        Block((800, 700, 1100, 740), [Line((800, 700, 1100, 740), "2025年8月1日", 0.9)])]
    p2 = Page(600, 400, 90, 1.5, number=2, source="letter.png")
    p2.blocks = [Block((10, 10, 300, 50), [Line((10, 10, 300, 50), "No. 2025-0001", 0.5)])]
    return [p1, p2]


def test_hocr_validates_with_hocr_spec(tmp_path):
    from hocr_spec import HocrValidator

    from crnn.ocr.formats import to_hocr

    validator = HocrValidator("standard")
    good = tmp_path / "good.hocr"
    good.write_text(to_hocr(interop_pages(), "letter.png"), encoding="utf-8")
    report = validator.validate(str(good), parse_strict=True)
    assert report.is_valid(), report.format("text")
    # the validator does catch broken documents: an unknown property, a missing capability
    bad = tmp_path / "bad.hocr"
    for old, new in (("x_wconf", "x_wonf"), (" ocr_carea ocr_par", " ocr_par")):
        bad.write_text(good.read_text(encoding="utf-8").replace(old, new, 1),
                       encoding="utf-8")
        assert not validator.validate(str(bad), parse_strict=True).is_valid(), new
    # words carry their own boxes inside their line
    root = ET.parse(good).getroot()
    ns = "{http://www.w3.org/1999/xhtml}"
    words = [w for w in root.iter(f"{ns}span") if w.get("class") == "ocrx_word"]
    assert [w.text for w in words][:4] == ["录取通知书", "Dear", "Li", "Hua"]
    boxes = [tuple(int(v) for v in w.get("title").split(";")[0].split()[1:]) for w in words]
    assert all(100 <= b[0] < b[2] <= 1100 for b in boxes[1:7])
    assert [b[0] for b in boxes[1:7]] == sorted(b[0] for b in boxes[1:7])


def test_alto_read_back_by_alto_tools(tmp_path, capsys):
    from alto_tools import alto_tools

    from crnn.ocr.formats import to_alto

    pages = interop_pages()
    path = tmp_path / "doc.xml"
    path.write_text(to_alto(pages, "letter.png"), encoding="utf-8")
    with open(path, encoding="utf-8") as fh:
        parsed = alto_tools.alto_parse(fh)
        assert parsed is not None, capsys.readouterr().out  # namespace recognised
        _, xml, xmlns = parsed
        capsys.readouterr()
        alto_tools.alto_text(xml, xmlns)
        lines = [ln.strip() for ln in capsys.readouterr().out.split("\n") if ln.strip()]
        assert lines == [ln.text for p in pages for ln in p.lines]
        conf = alto_tools.alto_confidence(fh, xml, xmlns)
    words = [(w, ln.confidence) for p in pages for ln in p.lines for w in ln.text.split()]
    assert conf == round(100 * sum(c for _, c in words) / len(words), 2)


def test_overlay_labels_follow_sideways_lines():
    from crnn.ocr.formats import overlay
    from crnn.ocr.page import Block, Line, Page

    img = np.full((600, 400), 255, np.uint8)
    box = (200, 100, 240, 500)  # a vertical line: the page was turned counter-clockwise
    for rotation, side in ((270, slice(100, 198)), (90, slice(242, 340))):
        page = Page(400, 600, rotation, 0.0, [Block(box, [Line(box, "录取通知书", 0.9)])])
        out = np.asarray(overlay(img, page))
        blue = (out[:, :, 2] > 150) & (out[:, :, 0] < 80)
        assert blue[100:500, side].sum() > 50, rotation  # the label beside, along the line
        assert blue[:95, :].sum() == 0  # nothing drawn above the box as on upright pages


def test_read_upright_checks_the_widest_lines_first_and_reads_each_line_once():
    """page._read_upright: the 6 widest crops read both ways decide the orientation; the
    others are read once, in that orientation; results come back in crop order."""
    import numpy as np

    from crnn.ocr.page import _read_upright
    from crnn.reading import ReadingPolicy
    from crnn.recognizer import Result

    class FakeRecognizer:
        def __init__(self):
            self.calls = []

        reading = ReadingPolicy(stretch=1.1, rereads=(1.0, 1.2), right_pad=0.1)

        def recognize(self, images, reading=None):
            # page OCR reads each crop once, as cut, with the model's right margin
            assert images and reading == ReadingPolicy(right_pad=0.1)
            self.calls.append(len(images))
            # the ink marker sits top-left when a crop is the right way up
            return [Result(str(int(im[1, 1])), 0.9 if im[0, 0] == 255 else 0.3)
                    for im in images]

    def crops(n, upside_down):
        out = []
        for k in range(n):
            c = np.full((20, 40 + 10 * ((k * 7) % n)), k + 1, np.uint8)
            c[0, 0] = 255
            out.append(np.ascontiguousarray(c[::-1, ::-1]) if upside_down else c)
        return out

    for n, upside_down in ((10, False), (10, True), (3, False), (3, True)):
        rec = FakeRecognizer()
        flipped, results = _read_upright(rec, crops(n, upside_down))
        assert flipped is upside_down
        assert [r.text for r in results] == [str(k + 1) for k in range(n)]
        assert all(r.confidence == 0.9 for r in results)
        assert rec.calls == ([6, 6, n - 6] if n > 6 else [n, n])
    assert _read_upright(FakeRecognizer(), []) == (False, [])


def test_is_text_rejects_strokes_and_unsure_edges():
    from crnn.ocr.page import is_text

    assert not is_text("|", 0.99) and not is_text("'、", 0.9) and not is_text(" ", 1.0)
    assert is_text("1", 0.3) and is_text("下", 0.5)
    # a candidate cut by the page's edge must read surely, and densely, to count as text
    assert not is_text("下", 0.5, at_edge=True)
    assert is_text("2025-09-01", 0.95, (0, 0, 200, 30), at_edge=True)
    assert not is_text("下", 0.95, (0, 0, 800, 40), at_edge=True)  # 20 line heights wide
    assert is_text("下", 0.95, (0, 0, 800, 40))  # inside the page: a field far apart

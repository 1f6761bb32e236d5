"""Page-rendered validation set (``crnn synth pages``): templates, line matching, rendering.

The rendering tests need LibreOffice (``soffice``), poppler (``pdftoppm``, ``pdftotext``) and
a Chinese font; they are skipped, with the reason, where those are missing.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from crnn.data.lmdb import LmdbReader
from crnn.errors import CrnnError
from crnn.synth import pages
from crnn.synth.pages import cutting, style
from crnn.synth.pages.templates import (
    DOCUMENT_KINDS,
    Columns,
    Para,
    Table,
    document_lines,
    fill_text,
    make_document,
    normalize_text,
)


def _have_tools() -> str | None:
    missing = [t for t in ("soffice", "pdftoppm", "pdftotext", "fc-list") if not shutil.which(t)]
    if missing:
        return (f"{', '.join(missing)} not installed (apt-get install libreoffice-writer-nogui "
                "poppler-utils fontconfig)")
    try:
        style._font_table(pages.available_fonts())
    except CrnnError as exc:
        return f"no usable Chinese font: {exc}"
    return None


needs_tools = pytest.mark.skipif(_have_tools() is not None, reason=str(_have_tools()))


# --------------------------------------------------------------------------- pure parts

def test_normalize_text_spaces_only_between_latin() -> None:
    assert normalize_text("  录取专业： Computer   Science \n") == "录取专业：Computer Science"
    assert normalize_text("请于 2025年 9月1日 报到") == "请于2025年9月1日报到"
    assert normalize_text("Tel:  +86 10  6275 1234") == "Tel: +86 10 6275 1234"
    assert normalize_text("e\u0301") == "\u00e9"          # NFC


def test_documents_are_deterministic_and_normalized() -> None:
    for i in range(12):
        a, b = make_document(7, i), make_document(7, i)
        assert a == b
        for line in document_lines(a):
            assert line == normalize_text(line) and line
    assert document_lines(make_document(7, 0)) != document_lines(make_document(8, 0))
    for kind in DOCUMENT_KINDS:
        text = "".join(document_lines(make_document(0, 5, kind)))
        assert len(text) > 80
    with pytest.raises(ValueError, match="unknown document kind"):
        make_document(0, 0, "poem")


def test_admission_letter_has_the_fields() -> None:
    text = "\n".join(document_lines(make_document(3, 1, "admission")))
    assert "录取通知书" in text and "报到" in text and "专业" in text
    assert any(ch.isdigit() for ch in text)


def test_source_matching_recovers_spaces_and_rejects_mismatches() -> None:
    src = cutting._Source(["联系电话：+86 10 6275 1234，邮编：100871",
                         "Please bring this letter and your ID card."])
    assert src.label_of("+861062751234，邮编") == "+86 10 6275 1234，邮编"
    assert src.label_of("bringthisletter") == "bring this letter"
    assert src.label_of("电话：+86106275") == "电话：+86 10 6275"
    assert src.label_of("邮编：100872") is None           # one wrong digit
    assert src.label_of("letterandyourIDcard.Please") is None   # across two texts
    assert src.label_of("") is None


def test_document_order_follows_the_source_not_pdftotext() -> None:
    src = cutting._Source(["Left column first line and its second line", "内容", "内容",
                         "Right column text", "学号：2024", "2"])
    taken: set[tuple[int, int]] = set()
    # pdftotext interleaves the two columns row by row; a label used twice takes its
    # occurrences in turn; a cell "2" is the cell, not the "2" inside the number before it
    segs = ["Leftcolumnfirstline", "Rightcolumntext", "anditssecondline", "内容", "内容",
            "2"]
    pos = [src.position_of(t, taken) for t in segs]
    assert pos == [(0, 0), (3, 0), (0, 19), (1, 0), (2, 0), (5, 0)]
    assert cutting._document_order(pos) == [0, 4, 1, 2, 3, 5]
    # the continuation of the line before wins over an earlier occurrence
    src = cutting._Source(["毕业。", "学分方可毕业。"])
    assert src.position_of("业。", set(), after=(1, 5)) == (1, 5)
    # an unmatched line stays after the line before it
    assert cutting._document_order([(1, 0), None, (0, 0)]) == [1, 2, 0]


_BBOX = """<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head></head><body><doc>
<page width="595" height="842"><flow><block xMin="70" yMin="80" xMax="500" yMax="96">
<line xMin="70" yMin="80" xMax="500" yMax="96">
<word xMin="70" yMin="80" xMax="130" yMax="96">姓名：张伟</word>
<word xMin="400" yMin="80" xMax="500" yMax="96">学号：2025</word></line>
<line xMin="70" yMin="100" xMax="300" yMax="116">
<word xMin="70" yMin="100" xMax="120" yMax="116">Office</word>
<word xMin="124" yMin="100" xMax="160" yMax="116">\ufb01les</word></line>
</block></flow></page></doc></body></html>"""


def test_bbox_layout_lines_split_at_wide_gaps() -> None:
    (segs,) = cutting._bbox_pages(_BBOX, Path("x.pdf"))
    assert [s.text for s in segs] == ["姓名：张伟", "学号：2025", "Officefiles"]
    assert segs[0].box == (70.0, 80.0, 130.0, 96.0)
    cutting._crop_boxes(segs, 2.0, 1190, 1684)
    for s in segs:
        x0, y0, x1, y1 = s.px
        bx0, by0, bx1, by1 = (2 * v for v in s.box)
        assert x0 < bx0 and y0 < by0 and x1 > bx1 and y1 > by1      # padded
    # the padding of two stacked lines never crosses the middle of the gap between them
    assert segs[0].px[3] <= (96 + 100) + 1 and segs[2].px[1] >= (96 + 100) - 1


def test_padding_pulls_back_from_foreign_ink_only() -> None:
    import numpy as np

    strip = np.array([1, 1, 0, 0, 0, 0, 1, 0], bool)     # own overhang, gap, a table rule
    assert cutting._pull_back(strip, 3) == 3
    assert cutting._pull_back(np.array([0, 0, 0, 0, 0, 1], bool), 3) == 2
    assert cutting._pull_back(np.array([0, 1, 0], bool), 3) == 0
    assert cutting._pull_back(np.zeros(6, bool), 3) is None
    assert cutting._pull_back(np.ones(4, bool), 3) is None    # all overhang: keep the pad


def test_document_to_fodt_is_xml_with_the_fonts() -> None:
    import xml.etree.ElementTree as ET

    fonts = {k: list(v[:1]) for k, v in pages.FONT_CHOICES.items()}
    doc = make_document(0, 2, "fees")
    style = pages.document_style(0, 2, fonts, [150], 0.0, doc.kind)
    assert style == pages.document_style(0, 2, fonts, [150], 0.0, doc.kind)
    xml = pages.document_to_fodt(doc, style)
    ET.fromstring(xml.encode("utf-8"))
    assert style["body_cjk"] in xml and "table:table" in xml


# --------------------------------------------------------------------------- CLI errors

def test_main_help_and_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert pages.main(["--help"]) == 0
    assert "crnn synth pages --out" in capsys.readouterr().out
    assert pages.main(["--out", str(tmp_path / "x"), "--dpi", "high"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crnn synth pages: error: --dpi") and "Traceback" not in err
    (tmp_path / "exists.lmdb").mkdir()
    assert pages.main(["--out", str(tmp_path / "exists.lmdb")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert pages.main(["--out", str(tmp_path / "y"), "--degrade", "2"]) == 2
    assert "--degrade" in capsys.readouterr().err


def test_missing_tools_say_what_to_install(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert pages.main(["--out", str(tmp_path / "v.lmdb"), "--pages", "1"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install libreoffice-writer-nogui poppler-utils" in err
    assert not (tmp_path / "v.lmdb").exists()


_CORPUS = ["招生办公室通知", "Room B-317 opens at 9:00", "电话：010-62751234",
           "quiet harbour lantern", "第二学期", "12,345.67", "网址：www.abc.edu.cn"]


def _wide(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_a_document_that_will_not_render_is_skipped_not_fatal(monkeypatch, tmp_path,
                                                              capsys) -> None:
    """A time-out or tool error on one document (tried twice) skips that document with a
    warning naming it; the others' lines are written. Nothing rendered is an error."""
    from crnn.errors import DatasetError
    from crnn.synth.pages import build
    from crnn.synth.pages.cutting import _PageOut

    tries: list[int] = []

    def fake_init(self, *args, **kwargs) -> None:
        pass

    def fake_chunk(self, indices):
        tries.append(indices[0])
        if indices[0] == 2 or (indices[0] == 4 and tries.count(4) == 1):
            raise DatasetError(f"pdftoppm took over 120 s on doc{indices[0]:06d}.pdf")
        return [_PageOut(i, 1, {"degrade": None, "dpi": 150, "lines": [{}]},
                         [(b"png", f"line {i}", 0)]) for i in indices], []

    monkeypatch.setattr(build._Job, "__init__", fake_init)
    monkeypatch.setattr(build._Job, "chunk", fake_chunk)
    stats = pages.render_pages(tmp_path / "out", 6, workers=1, chunk_size=2, fmt="folder")
    assert sorted(tries) == [0, 2, 2, 4, 4]  # 2 fails twice, 4 once (a busy machine)
    assert stats["pages"] == 4 and stats["documents"] == 4 and len(stats["skipped"]) == 1
    assert "documents 2-3" in stats["skipped"][0]
    assert "skipped documents 2-3: pdftoppm took over 120 s" in capsys.readouterr().err
    labels = (tmp_path / "out" / "labels.tsv").read_text(encoding="utf-8")
    assert [r.split("\t")[1] for r in labels.splitlines()] == [
        "line 0", "line 1", "line 4", "line 5"]

    def broken(self, indices):
        raise DatasetError("soffice failed (exit 1)")

    monkeypatch.setattr(build._Job, "chunk", broken)
    with pytest.raises(DatasetError, match="no document could be rendered: documents 0-1"):
        pages.render_pages(tmp_path / "none", 2, workers=1, chunk_size=2, fmt="folder")
    assert not (tmp_path / "none").exists()


def test_chunk_retries_libreoffice_once_and_each_pdf_once(monkeypatch, tmp_path) -> None:
    """Poppler failing twice on a document skips it, and LibreOffice is not run again for
    it; LibreOffice making no PDF at all is an error the caller retries once."""
    import queue

    from crnn.errors import DatasetError
    from crnn.synth.pages import build
    from crnn.synth.pages.cutting import _PageOut

    job = object.__new__(build._Job)
    job.seed, job.dpis, job.degrade, job.text, job.keep, job.crop = 0, [150], 0.0, None, None, "box"
    job.work, job.soffice, job.fonts = tmp_path, "soffice", {}
    job.profiles = queue.Queue()
    job.profiles.put(tmp_path / "profile0")
    monkeypatch.setattr(build, "document_style", lambda *a: {})
    monkeypatch.setattr(build, "document_to_fodt", lambda doc, st: "<fodt/>")
    soffice: list[int] = []
    poppler: list[int] = []
    makes_pdf = {"yes": True}

    def fake_soffice(cmd, d, timeout):
        soffice.append(1)
        if makes_pdf["yes"]:
            for f in Path(d).glob("*.fodt"):
                f.with_suffix(".pdf").write_bytes(b"%PDF")

    def fake_render(pdf, doc, st, i, d, keep, crop):
        poppler.append(i)
        if i == 7:
            raise DatasetError(f"pdftoppm took over 120 s on {pdf.name}")
        return [_PageOut(i, 1, {"degrade": None, "dpi": 150, "lines": [{}]}, [])]

    monkeypatch.setattr(build, "_run", fake_soffice)
    monkeypatch.setattr(build, "_render_pdf", fake_render)
    pages, skipped = job.chunk_or_skip([7])
    assert pages == [] and len(skipped) == 1 and "document 7: pdftoppm" in skipped[0]
    assert soffice == [1] and poppler == [7, 7]
    pages, skipped = job.chunk_or_skip([6, 7])
    assert [p.doc_index for p in pages] == [6] and len(skipped) == 1
    makes_pdf["yes"] = False
    soffice.clear()
    pages, skipped = job.chunk_or_skip([3, 4])
    assert pages == [] and soffice == [1, 1] and "LibreOffice made no PDF" in skipped[0]


def test_fill_text_keeps_layout_and_replaces_wording() -> None:
    chars = set("".join(_CORPUS)) | {" "}
    for kind in DOCUMENT_KINDS:
        doc = make_document(5, 2, kind)
        new = fill_text(doc, _CORPUS + ["   "], random.Random(1))
        assert new.kind == doc.kind and len(new.blocks) == len(doc.blocks)
        assert bool(new.header) == bool(doc.header) and bool(new.footer) == bool(doc.footer)
        for a, b in zip(doc.blocks, new.blocks, strict=True):
            assert type(a) is type(b)
            if isinstance(a, Para):
                assert (a.role, a.underline) == (b.role, b.underline)
            elif isinstance(a, Table):
                assert (a.widths, a.header, a.borders) == (b.widths, b.header, b.borders)
                assert [[bool(c) for c in r] for r in a.rows] == \
                    [[bool(c) for c in r] for r in b.rows]
            else:
                assert isinstance(b, Columns) and a.count == b.count
                assert [p.role for p in a.paras] == [p.role for p in b.paras]
        old_lines, new_lines = document_lines(doc), document_lines(new)
        assert len(old_lines) == len(new_lines)
        for o, n in zip(old_lines, new_lines, strict=True):
            assert n and n == normalize_text(n) and set(n) <= chars, n
            assert abs(_wide(n) - _wide(o)) <= max(2, _wide(o) // 4), (o, n)
        assert not set(old_lines) & set(new_lines) - set(_CORPUS)
        assert fill_text(doc, _CORPUS, random.Random(1)) == new        # deterministic
    with pytest.raises(ValueError, match="not blank"):
        fill_text(make_document(5, 2), ["  ", ""], random.Random(1))


# --------------------------------------------------------------------------- rendering

def test_font_sets_hold_families_out() -> None:
    have = {f for names in pages.FONT_CHOICES.values() for f in names}
    assert set(pages.HELD_OUT_FONTS) <= have
    train = style._font_table(have, "train")
    held = style._font_table(have, "heldout")
    for face in pages.FONT_CHOICES:
        assert not set(train[face]) & set(pages.HELD_OUT_FONTS)
        assert held[face]                      # every face can still be laid out
    assert set(held["serif"]) <= set(pages.HELD_OUT_FONTS)


def test_ink_crops_cut_at_the_ink_plus_2_to_8_px() -> None:
    import numpy as np

    img = np.full((100, 300), 255, np.uint8)
    img[40:55, 50:250] = 0                                   # the line's ink
    seg = cutting._Segment("x", (0, 0, 0, 0))
    seg.px = (30, 20, 280, 80)                               # its text-box cut
    cutting._ink_crops([seg], img, random.Random(1), 1.0)
    x0, y0, x1, y1 = seg.px
    assert 2 <= 50 - x0 <= 8 and 2 <= 40 - y0 <= 8 and 2 <= x1 - 250 <= 8 and 2 <= y1 - 55 <= 8


@needs_tools
@pytest.mark.slow
def test_render_two_pages(tmp_path) -> None:
    out, keep = tmp_path / "val.lmdb", tmp_path / "pages"
    stats = pages.render_pages(out, 2, dpis=[150], seed=3, degrade=0.5, keep_pages=keep,
                               workers=1)
    assert stats["pages"] == 2 and stats["lines"] >= 10
    assert stats["rejected"] <= stats["lines"] // 10
    reader = LmdbReader(out)
    assert len(reader) == stats["lines"]
    sources = [line for i in range(2) for line in document_lines(make_document(3, i))]
    labels = []
    for i in range(len(reader)):
        png, label = reader.get(i)
        labels.append(label)
        assert label and label == label.strip() and "  " not in label
        assert label == unicodedata.normalize("NFC", label)
        assert any(label in s for s in sources), label
        img = Image.open(io.BytesIO(png))
        assert img.mode == "L"
        assert 12 <= img.height <= 160, (label, img.size)       # 150 dpi, 9-28 pt text
        assert img.width >= 0.5 * img.height
    # --keep-pages: a PNG and a JSON per page, lines pointing at their samples
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(keep.glob("*.json"))]
    assert len(records) == 2
    for rec in records:
        assert (keep / rec["image"]).is_file()
        page = Image.open(keep / rec["image"])
        assert page.size == (rec["width"], rec["height"])
        for line in rec["lines"]:
            x0, y0, x1, y1 = line["box"]
            assert 0 <= x0 < x1 <= rec["width"] + 5 and 0 <= y0 < y1 <= rec["height"] + 5
            if "sample" in line:
                assert reader.get(line["sample"])[1] == line["text"]

    # same seed, same texts (written as a folder this time)
    folder = tmp_path / "val_folder"
    again = pages.render_pages(folder, 2, dpis=[150], seed=3, degrade=0.5, fmt="folder")
    rows = (folder / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert [r.split("\t", 1)[1] for r in rows] == labels
    assert again["lines"] == stats["lines"]
    assert (folder / rows[0].split("\t")[0]).is_file()


@needs_tools
@pytest.mark.slow
def test_render_a_page_filled_with_other_text(tmp_path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(_CORPUS) + "\n\n", encoding="utf-8")
    out = tmp_path / "train.lmdb"
    stats = pages.render_pages(out, 1, dpis=[150], seed=4, degrade=0.0, text=corpus)
    assert stats["pages"] == 1 and stats["lines"] >= 5
    assert stats["rejected"] <= stats["lines"] // 10
    chars = set("".join(_CORPUS)) | {" "}
    reader = LmdbReader(out)
    template = set(document_lines(make_document(4, 0)))
    for i in range(len(reader)):
        label = reader.get(i)[1]
        assert set(label) <= chars and label not in template - set(_CORPUS), label
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    with pytest.raises(CrnnError, match="holds no text"):
        pages.render_pages(tmp_path / "x.lmdb", 1, text=empty)
    with pytest.raises(CrnnError, match="no such file"):
        pages.render_pages(tmp_path / "x.lmdb", 1, text=tmp_path / "missing.txt")


@needs_tools
@pytest.mark.slow
def test_folder_output_is_crops_and_a_label_file(tmp_path) -> None:
    """``--format folder``: ``crops/000001.png``... and ``labels.tsv`` naming them, written
    by the same folder writer ``crnn synth`` uses."""
    out = tmp_path / "pf"
    assert pages.main(["--out", str(out), "--pages", "1", "--seed", "3",
                       "--format", "folder"]) == 0
    rows = [ln.split("\t") for ln in (out / "labels.tsv").read_text("utf-8").splitlines()]
    assert rows and [r[0] for r in rows] == [f"crops/{i:06d}.png" for i in
                                             range(1, len(rows) + 1)]
    assert sorted(p.name for p in (out / "crops").iterdir()) == [r[0][6:] for r in rows]
    assert all(r[1].strip() for r in rows)

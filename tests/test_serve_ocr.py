"""POST /v1/ocr: whole pages (images, multi-page TIFF, PDF) through the same read_page as
``crnn ocr``, its limits and bad input, and page work that leaves line requests answered."""

from __future__ import annotations

import asyncio
import shutil
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")

from crnn.ocr import read_page  # noqa: E402
from crnn.serve import PageQueue, ServeError, page_result  # noqa: E402

from .test_ocr import digits_page  # noqa: E402
from .test_serve import client_for, png_bytes, rec  # noqa: E402, F401

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                   reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def client(rec):  # noqa: F811
    with client_for(rec, max_pages=2, page_max_pixels=2_000_000) as c:
        yield c


def post_page(client, data: bytes, name: str = "page.png", mime: str = "image/png",
              **params):
    return client.post("/v1/ocr", params=params, files={"page": (name, data, mime)})


def expected(img, rec):  # noqa: F811
    return page_result(read_page(np.asarray(img.convert("RGB")), rec))


@pytest.mark.parametrize("turn", [0, 90])
def test_page_image_reads_as_read_page(client, rec, turn):  # noqa: F811
    img = digits_page().rotate(turn, expand=True)
    r = post_page(client, png_bytes(img))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["page_count"] == 1 and len(body["pages"]) == 1
    got, want = body["pages"][0], expected(img, rec)
    assert got == want
    assert (got["width"], got["height"]) == img.size
    assert got["rotation"] == want["rotation"] and (turn == 0) == (got["rotation"] == 0)
    assert len(got["lines"]) == 4  # three lines and the separate item; the seal is none
    for ln in got["lines"]:
        x0, y0, x1, y1 = ln["box"]
        assert 0 <= x0 < x1 <= img.width and 0 <= y0 < y1 <= img.height
        xs, ys = [p[0] for p in ln["quad"]], [p[1] for p in ln["quad"]]
        assert x0 - 1 <= min(xs) and max(xs) <= x1 + 1 and y0 - 1 <= min(ys) <= max(ys) <= y1 + 1
    # the raw body works as well as a multipart part
    raw = client.post("/v1/ocr", content=png_bytes(img), headers={"content-type": "image/png"})
    assert raw.json()["pages"] == body["pages"]


@needs_poppler
def test_pdf_pages_one_by_one_and_all(client, rec, tmp_path):  # noqa: F811
    pages = [digits_page(), digits_page().rotate(180)]
    pdf = tmp_path / "two.pdf"
    pages[0].save(pdf, resolution=100, save_all=True, append_images=pages[1:])
    data = pdf.read_bytes()
    both = post_page(client, data, "two.pdf", "application/pdf", dpi=100)
    assert both.status_code == 200, both.text
    body = both.json()
    assert body["page_count"] == 2 and [p["number"] for p in body["pages"]] == [1, 2]
    from crnn.ocr import load_pages

    # as `crnn ocr two.pdf --dpi 100` reads it
    want = [page_result(read_page(img, rec, number=n))
            for n, img in enumerate(load_pages(pdf, 100), 1)]
    assert body["pages"] == want
    second = post_page(client, data, "two.pdf", "application/pdf", dpi=100, page=2,
                       image="true")
    page2 = second.json()["pages"][0]
    assert page2["number"] == 2 and page2["lines"] == body["pages"][1]["lines"]
    assert page2["image"].startswith("data:image/jpeg;base64,")


def test_text_hocr_and_alto(client, rec):  # noqa: F811
    img = digits_page()
    page = read_page(np.asarray(img), rec)
    txt = post_page(client, png_bytes(img), format="txt")
    assert txt.headers["content-type"].startswith("text/plain")
    assert txt.text.strip() == page.text.strip()
    hocr = post_page(client, png_bytes(img), format="hocr")
    root = ET.fromstring(hocr.content)
    lines = [e for e in root.iter() if e.get("class") == "ocr_line"]
    assert len(lines) == len(page.lines)
    alto = post_page(client, png_bytes(img), format="alto")
    ns = "{http://www.loc.gov/standards/alto/ns-v4#}"
    assert ET.fromstring(alto.content).find(f".//{ns}Page").get("WIDTH") == "800"


def test_multipage_tiff_limit_and_page_choice(client, rec):  # noqa: F811
    import io

    pages = [digits_page()] * 3
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    data = buf.getvalue()
    r = post_page(client, data, "three.tif", "image/tiff")
    assert r.status_code == 413 and "3 pages, over the limit of 2" in r.json()["detail"]
    one = post_page(client, data, "three.tif", "image/tiff", page=3)
    assert one.status_code == 200 and one.json()["pages"][0]["number"] == 3
    beyond = post_page(client, data, "three.tif", "image/tiff", page=4)
    assert beyond.status_code == 422 and "has 3" in beyond.json()["detail"]


@pytest.mark.parametrize("make, status, words", [
    (lambda: ("notes.png", b"plain text, not a page", "image/png"), 415, "not a readable"),
    (lambda: ("bad.pdf", b"%PDF-1.4\n1 0 obj garbage", "application/pdf"), 415,
     "not a readable PDF"),
    (lambda: ("empty.png", b"", "image/png"), 422, "empty"),
    (lambda: ("huge.png", png_bytes(digits_page().resize((2000, 1500))), "image/png"), 413,
     "over the limit"),
])
def test_bad_pages_are_refused_with_their_status(client, make, status, words):
    name, data, mime = make()
    if name.endswith(".pdf") and shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils not installed")
    r = post_page(client, data, name, mime)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] and name in r.json()["detail"]


def test_bad_requests(client):
    page = png_bytes(digits_page())
    assert post_page(client, page, format="docx").status_code == 422
    r = post_page(client, page, dpi=1000)
    assert r.status_code == 422 and "--max-dpi" in r.json()["detail"]
    r = client.post("/v1/ocr", content=page, headers={"content-type": "text/plain"})
    assert r.status_code == 415
    two = client.post("/v1/ocr", files=[("a", ("a.png", page, "image/png")),
                                        ("b", ("b.png", page, "image/png"))])
    assert two.status_code == 422 and "one page" in two.json()["detail"]
    info = client.get("/v1/model").json()
    assert info["limits"]["max_pages"] == 2 and info["stats"]["pages"] >= 0


def test_page_queue_refuses_beyond_its_bound():
    async def scenario():
        queue = PageQueue(concurrency=1, waiting=1)
        release = threading.Event()
        first = asyncio.ensure_future(queue.run(release.wait))
        second = asyncio.ensure_future(queue.run(lambda: "second"))
        await asyncio.sleep(0.05)
        with pytest.raises(ServeError) as err:
            await queue.run(lambda: "third")
        assert err.value.status == 503 and "retry" in err.value.message
        release.set()
        assert await second == "second" and await first is True
        assert queue.admitted == 0
        queue.close()

    asyncio.run(scenario())


def test_busy_page_gets_503_and_lines_are_still_answered(rec, monkeypatch):  # noqa: F811
    """While a page is being read (held here), a second page request beyond the queue gets
    503 with Retry-After, and line requests are answered."""
    import httpx

    from crnn import ocr
    from crnn.serve import ServeSettings, create_app

    started, release = threading.Event(), threading.Event()
    real = ocr.read_page

    def held(*args, **kwargs):
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(ocr, "read_page", held)
    app = create_app(rec, ServeSettings(model_name="random", page_queue=0))
    page = png_bytes(digits_page())
    line = png_bytes(digits_page().crop((50, 50, 300, 100)))

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            first = asyncio.ensure_future(c.post("/v1/ocr", files={"page": ("p.png", page)}))
            while not started.is_set():
                await asyncio.sleep(0.01)
            busy = await c.post("/v1/ocr", files={"page": ("q.png", page)})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            answered = await c.post("/v1/recognize", files={"images": ("l.png", line)})
            assert answered.status_code == 200 and not first.done()
            release.set()
            done = await first
            assert done.status_code == 200 and len(done.json()["pages"][0]["lines"]) == 4

    asyncio.run(scenario())

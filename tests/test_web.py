"""The web page end to end: a real uvicorn server on a loopback port, driven by headless
Chromium through Playwright (Debian's ``chromium``; ``playwright install`` is not needed)."""

from __future__ import annotations

import base64
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")

from crnn.recognizer import Recognizer  # noqa: E402
from crnn.serve import ServeSettings, create_app  # noqa: E402

from .conftest import render  # noqa: E402
from .test_serve import png_bytes, random_checkpoint  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]

DISPATCH = """([name, b64, how]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type: "image/png" }));
    const init = { bubbles: true, cancelable: true };
    if (how === "drop") {
        document.querySelector("#drop").dispatchEvent(
            new DragEvent("drop", { ...init, dataTransfer: dt }));
    } else {
        document.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: dt }));
    }
}"""


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser "
                    "download needed)")
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Recognizer]]:
    """A uvicorn server in a thread, on a socket bound here (no port race)."""
    rec = Recognizer.load(random_checkpoint(tmp_path_factory.mktemp("web") / "m.pt"),
                          device="cpu")
    app = create_app(rec, ServeSettings(model_name="random-digits"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        thread.join(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", rec
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.slow
def test_page_reads_chosen_dropped_and_pasted_images(served, font_path: str,
                                                      tmp_path: Path):
    sync_playwright = _playwright()
    base, rec = served
    images = {name: png_bytes(render(text, font_path)) for name, text in
              (("chosen.png", "20240901"), ("dropped.png", "13579"), ("pasted.png", "8642"))}
    expected = {name: rec.recognize([data])[0] for name, data in images.items()}
    assert any(r.text for r in expected.values())  # something visible to compare
    (tmp_path / "chosen.png").write_bytes(images["chosen.png"])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requests: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(base + "/")
            page.wait_for_function(
                "() => document.querySelector('#model-info').textContent.includes('random-digits')")
            assert "10 characters" in page.text_content("#model-info")
            page.check("#char-probs")

            # choose
            page.set_input_files("#file", str(tmp_path / "chosen.png"))
            # drop and paste: a DataTransfer holding the file, as the desktop makes them
            for name, how in (("dropped.png", "drop"), ("pasted.png", "paste")):
                page.evaluate(DISPATCH, [name, base64.b64encode(images[name]).decode(), how])

            page.wait_for_function(
                "() => document.querySelectorAll('.card[data-state=done]').length === 3",
                timeout=20000)
            for card in page.query_selector_all(".card"):
                name = card.query_selector(".name").text_content()
                want = expected[name]
                assert card.query_selector(".text").text_content() == want.text
                conf = card.query_selector(".confidence").text_content()
                assert conf == f"confidence {100 * want.confidence:.1f}%"
                assert len(card.query_selector_all(".char-probs span")) == len(want.text)
                src = card.query_selector("img").get_attribute("src")
                assert src.startswith("blob:")  # the image itself is shown
            assert page.text_content("#status").startswith("read 1 of 1")

            # a file that is not an image: the card shows the server's message
            page.set_input_files("#file", files=[{"name": "notes.png", "mimeType": "image/png",
                                                  "buffer": b"not an image at all"}])
            page.wait_for_selector(".card[data-state=error]", timeout=10000)
            assert "not an image" in page.text_content(".card[data-state=error] .error")

            assert all(u.startswith(base) or u.startswith(("blob:", "data:"))
                       for u in requests), requests
            # the 415 above is the only console error Chromium may log (a failed fetch)
            assert all("415" in m for m in problems), problems
        finally:
            browser.close()


DROP_PAGE = """([name, b64, type]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    document.querySelector("#page-drop").dispatchEvent(new DragEvent("drop",
        { bubbles: true, cancelable: true, dataTransfer: dt }));
}"""


def _drop_and_check(page, name: str, data: bytes, mime: str) -> dict:
    """Drop a page, wait for its boxes; the boxes and the text shown are the JSON's."""
    with page.expect_response(lambda r: "/v1/ocr" in r.url) as reply:
        page.evaluate(DROP_PAGE, [name, base64.b64encode(data).decode(), mime])
    body = reply.value.json()
    lines = body["pages"][0]["lines"]
    assert lines, "the page should have lines"
    page.wait_for_function(f"() => document.querySelectorAll('#page-boxes polygon').length "
                           f"=== {len(lines)}", timeout=20000)
    shown = [li.text_content() for li in page.query_selector_all("#page-lines li")]
    assert shown == [ln["text"] for ln in lines]
    assert page.text_content("#page-status").startswith(name)
    return body


@pytest.mark.slow
def test_page_mode_draws_every_line_and_shows_its_text(served, tmp_path: Path):
    sync_playwright = _playwright()
    base, _ = served
    from .test_ocr import digits_page

    png = png_bytes(digits_page())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(base + "/#page")
            assert page.is_visible("#page-drop") and not page.is_visible("#drop")
            body = _drop_and_check(page, "letter.png", png, "image/png")
            assert len(body["pages"][0]["lines"]) == 4
            assert page.get_attribute("#page-image", "src").startswith("blob:")

            # hovering a box highlights its line, clicking a line highlights its box
            page.hover('#page-boxes polygon[data-line="2"]')
            assert "hot" in page.get_attribute('#page-lines li[data-line="2"]', "class")
            page.click('#page-lines li[data-line="0"]')
            assert "hot" in page.get_attribute('#page-boxes polygon[data-line="0"]', "class")
            assert "hot" not in (page.get_attribute('#page-lines li[data-line="2"]', "class")
                                 or "")
            # low-confidence lines (a random model: all of them) are marked both sides
            doubtful = sum(ln["confidence"] < 0.8 for ln in body["pages"][0]["lines"])
            assert len(page.query_selector_all("#page-lines li.doubt")) == doubtful
            assert len(page.query_selector_all("#page-boxes polygon.doubt")) == doubtful

            # downloads: the text and the JSON as shown
            with page.expect_download() as dl:
                page.click("#get-txt")
            txt = Path(dl.value.path()).read_text(encoding="utf-8")
            assert txt.splitlines() == [ln["text"] for ln in body["pages"][0]["lines"]]
            with page.expect_download() as dl:
                page.click("#get-hocr")
            assert "ocr_line" in Path(dl.value.path()).read_text(encoding="utf-8")

            if shutil.which("pdftoppm"):  # a two-page PDF: page picker, server-drawn page
                pdf = tmp_path / "two.pdf"
                digits_page().save(pdf, resolution=100, save_all=True,
                                   append_images=[digits_page()])
                body = _drop_and_check(page, "two.pdf", pdf.read_bytes(), "application/pdf")
                assert body["page_count"] == 2 and page.is_visible("#page-select")
                assert page.get_attribute("#page-image", "src").startswith("data:image/jpeg")
                with page.expect_response(lambda r: "page=2" in r.url):
                    page.select_option("#page-select", "2")
                page.wait_for_function("() => document.querySelector('#page-status')"
                                       ".textContent.includes('page 2 of 2')")

            # phone width: the text goes under the page, nothing wider than the screen
            page.set_viewport_size({"width": 390, "height": 800})
            fig = page.query_selector("#page-figure").bounding_box()
            lst = page.query_selector("#page-lines").bounding_box()
            assert lst["y"] >= fig["y"] + fig["height"] - 1 and fig["width"] <= 390
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert not problems, problems
        finally:
            browser.close()

"""``crnn serve``: the HTTP API through FastAPI's test client (every error path), the
micro-batcher, the limits, and the command-line entry."""

from __future__ import annotations

import argparse
import asyncio
import base64
import builtins
import io
import pathlib
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("python_multipart", reason="python-multipart is not installed")

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from crnn.data.images import Preprocess  # noqa: E402
from crnn.errors import ConfigError  # noqa: E402
from crnn.recognizer import Recognizer, Result  # noqa: E402
from crnn.serve import (  # noqa: E402
    ServeSettings,
    add_arguments,
    api_models,
    create_app,
    main,
    run,
)

from .conftest import render  # noqa: E402

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; both work
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient


# --------------------------------------------------------------------------- fixtures
def random_checkpoint(path: Path) -> Path:
    """A tiny untrained digits model: fast to build, and its random weights read *some*
    characters from a line, so results are not all empty."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, save_checkpoint
    from crnn.model import CRNN, ModelConfig

    torch.manual_seed(0)
    charset = Charset.preset("digits")
    cfg = ModelConfig(num_classes=charset.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=16)
    save_checkpoint(Checkpoint(cfg, charset, Preprocess(), CRNN(cfg).state_dict()), path)
    return path


def png_bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Recognizer:
    path = random_checkpoint(tmp_path_factory.mktemp("serve") / "random.pt")
    return Recognizer.load(path, device="cpu")


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    from .conftest import find_font

    font = find_font()
    return [png_bytes(render(t, font)) for t in ("20240901", "13579", "8642", "1234567890")]


def client_for(recognizer, **settings) -> TestClient:
    return TestClient(create_app(recognizer, ServeSettings(model_name="random", **settings)))


@pytest.fixture(scope="module")
def client(rec: Recognizer):
    with client_for(rec) as c:
        yield c


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (name, data, "application/octet-stream")) for name, data in items]


class StubRecognizer:
    """Duck-typed Recognizer that reads ``name`` as the text and records its calls."""

    charset = "0123456789"
    preprocess = Preprocess()
    device = "cpu"
    backend = "stub"

    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay = delay
        self.gate = gate
        self.calls: list[list[str]] = []
        self.active = 0
        self.max_active = 0
        self.started = threading.Event()
        self._lock = threading.Lock()

    def recognize(self, images, names):
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls.append(list(names))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay)
        with self._lock:
            self.active -= 1
        return [Result(f"read {n}", 0.5, (0.5,), n) for n in names]


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize("kwargs, word", [
    ({"max_images": 0}, "max_images"), ({"max_pixels": -1}, "max_pixels"),
    ({"batch_window_ms": -1}, "window"), ({"max_queue": 4, "max_images": 8}, "max_queue"),
    ({"token": "  "}, "token"), ({"max_concurrency": 1.5}, "max_concurrency")])
def test_settings_refuse_bad_values(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        ServeSettings(**kwargs)


def test_settings_defaults_are_safe():
    s = ServeSettings()
    assert s.token is None and s.cors_origins == ()
    assert s.max_request_bytes <= 64 << 20 and s.max_images <= 256 and s.max_pixels <= 10**7


# --------------------------------------------------------------------------- happy paths
def test_healthz_and_model_info(client: TestClient, rec: Recognizer):
    assert client.get("/healthz").json() == {"status": "ok"}
    info = client.get("/v1/model").json()
    assert info["name"] == "random"
    assert info["charset_size"] == len(rec.charset) == 10
    assert info["input_height"] == rec.preprocess.height == 32
    assert info["backend"] == rec.backend and info["device"] == "cpu"
    assert info["limits"]["max_images"] == 64 and info["batching"]["enabled"] is True


def test_multipart_matches_recognizer(client: TestClient, rec: Recognizer, lines):
    expected = rec.recognize(lines, [f"l{i}.png" for i in range(len(lines))])
    r = client.post("/v1/recognize", files=files(*((f"l{i}.png", b) for i, b in
                                                   enumerate(lines))))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "random" and body["elapsed_ms"] > 0
    got = body["results"]
    assert [g["name"] for g in got] == [f"l{i}.png" for i in range(len(lines))]
    assert [g["text"] for g in got] == [e.text for e in expected]
    assert any(g["text"] for g in got)  # the random model reads something
    for g, e in zip(got, expected, strict=True):
        assert g["confidence"] == pytest.approx(e.confidence, abs=1e-5)
        assert g["status"] == 200 and "error" not in g and "char_probs" not in g


def test_char_probs_on_request(client: TestClient, lines):
    for kwargs in ({"params": {"char_probs": "true"}}, {"data": {"char_probs": "1"}}):
        r = client.post("/v1/recognize", files=files(("a.png", lines[0])), **kwargs)
        res = r.json()["results"][0]
        assert len(res["char_probs"]) == len(res["text"])
        assert all(0 <= p <= 1 for p in res["char_probs"])


def test_json_base64_and_data_url(client: TestClient, rec: Recognizer, lines):
    b64 = base64.b64encode(lines[1]).decode()
    r = client.post("/v1/recognize", json={"images": [
        {"name": "plain", "data": b64}, {"data": "data:image/png;base64," + b64}],
        "char_probs": True})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["name"] for x in res] == ["plain", "image 1"]
    assert res[0]["text"] == res[1]["text"] == rec.recognize([lines[1]])[0].text
    assert len(res[0]["char_probs"]) == len(res[0]["text"])


def test_a_bad_image_fails_only_itself(client: TestClient, lines):
    big = png_bytes(Image.new("L", (3000, 2000), 255))  # 6 MP > the 4 MP default
    r = client.post("/v1/recognize", files=files(
        ("good.png", lines[0]), ("notes.txt", b"just some text"), ("cut.png", lines[1][:80]),
        ("huge.png", big), ("empty.png", b""), ("good2.png", lines[2])))
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [200, 415, 422, 413, 422, 200]
    assert res[1]["error"].startswith('part 2 ("images", file "notes.txt"): not an image')
    assert "cut.png" in res[2]["error"] and "truncated" in res[2]["error"]
    assert "3000x2000" in res[3]["error"] and "huge.png" in res[3]["error"]
    assert "empty" in res[4]["error"]
    assert res[0]["text"] and "error" not in res[5]


# --------------------------------------------------------------------------- error paths
@pytest.mark.parametrize("name, make, status, words", [
    ("notes.txt", lambda ls: b"hello world", 415, ["notes.txt", "not an image"]),
    ("cut.png", lambda ls: ls[0][:80], 422, ["cut.png", "cannot decode"]),
    ("empty.png", lambda ls: b"", 422, ["empty.png", "empty"]),
    ("huge.png", lambda ls: png_bytes(Image.new("L", (2100, 2000))), 413,
     ["huge.png", "4200000 pixels", "--max-pixels"]),
])
def test_single_bad_image_gets_its_status(client: TestClient, lines, name, make, status, words):
    r = client.post("/v1/recognize", files=files((name, make(lines))))
    assert r.status_code == status
    detail = r.json()["detail"]
    for w in words:
        assert w in detail


def test_json_bad_base64_names_the_image(client: TestClient, lines):
    r = client.post("/v1/recognize", json={"images": [{"name": "x", "data": "@@not base64"}]})
    assert r.status_code == 422 and 'images[0] ("x")' in r.json()["detail"]
    r = client.post("/v1/recognize", json={"images": [
        {"data": base64.b64encode(lines[0]).decode()}, {"data": "%%%"}]})
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == [200, 422]
    assert "images[1]" in r.json()["results"][1]["error"]
    r = client.post("/v1/recognize", json={"images": [{"data": "data:image/png,abc"}]})
    assert r.status_code == 422 and "data: URL" in r.json()["detail"]


def test_request_over_size_limit_is_413(rec: Recognizer, lines):
    with client_for(rec, max_request_bytes=2000) as c:
        r = c.post("/v1/recognize", files=files(("a.png", b"\0" * 3000)))
        assert r.status_code == 413 and "--max-request-bytes" in r.json()["detail"]

        def chunked():  # no Content-Length: counted while it streams
            for _ in range(10):
                yield b"x" * 500

        r = c.post("/v1/recognize", content=chunked(),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/v1/recognize", files=files(("a.png", lines[2]))).status_code == 200


def test_too_many_images_is_413(rec: Recognizer, lines):
    with client_for(rec, max_images=2, max_queue=4) as c:
        r = c.post("/v1/recognize", files=files(*[("a.png", lines[0])] * 3))
        assert r.status_code == 413 and "--max-images" in r.json()["detail"]
        b64 = base64.b64encode(lines[0]).decode()
        r = c.post("/v1/recognize", json={"images": [{"data": b64}] * 3})
        assert r.status_code == 413 and "3 images" in r.json()["detail"]
        assert c.post("/v1/recognize", files=files(*[("a.png", lines[0])] * 2)).status_code == 200


def test_bad_requests(client: TestClient):
    r = client.post("/v1/recognize", content=b"abc", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    assert client.post("/v1/recognize", content=b"abc").status_code == 415  # no content type
    r = client.post("/v1/recognize", data={"char_probs": "true"},
                    files=[("char_probs", (None, b"true"))])
    assert r.status_code == 422 and "no images" in r.json()["detail"]
    r = client.post("/v1/recognize", content=b"--xyz\r\ngarbage",
                    headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 422 and "multipart" in r.json()["detail"]
    r = client.post("/v1/recognize", content=b"a",
                    headers={"content-type": "multipart/form-data"})
    assert r.status_code == 422 and "boundary" in r.json()["detail"]
    r = client.post("/v1/recognize", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    assert client.post("/v1/recognize", json={"images": []}).status_code == 422
    r = client.post("/v1/recognize", files=files(("a.png", b"x")), data={"char_probs": "maybe"})
    assert r.status_code == 422 and "char_probs" in r.json()["detail"]
    assert client.get("/v1/recognize").status_code == 405


def test_no_request_reads_a_path(client: TestClient, lines, monkeypatch):
    """Names that look like paths stay names; the server opens no file while serving."""
    opened: list[str] = []

    def refuse(*args, **kwargs):
        opened.append(str(args[:1]))
        raise AssertionError("the server tried to open a file")

    r = client.post("/v1/recognize", json={"images": [{"path": "/etc/hostname"}]})
    assert r.status_code == 422
    assert any(e["type"] == "extra_forbidden" for e in r.json()["detail"])
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(pathlib.Path, "open", refuse)
    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    r = client.post("/v1/recognize", files=[
        ("/etc/hostname", ("/etc/hostname", b"/etc/hostname", "text/plain")),
        ("images", ("../../etc/passwd", lines[0], "image/png"))])
    assert r.status_code == 200
    res = r.json()["results"]
    assert res[0]["status"] == 415 and res[1]["name"] == "../../etc/passwd"
    r = client.post("/v1/recognize", json={"images": [
        {"name": "/etc/hostname", "data": base64.b64encode(b"/etc/hostname").decode()}]})
    assert r.status_code == 415
    monkeypatch.undo()
    assert opened == []


def test_bearer_token(rec: Recognizer, lines):
    with client_for(rec, token="s3cret") as c:
        for path, method in (("/v1/model", "get"), ("/v1/recognize", "post")):
            r = getattr(c, method)(path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            r = getattr(c, method)(path, headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert c.get("/v1/model", headers=ok).status_code == 200
        r = c.post("/v1/recognize", files=files(("a.png", lines[0])), headers=ok)
        assert r.status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200


def test_cors_is_off_unless_asked(client: TestClient, rec: Recognizer):
    origin = {"Origin": "http://elsewhere.example"}
    r = client.get("/v1/model", headers=origin)
    assert "access-control-allow-origin" not in r.headers
    pre = {**origin, "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/v1/recognize",
                                                               headers=pre).headers
    with client_for(rec, cors_origins=("http://elsewhere.example",)) as c:
        r = c.get("/v1/model", headers=origin)
        assert r.headers["access-control-allow-origin"] == "http://elsewhere.example"
        r = c.get("/v1/model", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_page_and_assets_are_served_locally(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert 'src="app.js"' in html and 'href="style.css"' in html
    assert "http://" not in html and "https://" not in html  # no CDN
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        r = client.get(f"/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
        # an XML namespace name is an identifier, never fetched
        text = r.text.replace('"http://www.w3.org/2000/svg"', "")
        assert "https://" not in text and "http://" not in text
    assert client.get("/docs").status_code == 404  # Swagger UI would load a CDN
    assert client.get("/static/../serve.py").status_code == 404


def test_openapi_schema_matches_responses(client: TestClient, lines):
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/v1/recognize"]["post"]
    content = post["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    assert content["application/json"]["schema"]["$ref"].endswith("/RecognizeRequest")
    comps = schema["components"]["schemas"]
    assert {"RecognizeRequest", "ImageIn", "RecognizeResponse", "ImageResult",
            "ModelInfo"} <= set(comps)
    assert comps["RecognizeRequest"]["examples"] and content["application/json"]["examples"]
    assert {"200", "401", "413", "415", "422", "503"} <= set(post["responses"])
    assert schema["paths"]["/v1/model"]["get"]["responses"]["200"]
    # real responses validate against the models the schema was generated from
    models = api_models()
    r = client.post("/v1/recognize", files=files(("a.png", lines[0]), ("b", b"bad")),
                    params={"char_probs": True})
    models.RecognizeResponse.model_validate(r.json())
    models.ModelInfo.model_validate(client.get("/v1/model").json())
    required = set(comps["RecognizeResponse"]["required"])
    assert required <= set(r.json())
    example = comps["RecognizeRequest"]["examples"][0]
    assert client.post("/v1/recognize", json=example).status_code == 200


# --------------------------------------------------------------------------- batching
def post_concurrently(app, n: int, extra: list | None = None) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                tasks = [c.post("/v1/recognize", files=files((f"req{i}.png", PNG)))
                         for i in range(n)]
                tasks += extra or []
                return await asyncio.gather(*tasks)
        finally:
            await app.state.batcher.aclose()

    return asyncio.run(go())


PNG = png_bytes(Image.new("L", (40, 32), 255))


def test_concurrent_requests_are_batched_and_answered_in_order():
    stub = StubRecognizer()
    app = create_app(stub, ServeSettings(batch_window_ms=200))
    out = post_concurrently(app, 8)
    assert [r.json()["results"][0]["text"] for r in out] == [f"read req{i}.png"
                                                             for i in range(8)]
    assert len(stub.calls) <= 2 and sum(map(len, stub.calls)) == 8


def test_max_batch_caps_gathered_images():
    stub = StubRecognizer()
    out = post_concurrently(create_app(stub, ServeSettings(batch_window_ms=200, max_batch=3)),
                            7)
    assert all(r.status_code == 200 for r in out)
    assert max(map(len, stub.calls)) <= 3 and sum(map(len, stub.calls)) == 7


def test_without_batching_each_request_runs_alone_one_at_a_time():
    stub = StubRecognizer(delay=0.01)
    out = post_concurrently(create_app(stub, ServeSettings(batching=False)), 6)
    assert all(r.status_code == 200 for r in out)
    assert sorted(map(len, stub.calls)) == [1] * 6 and stub.max_active == 1


def test_max_concurrency_runs_calls_side_by_side():
    stub = StubRecognizer(delay=0.2)
    out = post_concurrently(create_app(stub, ServeSettings(batching=False, max_concurrency=3)),
                            3)
    assert all(r.status_code == 200 for r in out) and stub.max_active == 3


def test_inference_runs_off_the_event_loop():
    stub = StubRecognizer(delay=0.5)
    app = create_app(stub, ServeSettings(batch_window_ms=0))

    async def go() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                t0 = time.perf_counter()
                slow = asyncio.ensure_future(c.post("/v1/recognize", files=files(("a", PNG))))
                while not stub.started.is_set():
                    await asyncio.sleep(0.005)
                r = await c.get("/healthz")
                t_health = time.perf_counter() - t0
                assert r.status_code == 200
                assert (await slow).status_code == 200
                return t_health, time.perf_counter() - t0
        finally:
            await app.state.batcher.aclose()

    t_health, t_slow = asyncio.run(go())
    assert t_health < 0.4 < t_slow


def test_full_queue_answers_503():
    gate = threading.Event()
    stub = StubRecognizer(gate=gate)
    app = create_app(stub, ServeSettings(max_images=2, max_queue=2))

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                def post(n: int):
                    return asyncio.ensure_future(
                        c.post("/v1/recognize", files=files(*[("a", PNG)] * n)))

                first = post(1)              # taken by the worker, which blocks
                while not stub.started.is_set():
                    await asyncio.sleep(0.005)
                second = post(2)             # waits: the queue is now full
                while app.state.batcher.queued < 2:
                    await asyncio.sleep(0.005)
                third = await post(1)        # over max_queue
                assert third.headers["retry-after"] == "1"
                assert "busy" in third.json()["detail"]
                gate.set()
                return [third.status_code, (await first).status_code,
                        (await second).status_code]
        finally:
            gate.set()
            await app.state.batcher.aclose()

    assert asyncio.run(go()) == [503, 200, 200]


# --------------------------------------------------------------------------- command line
def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_defaults_bind_loopback(monkeypatch):
    monkeypatch.delenv("CRNN_SERVE_TOKEN", raising=False)
    args = parse()
    assert args.host == "127.0.0.1" and args.port == 8000 and args.token is None
    assert args.batch_window_ms == 5.0 and args.max_batch == 64 and args.cors_origin == []


def test_cli_needs_a_model_until_one_is_bundled(capsys, monkeypatch):
    import crnn.recognizer

    monkeypatch.setattr(crnn.recognizer, "bundled_model_path", lambda: None)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "--model PATH" in err and "no bundled model" in err


def test_cli_refuses_bad_limits(tmp_path: Path, capsys):
    model = random_checkpoint(tmp_path / "m.pt")
    assert main(["--model", str(model), "--max-images", "0"]) == 2
    assert "max_images" in capsys.readouterr().err
    assert main(["--model", str(model), "--port", "70000"]) == 2


def test_run_serves_a_trained_checkpoint(tiny_checkpoint: Path, monkeypatch, lines):
    """``run`` loads the model once and hands uvicorn the app (stopped before it listens)."""
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.setdefault("config",
                                                                           self.config))
    args = parse("--model", str(tiny_checkpoint), "--port", "8123", "--token", "t",
                 "--batch-window-ms", "2", "--max-images", "8")
    assert run(args) == 0
    config = seen["config"]
    assert (config.host, config.port) == ("127.0.0.1", 8123)
    app = config.app
    settings = app.state.settings
    assert settings.model_name == "best.pt" and settings.token == "t"
    assert settings.batch_window_ms == 2 and settings.max_images == 8
    expected = app.state.recognizer.recognize(lines[:2], ["a", "b"])
    with TestClient(app) as c:
        r = c.post("/v1/recognize", files=files(("a", lines[0]), ("b", lines[1])),
                   headers={"Authorization": "Bearer t"})
    assert r.status_code == 200
    assert [x["text"] for x in r.json()["results"]] == [e.text for e in expected]

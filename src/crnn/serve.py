"""``crnn serve``: an HTTP recognition service and a web page, in front of one ``Recognizer``.

    crnn serve --model runs/demo/best.pt                 # http://127.0.0.1:8000/
    curl -F images=@line.png http://127.0.0.1:8000/v1/recognize
    curl -F page=@letter.pdf 'http://127.0.0.1:8000/v1/ocr?format=txt'

The model is loaded once, before the server starts. Each request is read (within the size
limit), its images are checked and decoded in a thread, and the decoded images go to a
:class:`MicroBatcher`, which gathers the images of requests that arrive together (for up to
``batch_window_ms``, or ``max_batch`` images) and runs them as one ``Recognizer.recognize``
call in a worker thread, so the event loop never waits on the model. Requests only carry
image bytes: no field names a file, and the server reads or writes no path on their behalf.

Whole pages (``POST /v1/ocr``) go through :class:`PageQueue`: at most ``page_concurrency``
pages are read at once, in their own threads (so line requests keep being answered), and
at most ``page_queue`` more wait; beyond that a request gets 503 with ``Retry-After``.

FastAPI, pydantic and uvicorn are imported when an app is built or run, not when this module
is imported, so ``crnn --help`` works without the ``serve`` extra.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions defined inside ``create_app`` at run time, and they refer to local names.

import argparse
import asyncio
import base64
import binascii
import collections
import functools
import hmac
import io
import ipaddress
import logging
import math
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import (
    ConfigError,
    CrnnError,
    DatasetError,
    ImageTooLargeError,
    NotAnImageError,
    TooManyPagesError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .recognizer import Recognizer

__all__ = ["ServeSettings", "MicroBatcher", "PageQueue", "ServeError", "create_app",
           "add_arguments", "run", "main"]

_log = logging.getLogger("uvicorn.error")  # the service logs where uvicorn does

MiB = 1 << 20
TOKEN_ENV = "CRNN_SERVE_TOKEN"
IMAGE_FORMATS = "PNG, JPEG, BMP, TIFF, WebP, GIF, PNM"
PAGE_FORMATS = ("json", "txt", "hocr", "alto")
_WEB_FILES = {"index.html": "text/html; charset=utf-8",
              "app.js": "text/javascript; charset=utf-8",
              "style.css": "text/css; charset=utf-8"}
# The page loads nothing from elsewhere; this header makes the browser enforce it.
_PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# A 16x16 white PNG: the example image in the OpenAPI schema.
_EXAMPLE_PNG = ("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAAAAAA6mKC9AAAAEUlEQVR42mP8z4AKmBhGtAAAIBA"
                "BH+35zCgAAAAASUVORK5CYII=")


@dataclass(frozen=True)
class ServeSettings:
    """What the service accepts and how it batches. Defaults are safe for a public port.

    model_name: shown by ``GET /v1/model``.
    max_request_bytes: largest request body; larger -> 413.
    max_images: images per request; more -> 413.
    max_pixels: width x height of one image, checked from its header before decoding; more
        -> 413 (for that image).
    max_queue: images waiting for the model, all requests together; a request that would
        go over -> 503, so a burst cannot pile up unbounded memory.
    max_concurrency: ``recognize`` calls running at once (worker threads).
    batching: gather concurrent requests into one ``recognize`` call (micro-batching);
        off: each request is its own call.
    batch_window_ms: how long a batch waits for more requests after its first one.
    max_batch: images in one gathered batch (a single request larger than this still
        runs, alone).
    token: if set, every ``/v1/`` route needs ``Authorization: Bearer <token>``.
    cors_origins: origins allowed to call the API from a browser; none by default.
    page_max_pixels: pixels of one page (``/v1/ocr``: an image, or a PDF page at the DPI
        asked for); more -> 413.
    max_pages: pages of one uploaded document (PDF, multi-page TIFF) read in one request;
        more -> 413 (ask for one ``page`` at a time instead).
    page_dpi / max_dpi: a PDF's rasterising resolution by default / at most (more -> 422).
    page_concurrency: pages read at once; page_queue: page requests waiting beyond those
        (more -> 503 with Retry-After).
    """

    model_name: str = "model"
    max_request_bytes: int = 16 * MiB
    max_images: int = 64
    max_pixels: int = 4_000_000
    max_queue: int = 256
    max_concurrency: int = 1
    batching: bool = True
    batch_window_ms: float = 5.0
    max_batch: int = 64
    token: str | None = None
    cors_origins: tuple[str, ...] = field(default=())
    page_max_pixels: int = 40_000_000
    max_pages: int = 20
    page_dpi: int = 200
    max_dpi: int = 400
    page_concurrency: int = 1
    page_queue: int = 4

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_images", "max_pixels", "max_queue",
                     "max_concurrency", "max_batch", "page_max_pixels", "max_pages",
                     "page_dpi", "max_dpi", "page_concurrency"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"serve setting {name} must be a positive integer, not "
                                  f"{value!r}")
        if not 0 <= self.batch_window_ms <= 1000:
            raise ConfigError(f"batch window {self.batch_window_ms} ms is outside 0..1000 ms")
        if self.max_queue < self.max_images:
            raise ConfigError(f"max_queue ({self.max_queue}) must be at least max_images "
                              f"({self.max_images}), or a full request could never run")
        if not isinstance(self.page_queue, int) or self.page_queue < 0:
            raise ConfigError(f"serve setting page_queue must be 0 or more, not "
                              f"{self.page_queue!r}")
        from .data.images import MAX_DPI, MIN_DPI

        if not MIN_DPI <= self.page_dpi <= self.max_dpi <= MAX_DPI:
            raise ConfigError(f"page DPI {self.page_dpi} and its limit {self.max_dpi} must "
                              f"satisfy {MIN_DPI} <= page_dpi <= max_dpi <= {MAX_DPI}")
        if self.token is not None and not self.token.strip():
            raise ConfigError("the bearer token is empty: give a non-empty --token or none")
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))


class ServeError(CrnnError):
    """A request (or one image in it) cannot be served: ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class QueueFull(ServeError):
    """More images are waiting than ``max_queue`` allows."""

    def __init__(self, queued: int, limit: int) -> None:
        super().__init__(503, f"server busy: {queued} images are waiting (limit {limit}); "
                              "retry shortly")


# --------------------------------------------------------------------------- batching
@dataclass
class _Job:
    images: list[np.ndarray]
    names: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Gathers the images of concurrent requests into batches and runs them off the loop.

    ``infer(images, names) -> results`` (one result per image, in order) runs in a pool of
    ``max_concurrency`` threads. A batch starts when a worker is free: it takes the first
    waiting request, then any others already waiting or arriving within ``window_s``, up to
    ``max_batch`` images. While the workers are busy, requests queue and so batch by
    themselves. With ``batching=False`` every request is run on its own.

    Created lazily on the running event loop by the first :meth:`submit`.
    """

    def __init__(self, infer: Callable[[list[np.ndarray], list[str]], Sequence[Any]], *,
                 window_s: float = 0.005, max_batch: int = 64, max_concurrency: int = 1,
                 max_queue: int = 256, batching: bool = True) -> None:
        self.infer = infer
        self.window_s = window_s
        self.max_batch = max_batch
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.batching = batching
        self.queued = 0          # images submitted and not yet handed to a worker
        self.inferences = 0      # infer() calls made
        self.images = 0          # images inferred
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: collections.deque[_Job] = collections.deque()
        self._event: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._collector: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self._executor: ThreadPoolExecutor | None = None

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._collector is None or self._collector.done():
            self._loop = loop
            self._pending.clear()
            self.queued = 0
            self._event = asyncio.Event()
            self._slots = asyncio.Semaphore(self.max_concurrency)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_concurrency,
                                                    thread_name_prefix="crnn-infer")
            self._collector = loop.create_task(self._collect(), name="crnn-batcher")
        return loop

    async def submit(self, images: list[np.ndarray], names: list[str]) -> list[Any]:
        """Queue one request's images; their results, in order, once a worker ran them.

        Raises :class:`QueueFull` at once when ``max_queue`` images are already waiting.
        """
        if not images:
            return []
        loop = self._ensure_started()
        if self.queued + len(images) > self.max_queue:
            raise QueueFull(self.queued, self.max_queue)
        job = _Job(list(images), list(names), loop.create_future())
        self._pending.append(job)
        self.queued += len(images)
        assert self._event is not None
        self._event.set()
        try:
            return await job.future
        except asyncio.CancelledError:  # the client went away: drop its images if not started
            if job in self._pending:
                self._pending.remove(job)
                self.queued -= len(job.images)
            raise

    async def _wait_pending(self, deadline: float | None) -> bool:
        """Until a job is pending (True) or ``deadline`` (loop time) passes (False)."""
        assert self._event is not None and self._loop is not None
        while not self._pending:
            self._event.clear()
            timeout = None if deadline is None else deadline - self._loop.time()
            if timeout is not None and timeout <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                return bool(self._pending)
        return True

    async def _gather(self) -> list[_Job]:
        assert self._loop is not None
        await self._wait_pending(None)
        jobs = [self._pending.popleft()]
        n = len(jobs[0].images)
        if self.batching:
            deadline = self._loop.time() + self.window_s
            while n < self.max_batch:
                if not self._pending and not await self._wait_pending(deadline):
                    break
                if n + len(self._pending[0].images) > self.max_batch:
                    break
                jobs.append(self._pending.popleft())
                n += len(jobs[-1].images)
        self.queued -= n
        return jobs

    async def _collect(self) -> None:
        assert self._slots is not None and self._loop is not None
        while True:
            await self._slots.acquire()
            try:
                jobs = await self._gather()
            except BaseException:
                self._slots.release()
                raise
            task = self._loop.create_task(self._run(jobs))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, jobs: list[_Job]) -> None:
        assert self._slots is not None and self._loop is not None
        try:
            images = [im for job in jobs for im in job.images]
            names = [nm for job in jobs for nm in job.names]
            try:
                results = await self._loop.run_in_executor(self._executor, self.infer, images,
                                                           names)
            except Exception as exc:  # handed to every waiting request (-> HTTP 500)
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                return
            self.inferences += 1
            self.images += len(images)
            start = 0
            for job in jobs:
                end = start + len(job.images)
                if not job.future.done():
                    job.future.set_result(list(results[start:end]))
                start = end
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        """Stop gathering, fail what still waits, and let the worker threads go."""
        if self._collector is not None:
            self._collector.cancel()
            try:
                await self._collector
            except asyncio.CancelledError:
                pass
            self._collector = None
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(ServeError(503, "server shutting down"))
        self._pending.clear()
        self.queued = 0
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class PageQueue:
    """Whole-page work with bounded concurrency: ``concurrency`` pages run at once in their
    own threads, ``waiting`` more may wait, and a request beyond that is refused at once
    (:class:`ServeError` 503), so page uploads cannot starve line requests or pile up."""

    def __init__(self, concurrency: int = 1, waiting: int = 4) -> None:
        self.concurrency, self.waiting = concurrency, waiting
        self.admitted = 0        # requests running or waiting
        self.pages = 0           # pages read
        self._slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[[], Any]) -> Any:
        if self.admitted >= self.concurrency + self.waiting:
            raise ServeError(503, f"server busy: {self.admitted} page requests are running "
                                  f"or waiting (limit {self.concurrency + self.waiting}); "
                                  "retry shortly")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="crnn-page")
        self.admitted += 1
        try:
            async with self._slots:
                return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            self.admitted -= 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


# --------------------------------------------------------------------------- input parsing
@dataclass
class _Item:
    """One image of a request: ``label`` names it in messages, ``name`` in results."""

    label: str
    name: str
    data: bytes | None = None
    image: np.ndarray | None = None
    error: ServeError | None = None


def check_and_decode(data: bytes, label: str, max_pixels: int, channels: int) -> np.ndarray:
    """Image bytes -> uint8 pixels, or :class:`ServeError` (413/415/422) naming ``label``.

    The size comes from the header (Pillow reads no pixels to give it), so an oversized or
    decompression-bomb image is refused before it is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    from .data.images import decode_image

    if not data:
        raise ServeError(422, f"{label}: empty (0 bytes), expected an image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except Image.DecompressionBombError as exc:
        raise ServeError(413, f"{label}: image too large to decode ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ServeError(415, f"{label}: not an image ({len(data)} bytes); send "
                              f"{IMAGE_FORMATS}") from exc
    if width * height > max_pixels:
        raise ServeError(413, f"{label}: {width}x{height} is {width * height} pixels, over "
                              f"the limit of {max_pixels} (--max-pixels)")
    try:
        return decode_image(data, channels, name=label)
    except ImageTooLargeError as exc:
        raise ServeError(413, str(exc)) from exc
    except DatasetError as exc:
        raise ServeError(422, str(exc)) from exc


def _truthy(value: str, label: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("", "0", "false", "no", "off"):
        return False
    raise ServeError(422, f"{label}: expected true or false, not {value[:40]!r}")


def parse_multipart(body: bytes, content_type: str, max_images: int) -> tuple[list[_Item], bool]:
    """A ``multipart/form-data`` body -> its image parts and the ``char_probs`` flag.

    Parsed in memory (the body is already bounded by ``max_request_bytes``): nothing is
    spooled to disk. Every part other than ``char_probs`` is an image; its file name, or else
    its field name, names it.
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ServeError(422, "multipart/form-data request without a boundary parameter")
    parts: list[dict[str, Any]] = []
    field_buf = bytearray()
    value_buf = bytearray()

    def on_part_begin() -> None:
        if len(parts) > max_images:  # char_probs + max_images parts at most
            raise ServeError(413, f"too many parts: at most {max_images} images per request "
                                  "(--max-images)")
        parts.append({"headers": {}, "data": bytearray()})

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field_buf.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value_buf.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1]["headers"][bytes(field_buf).lower()] = bytes(value_buf)
        field_buf.clear()
        value_buf.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1]["data"].extend(data[start:end])

    ended = []
    callbacks = {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                 "on_header_value": on_header_value, "on_header_end": on_header_end,
                 "on_part_data": on_part_data, "on_end": lambda: ended.append(True)}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ServeError(422, f"malformed multipart/form-data body: {exc}") from exc
    if not ended:
        raise ServeError(422, "malformed multipart/form-data body: it ends before the closing "
                              "boundary")
    items: list[_Item] = []
    char_probs = False
    for number, part in enumerate(parts, 1):
        _, disp = parse_options_header(part["headers"].get(b"content-disposition", b""))
        field_name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename", b"").decode("utf-8", "replace")
        if field_name == "char_probs" and not filename:
            char_probs = _truthy(bytes(part["data"]).decode("utf-8", "replace"),
                                 "form field char_probs")
            continue
        index = len(items)
        name = filename or field_name or f"image {index}"
        label = f'part {number} ("{field_name}"' + (f', file "{filename}")' if filename else ")")
        items.append(_Item(label, name, bytes(part["data"])))
    return items, char_probs


def _b64(data: str, label: str) -> bytes:
    if data.startswith("data:"):  # a data: URL, as browsers make them
        head, sep, data = data.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ServeError(422, f"{label}: a data: URL must be base64 "
                                  "(data:image/png;base64,...)")
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServeError(422, f"{label}: data is not valid base64 ({exc})") from exc


# --------------------------------------------------------------------------- API schema
@functools.cache
def api_models() -> types.SimpleNamespace:
    """The request and response models (pydantic, imported on first use)."""
    from pydantic import BaseModel, ConfigDict, Field

    class ImageIn(BaseModel):
        """One image in a JSON request: its bytes in base64, and an optional name."""

        model_config = ConfigDict(extra="forbid")
        data: str = Field(description="the encoded image (PNG, JPEG, ...) in base64, or a "
                                      "data: URL", examples=[_EXAMPLE_PNG])
        name: str | None = Field(None, max_length=256,
                                 description="echoed in the result; never used as a path")

    class RecognizeRequest(BaseModel):
        """``application/json`` form of ``POST /v1/recognize``."""

        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"images": [{"name": "line1.png", "data": _EXAMPLE_PNG}], "char_probs": True}]})
        images: list[ImageIn] = Field(min_length=1)
        char_probs: bool = Field(False, description="add each character's probability")

    class ImageResult(BaseModel):
        """The reading of one image; ``error`` and a non-200 ``status`` if it failed."""

        name: str = Field(description="file name, JSON name, or 'image N'")
        text: str
        confidence: float = Field(description="product of the characters' probabilities")
        char_probs: list[float] | None = Field(None, description="one per character of text")
        error: str | None = None
        status: int = Field(200, description="200, or the HTTP status this image alone "
                                             "would have got (413, 415, 422)")

    class RecognizeResponse(BaseModel):
        model_config = ConfigDict(json_schema_extra={"examples": [{
            "model": "best.pt", "elapsed_ms": 12.5, "results": [
                {"name": "line1.png", "text": "2024年9月1日", "confidence": 0.9731,
                 "status": 200},
                {"name": "notes.txt", "text": "", "confidence": 0.0, "status": 415,
                 "error": 'part 2 ("images", file "notes.txt"): not an image (12 bytes)'}]}]})
        model: str
        results: list[ImageResult]
        elapsed_ms: float = Field(description="time spent in the server")

    class Limits(BaseModel):
        max_request_bytes: int
        max_images: int
        max_pixels: int
        max_queue: int
        page_max_pixels: int
        max_pages: int
        page_dpi: int
        max_dpi: int
        page_concurrency: int
        page_queue: int

    class Batching(BaseModel):
        enabled: bool
        window_ms: float
        max_batch: int
        max_concurrency: int

    class Stats(BaseModel):
        requests: int
        inferences: int = Field(description="Recognizer.recognize calls")
        images: int = Field(description="images inferred")
        pages: int = Field(0, description="pages read by /v1/ocr")

    class ModelInfo(BaseModel):
        model_config = ConfigDict(json_schema_extra={"examples": [{
            "name": "best.pt", "charset_size": 7015, "input_height": 32, "fixed_width": None,
            "channels": 1, "backend": "torch", "device": "cpu",
            "limits": {"max_request_bytes": 16777216, "max_images": 64,
                       "max_pixels": 4000000, "max_queue": 256,
                       "page_max_pixels": 40000000, "max_pages": 20, "page_dpi": 200,
                       "max_dpi": 400, "page_concurrency": 1, "page_queue": 4},
            "batching": {"enabled": True, "window_ms": 5.0, "max_batch": 64,
                         "max_concurrency": 1},
            "stats": {"requests": 10, "inferences": 4, "images": 12}}]})
        name: str
        charset_size: int = Field(description="characters, not counting the CTC blank")
        input_height: int
        fixed_width: int | None
        channels: int
        backend: str = Field(description="torch or onnx")
        device: str
        limits: Limits
        batching: Batching
        stats: Stats

    class OcrLine(BaseModel):
        text: str
        confidence: float = Field(description="product of the characters' probabilities")
        box: list[int] = Field(description="x0, y0, x1, y1 in the uploaded page's pixels")
        quad: list[list[float]] = Field(
            description="the line's four corners [x, y] in the uploaded page's pixels, from "
                        "the text's top left, clockwise (turned with a skewed or turned page)")
        block: int = Field(description="the text block (column, table, paragraph) it is in")

    class OcrPage(BaseModel):
        number: int = Field(description="page number in the uploaded document (from 1)")
        width: int
        height: int
        rotation: int = Field(description="0, 90, 180 or 270: how far the page was turned "
                                          "to read it upright")
        skew: float = Field(description="degrees of residual skew found and corrected")
        lines: list[OcrLine] = Field(description="in reading order")
        image: str | None = Field(None, description="with ?image=true: the page as read, a "
                                                    "JPEG data: URL (the quads' coordinates)")

    class OcrResponse(BaseModel):
        model_config = ConfigDict(json_schema_extra={"examples": [{
            "model": "default.pt", "elapsed_ms": 812.4, "page_count": 1, "pages": [{
                "number": 1, "width": 1654, "height": 2339, "rotation": 0, "skew": 0.3,
                "lines": [{"text": "录取通知书", "confidence": 0.98,
                           "box": [640, 210, 1010, 280], "block": 0,
                           "quad": [[640.0, 212.1], [1010.0, 210.0], [1010.0, 278.0],
                                    [640.0, 280.0]]}]}]}]})
        model: str
        page_count: int = Field(description="pages the uploaded document has")
        pages: list[OcrPage] = Field(description="the pages read (all, or the one asked for)")
        elapsed_ms: float = Field(description="time spent in the server")

    class Health(BaseModel):
        status: str = "ok"

    class ErrorBody(BaseModel):
        detail: str = Field(description="what went wrong, naming the image part at fault")

    return types.SimpleNamespace(
        ImageIn=ImageIn, RecognizeRequest=RecognizeRequest, ImageResult=ImageResult,
        RecognizeResponse=RecognizeResponse, ModelInfo=ModelInfo, Health=Health,
        ErrorBody=ErrorBody, OcrResponse=OcrResponse)


def _recognize_openapi() -> dict[str, Any]:
    """The request body of ``POST /v1/recognize``: multipart or JSON (handled by hand)."""
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["images"], "properties": {
                "images": {"type": "array", "description": "one part per image",
                           "items": {"type": "string", "format": "binary"}},
                "char_probs": {"type": "boolean", "default": False}}},
            "encoding": {"images": {"contentType": "image/*"}}},
        "application/json": {
            "schema": {"$ref": "#/components/schemas/RecognizeRequest"},
            "examples": {"one image": {"value": {
                "images": [{"name": "line1.png", "data": _EXAMPLE_PNG}], "char_probs": True}}}},
    }}}


def _ocr_openapi() -> dict[str, Any]:
    """The request body of ``POST /v1/ocr``: one file, as a multipart part or the raw body."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["page"], "properties": {
                "page": {"type": "string", "format": "binary",
                         "description": "one page image or a PDF (any field name)"}}}},
        "image/png": binary, "image/jpeg": binary, "image/tiff": binary,
        "application/pdf": binary, "application/octet-stream": binary}}}


def page_result(page: Any, image: np.ndarray | None = None) -> dict[str, Any]:
    """One :class:`crnn.ocr.Page` as ``/v1/ocr`` returns it (``image``: the page pixels to
    embed as a JPEG data: URL)."""
    lines = []
    for b, block in enumerate(page.blocks):
        for ln in block.lines:
            lines.append({"text": ln.text, "confidence": ln.confidence,
                          "box": [int(v) for v in ln.box],
                          "quad": [[float(x), float(y)] for x, y in ln.quad], "block": b})
    out = {"number": page.number, "width": page.width, "height": page.height,
           "rotation": page.rotation, "skew": page.skew, "lines": lines}
    if image is not None:
        import cv2

        bgr = image[:, :, ::-1] if image.ndim == 3 else image
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            out["image"] = "data:image/jpeg;base64," + base64.b64encode(buf).decode("ascii")
    return out


def _web_file(name: str) -> bytes:
    return resources.files("crnn").joinpath("web", name).read_bytes()


# --------------------------------------------------------------------------- the app
def create_app(recognizer: "Recognizer", settings: ServeSettings | None = None) -> "FastAPI":
    """The FastAPI app serving ``recognizer`` (built once, by the caller) under ``settings``.

    Routes: ``GET /`` (the page, its ``app.js`` and ``style.css``), ``GET /healthz``,
    ``GET /v1/model``, ``POST /v1/recognize``, ``POST /v1/ocr``, ``GET /openapi.json``.
    """
    from contextlib import asynccontextmanager

    from fastapi import Depends, FastAPI, HTTPException, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import ValidationError

    from . import __version__

    settings = settings or ServeSettings()
    models = api_models()
    channels = recognizer.preprocess.channels
    batcher = MicroBatcher(lambda images, names: recognizer.recognize(images, names),
                           window_s=settings.batch_window_ms / 1000.0,
                           max_batch=settings.max_batch,
                           max_concurrency=settings.max_concurrency,
                           max_queue=settings.max_queue, batching=settings.batching)
    pages = PageQueue(settings.page_concurrency, settings.page_queue)
    web = {name: _web_file(name) for name in _WEB_FILES}
    counts = {"requests": 0}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await batcher.aclose()
        pages.close()

    app = FastAPI(
        title="crnn text-line recognition", version=__version__, lifespan=lifespan,
        description="Reads printed Chinese and English text lines. Send one or many line "
                    "images as multipart/form-data parts or base64 in JSON.",
        docs_url=None, redoc_url=None)  # their pages load scripts from a CDN
    app.state.recognizer = recognizer
    app.state.settings = settings
    app.state.batcher = batcher
    app.state.pages = pages

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    bearer = HTTPBearer(auto_error=False, description="only when started with --token")

    async def authorize(
            creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        if settings.token is None:
            return
        given = creds.credentials if creds is not None else ""
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            raise HTTPException(401, "missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    errors = {code: {"model": models.ErrorBody, "description": text} for code, text in (
        (401, "no or wrong bearer token (only when the server has one)"),
        (413, "request body, image count or an image's pixel count over the limit"),
        (415, "not multipart/form-data or JSON, or (single image) not an image"),
        (422, "malformed body, or (single image) an undecodable image"),
        (503, "too many images or pages waiting; retry after Retry-After seconds"))}

    # ---- page
    def page_route(name: str, media_type: str) -> None:
        async def serve_file() -> Response:
            return Response(web[name], media_type=media_type, headers={
                "Content-Security-Policy": _PAGE_CSP, "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache"})

        path = "/" if name == "index.html" else f"/{name}"
        app.add_api_route(path, serve_file, methods=["GET"], include_in_schema=False)

    for name, media_type in _WEB_FILES.items():
        page_route(name, media_type)

    # ---- API
    @app.get("/healthz", response_model=models.Health, tags=["service"],
             summary="liveness: the model is loaded and the server answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/model", response_model=models.ModelInfo, tags=["recognition"],
             dependencies=[Depends(authorize)], responses={401: errors[401]},
             summary="the loaded model, the limits and batching in force")
    async def model_info() -> dict[str, Any]:
        pre = recognizer.preprocess
        return {
            "name": settings.model_name, "charset_size": len(recognizer.charset),
            "input_height": pre.height, "fixed_width": pre.width, "channels": pre.channels,
            "backend": getattr(recognizer, "backend", "torch"),
            "device": str(recognizer.device),
            "limits": {"max_request_bytes": settings.max_request_bytes,
                       "max_images": settings.max_images, "max_pixels": settings.max_pixels,
                       "max_queue": settings.max_queue,
                       "page_max_pixels": settings.page_max_pixels,
                       "max_pages": settings.max_pages, "page_dpi": settings.page_dpi,
                       "max_dpi": settings.max_dpi,
                       "page_concurrency": settings.page_concurrency,
                       "page_queue": settings.page_queue},
            "batching": {"enabled": settings.batching, "window_ms": settings.batch_window_ms,
                         "max_batch": settings.max_batch,
                         "max_concurrency": settings.max_concurrency},
            "stats": {"requests": counts["requests"], "inferences": batcher.inferences,
                      "images": batcher.images, "pages": pages.pages}}

    def prepare(body: bytes, media: str, content_type: str) -> tuple[list[_Item], bool]:
        """Parse the body and decode every image (runs in a thread)."""
        if media == "multipart/form-data":
            items, char_probs = parse_multipart(body, content_type, settings.max_images)
        else:
            try:
                req = models.RecognizeRequest.model_validate_json(body)
            except ValidationError as exc:
                raise RequestValidationError(
                    exc.errors(include_url=False, include_input=False)) from exc
            char_probs = req.char_probs
            items = []
            for i, img in enumerate(req.images):
                label = f"images[{i}]" + (f' ("{img.name}")' if img.name else "")
                item = _Item(label, img.name or f"image {i}")
                try:
                    item.data = _b64(img.data, label)
                except ServeError as exc:
                    item.error = exc
                items.append(item)
        if not items:
            raise ServeError(422, "the request holds no images: send one or more image parts")
        if len(items) > settings.max_images:
            raise ServeError(413, f"{len(items)} images in one request, over the limit of "
                                  f"{settings.max_images} (--max-images)")
        for item in items:
            if item.error is None:
                try:
                    item.image = check_and_decode(item.data or b"", item.label,
                                                  settings.max_pixels, channels)
                except ServeError as exc:
                    item.error = exc
            item.data = None
        if len(items) == 1 and items[0].error is not None:
            raise items[0].error  # a single-image request fails with that image's status
        return items, char_probs

    @app.post(
        "/v1/recognize", response_model=models.RecognizeResponse,
        response_model_exclude_none=True, tags=["recognition"],
        dependencies=[Depends(authorize)], openapi_extra=_recognize_openapi(),
        responses=errors, summary="read the text of one or many line images",
        description="Send images as multipart/form-data parts (any field name, e.g. "
                    "`images`) or as JSON with base64 data. Results come back in order. In "
                    "a request with several images, a bad image gets its own `error` and "
                    "`status` and the others are still read; a request with a single bad "
                    "image fails with that status.")
    async def recognize(
        request: Request,
        char_probs: bool = Query(False, description="add each character's probability"),
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in ("multipart/form-data", "application/json"):
            raise ServeError(415, f"unsupported content type {media or '(none)'!r}: send "
                                  "multipart/form-data (image parts) or application/json "
                                  "(base64 images)")
        body = await read_body(request, settings.max_request_bytes)
        items, form_char_probs = await asyncio.to_thread(prepare, body, media, content_type)
        del body
        counts["requests"] += 1
        good = [item for item in items if item.image is not None]
        readings = await batcher.submit([item.image for item in good],  # type: ignore[misc]
                                        [item.name for item in good])
        by_item = dict(zip(map(id, good), readings, strict=True))
        with_probs = char_probs or form_char_probs
        results = []
        for item in items:
            if item.error is not None:
                results.append({"name": item.name, "text": "", "confidence": 0.0,
                                "error": item.error.message, "status": item.error.status})
                continue
            r = by_item[id(item)]
            out = {"name": item.name, "text": r.text, "confidence": round(r.confidence, 6)}
            if with_probs:
                out["char_probs"] = [round(p, 6) for p in r.char_probs]
            if r.error:
                out.update(error=r.error, status=422)
            results.append(out)
        return {"model": settings.model_name, "results": results,
                "elapsed_ms": round((time.perf_counter() - t0) * 1000, 3)}

    def read_document(data: bytes, name: str, dpi: int, page: int | None,
                      json_out: bool, with_image: bool) -> tuple[list[Any], int]:
        """Rasterise and read an uploaded document (runs in a page thread): its pages as
        ``/v1/ocr`` JSON dicts (``json_out``) or :class:`crnn.ocr.Page` objects."""
        from .ocr import document_pages, read_page

        try:
            images, total = document_pages(data, name, dpi, settings.page_max_pixels,
                                           settings.max_pages, page)
        except (ImageTooLargeError, TooManyPagesError) as exc:
            raise ServeError(413, f"{exc} (--page-max-pixels, --max-pages)") from exc
        except NotAnImageError as exc:
            raise ServeError(415, f"{exc}; send one page image ({IMAGE_FORMATS}) or a "
                                  "PDF") from exc
        except (ConfigError, DatasetError) as exc:
            raise ServeError(422, str(exc)) from exc
        out = []
        first = page or 1
        for k in range(len(images)):
            img = images[k]
            result = read_page(img, recognizer, number=first + k)
            result.source = name
            out.append(page_result(result, img if with_image else None) if json_out
                       else result)
            images[k] = None  # type: ignore[call-overload]  # free the pixels early
            pages.pages += 1
        return out, total

    @app.post(
        "/v1/ocr", response_model=models.OcrResponse, response_model_exclude_none=True,
        tags=["pages"], dependencies=[Depends(authorize)], openapi_extra=_ocr_openapi(),
        responses=errors, summary="read every line of a page image or a PDF",
        description="Send one page image (PNG, JPEG, TIFF, multi-page TIFF, ...) or a PDF, "
                    "as the only file part of a multipart/form-data body or as the raw body "
                    "(Content-Type image/... or application/pdf). The lines come back in "
                    "reading order with their boxes and quadrilaterals in the uploaded "
                    "page's pixels; `format=txt|hocr|alto` returns those formats instead of "
                    "JSON. The same reading as `crnn ocr`.",
        response_description="JSON (default), text/plain, hOCR (XHTML) or ALTO XML")
    async def ocr(
        request: Request,
        format: str = Query("json", description="json, txt, hocr or alto"),
        page: int | None = Query(None, ge=1, description="read only this page (from 1) "
                                                        "of a PDF or multi-page TIFF"),
        dpi: int | None = Query(None, description="PDF rasterising resolution (default: "
                                                  "the server's --page-dpi)"),
        image: bool = Query(False, description="JSON only: add each page as read, as a "
                                               "JPEG data: URL (for PDFs and TIFFs)"),
    ) -> Any:
        t0 = time.perf_counter()
        if format not in PAGE_FORMATS:
            raise ServeError(422, f"format {format!r}: choose one of {', '.join(PAGE_FORMATS)}")
        dpi = settings.page_dpi if dpi is None else dpi
        if not 50 <= dpi <= settings.max_dpi:
            raise ServeError(422, f"dpi {dpi}: give 50..{settings.max_dpi} (the server's "
                                  "--max-dpi)")
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if not (media == "multipart/form-data" or media.startswith("image/")
                or media in ("application/pdf", "application/octet-stream")):
            raise ServeError(415, f"unsupported content type {media or '(none)'!r}: send the "
                                  "page as a multipart/form-data file part, or as the raw "
                                  "body with Content-Type image/... or application/pdf")
        body = await read_body(request, settings.max_request_bytes)
        name = "the uploaded page"
        if media == "multipart/form-data":
            try:
                items, _ = await asyncio.to_thread(parse_multipart, body, content_type, 1)
            except ServeError as exc:
                if exc.status != 413:
                    raise
                items = [_Item("", ""), _Item("", "")]
            if len(items) != 1:
                raise ServeError(422, f"{len(items)} file parts: send one page image or one "
                                      "PDF per request")
            name = f'"{items[0].name}"' if items[0].name else name
            body = items[0].data or b""
        if not body:
            raise ServeError(422, f"{name} is empty (0 bytes): send a page image or a PDF")
        counts["requests"] += 1
        result, total = await pages.run(functools.partial(
            read_document, body, name, dpi, page, format == "json", image))
        del body
        if format == "json":
            return {"model": settings.model_name, "page_count": total, "pages": result,
                    "elapsed_ms": round((time.perf_counter() - t0) * 1000, 3)}
        from .ocr import formats

        doc = result
        if format == "txt":
            return Response(formats.to_text(doc), media_type="text/plain; charset=utf-8")
        if format == "hocr":
            return Response(formats.to_hocr(doc, "upload"),
                            media_type="application/xhtml+xml; charset=utf-8")
        return Response(formats.to_alto(doc, "upload"), media_type="application/xml; "
                                                                  "charset=utf-8")

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            req = models.RecognizeRequest.model_json_schema(
                ref_template="#/components/schemas/{model}")
            comps.update(req.pop("$defs", {}))
            comps["RecognizeRequest"] = req
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def read_body(request: Any, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_big = f"request body over the limit of {limit} bytes (--max-request-bytes)"
    if declared is not None:
        try:
            if int(declared) > limit:
                raise ServeError(413, too_big)
        except ValueError:
            raise ServeError(422, f"bad Content-Length {declared[:40]!r}") from None
    from starlette.requests import ClientDisconnect

    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ServeError(413, too_big)
            chunks.append(chunk)
    except ClientDisconnect:
        client = request.client.host if request.client else "client"
        _log.info("%s disconnected after sending %d bytes of %s; request dropped", client,
                  size, request.url.path)
        raise ServeError(499, "client disconnected during the upload") from None
    return b"".join(chunks)


def guarded_h11(header_timeout: float, body_timeout: float) -> type:
    """uvicorn's h11 protocol with two deadlines, so that slow or idle clients cannot hold
    connections (and with them the service) open: a request's headers must arrive within
    ``header_timeout`` seconds of connecting or of the previous response, and its body
    within ``body_timeout`` seconds of its headers. A late connection is closed with one
    log line."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self, seconds: float, what: str) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expire, seconds, what)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self, seconds: float, what: str) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
                _log.info("closing the connection from %s: no complete request %s within "
                          "%g s", client, what, seconds)
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(header_timeout, "headers")

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                if not cycle.more_body:
                    self._disarm()  # the whole request is in: the app has it
                elif cycle is not before:
                    self._arm(body_timeout, "body")

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm(header_timeout, "headers")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol


# --------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crnn serve`` (the root CLI adds them to its subparser)."""
    d = ServeSettings()
    parser.add_argument("--model", default="default",
                        help="checkpoint or .onnx path ('default': the bundled model, when "
                             "this build has one)")
    parser.add_argument("--model-name", help="name shown by /v1/model (default: file name)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"require 'Authorization: Bearer TOKEN' on /v1/ routes "
                             f"(default: ${TOKEN_ENV}, if set)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="allow browser calls from this origin (repeatable; none by "
                             "default)")
    parser.add_argument("--batch-window-ms", type=float, default=d.batch_window_ms,
                        help="how long a batch waits for more requests (default %(default)s)")
    parser.add_argument("--max-batch", type=int, default=d.max_batch,
                        help="images per gathered batch (default %(default)s)")
    parser.add_argument("--no-batching", action="store_true",
                        help="run every request on its own (no micro-batching)")
    parser.add_argument("--max-concurrency", type=int, default=d.max_concurrency,
                        help="recognize calls at once (default %(default)s)")
    parser.add_argument("--max-queue", type=int, default=d.max_queue,
                        help="images waiting before requests get 503 (default %(default)s)")
    parser.add_argument("--max-request-bytes", type=int, default=d.max_request_bytes,
                        help="largest request body (default %(default)s)")
    parser.add_argument("--max-images", type=int, default=d.max_images,
                        help="images per request (default %(default)s)")
    parser.add_argument("--max-pixels", type=int, default=d.max_pixels,
                        help="pixels (width x height) per image (default %(default)s)")
    parser.add_argument("--page-max-pixels", type=int, default=d.page_max_pixels,
                        help="pixels per page for /v1/ocr (default %(default)s)")
    parser.add_argument("--max-pages", type=int, default=d.max_pages,
                        help="pages of one PDF or TIFF read per /v1/ocr request (default "
                             "%(default)s)")
    parser.add_argument("--page-dpi", type=int, default=d.page_dpi,
                        help="resolution PDFs are rasterised at (default %(default)s)")
    parser.add_argument("--max-dpi", type=int, default=d.max_dpi,
                        help="highest ?dpi= a request may ask for (default %(default)s)")
    parser.add_argument("--page-concurrency", type=int, default=d.page_concurrency,
                        help="pages read at once (default %(default)s)")
    parser.add_argument("--page-queue", type=int, default=d.page_queue,
                        help="page requests waiting before 503 (default %(default)s)")
    parser.add_argument("--max-connections", type=int, default=512,
                        help="open connections before uvicorn answers 503 (default "
                             "%(default)s)")
    parser.add_argument("--header-timeout", type=float, default=10.0,
                        help="seconds a client has to send a request's headers, from "
                             "connecting or from the previous response (default %(default)s)")
    parser.add_argument("--body-timeout", type=float, default=60.0,
                        help="seconds a client has to send a request's body after its "
                             "headers (default %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--batch-size", type=int, default=64,
                        help="lines per forward pass inside the Recognizer")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"))


def settings_from_args(args: argparse.Namespace, model_name: str) -> ServeSettings:
    return ServeSettings(
        model_name=args.model_name or model_name, max_request_bytes=args.max_request_bytes,
        max_images=args.max_images, max_pixels=args.max_pixels, max_queue=args.max_queue,
        max_concurrency=args.max_concurrency, batching=not args.no_batching,
        batch_window_ms=args.batch_window_ms, max_batch=args.max_batch,
        token=args.token or None, cors_origins=tuple(args.cors_origin),
        page_max_pixels=args.page_max_pixels, max_pages=args.max_pages,
        page_dpi=args.page_dpi, max_dpi=args.max_dpi,
        page_concurrency=args.page_concurrency, page_queue=args.page_queue)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """``crnn serve``: load the model once, then serve until interrupted."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise ConfigError(f"crnn serve needs FastAPI, uvicorn and python-multipart ({exc}): "
                          "pip install 'crnn[serve]'") from exc
    from .recognizer import Recognizer, resolve_model_path

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port (1..65535)")
    for flag in ("header_timeout", "body_timeout"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"--{flag.replace('_', '-')} must be a positive number of "
                              f"seconds, not {value}")
    if str(args.model) == "default":
        try:
            resolve_model_path("default")
        except CrnnError as exc:
            raise ConfigError(f"crnn serve needs --model PATH: {exc}") from exc
    path = resolve_model_path(args.model)
    settings = settings_from_args(args, path.name)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    recognizer = Recognizer.load(path, device=args.device, batch_size=args.batch_size,
                                 backend=args.backend,
                                 decoder=getattr(args, "decoder_config", None))
    # One pass before listening, so the first request does not pay for lazy start-up work.
    recognizer.recognize([np.full((recognizer.preprocess.height, 128), 255, np.uint8)],
                         ["warm-up"])
    app = create_app(recognizer, settings)
    if not _is_loopback(args.host) and settings.token is None:
        print(f"crnn serve: warning: listening on {args.host} without --token: anyone who "
              "can reach this port can use the service", file=sys.stderr)
    print(f"crnn serve: {settings.model_name} ({recognizer.backend}, {recognizer.device}) on "
          f"http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            limit_concurrency=args.max_connections, server_header=False,
                            timeout_keep_alive=5,
                            http=guarded_h11(args.header_timeout, args.body_timeout))
    uvicorn.Server(config).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m crnn.serve ...``: the same as ``crnn serve ...``."""
    parser = argparse.ArgumentParser(
        prog="crnn serve", description="HTTP recognition service and web page.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  crnn serve --model runs/demo/best.pt\n"
               "  crnn serve --model best.pt --host 0.0.0.0 --token \"$TOKEN\"\n"
               "  curl -F images=@line.png http://127.0.0.1:8000/v1/recognize")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except CrnnError as exc:
        print(f"crnn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The service's settings, limits and errors."""

import logging
from dataclasses import dataclass, field

from ..errors import (
    ConfigError,
    CrnnError,
)

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
        from ..data.images import MAX_DPI, MIN_DPI

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

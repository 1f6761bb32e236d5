"""The FastAPI app: routes for lines, pages, the web page and the schema, in front of one
``Recognizer``; and the HTTP/1.1 protocol guard against slow clients."""

import asyncio
import functools
import hmac
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import (
    ConfigError,
    DatasetError,
    ImageTooLargeError,
    NotAnImageError,
    TooManyPagesError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..recognizer import Recognizer

from .batcher import MicroBatcher, PageQueue
from .schemas import _ocr_openapi, _recognize_openapi, api_models, page_result
from .settings import (
    _PAGE_CSP,
    _WEB_FILES,
    IMAGE_FORMATS,
    PAGE_FORMATS,
    ServeError,
    ServeSettings,
    _log,
)
from .uploads import _b64, _Item, check_and_decode, parse_multipart


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

    from .. import __version__

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
        from ..ocr import document_pages, read_page

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
        from ..ocr import formats

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

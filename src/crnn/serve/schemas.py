"""The API's pydantic schemas, OpenAPI examples, and the JSON form of a read page."""

import base64
import functools
import types
from typing import Any

import numpy as np

from .settings import _EXAMPLE_PNG


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

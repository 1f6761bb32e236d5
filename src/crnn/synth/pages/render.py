"""Documents to page images: LibreOffice (FODT -> PDF) and poppler (PDF -> grey PNG, word
boxes) run as subprocesses, the scan degradation applied, and each page's lines cut."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

from ...errors import DatasetError
from .cutting import (
    _bbox_pages,
    _crop_boxes,
    _document_order,
    _ink_crops,
    _PageOut,
    _Source,
    _trim_pads,
)
from .style import _Degrade, _draw_degrade, _need
from .templates import (
    Document,
    document_lines,
)


def _degrade_page(img: Any, d: _Degrade, seed: int) -> tuple[Any, Any]:
    """Apply ``d`` to a grey page; returns (page, 2x3 matrix from clean to degraded pixels)."""
    import cv2
    import numpy as np

    h, w = img.shape
    rng = np.random.default_rng(seed)
    page = (d.ink + (d.paper - d.ink) * (img.astype(np.float32) / 255.0))
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), d.angle, 1.0)
    page = cv2.warpAffine(page, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=float(d.paper))
    if d.blur > 0:
        page = cv2.GaussianBlur(page, (0, 0), d.blur)
    page += rng.normal(0.0, d.noise, page.shape).astype(np.float32)
    out = np.clip(page + 0.5, 0, 255).astype(np.uint8)
    if d.jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        if not ok:
            raise DatasetError("OpenCV could not JPEG-encode a page")
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out, m


def _render_pdf(pdf: Path, doc: Document, style: dict[str, Any], index: int,
                work: Path, keep: Path | None, crop_rule: str = "box") -> list[_PageOut]:
    """Rasterise one PDF and cut its verified lines."""
    import cv2
    import numpy as np

    dpi = int(style["dpi"])
    prefix = work / f"p{index:06d}"
    _run([_need("pdftoppm"), "-r", str(dpi), "-gray", "-png", str(pdf), str(prefix)], pdf)
    html_path = work / f"p{index:06d}.html"
    _run([_need("pdftotext"), "-bbox-layout", "-enc", "UTF-8", str(pdf), str(html_path)], pdf)
    pages = _bbox_pages(html_path.read_text(encoding="utf-8"), pdf)
    images = sorted(work.glob(f"p{index:06d}-*.png"), key=lambda p: int(p.stem.rsplit("-")[1]))
    if len(images) != len(pages):
        raise DatasetError(f"{pdf}: pdftoppm made {len(images)} pages, pdftotext saw "
                           f"{len(pages)}")
    source = _Source(document_lines(doc))
    prng = random.Random(int(style["page_seed"]))
    out: list[_PageOut] = []
    for page_no, (img_path, segs) in enumerate(zip(images, pages, strict=True), 1):
        img = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DatasetError(f"cannot read the page image {img_path} pdftoppm wrote")
        img_path.unlink()
        h, w = img.shape
        scale = dpi / 72.0
        taken: set[tuple[int, int]] = set()
        positions: list[tuple[int, int] | None] = []
        after = None
        for s in segs:
            s.label = source.label_of(s.text)
            pos = source.position_of(s.text, taken, after) if s.label is not None else None
            after = None if pos is None else (pos[0], pos[1] + len(s.text))
            positions.append(pos)
        order = _document_order(positions)
        _crop_boxes(segs, scale, w, h)
        _trim_pads(segs, img, scale)
        if crop_rule != "box":
            _ink_crops(segs, img, prng, 1.0 if crop_rule == "ink" else 0.5)
        deg = _draw_degrade(prng, dpi) if style["pages_degraded"] else None
        if deg is not None:
            img, m = _degrade_page(img, deg, prng.randrange(2**31))
        else:
            m = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        po = _PageOut(index, page_no, {
            "document": index, "page": page_no, "kind": doc.kind, "dpi": dpi,
            "width": w, "height": h,
            "fonts": {"cjk": style["body_cjk"], "latin": style["body_latin"],
                      "title": style["title_cjk"]},
            "degrade": None if deg is None else deg.__dict__, "lines": []})
        for li, s in enumerate(segs):
            x0, y0, x1, y1 = (v * scale for v in s.box)
            poly = [[float(m[0, 0] * x + m[0, 1] * y + m[0, 2]),
                     float(m[1, 0] * x + m[1, 1] * y + m[1, 2])]
                    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            xs, ys = [p[0] for p in poly], [p[1] for p in poly]
            po.record["lines"].append({
                "text": s.label if s.label is not None else s.text,
                "verified": s.label is not None,
                "order": order[li],
                "box": [round(min(xs), 1), round(min(ys), 1), round(max(xs), 1),
                        round(max(ys), 1)],
                "poly": [[round(a, 1), round(b, 1)] for a, b in poly]})
            if s.label is None:
                po.rejected.append(s.text)
                continue
            cx0, cy0, cx1, cy1 = s.px
            if cx1 - cx0 < 4 or cy1 - cy0 < 6:
                po.rejected.append(s.text)
                po.record["lines"][-1]["verified"] = False
                continue
            if deg is None:
                crop = img[cy0:cy1, cx0:cx1]
            else:
                a = np.array([[m[0, 0], m[0, 1], m[0, 0] * cx0 + m[0, 1] * cy0 + m[0, 2]],
                              [m[1, 0], m[1, 1], m[1, 0] * cx0 + m[1, 1] * cy0 + m[1, 2]]])
                crop = cv2.warpAffine(img, a, (cx1 - cx0, cy1 - cy0),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_REPLICATE)
            ok, buf = cv2.imencode(".png", crop)
            if not ok:
                raise DatasetError("OpenCV could not PNG-encode a line crop")
            po.crops.append((buf.tobytes(), s.label, li))
        if keep is not None:
            po.image_path = keep / f"doc{index:05d}-{page_no}.png"
            if not cv2.imwrite(str(po.image_path), img):
                raise DatasetError(f"cannot write {po.image_path}")
        out.append(po)
    return out


def _run(cmd: list[str], what: Path, timeout: float = 120.0) -> None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DatasetError(f"{Path(cmd[0]).name} took over {timeout:.0f} s on {what}") from exc
    if res.returncode != 0:
        raise DatasetError(f"{Path(cmd[0]).name} failed on {what} (exit {res.returncode}): "
                           f"{res.stderr.strip()[-500:]}")

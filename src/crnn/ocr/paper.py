"""The sheet of paper in a photo: found by its outline against the background and
flattened (perspective-corrected) before layout analysis.

A scan or a clean page image is all paper, or has no four-cornered bright region clearly
brighter than what surrounds it; such images are left as they are.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["find_paper", "flatten"]

# the sheet must cover this share of the photo (smaller: a card or a label, not a page)
_MIN_AREA = 0.2
# and leave this much outside it (a sheet filling the frame needs no flattening)
_MAX_AREA = 0.97
# grey levels by which the sheet must be brighter than the background just around it
_MIN_CONTRAST = 25.0


def find_paper(grey: np.ndarray) -> np.ndarray | None:
    """The four corners (float32, 4 x 2: top left, top right, bottom right, bottom left)
    of the sheet in a photo, in ``grey``'s pixels; None when the image shows no sheet
    against a darker background."""
    h, w = grey.shape
    scale = 800.0 / max(h, w) if max(h, w) > 800 else 1.0
    small = cv2.resize(grey, (max(1, int(w * scale)), max(1, int(h * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else grey
    sh, sw = small.shape
    blur = cv2.GaussianBlur(small, (7, 7), 0)
    level, bright = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # bright specks of the background go; the text's holes do not matter, only the
    # sheet's outer outline is looked at
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    k = max(5, (min(sh, sw) // 40) | 1)
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(sheet)
    if not _MIN_AREA * sh * sw <= area <= _MAX_AREA * sh * sw:
        return None
    hull = cv2.convexHull(sheet)
    quad = None
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float32)
            break
    if quad is None or not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return None
    # a sheet is much brighter than the background around it (a scan's grey margin or a
    # shadowed edge is not)
    inside = np.zeros_like(small)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    ring = cv2.dilate(inside, np.ones((k * 3, k * 3), np.uint8)) & ~inside
    if not ring.any() or float(np.median(small[inside > 0])) - float(
            np.median(small[ring > 0])) < _MIN_CONTRAST:
        return None
    return _order(quad / scale)


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as top left, top right, bottom right, bottom left."""
    s = pts.sum(axis=1)
    d = pts[:, 0] - pts[:, 1]
    return np.array([pts[np.argmin(s)], pts[np.argmax(d)], pts[np.argmax(s)],
                     pts[np.argmin(d)]], dtype=np.float32)


def flatten(img: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sheet inside ``quad`` warped to an upright rectangle of its own size. Returns
    (image, the 3x3 homography from ``img``'s coordinates to the flattened image's)."""
    tl, tr, br, bl = quad
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    out = cv2.warpPerspective(img, m, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    return out, m

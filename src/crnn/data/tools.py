"""``crnn dataset create | info | verify | export``: build, inspect and check LMDB datasets."""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..charset import Charset
from ..errors import DatasetError
from .images import decode_image
from .labels import count_lines, iter_label_file
from .lmdb import LmdbReader, LmdbWriter
from .outputs import check_out, mark, swap_into_place

__all__ = ["CreateReport", "create_dataset", "dataset_info", "verify_dataset", "export_dataset"]


@dataclass
class CreateReport:
    out: Path
    written: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    examples: list[str] = field(default_factory=list)  # the first skipped lines, in full

    def skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < 20:
            self.examples.append(detail)


def create_dataset(labels: str | Path, images_root: str | Path | None, out: str | Path,
                   fmt: str = "auto", charset: Charset | None = None, oov: str = "error",
                   overwrite: bool = False, check_images: bool = True,
                   progress: bool = True) -> CreateReport:
    """Stream a label file into an LMDB (constant memory), skipping and reporting bad lines.

    Images are checked to decode (``check_images``); labels with characters outside
    ``charset`` follow ``oov`` (``error`` stops, leaving nothing behind).
    """
    labels = Path(labels)
    root = Path(images_root) if images_root is not None else labels.parent
    report = CreateReport(Path(out))
    total = count_lines(labels) if progress else None
    bar = tqdm(total=total, unit="line", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    with LmdbWriter(out, overwrite=overwrite) as writer:
        for e in iter_label_file(labels, fmt, charset):
            bar.update(1)
            if e.error:
                report.skip("bad label line", e.error)
                continue
            path = root / e.image
            where = f"{labels}:{e.lineno} ({e.image})"
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.skip("missing image", f"{where}: cannot read {path} ({exc.strerror})")
                continue
            if check_images:
                try:
                    decode_image(data, 1, name=str(path))
                except DatasetError as exc:
                    report.skip("undecodable image", f"{where}: {exc}")
                    continue
            label = e.label
            if charset is not None:
                enc = charset.encode(label, oov, where=where)
                if enc is None:
                    report.skip("character outside the charset",
                                f"{where}: {label!r} has {''.join(charset.missing(label))!r}")
                    continue
                if oov == "drop-char":
                    label = "".join(ch for ch in label if ch in charset)
                    if not label:
                        report.skip("empty after dropping characters", f"{where}: {e.label!r}")
                        continue
            writer.add(data, label)
            report.written += 1
        bar.close()
        if report.written == 0:
            raise DatasetError(
                f"no usable samples in {labels} ({sum(report.skipped.values())} skipped: "
                + "; ".join(report.examples[:3]) + "); nothing written"
            )
    return report


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (OSError, ValueError):
        return None


def dataset_info(path: str | Path, charset: Charset | None = None,
                 max_images: int = 5000, seed: int = 0) -> dict:
    """Counts, label-length histogram, characters outside ``charset`` and image sizes (read
    from headers of up to ``max_images`` samples chosen at random)."""
    r = LmdbReader(path)
    n = len(r)
    lengths: Counter = Counter()
    chars: Counter = Counter()
    for i in range(n):
        label = r.label(i)
        lengths[len(label)] += 1
        chars.update(label)
    outside = {c: k for c, k in chars.most_common() if charset is not None and c not in charset}
    idx = np.arange(n)
    if n > max_images:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_images, replace=False))
    sizes = []
    unreadable = 0
    for i in idx:
        try:
            data, _ = r.get(int(i))
        except DatasetError:
            unreadable += 1
            continue
        s = _image_size(data)
        if s is None:
            unreadable += 1
        else:
            sizes.append(s)
    info: dict = {
        "path": str(path), "samples": n, "first_key": r.first_key,
        "label_length": {"min": min(lengths, default=0), "max": max(lengths, default=0),
                         "mean": (sum(k * v for k, v in lengths.items()) / n) if n else 0,
                         "histogram": dict(sorted(lengths.items()))},
        "distinct_characters": len(chars),
        "images_checked": len(idx), "unreadable_headers": unreadable,
    }
    if sizes:
        a = np.array(sizes)
        info["image_width"] = _stats(a[:, 0])
        info["image_height"] = _stats(a[:, 1])
    if charset is not None:
        info["charset"] = charset.name
        info["outside_charset"] = outside
    return info


def _stats(a: np.ndarray) -> dict:
    return {"min": int(a.min()), "p50": float(np.median(a)), "mean": round(float(a.mean()), 1),
            "max": int(a.max())}


def verify_dataset(path: str | Path, charset: Charset | None = None,
                   progress: bool = True) -> tuple[int, list[tuple[int, str]]]:
    """Decode every image and check every label; returns (samples, [(key, reason), ...])."""
    r = LmdbReader(path)
    bad: list[tuple[int, str]] = []
    for i in tqdm(range(len(r)), unit="sample", disable=not progress, file=sys.stderr):
        key = r.key_of(i)
        try:
            data, label = r.get(i)
        except DatasetError as exc:
            bad.append((key, str(exc)))
            continue
        try:
            decode_image(data, 1, name=f"sample {key}")
        except DatasetError:
            bad.append((key, f"image does not decode ({len(data)} bytes)"))
        if not label:
            bad.append((key, "empty label"))
        elif charset is not None and charset.missing(label):
            bad.append((key, f"label {label!r} has characters outside charset "
                             f"{charset.name}: {''.join(charset.missing(label))!r}"))
    return len(r), bad


def _suffix(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"BM"):
        return ".bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ".tif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return ".webp"
    return ".bin"


def export_dataset(path: str | Path, out: str | Path, overwrite: bool = False,
                   progress: bool = True) -> int:
    """Write the images as files plus ``labels.tsv`` (``images/000000001.png<TAB>label``)
    into ``out``; built in a temporary folder and renamed into place."""
    r = LmdbReader(path)
    out = check_out(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        mark(tmp)
        (tmp / "images").mkdir()
        with (tmp / "labels.tsv").open("w", encoding="utf-8", newline="\n") as f:
            for i in tqdm(range(len(r)), unit="sample", disable=not progress, file=sys.stderr):
                data, label = r.get(i)
                name = f"images/{r.key_of(i):09d}{_suffix(data)}"
                (tmp / name).write_bytes(data)
                f.write(f"{name}\t{label}\n")
        swap_into_place(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(r)

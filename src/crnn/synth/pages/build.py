"""``render_pages``: documents drawn in worker threads and their lines written to an LMDB or a
folder, with the pages kept on request; the ``--text`` file read."""

from __future__ import annotations

import json
import queue
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...data.outputs import check_out
from ...errors import ConfigError, DatasetError
from ..generate import FolderWriter
from .cutting import _PageOut
from .fodt import document_to_fodt
from .render import _render_pdf, _run
from .style import (
    _SOFFICE_TIMEOUT,
    CROPS,
    FONT_SETS,
    _font_table,
    _need,
    available_fonts,
    document_style,
)
from .templates import (
    fill_text,
    make_document,
)

# --------------------------------------------------------------------------- workers

class _Job:
    """Shared state of one run: tools, fonts, profiles for concurrent soffice calls."""

    def __init__(self, seed: int, dpis: Sequence[int], degrade: float, workers: int,
                 work: Path, keep: Path | None, text: Sequence[str] | None = None,
                 font_set: str = "all", crop: str = "box") -> None:
        self.seed, self.dpis, self.degrade = seed, list(dpis), degrade
        self.work, self.keep, self.text, self.crop = work, keep, text, crop
        self.soffice = _need("soffice", "libreoffice")
        _need("pdftoppm")
        _need("pdftotext")
        self.fonts = _font_table(available_fonts(), font_set)
        self.profiles: queue.Queue[Path] = queue.Queue()
        for i in range(workers):
            p = work / f"profile{i}"
            p.mkdir()
            self.profiles.put(p)

    def chunk_or_skip(self, indices: list[int]) -> tuple[list[_PageOut], list[str]]:
        """:meth:`chunk`, tried twice (a tool can time out on a busy machine); documents
        that still fail are skipped: (pages, one message per skipped document)."""
        try:
            return self.chunk(indices)
        except DatasetError:
            try:
                return self.chunk(indices)
            except DatasetError as exc:
                return [], [f"documents {indices[0]}-{indices[-1]}: {exc}"]

    def chunk(self, indices: list[int]) -> tuple[list[_PageOut], list[str]]:
        """Render documents ``indices``: one soffice call for all, then each PDF. A
        document LibreOffice makes no PDF of, or poppler fails on twice, is left out,
        with a message. LibreOffice failing on the whole chunk (an error, a time-out, no
        PDF at all) is an error, which :meth:`chunk_or_skip` meets with a second try;
        documents poppler failed on have had theirs already."""
        d = self.work / f"chunk{indices[0]:06d}"
        shutil.rmtree(d, ignore_errors=True)  # a second try starts clean
        d.mkdir()
        docs, styles, files = [], [], []
        for i in indices:
            doc = make_document(self.seed, i)
            if self.text is not None:
                doc = fill_text(doc, self.text, random.Random(f"crnn-pages-text/{self.seed}/{i}"))
            st = document_style(self.seed, i, self.fonts, self.dpis, self.degrade, doc.kind)
            f = d / f"doc{i:06d}.fodt"
            f.write_text(document_to_fodt(doc, st), encoding="utf-8")
            docs.append(doc)
            styles.append(st)
            files.append(f)
        profile = self.profiles.get()
        try:
            cmd = [self.soffice, "--headless", "--norestore", "--nologo", "--nolockcheck",
                   "--nodefault", f"-env:UserInstallation={profile.as_uri()}",
                   "--convert-to", "pdf", "--outdir", str(d), *map(str, files)]
            _run(cmd, d, timeout=_SOFFICE_TIMEOUT)
        finally:
            self.profiles.put(profile)
        out: list[_PageOut] = []
        skipped: list[str] = []
        if not any(f.with_suffix(".pdf").is_file() for f in files):
            raise DatasetError(f"LibreOffice made no PDF from {', '.join(f.name for f in files)}")
        for i, doc, st, f in zip(indices, docs, styles, files, strict=True):
            pdf = f.with_suffix(".pdf")
            if not pdf.is_file():
                skipped.append(f"document {i}: LibreOffice made no PDF from {f.name}")
                continue
            for attempt in (1, 2):  # poppler can time out on a busy machine: once more
                try:
                    out.extend(_render_pdf(pdf, doc, st, i, d, self.keep, self.crop))
                    break
                except DatasetError as exc:
                    if attempt == 2:
                        skipped.append(f"document {i}: {exc}")
        shutil.rmtree(d, ignore_errors=True)
        return out, skipped


# --------------------------------------------------------------------------- API

def render_pages(out: str | Path, pages: int, dpis: Sequence[int] = (150, 200, 300),
                 seed: int = 0, degrade: float = 0.5, keep_pages: str | Path | None = None,
                 workers: int = 1, fmt: str = "lmdb", overwrite: bool = False,
                 chunk_size: int = 4, progress: bool = False,
                 text: str | Path | None = None, fonts: str = "all",
                 crop: str = "box") -> dict[str, Any]:
    """Render ``pages`` pages and write their verified line crops to ``out``.

    ``fmt`` is ``lmdb`` (the standard text-recognition LMDB) or ``folder``
    (``crops/NNNNNN.png`` + ``labels.tsv``). Documents are drawn from ``seed``; the same
    arguments give the same texts and crops whatever ``workers`` is. Returns statistics:
    ``pages``, ``documents``, ``lines``, ``rejected``, ``rejected_examples``,
    ``degraded_pages``, ``skipped``, ``seconds``, ``pages_per_minute``, ``lines_per_page``.
    A document LibreOffice or poppler fails on (an error, or a time-out on a busy
    machine) is tried once more and then skipped with a warning that names it
    (``skipped``: one message each), so one bad document does not lose the others'
    lines; if none renders, the run is an error.
    ``fonts``: ``all`` families, ``train`` (all but :data:`HELD_OUT_FONTS`) or ``heldout``.
    ``crop``: ``box`` (the text box plus a share of its height), ``ink`` (the ink plus
    2-8 px) or ``mixed`` (each line one or the other).
    """
    from ...data.lmdb import LmdbWriter

    t0 = time.perf_counter()
    out = Path(out)
    if pages < 1:
        raise ConfigError(f"--pages must be at least 1, not {pages}")
    if not dpis or any(not 72 <= d <= 600 for d in dpis):
        raise ConfigError(f"--dpi values must lie in 72..600 (150-300 recommended), not "
                          f"{list(dpis)}")
    if not 0.0 <= degrade <= 1.0:
        raise ConfigError(f"--degrade is a probability in 0..1, not {degrade}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    if fonts not in FONT_SETS:
        raise ConfigError(f"--fonts must be one of {', '.join(FONT_SETS)}, not {fonts!r}")
    if crop not in CROPS:
        raise ConfigError(f"--crop must be one of {', '.join(CROPS)}, not {crop!r}")
    if fmt not in ("lmdb", "folder"):
        raise ConfigError(f"--format must be lmdb or folder, not {fmt!r}")
    check_out(out, overwrite)
    text_lines = _read_text(text) if text is not None else None
    keep = Path(keep_pages) if keep_pages is not None else None
    if keep is not None:
        if keep.exists() and not keep.is_dir():
            raise DatasetError(f"--keep-pages {keep} exists and is not a folder")
        old = sorted(keep.glob("doc*-*.png")) + sorted(keep.glob("doc*-*.json"))
        if old and not overwrite:
            raise DatasetError(f"--keep-pages folder {keep} already holds pages ({old[0].name}"
                               " ...); use another folder or pass --overwrite")
        for f in old:
            f.unlink()
        keep.mkdir(parents=True, exist_ok=True)

    stats: dict[str, Any] = {"pages": 0, "documents": 0, "lines": 0, "rejected": 0,
                             "rejected_examples": [], "degraded_pages": 0, "dpi": {},
                             "skipped": []}
    work = Path(tempfile.mkdtemp(prefix="crnn-pages-"))
    writer: Any = None
    try:
        job = _Job(seed, dpis, degrade, workers, work, keep, text_lines, fonts, crop)
        writer = (LmdbWriter(out, overwrite=overwrite) if fmt == "lmdb"
                  else FolderWriter(out, ".png", overwrite, images="crops",
                                 labels="labels.tsv", digits=6, first=1))
        chunks = [list(range(i, min(pages, i + chunk_size))) for i in range(0, pages, chunk_size)]
        bar = _progress(pages, progress)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results: Iterator[tuple[list[_PageOut], list[str]]] = pool.map(
                job.chunk_or_skip, chunks)
            seen_docs: set[int] = set()
            for chunk_pages, skipped in results:
                for message in skipped:
                    print(f"crnn synth pages: warning: skipped {message}", file=sys.stderr)
                stats["skipped"].extend(skipped)
                for po in chunk_pages:
                    if stats["pages"] >= pages:      # a document ran onto more pages
                        if po.image_path is not None:
                            po.image_path.unlink(missing_ok=True)
                        continue
                    _write_page(po, writer, keep, stats)
                    seen_docs.add(po.doc_index)
                    if bar is not None:
                        bar.update(1)
            stats["documents"] = len(seen_docs)
        if bar is not None:
            bar.close()
        if not seen_docs and stats["skipped"]:
            raise DatasetError(f"no document could be rendered: {stats['skipped'][0]}")
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.perf_counter() - t0
    stats["seconds"] = round(secs, 2)
    stats["pages_per_minute"] = round(60.0 * stats["pages"] / secs, 2) if secs else 0.0
    stats["lines_per_page"] = round(stats["lines"] / max(1, stats["pages"]), 2)
    return stats


def _write_page(po: _PageOut, writer: Any, keep: Path | None, stats: dict[str, Any]) -> None:
    stats["pages"] += 1
    stats["degraded_pages"] += po.record["degrade"] is not None
    dpi = str(po.record["dpi"])
    stats["dpi"][dpi] = stats["dpi"].get(dpi, 0) + 1
    stats["rejected"] += len(po.rejected)
    room = 20 - len(stats["rejected_examples"])
    stats["rejected_examples"].extend(po.rejected[:max(0, room)])
    for png, label, li in po.crops:
        po.record["lines"][li]["sample"] = writer.add(png, label) - 1   # 0-based
        stats["lines"] += 1
    if keep is not None and po.image_path is not None:
        po.record["image"] = po.image_path.name
        po.image_path.with_suffix(".json").write_text(
            json.dumps(po.record, ensure_ascii=False, indent=1), encoding="utf-8")


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="page", desc="pages", file=sys.stderr)



def _read_text(path: str | Path) -> list[str]:
    """The lines of a ``--text`` file that hold more than whitespace."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"--text {p}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"--text {p}: not UTF-8 text (byte {exc.start}); convert it, e.g. "
                           f"iconv -f GBK -t UTF-8 {p} > {p.stem}.utf8.txt") from None
    lines = [t.strip() for t in raw.splitlines() if t.strip()]
    if not lines:
        raise DatasetError(f"--text {p}: the file holds no text; give one line of text per "
                           "line")
    return lines

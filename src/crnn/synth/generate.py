"""Render a whole synthetic dataset to an LMDB or to images + a tab-separated label file.

Samples are rendered by ``workers`` processes in chunks and written in index order by
this process, so the output bytes depend only on the spec (seed, config, fonts, charset,
size, count), never on the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..data.lmdb import LmdbWriter
from ..data.outputs import check_out, mark, swap_into_place
from ..errors import DatasetError
from .synthesizer import Synthesizer, SynthSpec
from .text import drawable

__all__ = ["FolderWriter", "GenerateReport", "generate", "iter_encoded", "char_report"]

_CHUNK = 32

# The worker's synthesizer, built once per process by _init_worker.
_WORKER: Synthesizer | None = None


def _init_worker(spec: SynthSpec) -> None:
    global _WORKER
    import cv2

    cv2.setNumThreads(1)  # one worker = one core; the processes give the parallelism
    _WORKER = Synthesizer(spec)


def _render_chunk(bounds: tuple[int, int]) -> list[tuple[bytes, str]]:
    assert _WORKER is not None
    return [_WORKER.encoded(i) for i in range(*bounds)]


def iter_encoded(spec: SynthSpec, workers: int = 1) -> Iterator[tuple[bytes, str]]:
    """(encoded image, label) of samples ``0..count-1`` in order, from ``workers``
    processes (1: this process)."""
    chunks = [(a, min(a + _CHUNK, spec.count)) for a in range(0, spec.count, _CHUNK)]
    if workers <= 1:
        synth = Synthesizer(spec)
        for a, b in chunks:
            for i in range(a, b):
                yield synth.encoded(i)
        return
    # Not "fork": this process may hold OpenCV/BLAS thread pools whose locks a forked child
    # would inherit mid-use (a deadlock). The fork server is a fresh single-threaded process
    # with the rendering modules preloaded, so workers still start quickly.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["crnn.synth.synthesizer"])
    else:
        ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(spec,)) as pool:
        for items in pool.imap(_render_chunk, chunks):
            yield from items


class FolderWriter:
    """``DIR/images/000000000.png`` ... and ``DIR/labels.txt`` (``images/x.png<TAB>label``),
    written in a temporary folder beside ``DIR`` and renamed into place when complete.
    ``images``, ``labels``, ``digits`` and ``first`` name the files otherwise (``crnn synth
    pages``: ``crops/000001.png`` and ``labels.tsv``)."""

    def __init__(self, path: str | Path, extension: str = ".png", overwrite: bool = False,
                 images: str = "images", labels: str = "labels.txt", digits: int = 9,
                 first: int = 0):
        self.path = check_out(path, overwrite)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        mark(self._tmp)
        (self._tmp / images).mkdir()
        self._labels = open(self._tmp / labels, "w", encoding="utf-8", newline="\n")
        self._ext = extension
        self._overwrite = overwrite
        self._images, self._digits, self._first = images, digits, first
        self.count = 0

    def add(self, image: bytes, label: str) -> int:
        name = f"{self._images}/{self.count + self._first:0{self._digits}d}{self._ext}"
        (self._tmp / name).write_bytes(image)
        self._labels.write(f"{name}\t{label}\n")
        self.count += 1
        return self.count

    def close(self) -> Path:
        self._labels.close()
        try:
            return swap_into_place(self._tmp, self.path, self._overwrite)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if not self._labels.closed:
            self._labels.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> FolderWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass
class GenerateReport:
    """What :func:`generate` wrote: counts, timing and per-character statistics."""

    path: Path
    count: int
    seconds: float
    char_counts: dict[str, int] = field(repr=False)
    min_count: int
    below_min: list[str] = field(repr=False)
    unrenderable: list[str] = field(repr=False)
    coverage: str = ""

    @property
    def lines_per_second(self) -> float:
        return self.count / max(self.seconds, 1e-9)

    def summary(self) -> str:
        counts = sorted(self.char_counts.values())
        n = len(counts)
        dist = (f"min {counts[0]}, 5% {counts[n // 20]}, median {statistics.median(counts):g}, "
                f"95% {counts[(19 * n) // 20]}, max {counts[-1]}") if counts else "no characters"
        lines = [f"wrote {self.count:,} lines to {self.path} in {self.seconds:.1f} s "
                 f"({self.lines_per_second:,.0f} lines/s)",
                 f"characters per charset character ({n:,} renderable): {dist}",
                 self.coverage]
        if self.below_min:
            lines.append(f"{len(self.below_min):,} characters appear fewer than "
                         f"{self.min_count} times, e.g. {''.join(self.below_min[:20])}")
        if self.unrenderable:
            lines.append(f"{len(self.unrenderable):,} charset characters no font covers "
                         f"(never rendered), e.g. {''.join(self.unrenderable[:20])}")
        return "\n".join(s for s in lines if s)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "count": self.count, "seconds": self.seconds,
                "min_count": self.min_count, "below_min": "".join(self.below_min),
                "unrenderable": "".join(self.unrenderable), "char_counts": self.char_counts}


def char_report(labels_counter: Counter[str], spec: SynthSpec, min_count: int
                ) -> tuple[dict[str, int], list[str]]:
    """Counts of every renderable charset character (0 included) and those below
    ``min_count``."""
    chars = [c for c in spec.charset.chars
             if c in spec.fonts.renderable and c != " " and drawable(c)]
    counts = {c: labels_counter.get(c, 0) for c in chars}
    return counts, [c for c in chars if counts[c] < min_count]


def generate(spec: SynthSpec, out: str | Path, fmt: str = "lmdb", workers: int = 1,
             overwrite: bool = False, progress: bool = True) -> GenerateReport:
    """Render ``spec.count`` lines into ``out`` (``fmt``: ``lmdb`` or ``folder``)."""
    from tqdm import tqdm

    if fmt not in ("lmdb", "folder"):
        raise DatasetError(f"unknown output format {fmt!r}: use lmdb or folder")
    ext = ".png" if spec.config.get("output", "encoding") == "png" else ".jpg"
    writer: LmdbWriter | FolderWriter = (LmdbWriter(out, overwrite=overwrite) if fmt == "lmdb"
                                         else FolderWriter(out, ext, overwrite=overwrite))
    counter: Counter[str] = Counter()
    start = time.perf_counter()
    with writer, tqdm(total=spec.count, unit="line", file=sys.stderr, disable=not progress,
                      dynamic_ncols=True, desc="crnn synth") as bar:
        for image, label in iter_encoded(spec, workers):
            writer.add(image, label)
            counter.update(label)
            bar.update(1)
    seconds = time.perf_counter() - start
    min_count = int(spec.config.get("text", "coverage", "min_count"))
    counts, below = char_report(counter, spec, min_count)
    cov = Synthesizer.describe_coverage(spec)
    return GenerateReport(Path(out), spec.count, seconds, counts, min_count, below,
                          list(spec.fonts.missing), cov)

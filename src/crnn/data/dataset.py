"""Training/validation data: sample sources, the PyTorch dataset, width buckets, collation.

A *source* gives raw samples ``(image, label, name)`` where image is encoded bytes or a
uint8 array: an LMDB, a label file with its image folder, or an on-the-fly renderer.
:class:`LineDataset` turns them into model inputs with the one preprocessing function.
"""

from __future__ import annotations

import random
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ..charset import Charset
from ..errors import CharsetError, DatasetError
from ..model import output_length
from ..reading import recut
from .augment import scan_degrade
from .images import Preprocess, decode_image, resize_line, to_tensor_batch
from .labels import iter_label_file
from .lmdb import LmdbReader, is_lmdb

__all__ = [
    "Source", "LmdbSource", "LabelFileSource", "ConcatSource", "open_source", "open_sources",
    "LineDataset", "Batch", "collate", "BucketBatchSampler", "ctc_frames_needed",
    "width_proxy", "scan_labels",
]


class Source(Protocol):
    name: str

    def __len__(self) -> int: ...
    def raw(self, i: int) -> tuple[bytes | np.ndarray, str, str]: ...
    def label(self, i: int) -> str: ...


class LmdbSource:
    def __init__(self, path: str | Path) -> None:
        self.reader = LmdbReader(path)
        self.name = str(path)

    def __len__(self) -> int:
        return len(self.reader)

    def raw(self, i: int) -> tuple[bytes, str, str]:
        img, label = self.reader.get(i)
        return img, label, f"{self.name} sample {self.reader.key_of(i)}"

    def label(self, i: int) -> str:
        return self.reader.label(i)


class LabelFileSource:
    """A label file plus the folder its image paths are relative to (default: its own)."""

    def __init__(
        self,
        path: str | Path,
        images_root: str | Path | None = None,
        fmt: str = "auto",
        charset: Charset | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.root = Path(images_root) if images_root is not None else self.path.parent
        self.entries: list[tuple[str, str, int]] = []
        self.errors: list[str] = []
        for e in iter_label_file(self.path, fmt, charset):
            if e.error:
                self.errors.append(e.error)
            else:
                self.entries.append((e.image, e.label, e.lineno))
        if not self.entries:
            raise DatasetError(f"label file {path} has no usable lines ({len(self.errors)} bad)")

    def __len__(self) -> int:
        return len(self.entries)

    def raw(self, i: int) -> tuple[bytes, str, str]:
        image, label, lineno = self.entries[i]
        p = self.root / image
        where = f"{self.path}:{lineno} ({p})"
        try:
            return p.read_bytes(), label, where
        except OSError as exc:
            raise DatasetError(f"{where}: cannot read image ({exc.strerror})") from exc

    def label(self, i: int) -> str:
        return self.entries[i][1]


class ConcatSource:
    """Several sources read as one."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self.name = " + ".join(s.name for s in self.sources)
        self.offsets = np.cumsum([0] + [len(s) for s in self.sources])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, i: int) -> tuple[Source, int]:
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.sources[k], i - int(self.offsets[k])

    def raw(self, i: int):
        s, j = self._locate(i)
        return s.raw(j)

    def label(self, i: int) -> str:
        s, j = self._locate(i)
        return s.label(j)


def open_source(spec: str | Path | Any, images_root: str | Path | None = None,
                fmt: str = "auto", charset: Charset | None = None) -> Source:
    """An LMDB directory, a label file, a folder of images with its label file
    (``labels.tsv`` or ``labels.txt``), or an object that already is a source."""
    if not isinstance(spec, (str, Path)):
        return spec
    p = Path(spec)
    if is_lmdb(p):
        return LmdbSource(p)
    if p.is_dir():
        for name in ("labels.tsv", "labels.txt"):
            if (p / name).is_file():
                return LabelFileSource(p / name, images_root, fmt, charset)
    if p.is_file():
        return LabelFileSource(p, images_root, fmt, charset)
    raise DatasetError(
        f"dataset {spec} not found: give an LMDB directory (with data.mdb), a label file, "
        "or a folder holding labels.tsv or labels.txt"
    )


def open_sources(specs: Sequence[str | Path], images_root: str | Path | None = None,
                 fmt: str = "auto", charset: Charset | None = None) -> Source:
    """Several datasets read as one; label-file lines that could not be used are warned
    about (the first five per file)."""
    srcs = [open_source(s, images_root, fmt, charset) for s in specs]
    for s in srcs:
        for err in getattr(s, "errors", [])[:5]:
            warnings.warn(f"skipped {err}", stacklevel=2)
    return srcs[0] if len(srcs) == 1 else ConcatSource(srcs)


def ctc_frames_needed(targets: Sequence[int]) -> int:
    """Frames CTC needs for a target: its length plus one blank between each repeated pair."""
    repeats = sum(1 for a, b in zip(targets, targets[1:], strict=False) if a == b)
    return len(targets) + repeats


def width_proxy(label: str) -> float:
    """Cheap estimate of a printed line's width in em: CJK ~1, Latin ~0.55."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in label) + 0.5


@dataclass
class LabelScan:
    indices: list[int]  # usable sample indices
    proxies: list[float]  # width proxy of each usable sample
    skipped: dict[str, int]  # reason -> count
    examples: list[str]  # first few skipped samples, for the message
    outside: Counter[str] = field(default_factory=Counter)  # char outside the charset -> count

    def skipped_report(self) -> str:
        """One line: how many samples were skipped of how many, why, the characters most
        often outside the charset, and a few examples ("" when none were skipped)."""
        if not self.skipped:
            return ""
        n = sum(self.skipped.values())
        total = n + len(self.indices)
        text = (f"skipped {n:,} of {total:,} training samples ({n / total:.1%}): "
                + ", ".join(f"{c:,} {r}" for r, c in self.skipped.items()))
        if self.outside:
            text += "; most common characters outside the charset: " + ", ".join(
                f"{ch!r} x{c:,}" for ch, c in self.outside.most_common(8))
        return text + "; e.g. " + "; ".join(self.examples[:3])


def scan_labels(source: Source, charset: Charset, oov: str = "error",
                max_label: int | None = None) -> LabelScan:
    """Read every label once (cheap: no images) to check the charset and plan buckets.

    With ``oov='error'`` the first out-of-charset character raises a :class:`CharsetError`
    naming the sample; otherwise such samples are counted and skipped / characters dropped.
    """
    indices, proxies, examples = [], [], []
    skipped: dict[str, int] = {}
    outside: Counter[str] = Counter()

    def skip(reason: str, where: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1
        if len(examples) < 5:
            examples.append(f"{where}: {reason}")

    for i in range(len(source)):
        label = source.label(i)
        where = f"{source.name} #{i}"
        if not label:
            skip("empty label", where)
            continue
        targets = charset.encode(label, oov, where=where)
        if targets is None:
            skip("character outside the charset", where)
            outside.update(ch for ch in label if ch not in charset)
            continue
        if not targets:
            skip("no character left after dropping out-of-charset ones", where)
            continue
        if max_label is not None and len(targets) > max_label:
            skip(f"label longer than {max_label}", where)
            continue
        indices.append(i)
        proxies.append(width_proxy(label))
    return LabelScan(indices, proxies, skipped, examples, outside)


class LineDataset(torch.utils.data.Dataset):
    """Samples as model inputs: ``(image (C, H, W) float32, targets, name)`` or ``None`` for a
    sample that cannot be used (undecodable image, a label CTC cannot fit); the reason is
    reported as a warning naming the sample, and :func:`collate` drops it."""

    def __init__(self, source: Source, charset: Charset, preprocess: Preprocess,
                 oov: str = "error", indices: Sequence[int] | None = None,
                 stretch_jitter: float = 0.0, seed: int = 0, augment: float = 0.0,
                 recut: float = 0.0, recut_margin: tuple[float, float] = (0.1, 0.2)) -> None:
        self.source = source
        self.charset = charset
        self.pre = preprocess
        self.oov = oov
        self.indices = list(indices) if indices is not None else list(range(len(source)))
        self.stretch_jitter = stretch_jitter
        self.augment = augment
        self.recut = recut
        self.recut_margin = recut_margin
        self.seed = seed
        self.epoch = 0  # set by the trainer before each epoch's loader starts

    def stretch(self, j: int) -> float:
        """How much wider sample ``j`` is read this epoch: 1.0 without ``stretch_jitter``,
        else drawn from ``1 +- stretch_jitter`` by (seed, epoch, sample) alone, so workers
        and a resumed run draw the same."""
        if not self.stretch_jitter:
            return 1.0
        rng = random.Random(f"{self.seed}/{self.epoch}/{self.indices[j]}")
        return rng.uniform(1.0 - self.stretch_jitter, 1.0 + self.stretch_jitter)

    def degrade(self, j: int, img: np.ndarray) -> np.ndarray:
        """Sample ``j``'s image, degraded as a scan this epoch for a share ``augment`` of
        the samples (drawn from (seed, epoch, sample) alone, like :meth:`stretch`)."""
        if not self.augment:
            return img
        rng = random.Random(f"augment/{self.seed}/{self.epoch}/{self.indices[j]}")
        if rng.random() >= self.augment:
            return img
        return scan_degrade(img, rng)

    def recut_line(self, j: int, img: np.ndarray) -> np.ndarray:
        """Sample ``j``'s image recut at its ink box (:func:`crnn.reading.recut`, as a
        reading policy's ``ink_margin`` recuts every line it reads) for a share ``recut``
        of the samples, with a margin drawn from ``recut_margin``, both drawn from (seed,
        epoch, sample) alone like :meth:`stretch`; the rest are read as they were cut."""
        if not self.recut:
            return img
        rng = random.Random(f"recut/{self.seed}/{self.epoch}/{self.indices[j]}")
        if rng.random() >= self.recut:
            return img
        return recut(img, rng.uniform(*self.recut_margin))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int) -> tuple[np.ndarray, list[int], str, str] | None:
        try:
            raw, label, name = self.source.raw(self.indices[j])
            img = raw if isinstance(raw, np.ndarray) else decode_image(
                raw, self.pre.channels, name=name)
            targets = self.charset.encode(label, self.oov, where=name)
        except (DatasetError, CharsetError) as exc:
            warnings.warn(f"skipping {exc}", stacklevel=1)
            return None
        if targets is None or not targets:
            return None
        if img.ndim == 2 and self.pre.channels == 3:
            img = np.repeat(img[:, :, None], 3, axis=2)
        elif img.ndim == 3 and self.pre.channels == 1:
            img = img.mean(axis=2).astype(np.uint8)
        x = resize_line(self.recut_line(j, self.degrade(j, img)), self.pre, self.stretch(j))
        frames = output_length(x.shape[2])
        if ctc_frames_needed(targets) > frames:
            warnings.warn(
                f"skipping {name}: label {label!r} needs {ctc_frames_needed(targets)} CTC "
                f"frames but the image, resized to width {x.shape[2]}, gives {frames}; the "
                "image is too narrow for its text (crop it wider or use a wider fixed width)",
                stacklevel=1,
            )
            return None
        return x, targets, label, name


@dataclass
class Batch:
    images: torch.Tensor  # (N, C, H, W) float32 in [-1, 1]
    targets: torch.Tensor  # (sum of target lengths,) int64, classes 1..K
    target_lengths: torch.Tensor  # (N,) int64
    input_lengths: torch.Tensor  # (N,) int64, valid CTC frames per line
    labels: list[str]
    names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def collate(items: list[Any]) -> Batch | None:
    items = [it for it in items if it is not None]
    if not items:
        return None
    images = to_tensor_batch([it[0] for it in items])
    targets = torch.tensor([k for it in items for k in it[1]], dtype=torch.long)
    target_lengths = torch.tensor([len(it[1]) for it in items], dtype=torch.long)
    input_lengths = torch.tensor([output_length(it[0].shape[2]) for it in items],
                                 dtype=torch.long)
    return Batch(images, targets, target_lengths, input_lengths,
                 [it[2] for it in items], [it[3] for it in items])


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar width, in a random but reproducible order, sharded across ranks.

    Each epoch shuffles the samples with ``seed + epoch``, cuts them into chunks of
    ``bucket_batches`` global batches, sorts each chunk by width proxy and splits it into
    global batches of ``batch_size * num_replicas`` samples, then shuffles the batch order.
    Rank ``r`` reads the ``r``-th slice of every global batch, so the ranks' shards are
    disjoint and together equal what one process with the global batch size reads. The
    last, short global batch is split as evenly as possible (dropped if some rank would get
    nothing). ``start_batch`` skips global batches already trained on, which is how a
    resumed run continues exactly where it stopped.
    """

    def __init__(self, proxies: Sequence[float], batch_size: int, seed: int = 0,
                 shuffle: bool = True, bucket_batches: int = 50, num_replicas: int = 1,
                 rank: int = 0) -> None:
        self.proxies = np.asarray(proxies, dtype=np.float32)
        self.batch_size = batch_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.bucket_batches = bucket_batches
        self.epoch = 0
        self.start_batch = 0

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.num_replicas

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def batches(self) -> list[list[int]]:
        """This epoch's global batches (the same list on every rank)."""
        n, gb = len(self.proxies), self.global_batch
        if not self.shuffle:
            order = np.argsort(self.proxies, kind="stable")
            out = [order[i:i + gb].tolist() for i in range(0, n, gb)]
        else:
            rng = np.random.default_rng([self.seed, self.epoch])
            perm = rng.permutation(n)
            chunk = gb * self.bucket_batches
            out = []
            for s in range(0, n, chunk):
                part = perm[s:s + chunk]
                part = part[np.argsort(self.proxies[part], kind="stable")]
                out += [part[i:i + gb].tolist() for i in range(0, len(part), gb)]
            order = rng.permutation(len(out))
            out = [out[k] for k in order]
        return [b for b in out if len(b) >= self.num_replicas]

    def _shard(self, batch: list[int]) -> list[int]:
        if self.num_replicas == 1:
            return batch
        if len(batch) == self.global_batch:
            return batch[self.rank * self.batch_size:(self.rank + 1) * self.batch_size]
        return np.array_split(np.asarray(batch), self.num_replicas)[self.rank].tolist()

    def __iter__(self):
        for batch in self.batches()[self.start_batch:]:
            yield self._shard(batch)

    def __len__(self) -> int:
        return max(0, len(self.batches()) - self.start_batch)

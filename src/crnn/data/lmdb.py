"""The text-recognition LMDB format shared by crnn.pytorch, PaddleOCR, parseq and others.

``num-samples`` -> N as ASCII digits; ``image-%09d`` -> encoded image bytes;
``label-%09d`` -> UTF-8 label; indices 1..N. Some writers number from 0; the reader
notices and says so. Writers work in a temporary directory that is renamed into place
only when the dataset is complete, so a crash never leaves a half-written dataset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from types import TracebackType

import lmdb

from ..errors import DatasetError
from .outputs import check_out, swap_into_place

__all__ = ["LmdbReader", "LmdbWriter", "is_lmdb"]

_COMMIT_EVERY = 1000


def is_lmdb(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "data.mdb").is_file()


class LmdbReader:
    """Random access to samples ``0..len-1`` (stored keys 1..N, or 0..N-1 if so written).

    The environment is opened lazily and re-opened in each process (DataLoader workers),
    read-only and without locks, as LMDB requires.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not is_lmdb(self.path):
            raise DatasetError(
                f"{self.path} is not an LMDB dataset (no data.mdb inside); create one with "
                "'crnn dataset create'"
            )
        txn = self._txn()
        raw = txn.get(b"num-samples")
        if raw is None:
            raise DatasetError(
                f"{self.path} has no 'num-samples' key: it is not a text-recognition LMDB"
            )
        try:
            self._n = int(raw.decode("ascii").strip())
        except ValueError as exc:
            raise DatasetError(f"{self.path}: num-samples is {raw!r}, not a number") from exc
        self.first_key = 1
        if txn.get(b"image-000000000") is not None:
            self.first_key = 0
            warnings.warn(
                f"{self.path} numbers its samples from 0 (image-000000000 exists), as one "
                "widely copied conversion script does; reading keys 0..N-1",
                stacklevel=2,
            )

    def _txn(self) -> lmdb.Transaction:
        return _shared_env(self.path).begin(write=False, buffers=False)

    def __len__(self) -> int:
        return self._n

    def key_of(self, i: int) -> int:
        """The stored key number of sample ``i``."""
        return i + self.first_key

    def get(self, i: int) -> tuple[bytes, str]:
        """(image bytes, label) of sample ``i`` (0-based)."""
        if not 0 <= i < self._n:
            raise IndexError(f"sample {i} outside {self.path} (0..{self._n - 1})")
        k = self.key_of(i)
        txn = self._txn()
        img = txn.get(b"image-%09d" % k)
        lab = txn.get(b"label-%09d" % k)
        if img is None or lab is None:
            missing = "image" if img is None else "label"
            raise DatasetError(f"{self.path}: sample {k} has no {missing} key")
        try:
            label = lab.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{self.path}: label of sample {k} is not UTF-8") from exc
        return img, label

    def label(self, i: int) -> str:
        k = self.key_of(i)
        lab = self._txn().get(b"label-%09d" % k)
        if lab is None:
            raise DatasetError(f"{self.path}: sample {k} has no label key")
        return lab.decode("utf-8", errors="replace")


# One read-only environment per dataset path and process: py-lmdb refuses to open the same
# environment twice in a process, and LMDB handles must not cross a fork.
_ENVS: dict[str, tuple[int, lmdb.Environment]] = {}


def _shared_env(path: Path) -> lmdb.Environment:
    key = str(path.resolve())
    pid = os.getpid()
    entry = _ENVS.get(key)
    if entry is not None:
        if entry[0] == pid:
            return entry[1]
        entry[1].close()  # inherited from the parent through fork (a DataLoader worker)
    env = lmdb.open(key, readonly=True, lock=False, readahead=False, meminit=False,
                    max_readers=256)
    _ENVS[key] = (pid, env)
    return env


class LmdbWriter:
    """Write a dataset atomically: samples go to a temporary directory beside ``path``,
    renamed to ``path`` by :meth:`close` (or leaving a ``with`` block without an error).

    Use::

        with LmdbWriter("train.lmdb") as w:
            w.add(png_bytes, "label")
    """

    def __init__(self, path: str | Path, overwrite: bool = False, map_size: int = 1 << 32):
        self.path = check_out(path, overwrite)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self._overwrite = overwrite
        self._env = lmdb.open(str(self._tmp), map_size=map_size, subdir=True, lock=True)
        self._pending: list[tuple[bytes, bytes]] = []
        self.count = 0
        self._closed = False

    def add(self, image: bytes, label: str) -> int:
        """Append a sample; returns its 1-based index."""
        self.count += 1
        self._pending.append((b"image-%09d" % self.count, bytes(image)))
        self._pending.append((b"label-%09d" % self.count, label.encode("utf-8")))
        if len(self._pending) >= 2 * _COMMIT_EVERY:
            self._flush()
        return self.count

    def _flush(self, final: bool = False) -> None:
        items = list(self._pending)
        if final:
            items.append((b"num-samples", str(self.count).encode("ascii")))
        while True:
            try:
                with self._env.begin(write=True) as txn:
                    for k, v in items:
                        txn.put(k, v)
                break
            except lmdb.MapFullError:
                self._env.set_mapsize(self._env.info()["map_size"] * 2)
        self._pending.clear()

    def close(self) -> Path:
        """Finish: write ``num-samples`` and move the dataset into place."""
        if self._closed:
            return self.path
        self._flush(final=True)
        self._env.sync()
        self._env.close()
        self._closed = True
        if self.path.exists():
            entry = _ENVS.pop(str(self.path.resolve()), None)
            if entry is not None and entry[0] == os.getpid():
                entry[1].close()
        try:
            return swap_into_place(self._tmp, self.path, self._overwrite)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything written so far."""
        if not self._closed:
            self._env.close()
            self._closed = True
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> LmdbWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

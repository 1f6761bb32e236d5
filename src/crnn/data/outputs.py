"""Where crnn writes datasets, and when it may replace what is already there.

Every dataset writer (LMDB, image folders, page crops, ``dataset export``) builds its
output in a temporary folder beside ``--out`` and swaps it into place when complete.
``--overwrite`` only ever replaces something crnn can tell is a dataset:

- an LMDB folder (``data.mdb``, optionally ``lock.mdb``, nothing else), or
- a folder crnn wrote: it holds the marker file :data:`MARKER` and nothing but the files
  crnn writes there (``images/`` or ``crops/`` with numbered images, ``labels.txt`` or
  ``labels.tsv``), or
- an empty folder.

It never replaces a regular file, a symbolic link, ``/``, the home folder, the current
folder or any folder that contains it, or a folder holding anything else; each refusal
names the path and what to do instead. The check runs before any temporary folder is
made, so a refused run leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from ..errors import DatasetError

__all__ = ["MARKER", "check_out", "mark", "swap_into_place"]

MARKER = ".crnn-dataset"
_LMDB_FILES = {"data.mdb", "lock.mdb"}
_MARKED_FILES = {MARKER, "labels.txt", "labels.tsv"}
_MARKED_DIRS = {"images", "crops"}
_SAMPLE_NAME = re.compile(r"^\d{1,12}\.[A-Za-z0-9]{1,5}$")


def mark(folder: str | Path) -> None:
    """Write the marker that lets a later ``--overwrite`` replace ``folder``."""
    (Path(folder) / MARKER).write_text("written by crnn; --overwrite may replace this "
                                       "folder\n", encoding="utf-8")


def _protected(path: Path) -> str | None:
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        return "it is the file-system root"
    try:
        if resolved == Path.home().resolve():
            return "it is your home folder"
    except (RuntimeError, KeyError):  # no home folder known
        pass
    cwd = Path.cwd().resolve()
    if cwd == resolved or resolved in cwd.parents:
        return "it is the current folder or contains it"
    return None


def _foreign_entries(path: Path) -> list[str]:
    """Entries of ``path`` that crnn did not write (empty when it may be replaced)."""
    entries = list(os.scandir(path))
    names = {e.name for e in entries}
    if not names:
        return []
    if names <= _LMDB_FILES | {MARKER} and "data.mdb" in names:
        return [e.name for e in entries if not e.is_file(follow_symlinks=False)]
    if MARKER not in names:
        return sorted(names)[:5]
    foreign = []
    for e in entries:
        if e.name in _MARKED_FILES and e.is_file(follow_symlinks=False):
            continue
        if e.name in _MARKED_DIRS and e.is_dir(follow_symlinks=False):
            with os.scandir(e.path) as inner:
                for f in inner:
                    if not (_SAMPLE_NAME.match(f.name) and f.is_file(follow_symlinks=False)):
                        foreign.append(f"{e.name}/{f.name}")
                        break
            continue
        foreign.append(e.name)
    return foreign[:5]


def check_out(path: str | Path, overwrite: bool, flag: str = "--out") -> Path:
    """Raise :class:`DatasetError` unless a dataset may be written at ``path``.

    With ``overwrite`` false, ``path`` must not exist; with it, ``path`` may also be a
    dataset crnn can replace (see the module docstring)."""
    path = Path(path)
    if not os.path.lexists(path):
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise DatasetError(f"{flag} {path}: {parent} is a file, not a folder")
        return path
    if not overwrite:
        raise DatasetError(f"{flag} {path} already exists; remove it, choose another path, "
                           "or pass --overwrite to replace a dataset crnn wrote")
    if path.is_symlink():
        raise DatasetError(f"{flag} {path} is a symbolic link; --overwrite does not follow "
                           "links: point --out at the dataset folder itself")
    if not path.is_dir():
        raise DatasetError(f"{flag} {path} is a file, not a dataset folder; --overwrite only "
                           "replaces datasets (an LMDB or a folder crnn wrote): choose "
                           "another path or remove the file yourself")
    why = _protected(path)
    if why is not None:
        raise DatasetError(f"{flag} {path}: refusing to replace it with --overwrite because "
                           f"{why}; write the dataset to a new folder such as "
                           f"{path / 'train.lmdb'}")
    try:
        foreign = _foreign_entries(path)
    except OSError as exc:
        raise DatasetError(f"{flag} {path} cannot be listed ({exc.strerror}); choose another "
                           "path") from exc
    if foreign:
        raise DatasetError(f"{flag} {path} holds files crnn did not write ("
                           f"{', '.join(foreign)}); --overwrite only replaces an LMDB or a "
                           "folder crnn wrote. Choose another path, or move those files "
                           "away first")
    return path


def swap_into_place(tmp: Path, path: Path, overwrite: bool, flag: str = "--out") -> Path:
    """Rename the finished folder ``tmp`` to ``path``, replacing a dataset that
    :func:`check_out` accepts (checked again: the folder may have changed meanwhile).
    The old dataset is moved aside first and deleted only after the new one is in place."""
    old: Path | None = None
    if os.path.lexists(path):
        if not overwrite:
            raise DatasetError(f"{flag} {path} appeared while writing; not overwriting it")
        check_out(path, overwrite, flag)
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / "dataset")
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path

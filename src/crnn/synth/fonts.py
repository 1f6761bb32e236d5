"""Font discovery and glyph coverage.

Fonts come from the usual system folders plus any ``--fonts DIR_OR_FILE``. Each face's
character coverage is read once from its ``cmap`` with fontTools and cached in
``~/.cache/crnn/font-coverage-v1.json`` (keyed by path, size and modification time), so
later runs start instantly. A line is only ever drawn with a face whose cmap holds every
character of the line: no tofu boxes under a correct-looking label.
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..charset import Charset
from ..errors import ConfigError, DatasetError

__all__ = [
    "FontFace", "FontSet", "cache_dir", "find_font_files", "install_hint", "scan_faces",
    "face_codepoints", "SYSTEM_FONT_DIRS",
]

SYSTEM_FONT_DIRS = (
    "/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
    "/Library/Fonts", "/System/Library/Fonts", "~/Library/Fonts",
)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
_REGIONS = ("TW MBE", "JP", "KR", "SC", "TC", "HK", "CN", "TW")
_CACHE_VERSION = 1
_CACHE_NAME = f"font-coverage-v{_CACHE_VERSION}.json"

# Debian/Ubuntu packages that cover what a charset needs.
DEB_CJK = ("fonts-noto-cjk", "fonts-wqy-zenhei", "fonts-wqy-microhei", "fonts-arphic-uming",
           "fonts-arphic-ukai", "fonts-lxgw-wenkai")
DEB_LATIN = ("fonts-dejavu", "fonts-liberation2")


@dataclass(frozen=True)
class FontFace:
    """One face of a font file (``index`` > 0 only inside .ttc/.otc collections)."""

    path: str
    index: int
    family: str
    style: str
    weight: int = 400
    italic: bool = False
    num_chars: int = 0
    outlines: bool = True

    @property
    def name(self) -> str:
        return f"{self.family} {self.style}".strip()

    @property
    def region(self) -> str | None:
        """The CJK region suffix of the family name (``SC``, ``JP``, ``TW MBE`` ...)."""
        for r in _REGIONS:
            if self.family.endswith(" " + r):
                return r
        return None

    @property
    def group(self) -> str:
        """The typeface without region and Mono/Sharp variants: faces of one group look
        alike, so each group is drawn equally often."""
        r = self.region
        fam = self.family[: -len(r) - 1] if r else self.family
        return " ".join(w for w in fam.split() if w not in ("Mono", "Sharp"))


# ------------------------------------------------------------------------ discovery
def find_font_files(extra: Iterable[str | Path] = (), system: bool = True) -> list[Path]:
    """Font files in the system folders (when ``system``) and under each of ``extra``
    (a font file or a folder searched recursively), sorted, without duplicates."""
    found: dict[str, Path] = {}

    def add_dir(d: Path) -> None:
        for root, _dirs, files in os.walk(d, followlinks=True):
            for f in files:
                if f.lower().endswith(FONT_SUFFIXES):
                    p = Path(root, f)
                    found.setdefault(str(p.resolve()), p.resolve())

    if system:
        dirs = [Path(d).expanduser() for d in SYSTEM_FONT_DIRS]
        windir = os.environ.get("WINDIR")
        if windir:
            dirs.append(Path(windir, "Fonts"))
        for d in dirs:
            if d.is_dir():
                add_dir(d)
    for e in extra:
        p = Path(e).expanduser()
        if p.is_dir():
            add_dir(p)
        elif p.is_file():
            if not p.name.lower().endswith(FONT_SUFFIXES):
                raise ConfigError(f"--fonts {p}: not a font file (.ttf, .otf, .ttc or .otc)")
            found.setdefault(str(p.resolve()), p.resolve())
        else:
            raise ConfigError(f"--fonts {p}: no such file or folder")
    return [found[k] for k in sorted(found)]


def cache_dir() -> Path:
    """``$CRNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/crnn``, else ``~/.cache/crnn``."""
    env = os.environ.get("CRNN_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg, "crnn") if xdg else Path.home() / ".cache" / "crnn"


# ------------------------------------------------------------------------ coverage
# (path, index) -> code points, filled by scan_faces for this process.
_CODEPOINTS: dict[tuple[str, int], frozenset[int]] = {}


def _runs(codes: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for c in sorted(codes):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def _from_runs(runs: Sequence[Sequence[int]]) -> frozenset[int]:
    s: set[int] = set()
    for a, b in runs:
        s.update(range(a, b + 1))
    return frozenset(s)


def _read_font_file(path: Path) -> list[dict]:
    """Every face of one file: names, weight, italic flag, outline kind, cmap runs."""
    try:
        from fontTools.ttLib import TTCollection, TTFont, TTLibError
    except ImportError:
        raise ConfigError("rendering text needs fontTools, which the synth extra installs: "
                          "pip install 'crnn[synth]'") from None

    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        holder = (TTCollection(str(path), lazy=True) if magic == b"ttcf"
                  else TTFont(str(path), lazy=True))
        fonts = holder.fonts if isinstance(holder, TTCollection) else [holder]
        faces = []
        for font in fonts:
            cmap = font.getBestCmap() or {}
            codes = [c for c, g in cmap.items() if g != ".notdef"]
            name = font["name"] if "name" in font else None
            family = (name.getBestFamilyName() if name else None) or path.stem
            style = (name.getBestSubFamilyName() if name else None) or ""
            weight, italic = 400, "italic" in style.lower() or "oblique" in style.lower()
            if "OS/2" in font:
                weight = int(font["OS/2"].usWeightClass)
                italic = italic or bool(font["OS/2"].fsSelection & 1)
            outlines = any(t in font for t in ("glyf", "CFF ", "CFF2"))
            faces.append({"family": family, "style": style, "weight": weight,
                          "italic": italic, "outlines": outlines, "runs": _runs(codes)})
        holder.close()
        return faces
    except (TTLibError, OSError, KeyError, AssertionError, ValueError, struct.error) as exc:
        raise DatasetError(f"cannot read font {path}: {exc}; remove it or pass other "
                           "--fonts") from exc


def _load_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == _CACHE_VERSION and isinstance(data.get("fonts"), dict):
            return data
    except (OSError, ValueError):
        pass
    return {"version": _CACHE_VERSION, "fonts": {}}


def _save_cache(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".fonts.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home: coverage is recomputed next time
        warnings.warn(f"cannot write font coverage cache {path}: {exc.strerror}",
                      stacklevel=3)


def scan_faces(files: Sequence[str | Path], use_cache: bool = True,
               strict: Sequence[str | Path] = ()) -> list[FontFace]:
    """Read (or recall from the cache) every face of ``files``.

    A file that cannot be read is skipped with a warning, or raises
    :class:`~crnn.errors.DatasetError` when it is listed in ``strict`` (fonts the user
    named explicitly).
    """
    cpath = cache_dir() / _CACHE_NAME
    cache = _load_cache(cpath) if use_cache else {"version": _CACHE_VERSION, "fonts": {}}
    strict_set = {str(Path(s).resolve()) for s in strict}
    changed = False
    faces: list[FontFace] = []
    for f in files:
        p = Path(f).resolve()
        key = str(p)
        try:
            st = p.stat()
        except OSError as exc:
            raise ConfigError(f"font {p}: {exc.strerror}") from exc
        entry = cache["fonts"].get(key)
        if not entry or entry.get("mtime_ns") != st.st_mtime_ns or entry.get("size") != \
                st.st_size:
            try:
                entry = {"mtime_ns": st.st_mtime_ns, "size": st.st_size,
                         "faces": _read_font_file(p)}
            except DatasetError as exc:
                if key in strict_set:
                    raise
                warnings.warn(str(exc), stacklevel=2)
                continue
            cache["fonts"][key] = entry
            changed = True
        for i, d in enumerate(entry["faces"]):
            codes = _from_runs(d["runs"])
            _CODEPOINTS[(key, i)] = codes
            faces.append(FontFace(key, i, d["family"], d["style"], d["weight"], d["italic"],
                                  len(codes), d["outlines"]))
    if changed and use_cache:
        _save_cache(cpath, cache)
    return faces


def face_codepoints(face: FontFace) -> frozenset[int]:
    """The code points ``face`` maps to a real glyph (after :func:`scan_faces`)."""
    try:
        return _CODEPOINTS[(face.path, face.index)]
    except KeyError:
        scan_faces([face.path])
        return _CODEPOINTS[(face.path, face.index)]


# ------------------------------------------------------------------------ selection
def select_faces(faces: Sequence[FontFace], exclude: Sequence[str] = (),
                 regions: Sequence[str] = ()) -> list[FontFace]:
    """Drop bitmap-only faces, families matching ``exclude`` and, where one typeface
    comes in several regional variants, the variants outside ``regions``."""
    kept = [f for f in faces if f.outlines
            and not any(x.lower() in f.family.lower() for x in exclude)]
    if not regions:
        return kept
    preferred: set[tuple[str, str]] = {
        (f.group, f.style) for f in kept if f.region in regions}
    return [f for f in kept if f.region is None or f.region in regions
            or (f.group, f.style) not in preferred]


class FontSet:
    """The faces usable for one charset, with what each covers of it.

    Picklable (sent to worker processes); holds no open font files.

    Args:
        faces: candidate faces (from :func:`scan_faces`, after :func:`select_faces`).
        charset: the target charset.
        italic_weight: relative chance of italic/oblique faces.
    """

    def __init__(self, faces: Sequence[FontFace], charset: Charset,
                 italic_weight: float = 1.0) -> None:
        chars = [c for c in charset.chars if c not in "\t\n\r"]
        covered: list[frozenset[str]] = []
        usable: list[FontFace] = []
        for f in faces:
            codes = face_codepoints(f)
            cov = frozenset(c for c in chars if ord(c) in codes)
            if len(cov - {" "}) > 0:
                usable.append(f)
                covered.append(cov)
        self.charset = charset
        self.faces: tuple[FontFace, ...] = tuple(usable)
        self.covered: tuple[frozenset[str], ...] = tuple(covered)
        group_size: dict[str, int] = {}
        for f in usable:
            group_size[f.group] = group_size.get(f.group, 0) + 1
        self.weights: tuple[float, ...] = tuple(
            (italic_weight if f.italic else 1.0) / group_size[f.group] for f in usable)
        # character -> bit mask of the faces that cover it: choosing a face for a line is
        # then a few integer ANDs instead of a subset test per face.
        bits: dict[str, int] = {}
        for i, cov in enumerate(covered):
            for c in cov:
                bits[c] = bits.get(c, 0) | (1 << i)
        self._bits = bits
        self.renderable: frozenset[str] = frozenset(bits)
        self.missing: tuple[str, ...] = tuple(c for c in chars if c not in bits)

    @classmethod
    def discover(cls, charset: Charset, fonts: Sequence[str | Path] = (),
                 system: bool = True, exclude: Sequence[str] = (),
                 regions: Sequence[str] = (), italic_weight: float = 1.0) -> FontSet:
        """Find, scan and select fonts for ``charset``; raise if none can draw it."""
        files = find_font_files(fonts, system=system)
        faces = select_faces(scan_faces(files, strict=[f for f in fonts if Path(f).is_file()]),
                             exclude, regions)
        fs = cls(faces, charset, italic_weight)
        if not fs.faces:
            where = ", ".join(str(f) for f in fonts) if fonts else "the system font folders"
            raise DatasetError(
                f"no font in {where} covers charset {charset.name}: "
                f"{install_hint(charset, fs) or 'pass --fonts DIR with .ttf/.otf/.ttc files'}")
        return fs

    def __len__(self) -> int:
        return len(self.faces)

    def choose(self, text: str, rng: random.Random, required: str = "") -> tuple[int, str]:
        """Pick a face that covers every character of ``text`` (family-balanced, seeded).

        When no face covers all of it, the face covering ``required`` and most of the rest
        is taken and the characters it lacks are dropped from the text. Returns
        ``(face index, text it can draw)``.
        """
        need = set(text)
        mask = (1 << len(self.faces)) - 1
        for c in need:
            mask &= self._bits.get(c, 0)
        if mask:
            cands = [i for i in range(len(self.faces)) if mask >> i & 1]
            weights = [self.weights[i] for i in cands]
            return rng.choices(cands, weights=weights)[0], text
        req = set(required)
        best = max(range(len(self.faces)),
                   key=lambda i: (req <= self.covered[i], len(need & self.covered[i]),
                                  self.weights[i], -i))
        cov = self.covered[best]
        return best, "".join(c for c in text if c in cov)


def install_hint(charset: Charset, fonts: FontSet | None) -> str | None:
    """What to install when the fonts found cannot draw (most of) ``charset``."""
    renderable = fonts.renderable if fonts else frozenset()
    hanzi = [c for c in charset.chars if "\u4e00" <= c <= "\u9fff"]
    latin = [c for c in charset.chars if c.isascii() and c.isalnum()]
    hints = []
    if hanzi and sum(c in renderable for c in hanzi) < 0.9 * len(hanzi):
        hints.append("Chinese fonts: " + " ".join(DEB_CJK))
    if latin and sum(c in renderable for c in latin) < len(latin):
        hints.append("Latin fonts: " + " ".join(DEB_LATIN))
    if not hints:
        return None
    cmd = "sudo apt-get install " + " ".join(
        p for h in hints for p in h.split(": ", 1)[1].split())
    extra = "" if sys.platform.startswith("linux") else " (or the same fonts for your OS)"
    return (f"install {'; '.join(hints)} (Debian/Ubuntu: {cmd}){extra}, or pass --fonts DIR "
            "holding .ttf/.otf/.ttc files")

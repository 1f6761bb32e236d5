"""The fonts and look of a page: which installed families stand for each face (and which
are held out of training), and a document's drawn style (fonts, size, spacing, dpi, scan
degradation)."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError

_PROG = "crnn synth pages"
_INSTALL_HINT = "apt-get install libreoffice-writer-nogui poppler-utils"
_FONT_HINT = ("apt-get install fonts-noto-cjk fonts-wqy-zenhei fonts-arphic-uming "
              "fonts-arphic-ukai fonts-lxgw-wenkai fonts-liberation2 fonts-dejavu")

# Font families by face, as fc-list names them; a document draws from the installed ones.
FONT_CHOICES: dict[str, tuple[str, ...]] = {
    "song": ("Noto Serif CJK SC", "AR PL UMing CN", "Source Han Serif SC", "AR PL SungtiL GB",
             "IPAMincho", "IPAexMincho", "TakaoMincho", "Noto Serif CJK SC Light",
             "Noto Serif CJK SC Medium", "HanaMinA", "BabelStone Han", "IPAmjMincho",
             "BIZ UDMincho"),
    "hei": ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Source Han Sans SC",
            "Droid Sans Fallback", "IPAGothic", "Noto Sans CJK SC Light",
            "Noto Sans CJK SC Medium", "BIZ UDGothic", "VL Gothic", "MigMix 1P"),
    "kai": ("AR PL UKai CN", "LXGW WenKai", "AR PL KaitiM GB"),
    "serif": ("Liberation Serif", "DejaVu Serif", "Noto Serif", "FreeSerif", "Nimbus Roman",
              "TeX Gyre Termes", "TeX Gyre Schola", "TeX Gyre Bonum", "C059",
              "TeX Gyre Pagella", "P052", "Caladea", "Linux Libertine O", "EB Garamond 12",
              "Charis SIL", "Gentium", "Baskervald ADF Std", "Accanthis ADF Std", "Cardo",
              "Junicode Two Beta", "Roboto Slab", "Averia Serif GWF", "Tinos", "STIXGeneral",
              "Old Standard TT", "Vollkorn", "Yrsa", "Gentium Plus"),
    "sans": ("Liberation Sans", "DejaVu Sans", "Noto Sans", "FreeSans", "Nimbus Sans",
             "TeX Gyre Heros", "Carlito", "Open Sans", "Roboto", "Cantarell", "Lato",
             "TeX Gyre Adventor", "URW Gothic", "Andika", "Beteckna", "League Spartan",
             "Comfortaa", "Quicksand", "Cabin", "Karla", "Inter", "Manrope", "PT Sans",
             "Gillius ADF", "Universalis ADF Std", "Dosis", "Averia Sans GWF", "Arimo"),
}
# Families kept out of training (``--fonts train``) to measure reading of unseen faces
# (``--fonts heldout``); P052/Pagella and URW Gothic/Adventor are one design each.
HELD_OUT_FONTS: tuple[str, ...] = ("TeX Gyre Pagella", "P052", "Caladea", "Lato",
                                   "TeX Gyre Adventor", "URW Gothic", "IPAexMincho",
                                   "AR PL KaitiM GB")
FONT_SETS = ("all", "train", "heldout")
CROPS = ("box", "ink", "mixed")
_CJK_FACES = ("song", "hei", "kai")
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}
_PAGE_W_CM, _PAGE_H_CM = 21.0, 29.7
_SPLIT_GAP = 2.5        # a gap wider than this many line heights splits a pdftotext line
_SOFFICE_TIMEOUT = 300  # seconds per soffice call


# --------------------------------------------------------------------------- tools, fonts

def _need(tool: str, *alternatives: str) -> str:
    for name in (tool, *alternatives):
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError(f"'{tool}' is not installed; page rendering needs LibreOffice and "
                      f"poppler: {_INSTALL_HINT}")


def available_fonts() -> set[str]:
    """Family names fontconfig knows (``fc-list : family``), every alias of each."""
    fc = shutil.which("fc-list")
    if fc is None:
        raise ConfigError("'fc-list' is not installed (package fontconfig); it lists the "
                          "fonts LibreOffice can use")
    out = subprocess.run([fc, ":", "family"], capture_output=True, text=True, check=False)
    return {name.strip() for line in out.stdout.splitlines() for name in line.split(",")
            if name.strip()}


def _font_table(families: set[str], font_set: str = "all") -> dict[str, list[str]]:
    """The available families of each face; ``font_set`` ``train`` leaves out
    :data:`HELD_OUT_FONTS`, ``heldout`` keeps only those (a face without any held-out family
    keeps its training families, so every document can be laid out)."""
    table = {face: [f for f in names if f in families] for face, names in FONT_CHOICES.items()}
    if font_set == "train":
        table = {face: [f for f in fs if f not in HELD_OUT_FONTS] for face, fs in table.items()}
    elif font_set == "heldout":
        table = {face: [f for f in fs if f in HELD_OUT_FONTS] or fs for face, fs in table.items()}
    if not any(table[f] for f in _CJK_FACES):
        raise ConfigError("no Chinese font found (looked for "
                          + ", ".join(n for f in _CJK_FACES for n in FONT_CHOICES[f])
                          + f"); install some: {_FONT_HINT}")
    return table


# --------------------------------------------------------------------------- styles

@dataclass(frozen=True)
class _Degrade:
    """Scan degradation of one page; strengths drawn per page."""

    angle: float      # degrees, positive = counter-clockwise
    blur: float       # Gaussian sigma in pixels (0 = none)
    noise: float      # Gaussian noise sigma in grey levels
    jpeg: int         # JPEG quality (0 = none)
    paper: int        # background grey level
    ink: int          # darkest grey level


def document_style(seed: int, index: int, fonts: dict[str, list[str]], dpis: Sequence[int],
                   degrade: float, kind: str) -> dict[str, Any]:
    """Typographic and rendering choices for document ``index`` (deterministic)."""
    rng = random.Random(f"crnn-pages-style/{seed}/{index}")
    cjk_faces = [f for f in _CJK_FACES if fonts[f]]

    def pick(face: str) -> tuple[str, str]:
        if not fonts[face]:
            face = rng.choice(cjk_faces)
        return face, rng.choice(fonts[face])

    body_face, body_cjk = pick(rng.choices(_CJK_FACES, (0.45, 0.3, 0.25))[0])
    latin_kind = rng.choices(("same", "serif", "sans"), (0.3, 0.4, 0.3))[0]
    if kind == "admission-en":
        latin_kind = rng.choice(("serif", "sans"))
    latin_kind = latin_kind if latin_kind == "same" or fonts[latin_kind] else "same"
    body_latin = body_cjk if latin_kind == "same" else rng.choice(fonts[latin_kind])
    title_face, title_cjk = pick(rng.choice(("hei", "song", "kai", "hei")))
    head_face, head_cjk = pick(rng.choice(("hei", "hei", body_face)))
    size = rng.choice((10.5, 11.0, 12.0, 12.0, 14.0))
    style: dict[str, Any] = {
        "body_face": body_face, "body_cjk": body_cjk, "body_latin": body_latin,
        "title_face": title_face, "title_cjk": title_cjk,
        "title_latin": title_cjk if rng.random() < 0.5 or not fonts["sans"]
        else rng.choice(fonts["sans"]),
        "head_cjk": head_cjk, "head_latin": head_cjk,
        "size": size,
        "title_size": rng.choice((16.0, 18.0, 20.0, 22.0, 24.0)),
        "redhead_size": rng.choice((20.0, 22.0, 26.0, 28.0)),
        "redhead_color": rng.choice(("#c00000", "#d01010", "#000000")),
        "line_height": rng.choice((100, 115, 125, 135, 150, 160)),
        "align": rng.choice(("justify", "justify", "start")),
        "autospace": rng.random() < 0.6,
        "margin_lr": round(rng.uniform(2.0, 3.0), 2),
        "margin_tb": round(rng.uniform(1.8, 2.6), 2),
        "para_gap": round(rng.choice((0.0, 0.1, 0.2, 0.3)), 2),
        "cell_pad": round(rng.uniform(0.12, 0.25), 2),
        "border_pt": rng.choice((0.5, 0.75, 1.0)),
        "table_size": size if rng.random() < 0.6 else max(9.0, size - 1.5),
        "dpi": rng.choice(list(dpis)),
        "pages_degraded": rng.random() < degrade,
        "page_seed": rng.randrange(2**31),
    }
    return style


def _draw_degrade(rng: random.Random, dpi: int) -> _Degrade:
    scale = dpi / 200.0
    return _Degrade(
        angle=round(rng.uniform(-1.0, 1.0), 3),
        blur=round(rng.uniform(0.0, 0.9) * scale, 3) if rng.random() < 0.8 else 0.0,
        noise=round(rng.uniform(2.0, 9.0), 2),
        jpeg=rng.randint(35, 85) if rng.random() < 0.75 else 0,
        paper=rng.randint(228, 255),
        ink=rng.randint(0, 55),
    )

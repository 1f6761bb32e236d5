"""Shared fixtures: small rendered text-line datasets made with a font on the machine."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
]


def find_font() -> str:
    for f in FONT_CANDIDATES:
        if Path(f).is_file():
            return f
    pytest.skip("no DejaVu/Liberation font installed (make test installs fonts-dejavu)")


def render(text: str, font_path: str, size: int = 24, pad: int = 4) -> Image.Image:
    """A plain black-on-white line image of ``text``."""
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, fill=0, font=font)
    return img


def random_text(rng: random.Random, alphabet: str, lo: int = 3, hi: int = 8) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def make_label_folder(root: Path, n: int, alphabet: str = "0123456789", seed: int = 0,
                      fmt: str = "tab") -> Path:
    """``root/images/*.png`` and ``root/labels.txt``; returns the label file."""
    font = find_font()
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        text = random_text(rng, alphabet)
        name = f"images/{i:05d}.png"
        render(text, font, size=rng.choice([20, 24, 28])).save(root / name)
        lines.append(f"{name}\t{text}" if fmt == "tab" else f"{name} {text}")
    path = root / "labels.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True, scope="session")
def _onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """Models exported for the ONNX backend go to a test folder, not the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CRNN_CACHE_DIR", str(tmp_path_factory.mktemp("onnx-cache")))
    yield
    mp.undo()


@pytest.fixture
def font_path() -> str:
    return find_font()


@pytest.fixture
def digits_lmdb(tmp_path: Path) -> Path:
    from crnn.data.tools import create_dataset

    labels = make_label_folder(tmp_path / "src", 64)
    out = tmp_path / "digits.lmdb"
    create_dataset(labels, None, out, progress=False)
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path, digits_lmdb: Path) -> Path:
    """A barely trained tiny model (accuracy irrelevant: for plumbing tests)."""
    from crnn.config import load_config
    from crnn.train import train

    cfg = load_config(
        overrides=["cnn_channels=[8,8,16,16,16,16,16]", "hidden=16"],
        train=[str(digits_lmdb)], charset="digits", out=str(tmp_path / "tiny"),
        batch_size=16, max_steps=2, workers=0)
    train(cfg, progress=False)
    return tmp_path / "tiny" / "best.pt"

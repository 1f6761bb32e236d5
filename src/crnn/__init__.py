"""crnn: a complete, fast CRNN text-line recognizer for printed Chinese and English.

    >>> from crnn import Recognizer
    >>> Recognizer.load("runs/demo/best.pt")("line.png").text

Names are imported lazily, so ``import crnn`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Recognizer": "crnn.recognizer",
    "Result": "crnn.recognizer",
    "Charset": "crnn.charset",
    "read_page": "crnn.ocr",
    "Page": "crnn.ocr",
    "CRNN": "crnn.model",
    "ModelConfig": "crnn.model",
    "Preprocess": "crnn.data.images",
    "TrainConfig": "crnn.config",
    "load_config": "crnn.config",
    "train": "crnn.train",
    "evaluate": "crnn.evaluate",
    "load_checkpoint": "crnn.checkpoint",
    "save_checkpoint": "crnn.checkpoint",
    "CrnnError": "crnn.errors",
    "CharsetError": "crnn.errors",
    "CheckpointError": "crnn.errors",
    "ConfigError": "crnn.errors",
    "DatasetError": "crnn.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'crnn' has no attribute {name!r}")

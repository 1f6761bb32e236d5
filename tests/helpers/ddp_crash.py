"""Run ``crnn train`` under torchrun with rank 1 raising at step 2 (for tests)."""

import os
import sys

import crnn.train
from crnn.cli import main


def _fail(step: int) -> None:
    if os.environ.get("RANK") == "1" and step == 2:
        raise RuntimeError("simulated failure on rank 1")


crnn.train._after_step = _fail
sys.exit(main(sys.argv[1:]))

"""``crnn`` with the CNN's BatchNorm layers left out (for the exact DDP equivalence test:
BatchNorm is the one part whose result depends on how a batch is split across ranks)."""

import sys

import crnn.model
from crnn.cli import main

crnn.model._BATCHNORM = (False,) * 7
sys.exit(main(sys.argv[1:]))

"""Interpolate two checkpoints of one network, weight by weight (a "model soup" of a model
and one fine-tuned from it):

    python tools/average_weights.py --base v19.pt --tuned build/v25/run/best.pt \
        --weight 0.3 --out build/v25/soup30.pt

Every tensor becomes ``(1 - weight) * base + weight * tuned`` in fp32; the result keeps
``base``'s charset, preprocessing and reading policy, and loads, exports and fine-tunes as
any checkpoint. A fine-tuned model that gains on some sets and loses on others often keeps
most of both in between (the bundled v28 is v26 and v27 at 0.5: ``docs/models.md``).
Both checkpoints must have the same network and weight names, and the same charset or a
grown one: when ``tuned`` reads ``base``'s characters first, in order, and more after them
(``tools/grow_charset.py``, a fine-tune with ``init: base``), the output rows of the shared
characters are interpolated, the new rows are ``tuned``'s, and the result takes ``tuned``'s
charset (``--weight 0`` grafts the new rows onto ``base`` unchanged).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from crnn.checkpoint import load_checkpoint, save_checkpoint
from crnn.errors import CrnnError


def average(base, tuned, weight: float):
    """``base`` with each weight moved ``weight`` of the way to ``tuned``'s."""
    if not 0.0 <= weight <= 1.0:
        raise CrnnError(f"--weight {weight} must lie in [0, 1]")
    old, grown = base.charset.chars, tuned.charset.chars
    if grown != old and grown[:len(old)] != old:
        raise CrnnError("the two checkpoints have different charsets (a grown one must hold "
                        "the base's characters first, in their order: tools/grow_charset.py)")
    if dataclasses.replace(base.model_config,
                           num_classes=tuned.model_config.num_classes) != tuned.model_config:
        raise CrnnError("the two checkpoints have different networks: "
                        f"{base.model_config} and {tuned.model_config}")
    a, b = base.state_dict, tuned.state_dict
    if set(a) != set(b):
        raise CrnnError(f"weights only one checkpoint has: {sorted(set(a) ^ set(b))[:5]}")
    mixed = {}
    for k in a:
        x, y = a[k].float(), b[k].float()
        if x.shape != y.shape:  # the output layer of a grown charset: rows blank + old, new
            y = y.clone()
            y[:x.shape[0]] = (1.0 - weight) * x + weight * y[:x.shape[0]]
            mixed[k] = y
        else:
            mixed[k] = (1.0 - weight) * x + weight * y
    base.state_dict = mixed
    base.charset, base.model_config = tuned.charset, tuned.model_config
    return base


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the model fine-tuned from")
    ap.add_argument("--tuned", required=True, help="the fine-tuned model")
    ap.add_argument("--weight", type=float, required=True, help="share of --tuned, 0-1")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        ckpt = average(load_checkpoint(args.base), load_checkpoint(args.tuned), args.weight)
    except CrnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    save_checkpoint(ckpt, args.out)
    print(f"wrote {args.out}: {1 - args.weight:g} x {args.base} + {args.weight:g} x "
          f"{args.tuned}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Lower (or raise) the scores of a model's added characters by one constant: their prior.

    python tools/added_prior.py --model build/v44/run/last.pt --shift 2 \
        --out build/v44/v44_s2.pt

A model grown with ``added_rank`` (docs/training.md) scores the characters its charset
added in a block of their own, learnt on data in which those characters are far commoner
than in documents (v44: one line in two holds one, against fewer than one in a hundred of
real document lines). Taking ``--shift`` off every added class's bias divides their
probability by ``e ** shift`` in every frame, the correction of that prior: the added
characters then win only where the network is sure of them, and the characters the model
read before keep their place. Choose the shift on validation sets of your own (with and
without the added characters), as ``crnn export`` chooses a blank penalty.

The result keeps the checkpoint's charset, preprocessing, reading policy and calibration
lines; its training state is dropped; ``meta`` records the shift (summed over repeated
uses).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from crnn.errors import CrnnError

__all__ = ["shift_added"]


def shift_added(ckpt: Checkpoint, shift: float) -> Checkpoint:
    """A copy of ``ckpt`` whose added block's biases are ``shift`` lower."""
    cfg = ckpt.model_config
    if not cfg.added_classes:
        raise CrnnError("the model has no added block (added_rank): its classes all share "
                        "one output layer, so there is no prior of added characters to shift")
    if not math.isfinite(shift):
        raise CrnnError(f"--shift {shift}: give a finite number")
    key = f"rnn.{cfg.n_rnn - 1}.added_embedding.bias"
    sd = dict(ckpt.state_dict)
    sd[key] = (sd[key].double() - shift).to(sd[key].dtype)
    meta = dict(ckpt.meta or {})
    meta["added_prior"] = {"shift": float(shift) + float(
        (meta.get("added_prior") or {}).get("shift", 0.0))}
    return dataclasses.replace(ckpt, state_dict=sd, train_state=None, meta=meta)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint with an added block")
    ap.add_argument("--shift", type=float, required=True,
                    help="taken off each added class's score (negative raises them)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        out = shift_added(load_checkpoint(args.model), args.shift)
        save_checkpoint(out, args.out)
    except CrnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cfg = out.model_config
    print(f"wrote {args.out}: the {cfg.added_classes} added characters' scores "
          f"{args.shift:+g} lower (in all {out.meta['added_prior']['shift']:+g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Factor a trained CRNN's output layer through fewer units (a truncated SVD), so that it
costs less a frame and can be trained on in that form:

    python tools/factor_output.py --model src/crnn/models/default.pt --rank 256 \
        --out build/gpu_prep/v37_r256.pt

The output layer ``W`` (classes x 2·hidden) becomes ``embedding.weight @ project.weight``
with ``project`` (rank x 2·hidden, no bias) and ``embedding`` (classes x rank, the same
bias): the first ``rank`` singular directions of ``W``, each singular value split evenly
between the two factors (so both hold numbers of one size, as int8 quantization wants).
A frame then costs ``rank · (2·hidden + classes)`` multiplications instead of ``2·hidden ·
classes``: for the bundled v37 (512 inputs, 7,864 classes) rank 256 halves the output
layer, which is a third of the network's multiplications. The factored model reads
*nearly* as the full one: the script prints the share of ``W``'s squared singular values
kept and the largest score difference on a random batch. Its training config needs
``output_rank: RANK``; a fine-tune from it (``init:``) keeps both factors, and a charset
grown there adds rows to ``embedding`` alone.

A checkpoint trained in factored form (``output_rank``) is split anew: the product of its
two factors is factored again (at its rank nothing is lost), so that each singular value
is shared evenly once more, as int8 wants; a training run drifts from that balance.

The result keeps the checkpoint's charset, preprocessing, reading policy and calibration
lines; its training state is dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from crnn.errors import CrnnError

__all__ = ["factor"]


def factor(ckpt: Checkpoint, rank: int) -> tuple[Checkpoint, float]:
    """A copy of ``ckpt`` whose output layer is factored through ``rank`` units, and the
    share of the layer's squared singular values that the factors keep."""
    cfg = ckpt.model_config
    if cfg.added_classes:
        raise CrnnError(f"the model scores {cfg.added_classes} characters in an added block "
                        "(added_rank), already factored: factor the model it was grown from")
    prefix = f"rnn.{cfg.n_rnn - 1}"
    w = ckpt.state_dict[f"{prefix}.embedding.weight"].double()
    if cfg.output_rank:  # trained in factored form: the product of its factors
        if rank > cfg.output_rank:
            raise CrnnError(f"--rank {rank}: the output layer is factored through "
                            f"{cfg.output_rank} units already; give that rank or fewer")
        w = w @ ckpt.state_dict[f"{prefix}.project.weight"].double()
    if not 0 < rank < min(w.shape):
        raise CrnnError(f"--rank {rank}: give a number from 1 to {min(w.shape) - 1} (the "
                        f"output layer is {w.shape[0]} x {w.shape[1]})")
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    root = s[:rank].sqrt()
    dtype = ckpt.state_dict[f"{prefix}.embedding.weight"].dtype
    sd = dict(ckpt.state_dict)
    sd[f"{prefix}.project.weight"] = (root[:, None] * vh[:rank]).to(dtype).contiguous()
    sd[f"{prefix}.embedding.weight"] = (u[:, :rank] * root).to(dtype).contiguous()
    kept = float((s[:rank] ** 2).sum() / (s ** 2).sum())
    meta = {**ckpt.meta, "factored_from": {"classes": w.shape[0], "inputs": w.shape[1],
                                           "rank": rank, "kept": round(kept, 6),
                                           "from_rank": cfg.output_rank or None}}
    out = dataclasses.replace(ckpt, model_config=dataclasses.replace(cfg, output_rank=rank),
                              state_dict=sd, train_state=None, meta=meta)
    return out, kept


def max_score_difference(a: Checkpoint, b: Checkpoint, width: int = 160,
                         seed: int = 0) -> tuple[float, float]:
    """Largest difference between the two models' scores on a random batch (eval mode),
    and the largest score there, for scale."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(4, a.model_config.channels, a.model_config.height, width, generator=gen)
    with torch.no_grad():
        ya = a.build_model().float().eval()(x)
        yb = b.build_model().float().eval()(x)
    return float((ya - yb).abs().max()), float(ya.abs().max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint whose output layer to factor")
    ap.add_argument("--rank", type=int, required=True, help="units to factor it through")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        ckpt = load_checkpoint(args.model)
        out, kept = factor(ckpt, args.rank)
    except CrnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    diff, scale = max_score_difference(ckpt, out)
    save_checkpoint(out, args.out)
    cfg = ckpt.model_config
    print(f"wrote {args.out}: output layer {cfg.num_classes} x {2 * cfg.hidden} -> rank "
          f"{args.rank}, {kept:.4%} of its squared singular values kept; scores differ by "
          f"at most {diff:.3g} (largest score {scale:.3g}) on a random batch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

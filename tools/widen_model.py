"""Give a trained CRNN wider layers that read exactly as it did (a function-preserving
widening, as Net2Net's "wider" step), so training on adds capacity without starting over:

    python tools/widen_model.py --model build/v30/v28.pt --hidden 256 \
        --out build/v30/v28_h256.pt

Each bidirectional LSTM grows from ``hidden`` to ``--hidden`` units per direction. The
trained units keep their weights; a new unit gets a fresh draw of input, recurrent and
bias weights (PyTorch's LSTM initialisation), so it computes *something* from the start,
but every weight that carries a new unit's output onward (into the trained units' gates,
into the Linear after the layer) is zero, and a wider Linear between two layers gives its
new outputs zero weights and bias. The widened network therefore produces the same
scores as the given one (checked here on a random batch) and training starts at its
accuracy, while the zero weights get gradients from the first step (the new units'
outputs are not zero) and open up as the new units become useful.

``--cnn-channels`` widens the convolutions too, as Net2Net does: a new channel repeats a
trained one (filter, bias, batch-norm statistics), and the layer after it splits the
trained channel's weights among the copies (random shares that sum to the weight, so the
copies compute the same activation, sum to the same input for the next layer, and learn
apart). Separable convolutions are not widened.

The result keeps the checkpoint's charset, preprocessing and reading policy; its
training state is dropped (a fine-tune starts from it with ``init:`` and the new
``hidden`` and ``cnn_channels`` in the training config). LSTM only.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

import torch

from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from crnn.errors import CrnnError

__all__ = ["widen"]


def _grow_lstm(sd: dict[str, torch.Tensor], prefix: str, old_h: int, new_h: int,
               old_in: int, new_in: int, gen: torch.Generator) -> None:
    """Widen one direction-pair of ``nn.LSTM`` weights in ``sd`` in place."""
    bound = 1.0 / math.sqrt(new_h)

    def fresh(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=gen) * 2.0 - 1.0) * bound

    for suffix in ("_l0", "_l0_reverse"):
        w_ih, w_hh, b_ih, b_hh = (sd[f"{prefix}.{name}{suffix}"].float() for name in
                                  ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        n_ih, n_hh = fresh(4 * new_h, new_in), fresh(4 * new_h, new_h)
        n_bih, n_bhh = fresh(4 * new_h), fresh(4 * new_h)
        for g in range(4):  # gate blocks i, f, g, o
            old, new = slice(g * old_h, (g + 1) * old_h), slice(g * new_h, g * new_h + old_h)
            n_ih[new] = 0.0  # a trained unit sees no new input ...
            n_ih[new, :old_in] = w_ih[old]
            n_hh[new] = 0.0  # ... nor a new unit's previous output
            n_hh[new, :old_h] = w_hh[old, :]
            n_bih[new], n_bhh[new] = b_ih[old], b_hh[old]
        sd[f"{prefix}.weight_ih{suffix}"], sd[f"{prefix}.weight_hh{suffix}"] = n_ih, n_hh
        sd[f"{prefix}.bias_ih{suffix}"], sd[f"{prefix}.bias_hh{suffix}"] = n_bih, n_bhh


def _grow_linear(sd: dict[str, torch.Tensor], prefix: str, old_h: int, new_h: int,
                 new_out: int) -> None:
    """The Linear after a widened bidirectional layer: its inputs are [forward, backward]
    units; the new units' columns are zero, and new output rows (a wider inter-layer
    projection) are zero too."""
    w, b = sd[f"{prefix}.weight"].float(), sd[f"{prefix}.bias"].float()
    out = torch.zeros(new_out, 2 * new_h)
    out[:w.shape[0], :old_h] = w[:, :old_h]
    out[:w.shape[0], new_h:new_h + old_h] = w[:, old_h:]
    bias = torch.zeros(new_out)
    bias[:b.shape[0]] = b
    sd[f"{prefix}.weight"], sd[f"{prefix}.bias"] = out, bias


def _mapping(old: int, new: int, gen: torch.Generator) -> torch.Tensor:
    """Source channel of each widened channel: itself, then random copies."""
    extra = torch.randint(0, old, (new - old,), generator=gen)
    return torch.cat([torch.arange(old), extra])


def _split(w: torch.Tensor, g: torch.Tensor, old: int, gen: torch.Generator) -> torch.Tensor:
    """Columns (dim 1) of ``w`` taken through mapping ``g``, each copy's share of its
    source drawn at random per row, the shares of a source summing to 1: the layer's
    output is unchanged while copies of one channel get different weights (and so
    different gradients)."""
    r = torch.rand(w.shape[0], len(g), generator=gen) + 0.5
    total = torch.zeros(w.shape[0], old).index_add_(1, g, r)
    share = r / total[:, g]
    return w[:, g] * share.view(*share.shape, *([1] * (w.dim() - 2)))


def _grow_cnn(sd: dict[str, torch.Tensor], old: tuple[int, ...], new: tuple[int, ...],
              gen: torch.Generator) -> torch.Tensor:
    """Net2Net-wider convolutions: each new channel repeats a trained one (its filter,
    bias and batch-norm statistics), and the next layer splits that channel's weight
    among its copies. Returns the last layer's mapping."""
    g_in = None
    for i, (c_old, c_new) in enumerate(zip(old, new, strict=True)):
        g = _mapping(c_old, c_new, gen)
        w = sd[f"cnn.conv{i}.weight"].float()
        if g_in is not None:
            w = _split(w, g_in, old[i - 1], gen)
        sd[f"cnn.conv{i}.weight"] = w[g].clone()
        sd[f"cnn.conv{i}.bias"] = sd[f"cnn.conv{i}.bias"].float()[g].clone()
        for name in ("weight", "bias", "running_mean", "running_var"):
            key = f"cnn.batchnorm{i}.{name}"
            if key in sd:
                sd[key] = sd[key].float()[g].clone()
        g_in = g
    return g_in


def widen(ckpt: Checkpoint, hidden: int, seed: int = 0,
          cnn_channels: tuple[int, ...] | None = None) -> Checkpoint:
    """A copy of ``ckpt`` whose recurrent layers have ``hidden`` units per direction (and
    whose convolutions have ``cnn_channels``, if given) and which computes the same
    scores."""
    cfg = ckpt.model_config
    if cfg.rnn_type != "lstm":
        raise CrnnError(f"only LSTM layers can be widened, not {cfg.rnn_type}")
    if cfg.output_rank:
        raise CrnnError("the output layer is factored (tools/factor_output.py): widen the "
                        "full model, then factor it")
    if cfg.added_classes:
        raise CrnnError(f"the model scores {cfg.added_classes} characters in an added block "
                        "(added_rank): widen the model it was grown from, then add them")
    if hidden < cfg.hidden:
        raise CrnnError(f"--hidden {hidden} is below the model's {cfg.hidden}")
    channels = tuple(cnn_channels or cfg.cnn_channels)
    if len(channels) != len(cfg.cnn_channels) or any(
            n < o for n, o in zip(channels, cfg.cnn_channels, strict=True)):
        raise CrnnError(f"--cnn-channels {','.join(map(str, channels))}: give one count per "
                        f"convolution, none below the model's "
                        f"{','.join(map(str, cfg.cnn_channels))}")
    if cfg.separable and channels != tuple(cfg.cnn_channels):
        raise CrnnError("separable convolutions cannot be widened")
    gen = torch.Generator().manual_seed(seed)
    sd = {k: v.clone() for k, v in ckpt.state_dict.items()}
    if channels != tuple(cfg.cnn_channels):
        g = _grow_cnn(sd, tuple(cfg.cnn_channels), channels, gen)
        for suffix in ("_l0", "_l0_reverse"):
            key = f"rnn.0.rnn.weight_ih{suffix}"
            sd[key] = _split(sd[key].float(), g, cfg.cnn_channels[-1], gen)
    old_h = cfg.hidden
    for j in range(cfg.n_rnn):
        last = j == cfg.n_rnn - 1
        old_in = channels[-1] if j == 0 else old_h
        new_in = channels[-1] if j == 0 else hidden
        _grow_lstm(sd, f"rnn.{j}.rnn", old_h, hidden, old_in, new_in, gen)
        _grow_linear(sd, f"rnn.{j}.embedding", old_h, hidden,
                     cfg.num_classes if last else hidden)
    meta = dict(ckpt.meta)
    meta["widened_from"] = {"hidden": old_h, "cnn_channels": list(cfg.cnn_channels)}
    wide = dataclasses.replace(cfg, hidden=hidden, cnn_channels=channels)
    return dataclasses.replace(ckpt, model_config=wide, state_dict=sd, train_state=None,
                               meta=meta)


def max_score_difference(a: Checkpoint, b: Checkpoint, width: int = 160, seed: int = 0) -> float:
    """Largest difference between the two models' scores on a random batch (eval mode)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(4, a.model_config.channels, a.model_config.height, width, generator=gen)
    with torch.no_grad():
        ma, mb = a.build_model().float().eval(), b.build_model().float().eval()
        return float((ma(x) - mb(x)).abs().max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint to widen")
    ap.add_argument("--hidden", type=int, required=True, help="units per direction")
    ap.add_argument("--cnn-channels", help="new output channels of the seven convolutions, "
                                           "comma-separated (default: as they are)")
    ap.add_argument("--seed", type=int, default=0, help="draw of the new units' weights")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        ckpt = load_checkpoint(args.model)
        try:
            channels = (tuple(int(c) for c in args.cnn_channels.split(","))
                        if args.cnn_channels else None)
        except ValueError:
            raise CrnnError(f"--cnn-channels {args.cnn_channels!r}: give seven whole numbers "
                            "separated by commas") from None
        wide = widen(ckpt, args.hidden, args.seed, channels)
    except CrnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    diff = max_score_difference(ckpt, wide)
    if diff > 1e-3:
        print(f"error: the widened model's scores differ by {diff:.2e}", file=sys.stderr)
        return 1
    save_checkpoint(wide, args.out)
    print(f"wrote {args.out}: hidden {ckpt.model_config.hidden} -> {args.hidden}, "
          f"convolutions {list(ckpt.model_config.cnn_channels)} -> "
          f"{list(wide.model_config.cnn_channels)}, scores equal to {diff:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

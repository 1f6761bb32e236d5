"""The CRNN of Shi, Bai and Yao (2015), as in the tutorial and crnn.pytorch.

``CRNN(config)(images)`` maps images ``(N, C, H, W)`` to logits ``(T, N, K)`` and does
nothing else. The module names (``cnn.conv0`` ... ``cnn.batchnorm6`` ... ``rnn.1.embedding``)
match crnn.pytorch, so its state dicts load unchanged.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .architecture import ModelConfig, output_length

__all__ = ["CRNN", "ModelConfig", "output_length"]

_KERNELS = (3, 3, 3, 3, 3, 3, 2)
_PADDINGS = (1, 1, 1, 1, 1, 1, 0)
_BATCHNORM = (False, False, True, False, True, False, True)


class BidirectionalRNN(nn.Module):
    """A bidirectional LSTM/GRU followed by a Linear on each time step: ``(T, N, in)`` ->
    ``(T, N, out)``. Attribute names ``rnn`` and ``embedding`` follow crnn.pytorch. With
    ``rank`` the Linear is factored: ``project`` (no bias) down to ``rank`` units, then
    ``embedding`` from them. With ``added`` the last ``added`` of the ``n_out`` outputs
    come from a factored block of their own (``added_project`` down to ``added_rank``
    units, then ``added_embedding``), so that they can be learnt beside a trained
    ``embedding`` that stays as it was."""

    def __init__(self, n_in: int, hidden: int, n_out: int, rnn_type: str = "lstm",
                 rank: int = 0, added: int = 0, added_rank: int = 0) -> None:
        super().__init__()
        rnn_cls = nn.LSTM if rnn_type == "lstm" else nn.GRU
        self.rnn = rnn_cls(n_in, hidden, bidirectional=True)
        self.project = nn.Linear(hidden * 2, rank, bias=False) if rank else None
        self.embedding = nn.Linear(rank or hidden * 2, n_out - added)
        self.added_project = nn.Linear(hidden * 2, added_rank, bias=False) if added else None
        self.added_embedding = nn.Linear(added_rank, added) if added else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recurrent, _ = self.rnn(x)
        reduced = recurrent if self.project is None else self.project(recurrent)
        out = self.embedding(reduced)
        if self.added_embedding is not None:
            added = self.added_embedding(self.added_project(recurrent))
            out = torch.cat([out, added], dim=-1)
        return out


class SeparableConv2d(nn.Module):
    """A depthwise k x k convolution followed by a pointwise 1 x 1 one."""

    def __init__(self, n_in: int, n_out: int, kernel: int, padding: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(n_in, n_in, kernel, 1, padding, groups=n_in, bias=False)
        self.pointwise = nn.Conv2d(n_in, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class CRNN(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.cnn_channels
        cnn = nn.Sequential()
        for i in range(7):
            n_in = config.channels if i == 0 else ch[i - 1]
            if config.separable and i > 0:
                conv: nn.Module = SeparableConv2d(n_in, ch[i], _KERNELS[i], _PADDINGS[i])
            else:
                conv = nn.Conv2d(n_in, ch[i], _KERNELS[i], 1, _PADDINGS[i])
            cnn.add_module(f"conv{i}", conv)
            if _BATCHNORM[i]:
                cnn.add_module(f"batchnorm{i}", nn.BatchNorm2d(ch[i]))
            act = nn.LeakyReLU(0.2, inplace=True) if config.leaky_relu else nn.ReLU(True)
            cnn.add_module(f"relu{i}", act)
            if i in (0, 1):  # halve height and width
                cnn.add_module(f"pooling{i}", nn.MaxPool2d(2, 2))
            elif i in (3, 5):  # halve height only, keep horizontal resolution
                pool = nn.MaxPool2d((2, 2), (2, 1), (0, 1))
                cnn.add_module(f"pooling{2 if i == 3 else 3}", pool)
        self.cnn = cnn
        layers = []
        for j in range(config.n_rnn):
            n_in = ch[6] if j == 0 else config.hidden
            last = j == config.n_rnn - 1
            n_out = config.num_classes if last else config.hidden
            layers.append(BidirectionalRNN(
                n_in, config.hidden, n_out, config.rnn_type,
                config.output_rank if last else 0, config.added_classes if last else 0,
                config.added_rank if last else 0))
        self.rnn = nn.Sequential(*layers)

    def folded(self) -> CRNN:
        """This model with its added block (``added_classes``) multiplied out into one
        output layer over all the classes: the same scores from one matrix. onnxruntime
        runs that faster than two layers whose scores are then joined (the join alone
        took about as long as the block's own layer; docs/performance.md). The model
        itself where it has no block, or where its output layer is factored
        (``output_rank``: the block does not read the reduced units)."""
        cfg = self.config
        if not cfg.added_classes or cfg.output_rank:
            return self
        last = self.rnn[-1]
        with torch.no_grad():
            block = (last.added_embedding.weight.double()
                     @ last.added_project.weight.double()).to(last.embedding.weight.dtype)
            weight = torch.cat([last.embedding.weight, block])
            bias = torch.cat([last.embedding.bias, last.added_embedding.bias])
        plain = CRNN(dataclasses.replace(cfg, added_classes=0, added_rank=0))
        state = {k: v for k, v in self.state_dict().items() if ".added_" not in k}
        state[f"rnn.{cfg.n_rnn - 1}.embedding.weight"] = weight
        state[f"rnn.{cfg.n_rnn - 1}.embedding.bias"] = bias
        plain.load_state_dict(state)
        return plain.to(weight.device).train(self.training)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images ``(N, C, H, W)`` in [-1, 1] -> logits ``(T, N, K)``, T = W // 4 + 1."""
        features = self.cnn(images)  # (N, C', h, T)
        if features.shape[2] == 1:
            features = features.squeeze(2)
        else:  # heights above 32 leave h > 1 rows; average them into one
            features = features.mean(dim=2)
        return self.rnn(features.permute(2, 0, 1).contiguous())

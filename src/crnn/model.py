"""The CRNN of Shi, Bai and Yao (2015), as in the tutorial and crnn.pytorch.

``CRNN(config)(images)`` maps images ``(N, C, H, W)`` to logits ``(T, N, K)`` and does
nothing else. The module names (``cnn.conv0`` ... ``cnn.batchnorm6`` ... ``rnn.1.embedding``)
match crnn.pytorch, so its state dicts load unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .errors import ConfigError

__all__ = ["CRNN", "ModelConfig", "output_length"]

_KERNELS = (3, 3, 3, 3, 3, 3, 2)
_PADDINGS = (1, 1, 1, 1, 1, 1, 0)
_BATCHNORM = (False, False, True, False, True, False, True)
TUTORIAL_CHANNELS = (64, 128, 256, 256, 512, 512, 512)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a CRNN. The defaults are the tutorial's model.

    num_classes: charset size + 1 (the blank).
    height: input height, a multiple of 16, at least 32.
    channels: input channels, 1 (grey) or 3 (RGB).
    hidden: RNN hidden size per direction.
    n_rnn: number of bidirectional RNN layers (each followed by a Linear).
    rnn_type: ``lstm`` or ``gru``.
    leaky_relu: LeakyReLU(0.2) instead of ReLU.
    cnn_channels: output channels of the seven convolutions.
    separable: depthwise-separable convolutions 1..6 (a depthwise k x k then a 1 x 1),
        the CPU-light variant (configs/light.yaml); the first convolution stays standard.
    """

    num_classes: int
    height: int = 32
    channels: int = 1
    hidden: int = 256
    n_rnn: int = 2
    rnn_type: str = "lstm"
    leaky_relu: bool = False
    cnn_channels: tuple[int, ...] = field(default=TUTORIAL_CHANNELS)
    separable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "cnn_channels", tuple(int(c) for c in self.cnn_channels))
        if self.num_classes < 2:
            raise ConfigError(f"num_classes {self.num_classes}: need a charset of at least 1")
        if self.height % 16 or self.height < 32:
            raise ConfigError(
                f"input height {self.height} is not supported: the CNN divides the height by "
                "16 and its last convolution needs 2 rows; use 32, 48, 64, ..."
            )
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, not {self.channels}")
        if len(self.cnn_channels) != 7 or min(self.cnn_channels) < 1:
            raise ConfigError(f"cnn_channels needs 7 positive widths, got {self.cnn_channels}")
        if self.rnn_type not in ("lstm", "gru"):
            raise ConfigError(f"rnn_type must be 'lstm' or 'gru', not {self.rnn_type!r}")
        if self.n_rnn < 1 or self.hidden < 1:
            raise ConfigError("n_rnn and hidden must be at least 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cnn_channels"] = list(self.cnn_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def output_length(width: int) -> int:
    """Time steps T the CNN produces for an input of width W (``W // 4 + 1``)."""
    return width // 2 // 2 + 1


class BidirectionalRNN(nn.Module):
    """A bidirectional LSTM/GRU followed by a Linear on each time step: ``(T, N, in)`` ->
    ``(T, N, out)``. Attribute names ``rnn`` and ``embedding`` follow crnn.pytorch."""

    def __init__(self, n_in: int, hidden: int, n_out: int, rnn_type: str = "lstm") -> None:
        super().__init__()
        rnn_cls = nn.LSTM if rnn_type == "lstm" else nn.GRU
        self.rnn = rnn_cls(n_in, hidden, bidirectional=True)
        self.embedding = nn.Linear(hidden * 2, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recurrent, _ = self.rnn(x)
        return self.embedding(recurrent)


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
            n_out = config.num_classes if j == config.n_rnn - 1 else config.hidden
            layers.append(BidirectionalRNN(n_in, config.hidden, n_out, config.rnn_type))
        self.rnn = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images ``(N, C, H, W)`` in [-1, 1] -> logits ``(T, N, K)``, T = W // 4 + 1."""
        features = self.cnn(images)  # (N, C', h, T)
        if features.shape[2] == 1:
            features = features.squeeze(2)
        else:  # heights above 32 leave h > 1 rows; average them into one
            features = features.mean(dim=2)
        return self.rnn(features.permute(2, 0, 1).contiguous())

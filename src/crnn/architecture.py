"""A CRNN's architecture as data: :class:`ModelConfig` and the time steps a width gives.

Kept apart from the network (:mod:`crnn.model`, which needs torch) so that describing a
model, reading a checkpoint's or an ONNX file's metadata and running the ONNX backend
import no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = ["ModelConfig", "output_length", "TUTORIAL_CHANNELS"]

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
    output_rank: 0 for a full output layer; R > 0 factors it through R units (the last
        layer's ``project``, 2 x hidden -> R, then ``embedding``, R -> num_classes), which
        costs ``R * (2 * hidden + num_classes)`` multiplications a frame instead of
        ``2 * hidden * num_classes`` (``tools/factor_output.py`` factors a trained one).
    added_classes: 0, or the last classes of the charset scored by a block of their own
        beside the output layer (the last layer's ``added_project``, 2 x hidden ->
        ``added_rank``, then ``added_embedding``, -> added_classes; their scores follow
        the output layer's): characters added to a trained model's charset, learnt while
        its own output layer stays as it was (``added_rank`` in the training config).
    added_rank: the units the added block is factored through (> 0 with added_classes).
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
    output_rank: int = 0
    added_classes: int = 0
    added_rank: int = 0

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
        if self.output_rank < 0:
            raise ConfigError(f"output_rank {self.output_rank}: use 0 (a full output layer) "
                              "or the number of units to factor it through")
        if self.added_classes < 0 or self.added_classes > self.num_classes - 2:
            raise ConfigError(f"added_classes {self.added_classes}: use 0, or fewer than the "
                              f"{self.num_classes - 1} characters of the charset")
        if (self.added_rank > 0) != (self.added_classes > 0) or self.added_rank < 0:
            raise ConfigError(f"added_rank {self.added_rank} with added_classes "
                              f"{self.added_classes}: an added block needs both > 0, no "
                              "added block both 0")

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


def frame_column(frame: Any) -> Any:
    """The input column in the middle of a frame's 4 columns (the CNN's stride across the
    width, :func:`output_length`): a frame index, or a numpy array of them."""
    return frame * 4 + 2

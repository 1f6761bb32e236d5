"""Training configuration: one frozen dataclass, loaded from YAML + ``key=value`` overrides.

The resolution happens here and only here; ``crnn train`` saves the resolved config as
``config.yaml`` in its run directory, and the checkpoint carries it for ``--resume``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["TrainConfig", "load_config", "dump_config", "read_yaml_mapping", "OPTIMIZERS",
           "SCHEDULERS"]

OPTIMIZERS = ("adam", "adamw", "rmsprop", "adadelta")
SCHEDULERS = ("constant", "step", "cosine", "onecycle")
FREEZE = ("none", "cnn", "body", "trained")


@dataclass(frozen=True)
class TrainConfig:
    # data
    train: tuple[str, ...] = ()  # LMDB directories and/or label files
    val: tuple[str, ...] = ()
    images_root: str | None = None  # for label files; default: the label file's folder
    label_format: str = "auto"
    charset: str = "ascii"  # preset, charset file, or "chars:..."
    oov: str = "error"  # error | skip-sample | drop-char
    # preprocessing and model
    height: int = 32
    width: int | None = None  # fixed width (tutorial: 100); None keeps the aspect ratio
    max_width: int = 2048
    channels: int = 1
    hidden: int = 256
    n_rnn: int = 2
    rnn_type: str = "lstm"
    leaky_relu: bool = False
    cnn_channels: tuple[int, ...] = (64, 128, 256, 256, 512, 512, 512)
    separable: bool = False  # depthwise-separable convolutions (the CPU-light variant)
    output_rank: int = 0  # R > 0: the output layer factored through R units (ModelConfig)
    added_rank: int = 0  # R > 0 with init: the characters the charset adds after init's are
    # scored by a block of their own, factored through R units, beside init's output layer
    # (ModelConfig.added_classes); with freeze: trained, init's layer stays as it was
    stretch_jitter: float = 0.0  # j: each training line is read at a random width, drawn per
    # sample and epoch between (1 - j) and (1 + j) times its own (variable-width models only)
    augment: float = 0.0  # share of training lines degraded as a scan each time they are
    # read (crnn.data.augment), drawn per sample and epoch
    recut: float = 0.0  # share of training lines recut at their ink box each time they are
    # read (crnn.reading.recut, as a reading policy's ink_margin recuts every line it reads)
    recut_margin: tuple[float, ...] = (0.1, 0.2)  # the margin, in ink heights, drawn per
    # sample and epoch from this range
    # optimisation
    batch_size: int | str = 64  # lines per step and process, or "auto" (largest that fits)
    epochs: int = 10
    max_steps: int | None = None  # stop after this many steps (overrides epochs)
    optimizer: str = "adam"
    lr: float = 1e-3
    head_lr: float | None = None  # the output layer's lr (default: lr), e.g. to train the
    # new rows of a grown charset faster than the fine-tuned body
    freeze: str = "none"  # keep weights of init as they are: none, cnn, body (all but the
    # output layer: a grown charset's new rows learnt on the fine-tuned model's own features)
    # or trained (every weight init holds: only the added block, added_rank, learns)
    weight_decay: float = 0.0
    momentum: float = 0.0  # rmsprop
    scheduler: str = "constant"
    warmup_steps: int = 0
    step_size: int = 10000  # step scheduler: decay every step_size steps
    gamma: float = 0.1  # step scheduler: decay factor
    min_lr_ratio: float = 0.01  # cosine / onecycle: final lr = lr * min_lr_ratio
    lr_scaling: str = "none"  # with N processes: lr x1 (none), xN (linear), x sqrt(N) (sqrt)
    sync_bn: bool = True  # with several GPUs: BatchNorm statistics over the global batch
    grad_clip: float | None = 5.0
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)
    # loop
    workers: int = 2
    seed: int = 0
    device: str = "auto"
    val_every: int = 500  # steps; also validated at each epoch's end
    save_every: int = 500  # steps between "last" checkpoints
    log_every: int = 50
    early_stop: int = 0  # stop after this many validations without improvement; 0 = never
    out: str = "runs/crnn"
    init: str | None = None  # fine-tune from this checkpoint (charset may differ)
    init_partial: bool = False  # layers init lacks or holds in another shape start afresh
    # (a deeper or wider recurrent part on a trained CNN) instead of being an error
    tensorboard: bool = True  # used when the tensorboard package is installed

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{f.name} must be a finite number, not {v}")
        for name in ("train", "val", "cnn_channels", "recut_margin"):
            v = getattr(self, name)
            if isinstance(v, (str, int)):
                v = (v,)
            object.__setattr__(self, name, tuple(v or ()))
        object.__setattr__(self, "cnn_channels", tuple(int(c) for c in self.cnn_channels))
        object.__setattr__(self, "recut_margin", tuple(float(m) for m in self.recut_margin))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer {self.optimizer!r}: choose one of {OPTIMIZERS}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"scheduler {self.scheduler!r}: choose one of {SCHEDULERS}")
        if self.lr_scaling not in ("none", "linear", "sqrt"):
            raise ConfigError(f"lr_scaling {self.lr_scaling!r}: choose none, linear or sqrt")
        if self.oov not in ("error", "skip-sample", "drop-char"):
            raise ConfigError(f"oov {self.oov!r}: choose error, skip-sample or drop-char")
        if self.batch_size != "auto" and not (isinstance(self.batch_size, int)
                                              and self.batch_size >= 1):
            raise ConfigError(f"batch_size must be a positive integer or auto, not "
                              f"{self.batch_size!r}")
        if self.epochs < 1 or self.lr <= 0:
            raise ConfigError("epochs must be >= 1 and lr > 0")
        for name in ("weight_decay", "momentum"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, not {getattr(self, name)}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be > 0 (or null for none), not {self.grad_clip}")
        if not 0.0 <= self.min_lr_ratio <= 1.0 or self.gamma <= 0:
            raise ConfigError("min_lr_ratio must be in [0, 1] and gamma > 0")
        if self.freeze not in FREEZE:
            raise ConfigError(f"freeze {self.freeze!r}: choose one of {FREEZE}")
        if self.freeze != "none" and not self.init:
            raise ConfigError(f"freeze: {self.freeze} keeps trained weights as they are: give "
                              "the checkpoint to fine-tune with init")
        if self.added_rank < 0:
            raise ConfigError(f"added_rank must be >= 0, not {self.added_rank}")
        if self.added_rank and not self.init:
            raise ConfigError("added_rank adds a block for the characters a charset adds to a "
                              "trained model's: give that checkpoint with init")
        if self.freeze == "trained" and not self.added_rank:
            raise ConfigError("freeze: trained keeps every weight init holds, so only an added "
                              "block (added_rank) would learn: give added_rank, or freeze body")
        if self.head_lr is not None and self.head_lr <= 0:
            raise ConfigError("head_lr must be > 0 (or left out to use lr)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError("max_steps must be >= 1")
        if self.workers < 0:
            raise ConfigError("workers must be >= 0")
        if not 0.0 <= self.stretch_jitter < 1.0:
            raise ConfigError(f"stretch_jitter must be in [0, 1), not {self.stretch_jitter}")
        if not 0.0 <= self.augment <= 1.0:
            raise ConfigError(f"augment is a share of lines in [0, 1], not {self.augment}")
        if not 0.0 <= self.recut <= 1.0:
            raise ConfigError(f"recut is a share of lines in [0, 1], not {self.recut}")
        lo_hi = self.recut_margin
        if len(lo_hi) != 2 or not 0.0 <= lo_hi[0] <= lo_hi[1] <= 1.0:
            raise ConfigError(f"recut_margin is a range [low, high] of ink heights within "
                              f"[0, 1], not {list(lo_hi)}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Check a YAML value against the field's annotation, converting where lossless."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for i, hint_i in enumerate(inner):  # the first type that takes the value
            try:
                return _coerce(name, value, hint_i)
            except ConfigError:
                if i == len(inner) - 1:
                    raise
    if origin is tuple:
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(_coerce(name, v, args[0]) for v in items)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be an integer, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, not {value!r}")
            return float(value)
        raise ConfigError(f"{name} must be a number, not {value!r}")
    if hint is str:
        return str(value)
    return value


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The mapping a YAML file holds (an empty file is an empty mapping): the one reader of
    every config file (training here, synthesis in :mod:`crnn.synth.config`); an unreadable
    file, bad YAML or a non-mapping is a :class:`ConfigError` naming ``what`` and the file."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {path} must be a mapping of key: value")
    return loaded


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None, **values: Any) -> TrainConfig:
    """``base`` (a resumed run's config), then the YAML file (flat keys), then ``values``
    (command-line flags), then ``key=value`` overrides: the last wins."""
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        data.update(read_yaml_mapping(path, "config"))
    data.update({k: v for k, v in values.items() if v is not None})
    hints = typing.get_type_hints(TrainConfig)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} must look like key=value")
        key = key.strip().replace("-", "_")
        if hints.get(key) in (str, str | None) and raw not in ("", "null", "~"):
            data[key] = raw  # text as given: "chars: abc" is a charset, not a mapping
        else:
            data[key] = yaml.safe_load(raw) if raw != "" else None
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(unknown)}; valid keys: {', '.join(hints)}"
        )
    resolved = {k: _coerce(k, v, hints[k]) for k, v in data.items()}
    return TrainConfig(**resolved)


def dump_config(cfg: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True),
                          encoding="utf-8")


"""Self-describing checkpoints, written atomically and loaded with ``weights_only=True``.

A checkpoint is one file holding::

    format: "crnn-checkpoint", version: 1,
    model: ModelConfig dict, charset: {"name", "chars"}, preprocess: Preprocess dict,
    reading: ReadingPolicy dict (how the model reads at recognition time),
    state_dict: weights, train_state: (optional) optimizer, scheduler, step, RNG, config.

Files written before the reading policy had its own key kept it among the preprocessing
settings; :func:`load_checkpoint` (and the ONNX loader, through :func:`reading_of`) moves
it out, the one place old files are upgraded.

Plain crnn.pytorch state dicts (keys ``cnn.conv0.weight`` ... ``rnn.1.embedding.bias``, with
or without ``module.`` / ``_orig_mod.`` prefixes) load too, given their alphabet.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .architecture import ModelConfig
from .charset import Charset
from .data.images import Preprocess
from .errors import CheckpointError
from .reading import ReadingPolicy

if TYPE_CHECKING:  # torch is imported where weights are read or written, not to import
    import torch  # this module: reading_of serves the ONNX backend, which needs no torch

    from .model import CRNN

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "atomic_torch_save",
           "clean_state_dict", "config_from_state_dict", "reading_of"]

FORMAT = "crnn-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    model_config: ModelConfig
    charset: Charset
    preprocess: Preprocess
    state_dict: dict[str, torch.Tensor]
    train_state: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    reading: ReadingPolicy = field(default_factory=ReadingPolicy)

    def build_model(self) -> CRNN:
        from .model import CRNN

        model = CRNN(self.model_config)
        missing, unexpected = model.load_state_dict(self.state_dict, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise CheckpointError(
                f"weights do not fit the model described in the checkpoint: missing "
                f"{missing[:5]}, unexpected {unexpected[:5]}"
            )
        return model

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model_config.to_dict(),
            "charset": self.charset.to_dict(),
            "preprocess": self.preprocess.to_dict(),
            "reading": self.reading.to_dict(),
            "state_dict": self.state_dict,
            "meta": self.meta,
        }
        if self.train_state is not None:
            payload["train_state"] = self.train_state
        return payload


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over it."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> None:
    atomic_torch_save(ckpt.to_payload(), path)


def clean_state_dict(sd: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Strip ``module.`` (DataParallel/DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out = {}
    for k, v in sd.items():
        for prefix in ("module.", "_orig_mod."):
            while k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


def config_from_state_dict(sd: dict[str, torch.Tensor], height: int = 32) -> ModelConfig:
    """Infer the architecture from a crnn.pytorch-style state dict's shapes."""
    try:
        conv = [sd[f"cnn.conv{i}.weight"] for i in range(7)]
        n_rnn = 0
        while f"rnn.{n_rnn}.embedding.weight" in sd:
            n_rnn += 1
        w_ih = sd["rnn.0.rnn.weight_ih_l0"]
        w_hh = sd["rnn.0.rnn.weight_hh_l0"]
        last = sd[f"rnn.{n_rnn - 1}.embedding.weight"]
    except KeyError as exc:
        raise CheckpointError(
            f"not a CRNN state dict: key {exc.args[0]!r} is missing (expected crnn.pytorch "
            "names such as cnn.conv0.weight and rnn.1.embedding.bias)"
        ) from exc
    hidden = w_hh.shape[1]
    gates = w_ih.shape[0] // hidden
    added = sd.get(f"rnn.{n_rnn - 1}.added_embedding.weight")
    return ModelConfig(
        num_classes=last.shape[0] + (0 if added is None else added.shape[0]),
        height=height,
        channels=conv[0].shape[1],
        hidden=hidden,
        n_rnn=n_rnn,
        rnn_type="lstm" if gates == 4 else "gru",
        cnn_channels=tuple(c.shape[0] for c in conv),
        output_rank=last.shape[1] if f"rnn.{n_rnn - 1}.project.weight" in sd else 0,
        added_classes=0 if added is None else added.shape[0],
        added_rank=0 if added is None else added.shape[1],
    )


def _torch_load(path: Path, map_location: str | torch.device) -> Any:
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise CheckpointError(f"checkpoint {path} is a directory, not a file") from exc
    except Exception as exc:  # a foreign file can fail the unpickler in many ways
        size = path.stat().st_size if path.exists() else 0
        raise CheckpointError(
            f"{path} ({size} bytes) is not a readable PyTorch checkpoint: it is truncated, "
            f"corrupt or another kind of file ({type(exc).__name__}: {str(exc)[:120]})"
        ) from exc


def reading_of(meta: dict[str, Any]) -> ReadingPolicy:
    """The reading policy of a checkpoint payload or ONNX metadata: its ``reading``, or,
    in files written before it had a key of its own, the one kept among the
    ``preprocess`` settings."""
    if "reading" in meta:
        return ReadingPolicy.from_dict(meta["reading"])
    return ReadingPolicy.from_preprocess_dict(meta.get("preprocess", {}))


def load_checkpoint(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    charset: Charset | str | None = None,
    preprocess: Preprocess | None = None,
) -> Checkpoint:
    """Load a crnn checkpoint, or a plain crnn.pytorch state dict given its ``charset``.

    Raises :class:`CheckpointError` for a missing, truncated or foreign file, and when a
    given ``charset`` does not match the checkpoint's output size.
    """
    path = Path(path)
    obj = _torch_load(path, map_location)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        if obj.get("version", 0) > VERSION:
            raise CheckpointError(
                f"{path} was written by a newer crnn (format version {obj['version']}); "
                "upgrade crnn to load it"
            )
        try:
            ckpt = Checkpoint(
                model_config=ModelConfig.from_dict(obj["model"]),
                charset=Charset.from_dict(obj["charset"]),
                preprocess=Preprocess.from_dict(obj["preprocess"]),
                state_dict=obj["state_dict"],
                train_state=obj.get("train_state"),
                meta=obj.get("meta", {}),
                reading=reading_of(obj),
            )
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: checkpoint is missing field {exc}") from exc
        if charset is not None and Charset.resolve(charset) != ckpt.charset:
            raise CheckpointError(
                f"{path} was trained on charset {ckpt.charset.name} "
                f"({len(ckpt.charset)} characters), not on the given {charset}; leave the "
                "charset out (the checkpoint carries its own) or fine-tune with --init"
            )
        if ckpt.charset.num_classes != ckpt.model_config.num_classes:
            raise CheckpointError(
                f"{path}: charset has {len(ckpt.charset)} characters but the model "
                f"{ckpt.model_config.num_classes - 1}; the file is inconsistent"
            )
        return ckpt
    import torch

    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        sd = clean_state_dict(obj)
        cfg = config_from_state_dict(sd)
        if charset is None:
            raise CheckpointError(
                f"{path} is a plain state dict ({cfg.num_classes} classes) without a charset; "
                "give its alphabet (e.g. --charset alphabet.txt)"
            )
        cs = Charset.resolve(charset)
        if cs.num_classes != cfg.num_classes:
            raise CheckpointError(
                f"{path} has {cfg.num_classes - 1} output characters but charset {cs.name} "
                f"has {len(cs)}: it was trained on another charset"
            )
        pre = preprocess or Preprocess(height=cfg.height, channels=cfg.channels)
        return Checkpoint(cfg, cs, pre, sd, meta={"source": "state_dict"})
    raise CheckpointError(
        f"{path} is a PyTorch file but not a crnn checkpoint or CRNN state dict "
        f"(top-level type {type(obj).__name__})"
    )

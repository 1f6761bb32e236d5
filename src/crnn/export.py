"""ONNX export (``crnn export``) and the onnxruntime model used by ``Recognizer``.

The exported graph maps images ``(N, C, H, W)`` (dynamic N and W) to logits ``(T, N, K)``,
exactly like :class:`crnn.model.CRNN`. The charset, preprocessing and model config travel
in the model's metadata (key ``crnn``, JSON), so an ``.onnx`` file is as self-describing
as a checkpoint and ``Recognizer.load("model.onnx")`` needs nothing else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import ModelConfig
from .charset import Charset
from .checkpoint import Checkpoint, reading_of
from .data.images import Preprocess
from .errors import CheckpointError

__all__ = ["export_onnx", "export_fp16", "onnx_bytes", "OnnxModel", "quantize_int8",
           "onnx_available", "cached_onnx"]

META_KEY = "crnn"
OPSET = 17


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:
        raise CheckpointError(
            f"the ONNX backend needs the '{module}' package: pip install 'crnn[export]'"
        ) from exc


def onnx_available() -> bool:
    """Whether this install can export (``onnx``) and run (``onnxruntime``) ONNX models."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def cache_dir() -> Path:
    """Where exported models are kept between runs: ``$CRNN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/crnn``, else ``~/.cache/crnn``."""
    if os.environ.get("CRNN_CACHE_DIR"):
        return Path(os.environ["CRNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crnn"


def _torch_version() -> str:
    """torch's version, read from its install record (importing torch takes a second;
    a cache hit should not)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        import torch

        return torch.__version__


def cached_onnx(checkpoint: Path) -> OnnxModel:
    """The checkpoint file's model as an :class:`OnnxModel`, exported once and kept in
    :func:`cache_dir` under a hash of the file's bytes and of the exporting code, so
    later runs load it without exporting (the checkpoint itself is loaded only on a
    miss). A checkpoint exported with ``crnn export --cpu-int8`` (``meta["cpu_int8"]``)
    is quantized as :func:`quantize_int8` does. The eight most recently used exports are
    kept. Where the cache cannot be written, the export stays in memory."""
    h = hashlib.sha256(checkpoint.read_bytes())
    h.update(f"torch {_torch_version()} opset {OPSET}".encode())
    here = Path(__file__).parent
    for source in ("export.py", "checkpoint.py", "architecture.py", "model.py", "reading.py",
                   "data/images.py"):
        h.update((here / source).read_bytes())  # how a checkpoint becomes the graph
    path = cache_dir() / f"{checkpoint.stem}-{h.hexdigest()[:20]}.onnx"
    if path.is_file():
        try:
            model = OnnxModel(path)
            os.utime(path)  # recently used: kept when the cache is trimmed
            return model
        except (CheckpointError, OSError):
            pass  # a damaged cache entry: export again
    from .checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    data = onnx_bytes(ckpt)
    if ckpt.meta.get("cpu_int8"):  # the model was shipped to run int8 on onnxruntime
        data = quantize_int8(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        _trim(path.parent)
    except OSError:
        pass  # read-only home, full disk: run from memory
    return OnnxModel(data)


# exported models kept in the cache (about 11 MB each for the bundled architecture)
_CACHE_KEEP = 8


def _trim(folder: Path) -> None:
    """Delete all but the ``_CACHE_KEEP`` most recently used exports."""
    entries = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[_CACHE_KEEP:]:
        old.unlink(missing_ok=True)


def onnx_bytes(ckpt: Checkpoint, example_width: int = 160) -> bytes:
    """Export a checkpoint's model to an in-memory ONNX model with metadata."""
    import torch

    onnx = _require("onnx")
    model = ckpt.build_model().eval()
    pre = ckpt.preprocess
    x = torch.zeros(1, pre.channels, pre.height, pre.width or example_width)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about the height branch and RNNs
        torch.onnx.export(
            model, (x,), buf, dynamo=False, opset_version=OPSET,
            input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch", 3: "width"},
                          "logits": {0: "time", 1: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    meta = {"format": "crnn-onnx", "version": 1, "model": ckpt.model_config.to_dict(),
            "charset": ckpt.charset.to_dict(), "preprocess": pre.to_dict(),
            "reading": ckpt.reading.to_dict()}
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, ensure_ascii=False)
    proto.producer_name = "crnn"
    return proto.SerializeToString()


def quantize_int8(model: bytes) -> bytes:
    """Dynamic int8 quantization of the recurrent and linear layers' weights (LSTM, GRU,
    MatMul, Gemm). Convolutions stay fp32: onnxruntime's dynamic ConvInteger path measured
    several times slower than fp32 convolution on the CPU (docs/performance.md)."""
    _require("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process is for convolutions
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(model)
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["LSTM", "GRU", "MatMul", "Gemm"])
            return dst.read_bytes()
    finally:
        logging.disable(previous)


def export_onnx(ckpt: Checkpoint, out: str | Path, int8: bool = False) -> Path:
    """Write ``out`` atomically; ``int8`` applies dynamic weight quantization."""
    data = onnx_bytes(ckpt)
    if int8:
        data = quantize_int8(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return out


def export_fp16(ckpt: Checkpoint, out: str | Path) -> Path:
    """A compact inference checkpoint: weights in fp16, no training state (loads like any
    checkpoint; the weights are cast back to fp32 on load). Written atomically."""
    from .checkpoint import save_checkpoint

    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt.state_dict.items()}
    slim = Checkpoint(ckpt.model_config, ckpt.charset, ckpt.preprocess, half, None,
                      {**ckpt.meta, "dtype": "float16"}, ckpt.reading)
    save_checkpoint(slim, out)
    return Path(out)


class OnnxModel:
    """An onnxruntime session plus the metadata ``crnn`` needs: ``charset``,
    ``preprocess``, ``reading``, ``config``. Calling it maps a float32 batch
    ``(N, C, H, W)`` to logits ``(T, N, K)``."""

    def __init__(self, model: str | Path | bytes, threads: int | None = None) -> None:
        ort = _require("onnxruntime")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Its threads sleep between runs instead of spinning: the decoding that follows
        # each batch (the log-normaliser on every core, the fused search) gets the cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        name = "in-memory model" if isinstance(model, bytes) else str(model)
        try:
            src = model if isinstance(model, bytes) else str(model)
            self.session = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CheckpointError(f"{name} is not a loadable ONNX model: {exc}") from exc
        raw = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise CheckpointError(f"{name} has no crnn metadata; export it with crnn export")
        meta: dict[str, Any] = json.loads(raw)
        self.name = name
        self.charset = Charset.from_dict(meta["charset"])
        self.preprocess = Preprocess.from_dict(meta["preprocess"])
        self.reading = reading_of(meta)
        self.config = ModelConfig.from_dict(meta["model"])

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"images": np.ascontiguousarray(images, np.float32)})[0]

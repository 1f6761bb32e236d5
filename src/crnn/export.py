"""ONNX export (``crnn export``) and the onnxruntime model used by ``Recognizer``.

The exported graph maps images ``(N, C, H, W)`` (dynamic N and W) to logits ``(T, N, K)``,
exactly like :class:`crnn.model.CRNN`. The charset, preprocessing and model config travel
in the model's metadata (key ``crnn``, JSON), so an ``.onnx`` file is as self-describing
as a checkpoint and ``Recognizer.load("model.onnx")`` needs nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .architecture import ModelConfig
from .charset import Charset
from .checkpoint import Checkpoint, reading_of
from .cpu import int8_full_range
from .data.images import Preprocess
from .errors import CheckpointError, CrnnError

__all__ = ["export_onnx", "export_fp16", "onnx_bytes", "OnnxModel", "quantize_int8",
           "onnx_available", "cached_onnx", "calibration_lines", "calibration_inputs"]

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
    is quantized as :func:`quantize_int8` does, its convolutions too where it carries
    calibration lines (``meta["int8_calibration"]``, ``--calibrate``), with the weights'
    full 8 bits where this CPU runs them right (:func:`crnn.cpu.int8_full_range`; the
    key tells the two apart, for a cache shared by machines). The eight most
    recently used exports are kept. Where the cache cannot be written, the export stays
    in memory."""
    h = hashlib.sha256(checkpoint.read_bytes())
    full_range = int8_full_range()  # int8 convolutions as this CPU runs them right
    h.update(f"torch {_torch_version()} opset {OPSET} full {full_range}".encode())
    here = Path(__file__).parent
    for source in ("export.py", "cpu.py", "checkpoint.py", "architecture.py", "model.py",
                   "reading.py", "data/images.py"):
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
        lines = ckpt.meta.get("int8_calibration")
        data = quantize_int8(data, calibration_inputs(lines, ckpt) if lines else None,
                             full_range)
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
    """Export a checkpoint's model to an in-memory ONNX model with metadata. A model
    with an added block is exported with it folded into its output layer
    (:meth:`crnn.model.CRNN.folded`)."""
    import torch

    onnx = _require("onnx")
    model = ckpt.build_model().eval().folded()  # an added block: one output layer
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
    meta = {"format": "crnn-onnx", "version": 1, "model": model.config.to_dict(),
            "charset": ckpt.charset.to_dict(), "preprocess": pre.to_dict(),
            "reading": ckpt.reading.to_dict()}
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, ensure_ascii=False)
    proto.producer_name = "crnn"
    return proto.SerializeToString()


def quantize_int8(model: bytes, calibration: Sequence[np.ndarray] | None = None,
                  full_range: bool = False) -> bytes:
    """Dynamic int8 quantization of the recurrent and linear layers' weights (LSTM, GRU,
    MatMul, Gemm); with ``calibration`` (model inputs of one shape, e.g. from
    :func:`calibration_inputs`) the convolutions too, statically: int8 weights per output
    channel and uint8 activations whose ranges cover ``CALIBRATION_PERCENTILE`` percent
    of the values the calibration lines produce (onnxruntime runs them as integer
    convolutions). Without it the convolutions stay fp32: onnxruntime's *dynamic*
    ConvInteger path measured several times slower than fp32 convolution on the CPU
    (docs/performance.md). The convolutions' weights keep 7 bits unless ``full_range``:
    a model that runs right on every x86 CPU (:func:`crnn.cpu.int8_full_range` says
    where the eighth bit is safe)."""
    _require("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process is for convolutions
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(model if not calibration else
                            _quantize_convolutions(model, calibration, Path(tmp),
                                                   full_range))
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["LSTM", "GRU", "MatMul", "Gemm"])
            return dst.read_bytes()
    finally:
        logging.disable(previous)


def _quantize_convolutions(model: bytes, calibration: Sequence[np.ndarray], tmp: Path,
                           full_range: bool) -> bytes:
    """The model with its convolutions statically quantized (QDQ), calibrated on the
    given inputs; weights in 7 bits unless ``full_range``. The ReLUs and max-pools
    between them are quantized too: each convolution's output then takes its ReLU's
    range, onnxruntime folds the ReLU into the integer convolution and pools in uint8,
    and the layers hand each other uint8 maps with no dequantize-requantize pair
    between them (the bundled model read 12% more lines a second, docs/performance.md)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._items, None)
            return None if x is None else {"images": np.ascontiguousarray(x, np.float32)}

    src, pre, dst = tmp / "conv_fp32.onnx", tmp / "conv_pre.onnx", tmp / "conv_int8.onnx"
    src.write_bytes(model)
    # folds constants and infers shapes so that every convolution gets its own scales
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    with contextlib.redirect_stdout(io.StringIO()):  # its calibrator prints its progress
        quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["Conv", "Relu", "MaxPool"], per_channel=True,
                        reduce_range=not full_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": CALIBRATION_PERCENTILE})
    return dst.read_bytes()


def calibration_lines(sources: Sequence[Any], count: int, pre: Preprocess) -> list[bytes]:
    """``count`` line images drawn at random from dataset sources
    (:func:`crnn.data.dataset.open_source`), an even share from each, each scaled to the
    model's input height and stored as PNG bytes: what ``crnn export --calibrate`` keeps
    in a checkpoint so that its convolutions can be quantized wherever it is loaded. A
    line that does not decode is skipped; a source none of whose lines decode is an
    error."""
    from .data.images import decode_image, scale_line

    if count < 1:
        raise CrnnError(f"{count} calibration lines (--calibrate-lines): give a positive "
                        "number")
    out: list[bytes] = []
    for k, source in enumerate(sources):
        share = count * (k + 1) // len(sources) - count * k // len(sources)
        got = 0
        for i in np.random.default_rng(k).permutation(len(source)):
            if got >= share:
                break
            data, _, where = source.raw(int(i))
            try:
                img = data if isinstance(data, np.ndarray) else decode_image(
                    data, pre.channels, name=where)
            except CrnnError:  # a sample that does not decode is left out
                continue
            img = scale_line(img, pre)
            ok, png = cv2.imencode(".png", img if img.ndim == 2 else img[:, :, ::-1])
            if ok:
                out.append(png.tobytes())
                got += 1
        if share and not got:
            name = getattr(source, "name", None) or getattr(source, "path", f"#{k + 1}")
            raise CrnnError(f"calibration data {name}: no line of it decodes as an image; "
                            "give a dataset of line images")
    return out


# activation ranges keep this percentile of the calibration values (the bundled model
# read its 11 own validation sets as well as with fp32 convolutions, 11,588 lines against
# 11,579; the plain minimum and maximum read 11,568: docs/performance.md)
CALIBRATION_PERCENTILE = 99.999
# calibration inputs are windows of this many columns, so that they stack into batches
CALIBRATION_WIDTH = 160
_CALIBRATION_BATCH = 32


def calibration_inputs(lines: Sequence[bytes], ckpt: Checkpoint) -> list[np.ndarray]:
    """Model inputs ``(N, C, H, CALIBRATION_WIDTH)`` from :func:`calibration_lines`' PNG
    bytes, prepared as the recogniser prepares a line (scaled, in [-1, 1]): the middle
    ``CALIBRATION_WIDTH`` columns of each line (a shorter line padded with its
    background), stacked in batches of 32. The calibrator keeps every activation of every
    window in memory (about 2 MB a window for the bundled architecture), so each line
    gives one."""
    from .data.images import decode_image, pad_batch, resize_line

    windows = []
    for k, png in enumerate(lines):
        x = resize_line(decode_image(bytes(png), ckpt.preprocess.channels,
                                     name=f"calibration line {k}"), ckpt.preprocess)
        start = max((x.shape[2] - CALIBRATION_WIDTH) // 2, 0)
        windows.append(pad_batch([x[:, :, start:start + CALIBRATION_WIDTH]],
                                 width=CALIBRATION_WIDTH)[0])
    # batches of one size (the calibrator stacks them): the last, short one is dropped
    n = max(len(windows) // _CALIBRATION_BATCH, 1)
    size = min(len(windows), _CALIBRATION_BATCH)
    return [np.ascontiguousarray(np.stack(windows[i * size:(i + 1) * size]))
            for i in range(n)]


def export_onnx(ckpt: Checkpoint, out: str | Path, int8: bool = False,
                calibration: Sequence[bytes] | None = None) -> Path:
    """Write ``out`` atomically; ``int8`` applies dynamic weight quantization, and with
    ``calibration`` (:func:`calibration_lines`) static quantization of the convolutions
    (:func:`quantize_int8`), their weights in 7 bits: a file that may be read on any
    CPU."""
    data = onnx_bytes(ckpt)
    if int8:
        data = quantize_int8(data, calibration_inputs(calibration, ckpt) if calibration
                             else None)
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

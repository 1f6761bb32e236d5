"""``Recognizer``: the one inference path, shared by predict, eval, training validation and
the HTTP service.

    >>> from crnn import Recognizer
    >>> rec = Recognizer.load("runs/demo/best.pt")
    >>> rec("line.png").text
"""

from __future__ import annotations

import bisect
import glob
import math
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .architecture import frame_column, output_length
from .charset import Charset
from .checkpoint import Checkpoint, load_checkpoint
from .data.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    Preprocess,
    decode_image,
    pad_batch,
    pil_to_array,
    resize_line,
)
from .decoding.ctc import Decoded, ctc_forward, log_normalizer
from .decoding.decoders import (
    DecoderConfig,
    GreedyDecoder,
    best_alignments,
    build_decoder,
)
from .errors import CheckpointError, CrnnError, DatasetError
from .reading import ReadingPolicy, read_lines

if TYPE_CHECKING:  # the ONNX backend runs without torch: it is imported where it is used
    import torch

    from .model import CRNN

__all__ = ["Recognizer", "Result", "ImageInput", "expand_inputs", "bundled_model_path",
           "language_model_beside",
           "padded_width", "resolve_model_path", "width_batches"]

ImageInput = str | Path | bytes | np.ndarray

# lines are padded up to a point of a geometric grid of widths, each this much wider
# than the last (and a multiple of 4); only lines padded to the same width share a batch
PAD_GRID_GROWTH = 1.05
PAD_GRID_MAX = 65536
# a batch's logits (frames x lines x classes, float32) stay under this many bytes: wide
# lines of a large charset batch fewer to a step (16,927 classes, 1,500-px lines: 10)
LOGITS_BUDGET = 256 << 20


@dataclass(frozen=True)
class Result:
    """The reading of one image. ``error`` is set (and text empty) when it could not be read."""

    text: str
    confidence: float
    char_probs: tuple[float, ...] = field(default=())
    source: str | None = None
    error: str | None = None
    alternatives: tuple[tuple[str, float], ...] = field(default=())  # n-best (text, log p)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self, with_char_probs: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.source, "text": self.text,
                             "confidence": round(self.confidence, 6)}
        if with_char_probs:
            d["char_probs"] = [round(p, 6) for p in self.char_probs]
        if self.alternatives:
            d["alternatives"] = [{"text": t, "log_prob": round(lp, 4)}
                                 for t, lp in self.alternatives]
        if self.error:
            d["error"] = self.error
        return d


def bundled_model_path() -> Path | None:
    """The model shipped inside the package, if this build has one."""
    folder = resources.files("crnn").joinpath("models")
    for name in ("default.pt",):
        p = folder.joinpath(name)
        if p.is_file():
            return Path(str(p))
    return None


def resolve_model_path(model: str | Path | None) -> Path:
    """A path as given, or the bundled model's for ``"default"`` / None."""
    if model is not None and str(model) != "default":
        return Path(model)
    path = bundled_model_path()
    if path is None:
        raise CheckpointError(
            "this build of crnn has no bundled model yet; train one (crnn train ...) and "
            "pass --model runs/NAME/best.pt"
        )
    return path


def language_model_beside(path: Path) -> Path | None:
    """A model file's own language model: ``M.lm.bin`` beside ``M.pt`` / ``M.onnx``."""
    lm = path.with_name(path.stem + ".lm.bin")
    return lm if lm.is_file() else None


def _auto_device(device: str | torch.device | None) -> torch.device:
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _reads_on_cpu(device: str | torch.device | None) -> bool:
    """Whether ``device`` means the CPU, without importing torch where no NVIDIA driver is
    installed (then ``auto`` cannot mean CUDA)."""
    if device is not None and str(device) != "auto":
        return str(device).startswith("cpu")
    if not (Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi")):
        return True
    return _auto_device(device).type == "cpu"


class Recognizer:
    """Reads text lines. Build it once (model load), call it many times.

    Args:
        model: a :class:`CRNN` (put in eval mode here), or an ONNX model
            (:class:`crnn.export.OnnxModel`) run by onnxruntime on the CPU.
        charset: the model's charset.
        preprocess: how images become input (from the checkpoint).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda:0``...
        batch_size: most lines per forward pass. Each line is padded to a width that
            depends on it alone (:func:`padded_width`) and only lines of one padded
            width share a batch (:func:`width_batches`; wide lines of a large charset
            fewer, their logits under ``LOGITS_BUDGET``), so a line reads the same alone
            or among others; results come back in input order.
        decoder: how logits become text (greedy by default; beam search, lexicon, allowed
            characters, language model: :class:`crnn.decoding.decoders.DecoderConfig`). Lexicon and
            language model files are loaded here, once.
        max_pixels: images whose header declares more pixels are refused, each with an
            error naming it, before they are decoded (None: no limit).
        reading: how the model reads (:class:`crnn.reading.ReadingPolicy`: stretch,
            rereads, right margin), from its checkpoint; default: each line once, as it is.
        lm: the model's own character language model (``M.lm.bin`` beside ``M.pt``,
            :func:`language_model_beside`) to fuse into its unsure lines: with no
            ``decoder`` given and a policy with ``lm_weight`` > 0, a line whose best path
            is at most ``lm_below`` sure (a mostly-Latin one: ``lm_latin_below``, where
            set) is decoded again by beam search fused with it.
        lm_required: with ``lm`` given to a model that stores no weight for it, an error
            (True) or reading without it (False: :meth:`load`'s default, which offers the
            file beside any model).
    """

    def __init__(self, model: CRNN | Any, charset: Charset, preprocess: Preprocess,
                 device: str | torch.device | None = "auto", batch_size: int = 64,
                 decoder: DecoderConfig | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 reading: ReadingPolicy | None = None, lm: str | Path | None = None,
                 lm_required: bool = True) -> None:
        if model.config.num_classes != charset.num_classes:
            raise CheckpointError(
                f"model has {model.config.num_classes - 1} output characters, charset "
                f"{charset.name} has {len(charset)}"
            )
        if hasattr(model, "state_dict"):  # a torch module
            self.backend = "torch"
            self.device: Any = _auto_device(device)
            self.model = model.to(self.device).eval()
        else:
            self.backend = "onnx"
            self.device = "cpu"
            self.model = model
        self.charset = charset
        self.preprocess = preprocess
        # a fixed input width (the tutorial's) would undo any stretch: read once, as is
        self.reading = ReadingPolicy() if preprocess.width is not None else (
            reading or ReadingPolicy())
        self.batch_size = batch_size
        if decoder is None and lm is not None and self.reading.lm_weight == 0 \
                and not lm_required:
            lm = None  # a file beside a model that stores no weight for it: not asked for
        if decoder is None and lm is not None and self.reading.lm_weight == 0:
            raise CheckpointError(
                f"the model stores no weight for its language model {lm}: export it with "
                "crnn export --lm-weight A --lm-bonus B (docs/decoders.md)")
        if decoder is None and lm is not None:
            decoder = DecoderConfig(kind="beam", lm=str(lm), lm_weight=self.reading.lm_weight,
                                    length_bonus=self.reading.lm_bonus,
                                    search_below=self.reading.lm_below,
                                    search_latin_below=self.reading.lm_latin_below)
        self.decoder_config = decoder or DecoderConfig()
        self.decoder = build_decoder(self.decoder_config, charset)
        self.max_pixels = max_pixels

    @classmethod
    def load(cls, model: str | Path | None = "default", device: str | None = "auto",
             batch_size: int = 64, charset: str | Charset | None = None,
             backend: str = "auto", decoder: DecoderConfig | None = None,
             fuse_lm: bool | None = None) -> Recognizer:
        """From a checkpoint or ``.onnx`` path, or ``"default"`` for the bundled model.

        fuse_lm: read unsure lines again with the model's own language model (``M.lm.bin``
        beside the file) at the weights its policy stores (``docs/decoders.md``). None
        (default): when the model has one and stores its weight, as the bundled model
        does; True: an error if it has none; False: never (the best path alone). An
        explicit ``decoder`` reads as it says instead.

        backend: ``auto`` (ONNX for ``.onnx`` files; for a checkpoint read on the CPU,
        ONNX when ``onnx`` and ``onnxruntime`` are installed, as it reads the same text
        faster; PyTorch otherwise), ``torch``, or ``onnx`` (a checkpoint is exported once,
        kept in the cache directory (:func:`crnn.export.cache_dir`) and run by
        onnxruntime).
        """
        if backend not in ("auto", "torch", "onnx"):
            raise CheckpointError(f"unknown backend {backend!r}: use auto, torch or onnx")
        path = resolve_model_path(model)
        lm = language_model_beside(path) if fuse_lm is not False else None
        if fuse_lm and lm is None:
            raise CheckpointError(
                f"{path} has no language model beside it ({path.stem}.lm.bin): read "
                "without --fuse-lm, or give one with --lm FILE")
        required = bool(fuse_lm)
        if backend == "auto" and path.suffix.lower() != ".onnx" and charset is None:
            from .export import onnx_available

            if onnx_available() and _reads_on_cpu(device):
                backend = "onnx"
        if path.suffix.lower() == ".onnx":
            if backend == "torch":
                raise CheckpointError(f"{path} is an ONNX model: use --backend onnx or auto")
            from .export import OnnxModel

            onnx_model = OnnxModel(path)
            return cls(onnx_model, onnx_model.charset, onnx_model.preprocess, "cpu",
                       batch_size, decoder, reading=onnx_model.reading, lm=lm,
                       lm_required=required)
        if backend == "onnx" and charset is None:
            from .export import cached_onnx

            onnx_model = cached_onnx(path)
            return cls(onnx_model, onnx_model.charset, onnx_model.preprocess, "cpu",
                       batch_size, decoder, reading=onnx_model.reading, lm=lm,
                       lm_required=required)
        ckpt = load_checkpoint(path, charset=charset)
        if backend == "onnx":
            from .export import OnnxModel, onnx_bytes

            return cls(OnnxModel(onnx_bytes(ckpt)), ckpt.charset, ckpt.preprocess, "cpu",
                       batch_size, decoder, reading=ckpt.reading, lm=lm, lm_required=required)
        return cls.from_checkpoint(ckpt, device=device, batch_size=batch_size, decoder=decoder,
                                   lm=lm, lm_required=required)

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, device: str | None = "auto",
                        batch_size: int = 64, decoder: DecoderConfig | None = None,
                        lm: str | Path | None = None, lm_required: bool = True
                        ) -> Recognizer:
        return cls(ckpt.build_model(), ckpt.charset, ckpt.preprocess, device, batch_size,
                   decoder, reading=ckpt.reading, lm=lm, lm_required=lm_required)

    # ----------------------------------------------------------------------- inputs
    def _to_array(self, item: ImageInput, name: str) -> np.ndarray:
        ch = self.preprocess.channels
        if isinstance(item, (str, Path)):
            try:
                data = Path(item).read_bytes()
            except OSError as exc:
                raise DatasetError(f"{item}: cannot read file ({exc.strerror})") from exc
            return decode_image(data, ch, name=name, max_pixels=self.max_pixels)
        if isinstance(item, (bytes, bytearray, memoryview)):
            return decode_image(bytes(item), ch, name=name, max_pixels=self.max_pixels)
        if isinstance(item, np.ndarray):
            arr = item
            if arr.dtype != np.uint8:
                raise DatasetError(f"{name}: arrays must be uint8 (H, W) or (H, W, 3)")
            if arr.ndim == 3 and ch == 1:
                arr = arr.mean(axis=2).astype(np.uint8)
            elif arr.ndim == 2 and ch == 3:
                arr = np.repeat(arr[:, :, None], 3, axis=2)
            return arr
        if hasattr(item, "convert"):  # a PIL image
            return pil_to_array(item, ch)
        raise DatasetError(f"{name}: unsupported input type {type(item).__name__}")

    # ----------------------------------------------------------------------- inference
    def logits(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """A preprocessed batch ``(N, C, H, W)`` (float32 numpy or tensor) -> logits
        ``(T, N, K)`` as float32 numpy."""
        if self.backend == "onnx":
            return self.model(images if isinstance(images, np.ndarray) else images.numpy())
        import torch

        x = torch.from_numpy(images) if isinstance(images, np.ndarray) else images
        with torch.inference_mode():
            out = self.model(x.to(self.device, non_blocking=True))
        return out.float().cpu().numpy()

    def recognize_arrays(self, arrays: Sequence[np.ndarray],
                         reading: ReadingPolicy | None = None) -> list[Decoded]:
        """uint8 line images -> decoded lines, batched by width, in input order, read under
        ``reading`` (default: the model's own policy, :attr:`reading`; see
        :func:`crnn.reading.read_lines`)."""
        policy = self.reading if reading is None or self.preprocess.width is not None \
            else reading
        return read_lines(partial(self._read, blank_penalty=policy.blank_penalty), arrays,
                          policy, partial(self._score, blank_penalty=policy.blank_penalty),
                          self._locate)

    def _read(self, arrays: Sequence[np.ndarray], stretch: float, pad: float,
              best_path: bool = False, blank_penalty: float = 0.0) -> list[Decoded]:
        """Every line read once, ``stretch`` wider, padded right to ``1 + pad`` times,
        ``blank_penalty`` taken off the blank's logit before decoding; with ``best_path``,
        by the best path alone (no search, whatever the decoder)."""
        groups, batches = self._logit_batches(arrays, stretch, pad, blank_penalty)
        decoder = GreedyDecoder(self.decoder.config, self.decoder.charset) if best_path \
            else self.decoder
        out: list[Any] = [None] * len(arrays)
        # one call for all width batches: a fused search gathers their unsure lines
        for idx, decoded in zip(groups, decoder.decode_batches(batches), strict=True):
            for i, d in zip(idx, decoded, strict=True):
                out[i] = d
        return out

    def _logit_batches(self, arrays: Sequence[np.ndarray], stretch: float, pad: float,
                       blank_penalty: float) -> tuple[list[list[int]],
                                                      Iterator[tuple[np.ndarray, np.ndarray]]]:
        """The lines' width batches (indices into ``arrays``) and, made one at a time as
        they are asked for, each batch's logits ``(T, n, K)`` with ``blank_penalty`` off
        the blank, and its lines' valid frames ``(n,)``."""
        prepped = [resize_line(a, self.preprocess, stretch) for a in arrays]
        widths = [padded_width(p.shape[2], pad) for p in prepped]
        groups = width_batches(widths, self.batch_size, self.charset.num_classes)

        def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for idx in groups:
                logits = self.logits(pad_batch([prepped[i] for i in idx], width=widths[idx[0]]))
                if blank_penalty:
                    logits[:, :, 0] -= blank_penalty
                yield logits, np.array([output_length(prepped[i].shape[2]) for i in idx])

        return groups, batches()

    def _score(self, arrays: Sequence[np.ndarray], stretch: float, pad: float,
               texts: Sequence[Sequence[str]], readings: Sequence[Decoded] | None = None,
               prior: float = 1.0, blank_penalty: float = 0.0) -> list[list[float]]:
        """Each of a line's ``texts`` scored under the line as :meth:`_read` reads it:
        its CTC log-likelihood (all alignments, natural log), plus ``prior`` times the
        language-model terms of the decoder's fused search where it has a model
        (``lm_weight * log P_lm + length_bonus * tokens``). A line whose reading there
        (``readings``) kept the scores its search used (:attr:`Decoded.scores`), holding
        every class of its texts, is scored on them; the others are read again."""
        targets = [[self.charset.encode(t, oov="drop-char") or [] for t in ts] for ts in texts]
        totals: list[Any] = [None] * len(arrays)
        if readings is not None and self.decoder_config.allow is None:
            for i, d in enumerate(readings):
                if d.scores is not None:
                    totals[i] = d.scores.log_likelihood(targets[i])
        todo = [i for i, t in enumerate(totals) if t is None]
        groups, batches = self._logit_batches([arrays[i] for i in todo], stretch, pad,
                                              blank_penalty)
        for group, (logits, lengths) in zip(groups, batches, strict=True):
            idx = [todo[g] for g in group]
            rows = [j for j, i in enumerate(idx) for _ in targets[i]]
            flat = [t for i in idx for t in targets[i]]
            total, _ = ctc_forward(logits, log_normalizer(logits), np.array(rows), flat,
                                   lengths[rows])
            k = 0
            for i in idx:
                totals[i] = total[k:k + len(targets[i])]
                k += len(targets[i])
        return [[float(v) + (prior * self._text_prior(t) if prior else 0.0)
                 for v, t in zip(totals[i], texts[i], strict=True)] for i in range(len(arrays))]

    def _locate(self, arrays: Sequence[np.ndarray], stretch: float, pad: float,
                readings: Sequence[Decoded]) -> list[np.ndarray | None]:
        """Each reading's characters as columns of its line (``arrays``, read at
        ``stretch``): ``(n, 2)``, the middle of the first and of the last frame that the
        likeliest alignment of its text over the scores its search kept
        (:attr:`Decoded.scores`) gives each character; None where it kept none, or its
        text does not encode one class a character."""
        if len(readings) != len(arrays):
            raise ValueError(f"{len(readings)} readings of {len(arrays)} lines")
        out: list[np.ndarray | None] = [None] * len(arrays)
        todo, targets = [], []
        for i, d in enumerate(readings):
            target = self.charset.encode(d.text, oov="drop-char") if d.scores is not None \
                else None
            if target and len(target) == len(d.text):
                todo.append(i)
                targets.append(target)
        paths = best_alignments([readings[i].scores for i in todo], targets)
        for i, target, path in zip(todo, targets, paths, strict=True):
            if path is None:
                continue
            h, w = arrays[i].shape[:2]
            per_column = w / self.preprocess.target_width(h, round(w * stretch))
            frames = np.arange(len(path))
            spans = np.empty((len(target), 2))
            for c in range(len(target)):
                mine = frames[path == 2 * c + 1]
                spans[c] = (mine[0], mine[-1])
            out[i] = frame_column(spans) * per_column
        return out

    def _text_prior(self, text: str) -> float:
        """The fused search's language-model terms for ``text`` (0 without a model)."""
        lm = getattr(self.decoder, "lm", None)
        if lm is None:
            return 0.0
        cfg = self.decoder_config
        logp, tokens = lm.sentence_logprob(text)
        return cfg.lm_weight * logp + cfg.length_bonus * (tokens - 1)

    def recognize(self, images: Sequence[ImageInput], names: Sequence[str] | None = None,
                  reading: ReadingPolicy | None = None) -> list[Result]:
        """Read many images; a bad one gets a Result with ``error`` and the rest go on.
        ``reading``: see :meth:`recognize_arrays`."""
        names = list(names) if names is not None else [
            str(x) if isinstance(x, (str, Path)) else f"image {i}" for i, x in enumerate(images)
        ]
        arrays: list[np.ndarray] = []
        good: list[int] = []
        results: list[Result | None] = [None] * len(images)
        for i, item in enumerate(images):
            try:
                arrays.append(self._to_array(item, names[i]))
                good.append(i)
            except CrnnError as exc:
                results[i] = Result("", 0.0, (), names[i], str(exc))
        for i, d in zip(good, self.recognize_arrays(arrays, reading), strict=True):
            results[i] = Result(d.text, d.confidence, d.char_probs, names[i],
                                alternatives=d.alternatives)
        return results  # type: ignore[return-value]

    def __call__(self, image: ImageInput) -> Result:
        """Read one image; raises the error instead of returning it."""
        r = self.recognize([image])[0]
        if r.error:
            raise DatasetError(r.error)
        return r


@lru_cache(maxsize=1)
def _pad_grid() -> tuple[int, ...]:
    grid, g = [], 8
    while g <= PAD_GRID_MAX:
        grid.append(g)
        g = max(g + 4, -(-int(g * PAD_GRID_GROWTH) // 4) * 4)
    return tuple(grid)


def padded_width(width: int, pad: float = 0.0) -> int:
    """The width a line of ``width`` columns is read at: at least ``width * (1 + pad)``,
    rounded up to the next point of a grid of widths (every 4 px up to 100, then about
    5% apart: 108, 116, 124 ...), so lines of similar width pad to one width and batch
    together, while each line's padding depends on that line alone."""
    need = math.ceil(width * (1.0 + pad) - 1e-9)  # 100 * 1.1 is 110, not 111
    grid = _pad_grid()
    k = bisect.bisect_left(grid, need)
    return grid[k] if k < len(grid) else -(-need // 4) * 4


def width_batches(widths: Sequence[int], batch_size: int, classes: int = 0
                  ) -> list[list[int]]:
    """Indices of ``widths`` (padded widths, :func:`padded_width`) in batches: sorted by
    width, a batch holds at most ``batch_size`` lines, all of one width, so no line is
    padded further for its neighbours' sake (read as one batch padded to its widest, a
    32-line page took over 4x as long) and no line reads differently for them. With
    ``classes`` (the model's outputs a frame), a batch also holds no more lines than keep
    its logits under ``LOGITS_BUDGET`` bytes (one line at least)."""
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size} must be >= 1")

    def most(width: int) -> int:
        if classes <= 0:
            return batch_size
        return max(1, min(batch_size, LOGITS_BUDGET // (4 * classes * output_length(width))))

    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    for i in order:
        if (not batches or len(batches[-1]) >= most(widths[i])
                or widths[i] != widths[batches[-1][0]]):
            batches.append([])
        batches[-1].append(i)
    return batches


def expand_inputs(items: Iterable[str]) -> tuple[list[str], list[str]]:
    """Files, directories (their images, sorted) and globs -> (image paths, problems)."""
    paths: list[str] = []
    problems: list[str] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*")
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(f"{item}: directory has no images ({', '.join(IMAGE_SUFFIXES)})")
            paths += found
        elif p.exists():
            paths.append(str(p))
        elif glob.has_magic(item):
            found = sorted(f for f in glob.glob(item, recursive=True) if os.path.isfile(f))
            if not found:
                problems.append(f"{item}: pattern matches no files")
            paths += found
        else:
            problems.append(f"{item}: no such file or directory")
    return paths, problems

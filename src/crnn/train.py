"""``crnn train``: the training loop.

Data -> width-bucketed batches -> CRNN -> CTC loss (``zero_infinity``) -> optimizer and
learning-rate schedule; validation on the whole validation set every ``val_every`` steps;
``last.pt`` / ``best.pt`` written atomically; ``--resume`` continues exactly (model,
optimizer, scheduler, step, epoch, position in the epoch, RNG states).
"""

from __future__ import annotations

import gc
import json
import math
import random
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .charset import Charset
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig, dump_config
from .cpu import has_native_bf16
from .data.dataset import (
    Batch,
    BucketBatchSampler,
    LineDataset,
    Source,
    collate,
    open_sources,
    scan_labels,
)
from .data.images import Preprocess
from .distributed import DistInfo, barrier, broadcast_flag, min_int, setup, teardown
from .errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    OutOfMemoryError,
    TrainingError,
)
from .evaluate import evaluate
from .memory import (
    auto_batch_size,
    free_memory,
    is_out_of_memory,
    largest_fitting,
    probe_width,
    step_fits,
)
from .model import CRNN, ModelConfig
from .reading import ReadingPolicy
from .recognizer import Recognizer

__all__ = ["Trainer", "TrainResult", "train", "amp_policy", "lr_factor",
           "transfer_weights"]

_MAX_NONFINITE_RUN = 20  # skipped updates in a row before training stops as diverged


@dataclass
class TrainResult:
    steps: int
    epochs: int
    best_accuracy: float | None
    last_metrics: dict[str, float] | None
    seconds: float
    out: Path
    is_main: bool = True  # rank 0 (or the only process): the one that reports


def amp_policy(amp: bool, device: torch.device) -> tuple[bool, str]:
    """Whether training runs the model under bf16 autocast, and why (for the log)."""
    if not amp:
        return False, "amp=false"
    if device.type == "cuda":
        return True, "amp on CUDA"
    if device.type == "cpu":
        if has_native_bf16():
            return True, "amp on a CPU with native bf16 (AVX-512 BF16 or AMX)"
        return False, ("this CPU has no native bf16 (no avx512_bf16 or amx_bf16 flag), "
                       "where bf16 is slower than fp32")
    return False, f"amp is not used on {device.type}"


def lr_factor(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based).

    warm-up: linear from 1% to 100% over ``warmup_steps``. Then ``constant``; ``step``
    (the tutorial's decay: times ``gamma`` every ``step_size`` steps); ``cosine`` down to
    ``min_lr_ratio``; ``onecycle``: a warm-up over 30% of the run (or ``warmup_steps``)
    followed by cosine annealing to ``min_lr_ratio``.
    """
    warm = cfg.warmup_steps
    if cfg.scheduler == "onecycle" and warm == 0:
        warm = max(1, int(0.3 * total_steps))
    if step < warm:
        return 0.01 + 0.99 * step / warm
    if cfg.scheduler == "constant":
        return 1.0
    if cfg.scheduler == "step":
        return cfg.gamma ** ((step - warm) // cfg.step_size)
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(cfg: TrainConfig, params, lr: float) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    return torch.optim.Adadelta(params, lr=lr, weight_decay=cfg.weight_decay)


def transfer_weights(model: CRNN, init: Checkpoint, charset: Charset,
                     partial: bool = False) -> tuple[int, int, list[str]]:
    """Fine-tune start: copy every weight of ``init`` whose shape fits; for the output layer
    (``init``'s last one, whatever its depth), copy the rows of characters both charsets
    share (and the blank). A new character's row starts as the mean of the shared
    characters' rows (weights with a little noise to tell new rows apart), so it scores
    below the character a frame shows, and the grown model reads as ``init`` did until
    training teaches it the new ones (a freshly drawn row, its bias 0 where trained
    characters' biases are negative, would outscore them). A weight whose shape
    differs is an error, unless ``partial``: then it keeps its fresh initialisation too, as
    does every weight ``init`` lacks (a deeper or wider recurrent part grown on a trained
    CNN). Returns (shared characters, new characters, weights left fresh)."""
    if init.model_config.added_classes:
        raise CheckpointError(
            f"--init: the checkpoint scores {init.model_config.added_classes} characters in "
            "an added block (added_rank), which a fine-tune cannot start from: resume its "
            "last.pt, or start from the model it was grown from")
    sd = model.state_dict()
    src = init.state_dict
    last = head_prefix(model).rstrip(".")
    src_last = head_prefix(init.model_config).rstrip(".")
    copied: set[str] = set()
    for k, v in src.items():
        if k.startswith((last + ".", src_last + ".")) or k not in sd:
            continue  # the output layers are matched by role below
        if sd[k].shape != v.shape:
            if partial:
                continue
            raise CheckpointError(
                f"--init {k}: shape {tuple(v.shape)} does not fit this model's "
                f"{tuple(sd[k].shape)}; use the same architecture as the initial checkpoint "
                "(or init_partial: true to start the layers that differ afresh)"
            )
        sd[k] = v.to(sd[k].dtype)
        copied.add(k)
    shared = 0
    rows = [(0, 0)]
    for new_i, ch in enumerate(charset.chars, 1):
        if ch in init.charset:
            rows.append((new_i, init.charset.index(ch)))
            shared += 1
    kept = {new_i for new_i, _ in rows}
    added = [i for i in range(1, len(charset) + 1) if i not in kept]
    n_block = model.config.added_classes  # new characters scored by an added block
    if n_block:
        if added != list(range(len(charset) + 1 - n_block, len(charset) + 1)):
            raise CheckpointError(
                f"--init: this model's added block scores the last {n_block} characters of "
                f"its charset, but the characters {init.charset.name or 'init'} lacks are "
                f"{len(added)} others; the charset must begin with init's, in its order, "
                "and add the new characters after them (tools/grow_charset.py)")
    for suffix in ("weight", "bias"):
        key, src_key = f"{last}.{suffix}", f"{src_last}.{suffix}"
        if src_key not in src or sd[key].shape[1:] != src[src_key].shape[1:]:
            rank, src_rank = model.config.output_rank, init.model_config.output_rank
            hint = ("" if rank == src_rank else
                    f" (the initial checkpoint's output layer is factored through "
                    f"{src_rank or 'no'} units, this model's through {rank or 'none'}: "
                    "output_rank in the config, tools/factor_output.py for the checkpoint)")
            raise CheckpointError(f"--init: output layer {src_key} does not fit this model's "
                                  f"{key}{hint}")
        if n_block and sd[key].shape != src[src_key].shape:
            raise CheckpointError(f"--init: output layer {src_key} has "
                                  f"{src[src_key].shape[0]} rows, this model's {key} "
                                  f"{sd[key].shape[0]} beside {n_block} added ones")
        for new_i, old_i in rows:
            sd[key][new_i] = src[src_key][old_i]
        if added and len(rows) > 1:
            trained = src[src_key][[old_i for _, old_i in rows[1:]]].to(sd[key].dtype)
            mean = trained.mean(dim=0)
            if n_block:  # weights ~0, biases such that all new rows together weigh as
                # much as one trained character of mean bias
                block = f"{last.rsplit('.', 1)[0]}.added_embedding.{suffix}"
                sd[block] = (torch.randn_like(sd[block]) * 0.01 * float(trained.std())
                             if suffix == "weight" else
                             torch.full_like(sd[block], float(mean) - math.log(n_block)))
            else:
                noise = torch.randn((len(added), *mean.shape), dtype=mean.dtype) \
                    * (0.01 * float(trained.std())) if suffix == "weight" else 0.0
                sd[key][added] = mean + noise
        copied.add(key)
    if n_block:  # added_project keeps its fresh draw, added_embedding was set above
        copied.update(k for k in sd if k.startswith(added_prefix(model)))
    fresh = [k for k in sd if k not in copied and not k.endswith("num_batches_tracked")]
    if fresh and not partial:
        raise CheckpointError(f"--init: the initial checkpoint has no weights for "
                              f"{', '.join(layer_names(fresh))}; use the same architecture "
                              "as the initial checkpoint (or init_partial: true to start "
                              "them afresh)")
    model.load_state_dict(sd)
    return shared, len(charset) - shared, fresh


def layer_names(keys: list[str]) -> list[str]:
    """The layers (``rnn.1.rnn``) the parameter names (``rnn.1.rnn.weight_ih_l0``) belong
    to, sorted."""
    return sorted({k.rsplit(".", 1)[0] for k in keys})


def head_prefix(model: CRNN | ModelConfig) -> str:
    """Parameter-name prefix of the output layer (charset + blank scores)."""
    config = model if isinstance(model, ModelConfig) else model.config
    return f"rnn.{config.n_rnn - 1}.embedding."


def output_prefixes(model: CRNN | ModelConfig) -> tuple[str, ...]:
    """Parameter-name prefixes of the whole output layer: the row-per-class part, the
    projection in front of it where ``output_rank`` factors the layer, and the added block
    (``added_classes``)."""
    config = model if isinstance(model, ModelConfig) else model.config
    return (head_prefix(config), f"rnn.{config.n_rnn - 1}.project.", added_prefix(config))


def added_prefix(model: CRNN | ModelConfig) -> str:
    """Parameter-name prefix of the added block (``ModelConfig.added_classes``)."""
    config = model if isinstance(model, ModelConfig) else model.config
    return f"rnn.{config.n_rnn - 1}.added_"


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": _py_state_to_list(random.getstate()),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _py_state_to_list(state: tuple) -> list:
    return [state[0], list(state[1]), state[2]]


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state((npst[0], npst[1].numpy().astype(np.uint32), *npst[2:]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _after_step(step: int) -> None:
    """A hook run after each optimizer step (tests use it to simulate a crash)."""


class Trainer:
    def __init__(self, cfg: TrainConfig, resume: str | Path | None = None,
                 progress: bool = True, dist_info: DistInfo | None = None) -> None:
        self.cfg = cfg
        self.dist = dist_info or DistInfo()
        self.progress = progress and self.dist.is_main  # only rank 0 prints and writes
        self.out = Path(cfg.out)
        self.resume_ckpt = load_checkpoint(resume) if resume else None
        if self.resume_ckpt is not None and not self.resume_ckpt.train_state:
            raise CheckpointError(f"{resume} has no training state to resume (a best.pt or "
                                  "exported model); resume from last.pt, or use --init")
        if not cfg.train:
            raise ConfigError("no training data: give --train LMDB_OR_LABELS (or train: in "
                              "the config)")
        self.init_ckpt = load_checkpoint(cfg.init) if cfg.init and resume is None else None
        self.device = self.dist.device if dist_info else torch.device(
            ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto"
            else cfg.device)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        random.seed(cfg.seed)
        if self.resume_ckpt is not None:
            self.charset = self.resume_ckpt.charset
        else:
            self.charset = Charset.resolve(cfg.charset)
        self.pre = Preprocess(height=cfg.height, width=cfg.width, channels=cfg.channels,
                              max_width=cfg.max_width)
        self.model_cfg = ModelConfig(
            num_classes=self.charset.num_classes, height=cfg.height, channels=cfg.channels,
            hidden=cfg.hidden, n_rnn=cfg.n_rnn, rnn_type=cfg.rnn_type,
            leaky_relu=cfg.leaky_relu, cnn_channels=cfg.cnn_channels,
            separable=cfg.separable, output_rank=cfg.output_rank,
            **self._added_block())
        self.model = CRNN(self.model_cfg).to(self.device)
        self._freeze()
        self._load_data()
        # the learning rate for the effective (global) batch; see docs/distributed.md
        self.lr_scale = {"none": 1.0, "linear": float(self.dist.world),
                         "sqrt": math.sqrt(self.dist.world)}[cfg.lr_scaling]
        self.optimizer = make_optimizer(cfg, self._param_groups(), cfg.lr * self.lr_scale)
        if self.dist.enabled:
            self._log(f"{self.dist.world} processes ({self.dist.backend}) x batch "
                      f"{self.batch_size} = effective batch {self.sampler.global_batch}; lr "
                      f"{cfg.lr} x {self.lr_scale:g} ({cfg.lr_scaling} scaling) = "
                      f"{cfg.lr * self.lr_scale:g}")
        steps_per_epoch = len(self.sampler.batches())
        self.total_steps = cfg.max_steps or cfg.epochs * steps_per_epoch
        self.steps_per_epoch = steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, cfg, self.total_steps))
        self.criterion = nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
        self.use_amp, why = amp_policy(cfg.amp, self.device)
        precision = "bf16 autocast for the model, fp32 loss and optimizer" if self.use_amp \
            else "fp32"
        self._log(f"precision: {precision} ({why})")
        if self.device.type == "cuda":
            # cudnn tries every algorithm for each new input shape: a gain when the width is
            # fixed, a loss of ~1 s per step when batches come in many widths
            torch.backends.cudnn.benchmark = cfg.width is not None
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.saved_step: int | None = None  # step of the last.pt this run wrote or resumed
        self.best: tuple[float, float] | None = None  # (accuracy, -cer)
        self.bad_validations = 0
        self.nonfinite_steps = 0  # updates skipped for a non-finite loss or gradient
        self.nonfinite_run = 0
        # how the model reads: a fine-tuned model inherits its parent's policy, so that
        # validation (and best.pt's choice) reads as the shipped model will
        self.reading = ReadingPolicy()
        if self.resume_ckpt is not None:
            self._restore(self.resume_ckpt)
            self.reading = self.resume_ckpt.reading
        elif cfg.init:
            init = self.init_ckpt
            shared, new, fresh = transfer_weights(self.model, init, self.charset,
                                                  partial=cfg.init_partial)
            self.reading = init.reading
            self._log(f"fine-tuning from {cfg.init}: {shared} characters shared, {new} new")
            if fresh:
                self._log(f"started afresh (not in {cfg.init}, or another shape): "
                          f"{', '.join(layer_names(fresh))}")
            frozen_fresh = [n for n in fresh if self._frozen(n)]
            if frozen_fresh:
                raise ConfigError(f"freeze: {cfg.freeze} would keep layers that {cfg.init} "
                                  f"does not hold at random: "
                                  f"{', '.join(layer_names(frozen_fresh))}; freeze fewer")
        self.net: nn.Module = self.model
        if self.dist.enabled:
            if cfg.sync_bn and self.dist.backend == "nccl":
                # BatchNorm statistics over the global batch, as one process would see them
                # (same parameter names, so checkpoints stay interchangeable)
                self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            # every rank starts from rank 0's weights (DDP broadcasts them here)
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                else None)

    def _added_block(self) -> dict[str, int]:
        """``added_classes`` and ``added_rank`` of the model: a resumed run's, or with
        ``added_rank`` the characters the charset adds after init's (it must begin with
        them, in their order)."""
        if self.resume_ckpt is not None:
            mc = self.resume_ckpt.model_config
            return {"added_classes": mc.added_classes, "added_rank": mc.added_rank}
        if not self.cfg.added_rank:
            return {}
        init = self.init_ckpt
        old = list(init.charset.chars)
        if init.model_config.added_classes:
            raise ConfigError(f"added_rank: {self.cfg.init} has an added block already; "
                              "resume its last.pt to train it further")
        if list(self.charset.chars[:len(old)]) != old or len(self.charset) == len(old):
            raise ConfigError(f"added_rank: the charset must begin with the {len(old)} "
                              f"characters of {self.cfg.init}, in their order, and add new "
                              "ones after them (tools/grow_charset.py --base writes such a "
                              "charset)")
        return {"added_classes": len(self.charset) - len(old),
                "added_rank": self.cfg.added_rank}

    def _frozen(self, name: str) -> bool:
        """Whether ``freeze`` keeps this weight as init left it."""
        if self.cfg.freeze == "cnn":
            return name.startswith("cnn.")
        if self.cfg.freeze == "body":
            return not name.startswith(output_prefixes(self.model))
        if self.cfg.freeze == "trained":
            return not name.startswith(added_prefix(self.model))
        return False

    def _freeze(self) -> None:
        """Frozen weights take no gradient (so the backward pass stops before them)."""
        for name, p in self.model.named_parameters():
            p.requires_grad_(not self._frozen(name))

    def _train_mode(self) -> None:
        """Training mode, except a frozen BatchNorm: it keeps init's statistics."""
        self.model.train()
        for m in self.model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm)) and not any(
                    p.requires_grad for p in m.parameters()):
                m.eval()

    def _param_groups(self) -> list[dict[str, Any]]:
        """One group, or two when ``head_lr`` gives the output layer its own rate (the
        scheduler scales both alike); frozen weights are in neither."""
        cfg = self.cfg
        if cfg.head_lr is None:
            return [{"params": [p for p in self.model.parameters() if p.requires_grad]}]
        head = output_prefixes(self.model)
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if not n.startswith(head)]},
                  {"params": [p for n, p in named if n.startswith(head)],
                   "lr": cfg.head_lr * self.lr_scale}]
        return [g for g in groups if g["params"]]

    # ------------------------------------------------------------------ data
    def _load_data(self) -> None:
        cfg = self.cfg
        source = open_sources(cfg.train, cfg.images_root, cfg.label_format, self.charset)
        scan = scan_labels(source, self.charset, cfg.oov)
        if scan.skipped:
            report = scan.skipped_report()
            self._log(report)
            if sum(scan.skipped.values()) > 0.2 * (sum(scan.skipped.values())
                                                   + len(scan.indices)):
                warnings.warn(f"{report}: is the charset the one the data was made for?",
                              stacklevel=2)
        if not scan.indices:
            raise DatasetError(f"no usable training samples in {source.name}")
        self.train_set = LineDataset(source, self.charset, self.pre, cfg.oov, scan.indices,
                                     cfg.stretch_jitter, cfg.seed, cfg.augment, cfg.recut,
                                     cfg.recut_margin)
        self.batch_size = self._resolve_batch_size(scan.proxies)
        self.sampler = BucketBatchSampler(scan.proxies, self.batch_size, seed=cfg.seed,
                                          num_replicas=self.dist.world, rank=self.dist.rank)
        self.val_source: Source | None = None
        if cfg.val:
            self.val_source = open_sources(cfg.val, cfg.images_root, cfg.label_format,
                                           self.charset)
        self._log(f"training on {len(scan.indices)} samples from {source.name}"
                  + (f"; validating on {len(self.val_source)}" if self.val_source else ""))

    def _resolve_batch_size(self, proxies: list[float]) -> int:
        """``batch_size``, or for ``auto`` the largest batch whose training step fits in
        GPU memory at the widest width the data produces (less 10%; the smallest over the
        processes)."""
        if self.cfg.batch_size != "auto":
            return int(self.cfg.batch_size)
        if self.device.type != "cuda":
            self._log("batch size auto: memory probing is for GPUs; using 64 on "
                      f"{self.device.type}")
            return 64
        width = probe_width(proxies, self.cfg.height, self.cfg.width, self.cfg.max_width)
        n = min_int(self.dist, auto_batch_size(self.model, width, self.cfg.height,
                                               self.cfg.channels, self.device,
                                               self.cfg.amp))
        if n == 0:
            raise OutOfMemoryError(
                f"batch size auto: not even 8 lines {self.cfg.height}x{width} px fit in the "
                f"memory of {self.device}; free the GPU, lower max_width or use a smaller "
                "model")
        self._log(f"batch size auto: {n} lines per process (probed at {self.cfg.height}x"
                  f"{width} px, the widest the data produces)")
        return n

    def _out_of_memory(self, batch: Batch) -> OutOfMemoryError:
        """The error for a batch that did not fit: its size, one that fits, how to go on."""
        self.optimizer.zero_grad(set_to_none=True)
        free_memory(self.device)
        n, _, h, w = batch.images.shape
        fit = largest_fitting(
            # the bare model: a DDP-wrapped one would wait for the other processes
            lambda k: step_fits(self.model, k, w, h, self.pre.channels, self.device,
                                self.use_amp), start=max(8, n // 2), limit=max(8, n - 8))
        fit = int(fit * 0.9) // 8 * 8 if fit >= 16 else fit
        per = " per process" if self.dist.enabled else ""
        advice = (f"use --batch-size {fit}{per} (or --batch-size auto)" if fit
                  else f"not even 8 lines {h}x{w} px fit: lower max_width (now "
                       f"{self.cfg.max_width}) or use a smaller model")
        last = self.out / "last.pt"
        if self.saved_step is not None:
            then = (f"; the last checkpoint {last} (step {self.saved_step}) is intact: "
                    f"crnn train --resume {last} --batch-size {fit or 'N'}")
        else:
            then = "; no checkpoint had been written yet, so start again with that batch size"
        return OutOfMemoryError(
            f"out of memory on {self.device} at step {self.step + 1}: a batch of {n} lines "
            f"{h}x{w} px (batch size {self.batch_size}{per}) did not fit; {advice}{then}")

    def _loader(self) -> torch.utils.data.DataLoader:
        cfg = self.cfg
        return torch.utils.data.DataLoader(
            self.train_set, batch_sampler=self.sampler, collate_fn=collate,
            num_workers=cfg.workers, pin_memory=self.device.type == "cuda",
            persistent_workers=False, prefetch_factor=4 if cfg.workers else None,
            # worker seeds come from this generator, not the global RNG, so a resumed run
            # draws the same random numbers as an uninterrupted one
            generator=torch.Generator().manual_seed(cfg.seed * 1000003 + self.epoch))

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(self, with_state: bool) -> Checkpoint:
        state = None
        if with_state:
            state = {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "global_batch": self.sampler.global_batch,
                "best": list(self.best) if self.best else None,
                "bad_validations": self.bad_validations,
                "rng": _rng_state(),
                "config": self.cfg.to_dict(),
            }
        sd = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        return Checkpoint(self.model_cfg, self.charset, self.pre, sd, state,
                          meta={"step": self.step, "epoch": self.epoch}, reading=self.reading)

    def _restore(self, ckpt: Checkpoint) -> None:
        self.model.load_state_dict(ckpt.state_dict)
        st = ckpt.train_state or {}
        self.optimizer.load_state_dict(st["optimizer"])
        self.scheduler.load_state_dict(st["scheduler"])
        self.step, self.epoch = st["step"], st["epoch"]
        self.saved_step = self.step
        self.batch_in_epoch = st["batch_in_epoch"]
        saved_gb = st.get("global_batch", self.sampler.global_batch)
        if saved_gb != self.sampler.global_batch:
            # another process count or batch size: continue after the same number of
            # samples of this epoch (the batches themselves are regrouped)
            self.batch_in_epoch = self.batch_in_epoch * saved_gb // self.sampler.global_batch
            self._log(f"global batch changed {saved_gb} -> {self.sampler.global_batch}: "
                      f"resuming epoch {self.epoch} at batch {self.batch_in_epoch}")
        self.best = tuple(st["best"]) if st.get("best") else None
        self.bad_validations = st.get("bad_validations", 0)
        _set_rng_state(st["rng"])
        self._log(f"resumed at step {self.step} (epoch {self.epoch}, batch "
                  f"{self.batch_in_epoch})")

    # ------------------------------------------------------------------ logging
    def _log(self, msg: str) -> None:
        if self.progress:
            print(msg, file=sys.stderr, flush=True)

    def _metrics(self, row: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        with (self.out / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k not in ("step", "epoch"):
                    self.tb.add_scalar(k, v, row["step"])

    def _open_tensorboard(self):
        if not self.cfg.tensorboard or not self.dist.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return SummaryWriter(str(self.out / "tb"))

    # ------------------------------------------------------------------ validation
    def validate(self) -> dict[str, float] | None:
        """Rank 0 reads the whole validation set (so the figure is the single-process one);
        the other ranks wait."""
        if self.val_source is None:
            return None
        if not self.dist.is_main:
            barrier(self.dist)
            return None
        self.model.eval()
        rec = Recognizer(self.model, self.charset, self.pre, self.device,
                         batch_size=max(64, self.batch_size), reading=self.reading)
        res = evaluate(rec, self.val_source, examples=3)
        self._train_mode()
        barrier(self.dist)
        m = {"val_accuracy": res.score.accuracy, "val_cer": res.score.cer,
             "val_ned": res.score.ned}
        shown = " | ".join(f"{t!r} -> {p!r}" for _, t, p, _ in res.examples)
        self._log(f"step {self.step}: val accuracy {m['val_accuracy']:.4f}, CER "
                  f"{m['val_cer']:.4f} on {res.score.lines} lines ({shown})")
        return m

    # ------------------------------------------------------------------ loop
    def _train_step(self, batch: Batch | None) -> torch.Tensor:
        """One optimiser step; returns the loss as a device tensor (reading it waits for the
        GPU, so the loop reads it only when it logs)."""
        if batch is None:
            # every sample of this rank's batch was unusable: take part in the step with a
            # zero loss so the other ranks' gradient all-reduce does not wait forever
            images = torch.zeros(1, self.pre.channels, self.pre.height, 32)
            batch = Batch(images, torch.ones(1, dtype=torch.long), torch.ones(1, dtype=torch.long),
                          torch.full((1,), 9, dtype=torch.long), [""], [""])
            weight = 0.0
        else:
            weight = 1.0
        images = batch.images.to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
            logits = self.net(images)
        log_probs = logits.float().log_softmax(2)
        loss = weight * self.criterion(log_probs, batch.targets, batch.input_lengths,
                                       batch.target_lengths)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip:
            norm = nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        else:
            norm = loss.detach()
        # a non-finite loss or gradient would turn the weights into NaN: skip the update
        # (every rank sees the same all-reduced gradient norm, so all skip together)
        if not bool(torch.isfinite(loss.detach()) & torch.isfinite(norm)):
            self.optimizer.zero_grad(set_to_none=True)
            self._skipped_step()
            with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()"
                warnings.simplefilter("ignore", UserWarning)
                self.scheduler.step()  # the schedule follows the step count regardless
        else:
            self.nonfinite_run = 0
            self.optimizer.step()
            self.scheduler.step()
        return loss.detach()

    def _skipped_step(self) -> None:
        self.nonfinite_steps += 1
        self.nonfinite_run += 1
        if self.nonfinite_steps <= 3 or self.nonfinite_run == _MAX_NONFINITE_RUN:
            self._log(f"step {self.step + 1}: non-finite loss or gradient; update skipped "
                      f"({self.nonfinite_steps} so far)")
        if self.nonfinite_run >= _MAX_NONFINITE_RUN:
            raise TrainingError(
                f"training diverged: {self.nonfinite_run} steps in a row up to step "
                f"{self.step + 1} had a non-finite loss or gradient (lr "
                f"{self.scheduler.get_last_lr()[0]:g}). Lower lr, keep grad_clip on, or try "
                f"amp=false; last.pt holds the last good weights")

    def _check_finite(self) -> None:
        bad = [n for n, p in self.model.state_dict().items()
               if p.is_floating_point() and not bool(torch.isfinite(p).all())]
        if bad:
            raise TrainingError(
                f"step {self.step}: {len(bad)} weight tensors are not finite ({bad[0]} ...); "
                "not saving them. Lower lr (or keep grad_clip on) and resume from last.pt")

    def run(self) -> TrainResult:
        cfg = self.cfg
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.out / "config.yaml")
        self.tb = self._open_tensorboard()
        t0 = time.perf_counter()
        last_metrics: dict[str, float] | None = None
        stop = self.step >= self.total_steps
        samples_seen, t_rate = 0, time.perf_counter()
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=self.total_steps, initial=self.step, unit="step",
                       dynamic_ncols=True, file=sys.stderr)
        self._train_mode()
        with warnings.catch_warnings():
            warnings.simplefilter("once")
            while not stop and (cfg.max_steps is not None or self.epoch < cfg.epochs):
                self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
                self.train_set.epoch = self.epoch  # the loader's workers copy it
                for batch in self._loader():
                    self.batch_in_epoch += 1
                    end_of_epoch = self.batch_in_epoch >= self.steps_per_epoch
                    if end_of_epoch:  # the state saved below already points past it
                        self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                    if batch is None and not self.dist.enabled:
                        continue  # every sample of this batch was unusable
                    try:
                        loss = self._train_step(batch)
                    except Exception as exc:
                        if not is_out_of_memory(exc) or batch is None:
                            raise
                        raise self._out_of_memory(batch) from None
                    self.step += 1
                    samples_seen += len(batch) * self.dist.world if batch else 0
                    _after_step(self.step)
                    log_now = self.step % cfg.log_every == 0 or self.step == 1
                    # on a GPU the loss is read (a wait for the GPU) only when logging; the
                    # progress bar then shows the loss of the last logged step
                    loss_f = float(loss) if log_now or self.device.type == "cpu" else None
                    rate = samples_seen / max(1e-9, time.perf_counter() - t_rate)
                    if bar is not None:
                        if loss_f is not None:
                            bar.set_postfix(loss=f"{loss_f:.4f}", rate=f"{rate:.0f}/s",
                                            epoch=self.epoch, refresh=False)
                        bar.update(1)
                    if log_now:
                        self._metrics({"step": self.step, "epoch": self.epoch,
                                       "loss": loss_f,
                                       "lr": self.scheduler.get_last_lr()[0],
                                       "samples_per_s": rate})
                    stop = self.step >= self.total_steps
                    if self.step % cfg.val_every == 0 or end_of_epoch or stop:
                        last_metrics = self.validate()
                        if last_metrics is not None:
                            self._metrics({"step": self.step, "epoch": self.epoch,
                                           **last_metrics})
                            stop = self._update_best(last_metrics) or stop
                        stop = broadcast_flag(self.dist, stop)
                    if (stop or end_of_epoch or self.step % cfg.save_every == 0) \
                            and self.dist.is_main:
                        self._check_finite()
                        save_checkpoint(self._checkpoint(True), self.out / "last.pt")
                        self.saved_step = self.step
                    if stop:
                        break
        if bar is not None:
            bar.close()
        if self.val_source is None and self.dist.is_main:
            # without validation, the last weights are the best
            self._check_finite()
            save_checkpoint(self._checkpoint(False), self.out / "best.pt")
        if self.tb is not None:
            self.tb.close()
        barrier(self.dist)
        return TrainResult(self.step, self.epoch, self.best[0] if self.best else None,
                           last_metrics, time.perf_counter() - t0, self.out,
                           self.dist.is_main)

    def _update_best(self, m: dict[str, float]) -> bool:
        key = (m["val_accuracy"], -m["val_cer"])
        if self.best is None or key > self.best:
            self._check_finite()
            self.best = key
            self.bad_validations = 0
            save_checkpoint(self._checkpoint(False), self.out / "best.pt")
            return False
        self.bad_validations += 1
        if self.cfg.early_stop and self.bad_validations >= self.cfg.early_stop:
            self._log(f"early stop: no improvement in {self.bad_validations} validations")
            return True
        return False


def train(cfg: TrainConfig, resume: str | Path | None = None,
          progress: bool = True) -> TrainResult:
    """Train in this process, or as one rank of a torchrun job (WORLD_SIZE > 1)."""
    info = setup(cfg.device)
    trainer = None
    try:
        trainer = Trainer(cfg, resume, progress, info)
        return trainer.run()
    finally:
        # the trainer (its DDP wrapper, whose reducer holds gloo/NCCL work) goes before
        # its process group: left to the garbage collector, it could be freed after the
        # group or at interpreter exit, where a rank could abort ("terminate called
        # without an active exception", about 1 run in 20 of a resumed 2-rank CPU job)
        del trainer
        gc.collect()
        teardown(info)

"""--batch-size auto and out-of-memory handling (GPU memory simulated on the CPU)."""

import pytest
import torch

import crnn.train as train_mod
from crnn.checkpoint import load_checkpoint
from crnn.cli import main
from crnn.config import load_config
from crnn.errors import ConfigError, OutOfMemoryError
from crnn.memory import is_out_of_memory, largest_fitting, probe_width, step_fits
from crnn.model import CRNN, ModelConfig
from crnn.train import train

from .test_train import tiny_config


@pytest.mark.parametrize(("cap", "start", "limit", "want"), [
    (100, 16, 4096, 96),     # grows 16, 32, 64, then bisects 64..128
    (4096, 16, 4096, 4096),  # everything fits: the limit
    (20, 64, 4096, 16),      # the start is too big: searches below it
    (7, 16, 4096, 0),        # not even 8
    (8, 16, 4096, 8),
    (5000, 512, 1004, 1000),  # limit not a multiple of 8
])
def test_largest_fitting(cap, start, limit, want):
    tried = []

    def fits(n):
        tried.append(n)
        return n <= cap

    assert largest_fitting(fits, start=start, limit=limit) == want
    assert all(n % 8 == 0 and n <= limit for n in tried)
    assert len(tried) <= 20


def test_step_fits_runs_a_real_step_and_recognises_oom():
    model = CRNN(ModelConfig(num_classes=11, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                             hidden=16, n_rnn=1))
    assert step_fits(model, 4, 64, 32, 1, torch.device("cpu"), False)
    assert all(p.grad is None for p in model.parameters())  # nothing left behind

    class Greedy(torch.nn.Module):
        def forward(self, x):
            if x.shape[0] > 8:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
            return model(x)

        def zero_grad(self, set_to_none=True):
            model.zero_grad(set_to_none=set_to_none)

    assert step_fits(Greedy(), 8, 64, 32, 1, torch.device("cpu"), False)
    assert not step_fits(Greedy(), 16, 64, 32, 1, torch.device("cpu"), False)
    assert is_out_of_memory(RuntimeError("HIP out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="channels"):  # other errors are not swallowed
        step_fits(Greedy(), 4, 64, 32, 5, torch.device("cpu"), False)  # 5 channels


def test_probe_width():
    assert probe_width([3.0, 10.5], 32, None, 2048) == 432  # 10.5 em x 32 px x 1.25 -> 16s
    assert probe_width([300.0], 32, None, 2048) == 2048
    assert probe_width([3.0], 32, 100, 2048) == 100  # fixed width


@pytest.mark.slow
def test_batch_size_auto_config_and_cli(tmp_path, digits_lmdb, capsys):
    assert load_config(overrides=["batch_size=auto"]).batch_size == "auto"
    with pytest.raises(ConfigError, match="auto"):
        load_config(overrides=["batch_size=0"])
    # on the CPU, auto takes 64 and says so
    rc = main(["train", "--train", str(digits_lmdb), "--charset", "digits", "--out",
               str(tmp_path / "run"), "--batch-size", "auto", "--max-steps", "1",
               "--workers", "0", "--set", "cnn_channels=[8,8,16,16,16,16,16]",
               "--set", "hidden=16", "--quiet"])
    assert rc == 0
    with pytest.raises(SystemExit):
        main(["train", "--batch-size", "lots"])
    assert "positive integer or auto" in capsys.readouterr().err


def test_auto_batch_probes_the_device(tmp_path, digits_lmdb, monkeypatch):
    """What --batch-size auto does on a GPU, with the GPU's memory limit simulated."""
    widths = []

    def fake_fits(model, n, width, height, channels, device, amp):
        widths.append(width)
        return n <= 200

    monkeypatch.setattr("crnn.memory.step_fits", fake_fits)
    cfg = tiny_config(tmp_path, digits_lmdb, batch_size="auto", max_steps=2)
    trainer = train_mod.Trainer.__new__(train_mod.Trainer)
    trainer.cfg, trainer.dist = cfg, train_mod.DistInfo()
    trainer.device = torch.device("cuda")  # only _resolve_batch_size looks at it
    trainer.model = CRNN(ModelConfig(num_classes=11, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                                     hidden=16, n_rnn=1))
    trainer.progress = False
    assert trainer._resolve_batch_size([4.0, 6.0]) == 176  # 90% of 192, in 8s
    assert set(widths) == {240}  # 6 em x 32 px x 1.25


@pytest.mark.slow
def test_out_of_memory_names_the_batch_and_keeps_the_checkpoint(tmp_path, digits_lmdb,
                                                                 monkeypatch):
    cfg = tiny_config(tmp_path, digits_lmdb, batch_size=32, epochs=3, save_every=2)
    real_step = train_mod.Trainer._train_step

    def step(self, batch):  # the GPU "fills up" at step 4
        if self.step >= 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.2 GiB")
        return real_step(self, batch)

    monkeypatch.setattr(train_mod.Trainer, "_train_step", step)
    monkeypatch.setattr(train_mod, "step_fits", lambda model, n, *a: n <= 16)
    with pytest.raises(OutOfMemoryError) as err:
        train(cfg, progress=False)
    msg = str(err.value)
    last = tmp_path / "run" / "last.pt"
    assert "at step 4" in msg and "a batch of 32 lines 32x" in msg
    assert "--batch-size 8" in msg and f"{last} (step 2) is intact" in msg
    assert load_checkpoint(last).train_state["step"] == 2
    # the advice works: resume with the smaller batch
    monkeypatch.setattr(train_mod.Trainer, "_train_step", real_step)
    res = train(load_config(base=cfg.to_dict(), batch_size=8),
                resume=last, progress=False)
    assert res.steps > 2

import json

import pytest
import torch
import yaml

import crnn.train as train_mod
from crnn.charset import Charset
from crnn.checkpoint import load_checkpoint
from crnn.config import load_config
from crnn.errors import CharsetError, CheckpointError, ConfigError
from crnn.model import CRNN, ModelConfig
from crnn.train import Trainer, lr_factor, train, transfer_weights

TINY = ["cnn_channels=[8,8,16,16,16,16,16]", "hidden=16"]


def tiny_config(tmp_path, data, **kw):
    base = dict(train=[str(data)], val=[str(data)], charset="digits", out=str(tmp_path / "run"),
                batch_size=8, epochs=2, workers=0, save_every=5, val_every=1000, log_every=1)
    base.update(kw)
    return load_config(overrides=TINY, **base)


@pytest.mark.slow
def test_two_epochs_write_checkpoints_config_and_metrics(tmp_path, digits_lmdb):
    cfg = tiny_config(tmp_path, digits_lmdb)
    res = train(cfg, progress=False)
    run = tmp_path / "run"
    assert res.steps == 16 and res.epochs == 2  # 64 samples / 8 per batch, 2 epochs
    assert {"last.pt", "best.pt", "config.yaml", "metrics.jsonl"} <= {p.name
                                                                      for p in run.iterdir()}
    assert yaml.safe_load((run / "config.yaml").read_text())["batch_size"] == 8
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_accuracy" in r for r in rows) and any("loss" in r for r in rows)
    best = load_checkpoint(run / "best.pt")
    assert best.train_state is None and best.charset == Charset.preset("digits")
    assert load_checkpoint(run / "last.pt").train_state["step"] == 16


class Crash(Exception):
    pass


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(tmp_path, digits_lmdb, monkeypatch):
    # with stretch jitter, scan degradations and recuts: the random widths, degradations
    # and recut margins are drawn again identically after the resume
    cfg = tiny_config(tmp_path / "a", digits_lmdb, epochs=3, scheduler="cosine",
                      warmup_steps=3, optimizer="adamw", stretch_jitter=0.2, augment=0.5,
                      recut=0.5)
    train(cfg, progress=False)
    reference = load_checkpoint(tmp_path / "a" / "run" / "last.pt").state_dict

    cfg_b = tiny_config(tmp_path / "b", digits_lmdb, epochs=3, scheduler="cosine",
                        warmup_steps=3, optimizer="adamw", stretch_jitter=0.2, augment=0.5,
                        recut=0.5)

    def crash_at_13(step):
        if step == 13:  # mid-epoch 1; last.pt was saved at step 10
            raise Crash

    monkeypatch.setattr(train_mod, "_after_step", crash_at_13)
    with pytest.raises(Crash):
        train(cfg_b, progress=False)
    last = tmp_path / "b" / "run" / "last.pt"
    assert load_checkpoint(last).train_state["step"] == 10
    monkeypatch.setattr(train_mod, "_after_step", lambda step: None)
    res = train(cfg_b, resume=last, progress=False)
    assert res.steps == 24
    resumed = load_checkpoint(last).state_dict
    for k, v in reference.items():
        assert torch.equal(v, resumed[k]), k


def test_out_of_charset_label_is_a_clear_error(tmp_path, digits_lmdb):
    cfg = tiny_config(tmp_path, digits_lmdb, charset="chars:0123456")
    with pytest.raises(CharsetError, match=r"digits.lmdb #\d+"):
        Trainer(cfg, progress=False)
    cfg = tiny_config(tmp_path, digits_lmdb, charset="chars:0123456", oov="skip-sample",
                      epochs=1)
    Trainer(cfg, progress=False)  # skips those samples instead


def test_finetune_with_new_charset_keeps_shared_rows():
    torch.manual_seed(0)
    old_cs, new_cs = Charset.from_string("abc"), Charset.from_string("cxa")
    old = CRNN(ModelConfig(num_classes=4, cnn_channels=(4,) * 7, hidden=4))
    from crnn.checkpoint import Checkpoint
    from crnn.data.images import Preprocess
    ck = Checkpoint(old.config, old_cs, Preprocess(), old.state_dict())
    new = CRNN(ModelConfig(num_classes=4, cnn_channels=(4,) * 7, hidden=4))
    shared, added, fresh = transfer_weights(new, ck, new_cs)
    assert (shared, added, fresh) == (2, 1, [])
    w_old, w_new = old.rnn[1].embedding.weight, new.rnn[1].embedding.weight
    assert torch.equal(w_new[0], w_old[0])  # blank
    assert torch.equal(w_new[1], w_old[3])  # 'c'
    assert torch.equal(w_new[3], w_old[1])  # 'a'
    assert not torch.equal(w_new[2], w_old[2])  # 'x' is new
    assert torch.equal(new.cnn.conv0.weight, old.cnn.conv0.weight)
    # a new character's row starts as the shared characters' mean, so it never outscores
    # the best of them: the grown model reads what the old one read
    b_old, b_new = old.rnn[1].embedding.bias, new.rnn[1].embedding.bias
    assert torch.isclose(b_new[2], (b_old[1] + b_old[3]) / 2)
    assert torch.allclose(w_new[2], (w_old[1] + w_old[3]) / 2, atol=0.05)
    images = torch.rand(3, 1, 32, 64) * 2 - 1
    with torch.no_grad():
        before, after = old.eval()(images), new.eval()(images)
    old_best = before.argmax(-1)
    mapped = torch.tensor([0, 3, 2, 1])[old_best]  # old classes -> new (a->3, c->1)
    assert torch.equal(after.argmax(-1), mapped)


def test_partial_init_grows_the_recurrent_part_on_a_trained_cnn():
    """A model with a second BiLSTM layer starts from a one-layer checkpoint only with
    init_partial: the CNN and the first LSTM are copied, the output layer is matched by
    role (the init's last layer), and the new layers start afresh and are named."""
    from crnn.checkpoint import Checkpoint
    from crnn.data.images import Preprocess

    cs = Charset.from_string("abcdef")
    old = CRNN(ModelConfig(num_classes=7, cnn_channels=(4,) * 7, hidden=4, n_rnn=1))
    ck = Checkpoint(old.config, cs, Preprocess(), old.state_dict())
    new = CRNN(ModelConfig(num_classes=7, cnn_channels=(4,) * 7, hidden=4, n_rnn=2))
    with pytest.raises(CheckpointError, match="init_partial"):
        transfer_weights(new, ck, cs)
    shared, added, fresh = transfer_weights(new, ck, cs, partial=True)
    assert (shared, added) == (6, 0)
    assert torch.equal(new.cnn.conv0.weight, old.cnn.conv0.weight)
    assert torch.equal(new.rnn[0].rnn.weight_ih_l0, old.rnn[0].rnn.weight_ih_l0)
    assert torch.equal(new.rnn[1].embedding.weight, old.rnn[0].embedding.weight)  # the head
    assert {k.rsplit(".", 1)[0] for k in fresh} == {"rnn.0.embedding", "rnn.1.rnn"}


@pytest.mark.slow
def test_train_with_init_partial_names_the_layers_it_starts_afresh(tmp_path, digits_lmdb,
                                                                    capsys):
    first = train(tiny_config(tmp_path / "a", digits_lmdb, max_steps=2, n_rnn=1),
                  progress=False)
    deeper = tiny_config(tmp_path / "b", digits_lmdb, max_steps=2, n_rnn=2,
                         init=str(first.out / "last.pt"))
    with pytest.raises(CheckpointError, match="init_partial"):
        Trainer(deeper, progress=False)
    deeper = tiny_config(tmp_path / "b", digits_lmdb, max_steps=2, n_rnn=2,
                         init=str(first.out / "last.pt"), init_partial=True)
    train(deeper, progress=True)
    err = capsys.readouterr().err
    assert "started afresh (not in" in err and "rnn.0.embedding, rnn.1.rnn" in err


@pytest.mark.slow
def test_a_finetuned_model_inherits_and_validates_with_its_reading_policy(tmp_path,
                                                                          digits_lmdb):
    from crnn.checkpoint import save_checkpoint
    from crnn.reading import ReadingPolicy

    first = train(tiny_config(tmp_path / "a", digits_lmdb, max_steps=2), progress=False)
    parent = load_checkpoint(first.out / "last.pt")
    assert parent.reading == ReadingPolicy()  # trained from scratch: read once, as is
    parent.reading = ReadingPolicy(stretch=1.1, rereads=(1.0, 1.2), reread_below=0.8,
                                   right_pad=0.1)
    save_checkpoint(parent, tmp_path / "parent.pt")
    trainer = Trainer(tiny_config(tmp_path / "b", digits_lmdb, max_steps=2,
                                  init=str(tmp_path / "parent.pt")))
    assert trainer.reading == parent.reading
    seen = []
    real = train_mod.evaluate

    def spy(rec, *a, **kw):
        seen.append(rec.reading)
        return real(rec, *a, **kw)

    train_mod.evaluate = spy
    try:
        trainer.validate()
    finally:
        train_mod.evaluate = real
    assert seen == [parent.reading]  # best.pt is chosen reading as the shipped model will
    done = train(tiny_config(tmp_path / "c", digits_lmdb, max_steps=2,
                             init=str(tmp_path / "parent.pt")), progress=False)
    assert load_checkpoint(done.out / "last.pt").reading == parent.reading


def test_head_lr_gives_the_output_layer_its_own_rate(tmp_path, digits_lmdb):
    cfg = tiny_config(tmp_path, digits_lmdb, lr=1e-3, head_lr=1e-2, max_steps=2,
                      scheduler="cosine")
    trainer = Trainer(cfg)
    body, head = trainer.optimizer.param_groups
    assert (body["initial_lr"], head["initial_lr"]) == (1e-3, 1e-2)
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    assert {names[id(p)] for p in head["params"]} == {"rnn.1.embedding.weight",
                                                       "rnn.1.embedding.bias"}
    assert len(body["params"]) + 2 == len(list(trainer.model.parameters()))
    trainer.run()
    body, head = trainer.optimizer.param_groups  # the schedule scales both alike
    assert head["lr"] == pytest.approx(10 * body["lr"]) and body["lr"] != 1e-3
    with pytest.raises(ConfigError, match="head_lr"):
        load_config(overrides=["head_lr=0"])


@pytest.mark.slow
def test_freeze_trains_only_what_is_left_free(tmp_path, digits_lmdb):
    """``freeze: body`` changes only the output layer (BatchNorm statistics included),
    ``freeze: cnn`` the recurrent part too; both need init, and neither may keep a layer that
    init_partial started afresh."""
    first = train(tiny_config(tmp_path / "a", digits_lmdb, max_steps=2), progress=False)
    init = str(first.out / "last.pt")
    before = load_checkpoint(init).state_dict
    for freeze, free in (("body", ("rnn.1.embedding.",)),
                         ("cnn", ("rnn.",))):
        done = train(tiny_config(tmp_path / freeze, digits_lmdb, max_steps=3, init=init,
                                 freeze=freeze, head_lr=1e-2), progress=False)
        after = load_checkpoint(done.out / "last.pt").state_dict
        for name, value in after.items():
            same = torch.equal(value, before[name])
            assert same != name.startswith(free) or "num_batches" in name, (freeze, name)
    # a factored output layer is both its factors: body-freezing leaves the projection free
    factored = train(tiny_config(tmp_path / "r", digits_lmdb, max_steps=2, output_rank=4),
                     progress=False)
    init_r = str(factored.out / "last.pt")
    before_r = load_checkpoint(init_r).state_dict
    done = train(tiny_config(tmp_path / "rb", digits_lmdb, max_steps=3, init=init_r,
                             output_rank=4, freeze="body"), progress=False)
    for name, value in load_checkpoint(done.out / "last.pt").state_dict.items():
        free = name.startswith(("rnn.1.embedding.", "rnn.1.project."))
        assert torch.equal(value, before_r[name]) != free or "num_batches" in name, name
    with pytest.raises(ConfigError, match="init"):
        tiny_config(tmp_path / "c", digits_lmdb, freeze="body")
    with pytest.raises(ConfigError, match="freeze"):
        tiny_config(tmp_path / "c", digits_lmdb, freeze="all", init=init)
    with pytest.raises(ConfigError, match="at random"):
        Trainer(tiny_config(tmp_path / "d", digits_lmdb, max_steps=2, n_rnn=3, init=init,
                            init_partial=True, freeze="body"))


def test_added_block_learns_new_characters_beside_a_trained_layer(tmp_path, digits_lmdb):
    """``added_rank`` with ``freeze: trained``: the characters a charset adds after init's
    are scored by a block of their own; init's output layer and every other weight stay as
    they were (the grown model scores the old classes exactly as init did), only the block
    learns; the checkpoint loads as the same network, resumes, and exports to ONNX with
    the block folded into one output layer."""
    first = train(tiny_config(tmp_path / "a", digits_lmdb, max_steps=2), progress=False)
    init = str(first.out / "last.pt")
    grown = tmp_path / "grown.txt"
    grown.write_text("\n".join("0123456789xy") + "\n", encoding="utf-8")
    kw = dict(charset=str(grown), init=init, added_rank=4, freeze="trained", max_steps=3,
              save_every=2)
    trainer = Trainer(tiny_config(tmp_path / "b", digits_lmdb, **kw))
    shapes = {n: tuple(p.shape) for n, p in trainer.model.named_parameters()}
    assert shapes["rnn.1.embedding.weight"] == (11, 32)
    assert shapes["rnn.1.added_project.weight"] == (4, 32)
    assert shapes["rnn.1.added_embedding.weight"] == (2, 4)
    parent = load_checkpoint(init)
    images = torch.rand(2, 1, 32, 64) * 2 - 1
    with torch.no_grad():
        old, new = parent.build_model().eval()(images), trainer.model.eval()(images)
    assert new.shape[-1] == 13 and torch.equal(new[..., :11], old)
    block0 = trainer.model.rnn[1].added_embedding.weight.detach().clone()
    trainer.run()
    after = load_checkpoint(tmp_path / "b" / "run" / "last.pt")
    for name, value in after.state_dict.items():
        if name.startswith("rnn.1.added_"):
            continue
        assert torch.equal(value, parent.state_dict[name]), name
    assert not torch.equal(after.state_dict["rnn.1.added_embedding.weight"], block0)
    assert (after.model_config.added_classes, after.model_config.added_rank) == (2, 4)
    assert after.model_config.num_classes == 13
    model = after.build_model().eval()
    with torch.no_grad():
        assert torch.equal(model(images)[..., :11], old)
    # resumed, the run rebuilds the block from last.pt
    resumed = Trainer(tiny_config(tmp_path / "b", digits_lmdb, **{**kw, "max_steps": 4}),
                      resume=tmp_path / "b" / "run" / "last.pt")
    assert resumed.model.config.added_classes == 2
    resumed.run()
    pytest.importorskip("onnxruntime")
    from crnn.export import OnnxModel, onnx_bytes

    with torch.no_grad():
        ref = model(images).numpy()
        folded = model.folded()  # the block multiplied out into one output layer
        assert not any(".added_" in k for k in folded.state_dict())
        assert folded.config.added_classes == 0 and folded.config.num_classes == 13
        assert abs(folded(images).numpy() - ref).max() < 1e-5
    onnx_model = OnnxModel(onnx_bytes(after))  # exported folded: one output layer
    assert onnx_model.config.added_classes == 0
    got = onnx_model(images.numpy())
    assert got.shape == ref.shape and abs(got - ref).max() < 1e-4
    # the charset must begin with init's, and the block needs init; freeze: trained a block
    reordered = tmp_path / "reordered.txt"
    reordered.write_text("\n".join("x0123456789y") + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="begin with"):
        Trainer(tiny_config(tmp_path / "c", digits_lmdb, **{**kw, "charset": str(reordered)}))
    with pytest.raises(ConfigError, match="init"):
        tiny_config(tmp_path / "c", digits_lmdb, added_rank=4)
    with pytest.raises(ConfigError, match="added_rank"):
        tiny_config(tmp_path / "c", digits_lmdb, init=init, freeze="trained")
    with pytest.raises(ConfigError, match="added"):
        ModelConfig(num_classes=11, added_classes=2)
    with pytest.raises(CheckpointError, match="added block"):  # a fine-tune from a grown model
        Trainer(tiny_config(tmp_path / "d", digits_lmdb, charset=str(grown),
                            init=str(tmp_path / "b" / "run" / "last.pt")))


@pytest.mark.slow
def test_frozen_run_resumes_to_identical_weights(tmp_path, digits_lmdb, monkeypatch):
    """A killed ``freeze: body`` run resumes with its frozen layers still frozen (BatchNorm
    statistics included) and ends with the weights of a run never stopped."""
    first = train(tiny_config(tmp_path / "init", digits_lmdb, max_steps=2), progress=False)
    kw = dict(max_steps=6, save_every=2, init=str(first.out / "last.pt"), freeze="body",
              augment=0.5)
    train(tiny_config(tmp_path / "a", digits_lmdb, **kw), progress=False)
    reference = load_checkpoint(tmp_path / "a" / "run" / "last.pt").state_dict

    def crash_at_3(step):
        if step == 3:  # last.pt was saved at step 2
            raise Crash

    cfg_b = tiny_config(tmp_path / "b", digits_lmdb, **kw)
    monkeypatch.setattr(train_mod, "_after_step", crash_at_3)
    with pytest.raises(Crash):
        train(cfg_b, progress=False)
    monkeypatch.setattr(train_mod, "_after_step", lambda step: None)
    last = tmp_path / "b" / "run" / "last.pt"
    train(cfg_b, resume=last, progress=False)
    resumed = load_checkpoint(last).state_dict
    for k, v in reference.items():
        assert torch.equal(v, resumed[k]), k


def test_output_rank_trains_a_factored_output_layer(tmp_path, digits_lmdb):
    """``output_rank`` in the config: the last layer is project (2 x hidden -> R) then
    embedding (R -> classes), it trains, and its checkpoint loads as the same network."""
    cfg = tiny_config(tmp_path, digits_lmdb, output_rank=4, max_steps=3)
    trainer = Trainer(cfg)
    shapes = {n: tuple(p.shape) for n, p in trainer.model.named_parameters()}
    assert shapes["rnn.1.project.weight"] == (4, 32)
    assert shapes["rnn.1.embedding.weight"] == (11, 4)
    assert "rnn.0.project.weight" not in shapes  # only the output layer is factored
    trainer.run()
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt.model_config.output_rank == 4
    model = ckpt.build_model().eval()
    assert model(torch.rand(1, 1, 32, 64)).shape == (17, 1, 11)
    with pytest.raises(ConfigError, match="output_rank"):
        ModelConfig(num_classes=11, output_rank=-1)


def test_config_overrides_and_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("lr: 0.01\nbatch_size: 16\ntrain: [a.lmdb]\n")
    cfg = load_config(p, ["lr=0.5", "width=100"], epochs=3)
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.width, cfg.train) == (
        0.5, 16, 3, 100, ("a.lmdb",))
    with pytest.raises(ConfigError, match="unknown config key"):
        load_config(overrides=["learning_rate=1"])
    with pytest.raises(ConfigError, match="integer"):
        load_config(overrides=["batch_size=abc"])
    with pytest.raises(ConfigError, match="optimizer"):
        load_config(overrides=["optimizer=sgdx"])


def test_lr_schedules():
    cfg = load_config(overrides=["scheduler=step", "step_size=10", "gamma=0.5"])
    assert [lr_factor(s, cfg, 100) for s in (0, 9, 10, 25)] == [1, 1, 0.5, 0.25]
    cfg = load_config(overrides=["scheduler=cosine", "warmup_steps=10", "min_lr_ratio=0"])
    assert lr_factor(0, cfg, 110) == pytest.approx(0.01)
    assert lr_factor(10, cfg, 110) == pytest.approx(1.0)
    assert lr_factor(110, cfg, 110) == pytest.approx(0.0)
    cfg = load_config(overrides=["scheduler=onecycle"])
    assert lr_factor(30, cfg, 100) == pytest.approx(1.0)
    assert lr_factor(0, cfg, 100) < 0.05


@pytest.mark.slow
def test_full_tutorial_model_trains_a_few_steps(tmp_path, digits_lmdb):
    cfg = load_config(train=[str(digits_lmdb)],
                      charset="chars:0123456789abcdefghijklmnopqrstuvwxyz", width=100,
                      out=str(tmp_path / "full"), batch_size=4, max_steps=2, workers=0)
    t = Trainer(cfg, progress=False)
    assert sum(p.numel() for p in t.model.parameters()) == 8_331_301
    assert t.run().steps == 2


def test_index_style_dataset_trains(tmp_path, font_path):
    from crnn.data.tools import create_dataset

    from .conftest import render

    cs_file = tmp_path / "charset.txt"
    cs_file.write_text("blank\n" + "\n".join("0123456789") + "\n", encoding="utf-8")
    (tmp_path / "img").mkdir()
    lines = []
    for i, text in enumerate(["123", "4567", "890", "2468"] * 4):
        render(text, font_path).save(tmp_path / "img" / f"{i}.png")
        lines.append(f"{i}.png " + " ".join(str(int(c) + 1) for c in text))
    labels = tmp_path / "train.txt"
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "idx.lmdb"
    rep = create_dataset(labels, tmp_path / "img", out, charset=Charset.from_file(cs_file),
                         progress=False)
    assert rep.written == 16
    from crnn.data.lmdb import LmdbReader
    assert LmdbReader(out).get(1)[1] == "4567"
    cfg = load_config(overrides=TINY, train=[str(out)], charset=str(cs_file),
                      out=str(tmp_path / "r"), batch_size=8, max_steps=2, workers=0)
    assert train(cfg, progress=False).steps == 2


def test_text_overrides_are_taken_literally():
    cfg = load_config(overrides=["charset=chars: 0a:b", "images_root=null"])
    assert cfg.charset == "chars: 0a:b" and cfg.images_root is None


# --------------------------------------------------------------------------- precision
def test_amp_policy_uses_bf16_only_where_it_is_native(monkeypatch):
    monkeypatch.setattr(train_mod, "has_native_bf16", lambda: False)
    use, why = train_mod.amp_policy(True, torch.device("cpu"))
    assert not use and "no native bf16" in why
    monkeypatch.setattr(train_mod, "has_native_bf16", lambda: True)
    assert train_mod.amp_policy(True, torch.device("cpu"))[0]
    assert train_mod.amp_policy(False, torch.device("cpu")) == (False, "amp=false")
    assert train_mod.amp_policy(True, torch.device("cuda"))[0]


@pytest.mark.slow
def test_bf16_cpu_steps_are_finite_lower_the_loss_and_log_it(tmp_path, digits_lmdb,
                                                              monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "has_native_bf16", lambda: True)
    cfg = tiny_config(tmp_path, digits_lmdb, max_steps=24, lr=3e-3, log_every=1,
                      val_every=10**6)
    t = Trainer(cfg, progress=True)
    assert t.use_amp
    assert "precision: bf16 autocast" in capsys.readouterr().err
    t.run()
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 24 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4
    assert t.nonfinite_steps == 0


@pytest.mark.slow
def test_bf16_resume_is_exact(tmp_path, digits_lmdb, monkeypatch):
    monkeypatch.setattr(train_mod, "has_native_bf16", lambda: True)
    cfg = tiny_config(tmp_path / "a", digits_lmdb, epochs=2)
    train(cfg, progress=False)
    reference = load_checkpoint(tmp_path / "a" / "run" / "last.pt").state_dict

    cfg_b = tiny_config(tmp_path / "b", digits_lmdb, epochs=2)

    def crash_at_7(step):
        if step == 7:  # last.pt was saved at step 5 (save_every)
            raise Crash

    monkeypatch.setattr(train_mod, "_after_step", crash_at_7)
    with pytest.raises(Crash):
        train(cfg_b, progress=False)
    last = tmp_path / "b" / "run" / "last.pt"
    monkeypatch.setattr(train_mod, "_after_step", lambda step: None)
    train(cfg_b, resume=last, progress=False)
    resumed = load_checkpoint(last).state_dict
    for k, v in reference.items():
        assert torch.equal(v, resumed[k]), k


def test_skipped_samples_are_counted_with_the_characters_that_caused_them():
    """A charset that lacks the space (a first line ' ' reads as the blank placeholder)
    makes oov=skip-sample drop every label with a space: the report says how many of all,
    and which characters."""
    from crnn.charset import Charset
    from crnn.data.dataset import scan_labels

    class Labels:
        name = "labels"

        def __init__(self, labels):
            self.labels = labels

        def __len__(self):
            return len(self.labels)

        def label(self, i):
            return self.labels[i]

    scan = scan_labels(Labels(["ab", "a b", "b a", "a b!", "ba"]), Charset.from_string("ab"),
                       "skip-sample")
    assert scan.indices == [0, 4]
    assert scan.outside == {" ": 3, "!": 1}
    report = scan.skipped_report()
    assert report.startswith("skipped 3 of 5 training samples (60.0%): 3 character outside")
    assert "' ' x3, '!' x1" in report

"""The workstation tools (tools/): packing training-page lines to carry to a GPU machine,
scoring reading policies from readings taken once, and the prose corpus."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from crnn.data.dataset import open_sources
from crnn.data.images import decode_image
from crnn.data.lmdb import LmdbWriter
from crnn.decoding.decoders import Decoded

from .conftest import find_font, render

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace("/", "_"), TOOLS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.slow
def test_pack_pages_keeps_lines_at_model_height_within_the_budget(tmp_path):
    font = find_font()
    texts = [f"line {i}: Room A-{200 + i}, zsxx@example.edu.cn" for i in range(12)]
    with LmdbWriter(tmp_path / "pages.lmdb") as w:
        for t in texts:
            w.add(_png(render(t, font, size=40)), t)
    pack = _load("gpu/pack_pages")
    one = len(pack.pack(np.asarray(render(texts[0], font, size=40))))
    budget = 4.5 * one / 1e6  # room for about four lines
    out = tmp_path / "packed.lmdb"
    run = subprocess.run([sys.executable, str(TOOLS / "gpu" / "pack_pages.py"), "--data",
                          str(tmp_path / "pages.lmdb"), "--mb", str(budget), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    src = open_sources([out])
    assert 3 <= len(src) <= 5 < len(texts)
    for i in range(len(src)):
        data, label, name = src.raw(i)
        assert label in texts
        orig = np.asarray(render(label, font, size=40))
        got = decode_image(data, 1, name)
        assert got.shape[0] == 32 and abs(got.shape[1] - orig.shape[1] * 32 / orig.shape[0]) <= 1
        assert len(np.unique(got)) <= 16  # 16 grey levels
        assert got.min() < 40 and got.max() > 215  # ink and paper survive
    everything = subprocess.run([sys.executable, str(TOOLS / "gpu" / "pack_pages.py"), "--data",
                                 str(tmp_path / "pages.lmdb"), "--all", "--out",
                                 str(tmp_path / "all.lmdb")], capture_output=True, text=True)
    assert everything.returncode == 0, everything.stderr
    assert len(open_sources([tmp_path / "all.lmdb"])) == len(texts)


def test_reading_scores_a_policy_as_the_recognizer_combines_readings():
    reading = _load("reading_policy")

    def d(text: str, conf: float) -> Decoded:
        return Decoded(text, conf, ())

    # line 0: sure at 1.1, never reread; line 1: unsure, two rereads outvote it;
    # line 2: unsure, the rereads disagree and the surest text wins
    r = SimpleNamespace(truths=["abc", "talk", "x:"], by={
        (0.0, 1.1): [d("abc", 0.99), d("tallk", 0.7), d("x;", 0.6)],
        (0.0, 1.0): [d("abd", 0.5), d("talk", 0.5), d("x;", 0.3)],
        (0.0, 1.2): [d("abc", 0.9), d("talk", 0.45), d("x:", 0.95)],
        (1.0, 1.1): [d("abc", 0.99), d("talk", 0.9), d("x:", 0.9)],
    })
    right, cost = reading.score([r], 1.1, (), 1.0)
    assert right == 1 and abs(cost - 1.1) < 1e-9
    right, cost = reading.score([r], 1.1, (1.0, 1.2), 0.8)
    assert right == 3
    assert abs(cost - (1.1 + 2 * (1.0 + 1.2) / 3)) < 1e-9  # two of three lines read again
    assert reading.score([r], 1.1, (1.0, 1.2), 0.65)[0] == 2  # line 1 not reread
    # the same policy with a blank penalty takes the readings made with that penalty
    assert reading.score([r], 1.1, (), 1.0, 1.0)[0] == 3


def test_cross_threshold_counts_a_line_by_its_first_reading_s_confidence():
    """tools/cross_threshold.py: at threshold t a line at most t sure takes its two-view
    reading, any other keeps its first; lines right, fixed, broken, read again."""
    cross = _load("cross_threshold")
    truths = ["人士", "一句", "美国", "你好"]
    one = [("人土", 0.2), ("一句", 0.4), ("关国", 0.8), ("你 好", 0.99)]
    two = ["人士", "一旬", "关国", "你好"]
    assert cross.tally(truths, one, two, -1.0) == (2, 0, 0, 0)  # no second view
    assert cross.tally(truths, one, two, 0.3) == (3, 1, 0, 1)
    assert cross.tally(truths, one, two, 0.5) == (2, 1, 1, 2)
    assert cross.tally(truths, one, two, 1.0) == (2, 1, 1, 4)  # spaces ignored


def test_average_weights_moves_each_weight_its_share_and_refuses_other_networks(tmp_path):
    """tools/average_weights.py: (1 - w) * base + w * tuned for every tensor, base's
    charset and reading policy kept; another network or charset is refused."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.errors import CrnnError
    from crnn.model import CRNN, ModelConfig
    from crnn.reading import ReadingPolicy

    avg = _load("average_weights")
    cs = Charset.resolve("digits")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=1)
    torch.manual_seed(0)
    base = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict(),
                      reading=ReadingPolicy(blank_penalty=2.0))
    tuned = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict())
    save_checkpoint(base, tmp_path / "base.pt")
    save_checkpoint(tuned, tmp_path / "tuned.pt")
    out = tmp_path / "soup.pt"
    r = subprocess.run([sys.executable, str(TOOLS / "average_weights.py"), "--base",
                        str(tmp_path / "base.pt"), "--tuned", str(tmp_path / "tuned.pt"),
                        "--weight", "0.3", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    soup = load_checkpoint(out)
    for k, v in soup.state_dict.items():
        assert torch.allclose(v, 0.7 * base.state_dict[k].float()
                              + 0.3 * tuned.state_dict[k].float()), k
    assert any(not torch.allclose(v, base.state_dict[k].float())
               for k, v in soup.state_dict.items())
    assert soup.reading.blank_penalty == 2.0 and soup.charset.chars == cs.chars
    wide = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                       hidden=16, n_rnn=1)
    with pytest.raises(CrnnError, match="different networks"):
        avg.average(base, Checkpoint(wide, cs, Preprocess(), CRNN(wide).state_dict()), 0.5)
    with pytest.raises(CrnnError, match="must lie"):
        avg.average(base, tuned, 1.5)
    # a grown charset (base's characters first, then new ones): shared output rows are
    # interpolated, the new rows and the charset are the tuned model's
    grown_cs = Charset.from_string("0123456789xy")
    grown_cfg = dataclasses.replace(cfg, num_classes=grown_cs.num_classes)
    grown = Checkpoint(grown_cfg, grown_cs, Preprocess(), CRNN(grown_cfg).state_dict())
    head = "rnn.0.embedding.weight"
    base_head = load_checkpoint(tmp_path / "base.pt").state_dict[head].float()
    mix = avg.average(load_checkpoint(tmp_path / "base.pt"), grown, 0.0)
    assert mix.charset.chars == grown_cs.chars and mix.model_config == grown_cfg
    assert torch.equal(mix.state_dict[head][:11], base_head)
    assert torch.equal(mix.state_dict[head][11:], grown.state_dict[head][11:].float())
    mix.build_model()  # loads as the grown network
    other = Charset.from_string("abcdefghijkl")
    with pytest.raises(CrnnError, match="different charsets"):
        avg.average(base, Checkpoint(grown_cfg, other, Preprocess(),
                                     CRNN(grown_cfg).state_dict()), 0.5)


@pytest.mark.parametrize("n_rnn, cnn", [(1, ""), (2, "8,12,16,20,16,24,20")])
def test_widen_model_reads_as_before_and_its_new_units_learn(tmp_path, n_rnn, cnn):
    """tools/widen_model.py: the wider network's scores equal the given one's (recurrent
    units added, and convolution channels copied), its new units' outgoing weights start at
    zero and move with the first optimiser step; GRUs and narrower sizes are refused."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.errors import CrnnError
    from crnn.model import CRNN, ModelConfig
    from crnn.reading import ReadingPolicy

    wm = _load("widen_model")
    cs = Charset.resolve("digits")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=n_rnn)
    torch.manual_seed(0)
    base = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict(),
                      reading=ReadingPolicy(blank_penalty=2.0))
    save_checkpoint(base, tmp_path / "base.pt")
    out = tmp_path / "wide.pt"
    r = subprocess.run([sys.executable, str(TOOLS / "widen_model.py"), "--model",
                        str(tmp_path / "base.pt"), "--hidden", "12", "--out", str(out)]
                       + (["--cnn-channels", cnn] if cnn else []), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wide = load_checkpoint(out)
    assert wide.model_config.hidden == 12 and wide.reading.blank_penalty == 2.0
    assert wide.model_config.cnn_channels == (tuple(map(int, cnn.split(","))) if cnn
                                              else cfg.cnn_channels)
    assert wm.max_score_difference(base, wide) < 1e-5
    head = f"rnn.{n_rnn - 1}.embedding.weight"
    new_cols = torch.cat([wide.state_dict[head][:, 8:12], wide.state_dict[head][:, 20:]], 1)
    assert new_cols.abs().max() == 0
    model = wide.build_model().float().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.rand(2, 1, 32, 64)).square().mean().backward()
    opt.step()
    w = model.state_dict()[head]
    assert torch.cat([w[:, 8:12], w[:, 20:]], 1).abs().max() > 0
    with pytest.raises(CrnnError, match="below"):
        wm.widen(base, 4)
    with pytest.raises(CrnnError, match="one count per convolution"):
        wm.widen(base, 12, cnn_channels=(8, 8, 16))
    gru = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=1, rnn_type="gru")
    with pytest.raises(CrnnError, match="only LSTM"):
        wm.widen(Checkpoint(gru, cs, Preprocess(), CRNN(gru).state_dict()), 12)


def test_factor_output_keeps_the_scores_and_trains_on_with_a_grown_charset(tmp_path):
    """tools/factor_output.py: an output layer of rank 4 factored through 4 units scores as
    before (exactly, up to rounding) and through 2 units nearly so; the factored checkpoint
    loads as a factored model, exports to ONNX, and a fine-tune from it (``init``,
    ``output_rank``) keeps both factors and grows the charset's rows; a model without
    ``output_rank`` is told how to start from it; widening a factored model is refused."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.errors import CheckpointError, CrnnError
    from crnn.export import OnnxModel, onnx_bytes
    from crnn.model import CRNN, ModelConfig
    from crnn.reading import ReadingPolicy
    from crnn.train import transfer_weights

    fo = _load("factor_output")
    cs = Charset.resolve("digits")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=1)
    torch.manual_seed(0)
    sd = CRNN(cfg).state_dict()
    sd["rnn.0.embedding.weight"] = torch.randn(11, 4) @ torch.randn(4, 16)  # rank 4
    base = Checkpoint(cfg, cs, Preprocess(), sd, reading=ReadingPolicy(blank_penalty=2.0))
    save_checkpoint(base, tmp_path / "base.pt")
    out = tmp_path / "r4.pt"
    r = subprocess.run([sys.executable, str(TOOLS / "factor_output.py"), "--model",
                        str(tmp_path / "base.pt"), "--rank", "4", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "100.0000% of its squared singular values kept" in r.stdout
    r4 = load_checkpoint(out)
    assert r4.model_config.output_rank == 4 and r4.reading.blank_penalty == 2.0
    assert r4.state_dict["rnn.0.project.weight"].shape == (4, 16)
    assert r4.state_dict["rnn.0.embedding.weight"].shape == (11, 4)
    diff, scale = fo.max_score_difference(base, r4)
    assert diff < 1e-4 * scale
    r2, kept = fo.factor(base, 2)
    assert 0.3 < kept < 1.0 and fo.max_score_difference(base, r2)[0] > 1e-3
    x = np.random.default_rng(0).random((1, 1, 32, 64), dtype=np.float32)
    with torch.no_grad():
        want = r4.build_model().float().eval()(torch.from_numpy(x)).numpy()
    assert np.abs(OnnxModel(onnx_bytes(r4))(x) - want).max() < 1e-4
    for bad in (0, 11):
        with pytest.raises(CrnnError, match="--rank"):
            fo.factor(base, bad)
    with pytest.raises(CrnnError, match="factored through 4 units already"):
        fo.factor(r4, 8)
    # a factored checkpoint whose factors drifted apart (as training leaves them) is split
    # anew: the same scores, each unit's two halves of one size again
    sd_u = dict(r4.state_dict)
    sd_u["rnn.0.project.weight"] = sd_u["rnn.0.project.weight"] * torch.tensor([[9.], [1.],
                                                                                 [.2], [3.]])
    sd_u["rnn.0.embedding.weight"] = sd_u["rnn.0.embedding.weight"] / torch.tensor(
        [9., 1., .2, 3.])
    drifted = dataclasses.replace(r4, state_dict=sd_u)
    again, kept = fo.factor(drifted, 4)
    assert kept > 0.999999 and fo.max_score_difference(drifted, again)[0] < 1e-4 * scale
    p_norm = again.state_dict["rnn.0.project.weight"].norm(dim=1)
    e_norm = again.state_dict["rnn.0.embedding.weight"].norm(dim=0)
    assert torch.allclose(p_norm, e_norm, rtol=1e-4)
    # a fine-tune from it with a grown charset: both factors copied, new rows added
    grown = Charset(list(cs.chars) + ["x", "y"])
    model = CRNN(ModelConfig(num_classes=grown.num_classes, hidden=8, n_rnn=1,
                             cnn_channels=cfg.cnn_channels, output_rank=4))
    shared, new, fresh = transfer_weights(model, r4, grown)
    assert (shared, new, fresh) == (10, 2, [])
    got = model.state_dict()
    assert torch.equal(got["rnn.0.project.weight"], r4.state_dict["rnn.0.project.weight"])
    assert torch.equal(got["rnn.0.embedding.weight"][:11], r4.state_dict["rnn.0.embedding.weight"])
    with pytest.raises(CheckpointError, match="through 4 units, this model's through none"):
        transfer_weights(CRNN(cfg), r4, cs)
    wm = _load("widen_model")
    with pytest.raises(CrnnError, match="factored"):
        wm.widen(r4, 12)


FORTUNES = (
    "\x1b[32m\u300a\u9759\u591c\u601d\u300b\x1b[m\n"  # a coloured title line
    "\u5e8a\u524d\u660e\u6708\u5149\uff0c\u7591\u662f\u5730\u4e0a\u971c\u3002\n"
    "%\n"
    "A banker is a fellow who lends you his umbrella when the sun is shining\n"
    "and wants it back the minute it begins to rain.\n"
    "\t\t-- Mark Twain\n"
    "%\n"
    "  /\\_/\\\n ( o.o )\n  > ^ <\n"  # ASCII art: dropped
    "%\n"
    "Meet me at 10 a.m., not later... OK? It costs $1,250.50 (P.O. Box 7).\n"
    "%\n"
    "A banker is a fellow who lends you his umbrella when the sun is shining\n"
    "and wants it back the minute it begins to rain.\n"  # a duplicate: dropped
    "%\n"
    "\u9f98\u9f98 is outside the charset.\n"
)


def test_prose_corpus_joins_wrapped_lines_and_keeps_only_writable_sentences(tmp_path):
    prose = _load("prose_corpus")
    (tmp_path / "cookies").write_text(FORTUNES, encoding="utf-8")
    allowed = set("".join(chr(c) for c in range(32, 127))) | set(
        "\u300a\u9759\u591c\u601d\u300b\u5e8a\u524d\u660e\u6708\u5149\uff0c"
        "\u7591\u662f\u5730\u4e0a\u971c\u3002")
    lines = prose.corpus([tmp_path], allowed, max_chars=60)
    assert lines == [
        "\u300a\u9759\u591c\u601d\u300b",  # the title, its colour codes gone
        "\u5e8a\u524d\u660e\u6708\u5149\uff0c\u7591\u662f\u5730\u4e0a\u971c\u3002",
        "A banker is a fellow who lends you his umbrella when the sun",  # cut at a space
        "is shining and wants it back the minute it begins to rain.",
        "Mark Twain",  # the attribution without its dashes
        "Meet me at 10 a.m., not later... OK?",  # no sentence ends after a.m. or ...
        "It costs $1,250.50 (P.O. Box 7).",
    ]
    assert not any("\u9f98" in ln or "o.o" in ln for ln in lines)
    assert len(lines) == len(set(lines))


def test_prose_corpus_keeps_measured_text_out(tmp_path):
    """--skip leaves a file out; --exclude-overlap drops a sentence sharing 8 tokens
    (case, punctuation and spaces ignored) with a label line, and nothing else; a plain
    gzipped text file gives its paragraphs."""
    import gzip

    prose = _load("prose_corpus")
    allowed = set("".join(chr(c) for c in range(32, 127)))
    (tmp_path / "fortunes").mkdir()
    (tmp_path / "fortunes" / "verse").write_text("Skipped whole.\n", encoding="utf-8")
    (tmp_path / "fortunes" / "quotes").write_text(
        "The quick brown fox jumps over the lazy dog today.\n%\n"
        "The quick brown fox jumps over a sleeping cat.\n", encoding="utf-8")
    labels = tmp_path / "labels.tsv"
    labels.write_text("a.png\tquick, BROWN fox -- jumps over the lazy dog\n", encoding="utf-8")
    grams = prose.label_grams([labels])
    dropped: list[str] = []
    lines = prose.corpus([tmp_path / "fortunes"], allowed, 60, skip={"verse"},
                         exclude=grams, dropped=dropped)
    assert lines == ["The quick brown fox jumps over a sleeping cat."]  # 5 tokens in a row shared
    assert dropped == ["The quick brown fox jumps over the lazy dog today."]
    assert prose.tokens("Ab,c 12 \u4e2d\u6587") == ["ab", "c", "12", "\u4e2d", "\u6587"]
    manual = tmp_path / "manual.txt.gz"
    manual.write_bytes(gzip.compress(b"First paragraph,\n  wrapped.\n\nSecond one.\n"))
    assert prose.corpus([manual], allowed, 60) == ["First paragraph, wrapped.", "Second one."]
    out = tmp_path / "prose.txt"
    assert prose.main([str(tmp_path / "fortunes"), "--charset", "ascii", "--out", str(out),
                       "--skip", "verse", "--exclude-overlap", str(labels)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines


HELP_PAGE = (
    "<html><head><title>\u5e2e\u52a9</title><script>var x = '\u811a\u672c';</script></head>"
    "<body><nav><p>\u76ee\u5f55</p><input type='search'></nav>"
    "<h1>\u6253\u5370</h1>\n<p>\u9009\u62e9\u300c<span>\u6587\u4ef6</span>\u300d\n"
    "\u83dc\u5355\u3002\u5b83\u8bf4\uff1a\u201c\u597d\u3002\u201d\u7136\u540e\u5173"
    "\u95ed\u3002</p>"
    "<p>\u8fd0\u884c <code>make</code> \u547d\u4ee4\u3002</p>"
    "<pre>ls -l\n</pre><ul><li>Plain &amp; simple.</li></ul>"
    "<footer><p>Title is: Print</p></footer></body></html>")


def test_prose_corpus_reads_html_pages_and_quotes_speech(tmp_path):
    """An HTML page gives the text of its paragraphs, list items and headings: scripts,
    navigation, footers and <pre> are left out, a paragraph holding inline code is left
    out whole, source wrapping between Chinese characters leaves no space, and a closing
    quote after a sentence end stays with its sentence; quote_speech puts a share of the
    Chinese sentences into a speaker's mouth."""
    import random

    prose = _load("prose_corpus")
    (tmp_path / "help" / "sub").mkdir(parents=True)
    (tmp_path / "help" / "sub" / "print.html").write_text(HELP_PAGE, encoding="utf-8")
    allowed = set("".join(chr(c) for c in range(32, 127))) | set(HELP_PAGE)
    lines = prose.corpus([tmp_path / "help"], allowed, max_chars=60)
    assert lines == [
        "\u6253\u5370",  # the heading; the <head> (its title) is left out
        "\u9009\u62e9\u300c\u6587\u4ef6\u300d\u83dc\u5355\u3002",
        "\u5b83\u8bf4\uff1a\u201c\u597d\u3002\u201d",  # the quote ends after its mark
        "\u7136\u540e\u5173\u95ed\u3002",
        "Plain & simple."]
    said = prose.quote_speech(["\u5929\u6c14\u5f88\u597d\u3002", "No Chinese."], 1.0,
                              random.Random(3))
    assert said[0].endswith("\uff1a\u201c\u5929\u6c14\u5f88\u597d\u3002\u201d")
    assert said[1] == "No Chinese."  # English lines keep their own quoting
    assert prose.quote_speech(said, 1.0, random.Random(3)) == said  # quoted already
    out = tmp_path / "docs.txt"
    assert prose.main([str(tmp_path / "help"), "--charset", "zh", "--out", str(out),
                       "--cjk-only"]) == 0
    assert "Plain & simple." not in out.read_text(encoding="utf-8")


def test_heldout_text_strips_format_directives_and_markup(tmp_path):
    held = _load("heldout_text")
    message = "无法打开 %s：%d 个<b>文件</b>_退出{0}\\n"
    assert held.DIRECTIVE.sub("", message) == "无法打开 ： 个文件退出"
    (tmp_path / "LICENSE").write_text(
        "Permission is hereby granted, free of charge, to any person obtaining\n"
        "a copy of this software. THE SOFTWARE IS PROVIDED \"AS IS\".\n", encoding="utf-8")
    assert held.english(tmp_path, 80) == [  # wrapped lines joined, a long sentence cut at commas
        "Permission is hereby granted, free of charge,",
        "to any person obtaining a copy of this software.",
        "THE SOFTWARE IS PROVIDED \"AS IS\"."]


def test_text_overlap_counts_measured_lines_a_training_text_shares(tmp_path, capsys):
    overlap = _load("text_overlap")
    labels = tmp_path / "labels.tsv"
    labels.write_text("a.png\tOne two three four five six seven eight nine\n"
                      "b.png\t16:30\n"  # too short to count
                      "c.png\t\u5e8a\u524d\u660e\u6708\u5149\uff0c\u7591\u662f\u5730\u4e0a\u971c\n",
                      encoding="utf-8")
    clean = tmp_path / "clean.txt"
    clean.write_text("one two three four five six seven\n16:30\n", encoding="utf-8")
    leaky = tmp_path / "leaky.txt"
    leaky.write_text("x\n\u524d\u660e\u6708\u5149\u7591\u662f\u5730\u4e0a\u971c\u3002\n",
                     encoding="utf-8")
    texts = [line.split("\t")[1] for line in labels.read_text(encoding="utf-8").splitlines()]
    assert overlap.shared_lines(texts, clean) == 0
    assert overlap.shared_lines(texts, leaky) == 1
    assert overlap.main([str(clean), "--labels", str(labels)]) == 0
    assert overlap.main([str(clean), str(leaky), "--labels", str(labels)]) == 1
    assert "1 of 3 lines" in capsys.readouterr().out
    out = tmp_path / "cleaned.txt"
    assert overlap.main([str(leaky), "--labels", str(labels), "--clean", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == "x\n"
    assert "1 lines of" in capsys.readouterr().out and overlap.shared_lines(texts, out) == 0
    with pytest.raises(SystemExit):
        overlap.main([str(leaky), str(clean), "--labels", str(labels), "--clean", str(out)])


def test_tilted_set_turns_each_line_and_cuts_it_again_at_its_ink(tmp_path):
    import cv2

    from crnn.data.lmdb import LmdbReader

    tool = _load("tilted_set")
    src = tmp_path / "src.lmdb"
    line = np.full((40, 600), 235, np.uint8)
    cv2.putText(line, "The quick brown fox jumps over", (8, 30), cv2.FONT_HERSHEY_SIMPLEX,
                1.0, 20, 2)
    with LmdbWriter(src) as w:
        for k in range(4):
            w.add(cv2.imencode(".png", line)[1].tobytes(), f"line {k}")
    assert tool.main(["--src", str(src), "--out", str(tmp_path / "t.lmdb"), "--seed", "1"]) == 0
    out = LmdbReader(tmp_path / "t.lmdb")
    assert len(out) == 4
    for i in range(4):
        data, label = out.get(i)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert label == f"line {i}"
        if i % 2 == 0:  # clean: taller by the slant's drift, the margins are 2-8 px
            rows = np.flatnonzero((img < 128).sum(axis=1) >= 2)
            level = np.flatnonzero((line < 128).sum(axis=1) >= 2)
            assert rows[-1] - rows[0] >= level[-1] - level[0] + 2
            assert 2 <= rows[0] <= 8 and 2 <= img.shape[0] - 1 - rows[-1] <= 8
    again = tmp_path / "again.lmdb"
    tool.main(["--src", str(src), "--out", str(again), "--seed", "1"])
    assert [LmdbReader(again).get(i) for i in range(4)] == [out.get(i) for i in range(4)]


def test_traditional_text_keeps_converted_lines_that_fit_the_charset(tmp_path, monkeypatch,
                                                                     capsys):
    """tools/traditional_text.py: each line through OpenCC's s2t (a stand-in converter
    here, so the test needs no OpenCC); a line with nothing to convert, one with a character
    outside the charset, and a repeat are left out, and the counts are said."""
    table = str.maketrans({"头": "頭", "发": "髮", "长": "長", "说": "說", "龟": "龜"})
    fake = SimpleNamespace(OpenCC=lambda config: SimpleNamespace(
        convert=lambda text: text.translate(table)))
    monkeypatch.setitem(sys.modules, "opencc", fake)
    src = tmp_path / "zh.txt"
    src.write_text("头发很长\n我们\n他说 OK\n乌龟\n\n头发很长\n", encoding="utf-8")
    out = tmp_path / "trad.txt"
    tt = _load("traditional_text")
    assert tt.main(["--charset", "chars:頭髮很長他說OK乌", "--out", str(out), str(src)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == ["頭髮很長", "他說 OK"]
    assert "2 lines; left out 1 with no traditional form and 1 with a character outside" \
        in capsys.readouterr().out


def test_added_prior_shifts_only_the_added_characters_scores(tmp_path):
    """tools/added_prior.py: the added block's scores drop by the shift, every other score
    stays, the shift is recorded (and summed over uses); a model without a block is refused
    with a clear error."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.errors import CrnnError
    from crnn.model import CRNN, ModelConfig

    ap = _load("added_prior")
    cs = Charset.from_string("0123456789xy")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=1, added_classes=2, added_rank=3)
    torch.manual_seed(0)
    base = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict())
    save_checkpoint(base, tmp_path / "base.pt")
    r = subprocess.run([sys.executable, str(TOOLS / "added_prior.py"), "--model",
                        str(tmp_path / "base.pt"), "--shift", "2.5", "--out",
                        str(tmp_path / "s.pt")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    shifted = load_checkpoint(tmp_path / "s.pt")
    x = torch.rand(2, 1, 32, 48)
    with torch.no_grad():
        a, b = base.build_model().eval()(x), shifted.build_model().eval()(x)
    assert torch.equal(a[..., :11], b[..., :11])
    assert torch.allclose(a[..., 11:] - 2.5, b[..., 11:], atol=1e-5)
    assert ap.shift_added(shifted, -1).meta["added_prior"]["shift"] == 1.5
    plain_cfg = ModelConfig(num_classes=11, cnn_channels=(8, 8, 16, 16, 16, 16, 16), hidden=8,
                            n_rnn=1)
    plain = Checkpoint(plain_cfg, Charset.resolve("digits"), Preprocess(),
                       CRNN(plain_cfg).state_dict())
    with pytest.raises(CrnnError, match="no added block"):
        ap.shift_added(plain, 1)

import json

import numpy as np
import pytest
import torch
from rapidfuzz.distance import Levenshtein

from crnn.checkpoint import load_checkpoint
from crnn.cli import main
from crnn.errors import CheckpointError
from crnn.recognizer import Recognizer

pytest.importorskip("onnxruntime")


def test_onnx_parity_with_pytorch(tmp_path, tiny_checkpoint, font_path):
    from crnn.export import OnnxModel, export_onnx

    from .conftest import render

    out = export_onnx(load_checkpoint(tiny_checkpoint), tmp_path / "m.onnx")
    onnx_model = OnnxModel(out)
    torch_rec = Recognizer.load(tiny_checkpoint, device="cpu", backend="torch")
    assert onnx_model.charset == torch_rec.charset
    assert onnx_model.preprocess == torch_rec.preprocess
    for n, w in ((1, 40), (3, 123), (2, 400)):  # dynamic batch and width
        x = torch.randn(n, 1, 32, w)
        ref = torch_rec.logits(x)
        got = onnx_model(x.numpy())
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-4
    images = [render(t, font_path) for t in ("123", "4567890", "0")]
    onnx_rec = Recognizer.load(out)
    assert onnx_rec.backend == "onnx"
    a = [r.text for r in torch_rec.recognize([np.asarray(i) for i in images])]
    b = [r.text for r in onnx_rec.recognize([np.asarray(i) for i in images])]
    assert a == b


@pytest.mark.slow
def test_the_cpu_default_is_onnx_exported_once_and_reads_as_torch_does(tmp_path, monkeypatch,
                                                                        font_path):
    from crnn.export import cache_dir

    from .conftest import render

    monkeypatch.setenv("CRNN_CACHE_DIR", str(tmp_path / "cache"))
    lines = [np.asarray(render(t, font_path, size=s)) for t, s in (
        ("Admission Notice 2025", 24), ("No. 2025-0901", 30), ("Tel: 010-62751234", 20),
        ("Room 305, Building 11", 26))]
    torch_rec = Recognizer.load("default", device="cpu", backend="torch")
    auto = Recognizer.load("default", device="cpu")
    assert auto.backend == "onnx" and torch_rec.backend == "torch"
    cached = list(cache_dir().glob("*.onnx"))
    assert len(cached) == 1
    inode = cached[0].stat().st_ino
    again = Recognizer.load("default")
    # reused, not written again (a new file would be renamed over it)
    assert again.backend == "onnx" and cached[0].stat().st_ino == inode
    assert list(cache_dir().glob("*.onnx")) == cached
    texts = [r.text for r in torch_rec.recognize(lines)]
    # the default path runs the recurrent and output layers in int8: the same readings up
    # to a rare flipped character (v28 reads `building` there where fp32 reads `Building`)
    int8 = [r.text for r in auto.recognize(lines)]
    pairs = list(zip(int8, texts, strict=True))
    assert sum(a == b for a, b in pairs) >= 3
    assert all(Levenshtein.distance(a, b) <= 1 for a, b in pairs), pairs
    assert texts[0] == int8[0] == "Admission Notice 2025"  # the bundled model reads these
    # a damaged cache entry is exported again, not an error
    cached[0].write_bytes(b"not a model")
    assert Recognizer.load("default").recognize(lines[:1])[0].text == texts[0]
    # without onnx/onnxruntime installed, PyTorch reads
    monkeypatch.setattr("crnn.export.onnx_available", lambda: False)
    assert Recognizer.load("default").backend == "torch"


def test_export_cli_int8_and_predict_backend(tmp_path, tiny_checkpoint, font_path, capsys):
    from .conftest import render

    render("2024", font_path).save(tmp_path / "l.png")
    assert main(["export", "--model", str(tiny_checkpoint), "--out",
                 str(tmp_path / "q.onnx"), "--int8"]) == 0
    assert "int8" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "l.png"), "--model", str(tmp_path / "q.onnx"),
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["text"] == Recognizer.load(tmp_path / "q.onnx")(tmp_path / "l.png").text
    assert main(["predict", str(tmp_path / "l.png"), "--model", str(tiny_checkpoint),
                 "--backend", "onnx", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"].endswith("l.png")


@pytest.mark.slow
def test_int8_reads_real_lines_as_fp32_does():
    """The bundled model quantized to int8 against fp32, both through onnxruntime, on the
    bundled sample lines: the same text on at least 17 of 18, with the recurrent and
    linear weights in int8, and with the convolutions too as the default CPU path runs
    them on this CPU (the cached export) and as a portable ``--int8 --calibrate`` file
    has them (7-bit weights). On an AVX2 CPU without VNNI, 8-bit convolution weights
    read 8 of the 18 lines otherwise than fp32 (saturating sums): this test shows it."""
    from pathlib import Path

    from crnn.export import (
        OnnxModel,
        cached_onnx,
        calibration_inputs,
        onnx_bytes,
        quantize_int8,
    )
    from crnn.recognizer import resolve_model_path

    path = resolve_model_path("default")
    ckpt = load_checkpoint(path)
    fp32 = onnx_bytes(ckpt)
    windows = calibration_inputs(ckpt.meta["int8_calibration"], ckpt)
    lines = Path(__file__).parents[1] / "examples" / "lines"
    files = sorted(lines.glob("*.png"))
    read = {}
    for name, model in (("fp32", OnnxModel(fp32)), ("int8", OnnxModel(quantize_int8(fp32))),
                        ("default", cached_onnx(path)),
                        ("portable", OnnxModel(quantize_int8(fp32, windows)))):
        rec = Recognizer(model, ckpt.charset, ckpt.preprocess, "cpu", reading=ckpt.reading)
        read[name] = [r.text for r in rec.recognize(files)]
    assert len(files) == 18
    for name in ("int8", "default", "portable"):
        same = sum(a == b for a, b in zip(read["fp32"], read[name], strict=True))
        assert same >= 17, (name, read[name], read["fp32"])


def test_int8_full_range_only_where_the_cpu_adds_in_32_bits(monkeypatch):
    """8-bit convolution weights only on an x86 CPU with VNNI (or a non-x86 one)."""
    from crnn import cpu

    for machine, flags, full in (("x86_64", {"avx2", "fma"}, False),
                                 ("x86_64", {"avx2", "avx512f", "avx512_bf16"}, False),
                                 ("x86_64", {"avx2", "avx512_vnni"}, True),
                                 ("AMD64", {"avx_vnni"}, True),
                                 ("x86_64", set(), False),
                                 ("aarch64", set(), True)):
        monkeypatch.setattr(cpu.platform, "machine", lambda m=machine: m)
        monkeypatch.setattr(cpu, "cpu_flags", lambda f=flags: frozenset(f))
        assert cpu.int8_full_range() is full, (machine, flags)


def test_cpu_int8_flag_makes_the_default_cpu_path_quantized(tmp_path, tiny_checkpoint,
                                                             monkeypatch):
    """``crnn export --format fp16 --cpu-int8`` stores the choice; the cached ONNX export
    the default CPU path runs is then the int8 graph, and --no-cpu-int8 clears it."""
    import onnx

    from crnn.export import cached_onnx

    monkeypatch.setenv("CRNN_CACHE_DIR", str(tmp_path / "cache"))
    ops = {}
    for flag in ("--cpu-int8", "--no-cpu-int8"):
        out = tmp_path / f"m{flag}.pt"
        assert main(["export", "--model", str(tiny_checkpoint), "--format", "fp16",
                     flag, "--out", str(out)]) == 0
        assert load_checkpoint(out).meta["cpu_int8"] is (flag == "--cpu-int8")
        model = cached_onnx(out)
        assert Recognizer.load(out).model.__class__ is model.__class__  # the ONNX path
        path = next((tmp_path / "cache").glob(f"{out.stem}-*.onnx"))
        ops[flag] = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "DynamicQuantizeLSTM" in ops["--cpu-int8"] or "MatMulInteger" in ops["--cpu-int8"]
    assert not {"DynamicQuantizeLSTM", "MatMulInteger"} & ops["--no-cpu-int8"]
    assert main(["export", "--model", str(tiny_checkpoint), "--cpu-int8",
                 "--out", str(tmp_path / "x.onnx")]) == 2


def test_calibrated_cpu_int8_quantizes_the_convolutions(tmp_path, tiny_checkpoint,
                                                        digits_lmdb, monkeypatch):
    """``--cpu-int8 --calibrate DATA`` keeps lines of DATA in the checkpoint; the cached
    ONNX export then runs its convolutions in int8 too, scoring close to fp32, and an
    ``.onnx`` export with ``--int8 --calibrate`` is the same graph. ``--calibrate``
    without int8 is refused; ``--no-cpu-int8`` drops the lines."""
    import onnx

    from crnn.export import OnnxModel, cached_onnx

    monkeypatch.setenv("CRNN_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "m.pt"
    assert main(["export", "--model", str(tiny_checkpoint), "--format", "fp16", "--cpu-int8",
                 "--calibrate", str(digits_lmdb), "--calibrate-lines", "24",
                 "--out", str(out)]) == 0
    lines = load_checkpoint(out).meta["int8_calibration"]
    assert len(lines) == 24 and all(bytes(b[:4]) == b"\x89PNG" for b in lines)
    model = cached_onnx(out)
    path = next((tmp_path / "cache").glob("m-*.onnx"))
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLSTM"} <= ops
    # each ReLU folded into its convolution's quantized output: uint8 from layer to layer
    assert "Relu" not in ops
    torch_rec = Recognizer.load(tiny_checkpoint, device="cpu", backend="torch")
    x = torch.rand(2, 1, 32, 96) * 2 - 1
    ref = torch_rec.logits(x)
    got = model(x.numpy())
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 0.1 * (np.abs(ref).max() + 1)

    onnx_out = tmp_path / "m8.onnx"
    assert main(["export", "--model", str(tiny_checkpoint), "--int8", "--calibrate",
                 str(digits_lmdb), "--calibrate-lines", "24", "--out", str(onnx_out)]) == 0
    assert {"QuantizeLinear", "DequantizeLinear"} <= {
        n.op_type for n in onnx.load(str(onnx_out)).graph.node}
    assert OnnxModel(onnx_out).charset == torch_rec.charset

    assert main(["export", "--model", str(tiny_checkpoint), "--format", "fp16",
                 "--calibrate", str(digits_lmdb), "--out", str(tmp_path / "x.pt")]) == 2
    cleared = tmp_path / "plain.pt"
    assert main(["export", "--model", str(out), "--format", "fp16", "--no-cpu-int8",
                 "--out", str(cleared)]) == 0
    assert "int8_calibration" not in load_checkpoint(cleared).meta


def test_onnx_without_metadata_is_refused(tmp_path):
    from crnn.export import OnnxModel

    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        OnnxModel(bad)


def test_fp16_export_is_smaller_and_reads_the_same(tmp_path, tiny_checkpoint, font_path):
    from .conftest import render

    out = tmp_path / "m16.pt"
    assert main(["export", "--model", str(tiny_checkpoint), "--format", "fp16",
                 "--out", str(out)]) == 0
    slim = load_checkpoint(out)
    assert slim.train_state is None
    assert all(v.dtype == torch.float16 for v in slim.state_dict.values()
               if v.is_floating_point())
    img = np.asarray(render("13579", font_path))
    a = Recognizer.load(tiny_checkpoint, device="cpu")
    b = Recognizer.load(out, device="cpu")
    x = torch.randn(2, 1, 32, 90)
    assert np.abs(a.logits(x) - b.logits(x)).max() < 0.05
    assert b(img).text == a(img).text


def test_export_stores_second_reading_settings(tmp_path, tiny_checkpoint, capsys):
    from crnn.export import OnnxModel

    for fmt, name in (("fp16", "s.pt"), ("onnx", "s.onnx")):
        assert main(["export", "--model", str(tiny_checkpoint), "--format", fmt,
                     "--read-stretch", "1.1", "--reread", "1.0,1.25", "--reread-below", "0.9",
                     "--reread-scope", "latin", "--out", str(tmp_path / name)]) == 0
    policy = load_checkpoint(tmp_path / "s.pt").reading
    assert (policy.stretch, policy.rereads, policy.reread_below, policy.reread_scope) == \
        (1.1, (1.0, 1.25), 0.9, "latin")
    assert OnnxModel(tmp_path / "s.onnx").reading == policy
    assert Recognizer.load(tmp_path / "s.onnx").reading == policy
    assert main(["export", "--model", str(tmp_path / "s.pt"), "--format", "fp16",
                 "--reread", "none", "--out", str(tmp_path / "off.pt")]) == 0
    off = load_checkpoint(tmp_path / "off.pt").reading
    assert off.rereads == () and off.stretch == 1.1  # the other settings kept
    for bad, says in ((["--reread", "3"], "reading stretch 3.0 must lie in [0.5, 2]"),
                      (["--reread", "1.1,x"], "give stretches such as 1.1,1.2")):
        assert main(["export", "--model", str(tiny_checkpoint), "--format", "fp16", *bad,
                     "--out", str(tmp_path / "bad.pt")]) != 0
        assert says in capsys.readouterr().err
        assert not (tmp_path / "bad.pt").exists()


def test_onnx_backend_uses_the_same_decoders(tmp_path, tiny_checkpoint, font_path):
    from crnn.decoding.decoders import DecoderConfig
    from crnn.decoding.lm import NGramLM
    from crnn.export import export_onnx

    from .conftest import render

    out = export_onnx(load_checkpoint(tiny_checkpoint), tmp_path / "m.onnx")
    (tmp_path / "lex.txt").write_text("123\n4567890\n0\n999\n", encoding="utf-8")
    NGramLM.build(["123 4567890", "0123456789"] * 20, order=3).save(tmp_path / "lm.bin")
    images = [np.asarray(render(t, font_path)) for t in ("123", "4567890", "0", "31")]
    configs = [
        DecoderConfig(kind="beam", beam_width=5, n_best=3),
        DecoderConfig(kind="beam", beam_width=5, lm=str(tmp_path / "lm.bin"), lm_weight=0.4),
        DecoderConfig(allow="0123"),
        DecoderConfig(kind="lexicon", lexicon=str(tmp_path / "lex.txt"), n_best=2),
    ]
    for cfg in configs:
        torch_rec = Recognizer.load(tiny_checkpoint, device="cpu", decoder=cfg)
        onnx_rec = Recognizer.load(out, decoder=cfg)
        assert onnx_rec.backend == "onnx" and onnx_rec.decoder_config == cfg
        a, b = torch_rec.recognize(images), onnx_rec.recognize(images)
        assert [r.text for r in a] == [r.text for r in b], cfg
        if cfg.allow:
            assert all(set(r.text) <= set("0123") for r in b)
        if cfg.kind == "lexicon":
            assert all(r.text in ("123", "4567890", "0", "999") for r in b)
        for ra, rb in zip(a, b, strict=True):
            want = 0 if cfg.kind == "greedy" else cfg.n_best
            assert len(ra.alternatives) == len(rb.alternatives) == want
            for (ta, sa), (tb, sb) in zip(ra.alternatives, rb.alternatives, strict=True):
                assert ta == tb and abs(sa - sb) < 1e-3


@pytest.mark.slow
def test_reading_on_the_onnx_default_imports_no_torch(tmp_path):
    """Importing torch takes about a second: once the export is cached, `crnn predict`
    and `crnn ocr` on the CPU never import it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    line = Path(__file__).parents[1] / "examples" / "lines" / "line02.png"
    code = ("import sys\nfrom crnn.recognizer import Recognizer\nfrom crnn.ocr import read_page\n"
            "rec = Recognizer.load()\n"
            f"print(rec.backend, rec({str(line)!r}).text, 'torch' in sys.modules)\n")
    env = {**os.environ, "CRNN_CACHE_DIR": str(tmp_path)}
    for expect_torch in ("True", "False"):  # the first run exports, the second reads
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        assert out == ["onnx", "录取通知书", expect_torch], out

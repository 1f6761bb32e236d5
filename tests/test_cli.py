import json
import subprocess
import sys

import pytest

from crnn.cli import main

from .conftest import make_label_folder, render


def test_predict_files_dirs_globs_and_bad_inputs(tmp_path, tiny_checkpoint, font_path, capsys):
    d = tmp_path / "imgs"
    d.mkdir()
    for i, text in enumerate(["123", "4567"]):
        render(text, font_path).save(d / f"l{i}.png")
    (d / "notes.png").write_text("this is not an image")
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(["predict", str(d / "l0.png"), str(d / "*.png"), str(empty),
               "--model", str(tiny_checkpoint), "--json"])
    out, err = capsys.readouterr()
    rows = [json.loads(x) for x in out.splitlines()]
    assert rc == 1
    assert [r["path"] for r in rows] == [str(d / "l0.png"), str(d / "l0.png"),
                                         str(d / "l1.png"), str(d / "notes.png")]
    assert all(set("0123456789") >= set(r["text"]) for r in rows[:3])
    assert "error" in rows[3] and "notes.png" in rows[3]["error"]
    assert "directory has no images" in err and "notes.png: cannot decode" in err
    assert "Traceback" not in err

    rc = main(["predict", str(d / "l1.png"), "--model", str(tiny_checkpoint)])
    out, _ = capsys.readouterr()
    assert rc == 0 and out.startswith(str(d / "l1.png") + "\t")


def test_predict_with_a_file_that_is_not_a_checkpoint(tmp_path, font_path, capsys):
    bogus = tmp_path / "model.pt"
    bogus.write_text("hello")
    render("12", font_path).save(tmp_path / "a.png")
    rc = main(["predict", str(tmp_path / "a.png"), "--model", str(bogus)])
    err = capsys.readouterr().err
    assert rc == 2 and "model.pt" in err and "not a readable PyTorch checkpoint" in err
    assert "Traceback" not in err
    rc = main(["predict", str(tmp_path / "a.png")])  # no flags: the bundled model
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith(str(tmp_path / "a.png") + "\t")


def test_bundled_model_reads_the_bundled_samples(capsys):
    from pathlib import Path

    from crnn.recognizer import Recognizer

    rec = Recognizer.load()
    lines = Path(__file__).parents[1] / "examples" / "lines"
    labels = [ln.split("\t", 1)[1] for ln in
              (lines / "labels.tsv").read_text(encoding="utf-8").splitlines() if ln]
    assert all(ch in rec.charset for text in labels for ch in text if not ch.isspace())
    assert main(["eval", "--data", str(lines / "labels.tsv"), "--nfkc", "--ignore-space",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    # every bundled model since v10 reads all 18 (docs/models.md); one slip is tolerated
    assert res["lines"] == 18 and res["accuracy"] >= 17 / 18


def test_eval_and_errors_file(tmp_path, tiny_checkpoint, digits_lmdb, capsys):
    errors = tmp_path / "errors.tsv"
    rc = main(["eval", "--model", str(tiny_checkpoint), "--data", str(digits_lmdb),
               "--errors", str(errors), "--json", "--nfkc"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["lines"] == 64
    # the figure is the share of lines the same model reads right, counted here apart
    from crnn.data.dataset import open_source
    from crnn.data.images import decode_image
    from crnn.recognizer import Recognizer

    src = open_source(digits_lmdb)
    samples = [src.raw(i) for i in range(len(src))]
    reads = Recognizer.load(tiny_checkpoint, device="cpu").recognize_arrays(
        [decode_image(raw, 1, name) for raw, _, name in samples])
    right = sum(d.text == label for d, (_, label, _) in zip(reads, samples, strict=True))
    assert res["accuracy"] == pytest.approx(right / 64)
    rows = errors.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "sample\ttruth\tprediction\tconfidence"
    assert len(rows) - 1 == 64 - right


def test_dataset_commands(tmp_path, capsys):
    labels = make_label_folder(tmp_path / "src", 10, fmt="space")
    out = tmp_path / "d.lmdb"
    assert main(["dataset", "create", "--labels", str(labels), "--out", str(out)]) == 0
    assert "wrote 10 samples" in capsys.readouterr().out
    assert main(["dataset", "info", str(out), "--charset", "digits"]) == 0
    assert "10 samples" in capsys.readouterr().out
    assert main(["dataset", "verify", str(out)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert main(["dataset", "export", str(out), "--out", str(tmp_path / "x")]) == 0
    rc = main(["dataset", "create", "--labels", str(labels), "--out", str(out)])
    assert rc == 2 and "already exists" in capsys.readouterr().err
    rc = main(["dataset", "info", str(tmp_path / "nope")])
    assert rc == 2 and "not an LMDB" in capsys.readouterr().err


@pytest.mark.slow
def test_train_cli_then_resume(tmp_path, digits_lmdb, capsys):
    run = tmp_path / "r"
    args = ["train", "--train", str(digits_lmdb), "--charset", "digits", "--out", str(run),
            "--max-steps", "3", "--batch-size", "16", "--workers", "0", "--quiet",
            "--set", "cnn_channels=[8,8,16,16,16,16,16]", "--set", "hidden=16"]
    assert main(args) == 0
    assert "trained 3 steps" in capsys.readouterr().out
    rc = main(["train", "--resume", str(run / "last.pt"), "--max-steps", "5", "--quiet"])
    assert rc == 0 and "trained 5 steps" in capsys.readouterr().out
    rc = main(["train", "--train", str(digits_lmdb), "--set", "lr=fast", "--quiet"])
    assert rc == 2 and "lr must be a number" in capsys.readouterr().err


def test_predict_with_decoders(tmp_path, tiny_checkpoint, font_path, capsys):
    render("2468", font_path).save(tmp_path / "l.png")
    base = ["predict", str(tmp_path / "l.png"), "--model", str(tiny_checkpoint), "--json"]
    assert main([*base, "--decoder", "beam", "--beam-width", "4", "--n-best", "3"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert 1 <= len(row["alternatives"]) <= 3
    assert row["alternatives"][0]["text"] == row["text"]
    assert main([*base, "--allow", "13579"]) == 0
    assert set(json.loads(capsys.readouterr().out)["text"]) <= set("13579")
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("2468\n1357\n9999\n", encoding="utf-8")
    assert main([*base, "--lexicon", str(lexicon)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] in {"2468", "1357", "9999"}
    rc = main([*base, "--lexicon", str(tmp_path / "missing.txt")])
    assert rc == 2 and "missing.txt" in capsys.readouterr().err


def test_recognizer_and_page_ocr_import_without_the_synth_extra():
    """``pip install .`` without extras must give working ``crnn predict`` and ``crnn ocr``:
    nothing on their path imports fontTools or jieba (the synth extra), nor the service."""
    code = ("import sys, crnn, crnn.cli, crnn.recognizer, crnn.ocr\n"
            "crnn.cli.build_parser()\n"
            "bad = [m for m in ('fontTools', 'jieba', 'fastapi', 'crnn.synth.fonts')"
            " if m in sys.modules]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_the_bundled_charset_file_is_the_bundled_models():
    """The bundled model's charset ships beside it (``crnn/models/default.charset.txt``,
    what its recipe and a fine-tune of it start from) and is exactly the checkpoint's."""
    from importlib import resources

    from crnn.charset import Charset
    from crnn.checkpoint import load_checkpoint
    from crnn.recognizer import resolve_model_path

    shipped = resources.files("crnn").joinpath("models", "default.charset.txt")
    assert Charset.resolve(str(shipped)).chars == \
        load_checkpoint(resolve_model_path("default")).charset.chars

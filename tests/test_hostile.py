"""Hostile and careless input: nothing deleted that crnn did not make, no silent wrong
answers, no tracebacks (issue 27)."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crnn.cli import main
from crnn.errors import ConfigError, DatasetError, ImageTooLargeError, TrainingError

from .conftest import find_font, make_label_folder, render


# --------------------------------------------------------------------------- helpers
def decoys(root: Path) -> dict[Path, bytes]:
    """A folder of a user's own files; returns what each should still hold."""
    files = {root / "notes.txt": b"my notes\n", root / "thesis" / "ch1.tex": b"\\chapter{}",
             root / "photo.png": b"\x89PNG not really"}
    for p, data in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def assert_intact(files: dict[Path, bytes]) -> None:
    for p, data in files.items():
        assert p.is_file() and p.read_bytes() == data, f"{p} was touched"


def hidden_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def png_header_only(width: int, height: int) -> bytes:
    """A small PNG file whose header declares ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def transparent_line(text: str) -> Image.Image:
    """Black text on a fully transparent (black) background, as design tools export."""
    grey = np.asarray(render(text, find_font(), size=28))
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[:, :, 3] = 255 - grey  # ink opaque, paper transparent; colour black throughout
    return Image.fromarray(rgba, "RGBA")


def label_files(root: Path, n: int = 4) -> Path:
    return make_label_folder(root / "src", n)


# --------------------------------------------------------------------------- --overwrite
@pytest.mark.parametrize("target", [".", "home", "parent"])
def test_overwrite_never_deletes_a_users_folder(tmp_path, monkeypatch, capsys, target):
    labels = label_files(tmp_path)
    work = tmp_path / "work"
    files = decoys(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    out = {".": ".", "home": str(work), "parent": str(tmp_path)}[target]
    rc = main(["dataset", "create", "--labels", str(labels), "--out", out, "--overwrite"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "refusing to replace" in err and "Traceback" not in err
    assert_intact(files)
    assert labels.is_file()
    assert hidden_leftovers(work) == [] and not [
        p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_overwrite_refuses_a_folder_holding_other_files(tmp_path, capsys):
    labels = label_files(tmp_path)
    target = tmp_path / "mine"
    files = decoys(target)
    assert main(["dataset", "create", "--labels", str(labels), "--out", str(target),
                 "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "did not write" in err and "notes.txt" in err
    assert_intact(files)
    assert hidden_leftovers(tmp_path) == []


def test_synth_overwrite_keeps_the_users_notes(tmp_path, capsys):
    target = tmp_path / "some_folder"
    files = decoys(target)
    assert main(["synth", "--out", str(target) + "/", "--count", "2", "--overwrite"]) == 2
    assert "did not write" in capsys.readouterr().err
    assert_intact(files)


def test_overwrite_onto_a_regular_file_is_a_clear_error(tmp_path, capsys):
    labels = label_files(tmp_path)
    target = tmp_path / "train.lmdb"
    target.write_text("not a dataset")
    assert main(["dataset", "create", "--labels", str(labels), "--out", str(target),
                 "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a dataset folder" in err and "Traceback" not in err
    assert target.read_text() == "not a dataset"
    assert hidden_leftovers(tmp_path) == []


def test_overwrite_replaces_what_crnn_wrote(tmp_path):
    from crnn.data.outputs import MARKER
    from crnn.data.tools import export_dataset

    labels = label_files(tmp_path)
    out = tmp_path / "train.lmdb"
    for _ in range(2):  # an LMDB, then the same LMDB replaced
        assert main(["dataset", "create", "--labels", str(labels), "--out", str(out),
                     "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["data.mdb", "lock.mdb"]
    folder = tmp_path / "files"
    for _ in range(2):  # a folder crnn wrote (it carries the marker), then replaced
        export_dataset(out, folder, overwrite=True, progress=False)
    assert (folder / MARKER).is_file() and (folder / "labels.tsv").is_file()
    (folder / "images" / "mine.txt").write_text("x")  # now it holds a user's file
    with pytest.raises(DatasetError, match="did not write"):
        export_dataset(out, folder, overwrite=True, progress=False)
    assert (folder / "images" / "mine.txt").is_file()
    assert hidden_leftovers(tmp_path) == []


def test_sigterm_during_dataset_create_leaves_nothing_behind(tmp_path, font_path):
    img = tmp_path / "a.png"
    render("0123456789" * 8, font_path, size=40).save(img)
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"a.png\t{i}\n" for i in range(60000)), encoding="utf-8")
    out = tmp_path / "big.lmdb"
    proc = subprocess.Popen([sys.executable, "-m", "crnn", "dataset", "create", "--labels",
                             str(labels), "--out", str(out)], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not any(
            p.name.startswith(".big.lmdb.") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "dataset create finished before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert b"Traceback" not in err
    assert hidden_leftovers(tmp_path) == [] and not out.exists()


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", ".nan"])
def test_non_finite_numbers_are_refused_by_key(value, capsys, tmp_path):
    with pytest.raises(ConfigError, match="lr must be a (finite )?number"):
        from crnn.config import load_config

        load_config(overrides=[f"lr={value}"], train=["x"])
    rc = main(["train", "--train", str(tmp_path), f"--lr={value.lstrip('.')}"])
    err = capsys.readouterr().err
    assert rc == 2 and "lr" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="grad_clip must be a (finite )?number"):
        load_config(overrides=[f"grad_clip={value}"], train=["x"])


def _tiny_cfg(digits_lmdb: Path, out: Path, **kw):
    from crnn.config import load_config

    return load_config(overrides=["cnn_channels=[8,8,16,16,16,16,16]", "hidden=16"],
                       train=[str(digits_lmdb)], val=[str(digits_lmdb)], charset="digits",
                       out=str(out), batch_size=16, workers=0, **kw)


@pytest.mark.slow
def test_a_non_finite_loss_skips_the_update(digits_lmdb, tmp_path):
    import torch

    from crnn.checkpoint import load_checkpoint
    from crnn.train import Trainer

    t = Trainer(_tiny_cfg(digits_lmdb, tmp_path / "run", max_steps=6), progress=False)
    real = t.criterion
    calls = []

    def flaky(*args):
        calls.append(1)
        loss = real(*args)
        return loss * float("nan") if len(calls) in (2, 3) else loss

    t.criterion = flaky
    t.run()
    assert t.nonfinite_steps == 2 and t.step == 6
    for name in ("best.pt", "last.pt"):
        sd = load_checkpoint(tmp_path / "run" / name).state_dict
        assert all(bool(torch.isfinite(v).all()) for v in sd.values() if v.is_floating_point())


@pytest.mark.slow
def test_divergence_stops_training_and_never_saves_nan_weights(digits_lmdb, tmp_path):
    import torch

    from crnn.train import Trainer

    t = Trainer(_tiny_cfg(digits_lmdb, tmp_path / "run", max_steps=40, val_every=1000,
                          save_every=1000), progress=False)
    t.criterion = lambda *a: torch.tensor(float("nan"), requires_grad=True)
    with pytest.raises(TrainingError, match="diverged"):
        t.run()
    from crnn.checkpoint import load_checkpoint

    for name in ("best.pt", "last.pt"):  # what was saved holds the last good weights
        if (tmp_path / "run" / name).exists():
            sd = load_checkpoint(tmp_path / "run" / name).state_dict
            assert all(bool(torch.isfinite(v).all()) for v in sd.values()
                       if v.is_floating_point())
    # weights that did turn non-finite are never written
    with torch.no_grad():
        next(t.model.parameters()).fill_(float("inf"))
    with pytest.raises(TrainingError, match="not finite"):
        t._check_finite()


# --------------------------------------------------------------------------- images
def test_transparent_background_is_composited_on_white():
    from crnn.data.images import decode_image, pil_to_array

    im = transparent_line("20240901")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    for arr in (decode_image(buf.getvalue(), 1), pil_to_array(im, 1)):
        assert arr.dtype == np.uint8 and arr.ndim == 2
        assert np.median(arr) == 255 and arr.min() < 80  # white paper, dark ink
    rgb = decode_image(buf.getvalue(), 3)
    assert rgb.shape[2] == 3 and np.median(rgb) == 255
    la = io.BytesIO()
    im.convert("LA").save(la, "PNG")
    assert np.median(decode_image(la.getvalue(), 1)) == 255


def test_transparent_line_reads_as_the_same_line_on_white(capsys, tmp_path):
    from crnn.recognizer import Recognizer

    rec = Recognizer.load("default", device="cpu")
    im = transparent_line("2024年9月1日")
    white = Image.new("RGB", im.size, "white")
    white.paste(im, mask=im.split()[3])
    im.save(tmp_path / "clear.png")
    white.save(tmp_path / "white.png")
    a, b = rec.recognize([tmp_path / "clear.png", tmp_path / "white.png"])
    assert a.ok and a.text == b.text and a.text != ""


def test_oversized_images_are_refused_before_decoding(tmp_path, tiny_checkpoint, capsys):
    from crnn.data.images import decode_image

    huge, big = png_header_only(50_000, 50_000), png_header_only(30_000, 30_000)
    with pytest.raises(ImageTooLargeError, match="ceiling"):
        decode_image(huge, 1, name="huge.png", max_pixels=10**8)
    with pytest.raises(ImageTooLargeError, match="--max-pixels 144000000"):
        decode_image(png_header_only(12_000, 12_000), 1, name="big.png", max_pixels=10**8)
    with pytest.raises(DatasetError):  # no limit given: still an error, not a crash
        decode_image(huge, 1, name="huge.png")
    (tmp_path / "huge.png").write_bytes(huge)
    (tmp_path / "big.png").write_bytes(big)
    render("123", find_font()).save(tmp_path / "good.png")
    rc = main(["predict", str(tmp_path / "huge.png"), str(tmp_path / "big.png"),
               str(tmp_path / "good.png"), "--model", str(tiny_checkpoint)])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err
    assert "huge.png" in err and "big.png" in err and "pixels" in err
    assert "good.png" in out
    # the limit is the user's to raise: a 4,000-pixel line under --max-pixels 1000
    rc = main(["predict", str(tmp_path / "good.png"), "--model", str(tiny_checkpoint),
               "--max-pixels", "1000"])
    assert rc == 1 and "--max-pixels" in capsys.readouterr().err
    rc = main(["ocr", str(tmp_path / "huge.png"), "--model", str(tiny_checkpoint)])
    err = capsys.readouterr().err
    assert rc == 1 and "huge.png" in err and "Traceback" not in err


def test_ocr_refuses_a_dpi_that_loses_the_page(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ocr", str(tmp_path / "doc.pdf"), "--dpi", "3000"])
    assert exc.value.code == 2
    assert "--dpi" in capsys.readouterr().err
    from crnn.ocr import load_pages

    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n")
    with pytest.raises(ConfigError, match="dpi"):
        list(load_pages(tmp_path / "doc.pdf", dpi=3000))


def test_eval_names_a_missing_image_and_does_not_score_it(tmp_path, tiny_checkpoint, capsys):
    labels = label_files(tmp_path, 4)
    text = labels.read_text(encoding="utf-8")
    labels.write_text(text + "images/gone.png\t123\n", encoding="utf-8")
    rc = main(["eval", "--model", str(tiny_checkpoint), "--data", str(labels), "--json"])
    out, err = capsys.readouterr()
    assert rc == 1 and "gone.png" in err
    import json

    d = json.loads(out)
    assert d["lines"] == 4 and d["unreadable"] == 1


# --------------------------------------------------------------------------- the service
@pytest.fixture
def live_server(tmp_path):
    """``crnn serve``'s uvicorn set-up on a free port, with short timeouts."""
    import socket
    import threading

    import uvicorn

    from crnn.recognizer import Recognizer
    from crnn.serve import ServeSettings, create_app, guarded_h11

    from .test_serve import random_checkpoint

    rec = Recognizer.load(random_checkpoint(tmp_path / "r.pt"), device="cpu")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(rec, ServeSettings(model_name="r")), host="127.0.0.1",
                            port=port, log_level="info", limit_concurrency=64,
                            timeout_keep_alive=5, http=guarded_h11(1.0, 1.0))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _get(port: int, path: str) -> int:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code


@pytest.mark.slow
def test_slow_clients_cannot_hold_the_service(live_server):
    import socket

    port = live_server
    stalled = []
    for _ in range(80):  # more than limit_concurrency, each stuck in its headers
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        stalled.append(s)
    time.sleep(2.0)  # past the header timeout: the stalled connections are closed
    try:
        assert _get(port, "/healthz") == 200
        closed = 0
        for s in stalled:
            s.settimeout(2)
            try:
                closed += s.recv(1) == b""
            except (ConnectionError, TimeoutError):
                closed += 1
        assert closed == len(stalled)
    finally:
        for s in stalled:
            s.close()


@pytest.mark.slow
def test_a_client_leaving_mid_upload_logs_one_line(live_server, caplog):
    import logging
    import socket

    port = live_server
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/"
                  b"form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n")
        time.sleep(0.3)
    time.sleep(0.5)
    with socket.create_connection(("127.0.0.1", port)) as s:  # and one that stalls
        s.sendall(b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
        time.sleep(1.6)
    assert _get(port, "/healthz") == 200
    assert not [r for r in caplog.records if r.exc_info or "Exception in ASGI" in r.getMessage()]
    assert any("disconnected" in r.getMessage() or "closing the connection" in r.getMessage()
               for r in caplog.records)


def test_serve_rejects_bad_timeouts():
    import argparse

    from crnn.serve import add_arguments, run

    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(ConfigError, match="header-timeout"):
        run(p.parse_args(["--header-timeout", "nan", "--model", "x.pt"]))


# --------------------------------------------------------------------------- fuzz
def _fuzz_files(root: Path, n_random: int = 150) -> tuple[list[Path], list[Path]]:
    """Good images in odd modes, and bad ones: random bytes, truncations, huge headers."""
    rng = np.random.default_rng(27)
    font = find_font()
    base = render("20240901", font, size=28)
    good: list[Path] = []
    modes = {"1": "PNG", "L": "PNG", "P": "PNG", "RGB": "JPEG", "RGBA": "PNG", "LA": "PNG",
             "CMYK": "JPEG", "I;16": "PNG", "I": "TIFF", "F": "TIFF", "P+tRNS": "PNG"}
    for mode, fmt in modes.items():
        extra = {}
        if mode == "P+tRNS":  # palette with its paper colour marked transparent
            im = base.convert("P")
            extra = {"transparency": im.getpixel((0, 0))}
        elif mode in ("RGBA", "LA"):
            im = transparent_line("20240901").convert(mode)
        elif mode.startswith("I"):
            im = Image.fromarray(np.asarray(base, np.uint16) * 257).convert(mode) \
                if mode == "I;16" else Image.fromarray(np.asarray(base, np.int32) * 257)
        elif mode == "F":
            im = Image.fromarray(np.asarray(base, np.float32))
        else:
            im = base.convert(mode)
        p = root / f"good_{mode.replace(';', '_').replace('+', '_')}.{fmt.lower()}"
        im.save(p, fmt, **extra)
        good.append(p)
    bad: list[Path] = []
    seed_bytes = [p.read_bytes() for p in good[:4]]
    for i in range(n_random):
        kind = i % 3
        if kind == 0:
            data = rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()
        elif kind == 1:
            src = seed_bytes[i % len(seed_bytes)]
            data = src[: int(rng.integers(1, max(2, len(src) // 2)))]
        else:
            src = bytearray(seed_bytes[i % len(seed_bytes)])
            for _ in range(8):  # corrupt a few bytes past the signature
                src[int(rng.integers(8, len(src)))] = int(rng.integers(0, 256))
            data = bytes(src)
        p = root / f"bad_{i:03d}.png"
        p.write_bytes(data)
        bad.append(p)
    for w, h in ((50_000, 50_000), (30_000, 30_000), (1, 10**9), (2**31 - 1, 2)):
        p = root / f"bad_huge_{w}x{h}.png"
        p.write_bytes(png_header_only(w, h))
        bad.append(p)
    return good, bad


def test_fuzz_predict_ocr_and_serve(tmp_path, tiny_checkpoint, capsys):
    from crnn.recognizer import Recognizer

    root = tmp_path / "fuzz"
    root.mkdir()
    good, bad = _fuzz_files(root)
    rec = Recognizer.load(tiny_checkpoint, device="cpu")
    results = {Path(r.source).name: r for r in rec.recognize(good + bad)}
    for p in good:
        assert results[p.name].ok, (p.name, results[p.name].error)
    # a corrupted byte may leave a decodable image: those are read, the rest named
    failed = [p for p in bad if not results[p.name].ok]
    assert len(failed) >= len(bad) * 0.6
    for p in failed:
        assert p.name in results[p.name].error

    rc = main(["predict", str(root), "--model", str(tiny_checkpoint), "--json"])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err
    assert err.count("crnn: error:") == len(failed)
    assert sum('"text"' in line for line in out.splitlines()) >= len(good)

    ocr_set = good + bad[:10] + bad[-4:]
    rc = main(["ocr", *map(str, ocr_set), "--model", str(tiny_checkpoint), "--format",
               "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert out.count('"source"') >= len(good)

    from fastapi.testclient import TestClient

    from crnn.serve import ServeSettings, create_app

    with TestClient(create_app(rec, ServeSettings(model_name="t"))) as client:
        for p in good + bad:
            r = client.post("/v1/recognize", files=[("images", (p.name, p.read_bytes(),
                                                                  "image/png"))])
            assert r.status_code in (200, 413, 415, 422), (p.name, r.status_code, r.text)
            if p in good:
                assert r.status_code == 200, (p.name, r.text)
            if r.status_code != 200:
                assert p.name in r.json()["detail"]


def test_check_out_refuses_links_and_existing_paths(tmp_path):
    from crnn.data.outputs import check_out

    link = tmp_path / "link"
    os.symlink(tmp_path, link)
    with pytest.raises(DatasetError, match="symbolic link"):
        check_out(link, True)
    with pytest.raises(DatasetError, match="already exists"):
        check_out(tmp_path, False)
    assert check_out(tmp_path / "new.lmdb", True) == tmp_path / "new.lmdb"

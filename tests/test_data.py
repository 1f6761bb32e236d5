import io

import lmdb
import numpy as np
import pytest
from PIL import Image

from crnn.charset import Charset
from crnn.config import TrainConfig
from crnn.data import tools
from crnn.data.dataset import BucketBatchSampler, LabelFileSource, LineDataset, collate
from crnn.data.images import Preprocess, decode_image, resize_line, to_tensor_batch
from crnn.data.labels import detect_format, iter_label_file
from crnn.data.lmdb import LmdbReader, LmdbWriter
from crnn.errors import CharsetError, ConfigError, DatasetError

from .conftest import make_label_folder


def png_bytes(w=40, h=20, value=200):
    buf = io.BytesIO()
    Image.new("L", (w, h), value).save(buf, format="PNG")
    return buf.getvalue()


def test_lmdb_roundtrip_is_atomic(tmp_path):
    out = tmp_path / "x.lmdb"
    with LmdbWriter(out) as w:
        for i in range(2500):  # crosses the commit interval
            w.add(png_bytes(), f"label {i}")
    r = LmdbReader(out)
    assert len(r) == 2500
    assert r.get(0)[1] == "label 0" and r.get(2499)[1] == "label 2499"
    with pytest.raises(DatasetError, match="already exists"):
        LmdbWriter(out)
    # a crash inside the with block leaves nothing behind
    crashed = tmp_path / "crash.lmdb"
    with pytest.raises(RuntimeError), LmdbWriter(crashed) as w:
        w.add(png_bytes(), "a")
        raise RuntimeError("boom")
    assert not crashed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lmdb"]


def test_lmdb_numbered_from_zero_is_read_with_a_warning(tmp_path):
    path = tmp_path / "zero.lmdb"
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i in range(3):
            txn.put(b"image-%09d" % i, png_bytes())
            txn.put(b"label-%09d" % i, f"t{i}".encode())
        txn.put(b"num-samples", b"3")
    env.close()
    with pytest.warns(UserWarning, match="numbers its samples from 0"):
        r = LmdbReader(path)
    assert [r.get(i)[1] for i in range(3)] == ["t0", "t1", "t2"]


def test_not_an_lmdb(tmp_path):
    with pytest.raises(DatasetError, match="not an LMDB"):
        LmdbReader(tmp_path)


def test_label_formats(tmp_path):
    tab = tmp_path / "tab.txt"
    tab.write_text("a.png\thello world\nb.png\t\nc.png\tx\n", encoding="utf-8")
    assert detect_format(tab) == "tab"
    entries = list(iter_label_file(tab))
    assert entries[0].label == "hello world"
    assert entries[1].error and "empty label" in entries[1].error
    space = tmp_path / "space.txt"
    space.write_text("a.png hello world\n", encoding="utf-8")
    assert [e.label for e in iter_label_file(space)] == ["hello world"]
    index = tmp_path / "index.txt"
    index.write_text("a.jpg 1 2 1\nb.jpg 3 9\n", encoding="utf-8")
    cs_file = tmp_path / "cs.txt"
    cs_file.write_text("blank\nx\ny\nz\n", encoding="utf-8")
    cs = Charset.from_file(cs_file)
    assert detect_format(index, cs) == "index"
    e = list(iter_label_file(index, "auto", cs))
    assert e[0].label == "xyx"
    assert "outside charset file" in e[1].error
    with pytest.raises(DatasetError, match="index-style"):
        detect_format(index)


def test_a_folder_with_its_label_file_is_a_dataset(tmp_path):
    from crnn.data.dataset import open_source

    for name in ("a.png", "b.png"):
        Image.new("L", (40, 16), 255).save(tmp_path / name)
    (tmp_path / "labels.tsv").write_text("a.png\tone\nb.png\ttwo\n", encoding="utf-8")
    src = open_source(tmp_path)
    assert len(src) == 2 and src.raw(1)[1] == "two"
    with pytest.raises(DatasetError, match="labels.tsv or labels.txt"):
        open_source(tmp_path / "nothing")


def test_preprocess_and_padding():
    img = np.full((64, 200), 255, np.uint8)
    img[20:40, 10:50] = 0
    x = resize_line(img, Preprocess())
    assert x.shape == (1, 32, 100) and x.min() == -1.0 and x.max() == 1.0
    assert resize_line(img, Preprocess(width=100)).shape == (1, 32, 100)
    assert resize_line(np.zeros((32, 4), np.uint8), Preprocess()).shape[2] == 16  # min width
    b = to_tensor_batch([x, resize_line(img[:, :100], Preprocess())])
    assert b.shape == (2, 1, 32, 100)
    assert float(b[1, 0, :, 60:].mean()) == pytest.approx(1.0)  # padded with background
    with pytest.raises(DatasetError, match="cannot decode"):
        decode_image(b"not an image", name="junk.png")


def test_bucket_sampler_is_reproducible_and_resumable():
    proxies = np.random.default_rng(0).uniform(1, 20, 103)
    s = BucketBatchSampler(proxies, 10, seed=3, bucket_batches=3)
    s.set_epoch(1)
    full = list(s)
    assert sorted(i for b in full for i in b) == list(range(103))
    s.set_epoch(1, start_batch=4)
    assert list(s) == full[4:]
    s.set_epoch(2)
    assert list(s) != full


def test_dataset_rejects_label_too_long_for_its_width(tmp_path):
    cs = Charset.preset("digits")
    labels = tmp_path / "l.txt"
    (tmp_path / "narrow.png").write_bytes(png_bytes(w=20, h=32))
    (tmp_path / "wide.png").write_bytes(png_bytes(w=200, h=32))
    labels.write_text("narrow.png\t11111111111\nwide.png\t123\n", encoding="utf-8")
    ds = LineDataset(LabelFileSource(labels), cs, Preprocess())
    with pytest.warns(UserWarning, match=r"narrow.png.*needs 21 CTC frames"):
        assert ds[0] is None
        batch = collate([ds[0], ds[1]])
    assert batch.labels == ["123"] and batch.target_lengths.tolist() == [3]


def test_stretch_jitter_reads_each_line_at_a_drawn_width_per_epoch(tmp_path):
    cs = Charset.preset("digits")
    labels = tmp_path / "l.txt"
    (tmp_path / "a.png").write_bytes(png_bytes(w=200, h=32))
    labels.write_text("a.png\t123\n", encoding="utf-8")
    plain = LineDataset(LabelFileSource(labels), cs, Preprocess())
    assert plain.stretch(0) == 1.0 and plain[0][0].shape[2] == 200
    ds = LineDataset(LabelFileSource(labels), cs, Preprocess(), stretch_jitter=0.2, seed=3)
    widths = []
    for epoch in range(6):
        ds.epoch = epoch
        w = ds[0][0].shape[2]
        assert 160 <= w <= 240 and ds[0][0].shape[2] == w  # the same within an epoch
        widths.append(w)
    assert len(set(widths)) > 1  # and drawn anew each epoch
    again = LineDataset(LabelFileSource(labels), cs, Preprocess(), stretch_jitter=0.2, seed=3)
    again.epoch = 4
    assert again[0][0].shape[2] == widths[4]  # by (seed, epoch, sample) alone
    with pytest.raises(ConfigError, match="stretch_jitter"):
        TrainConfig(stretch_jitter=1.0)


def forty_copies(tmp_path, image):
    """A label file of 40 copies of ``image``, each labelled 123."""
    labels = tmp_path / "l.txt"
    for i in range(40):
        image.save(tmp_path / f"{i}.png")
    labels.write_text("".join(f"{i}.png\t123\n" for i in range(40)), encoding="utf-8")
    return labels


def test_augment_degrades_a_share_of_lines_anew_each_epoch(tmp_path):
    cs = Charset.preset("digits")
    text = Image.new("L", (240, 64), 235)
    text.paste(20, (20, 16, 220, 48))  # a dark bar on light paper
    labels = forty_copies(tmp_path, text)
    plain = LineDataset(LabelFileSource(labels), cs, Preprocess())
    ds = LineDataset(LabelFileSource(labels), cs, Preprocess(), seed=5, augment=0.5)
    clean = plain[0][0]
    changed = [not np.array_equal(ds[j][0], clean) for j in range(40)]
    assert 8 <= sum(changed) <= 32  # about half the lines, the others untouched
    for j in range(40):
        x = ds[j][0]
        assert x.shape[0] == 1 and x.shape[1] == 32 and x.dtype == np.float32
        assert np.array_equal(ds[j][0], x)  # the same within an epoch
    first = [ds[j][0] for j in range(40)]
    ds.epoch = 1
    assert any(not np.array_equal(ds[j][0], first[j]) for j in range(40))  # drawn anew
    again = LineDataset(LabelFileSource(labels), cs, Preprocess(), seed=5, augment=0.5)
    again.epoch = 1
    assert all(np.array_equal(again[j][0], ds[j][0]) for j in range(40))
    # a degraded line is still the same text: dark bar, light paper, at the same place
    j = changed.index(True)
    ds.epoch = 0
    x = ds[j][0][0]
    assert x[:, 20:90].mean() < x[:, :4].mean()
    with pytest.raises(ConfigError, match="augment"):
        TrainConfig(augment=1.5)


def test_recut_cuts_a_share_of_lines_at_their_ink_box_as_reading_does(tmp_path):
    cs = Charset.preset("digits")
    text = Image.new("L", (400, 80), 235)
    text.paste(20, (100, 30, 300, 50))  # 20 px of ink in a cut with wide margins
    labels = forty_copies(tmp_path, text)
    plain = LineDataset(LabelFileSource(labels), cs, Preprocess())
    assert plain[0][0].shape[2] == 160  # 400 x 80 read at 32 px high
    ds = LineDataset(LabelFileSource(labels), cs, Preprocess(), seed=2, recut=0.5,
                     recut_margin=(0.1, 0.2))
    widths = [ds[j][0].shape[2] for j in range(40)]
    recut = [w for w in widths if w != 160]
    assert 8 <= len(recut) <= 32  # about half the lines, the others as cut
    # the ink box (200 x 20) with 2-4 px on each side, read 32 px high: 204-208 px x 24-28
    assert all(32 * 204 / 28 - 1 <= w <= 32 * 208 / 24 + 1 for w in recut)
    assert [ds[j][0].shape[2] for j in range(40)] == widths  # the same within an epoch
    again = LineDataset(LabelFileSource(labels), cs, Preprocess(), seed=2, recut=0.5,
                        recut_margin=(0.1, 0.2))
    assert [again[j][0].shape[2] for j in range(40)] == widths  # by (seed, epoch, sample)
    ds.epoch = again.epoch = 1
    assert [ds[j][0].shape[2] for j in range(40)] != widths  # drawn anew each epoch
    with pytest.raises(ConfigError, match="recut"):
        TrainConfig(recut=1.5)
    with pytest.raises(ConfigError, match="recut_margin"):
        TrainConfig(recut_margin=[0.3, 0.1])
    assert TrainConfig(recut=0.8, recut_margin=[0.1, 0.2]).to_dict()["recut_margin"] == [0.1,
                                                                                         0.2]


def test_scan_degrade_keeps_grey_and_colour_shapes():
    import random

    from crnn.data.augment import scan_degrade

    grey = np.full((40, 300), 230, np.uint8)
    grey[10:30, 20:280] = 30
    colour = np.repeat(grey[:, :, None], 3, axis=2)
    big = np.full((120, 900), 230, np.uint8)
    taller = 0
    for seed in range(30):
        g = scan_degrade(grey, random.Random(seed))
        # a line turned askew is cut again at its taller ink band (by its drift, < 10 px)
        assert g.shape[1] == 300 and 40 <= g.shape[0] < 50 and g.dtype == np.uint8
        taller += g.shape[0] > 40
        c = scan_degrade(colour, random.Random(seed))
        assert c.shape == g.shape + (3,)
        b = scan_degrade(big, random.Random(seed))
        # scaled to 32-48 px high first (7.5 times as wide), then perhaps turned
        assert 240 <= b.shape[1] <= 360 and b.shape[1] / 7.5 - 1 <= b.shape[0] <= 48 + 12
        assert g[15:25, 40:260].mean() < g[:, :8].mean()  # ink stays darker than paper
    assert 0 < taller < 30


def test_tilt_cuts_a_turned_line_again_at_its_ink_band():
    import random

    from crnn.data.augment import _tilt

    line = np.full((40, 600), 230.0, np.float32)
    line[8:32, 10:590:6] = 20.0  # strokes 24 px high, 8 px margins above and below
    for seed in range(10):
        t = _tilt(line, random.Random(seed))
        angle = random.Random(seed).uniform(-1.6, 1.6)
        drift = np.tan(np.radians(abs(angle))) * 580
        assert t.shape[1] == 600 and abs(t.shape[0] - (40 + drift)) <= 3
        rows = np.flatnonzero((t < 125).sum(axis=1) >= 2)
        assert abs(rows[0] - 8) <= 1 and abs(t.shape[0] - 1 - rows[-1] - 8) <= 1
    blank = np.full((40, 600), 230.0, np.float32)
    assert _tilt(blank, random.Random(0)) is blank


def test_create_reports_every_bad_line_and_info_verify_export(tmp_path):
    labels = make_label_folder(tmp_path / "src", 12)
    (tmp_path / "src" / "images" / "bad.png").write_bytes(b"\x89PNG garbage")
    with labels.open("a", encoding="utf-8") as f:
        f.write("images/missing.png\t123\nimages/bad.png\t456\nimages/00001.png\t\n"
                "images/00002.png\t12a\n")
    out = tmp_path / "d.lmdb"
    rep = tools.create_dataset(labels, None, out, charset=Charset.preset("digits"),
                               oov="skip-sample", progress=False)
    assert rep.written == 12
    assert rep.skipped == {"missing image": 1, "undecodable image": 1, "bad label line": 1,
                           "character outside the charset": 1}
    assert any("missing.png" in e for e in rep.examples)
    # default policy: a clear error naming the sample, and nothing half-written
    with pytest.raises(CharsetError, match=r"'a'.*labels.txt:16"):
        tools.create_dataset(labels, None, tmp_path / "e.lmdb", charset=Charset.preset("digits"),
                             progress=False)
    assert not (tmp_path / "e.lmdb").exists()
    info = tools.dataset_info(out, Charset.from_string("0123"))
    assert info["samples"] == 12 and info["outside_charset"]
    assert info["image_height"]["min"] > 10
    n, bad = tools.verify_dataset(out, progress=False)
    assert (n, bad) == (12, [])
    exported = tools.export_dataset(out, tmp_path / "files", progress=False)
    assert exported == 12
    rows = (tmp_path / "files" / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("images/000000001.png\t")


def test_verify_lists_every_corrupt_sample(tmp_path):
    out = tmp_path / "c.lmdb"
    with LmdbWriter(out) as w:
        w.add(png_bytes(), "ok")
        w.add(b"corrupt-bytes", "bad1")
        w.add(png_bytes()[:30], "bad2")
        w.add(png_bytes(), "")
    n, bad = tools.verify_dataset(out, progress=False)
    assert n == 4
    assert [k for k, _ in bad] == [2, 3, 4]
    assert "does not decode" in bad[0][1] and "empty label" in bad[2][1]


def test_training_dataset_skips_missing_and_corrupt_images(tmp_path):
    labels = tmp_path / "l.txt"
    (tmp_path / "ok.png").write_bytes(png_bytes(w=200, h=32))
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n broken")
    labels.write_text("ok.png\t12\nmissing.png\t34\ncorrupt.png\t56\n", encoding="utf-8")
    ds = LineDataset(LabelFileSource(labels), Charset.preset("digits"), Preprocess())
    with pytest.warns(UserWarning) as caught:
        batch = collate([ds[0], ds[1], ds[2]])
    assert batch.labels == ["12"]
    text = " ".join(str(w.message) for w in caught)
    assert "missing.png" in text and "corrupt.png" in text

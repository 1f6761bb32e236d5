import numpy as np
import pytest
import torch
from torch import nn

from crnn.charset import Charset
from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from crnn.data.images import Preprocess
from crnn.errors import CheckpointError, ConfigError
from crnn.model import CRNN, ModelConfig, output_length

TINY = (8, 8, 16, 16, 16, 16, 16)


def test_tutorial_model_size_and_keys():
    m = CRNN(ModelConfig(num_classes=37))
    assert sum(p.numel() for p in m.parameters()) == 8_331_301
    keys = list(m.state_dict())
    assert keys[0] == "cnn.conv0.weight"
    assert "cnn.batchnorm2.running_mean" in keys and "cnn.batchnorm6.weight" in keys
    assert "cnn.batchnorm3.weight" not in keys
    assert "rnn.0.rnn.weight_ih_l0" in keys and keys[-1] == "rnn.1.embedding.bias"


@pytest.mark.parametrize("width", [16, 37, 100, 280])
def test_output_length(width):
    m = CRNN(ModelConfig(num_classes=5, cnn_channels=TINY, hidden=8)).eval()
    out = m(torch.zeros(2, 1, 32, width))
    assert out.shape == (output_length(width), 2, 5)
    assert output_length(100) == 26


def test_variants():
    for kw in ({"height": 64}, {"channels": 3}, {"rnn_type": "gru"}, {"leaky_relu": True},
               {"n_rnn": 1}, {"n_rnn": 3}, {"separable": True}):
        cfg = ModelConfig(num_classes=7, cnn_channels=TINY, hidden=8, **kw)
        m = CRNN(cfg).eval()
        x = torch.zeros(1, cfg.channels, cfg.height, 40)
        assert m(x).shape == (11, 1, 7), kw
    assert isinstance(CRNN(ModelConfig(num_classes=3, leaky_relu=True)).cnn.relu0,
                      nn.LeakyReLU)
    with pytest.raises(ConfigError, match="height 40"):
        ModelConfig(num_classes=5, height=40)
    with pytest.raises(ConfigError):
        ModelConfig(num_classes=5, height=16)


def test_crnn_pytorch_state_dict_loads_with_identical_logits(tmp_path):
    torch.manual_seed(0)
    cs = Charset.from_string("0123456789abcdefghijklmnopqrstuvwxyz")
    ref = CRNN(ModelConfig(num_classes=37)).eval()
    # crnn.pytorch saved DataParallel models: 'module.' prefixes
    sd = {f"module.{k}": v for k, v in ref.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    path = tmp_path / "crnn_pytorch.pth"
    torch.save(sd, path)
    alphabet = tmp_path / "alphabet.txt"
    alphabet.write_text("\n".join(cs.chars) + "\n", encoding="utf-8")
    ckpt = load_checkpoint(path, charset=str(alphabet))
    x = torch.randn(2, 1, 32, 100)
    with torch.no_grad():
        assert torch.equal(ckpt.build_model().eval()(x), ref(x))
    with pytest.raises(CheckpointError, match="without a charset"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="another charset"):
        load_checkpoint(path, charset="digits")


def test_checkpoint_roundtrip_and_errors(tmp_path):
    cs = Charset.preset("digits")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=TINY, hidden=8)
    m = CRNN(cfg)
    ck = Checkpoint(cfg, cs, Preprocess(width=100), m.state_dict())
    path = tmp_path / "m.pt"
    save_checkpoint(ck, path)
    back = load_checkpoint(path)
    assert back.charset == cs and back.preprocess.width == 100 and back.model_config == cfg
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind

    with pytest.raises(CheckpointError, match="another charset|not on the given"):
        load_checkpoint(path, charset="ascii")
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(trunc)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"epoch": 3, "weights": [1, 2]}, other)
    with pytest.raises(CheckpointError, match="not a crnn checkpoint"):
        load_checkpoint(other)


def test_rereads_vote_and_only_unsure_lines_are_read_again():
    """ReadingPolicy.rereads: a line read with a confidence of at most reread_below is read
    again at each stretch and keeps the text with the highest summed confidence; the
    latin scope limits that to lines read as mostly Latin."""
    import numpy as np

    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, mostly_latin, vote
    from crnn.recognizer import Recognizer

    assert mostly_latin("Universiy of") and mostly_latin("No. 2025年")
    assert not mostly_latin("收款单位：大学") and not mostly_latin("a")
    with pytest.raises(ConfigError, match="reading stretch"):
        ReadingPolicy(rereads=(0.4,))
    with pytest.raises(ConfigError, match="repeat the stretch"):
        ReadingPolicy(stretch=1.1, rereads=(1.0, 1.1))
    with pytest.raises(ConfigError, match="reread_below"):
        ReadingPolicy(reread_below=1.5)
    with pytest.raises(ConfigError, match="scope"):
        ReadingPolicy(reread_scope="greek")
    # two readings agreeing outvote one surer reading; two readings: the surer one
    assert vote([Decoded("Ofice", 0.99), Decoded("Office", 0.6),
                 Decoded("Office", 0.7)]) == Decoded("Office", 0.7)
    assert vote([Decoded("ww", 0.5), Decoded("www", 0.8)]).text == "www"
    assert vote([Decoded("a", 0.5), Decoded("b", 0.5)]).text == "a"

    cs = Charset.resolve("ascii")
    policy = ReadingPolicy(rereads=(1.1, 1.2), reread_below=0.95, right_pad=0.1)
    rec = Recognizer(CRNN(ModelConfig(num_classes=cs.num_classes)), cs, Preprocess(),
                     device="cpu", reading=policy)
    readings = {1.0: {10: Decoded("Newsleter", 0.5), 11: Decoded("tutition", 0.99),
                      12: Decoded("中文", 0.4)},
                1.1: {10: Decoded("Newsletter", 0.45), 12: Decoded("中文", 0.3)},
                1.2: {10: Decoded("Newsletter", 0.4), 12: Decoded("申文", 0.6)}}
    calls = []

    def fake_read(arrays, stretch, pad, blank_penalty=0.0):  # widths 10-12: the lines
        calls.append((stretch, [a.shape[1] for a in arrays]))
        assert pad == 0.1  # every reading keeps the policy's right margin
        assert blank_penalty == 0.0
        return [readings[stretch][a.shape[1]] for a in arrays]

    rec._read = fake_read
    lines = [np.zeros((32, w), np.uint8) for w in (10, 11, 12)]
    out = rec.recognize_arrays(lines)
    assert [d.text for d in out] == ["Newsletter", "tutition", "中文"]
    assert calls == [(1.0, [10, 11, 12]), (1.1, [10, 12]), (1.2, [10, 12])]  # 0.99: once
    calls.clear()
    assert [d.text for d in rec.recognize_arrays(lines, policy.once())] == \
        ["Newsleter", "tutition", "中文"] and calls == [(1.0, [10, 11, 12])]
    rec.reading = policy.replace(reread_scope="latin")
    calls.clear()
    assert rec.recognize_arrays(lines)[0].text == "Newsletter"
    assert calls == [(1.0, [10, 11, 12]), (1.1, [10]), (1.2, [10])]  # not the Chinese line
    rec.reading = policy.replace(rereads=())
    calls.clear()
    assert rec.recognize_arrays(lines)[0].text == "Newsleter" and len(calls) == 1
    # stretch: the first reading is that much wider; 1.0 may then be a reread
    readings[1.1][11] = Decoded("tuition", 0.98)
    readings[1.0][10] = Decoded("Newsleter", 0.2)
    rec.reading = ReadingPolicy(stretch=1.1, rereads=(1.0, 1.2), reread_below=0.95,
                                right_pad=0.1)
    calls.clear()
    assert [d.text for d in rec.recognize_arrays(lines)] == ["Newsletter", "tuition", "中文"]
    assert calls == [(1.1, [10, 11, 12]), (1.0, [10, 12]), (1.2, [10, 12])]
    # the caller may read under another policy (page OCR reads its crops once, at 1x)
    calls.clear()
    rec.recognize_arrays(lines, rec.reading.once())
    assert calls == [(1.0, [10, 11, 12])]
    # a fixed input width would undo any stretch: one reading, as it is, no margin
    fixed = Recognizer(CRNN(ModelConfig(num_classes=cs.num_classes)), cs,
                       Preprocess(width=100), device="cpu",
                       reading=ReadingPolicy(stretch=1.1, rereads=(1.2,)))
    assert fixed.reading == ReadingPolicy()


def test_blank_penalty_keeps_a_mark_rated_just_below_the_blank(tmp_path):
    """ReadingPolicy.blank_penalty comes off the blank's logit in every frame before the
    decoder (greedy or beam) and its confidence: a dot the model rates at 0.34 against the
    blank's 0.66 is read with a penalty of 1, not with 0; it travels in the checkpoint,
    through crnn export."""
    from crnn.cli import main
    from crnn.decoding.decoders import DecoderConfig
    from crnn.reading import ReadingPolicy
    from crnn.recognizer import Recognizer

    with pytest.raises(ConfigError, match="blank_penalty"):
        ReadingPolicy(blank_penalty=-0.5)
    cs = Charset("2.")
    two, dot = cs.index("2"), cs.index(".")
    probs = np.full((8, 1, cs.num_classes), 1e-4, np.float32)
    probs[:, 0, 0] = 1.0  # blank
    probs[1, 0, [0, two]] = [0.02, 0.98]
    probs[4, 0, [0, dot]] = [0.66, 0.34]
    logits = np.log(probs)
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=TINY, hidden=8, n_rnn=1)
    for kind in ("greedy", "beam"):
        rec = Recognizer(CRNN(cfg), cs, Preprocess(), device="cpu",
                         decoder=DecoderConfig(kind=kind))
        rec.logits = lambda batch: logits.copy()  # noqa: B023 (the same for both)
        line = [np.zeros((32, 30), np.uint8)]
        plain = rec.recognize_arrays(line)[0]
        kept = rec.recognize_arrays(line, ReadingPolicy(blank_penalty=1.0))[0]
        assert (plain.text, kept.text) == ("2", "2."), kind
    # page OCR reads each crop once by the plain best path
    assert ReadingPolicy(stretch=1.1, rereads=(1.2,), blank_penalty=0.7).once() == \
        ReadingPolicy()
    policy = ReadingPolicy(stretch=1.1, blank_penalty=0.7)
    assert ReadingPolicy.from_dict(policy.to_dict()) == policy
    ckpt = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict())
    save_checkpoint(ckpt, tmp_path / "m.pt")
    assert main(["export", "--model", str(tmp_path / "m.pt"), "--format", "fp16",
                 "--blank-penalty", "0.7", "--out", str(tmp_path / "e.pt")]) == 0
    assert load_checkpoint(tmp_path / "e.pt").reading.blank_penalty == 0.7
    assert main(["export", "--model", str(tmp_path / "e.pt"), "--format", "fp16",
                 "--deskew", "3", "--out", str(tmp_path / "d.pt")]) == 0
    stored = load_checkpoint(tmp_path / "d.pt").reading
    assert (stored.deskew, stored.blank_penalty) == (3.0, 0.7)
    assert main(["export", "--model", str(tmp_path / "e.pt"), "--format", "fp16",
                 "--blank-penalty", "9", "--out", str(tmp_path / "bad.pt")]) != 0
    # the second view needs a recut view; 'none' turns it off; a word is refused
    assert main(["export", "--model", str(tmp_path / "d.pt"), "--format", "fp16",
                 "--cross-below", "0.3", "--out", str(tmp_path / "bad.pt")]) != 0
    assert main(["export", "--model", str(tmp_path / "d.pt"), "--format", "fp16",
                 "--ink-margin", "0.15", "--cross-below", "0.3",
                 "--out", str(tmp_path / "c.pt")]) == 0
    stored = load_checkpoint(tmp_path / "c.pt").reading
    assert (stored.ink_margin, stored.cross_below, stored.deskew) == (0.15, 0.3, 3.0)
    assert main(["export", "--model", str(tmp_path / "c.pt"), "--format", "fp16",
                 "--cross-below", "none", "--out", str(tmp_path / "n.pt")]) == 0
    assert load_checkpoint(tmp_path / "n.pt").reading.cross_below is None
    assert main(["export", "--model", str(tmp_path / "c.pt"), "--format", "fp16",
                 "--cross-below", "often", "--out", str(tmp_path / "bad.pt")]) != 0
    # the second view as a window: a whole number of characters, or none (the whole line)
    assert main(["export", "--model", str(tmp_path / "c.pt"), "--format", "fp16",
                 "--cross-window", "2", "--out", str(tmp_path / "w.pt")]) == 0
    stored = load_checkpoint(tmp_path / "w.pt").reading
    assert (stored.cross_below, stored.cross_window) == (0.3, 2)
    assert main(["export", "--model", str(tmp_path / "w.pt"), "--format", "fp16",
                 "--cross-window", "none", "--out", str(tmp_path / "n.pt")]) == 0
    assert load_checkpoint(tmp_path / "n.pt").reading.cross_window is None
    for bad in ("1.5", "0"):
        assert main(["export", "--model", str(tmp_path / "c.pt"), "--format", "fp16",
                     "--cross-window", bad, "--out", str(tmp_path / "bad.pt")]) != 0


def test_checkpoints_from_before_the_reading_policy_keep_theirs(tmp_path):
    """Files that kept the reading settings among the preprocessing (v7-v12), or a Latin
    second reading (before v7), load with the same policy, in checkpoint.py alone."""
    from crnn.checkpoint import reading_of
    from crnn.reading import ReadingPolicy

    old = {"height": 32, "latin_stretch": 1.2, "latin_below": 0.99}
    assert reading_of({"preprocess": old}) == ReadingPolicy(
        rereads=(1.2,), reread_below=0.99, reread_scope="latin")
    assert reading_of({"preprocess": {"height": 32, "latin_stretch": 1.0}}) == ReadingPolicy()
    v12 = {"height": 32, "read_stretch": 1.1, "reread": [1.0, 1.2], "reread_below": 0.8,
           "reread_latin": False, "read_pad": 0.1}
    policy = ReadingPolicy(stretch=1.1, rereads=(1.0, 1.2), reread_below=0.8, right_pad=0.1)
    assert reading_of({"preprocess": v12}) == policy
    assert Preprocess.from_dict(v12) == Preprocess()
    assert reading_of({"reading": policy.to_dict(), "preprocess": {}}) == policy
    assert ReadingPolicy.from_dict({**policy.to_dict(), "rereads": [1.0, 1.2]}) == policy
    # a checkpoint written the old way loads with its policy; saved again, the new way
    cs = Charset.resolve("digits")
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                      hidden=8, n_rnn=1)
    ckpt = Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict())
    payload = ckpt.to_payload()
    del payload["reading"]
    payload["preprocess"] = v12
    torch.save(payload, tmp_path / "old.pt")
    loaded = load_checkpoint(tmp_path / "old.pt")
    assert loaded.reading == policy and loaded.preprocess == Preprocess()
    save_checkpoint(loaded, tmp_path / "new.pt")
    assert load_checkpoint(tmp_path / "new.pt").reading == policy


def test_lines_pad_to_a_width_of_their_own_and_batch_only_with_equal_widths():
    """Recognizer batches: each line pads to a grid width that depends on it alone (at
    least 1+pad times its width, at most about 5% + 4 px more), and a batch holds at most
    batch_size lines, all of one padded width; every index exactly once."""
    from crnn.recognizer import padded_width, width_batches

    for w in (8, 9, 50, 97, 100, 101, 333, 1000, 2048, 100000):
        for pad in (0.0, 0.1, 0.3):
            g = padded_width(w, pad)
            assert g % 4 == 0 and w * (1 + pad) - 1e-6 <= g <= w * (1 + pad) * 1.05 + 4, (w, pad, g)
    assert padded_width(100) == padded_width(98) != padded_width(130)
    assert padded_width(100, 0.1) == 116 and padded_width(110) == 116
    widths = [padded_width(w) for w in (100, 900, 98, 99, 125, 1000, 50, 49, 64)]
    batches = width_batches(widths, batch_size=2)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))
    assert all(len(b) <= 2 and len({widths[i] for i in b}) == 1 for b in batches)
    assert [len(b) for b in batches] == [2, 1, 2, 1, 1, 1, 1]
    assert width_batches([], 8) == []
    # a large charset: wide lines batch fewer to a step, their logits under the budget
    from crnn.architecture import output_length
    from crnn.recognizer import LOGITS_BUDGET

    wide = [padded_width(1500)] * 40 + [padded_width(100)] * 40
    capped = width_batches(wide, batch_size=64, classes=16927)
    assert sorted(i for b in capped for i in b) == list(range(80))
    assert all(4 * 16927 * output_length(wide[b[0]]) * len(b) <= LOGITS_BUDGET
               for b in capped)
    assert max(len(b) for b in capped if wide[b[0]] > 1000) < 40
    assert [len(b) for b in capped if wide[b[0]] < 1000] == [40]
    assert width_batches([padded_width(10 ** 5)] * 3, 64, classes=16927) == [[0], [1], [2]]


def test_a_line_reads_the_same_alone_and_in_any_batch():
    """Padding depends on each line alone, so a short line read beside a long one, or in
    a batch of 1 or 64, gets the same logits frames and the same text."""
    import numpy as np

    from crnn.reading import ReadingPolicy
    from crnn.recognizer import Recognizer

    torch.manual_seed(0)
    cs = Charset.resolve("digits")
    model = CRNN(ModelConfig(num_classes=cs.num_classes, cnn_channels=(8, 8, 16, 16, 16, 16, 16),
                             hidden=8, n_rnn=1))
    rng = np.random.default_rng(0)
    lines = [rng.integers(0, 255, (32, w), dtype=np.uint8) for w in (60, 61, 64, 300, 90)]
    for pad in (0.0, 0.2):
        pre, policy = Preprocess(), ReadingPolicy(right_pad=pad)
        alone = [Recognizer(model, cs, pre, "cpu", batch_size=1, reading=policy)
                 .recognize_arrays([a])[0] for a in lines]
        together = Recognizer(model, cs, pre, "cpu", batch_size=64,
                              reading=policy).recognize_arrays(lines)
        for a, b in zip(alone, together, strict=True):
            assert a.text == b.text and abs(a.confidence - b.confidence) < 1e-5


def test_recut_lines_reach_the_model_with_the_same_margins():
    import numpy as np

    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, read_lines, recut

    def line(top, left, bottom_margin):
        img = np.full((20 + top + bottom_margin, 120 + left + 7), 230, np.uint8)
        for x in range(left, left + 120, 8):  # strokes, as text has (ink under half)
            img[top:top + 20, x:x + 3] = 20
        img[top + 19, left:left + 120] = 20  # a baseline rule: the box spans the strokes
        return img

    tight, loose = line(2, 2, 2), line(15, 40, 9)
    a, b = recut(tight, 0.3), recut(loose, 0.3)
    assert a.shape == b.shape == (20 + 2 * 6, 120 + 2 * 6)  # 6 = 0.3 of the ink height
    assert np.array_equal(a, b) and a[0, 0] == 230 and a[6, 6] == 20 and a[6, 9] == 230
    speck = loose.copy()
    speck[0, 0] = 0  # a lone speck in a row of its own does not stretch the box
    assert recut(speck, 0.3).shape == a.shape
    neighbour = loose.copy()
    neighbour[-3:, 50:90:2] = 20  # the top of the next line's ink, cut off at the bottom
    assert np.array_equal(recut(neighbour, 0.3), a)
    neighbour[:4, 60:70] = 20  # and the bottom of the line above
    assert np.array_equal(recut(neighbour, 0.3), a)
    rgb = np.dstack([loose] * 3)
    assert recut(rgb, 0.3).shape == a.shape + (3,)
    negative = 255 - loose  # light text on dark ground: left as it is
    assert recut(negative, 0.3) is negative
    blank = np.full((30, 50), 255, np.uint8)
    assert recut(blank, 0.3) is blank
    shadow = loose.copy()
    shadow[:, :30] = 90  # a scan's shadow, edge to edge: no ink box to trust
    assert recut(shadow, 0.3) is shadow
    seen = []

    def read(lines, stretch, pad):
        seen.extend(x.shape for x in lines)
        return [Decoded("x", 1.0) for _ in lines]

    read_lines(read, [tight, loose], ReadingPolicy(ink_margin=0.3))
    assert seen == [a.shape, a.shape]
    seen.clear()
    read_lines(read, [tight, loose], ReadingPolicy())
    assert seen == [tight.shape, loose.shape]


def test_a_recut_line_read_again_is_read_as_cut_too_and_its_readings_vote():
    import numpy as np

    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, read_lines, recut

    img = np.full((40, 160), 230, np.uint8)
    for x in range(20, 140, 8):
        img[12:30, x:x + 3] = 20
    cut = recut(img, 0.2)
    calls = []
    texts = {(cut.shape, 1.0): ("hello", 0.6), (img.shape, 1.0): ("he1lo", 0.5),
             (img.shape, 1.2): ("he1lo", 0.4), (cut.shape, 1.2): ("never", 1.0)}

    def read(lines, stretch, pad):
        calls.append([(x.shape, stretch) for x in lines])
        return [Decoded(*texts[(x.shape, stretch)]) for x in lines]

    latin = ReadingPolicy(ink_margin=0.2, rereads=(1.2,), reread_scope="latin")
    out = read_lines(read, [img], latin)
    # first the recut line; then as cut at the reread stretch; they disagree, so as cut
    # at the stretch too
    assert calls == [[(cut.shape, 1.0)], [(img.shape, 1.2)], [(img.shape, 1.0)]]
    assert out[0].text == "he1lo" and out[0].confidence == 0.5  # 0.9 of votes against 0.6
    calls.clear()
    texts[(img.shape, 1.2)] = ("hello", 0.4)  # the views agree: no third reading
    assert read_lines(read, [img], latin)[0].confidence == 0.6 and len(calls) == 2
    calls.clear()
    texts[(cut.shape, 1.0)] = ("你好", 0.6)  # not mostly Latin: read once, recut
    assert read_lines(read, [img], latin)[0].text == "你好" and len(calls) == 1
    calls.clear()
    read_lines(read, [img], ReadingPolicy(rereads=(1.2,)))  # no recut: as before
    assert calls == [[(img.shape, 1.0)], [(img.shape, 1.2)]]


def test_an_unsure_line_is_read_in_two_views_that_choose_its_text_together():
    """ReadingPolicy.cross_below: an unsure line (not reread) is read recut and as cut;
    where the readings differ, the text the two views score best on average is kept."""
    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, read_lines, recut

    with pytest.raises(ConfigError, match="ink_margin"):
        ReadingPolicy(cross_below=0.9)
    with pytest.raises(ConfigError, match="cross_below"):
        ReadingPolicy(ink_margin=0.2, cross_below=1.5)
    policy = ReadingPolicy(ink_margin=0.2, cross_below=0.8, rereads=(1.2,),
                           reread_scope="latin")
    assert ReadingPolicy.from_dict(policy.to_dict()) == policy
    assert ReadingPolicy.from_dict({"ink_margin": 0.2}).cross_below is None

    def line(width):
        img = np.full((40, width), 230, np.uint8)
        img[12:30, 20:width - 20] = 20
        return img

    # widths: 100 unsure, views differ; 120 sure; 140 unsure, views agree; 160 Latin
    imgs = [line(w) for w in (100, 120, 140, 160)]
    recut_w = {recut(x, 0.2).shape[1]: x.shape[1] for x in imgs}
    readings = {"recut": {100: Decoded("人土", 0.7, (0.9, 0.7)), 120: Decoded("好", 0.95),
                          140: Decoded("句", 0.5), 160: Decoded("Iine", 0.5)},
                "cut": {100: Decoded("人士", 0.6, (0.95, 0.6)), 140: Decoded("句", 0.55),
                        160: Decoded("line", 0.9)}}
    # each text's score under each view (log-likelihood plus language-model terms)
    scores = {"recut": {"人土": -0.1, "人士": -3.0}, "cut": {"人土": -7.0, "人士": -0.05}}
    calls, scored = [], []

    assert not set(recut_w) & {100, 120, 140, 160}  # a width tells the view

    def view(x):
        return "recut" if x.shape[1] in recut_w else "cut"

    def width(x):
        return recut_w.get(x.shape[1], x.shape[1])

    def read(lines, stretch, pad):
        calls.append([(view(x), width(x), stretch) for x in lines])
        return [readings[view(x)][width(x)] for x in lines]

    def score(lines, stretch, pad, texts, readings_there):
        assert [d.text for d in readings_there] == [readings[view(x)][width(x)].text
                                                     for x in lines]
        scored.append([(view(x), width(x)) for x in lines])
        return [[scores[view(x)][t] for t in ts] for x, ts in zip(lines, texts, strict=True)]

    out = read_lines(read, imgs, policy, score)
    assert [d.text for d in out] == ["人士", "好", "句", "line"]
    assert out[0] == readings["cut"][100]  # its own reading's confidence and probabilities
    assert out[2] == readings["recut"][140]  # the views agree: the first reading stays
    # recut, all; as cut, the two unsure non-Latin lines; the Latin line by its rereads
    assert calls[:2] == [[("recut", w, 1.0) for w in (100, 120, 140, 160)],
                         [("cut", 100, 1.0), ("cut", 140, 1.0)]]
    assert scored == [[("recut", 100)], [("cut", 100)]]  # only where the views differ
    scores["recut"]["人土"] = 5.0  # the recut view sure enough to outweigh the other
    assert read_lines(read, imgs, policy, score)[0].text == "人土"
    calls.clear()
    read_lines(read, imgs, policy)  # no scorer: one view
    assert [c[0] for c in calls[0]] == ["recut"] * 4 and len(calls) == 3


def _blocks_line(lefts, width=20, halves=()):
    """A grey line of dark blocks ("characters") at columns ``lefts``, each ``width``
    wide; those in ``halves`` split by a 2-column gap of their own (as 收 is)."""
    img = np.full((40, max(lefts) + width + 15), 230, np.uint8)
    img[39] = 200 + np.arange(img.shape[1]) % 29  # light, and tells the columns apart
    for k, x in enumerate(lefts):
        img[10:30, x:x + width] = 20
        if k in halves:
            img[10:30, x + 5:x + 7] = 230
    return img


def test_a_window_is_cut_at_the_gaps_between_whole_characters():
    """reading.window_of: a window of characters [k0, k1) of the line as cut, its inner
    edges in the widest ink-free run between the neighbours' frames (not the narrow gap
    inside a character of two halves), placed through the recut box."""
    from crnn.reading import ink_box, window_of

    lefts = [15, 45, 75, 105, 135]
    line = _blocks_line(lefts, halves=(1, 3))
    box = ink_box(line, 0.2)
    assert box is not None and (box.x0, box.x1) == (15, 155)
    # each character's first and last frame sit in its right half (recut columns)
    spans = np.array([[x + 12, x + 17] for x in lefts], float) - box.x0 + box.pad
    win = window_of(line, box, spans, 1, 4)
    assert win is not None and win.shape[0] == line.shape[0]
    left = next(c for c in range(line.shape[1])
                if np.array_equal(line[:, c:c + win.shape[1]], win))
    assert 35 <= left < 45 and left + win.shape[1] in range(126, 136)
    # the line's own ends stay; a window of every character is the whole line
    assert window_of(line, box, spans, 0, 5).shape == line.shape
    assert window_of(line, box, spans, 0, 2).shape[1] in range(66, 76)


def test_an_unsure_line_s_second_view_can_be_a_window_around_its_least_sure_character():
    """ReadingPolicy.cross_window: the second view of an unsure line is a window of it as
    cut (its least sure character and cross_window on each side); a window that reads
    otherwise inside offers the line's text with its reading there, scored by the whole
    recut line (language-model terms twice) and by the window (none); a window that reads
    otherwise at an inner edge, or a line its search kept no scores for, keeps its text."""
    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, _splice, ink_box, read_lines

    with pytest.raises(ConfigError, match="cross_below"):
        ReadingPolicy(ink_margin=0.2, cross_window=2)
    with pytest.raises(ConfigError, match="cross_window"):
        ReadingPolicy(ink_margin=0.2, cross_below=0.9, cross_window=0)
    policy = ReadingPolicy(ink_margin=0.2, cross_below=0.9, cross_window=1)
    assert ReadingPolicy.from_dict(policy.to_dict()) == policy
    assert ReadingPolicy(ink_margin=0.2, cross_below=0.9, cross_window=2.0).cross_window == 2

    lefts = [15, 45, 75, 105, 135]
    lines = [_blocks_line(lefts) for _ in range(4)]
    for k, x in enumerate(lines):
        x[12:13 + k, 40] = 228  # tells the lines apart, recut or not
    first = {0: Decoded("甲乙丙丁戊", 0.3, (0.9, 0.95, 0.3, 0.9, 0.9)),  # window 乙丙丁
             1: Decoded("甲乙丙丁戊", 0.3, (0.9, 0.95, 0.3, 0.9, 0.9)),  # edge differs
             2: Decoded("甲乙丙丁戊", 0.3, (0.9, 0.95, 0.3, 0.9, 0.9)),  # not placed
             3: Decoded("甲乙丙丁戊", 0.95, (0.95,) * 5)}                # sure: one view
    window_reads = {0: Decoded("乙两丁", 0.5, (0.9, 0.5, 0.9)),
                    1: Decoded("己两丁", 0.5, (0.9, 0.5, 0.9))}
    box = ink_box(lines[0], 0.2)
    spans = np.array([[x + 12, x + 17] for x in lefts], float) - box.x0 + box.pad
    seen_lines, scored = [], []

    def which(x):
        return int((x == 228).sum()) - 1

    def read(imgs, stretch, pad, best_path=False):
        seen_lines.append(([x.shape[1] for x in imgs], best_path))
        if all(x.shape[1] > 100 for x in imgs):  # the recut lines
            return [first[which(x)] for x in imgs]
        return [window_reads[k] for k in (0, 1)]  # the two windows, in line order

    def locate(imgs, stretch, pad, readings):
        assert [d.confidence for d in readings] == [0.3, 0.3, 0.3]
        return [spans, spans, None]

    def score(imgs, stretch, pad, texts, readings, prior=1.0):
        scored.append((prior, [tuple(t) for t in texts]))
        if prior == 2.0:  # the whole recut line: the first text a little better
            return [[-1.0, -2.0] for _ in texts]
        return [[-5.0, -1.0] for _ in texts]  # the window: its own reading much better

    out = read_lines(read, lines, policy, score, locate)
    assert [d.text for d in out] == ["甲乙两丁戊", "甲乙丙丁戊", "甲乙丙丁戊", "甲乙丙丁戊"]
    assert out[0].char_probs == (0.9, 0.9, 0.5, 0.9, 0.9) and out[0].confidence == 0.5
    assert scored == [(2.0, [("甲乙丙丁戊", "甲乙两丁戊")]), (0.0, [("乙丙丁", "乙两丁")])]
    # the windows, by their best path
    assert len(seen_lines) == 2 and all(w < 100 for w in seen_lines[1][0]) and seen_lines[1][1]
    # the splice keeps the spaces at the window's ends and their probabilities
    d = Decoded("ab cd e", 0.5, (0.9, 0.8, 0.99, 0.5, 0.7, 0.98, 0.6))
    spliced = _splice(d, 2, 5, Decoded(" x ", 0.6, (0.4, 0.6, 0.4)))
    assert (spliced.text, spliced.char_probs) == ("ab x e", (0.9, 0.8, 0.99, 0.6, 0.98, 0.6))
    assert spliced.confidence == 0.6


def test_a_text_is_scored_under_a_view_as_the_decoder_would_score_it(tmp_path):
    """Recognizer._score: the CTC log-likelihood of each text under the line's logits as
    read (blank penalty included), plus the fused language-model terms."""
    from crnn.decoding.ctc import ctc_log_likelihood
    from crnn.decoding.decoders import DecoderConfig, build_decoder
    from crnn.decoding.lm import NGramLM
    from crnn.recognizer import Recognizer, pad_batch, padded_width, resize_line

    torch.manual_seed(0)
    cs = Charset.from_string("abc")
    model = CRNN(ModelConfig(num_classes=cs.num_classes, cnn_channels=(4, 4, 8, 8, 8, 8, 8),
                             hidden=8))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 60), dtype=np.uint8)
    rec = Recognizer(model, cs, Preprocess(), device="cpu")
    got = rec._score([img], 1.0, 0.1, [["ab", "cab"]], blank_penalty=0.5)[0]
    p = resize_line(img, rec.preprocess, 1.0)
    logits = rec.logits(pad_batch([p], width=padded_width(p.shape[2], 0.1)))[:, 0]
    logits[:, 0] -= 0.5
    frames = output_length(p.shape[2])
    want = ctc_log_likelihood(logits[:frames], [[1, 2], [3, 1, 2]])
    assert np.allclose(got, want, atol=1e-4)
    lm = NGramLM.build(["abc", "cab", "ab"], 2)
    lm.save(tmp_path / "lm.bin")
    fused = Recognizer(model, cs, Preprocess(), device="cpu",
                       decoder=DecoderConfig(kind="beam", lm=str(tmp_path / "lm.bin"),
                                             lm_weight=0.5, length_bonus=1.5))
    with_lm = fused._score([img], 1.0, 0.1, [["ab", "cab"]], blank_penalty=0.5)[0]
    for text, base, total in zip(["ab", "cab"], want, with_lm, strict=True):
        assert total == pytest.approx(base + 0.5 * lm.sentence_logprob(text)[0]
                                      + 1.5 * len(text), abs=1e-4)
    # a line its reading searched: scored on the columns that search kept, not read again
    fused.decoder_config = DecoderConfig(kind="beam", lm=str(tmp_path / "lm.bin"),
                                         lm_weight=0.5, length_bonus=1.5, search_below=0.999)
    fused.decoder = build_decoder(fused.decoder_config, cs)
    seen = fused._read([img], 1.0, 0.1, blank_penalty=0.5)[0]
    assert seen.scores is not None and seen.scores.log_likelihood([[1, 2], [3, 1, 2]]) is not None
    assert fused.recognize_arrays([img])[0].scores is None  # not handed on to callers
    fused.logits = None  # no model run left to make
    kept = fused._score([img], 1.0, 0.1, [["ab", "cab"]], [seen], blank_penalty=0.5)[0]
    assert np.allclose(kept, with_lm, atol=1e-4)
    halved = fused._score([img], 1.0, 0.1, [["ab", "cab"]], [seen], prior=0.0,
                          blank_penalty=0.5)[0]
    assert np.allclose(halved, want, atol=1e-4)  # prior 0: the log-likelihood alone


def test_a_reading_s_characters_are_placed_on_its_line_by_their_frames():
    """Recognizer._locate: each character of a searched reading as columns of its line,
    from its text's likeliest alignment over the scores the search kept: in order, inside
    the line, at the width the line was read (stretch included); None unsearched."""
    from crnn.decoding.ctc import Decoded
    from crnn.decoding.decoders import DecoderConfig, build_decoder
    from crnn.recognizer import Recognizer

    torch.manual_seed(3)
    cs = Charset.from_string("abc")
    model = CRNN(ModelConfig(num_classes=cs.num_classes, cnn_channels=(4, 4, 8, 8, 8, 8, 8),
                             hidden=8))
    rec = Recognizer(model, cs, Preprocess(), device="cpu",
                     decoder=DecoderConfig(kind="beam", search_below=0.999))
    rec.decoder = build_decoder(rec.decoder_config, cs)
    img = np.random.default_rng(1).integers(0, 255, (48, 300), dtype=np.uint8)
    seen = rec._read([img], 1.3, 0.1)[0]
    assert seen.scores is not None and len(seen.text) >= 2
    spans = rec._locate([img, img], 1.3, 0.1, [seen, Decoded(seen.text, seen.confidence)])
    assert spans[1] is None
    got = spans[0]
    assert got.shape == (len(seen.text), 2)
    assert (np.diff(got[:, 0]) > 0).all() and (got[:, 1] >= got[:, 0]).all()
    # frames of the line read 1.3 wider, back at the line's own width
    per_column = 300 / rec.preprocess.target_width(48, round(300 * 1.3))
    assert got.min() >= 2 * per_column and got.max() <= 4 * len(seen.scores.lse) * per_column


def _text_line(width=900, height=60):
    import cv2

    img = np.full((height, width), 235, np.uint8)
    cv2.putText(img, "The quick brown fox jumps over 1234 lazy dogs", (10, height - 18),
                cv2.FONT_HERSHEY_SIMPLEX, 1.1, 20, 2)
    return img


def _tilted(img, degrees, margin=4):
    """``img`` turned by ``degrees`` on a taller ground and cut at its ink box plus
    ``margin`` px, as a page scanned askew is cut into lines."""
    import cv2

    h, w = img.shape
    big = cv2.copyMakeBorder(img, h, h, 0, 0, cv2.BORDER_CONSTANT, value=235)
    turn = cv2.getRotationMatrix2D((w / 2, 1.5 * h), degrees, 1.0)
    out = cv2.warpAffine(big, turn, (w, 3 * h), borderValue=235)
    rows = np.flatnonzero((out < 128).any(axis=1))
    return out[rows[0] - margin:rows[-1] + 1 + margin]


def test_slanted_lines_are_turned_level_and_cut_again():
    from crnn.decoding.ctc import Decoded
    from crnn.reading import ReadingPolicy, line_slope, read_lines, straighten

    level = _tilted(_text_line(), 0.0)
    assert line_slope(level) == 0.0 and straighten(level) is level
    for degrees in (-1.5, -0.7, 0.6, 1.2):
        tilted = _tilted(_text_line(), degrees)
        slope = line_slope(tilted)
        # falling to the right (a positive slope) is a clockwise turn (negative degrees)
        assert abs(np.degrees(np.arctan(slope)) + degrees) < 0.15
        out = straighten(tilted)
        assert out.shape[1] == tilted.shape[1]
        assert abs(out.shape[0] - level.shape[0]) <= 2 < tilted.shape[0] - level.shape[0]
        assert abs(line_slope(out)) < 0.003
        assert out[:3].min() > 200 and out[-3:].min() > 200  # the margins it had, kept
        rgb = straighten(np.dstack([tilted] * 3))
        assert rgb.shape[:2] == out.shape and rgb.shape[2] == 3
    slight = _tilted(_text_line(), 0.25)  # drifts under a tenth of its height: as cut
    assert straighten(slight) is slight
    assert straighten(_tilted(_text_line(), 2.0), 1.0) is not None  # beyond the limit: no crash
    blank = np.full((40, 400), 255, np.uint8)
    negative = 255 - _tilted(_text_line(), 1.0)
    short = _tilted(_text_line(width=120), 1.0)  # under 4 heights long: no slant is read
    for x in (blank, negative, short):
        assert straighten(x) is x
    seen = []

    def read(lines, stretch, pad):
        seen.extend(x.shape for x in lines)
        return [Decoded("x", 1.0) for _ in lines]

    tilted = _tilted(_text_line(), 1.2)
    read_lines(read, [tilted, level], ReadingPolicy(deskew=3.0))
    assert seen[0][0] < tilted.shape[0] and seen[1] == level.shape
    seen.clear()
    read_lines(read, [tilted], ReadingPolicy())
    assert seen == [tilted.shape]
    with pytest.raises(ConfigError, match="deskew"):
        ReadingPolicy(deskew=-1.0)

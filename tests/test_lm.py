"""Character n-gram LM: Kneser-Ney against a plain reference, file format, CLI, fusion."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from crnn.charset import Charset
from crnn.decoding.decoders import DecoderConfig, build_decoder
from crnn.decoding.lm import BOS, MAGIC, LanguageModelError, NGramLM, main, tokenize
from crnn.errors import ConfigError

CORPUS = [
    "北京大学录取通知书",
    "我爱北京天安门",
    "天安门上太阳升",
    "北京 大学",
    "hello world",
    "hello 北京",
    "北京北京北京",
    "2023年9月1日",
    "abc abd abe",
] * 2 + ["录取", "通知"]


def reference_kn(lines: list[str], order: int):
    """Interpolated modified Kneser-Ney written from the textbook formulas, with dicts."""
    sents = [["<s>", *tokenize(s), "</s>"] for s in lines if s.strip()]
    raw: list[Counter] = [Counter() for _ in range(order + 1)]
    for s in sents:
        for k in range(1, order + 1):
            for i in range(len(s) - k + 1):
                raw[k][tuple(s[i : i + k])] += 1
    adj: list[dict] = [{} for _ in range(order + 1)]
    for k in range(1, order + 1):
        if k == order:
            adj[k] = dict(raw[k])
            continue
        left: defaultdict = defaultdict(set)
        for g in raw[k + 1]:
            left[g[1:]].add(g[0])
        adj[k] = {g: (c if g[0] == "<s>" else len(left[g])) for g, c in raw[k].items()}
    adj[1].pop(("<s>",), None)
    vocab = {t for s in sents for t in s} - {"<s>"} | {"<unk>"}

    def discounts(k):
        cc = Counter(v for v in adj[k].values() if v > 0)
        n1, n2, n3, n4 = (cc[i] for i in (1, 2, 3, 4))
        fb = [0.5, 1.0, 1.5]
        if not n1 or not n2:
            return fb
        y = n1 / (n1 + 2 * n2)
        d = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3 if n3 else fb[2]]
        return [di if 0 < di <= i + 1 else fb[i] for i, di in enumerate(d)]

    ds = {k: discounts(k) for k in range(1, order + 1)}

    def p(w, h):
        k = len(h) + 1
        d = ds[k]
        ext = {g[-1]: c for g, c in adj[k].items() if g[:-1] == h}
        total = sum(ext.values())
        lower = 1 / len(vocab) if k == 1 else p(w, h[1:])
        if total == 0:
            return lower
        disc = lambda c: d[min(c, 3) - 1] if c else 0.0  # noqa: E731
        held = sum(min(disc(c), c) for c in ext.values())
        c = ext.get(w, 0)
        return max(c - disc(c), 0) / total + held / total * lower

    return p


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_reference_kneser_ney(order):
    lm = NGramLM.build(CORPUS, order)
    ref = reference_kn(CORPUS, order)
    histories = [["<s>"], ["<s>", "北", "京"], ["<s>", "录", "取"], ["<s>", "h", "e", "l"],
                 ["<s>", "z", "北"], ["<s>", "2", "0", "2", "3", "年"]]
    for hist in histories:
        state = lm.start_state()
        for tok in hist[1:]:
            _, nxt = lm.score(np.array([state]), np.array([lm.token_id(tok)]))
            state = int(nxt[0])
        h = tuple(t if lm.token_id(t) else "<unk>" for t in hist)[-(order - 1):] \
            if order > 1 else ()
        for w in ["京", "大", "门", "l", "</s>", "月", "<unk>"]:
            got, _ = lm.score(np.array([state]), np.array([lm.token_id(w)]))
            assert np.exp(got[0]) == pytest.approx(ref(w, h), rel=1e-5), (hist, w)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_distributions_sum_to_one(order):
    lm = NGramLM.build(CORPUS, order)
    toks = np.array([t for t in range(lm.vocab_size) if t != BOS])
    states = {lm.start_state()}
    for text in ["北京大", "hello", "xyz北", "年9"]:
        s = lm.start_state()
        for ch in text:
            _, n = lm.score(np.array([s]), np.array([lm.token_id(ch)]))
            s = int(n[0])
            states.add(s)
    for s in states:
        lp, _ = lm.score(np.full(len(toks), s), toks)
        assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-5)


def test_prefers_seen_text():
    lm = NGramLM.build(CORPUS, 4)
    assert lm.sentence_logprob("北京大学")[0] > lm.sentence_logprob("学大京北")[0] + 3


def test_save_load_round_trip_and_bad_files(tmp_path):
    lm = NGramLM.build(CORPUS, 3, word_tokens=True)
    path = tmp_path / "lm.bin"
    lm.save(path)
    back = NGramLM.load(path)
    assert back.vocab == lm.vocab and back.order == 3 and back.word_tokens
    assert back.sentence_logprob("hello 北京") == lm.sentence_logprob("hello 北京")
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    (tmp_path / "bad.bin").write_bytes(b"not a model")
    with pytest.raises(LanguageModelError, match="not a crnn language model"):
        NGramLM.load(tmp_path / "bad.bin")
    (tmp_path / "cut.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(LanguageModelError, match="truncated|inconsistent"):
        NGramLM.load(tmp_path / "cut.bin")
    (tmp_path / "v9.bin").write_bytes(data[:8] + (9).to_bytes(4, "little") + data[12:])
    with pytest.raises(LanguageModelError, match="version 9"):
        NGramLM.load(tmp_path / "v9.bin")


def test_tokenize():
    assert tokenize("  北京  大学 ") == ["北", "京", " ", "大", "学"]
    assert tokenize("Hello, world 北京", word_tokens=True) == \
        ["Hello", ",", " ", "world", " ", "北", "京"]


def test_cli_build_and_score(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    out = tmp_path / "lm.bin"
    assert main(["build", "--text", str(text), "--order", "3", "--out", str(out)]) == 0
    assert NGramLM.load(out).order == 3
    assert main(["score", "--lm", str(out), "--text", str(text)]) == 0
    assert "perplexity" in capsys.readouterr().out
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["build", "--text", str(empty), "--out", str(tmp_path / "x.bin")]) == 1
    assert "no tokens" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["build", "--help"])
    assert exc.value.code == 0
    assert "crnn lm build --text" in capsys.readouterr().out


def _unsure_hello(cs: Charset) -> np.ndarray:
    """Log-probabilities of "hell?" whose last letter the model rates o 0.45, d 0.5."""
    k = cs.num_classes
    frames = []
    for ch in "hellp":
        row = [0.01] * k
        if ch == "p":
            row[cs.index("o")], row[cs.index("d")] = 0.45, 0.5
        else:
            row[cs.index(ch)] = 0.9
        frames += [row, [0.9] + [0.01] * (k - 1)]
    return np.log(np.array(frames) / np.array(frames).sum(1, keepdims=True))[:, None, :]


def test_word_token_model_scores_latin_words_whole(tmp_path):
    cs = Charset.from_string("helowrd ")
    lm = NGramLM.build(["hello world", "hello", "world hello"] * 3, 3, word_tokens=True)
    path = tmp_path / "w.bin"
    lm.save(path)
    m = _unsure_hello(cs)
    plain = build_decoder(DecoderConfig(kind="beam"), cs)(m.astype(np.float32))[0]
    assert plain.text == "helld"
    fused = build_decoder(DecoderConfig(kind="beam", lm=str(path), lm_weight=1.0), cs)(
        m.astype(np.float32))[0]
    assert fused.text == "hello"


@pytest.mark.parametrize("order", [2, 3, 4])
def test_pruned_model_is_smaller_and_still_sums_to_one(order):
    """--min-count drops the rare n-grams; the remaining contexts' backoff weights are
    computed again, so every distribution still sums to one, and the text the model was
    built from stays far likelier than its reverse."""
    lines = CORPUS + ["北京天气", "天气很好", "大学生活"]
    full = NGramLM.build(lines, order)
    pruned = NGramLM.build(lines, order, min_count=2)
    assert len(pruned.keys) < len(full.keys)
    assert int(pruned.per_order[0]) == int(full.per_order[0])  # unigrams all kept
    toks = np.array([t for t in range(pruned.vocab_size) if t != BOS])
    for text in ["北京大", "天气很", "hello", "xyz"]:
        s = pruned.start_state()
        for ch in text:
            lp, _ = pruned.score(np.full(len(toks), s), toks)
            assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-5), (text, ch)
            _, n = pruned.score(np.array([s]), np.array([pruned.token_id(ch)]))
            s = int(n[0])
    assert pruned.sentence_logprob("北京大学")[0] > pruned.sentence_logprob("学大京北")[0] + 3
    # n-grams seen at least twice keep their probability
    for text in ["北京", "北京大"]:
        assert pruned.sentence_logprob(text)[0] == pytest.approx(
            full.sentence_logprob(text)[0], abs=0.5)
    with pytest.raises(LanguageModelError, match="min-count"):
        NGramLM.build(lines, order, min_count=0)


def test_cli_min_count(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    for n in (1, 3):
        assert main(["build", "--text", str(text), "--order", "3", "--min-count", str(n),
                     "--out", str(tmp_path / f"m{n}.bin")]) == 0
    assert (tmp_path / "m3.bin").stat().st_size < (tmp_path / "m1.bin").stat().st_size


def test_search_below_keeps_sure_lines_on_the_best_path(tmp_path):
    """DecoderConfig.search_below: only lines whose best path is at most that sure are
    searched (with the language model); a surer line keeps its best path."""
    cs = Charset.from_string("helowrd ")
    path = tmp_path / "w.bin"
    NGramLM.build(["hello world", "hello", "world hello"] * 3, 3).save(path)
    m = _unsure_hello(cs).astype(np.float32)
    batch = np.concatenate([m, m], axis=1)
    for below, want in ((1.0, "hello"), (0.6, "hello"), (0.3, "helld")):
        cfg = DecoderConfig(kind="beam", lm=str(path), lm_weight=1.0, search_below=below)
        assert [d.text for d in build_decoder(cfg, cs)(batch)] == [want, want], below
    with pytest.raises(ConfigError, match="search_below"):
        DecoderConfig(kind="beam", search_below=1.5)


def test_mostly_latin_lines_have_a_search_threshold_of_their_own(tmp_path):
    """DecoderConfig.search_latin_below: a line whose best path reads as mostly Latin is
    searched when at most that sure, whatever search_below says; other lines follow
    search_below; None leaves every line to search_below."""
    cs = Charset.from_string("helowrd 北京")
    path = tmp_path / "w.bin"
    NGramLM.build(["hello world", "hello", "world hello"] * 3, 3).save(path)
    m = _unsure_hello(cs).astype(np.float32)
    for below, latin, want in ((0.3, 1.0, "hello"), (1.0, 0.3, "helld"), (0.3, None, "helld"),
                               (1.0, None, "hello")):
        cfg = DecoderConfig(kind="beam", lm=str(path), lm_weight=1.0, search_below=below,
                            search_latin_below=latin)
        assert build_decoder(cfg, cs)(m)[0].text == want, (below, latin)
    for bad in (1.5, -0.1, True):
        with pytest.raises(ConfigError, match="search_latin_below"):
            DecoderConfig(kind="beam", search_latin_below=bad)


def test_unsure_lines_of_many_batches_are_searched_together_as_one_by_one(tmp_path):
    """BeamDecoder.decode_batches gathers the unsure lines of every batch (each cut to the
    classes its search can reach) and searches them together: the same readings,
    scores and character probabilities as decoding each batch on its own."""
    cs = Charset.from_string("helowrd ")
    path = tmp_path / "w.bin"
    NGramLM.build(["hello world", "hello", "world hello", "old owl"] * 3, 3).save(path)
    rng = np.random.default_rng(7)
    batches = []
    for t, n in ((9, 3), (14, 5), (6, 2), (11, 1)):
        x = rng.normal(0.0, 2.0, (t, n, cs.num_classes)).astype(np.float32)
        x[:, :, 0] += rng.uniform(-1.0, 3.0, (t, n)).astype(np.float32)  # blanks between
        sure = rng.integers(0, cs.num_classes, (t, n))
        x[np.arange(t)[:, None], np.arange(n), sure] += np.where(np.arange(n) % 2, 12.0, 0.0)
        batches.append((x, rng.integers(max(1, t - 4), t + 1, n)))
    for below in (0.5, 0.95):
        cfg = DecoderConfig(kind="beam", lm=str(path), lm_weight=0.8, length_bonus=0.5,
                            search_below=below, n_best=3)
        dec = build_decoder(cfg, cs)
        one_by_one = [dec(x, n) for x, n in batches]
        together = dec.decode_batches(iter(batches))
        searched = 0
        for a, b in zip(one_by_one, together, strict=True):
            assert len(a) == len(b)
            for u, v in zip(a, b, strict=True):
                assert u.text == v.text and u.confidence == pytest.approx(v.confidence)
                assert [t for t, _ in u.alternatives] == [t for t, _ in v.alternatives]
                assert [s for _, s in u.alternatives] == pytest.approx(
                    [s for _, s in v.alternatives], abs=1e-4)
                assert u.char_probs == pytest.approx(v.char_probs)
                searched += bool(u.alternatives)
        assert 0 < searched < sum(x.shape[1] for x, _ in batches)
    greedy = build_decoder(DecoderConfig(), cs)
    assert [[d.text for d in b] for b in greedy.decode_batches(batches)] == \
        [[d.text for d in greedy(x, n)] for x, n in batches]


def test_a_model_reads_unsure_lines_with_its_own_language_model(tmp_path):
    """M.lm.bin beside M.pt and a policy with lm_weight > 0 (stored by crnn export --lm):
    asked to (fuse_lm, --fuse-lm), the recogniser fuses the language model into unsure
    lines; by default, or with explicit decoder options, it reads by the best path; asked
    to without the file beside the model, it says so."""
    from crnn.architecture import ModelConfig
    from crnn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from crnn.cli import main as crnn_main
    from crnn.data.images import Preprocess
    from crnn.errors import CheckpointError
    from crnn.model import CRNN
    from crnn.reading import ReadingPolicy
    from crnn.recognizer import Recognizer, language_model_beside

    cs = Charset.from_string("helowrd ")
    text = tmp_path / "text.txt"
    text.write_text("hello world\nhello\nworld hello\n" * 3, encoding="utf-8")
    assert main(["build", "--text", str(text), "--order", "3", "--out",
                 str(tmp_path / "w.bin")]) == 0
    cfg = ModelConfig(num_classes=cs.num_classes, cnn_channels=[8, 8, 16, 16, 16, 16, 16],
                      hidden=8, n_rnn=1)
    save_checkpoint(Checkpoint(cfg, cs, Preprocess(), CRNN(cfg).state_dict()),
                    tmp_path / "m.pt")
    assert crnn_main(["export", "--model", str(tmp_path / "m.pt"), "--format", "fp16",
                      "--lm", str(tmp_path / "w.bin"), "--lm-weight", "1", "--lm-bonus",
                      "0.5", "--lm-below", "0.9", "--out", str(tmp_path / "e.pt")]) == 0
    assert language_model_beside(tmp_path / "e.pt") == tmp_path / "e.lm.bin"
    assert crnn_main(["export", "--model", str(tmp_path / "e.pt"), "--format", "fp16",
                      "--lm", str(tmp_path / "w.bin"), "--lm-latin-below", "1",
                      "--out", str(tmp_path / "latin.pt")]) == 0
    assert load_checkpoint(tmp_path / "latin.pt").reading == ReadingPolicy(
        lm_weight=1.0, lm_bonus=0.5, lm_below=0.9, lm_latin_below=1.0)
    assert Recognizer.load(tmp_path / "latin.pt", fuse_lm=True).decoder_config \
        .search_latin_below == 1.0
    assert load_checkpoint(tmp_path / "e.pt").reading == ReadingPolicy(
        lm_weight=1.0, lm_bonus=0.5, lm_below=0.9)
    logits = _unsure_hello(cs).astype(np.float32)
    line = [np.zeros((32, 40), np.uint8)]

    def read(model, **kw):
        rec = Recognizer.load(model, device="cpu", backend="torch", **kw)
        rec.logits = lambda batch: logits.copy()
        return rec.recognize_arrays(line)[0].text

    assert read(tmp_path / "e.pt", fuse_lm=True) == "hello"
    assert read(tmp_path / "e.pt") == "hello"  # by default, with the file beside it
    assert read(tmp_path / "e.pt", fuse_lm=False) == "helld"
    assert read(tmp_path / "e.pt", decoder=DecoderConfig()) == "helld"
    assert read(tmp_path / "e.pt", fuse_lm=True, decoder=DecoderConfig()) == "helld"
    (tmp_path / "e.lm.bin").unlink()
    assert read(tmp_path / "e.pt") == "helld"  # none beside it: the best path
    with pytest.raises(CheckpointError, match=r"e\.lm\.bin"):
        read(tmp_path / "e.pt", fuse_lm=True)
    assert crnn_main(["export", "--model", str(tmp_path / "m.pt"), "--format", "fp16",
                      "--lm", str(text), "--out", str(tmp_path / "x.pt")]) != 0
    assert crnn_main(["export", "--model", str(tmp_path / "m.pt"), "--format", "fp16",
                      "--lm", str(tmp_path / "w.bin"), "--out", str(tmp_path / "y.pt")]) == 0
    with pytest.raises(CheckpointError, match="lm-weight"):
        read(tmp_path / "y.pt", fuse_lm=True)
    assert read(tmp_path / "y.pt") == "helld"  # a file, but no weight stored: not used
    from crnn.cli import build_parser

    for flags, want in (([], None), (["--fuse-lm"], True), (["--no-fuse-lm"], False)):
        for cmd in (["predict", "x.png"], ["eval", "--data", "v.lmdb"], ["ocr", "p.png"]):
            assert build_parser().parse_args(cmd + flags).fuse_lm is want, (cmd, flags)

"""Decoders on hand-made probability matrices: known answers, brute force, edge cases."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from crnn.charset import Charset
from crnn.decoding.ctc import (
    Decoded,
    best_and_normalizer,
    ctc_align,
    ctc_log_likelihood,
    greedy_decode,
    log_normalizer,
    log_softmax,
    prefix_beam_search,
)
from crnn.decoding.decoders import (
    ALLOW_PRESETS,
    DecoderConfig,
    LexiconDecoder,
    build_decoder,
    resolve_allowed,
)
from crnn.decoding.lexicon import BKTree, Lexicon, LexiconError
from crnn.decoding.lm import NGramLM
from crnn.errors import ConfigError

AB = Charset.from_string("ab")


def probs(rows: list[list[float]]) -> np.ndarray:
    """Per-frame probabilities ``(T, K)`` -> log-probabilities ``(T, 1, K)``."""
    p = np.asarray(rows, dtype=np.float64)
    return np.log(p / p.sum(axis=1, keepdims=True))[:, None, :].astype(np.float32)


def labelings(lp: np.ndarray) -> dict[tuple[int, ...], float]:
    """Every labeling of a ``(T, K)`` log-probability matrix with its log-probability,
    by enumerating all K**T alignments."""
    t, k = lp.shape
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(k), repeat=t):
        lab = tuple(c for i, c in enumerate(path) if c and (i == 0 or path[i - 1] != c))
        out[lab] = np.logaddexp(out.get(lab, -np.inf), sum(lp[i, c] for i, c in enumerate(path)))
    return out


def dec(kind: str = "greedy", charset: Charset = AB, **kw):
    return build_decoder(DecoderConfig(kind=kind, **kw), charset)


# ------------------------------------------------------------------------------ greedy
@pytest.mark.parametrize("kind", ["greedy", "beam"])
@pytest.mark.parametrize("path,text", [
    ([1, 0, 1], "aa"),          # repeated character separated by a blank
    ([1, 1, 1], "a"),
    ([0, 0, 0, 0], ""),         # all blank
    ([2, 0, 2, 2, 1], "bba"),
])
def test_known_answers(kind, path, text):
    m = np.full((len(path), 3), 0.02)
    m[np.arange(len(path)), path] = 0.96
    out = dec(kind, beam_width=4)(probs(m.tolist()))[0]
    assert out.text == text
    assert len(out.char_probs) == len(text)
    if text:
        assert out.confidence == pytest.approx(0.96 / 1.0, rel=1e-4)
    else:
        assert out.confidence == pytest.approx(0.96, rel=1e-4)  # mean blank probability


def test_greedy_decode_matches_log_softmax_reference():
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((9, 3, 6)) * 4).astype(np.float32)
    out = greedy_decode(logits, Charset.from_string("abcde"), lengths=np.array([9, 5, 0]))
    ref = log_softmax(logits, axis=2)
    for i, d in enumerate(out):
        t = [9, 5, 0][i]
        best = ref[:t, i].argmax(1)
        if t == 0:
            assert d == Decoded("", 0.0, ())
            continue
        assert d.text == Charset.from_string("abcde").decode(
            [c for j, c in enumerate(best) if c and (j == 0 or best[j - 1] != c)])
        assert max(d.char_probs) <= np.exp(ref[:t, i].max()) + 1e-6
    assert np.allclose(log_normalizer(logits), np.log(np.exp(logits).sum(2)), atol=1e-5)


def test_best_and_normalizer_in_one_sweep_over_many_blocks():
    # 40 x 8 x 5,000 scores: more than one cache block, so the threads share the sweep
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((40, 8, 5000)) * 3).astype(np.float32)
    x[5, 2, 17] = x[5, 2, 4000] = 50.0  # a tie: the first class wins, as argmax says
    best, lse = best_and_normalizer(x)
    assert best.dtype == np.int64 and (best == x.argmax(axis=2)).all()
    ref = np.log(np.exp(x.astype(np.float64)).sum(axis=2))
    assert np.allclose(lse, ref, rtol=0, atol=1e-4) and lse.dtype == np.float32
    assert best[5, 2] == 17
    assert (log_normalizer(x) == lse).all()


def test_tie_goes_to_the_first_class():
    m = probs([[0.1, 0.45, 0.45]])
    assert dec()(m)[0].text == "a"
    out = dec("beam", beam_width=3, n_best=2)(m)[0]
    assert {t for t, _ in out.alternatives} == {"a", "b"}
    assert [s for _, s in out.alternatives] == pytest.approx([math.log(0.45)] * 2)


# ------------------------------------------------------------------------------ beam
def test_beam_sums_alignments_where_greedy_cannot():
    # best path is blank-blank (0.36), but "a" has 0.24 + 0.24 + 0.16 = 0.64
    m = probs([[0.6, 0.4], [0.6, 0.4]])
    cs = Charset.from_string("a")
    assert dec(charset=cs)(m)[0].text == ""
    out = dec("beam", charset=cs, beam_width=2, n_best=2)(m)[0]
    assert out.text == "a"
    assert out.alternatives[0][1] == pytest.approx(math.log(0.64))
    assert out.alternatives[1] == ("", pytest.approx(math.log(0.36)))
    assert out.char_probs == pytest.approx((0.4,))


@pytest.mark.parametrize("seed", range(6))
def test_beam_scores_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    lp = log_softmax(rng.standard_normal((4, 3)) * 2, axis=1)
    truth = labelings(lp)
    ranked = sorted(truth.items(), key=lambda kv: -kv[1])
    out = dec("beam", beam_width=20, n_best=len(truth), prune_prob=0.0)(
        lp[:, None, :].astype(np.float32))[0]
    assert len(out.alternatives) == len(truth)
    for text, score in out.alternatives:
        classes = tuple(AB.index(ch) for ch in text)
        assert score == pytest.approx(truth[classes], abs=1e-5)
    assert out.alternatives[0][1] == pytest.approx(ranked[0][1], abs=1e-5)
    # the forward algorithm agrees too
    targets = list(truth)
    assert ctc_log_likelihood(lp, targets, is_log_probs=True) == pytest.approx(
        [truth[t] for t in targets], abs=1e-5)


def test_raw_beam_scores_are_exact_without_pruning():
    rng = np.random.default_rng(7)
    lp = log_softmax(rng.standard_normal((4, 3)) * 2, axis=1)
    truth = labelings(lp)
    x = lp[:, None, :].astype(np.float32)
    hyps = prefix_beam_search(x, log_normalizer(x), None, beam_width=50, prune=0.0)[0]
    assert len(hyps) == len(truth)
    for h in hyps:
        assert h.ctc_score == pytest.approx(truth[h.classes], abs=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_is_greedy(seed):
    rng = np.random.default_rng(seed)
    cs = Charset.from_string("abcdef")
    logits = (rng.standard_normal((12, 4, 7)) * 2).astype(np.float32)  # flat: they differ
    lengths = np.array([12, 7, 1, 0])
    g = greedy_decode(logits, cs, lengths)
    b = dec("beam", charset=cs, beam_width=1)(logits, lengths)
    assert [d.text for d in b] == [d.text for d in g]
    assert [d.char_probs for d in b] == [pytest.approx(d.char_probs) for d in g]
    assert [d.confidence for d in b] == pytest.approx([d.confidence for d in g])


def test_beam_batch_equals_one_line_at_a_time_and_ignores_padding():
    rng = np.random.default_rng(3)
    cs = Charset.from_string("abcdefghij")
    logits = (rng.standard_normal((20, 3, 11)) * 3).astype(np.float32)
    lengths = np.array([20, 9, 14])
    d = dec("beam", charset=cs, beam_width=6, n_best=3)
    batch = d(logits, lengths)
    for i in range(3):
        one = d(logits[: lengths[i], i : i + 1])[0]
        assert [t for t, _ in batch[i].alternatives] == [t for t, _ in one.alternatives]
        assert [s for _, s in batch[i].alternatives] == pytest.approx(
            [s for _, s in one.alternatives])


def test_ctc_align_reports_greedy_char_probs():
    m = probs([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])[:, 0]
    logp, char_p, path = ctc_align(m, [1, 2], is_log_probs=True)
    assert char_p == pytest.approx((0.8, 0.8))
    assert logp == pytest.approx(math.log(0.8 * 0.8 * 0.6))
    assert path.tolist() == [1, 3, 3]


def test_target_too_long_for_frames_is_impossible():
    m = probs([[0.3, 0.7], [0.3, 0.7]])[:, 0]
    ll = ctc_log_likelihood(m, [[1, 1], [1, 1, 1], [1]], is_log_probs=True)
    assert ll[0] == -np.inf  # "aa" needs a blank between: 3 frames
    assert ll[1] == -np.inf
    assert np.isfinite(ll[2])


# ------------------------------------------------------------------------------ allow
@pytest.mark.parametrize("kind", ["greedy", "beam"])
def test_character_not_allowed_is_never_emitted(kind):
    m = probs([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]])  # reads "a"
    assert dec(kind)(m)[0].text == "a"
    out = dec(kind, allow="b", beam_width=3)(m)[0]
    assert out.text == "b"
    assert out.char_probs == pytest.approx((0.2 / 0.3,), rel=1e-5)  # renormalised


def test_allow_never_removes_the_blank():
    m = probs([[0.9, 0.05, 0.05]])
    assert dec("beam", allow="a")(m)[0].text == ""


def test_allow_presets_and_literals():
    assert resolve_allowed("digits") == "0123456789"
    assert set(resolve_allowed("date")) == set("0123456789-./ 年月日〇零一二三四五六七八九十")
    assert set(resolve_allowed("phone")) == set("0123456789-+() ")
    assert resolve_allowed("id") == "0123456789X"
    assert resolve_allowed("latin+digits") == ALLOW_PRESETS["latin"] + "0123456789"
    assert resolve_allowed("chars:id") == "id"
    assert resolve_allowed("0123-") == "0123-"
    cs = Charset.preset("ascii")
    logits = np.zeros((3, 1, cs.num_classes), np.float32)
    logits[:, 0, cs.index("O")] = 5.0  # an O where a 0 belongs
    logits[1, 0, 0] = 9.0
    logits[:, 0, cs.index("0")] = 4.0
    assert build_decoder(DecoderConfig(), cs)(logits)[0].text == "OO"
    assert build_decoder(DecoderConfig(allow="digits"), cs)(logits)[0].text == "00"
    with pytest.raises(ConfigError, match="none of its characters"):
        build_decoder(DecoderConfig(allow="年月"), cs)
    with pytest.warns(UserWarning, match="not in charset"):
        build_decoder(DecoderConfig(allow="09年"), cs)


# ------------------------------------------------------------------------------ lexicon
def write(tmp_path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_lexicon_picks_the_most_probable_entry(tmp_path):
    cs = Charset.from_string("abc")
    # greedy reads "ab?": frame 3 is unsure between c and blank
    m = probs([[0.1, 0.8, 0.05, 0.05], [0.1, 0.05, 0.8, 0.05],
               [0.5, 0.05, 0.05, 0.4], [0.9, 0.03, 0.03, 0.04]])
    assert dec(charset=cs)(m)[0].text == "ab"
    lex = write(tmp_path, "lex.txt", "abc\ncab\naaa\n")
    out = dec("lexicon", charset=cs, lexicon=lex, n_best=3)(m)[0]
    assert out.text == "abc"
    expected = ctc_log_likelihood(m[:, 0], [[1, 2, 3], [3, 1, 2], [1, 1, 1]], is_log_probs=True)
    assert [s for _, s in out.alternatives] == pytest.approx(sorted(expected[:2], reverse=True))
    assert expected[2] == -np.inf  # "aaa" needs 5 frames: never offered
    assert [t for t, _ in out.alternatives] == ["abc", "cab"]
    assert len(out.char_probs) == 3


def test_lexicon_skips_entries_outside_the_charset(tmp_path):
    lex = write(tmp_path, "lex.txt", "ab\n\nxyz\nab\nba\n")
    with pytest.warns(UserWarning, match="skipped 1 of 4"):
        d = dec("lexicon", lexicon=lex)
    assert d.lexicon.entries == ("ab", "ba")
    assert d.lexicon.skipped[0].entry == "xyz" and d.lexicon.skipped[0].line == 3


def test_lexicon_entries_outside_allow_are_skipped(tmp_path):
    lex = write(tmp_path, "lex.txt", "ab\nbb\n")
    with pytest.warns(UserWarning, match="skipped 1"):
        d = dec("lexicon", lexicon=lex, allow="b")
    m = probs([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    assert d(m)[0].text == "bb"


def test_empty_lexicon_is_a_clear_error(tmp_path):
    with pytest.raises(LexiconError, match="no entries"):
        dec("lexicon", lexicon=write(tmp_path, "empty.txt", "\n  \n"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(LexiconError, match="outside charset"):
            dec("lexicon", lexicon=write(tmp_path, "bad.txt", "xyz\n"))
    with pytest.raises(LexiconError, match="cannot read"):
        dec("lexicon", lexicon=str(tmp_path / "missing.txt"))


def test_bk_tree_finds_exactly_the_near_words():
    rng = np.random.default_rng(0)
    words = list(dict.fromkeys("".join(rng.choice(list("abcd"), size=rng.integers(1, 7)))
                               for _ in range(400)))
    tree = BKTree(words)
    for q in ["abc", "dddd", "a", "bacdab"]:
        for d in (0, 1, 2):
            want = sorted((Levenshtein.distance(q, w), i) for i, w in enumerate(words)
                          if Levenshtein.distance(q, w) <= d)
            assert tree.search(q, d) == want
        dists = sorted((Levenshtein.distance(q, w), i) for i, w in enumerate(words))
        assert tree.nearest(q, 5) == dists[:5]


def test_large_lexicon_search_agrees_with_full_search():
    rng = np.random.default_rng(1)
    cs = Charset.from_string("abcdefgh")
    words = list(dict.fromkeys("".join(rng.choice(list("abcdefgh"), size=rng.integers(2, 6)))
                               for _ in range(300)))
    full = Lexicon(words, cs, full_search_max=10_000)
    tree = Lexicon(words, cs, full_search_max=8, index="bktree")
    scan = Lexicon(words, cs, full_search_max=8, index="scan")
    for q, d in [("abc", 2), (words[9][:-1], 1), (words[5], 0)]:
        near = [i for i, w in enumerate(words) if Levenshtein.distance(q, w) <= d]
        assert near
        assert sorted(tree.candidates(q, d)) == sorted(scan.candidates(q, d)) == near
    assert tree.candidates("zzzzzzzz", 0) == scan.candidates("zzzzzzzz", 0)  # nothing near:
    assert len(scan.candidates("zzzzzzzz", 0)) == Lexicon.NEAREST  # the nearest few
    capped = Lexicon(words, cs, full_search_max=8, max_candidates=5)
    assert capped.candidates("abc", 3) == scan.candidates("abc", 3)[:5]
    target = cs.encode(words[17])
    m = np.full((12, 9), 0.01)
    path = [0] * 12
    for i, c in enumerate(target):
        path[2 * i + 1] = c
    m[np.arange(12), path] = 0.9
    x = probs(m.tolist())
    cfg = DecoderConfig(kind="lexicon", lexicon="(given)")
    for lex in (full, tree, scan):
        assert LexiconDecoder(cfg, cs, lexicon=lex)(x)[0].text == words[17]


# ------------------------------------------------------------------------------ LM fusion
def test_language_model_breaks_a_close_call(tmp_path):
    cs = Charset.from_string("北京大学太")
    lm = NGramLM.build(["北京大学", "北京大学录取", "大学"] * 5, order=3)
    path = str(tmp_path / "lm.bin")
    lm.save(path)
    k = cs.num_classes
    frames = []
    for ch in "北京":
        row = [0.02] * k
        row[cs.index(ch)] = 0.9
        frames += [row, [0.9] + [0.02] * (k - 1)]
    row = [0.02] * k
    row[cs.index("太")], row[cs.index("大")] = 0.5, 0.4  # the image slightly says 太
    frames += [row, [0.9] + [0.02] * (k - 1)]
    row = [0.02] * k
    row[cs.index("学")] = 0.9
    frames.append(row)
    m = probs(frames)
    assert dec("beam", charset=cs)(m)[0].text == "北京太学"
    fused = dec("beam", charset=cs, lm=path, lm_weight=1.0)(m)[0]
    assert fused.text == "北京大学"
    ctc_only = ctc_log_likelihood(m[:, 0], [cs.encode("北京大学")], is_log_probs=True)[0]
    lm_lp = lm.sentence_logprob("北京大学")[0]
    assert fused.alternatives[0][1] == pytest.approx(ctc_only + lm_lp, abs=1e-4)
    bonus = dec("beam", charset=cs, lm=path, lm_weight=1.0, length_bonus=0.5)(m)[0]
    assert bonus.alternatives[0][1] == pytest.approx(ctc_only + lm_lp + 2.0, abs=1e-4)


def test_length_bonus_without_lm_favours_longer_readings():
    cs = Charset.from_string("a")
    m = probs([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    assert dec("beam", charset=cs, beam_width=4)(m)[0].text == "a"
    assert dec("beam", charset=cs, beam_width=4, length_bonus=3.0)(m)[0].text == "aa"


# ------------------------------------------------------------------------------ config
def test_config_round_trip_and_validation():
    cfg = DecoderConfig(kind="beam", beam_width=8, n_best=3, allow="digits", lm_weight=0.3)
    assert DecoderConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown decoder option"):
        DecoderConfig.from_dict({"kind": "beam", "width": 3})
    for bad in [dict(kind="viterbi"), dict(beam_width=0), dict(kind="beam", n_best=11),
                dict(kind="lexicon"), dict(lexicon="x.txt"), dict(lm="lm.bin"),
                dict(lm_weight=-1.0), dict(length_bonus=float("nan")), dict(allow=""),
                dict(beam_width=True), dict(prune_prob=1.0)]:
        with pytest.raises(ConfigError):
            DecoderConfig(**bad)


@pytest.mark.parametrize("kind", ["greedy", "beam", "lexicon"])
def test_empty_batches_and_lines(kind, tmp_path):
    kw = {"lexicon": write(tmp_path, "lex.txt", "ab\n")} if kind == "lexicon" else {}
    d = dec(kind, **kw)
    assert d(np.zeros((5, 0, 3), np.float32)) == []
    out = d(np.zeros((0, 2, 3), np.float32))
    assert [o.text for o in out] == ["", ""]
    out = d(np.zeros((4, 2, 3), np.float32), lengths=np.array([0, 4]))
    assert out[0].text == "" and out[0].confidence == 0.0


def test_wrong_class_count_is_an_error():
    with pytest.raises(ValueError, match="classes"):
        dec()(np.zeros((3, 1, 5), np.float32))


def test_decoded_stays_compatible():
    d = Decoded("ab", 0.5, (0.5, 0.9))
    assert d.alternatives == ()

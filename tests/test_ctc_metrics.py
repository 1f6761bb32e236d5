import numpy as np
import pytest

from crnn.charset import Charset
from crnn.decoding.ctc import collapse, greedy_decode
from crnn.metrics import Score, TextNormalizer

CS = Charset.from_string("ab")


def one_hot(path, k=3, p=0.9):
    """(T, 1, K) log-probabilities whose best path is ``path``."""
    t = len(path)
    m = np.full((t, 1, k), (1 - p) / (k - 1))
    for i, c in enumerate(path):
        m[i, 0, c] = p
    return np.log(m)


@pytest.mark.parametrize("path,text", [
    ([1, 1, 0, 1], "aa"),
    ([1, 1, 1], "a"),
    ([0, 0, 0], ""),
    ([1, 2, 2, 0, 2, 1], "abba"),
    ([0, 1, 0, 0, 2, 0], "ab"),
])
def test_greedy_known_answers(path, text):
    d = greedy_decode(one_hot(path), CS, is_log_probs=True)[0]
    assert d.text == text
    assert len(d.char_probs) == len(text)
    assert d.confidence == pytest.approx(0.9, abs=1e-6)


def test_greedy_respects_lengths_and_logits():
    logits = np.zeros((4, 2, 3), dtype=np.float32)
    logits[:, 0, 1] = 5  # line 0: a a a a -> "a"
    logits[0, 1, 2] = 5  # line 1: b, then padding frames saying "a"
    logits[1:, 1, 1] = 5
    out = greedy_decode(logits, CS, lengths=np.array([4, 1]))
    assert [d.text for d in out] == ["a", "b"]
    assert 0 < out[0].confidence < 1


def test_confidence_is_lowest_character_probability():
    m = np.log(np.array([[[0.1, 0.8, 0.1]], [[0.1, 0.1, 0.8]], [[0.2, 0.2, 0.6]]]))
    d = greedy_decode(m, CS, is_log_probs=True)[0]
    assert d.text == "ab"
    assert d.char_probs == pytest.approx((0.8, 0.8))  # b's best frame is 0.8, not 0.6
    assert d.confidence == pytest.approx(0.8)


def test_collapse():
    classes, frames = collapse(np.array([0, 3, 3, 0, 3, 2, 2]))
    assert classes.tolist() == [3, 3, 2]
    assert frames.tolist() == [1, 4, 5]


def test_score():
    s = Score()
    s.add("abc", "abc")
    s.add("abd", "abc")
    s.add("", "ab")
    assert s.accuracy == pytest.approx(1 / 3)
    assert s.cer == pytest.approx(3 / 8)
    assert s.ned == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_normalizer():
    n = TextNormalizer(ignore_space=True, ignore_case=True, nfkc=True)
    assert n("ＡＢ １c") == "ab1c"
    s = Score(n)
    assert s.add("AB 1", "ａｂ１")

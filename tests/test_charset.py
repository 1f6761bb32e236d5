from pathlib import Path

import pytest

from crnn.charset import Charset
from crnn.errors import CharsetError

FORMATS = Path(__file__).resolve().parents[2] / "shared" / "formats"
VERIFIED = [89, 201, 241, 178, 19, 94, 19, 22, 26, 656]


@pytest.mark.parametrize("name", ["char_std_5990.utf8.txt", "char_std_5990.gb18030.txt"])
def test_real_charset_files_decode_verified_line(name):
    path = FORMATS / name
    if not path.exists():
        pytest.skip(f"{path} not present (needs ../shared beside the repo)")
    with pytest.warns(UserWarning) if "utf8" in name else _no_warning():
        cs = Charset.from_file(path)
    assert cs.decode_lines(VERIFIED) == "军（西点1912年班"
    assert len(cs.line_to_class) == 5990


def test_utf8_file_duplicates_keep_line_mapping():
    path = FORMATS / "char_std_5990.utf8.txt"
    if not path.exists():
        pytest.skip("shared formats missing")
    with pytest.warns(UserWarning, match="duplicate"):
        cs = Charset.from_file(path)
    assert len(cs) == 5984  # 1, 3, ■, 荼, 崂 twice each
    # lines 5565 and 5745 repeat '1' and '3': both map to the same class as the first
    assert cs.decode_lines([5565, 5745]) == "13"


def test_gb18030_file_keeps_private_use_characters():
    path = FORMATS / "char_std_5990.gb18030.txt"
    if not path.exists():
        pytest.skip("shared formats missing")
    cs = Charset.from_file(path)
    assert len(cs) == 5989
    assert cs.decode_lines([4105]) == "\ue004"  # not silently dropped
    assert cs.decode_lines([5565, 5745]) == "⒈⒊"


def _no_warning():
    import contextlib
    return contextlib.nullcontext()


def test_blank_placeholder_and_space(tmp_path):
    p = tmp_path / "cs.txt"
    p.write_text("blank\na\n \nb\n", encoding="utf-8")
    cs = Charset.from_file(p)
    assert cs.chars == ("a", " ", "b")
    assert cs.encode("a b") == [1, 2, 3]
    p.write_text(" \nx\ny\n", encoding="utf-8")
    assert Charset.from_file(p).chars == ("x", "y")


def test_gbk_file_detected(tmp_path):
    p = tmp_path / "gbk.txt"
    p.write_bytes("blank\n中\n文\n".encode("gbk"))
    assert Charset.from_file(p).chars == ("中", "文")


def test_undecodable_file_is_an_error(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"blank\n\xff\xff\xff\n")
    with pytest.raises(CharsetError, match="neither UTF-8 nor GBK"):
        Charset.from_file(p)


def test_presets():
    assert Charset.preset("digits").chars == tuple("0123456789")
    ascii_cs = Charset.preset("ascii")
    assert len(ascii_cs) == 95 and " " in ascii_cs
    zh = Charset.preset("zh")
    for ch in "—·〇～，。军西点年班ＡＢ１":
        assert ch in zh, ch
    assert "\u30fb" not in zh  # gb2312 codec oddity normalised to U+00B7
    for ch in "榖翙萚":  # beyond GB2312, in the 通用规范汉字表 (2013)
        assert ch in zh, ch
    assert 9000 < len(zh) < 9300
    assert len(Charset.preset("zh-large")) > 20000
    big5 = Charset.preset("big5")  # Big5's 5,401 frequent and 7,652 less frequent hanzi
    assert len(big5) == 13053 and big5.chars[:3] == ("一", "乙", "丁")
    for ch in "穀虯騑玁臺灣們":
        assert ch in big5, ch
    assert "あ" not in big5 and "，" not in big5  # kana and punctuation of its other rows


def test_encode_policies():
    cs = Charset.from_string("abc")
    assert cs.encode("cab") == [3, 1, 2]
    with pytest.raises(CharsetError, match=r"'x'.*sample 7"):
        cs.encode("axb", where="sample 7")
    assert cs.encode("axb", oov="skip-sample") is None
    assert cs.encode("axb", oov="drop-char") == [1, 2]
    assert cs.decode([0, 1, 0, 3]) == "ac"
    assert cs.missing("axbyx") == ["x", "y"]


def test_resolve_and_roundtrip(tmp_path):
    assert len(Charset.resolve("chars:xyz")) == 3
    with pytest.raises(CharsetError, match="unknown charset"):
        Charset.resolve("no-such-thing")
    cs = Charset.preset("ascii")
    assert Charset.from_dict(cs.to_dict()) == cs

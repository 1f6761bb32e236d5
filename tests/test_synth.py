"""crnn synth: fonts, text sources, rendering, determinism, outputs and the command line."""

from __future__ import annotations

import pickle
import random
import re
from collections import Counter
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import features

from crnn.charset import Charset
from crnn.data.lmdb import LmdbReader
from crnn.errors import ConfigError
from crnn.synth import fields
from crnn.synth import words as lx
from crnn.synth.cli import main
from crnn.synth.config import load_synth_config
from crnn.synth.fonts import FontSet, find_font_files, scan_faces
from crnn.synth.generate import iter_encoded
from crnn.synth.online import SynthDataset
from crnn.synth.render import FontCache, LineStyle, _units, text_mask
from crnn.synth.synthesizer import Synthesizer, build_spec, fonts_for, parse_size
from crnn.synth.text import CoverageSchedule, TextSampler, clip_em, pseudo_word

# Renders without any random effect: flat paper, fixed ink, no geometry or degradation.
CLEAN = {
    "colors": {"paper": [255, 255], "ink": [0, 0], "opacity": [1.0, 1.0], "invert_p": 0.0},
    "background": {"flat": 1.0, "gradient": 0.0, "paper": 0.0},
    "degrade": {name: {"p": 0.0} for name in
                ("stretch", "rotate", "perspective", "shear", "light", "blur", "resample",
                 "noise", "jpeg")},
}


@cache
def _faces():
    return tuple(scan_faces(find_font_files()))


@cache
def fontset(charset: str) -> FontSet:
    return fonts_for(Charset.resolve(charset), load_synth_config())


def need_fonts(charset: str) -> FontSet:
    """The fonts for ``charset``, or skip with what to install."""
    cs = Charset.resolve(charset)
    fs = FontSet([f for f in _faces() if f.outlines], cs)
    if charset.startswith("zh"):
        hanzi = sum(1 for c in fs.renderable if "\u4e00" <= c <= "\u9fff")
        if hanzi < 3000:
            pytest.skip("no CJK font installed (make system-deps installs fonts-noto-cjk "
                        "fonts-wqy-zenhei ...)")
    elif not fs.faces:
        pytest.skip("no Latin font installed (make system-deps installs fonts-dejavu)")
    return fontset(charset)


@cache
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as f:
        return frozenset(c for c, g in f.getBestCmap().items() if g != ".notdef")


def spec_for(charset: str, count: int, seed: int = 0, overrides: dict | None = None,
             size: str | None = None):
    return build_spec(charset, count, seed, load_synth_config(overrides=overrides),
                      need_fonts(charset), size)


# --------------------------------------------------------------------------- fonts
@pytest.mark.parametrize("charset", ["zh", "ascii"])
@pytest.mark.slow
def test_every_rendered_character_is_in_the_font_that_drew_it(charset: str) -> None:
    synth = Synthesizer(spec_for(charset, 2000, seed=3))
    fonts_used = set()
    for i in range(0, 2000, 25):  # 80 samples spread over the coverage schedule
        s = synth.sample(i)
        cmap = _cmap(s.font.path, s.font.index)  # read independently with fontTools
        missing = [c for c in s.label if ord(c) not in cmap]
        assert not missing, f"sample {i}: {missing} not in {s.font.name}"
        assert s.label == s.label.strip() and "  " not in s.label
        fonts_used.add(s.font.name)
    assert len(fonts_used) > 3  # fonts vary


@pytest.mark.slow
def test_fontset_chooses_only_covering_faces() -> None:
    fs = need_fonts("zh")
    rng = random.Random(0)
    for text in ("中文abc", "Hello", "2025年9月1日", "〇～—·"):
        k, drawn = fs.choose(text, rng)
        assert drawn == text and set(text) <= fs.covered[k]
    latin_only = [i for i, cov in enumerate(fs.covered) if "中" not in cov]
    assert latin_only, "expected some Latin-only faces (DejaVu/Liberation)"


def test_regional_variants_are_collapsed() -> None:
    fs = need_fonts("zh")
    regions = {f.region for f in fs.faces if f.region}
    assert regions <= {"SC", "CN"}, regions


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("charset, pattern", [
    ("digits", r"[0-9]+"),
    ("ascii", r"[ -~]+"),
    ("chars:0123456789-:年月日", r"[0-9\-:年月日]+"),
    ("zh", None),
])
def test_text_only_uses_charset_characters(charset: str, pattern: str | None) -> None:
    if charset == "zh":
        need_fonts("zh")
    cs = Charset.resolve(charset)
    sampler = TextSampler(cs.chars, load_synth_config())
    rng = random.Random(1)
    sources = Counter()
    for _ in range(400):
        text, source = sampler.sample(rng)
        sources[source] += 1
        assert text and all(c in cs for c in text), (text, source)
        assert text == " ".join(text.split())
        if pattern:
            assert re.fullmatch(pattern, text), text
    if charset == "zh":
        assert {"corpus", "fields", "english", "numbers", "random"} <= set(sources)


def test_english_lines_hold_made_up_words_doubled_letters_and_line_end_commas() -> None:
    rng = random.Random(3)
    made_up = [pseudo_word(rng) for _ in range(300)]
    assert all(re.fullmatch("[a-z]+", w) for w in made_up)
    assert len(set(made_up)) > 250
    assert sum(bool(re.search(r"(tt|ff|ll|ss)", w)) for w in made_up) > 20
    cfg = load_synth_config(overrides={"text": {"sources": {"corpus": 0, "fields": 0, "english": 1,
                                            "numbers": 0, "random": 0}}})
    sampler = TextSampler(Charset.resolve("ascii").chars, cfg)
    lines = [sampler.sample(rng)[0] for _ in range(600)]
    ends = Counter(line[-1] for line in lines)
    assert ends[","] > 20 and ends["."] > 20 and ends[":"] > 0, ends
    known = set(lx.ENGLISH_WORDS) | set(lx.SYLLABLES) | {a.lower() for a in lx.ABBREVIATIONS}
    words = {w.strip(",.;:!?()").lower() for line in lines for w in line.split()}
    assert len({w for w in words if w.isalpha()} - known) > 30, "no made-up English words"
    # running text: the pronoun I, lines starting mid-sentence, sentence ends inside a line,
    # ellipses and doubled marks, quoted words, abbreviations with their full stop
    text = "\n".join(lines)
    assert len(re.findall(r"\bI('(m|ve|d|ll))?\b", text)) > 30
    assert sum(line[0].islower() for line in lines) > 100
    assert len(re.findall(r"[a-z][.!?]+ [A-Z]", text)) > 30
    assert text.count("...") > 10 and ("!!" in text or "?!" in text)
    assert len(re.findall(r"[\"\u201c'\u2018][A-Za-z]+[\"\u201d'\u2019]", text)) > 5
    assert len(re.findall(r"\b(a\.m|etc|e\.g|Inc|Prof|Dr)\.", text)) > 5


def test_lines_hold_apostrophes_hyphens_codes_and_opening_brackets() -> None:
    """Printed letters say "Bachelor's", "passport-sized", "Room A-204" and open lines
    with a bracket (（记者：……）); a model never shown these drops the mark."""
    rng = random.Random(7)
    only = {"corpus": 0, "fields": 0, "english": 0, "numbers": 0, "random": 0}
    cfg = load_synth_config(overrides={"text": {"sources": {**only, "english": 1}}})
    english = TextSampler(Charset.resolve("zh").chars, cfg)
    lines = [english.sample(rng)[0] for _ in range(600)]
    text = " ".join(lines)
    assert len(re.findall(r"[A-Za-z]'(s|t|ll|re|m|ve)?\b", text)) > 20
    assert len(re.findall(r"[a-z]-[a-z]", text)) > 10
    assert len(re.findall(r"\b[A-Z]-?\d+\b", text)) > 5
    assert "@" in text and " · " in text
    cfg = load_synth_config(overrides={"text": {"sources": {**only, "corpus": 1}}})
    corpus = TextSampler(Charset.resolve("zh").chars, cfg)
    zh = [corpus.sample(rng)[0] for _ in range(600)]
    assert sum(line[0] in "（《“【「(〔" for line in zh) > 10


def test_informal_marks_punctuate_chinese_lines_as_reviews_do_and_cost_no_draw_when_off():
    """text.informal_marks: ellipses, 。。。, dashes, tildes and runs such as ！！ in Chinese
    corpus lines; at its default 0 the lines are the same as a config without it."""
    only = {"corpus": 1, "fields": 0, "english": 0, "numbers": 0, "random": 0}
    chars = Charset.resolve("zh").chars

    def lines(**text) -> list[str]:
        cfg = load_synth_config(overrides={"text": {"sources": only, **text}})
        sampler, rng = TextSampler(chars, cfg), random.Random(3)
        return [sampler.sample(rng)[0] for _ in range(400)]

    plain, informal = lines(), lines(informal_marks=1.0)
    assert lines(informal_marks=0.0) == plain
    runs = re.compile(r"……|…|\.\.\.|。。。|——|[～~]|！！|？？")
    assert sum(bool(runs.search(line)) for line in plain) < 10
    assert sum(bool(runs.search(line)) for line in informal) > 150
    with pytest.raises(ConfigError, match="informal_marks"):
        load_synth_config(overrides={"text": {"informal_marks": 1.5}})


def test_dates_in_printed_forms() -> None:
    assert fields.chinese_date(2025, 9, 1) == "二〇二五年九月一日"
    assert fields.chinese_date(2010, 12, 31) == "二〇一〇年十二月三十一日"
    forms = [
        r"\d{4}年\d{1,2}月\d{1,2}日",
        r"\d{4}年\d{2}月\d{2}日",
        r"\d{4}-\d{2}-\d{2}",
        r"\d{4}\.\d{2}\.\d{2}",
        r"\d{4}/\d{1,2}/\d{1,2}",
        r"[〇一二三四五六七八九]{4}年[一二三四五六七八九十]+月[一二三四五六七八九十]+日",
        r"\d{1,2}月\d{1,2}日",
        r"\d{4}年\d{1,2}月",
        r".*[（(](星期|周)[一二三四五六日][）)]",
        r"[A-Z][a-z]+ \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4}",
        r"\d{8}",
        r"\d{4}\.\d{1,2}\.\d{1,2}",
    ]
    rng = random.Random(0)
    seen = set()
    for _ in range(600):
        d = fields.date(rng)
        hits = [k for k, f in enumerate(forms) if re.fullmatch(f, d)]
        assert hits, d
        seen.update(hits)
    assert seen == set(range(len(forms)))


def test_numbers_money_and_ids() -> None:
    rng = random.Random(0)
    assert fields.group_thousands(1234567) == "1,234,567"
    assert fields.money_upper(5000) == "伍仟元整"
    assert fields.money_upper(10005, 50) == "壹万零伍元伍角整"
    assert fields.money_upper(12345678, 7) == "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元零柒分"
    assert fields.id_check_digit("11010519491231002") == "X"  # the GB 11643 example
    for _ in range(200):
        m = fields.money(rng)
        for num in re.findall(r"[\d,]+(?:\.\d+)?", m):
            if "," in num:
                assert re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d{2})?", num), m
        ident = fields.id_number(rng)
        assert re.fullmatch(r"\d{17}[\dX]", ident)
        assert fields.id_check_digit(ident[:17]) == ident[17]
        assert re.fullmatch(r"\d{6}", fields.postal_code(rng))
        assert re.fullmatch(r"\d{9,14}", fields.exam_number(rng))
        p = fields.phone(rng)
        assert re.fullmatch(r"(\+86 )?1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-\d{7,8}|"
                            r"\(0\d{2,3}\) \d{4} \d{3,4}", p), p
        t = fields.time_of_day(rng)
        assert re.search(r"\d", t), t
        assert "@" in fields.email(rng) and "." in fields.url(rng)
        assert re.search(r"\d+号", fields.address(rng))
        name = fields.person_name(rng)
        assert 2 <= len(name) <= 4


def test_english_fields_foreign_names_list_numbers_and_time_ranges() -> None:
    """Forms, letters and invoices in English (codes in capitals beside digits, a.m./p.m.,
    P.O. Box, salutations ending in a comma), transliterated names joined by ·, list
    numbers (（3）, 二、, ②) and time ranges with ～ or 至, as Chinese documents print them."""
    rng = random.Random(11)
    lines = [fields.english_field(rng) for _ in range(800)]
    text = "\n".join(lines)
    assert all(line and line == line.strip() and not re.search("[\u4e00-\u9fff]", line)
               for line in lines)
    assert len(re.findall(r"\b[A-Z]{2,4}[-/ ]?\d{2,}", text)) > 40  # INV-2025-..., PO 88213
    assert len(re.findall(r"\d{1,2}:\d{2} (a\.m\.|p\.m\.|AM|PM)", text)) > 10
    assert len(re.findall(r"^Dear .+[,:]$", text, re.M)) > 10
    assert "P.O. Box" in text and re.search(r"\b[A-Z]\d[A-Z] \d[A-Z]\d\b", text)
    assert re.search(r"\b[A-Z][a-z]{2}\. \d{1,2}\b", text)  # Sep. 20
    labels = Counter(line.split(":")[0] for line in lines if ":" in line)
    assert len(labels) > 30
    names = [fields.foreign_name(rng) for _ in range(200)]
    assert sum("·" in n for n in names) > 150
    assert all(set(n) <= set(lx.TRANSLIT_CHARS) | {"·"} for n in names)
    markers = {fields.list_marker(rng) for _ in range(500)}
    assert {"（1）", "(2)", "3.", "4、", "二、", "①"} <= markers
    seps = Counter(re.sub(r"[\d:]", "", t) for t in (fields.time_of_day(rng)
                                                      for _ in range(2000)))
    assert seps["～"] and seps["至"] and seps["-"] and seps["—"]
    only = {"corpus": 0, "fields": 0, "english": 0, "numbers": 0, "random": 0}
    cfg = load_synth_config(overrides={"text": {"sources": {**only, "english": 1}}})
    sampler = TextSampler(Charset.resolve("ascii").chars, cfg)
    drawn = [sampler.sample(rng)[0] for _ in range(400)]
    assert 40 < sum(re.match(r"[A-Z][A-Za-z. -]+:", d) is not None for d in drawn) < 200


def test_clip_em_keeps_words_whole() -> None:
    assert clip_em("Form office health", 6) == "Form"
    assert clip_em("中文字符", 2) == "中文"


def test_coverage_schedule_reaches_k_per_character() -> None:
    chars = [chr(0x4E00 + k) for k in range(500)]
    sched = CoverageSchedule(chars, count=1000, min_count=3, max_per_line=2, seed=0)
    assert sched.reachable
    counts = Counter("".join(sched.required(i) for i in range(1000)))
    assert set(counts) == set(chars) and min(counts.values()) >= 3
    assert max(len(sched.required(i)) for i in range(1000)) <= 2
    small = CoverageSchedule(chars, count=100, min_count=3, max_per_line=2, seed=0)
    assert not small.reachable and "--count 750" in small.describe()


def test_coverage_focus_lifts_chosen_characters_evenly() -> None:
    chars = [chr(0x4E00 + k) for k in range(300)]
    focus = chars[:20]
    sched = CoverageSchedule(chars, count=1000, min_count=2, max_per_line=2, seed=1,
                             focus=focus + ["x"], focus_min_count=30)  # x: not a char
    assert sched.reachable and sched.focus == sorted(focus)
    lines = [sched.required(i) for i in range(1000)]
    counts = Counter("".join(lines))
    assert min(counts[c] for c in focus) >= 30
    assert min(counts[c] for c in chars[20:]) >= 2 and max(counts[c] for c in chars[20:]) <= 2
    assert max(len(x) for x in lines) <= 2
    # evenly spread: each half of the lines holds about half of a focus character's share
    first = Counter("".join(lines[:500]))
    assert all(13 <= first[c] <= 17 for c in focus)
    assert "each of 20 focus characters >= 30" in sched.describe()
    # cut short by max_per_line, every character keeps its share of the slots
    short = CoverageSchedule(chars, count=300, min_count=2, max_per_line=2, seed=1,
                             focus=focus, focus_min_count=30)
    assert not short.reachable
    got = Counter("".join(short.required(i) for i in range(300)))
    assert min(got[c] for c in focus) >= 14 and sum(got.values()) == 600
    # no focus: the plain schedule, unchanged
    plain = CoverageSchedule(chars, count=1000, min_count=2, max_per_line=2, seed=1)
    same = CoverageSchedule(chars, count=1000, min_count=2, max_per_line=2, seed=1,
                            focus=focus, focus_min_count=2)  # not above min_count: off
    assert [plain.required(i) for i in range(50)] == [same.required(i) for i in range(50)]


def test_coverage_focus_file_in_generated_labels(tmp_path) -> None:
    charset = "chars:0123456789abcdefghijklmnopqrstuvwxyz.-@:年月日号路"
    focus = tmp_path / "new.txt"
    focus.write_text("路\n号\n", encoding="utf-8")
    ovr = {"text": {"coverage": {"min_count": 1, "max_per_line": 2, "focus": str(focus),
                                 "focus_min_count": 40}}, **CLEAN}
    spec = spec_for(charset, 100, overrides=ovr)
    assert spec.focus == "路号"
    counts = Counter("".join(Synthesizer(spec).sample(i).label for i in range(100)))
    assert counts["路"] >= 40 and counts["号"] >= 40
    focus.write_text("路\n剽\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="outside the charset.*剽"):
        spec_for(charset, 100, overrides=ovr)
    ovr["text"]["coverage"]["focus"] = str(tmp_path / "missing.txt")
    with pytest.raises(ConfigError, match="missing.txt does not exist"):
        spec_for(charset, 100, overrides=ovr)
    ovr["text"]["coverage"]["focus"] = ""
    with pytest.raises(ConfigError, match="focus_min_count needs"):
        spec_for(charset, 100, overrides=ovr)


def test_coverage_in_generated_labels() -> None:
    charset = "chars:0123456789abcdefghijklmnopqrstuvwxyz.-@:年月日号路"
    ovr = {"text": {"coverage": {"min_count": 4, "max_per_line": 2}}, **CLEAN}
    synth = Synthesizer(spec_for(charset, 200, overrides=ovr))
    counts = Counter("".join(synth.sample(i).label for i in range(200)))
    cs = Charset.resolve(charset)
    assert min(counts[c] for c in cs.chars) >= 4, counts.most_common()[-5:]


# --------------------------------------------------------------------------- rendering
def test_size_parsing() -> None:
    assert parse_size("280x32") == (280, 32)
    assert parse_size("48") == (None, 48)
    assert parse_size(None) == (None, 32)
    with pytest.raises(ConfigError):
        parse_size("wide")


@pytest.mark.slow
def test_stretch_widens_or_narrows_the_same_line() -> None:
    """degrade.stretch scales lines horizontally: same seed, same text and face, a line
    drawn at scale 1.25 is ~1.25x as wide as at 1 and at 0.8 ~0.8x (margins aside)."""
    widths = {}
    for scale in (0.8, 1.0, 1.25):
        deg = {**CLEAN["degrade"], "stretch": {"p": 1.0, "scale": [scale, scale]}}
        ovr = {**CLEAN, "degrade": deg, "margins": {k: [0.0, 0.0] for k in
                                                    ("top", "bottom", "left", "right")}}
        synth = Synthesizer(spec_for("zh", 50, seed=9, overrides=ovr))
        widths[scale] = [synth.sample(i).image.shape[1] for i in range(0, 50, 5)]
    for w08, w1, w125 in zip(widths[0.8], widths[1.0], widths[1.25], strict=True):
        assert 1.1 < w125 / w1 < 1.4 and 0.7 < w08 / w1 < 0.9, (w08, w1, w125)
    with pytest.raises(ConfigError, match="stretch"):
        load_synth_config(overrides={"degrade": {"stretch": {"p": 0.5, "scale": [0.0, 1.0]}}})


def _latin_face_index(fonts: FontCache) -> int:
    for k, face in enumerate(fonts.faces):
        if "DejaVu Sans" in face.family or "Liberation Sans" in face.family:
            return k
    pytest.skip("no DejaVu Sans or Liberation Sans (make system-deps installs them)")


def test_kerning_word_spacing_and_underline_shape_the_mask() -> None:
    """Kerning pulls ``AV`` together as a text shaper would; word spacing widens only the
    spaces of a justified line; an underline is a full-width bar below the baseline that
    may run on past the text (a fill-in line such as ``姓名：____``)."""
    fonts = FontCache(_faces())
    k = _latin_face_index(fonts)

    def width(text: str, **style) -> int:
        return text_mask(text, fonts, k, LineStyle(40, **style))[0].shape[1]

    if features.check("raqm"):
        assert fonts.kern(k, 40, "AV") < -1 and fonts.kern(k, 40, "国A") == 0.0
        assert width("AVAV", kerning=1.0) < width("AVAV") - 3
        assert width("ooo", kerning=1.0) == width("ooo")  # no kerning pair: unchanged
    assert width("a b c", word_spacing=10.0) == width("a b c") + 20
    assert width("abc", word_spacing=10.0) == width("abc")

    plain, base = text_mask("Office", fonts, k, LineStyle(40))
    under, ubase = text_mask("Office", fonts, k, LineStyle(40, underline=3))
    inner = under[:, 2:-2] > 0  # the mask has a 2-pixel blank border
    rows = np.flatnonzero(inner.all(axis=1))  # rows inked from end to end
    assert rows.size == 3 and rows[0] > ubase, (rows, ubase)
    assert not (plain[:, 2:-2] > 0).all(axis=1).any()
    longer, _ = text_mask("Office", fonts, k, LineStyle(40, underline=3,
                                                       underline_ends=(0.0, 50.0)))
    assert longer.shape[1] == under.shape[1] + 50


def test_ligatures_draw_fi_and_ffi_as_one_glyph() -> None:
    """Typeset pages draw ``first`` with the face's ``fi`` ligature (v10 read it ``frst``):
    a line whose style asks for ligatures is drawn with them where the face has them, and
    letter by letter otherwise; the label keeps the letters."""
    if not features.check("raqm"):
        pytest.skip("PIL without raqm draws no ligatures")
    fonts = FontCache(_faces())
    k = next((k for k, f in enumerate(fonts.faces) if f.family == "DejaVu Sans"), None)
    if k is None:
        pytest.skip("no DejaVu Sans (make system-deps installs fonts-dejavu)")
    assert fonts.has_ligature(k, 40, "fi") and fonts.has_ligature(k, 40, "ffi")
    assert not fonts.has_ligature(k, 40, "fo")
    assert _units("first office", fonts, k, 40, True) == \
        ["fi", "r", "s", "t", " ", "o", "ffi", "c", "e"]
    assert _units("first", fonts, k, 40, False) == list("first")
    plain, _ = text_mask("first office", fonts, k, LineStyle(40))
    joined, _ = text_mask("first office", fonts, k, LineStyle(40, ligatures=True))
    assert plain.shape != joined.shape or (plain != joined).any()
    # a face without the ligature draws the letters one by one either way
    other = next((j for j, f in enumerate(fonts.faces)
                  if f.family.startswith("Liberation") and not fonts.has_ligature(j, 40, "fi")),
                 None)
    if other is not None:
        assert _units("first", fonts, other, 40, True) == list("first")
    with pytest.raises(ConfigError, match="ligatures"):
        load_synth_config(overrides={"fonts": {"ligatures": 1.5}})


def test_hosts_and_mailboxes_are_sometimes_pinyin_initials() -> None:
    """zsxx@zypu.edu.cn, xjjtu.edu.cn: institutions abbreviate by pinyin initials, so
    letters repeat (v10 read zsxx as zs×× and xjjtu as xjtu)."""
    rng = random.Random(5)
    users = [fields.email(rng).split("@")[0] for _ in range(400)]
    syllables = re.compile("(" + "|".join(sorted(lx.SYLLABLES, key=len, reverse=True)) + ")+")
    initials = [u for u in users if u.isalpha() and not syllables.fullmatch(u)]
    assert len(initials) > 30, initials[:10]
    assert any(re.search(r"(.)\1", u) for u in initials)


def test_images_are_grey_tight_and_never_clipped() -> None:
    ovr = {**CLEAN, "margins": {"top": [0.05, 0.1], "bottom": [0.05, 0.1],
                                "left": [0.1, 0.2], "right": [0.1, 0.2]}}
    synth = Synthesizer(spec_for("zh", 300, seed=5, overrides=ovr))
    for i in range(0, 300, 10):
        s = synth.sample(i)
        img = s.image
        assert img.dtype == np.uint8 and img.ndim == 2 and img.shape[0] == 32
        ink = img < 200
        assert ink.any()
        # a blank border on every side: nothing was cut off
        assert not ink[0].any() and not ink[-1].any(), s.label
        assert not ink[:, 0].any() and not ink[:, -1].any(), s.label
        rows = np.flatnonzero(ink.any(axis=1))
        assert rows[-1] - rows[0] + 1 >= 12, s.label  # text fills the height


@pytest.mark.slow
def test_ink_box_cuts_fill_the_height_with_the_ink() -> None:
    """margins.ink_box: lines cut at their ink plus a few pixels (a share of the font size),
    as page line finders cut, whatever the line box and its margins would have been."""
    def fills(ink_box: float) -> list[float]:
        ovr = {**CLEAN, "margins": {"top": [0.2, 0.2], "bottom": [0.2, 0.2],
                                    "left": [0.1, 0.1], "right": [0.1, 0.1],
                                    "ink_box": ink_box, "ink_em": [0.05, 0.05]}}
        synth = Synthesizer(spec_for("ascii", 40, seed=9, overrides=ovr))
        out = []
        for i in range(40):
            img = synth.sample(i).image
            rows = np.flatnonzero((img < 128).any(axis=1))
            out.append((rows[-1] - rows[0] + 1) / img.shape[0])
        return out

    font_box, ink_box = fills(0.0), fills(1.0)
    assert min(ink_box) >= 0.75                     # ink + 5% of the size on each side
    # line box + 20% of it on each side: looser; a face whose ink fills its own line box
    # (some display faces) reaches the 0.75 a 5% ink margin gives, never more
    assert np.median(font_box) < 0.7 and max(font_box) <= 0.75


@pytest.mark.slow
def test_fixed_size_output() -> None:
    synth = Synthesizer(spec_for("zh", 50, size="280x32"))
    for i in range(0, 50, 5):
        assert synth.sample(i).image.shape == (32, 280)


@pytest.mark.slow
def test_same_seed_same_bytes_any_worker_count() -> None:
    spec = spec_for("zh", 48, seed=11)
    one = list(iter_encoded(spec, workers=1))
    two = list(iter_encoded(spec, workers=2))
    assert one == two
    other = list(iter_encoded(spec_for("zh", 48, seed=12), workers=1))
    assert [lab for _, lab in other] != [lab for _, lab in one]


@pytest.mark.slow
def test_synth_dataset_is_deterministic_and_picklable() -> None:
    need_fonts("ascii")
    ds = SynthDataset("ascii", 100, seed=2)
    assert len(ds) == 100
    img, label = ds[7]
    assert img.dtype == np.uint8 and img.shape[0] == 32 and isinstance(label, str)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._synth is None  # fonts reload lazily in the new process
    img2, label2 = clone.get_sample(7)
    assert label2 == label and np.array_equal(img2, img)
    assert ds.render(7).font.path
    with pytest.raises(IndexError):
        ds.get_sample(100)


# --------------------------------------------------------------------------- config
def test_config_override_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "ok.yaml"
    good.write_text("degrade:\n  blur: {p: 0.0}\noutput:\n  encoding: jpg\n")
    cfg = load_synth_config(good)
    assert cfg.effect("blur").p == 0.0 and cfg.get("output", "encoding") == "jpg"
    assert cfg.effect("noise").p == load_synth_config().effect("noise").p
    bad = tmp_path / "bad.yaml"
    bad.write_text("degrade:\n  blurr: {p: 0.5}\n")
    with pytest.raises(ConfigError, match="blurr"):
        load_synth_config(bad)
    bad.write_text("fonts:\n  size: [40, 20]\n")
    with pytest.raises(ConfigError, match="fonts.size"):
        load_synth_config(bad)


# --------------------------------------------------------------------------- outputs / CLI
@pytest.mark.slow
def test_cli_writes_a_readable_lmdb(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    need_fonts("digits")
    out = tmp_path / "d.lmdb"
    rc = main(["--charset", "digits", "--count", "30", "--out", str(out), "--workers", "1",
               "--quiet", "--report", str(tmp_path / "r.json")])
    assert rc == 0
    r = LmdbReader(out)
    assert len(r) == 30
    data, label = r.get(0)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img.ndim == 2 and img.shape[0] == 32
    assert re.fullmatch(r"[0-9]+", label)
    assert "characters per charset character" in capsys.readouterr().err
    assert '"char_counts"' in (tmp_path / "r.json").read_text()
    # existing output without --overwrite: a one-line error, exit 2
    rc = main(["--charset", "digits", "--count", "5", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("crnn synth: error:") and "--overwrite" in err


def test_cli_writes_images_and_a_label_file(tmp_path: Path) -> None:
    need_fonts("ascii")
    out = tmp_path / "lines"
    rc = main(["--charset", "ascii", "--count", "12", "--out", f"{out}/", "--workers", "1",
               "--quiet", "--size", "200x32", "--text", str(_text_file(tmp_path))])
    assert rc == 0
    lines = (out / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12
    for line in lines:
        name, label = line.split("\t")
        img = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert img.shape == (32, 200) and label
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def _text_file(tmp_path: Path) -> Path:
    p = tmp_path / "lines.txt"
    p.write_text("The quick brown fox\njumps over the lazy dog 42\n", encoding="utf-8")
    return p


def test_text_file_lines_are_used() -> None:
    cs = Charset.resolve("ascii")
    cfg = load_synth_config(overrides={"text": {"file_fraction": 1.0}})
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = _text_file(Path(tmp))
        sampler = TextSampler(cs.chars, cfg, path)
        rng = random.Random(0)
        full = path.read_text()
        for _ in range(20):
            text, source = sampler.sample(rng)
            assert source == "file" and text in full


@pytest.mark.slow
def test_cli_text_writes_generator_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    need_fonts("ascii")
    out = tmp_path / "corpus.txt"
    args = ["text", "--charset", "ascii", "--count", "40", "--seed", "3", "--out", str(out)]
    assert main(args) == 0
    lines = out.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 41 and lines[-1] == ""           # one line each, newline-ended
    lines = lines[:-1]
    assert all(t and t == t.strip() and set(t) <= set(Charset.resolve("ascii").chars)
               for t in lines)
    assert len(set(lines)) > 30
    assert "40 lines" in capsys.readouterr().err
    again = tmp_path / "again.txt"
    assert main([*args[:-1], str(again)]) == 0
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    assert main([*args[:6], "4", "--out", str(again), "--overwrite"]) == 0
    assert again.read_text(encoding="utf-8") != out.read_text(encoding="utf-8")
    # an existing file without --overwrite: a one-line error, exit 2, nothing changed
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_cli_fonts_lists_coverage(capsys: pytest.CaptureFixture) -> None:
    need_fonts("ascii")
    assert main(["fonts", "--charset", "ascii"]) == 0
    out = capsys.readouterr().out
    assert "renderable: 95 of 95 characters" in out
    assert re.search(r"\s95 100\.0%\s+\S", out)


def test_cli_fonts_says_what_to_install(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    latin = next((f.path for f in _faces() if "DejaVu Sans" == f.family
                  and f.style in ("Book", "Regular")), None)
    if latin is None:
        pytest.skip("DejaVu Sans not installed (fonts-dejavu)")
    rc = main(["fonts", "--charset", "zh", "--no-system-fonts", "--fonts", latin])
    out = capsys.readouterr().out
    assert rc == 0 and "fonts-noto-cjk" in out and "no font covers" in out


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nonsense: 1\n")
    rc = main(["--out", str(tmp_path / "x.lmdb"), "--count", "3", "--config", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "nonsense" in err and str(bad) in err
    rc = main(["--out", str(tmp_path / "x.lmdb"), "--count", "3", "--fonts",
               str(tmp_path / "nowhere")])
    assert rc == 2 and "nowhere" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "crnn synth --charset zh --count 20000" in capsys.readouterr().out


def test_classical_lines_have_its_particles_speech_and_dense_marks() -> None:
    """Classical lines: single characters in short phrases, particles such as 之/曰/兮,
    X曰：“……” speech, a full-width mark every few characters; only charset characters."""
    need_fonts("zh")
    cs = Charset.resolve("zh")
    only = {"corpus": 0, "fields": 0, "english": 0, "numbers": 0, "random": 0}
    cfg = load_synth_config(overrides={"text": {"sources": {**only, "classical": 1}}})
    sampler = TextSampler(cs.chars, cfg)
    rng = random.Random(5)
    lines = []
    for _ in range(400):
        text, source = sampler.sample(rng)
        assert source == "classical" and text and all(c in cs for c in text), text
        lines.append(text)
    text = "".join(lines)
    hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
    marks = len(re.findall(r"[，。；：、？！“”「」‘’]", text))
    assert marks > hanzi / 9, (marks, hanzi)
    assert not re.search(r"[A-Za-z0-9]", text)
    assert len(re.findall(r"曰：[“「]", text)) > 20
    assert sum(text.count(c) for c in "之也者乎兮") > 100
    assert sum(line[0] in "，。；：、？！”」" for line in lines) > 10  # lines from mid-paragraph

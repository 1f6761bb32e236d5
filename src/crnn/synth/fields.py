"""The fields of printed documents such as admission letters.

Each generator takes a seeded :class:`random.Random` and returns one string: a person's
name (or a foreign one in transliteration, ``约翰·史密斯``), a date in one of many printed
forms, a time or a range of times, an amount of money, an ID, exam, phone or postal
number, a room or form code, an address, a URL, an e-mail address, a list item's number,
or a ``label：value`` line; and the same for English forms, letters, invoices and tickets
(:func:`english_field`). They know nothing of charsets; :mod:`.text` keeps only what the
charset can show.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from . import words as lx

__all__ = [
    "FIELD_GENERATORS", "address", "chinese_date", "date", "document_field", "email",
    "exam_number", "id_number", "id_check_digit", "money", "money_upper", "person_name",
    "phone", "postal_code", "room_code", "school", "time_of_day", "url", "group_thousands",
    "RANGE_SEPARATORS", "foreign_name", "list_marker", "english_name", "english_date",
    "english_time", "code_number", "flight_number", "english_address", "english_phone",
    "english_money", "english_field",
]

_CN_DIGITS = "〇一二三四五六七八九"
_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_WEEKDAYS = "一二三四五六日"
# between the ends of a range of times or dates, as documents print them
RANGE_SEPARATORS = ("-", "-", "—", "～", "~", "–", "至", " - ", "－")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _colon(rng: random.Random) -> str:
    return rng.choice(("：", "：", ":", "： ", ": "))


def person_name(rng: random.Random) -> str:
    """A Chinese name: a surname (sometimes a compound one) and one or two characters."""
    sur = rng.choice(lx.COMPOUND_SURNAMES) if rng.random() < 0.03 else rng.choice(lx.SURNAMES)
    n = 1 if rng.random() < 0.3 else 2
    return sur + "".join(rng.choice(lx.GIVEN_CHARS) for _ in range(n))


def foreign_name(rng: random.Random) -> str:
    """A foreign name in Chinese transliteration, its parts joined by an interpunct:
    ``约翰·史密斯``, ``玛丽·安·雷诺``."""
    parts = rng.choice((2, 2, 2, 3, 1))
    return "·".join("".join(rng.choice(lx.TRANSLIT_CHARS) for _ in range(rng.randint(2, 4)))
                    for _ in range(parts))


def list_marker(rng: random.Random) -> str:
    """The number of a list item or clause: ``（3）``, ``(2)``, ``3.``, ``3、``, ``三、``,
    ``②``, ``第五条``."""
    n = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12))
    form = rng.randrange(9)
    if form == 0:
        return f"（{n}）"
    if form == 1:
        return f"({n})"
    if form == 2:
        return f"{n}."
    if form == 3:
        return f"{n}、"
    if form == 4:
        return f"{_cn_small(n)}、"
    if form == 5:
        return chr(0x2460 + min(n, 10) - 1)  # ① .. ⑩
    if form == 6:
        return f"（{_cn_small(n)}）"
    if form == 7:
        return f"{n}．"
    return f"第{_cn_small(n)}条"


def _cn_small(n: int) -> str:
    """1..99 in Chinese numerals: 九, 十, 十五, 二十, 三十一."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
    return head + (_CN_DIGITS[ones] if ones else "")


def chinese_date(y: int, m: int, d: int) -> str:
    """2025-09-01 -> 二〇二五年九月一日."""
    return "".join(_CN_DIGITS[int(c)] for c in str(y)) + f"年{_cn_small(m)}月{_cn_small(d)}日"


def date(rng: random.Random) -> str:
    """A date as printed: 2025年9月1日, 2025-09-01, 2025.09.01, 二〇二五年九月一日, ..."""
    y = rng.randint(1950, 2035)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28 if m == 2 else (30 if m in (4, 6, 9, 11) else 31))
    form = rng.randrange(12)
    if form == 0:
        return f"{y}年{m}月{d}日"
    if form == 1:
        return f"{y}年{m:02d}月{d:02d}日"
    if form == 2:
        return f"{y}-{m:02d}-{d:02d}"
    if form == 3:
        return f"{y}.{m:02d}.{d:02d}"
    if form == 4:
        return f"{y}/{m}/{d}"
    if form == 5:
        return chinese_date(y, m, d)
    if form == 6:
        return f"{m}月{d}日"
    if form == 7:
        return f"{y}年{m}月"
    if form == 8:
        wd = _WEEKDAYS[rng.randrange(7)]
        return f"{y}年{m}月{d}日（星期{wd}）" if rng.random() < 0.5 else f"{m}月{d}日(周{wd})"
    if form == 9:
        return f"{_MONTHS_EN[m - 1][:3]} {d}, {y}" if rng.random() < 0.5 \
            else f"{d} {_MONTHS_EN[m - 1]} {y}"
    if form == 10:
        return f"{y}{m:02d}{d:02d}"
    return f"{y}.{m}.{d}"


def time_of_day(rng: random.Random) -> str:
    """08:30, 14:00-17:00, 8:30～11:30, 上午8:30, 下午2时30分, 08:30:15 ..."""
    h, mi = rng.randint(0, 23), rng.choice((0, 0, 15, 30, 45, rng.randint(0, 59)))
    form = rng.randrange(7)
    if form == 0:
        return f"{h:02d}:{mi:02d}"
    if form == 1:
        h2 = min(h + rng.randint(1, 4), 23)
        sep = rng.choice(RANGE_SEPARATORS)
        return f"{h}:{mi:02d}{sep}{h2}:{mi:02d}" if rng.random() < 0.5 \
            else f"{h:02d}:{mi:02d}{sep}{h2:02d}:{mi:02d}"
    if form == 2:
        return f"{'上午' if h < 12 else '下午'}{h if h <= 12 else h - 12}:{mi:02d}"
    if form == 3:
        return f"{h}时{mi}分" if mi else f"{h}时"
    if form == 4:
        return f"{h:02d}:{mi:02d}:{rng.randint(0, 59):02d}"
    if form == 5:
        return f"{h}点{mi:02d}分" if mi else f"{h}点"
    return f"{h % 12 or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}"


def group_thousands(n: int) -> str:
    """12345678 -> '12,345,678'."""
    return f"{n:,}"


def money(rng: random.Random) -> str:
    """Amounts with thousands separators: ￥12,345.00, 5,460元/年, $1,234.56, ..."""
    n = int(10 ** rng.uniform(1, 7))
    cents = rng.choice((0, 0, 0, rng.randint(0, 99)))
    body = group_thousands(n) if rng.random() < 0.8 else str(n)
    num = f"{body}.{cents:02d}" if rng.random() < 0.5 or cents else body
    form = rng.randrange(8)
    if form == 0:
        return f"￥{num}"
    if form == 1:
        return f"¥{num}"
    if form == 2:
        return f"{num}元"
    if form == 3:
        return f"{num}元/年"
    if form == 4:
        return f"${num}"
    if form == 5:
        return f"人民币{num}元"
    if form == 6:
        return f"RMB {num}"
    return money_upper(n, cents)


def _upper_group(g: int) -> str:
    out, zero = "", False
    for power, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        d = g // power % 10
        if d == 0:
            zero = zero or bool(out)
        else:
            if zero:
                out += "零"
                zero = False
            out += _UPPER_DIGITS[d] + unit
    return out


def money_upper(yuan: int, cents: int = 0) -> str:
    """Financial capitals: 5000 -> 伍仟元整; 10005.5 -> 壹万零伍元伍角 (yuan < 10**8)."""
    if not 0 <= yuan < 10**8:
        raise ValueError("money_upper handles 0 <= yuan < 10**8")
    hi, lo = divmod(yuan, 10000)
    s = _upper_group(hi) + "万" if hi else ""
    if lo:
        s += ("零" if hi and lo < 1000 else "") + _upper_group(lo)
    s = (s or "零") + "元"
    jiao, fen = divmod(cents, 10)
    if not cents:
        return s + "整"
    s += _UPPER_DIGITS[jiao] + "角" if jiao else "零"
    return s + (_UPPER_DIGITS[fen] + "分" if fen else "整")


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of an 18-digit resident ID number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def id_number(rng: random.Random) -> str:
    """An 18-character resident ID with a valid check digit (sometimes X)."""
    area = f"{rng.randint(11, 65)}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
    birth = f"{rng.randint(1960, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = area + birth + f"{rng.randint(0, 999):03d}"
    return body + id_check_digit(body)


def exam_number(rng: random.Random) -> str:
    """A 14-digit 考生号, a 9-10 digit 准考证号 or a student number."""
    form = rng.randrange(3)
    if form == 0:
        return f"{rng.randint(20, 26)}{rng.randint(11, 65)}" + "".join(
            str(rng.randrange(10)) for _ in range(10))
    if form == 1:
        return "".join(str(rng.randrange(10)) for _ in range(rng.choice((9, 10))))
    return f"{rng.randint(2015, 2026)}{rng.randint(1, 99999):05d}"


def phone(rng: random.Random) -> str:
    """138 1234 5678, 13812345678, 010-62751234, (021) 6543 2100, +86 139-0000-1111 ..."""
    mobile = f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"
    form = rng.randrange(6)
    if form == 0:
        return mobile
    if form == 1:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if form == 2:
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    if form == 3:
        return f"+86 {mobile}"
    area = rng.choice(("010", "021", "020", "022", "023", "0755", "0571", "027", "028", "029"))
    size = 8 if len(area) == 3 else rng.choice((7, 8))
    local = str(rng.randint(2, 8)) + "".join(str(rng.randrange(10)) for _ in range(size - 1))
    return f"{area}-{local}" if form == 4 else f"({area}) {local[:4]} {local[4:]}"


def postal_code(rng: random.Random) -> str:
    return f"{rng.randint(10, 86)}{rng.randint(0, 9999):04d}"


def address(rng: random.Random) -> str:
    """Province, city, district, road and number, building and room."""
    parts = []
    if rng.random() < 0.6:
        parts.append(rng.choice(lx.PROVINCES))
    parts.append(rng.choice(lx.CITIES) + "市")
    if rng.random() < 0.7:
        parts.append(rng.choice(lx.DISTRICTS))
    parts.append(rng.choice(lx.ROADS) + rng.choice(lx.ROAD_SUFFIXES) + f"{rng.randint(1, 999)}号")
    form = rng.randrange(5)
    if form == 0:
        parts.append(f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 33)}"
                     f"{rng.randint(1, 8):02d}室")
    elif form == 1:
        parts.append(f"{rng.choice('ABCDE')}座{rng.randint(1, 40)}{rng.randint(1, 20):02d}室")
    elif form == 2:
        parts.append(f"{rng.randint(1, 20)}号楼{rng.randint(101, 2508)}")
    elif form == 3:
        parts.append(rng.choice(lx.CITIES) + rng.choice(lx.SCHOOL_SUFFIXES))
    text = "".join(parts)
    if rng.random() < 0.25:
        text = text.replace("号", "号 ", 1)
    return text


def school(rng: random.Random) -> str:
    return rng.choice(lx.CITIES) + rng.choice(lx.SCHOOL_SUFFIXES)


def _initials(rng: random.Random) -> str:
    """Pinyin initials, as institutions abbreviate their names and mailboxes: ``zsb``,
    ``zsxx``, ``xjtu`` (letters repeat, as they do in such names)."""
    return "".join(rng.choice(lx.SYLLABLES)[0] for _ in range(rng.randint(2, 5)))


def _host(rng: random.Random) -> str:
    name = _initials(rng) if rng.random() < 0.35 else \
        "".join(rng.choice(lx.SYLLABLES) for _ in range(rng.randint(1, 2)))
    return f"{name}.{rng.choice(lx.TLDS)}" if rng.random() < 0.5 \
        else f"{rng.choice(lx.DOMAINS)}.{name}.{rng.choice(lx.TLDS)}"


def url(rng: random.Random) -> str:
    """https://www.example.edu.cn/zsb/2025/notice.html and similar."""
    scheme = rng.choice(("https://", "http://", "", "https://www."))
    path = ""
    for _ in range(rng.randint(0, 3)):
        path += "/" + rng.choice(lx.DOMAINS + tuple(map(str, range(2015, 2027))))
    if path and rng.random() < 0.4:
        path += rng.choice((".html", ".htm", ".php", "/", ".pdf", f"?id={rng.randint(1, 9999)}"))
    return scheme + _host(rng) + path


def email(rng: random.Random) -> str:
    user = _initials(rng) if rng.random() < 0.35 else \
        "".join(rng.choice(lx.SYLLABLES) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.5:
        user += str(rng.randint(1, 2025))
    if rng.random() < 0.2:
        user = user[: len(user) // 2] + rng.choice("._-") + user[len(user) // 2:]
    return f"{user}@{_host(rng)}"


def room_code(rng: random.Random) -> str:
    """A room, seat or form code: ``A-204``, ``Room B312``, ``No. 5``, ``3-2-1101``."""
    letter = rng.choice("ABCDEFGHJKLMNPRSTWXYZ")
    n = rng.randint(1, 9999)
    form = rng.randrange(5)
    if form == 0:
        return f"{letter}-{n}"
    if form == 1:
        return f"{rng.choice(lx.ROOM_WORDS)} {letter}{'-' if rng.random() < 0.5 else ''}{n}"
    if form == 2:
        return f"{letter}{n}"
    if form == 3:
        return f"No. {rng.randint(1, 99)}"
    return f"{rng.randint(1, 30)}-{rng.randint(1, 9)}-{rng.randint(101, 2999)}"


def _ethnic(rng: random.Random) -> str:
    return rng.choice(lx.ETHNIC)


def _major(rng: random.Random) -> str:
    return rng.choice(lx.MAJORS) + ("专业" if rng.random() < 0.3 else "")


def _gender(rng: random.Random) -> str:
    return rng.choice(("男", "女"))


def _duration(rng: random.Random) -> str:
    return rng.choice(("四年", "五年", "三年", "4年", "2年", "八年"))


# label -> value generator for "label：value" lines.
_LABELLED: dict[str, Callable[[random.Random], str]] = {
    "姓名": person_name, "性别": _gender, "民族": _ethnic, "出生日期": date,
    "身份证号": id_number, "考生号": exam_number, "准考证号": exam_number, "学号": exam_number,
    "录取专业": _major, "专业": _major, "录取学院": school, "毕业学校": school, "学制": _duration,
    "报到时间": date, "入学时间": date, "签发日期": date, "日期": date, "时间": time_of_day,
    "联系电话": phone, "电话": phone, "手机": phone, "邮政编码": postal_code, "邮编": postal_code,
    "通讯地址": address, "家庭住址": address, "地址": address, "报到地点": address,
    "学费": money, "住宿费": money, "金额": money, "合计": money, "网址": url,
    "电子邮箱": email, "邮箱": email, "编号": exam_number, "账号": id_number,
}

FIELD_GENERATORS: tuple[Callable[[random.Random], str], ...] = (
    person_name, date, time_of_day, money, id_number, exam_number, phone, postal_code,
    address, school, url, email, foreign_name,
)


def document_field(rng: random.Random) -> str:
    """One field, bare (``2025年9月1日``) or labelled (``报到时间：2025年9月1日``)."""
    if rng.random() < 0.45:
        label = rng.choice(tuple(_LABELLED))
        return label + _colon(rng) + _LABELLED[label](rng)
    return rng.choice(FIELD_GENERATORS)(rng)


# ---------------------------------------------------------------- English documents
def _pattern(rng: random.Random, pattern: str) -> str:
    """``A9A 9A9`` -> ``K2P 7R4``: A a capital letter, 9 a digit, anything else kept."""
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") if c == "A" else
                   str(rng.randrange(10)) if c == "9" else c for c in pattern)


def english_name(rng: random.Random) -> str:
    """``Emma Clark``, ``Dr. Wang``, ``Prof. Li Ming``, ``ZHANG Wei``, ``J. Smith``."""
    form = rng.randrange(6)
    pinyin = rng.choice(lx.SYLLABLES).capitalize()
    given = rng.choice(lx.SYLLABLES).capitalize() + (rng.choice(lx.SYLLABLES)
                                                      if rng.random() < 0.6 else "")
    if form == 0:
        return f"{rng.choice(lx.GIVEN_NAMES_EN)} {rng.choice(lx.SURNAMES_EN)}"
    if form == 1:
        return f"{rng.choice(lx.TITLES_EN)} {rng.choice((pinyin, rng.choice(lx.SURNAMES_EN)))}"
    if form == 2:
        return f"{given} {pinyin}"
    if form == 3:
        return f"{pinyin.upper()} {given}"
    if form == 4:
        return f"{rng.choice(lx.GIVEN_NAMES_EN)[0]}. {rng.choice(lx.SURNAMES_EN)}"
    return f"{rng.choice(lx.TITLES_EN)} {given} {pinyin}"


def english_date(rng: random.Random) -> str:
    """``Sep. 20``, ``20 September 2025``, ``Mon., Sep. 1, 2025``, ``09/20/2025``."""
    y, m, d = rng.randint(1990, 2035), rng.randint(1, 12), rng.randint(1, 28)
    month = _MONTHS_EN[m - 1]
    short = month[:3] + ("" if month[:3] == month else ".")
    if rng.random() < 0.1 and month == "September":
        short = "Sept."
    form = rng.randrange(7)
    if form == 0:
        return f"{short} {d}"
    if form == 1:
        return f"{short} {d}, {y}"
    if form == 2:
        return f"{d} {month} {y}"
    if form == 3:
        return f"{month} {d}, {y}"
    if form == 4:
        day = ("Mon.", "Tue.", "Wed.", "Thu.", "Fri.", "Sat.", "Sun.")[rng.randrange(7)]
        return f"{day}, {short} {d}"
    if form == 5:
        return f"{m:02d}/{d:02d}/{y}" if rng.random() < 0.5 else f"{d:02d}/{m:02d}/{y}"
    return f"{y}-{m:02d}-{d:02d}"


def english_time(rng: random.Random) -> str:
    """``9:30 a.m.``, ``11:15 AM``, ``10:00-11:30``, ``8:00 a.m. – 5:00 p.m.``."""
    h, mi = rng.randint(1, 12), rng.choice((0, 0, 15, 30, 45, rng.randint(0, 59)))
    mark = rng.choice(("a.m.", "p.m.", "AM", "PM", "am", "pm"))
    form = rng.randrange(4)
    if form == 0:
        return f"{h}:{mi:02d} {mark}"
    if form == 1:
        return f"{h:02d}:{mi:02d}"
    if form == 2:
        h2 = h % 12 + rng.randint(1, 3)
        sep = rng.choice(("-", "–", " - ", " to "))
        return f"{h}:{mi:02d}{sep}{h2}:{mi:02d}"
    dots = mark[0] in "ap" and "." in mark
    return f"{h}:{mi:02d} {'a.m.' if dots else 'AM'} – {rng.randint(1, 11)}:00 " \
        f"{'p.m.' if dots else 'PM'}"


def code_number(rng: random.Random) -> str:
    """Invoice, order, ticket and serial numbers: ``INV-2025-00417``, ``PO 88213``,
    ``SN1X7-22B``, ``REF/24/1101``."""
    prefix = rng.choice(lx.CODE_PREFIXES)
    year = rng.randint(2015, 2030)
    digits = "".join(str(rng.randrange(10)) for _ in range(rng.randint(3, 6)))
    form = rng.randrange(6)
    if form == 0:
        return f"{prefix}-{year}-{digits}"
    if form == 1:
        return f"{prefix} {digits}"
    if form == 2:
        return f"{prefix}{digits}"
    if form == 3:
        return f"{prefix}/{year % 100:02d}/{digits}"
    if form == 4:
        return _pattern(rng, rng.choice(("A9A9-99A", "AA99-A9A9", "9AA-999-A", "A99A9")))
    return f"{prefix}-{digits}-{rng.choice('ABCDEFGHJK')}"


def flight_number(rng: random.Random) -> str:
    """``CA1299``, ``MU 5137``, ``G1234`` (a train), ``BA0039``."""
    if rng.random() < 0.2:
        return f"{rng.choice('GDCKTZ')}{rng.randint(1, 9999)}"
    code = _pattern(rng, rng.choice(("AA", "AA", "A9", "9A")))
    space = " " if rng.random() < 0.25 else ""
    return f"{code}{space}{rng.randint(1, 9999):0{rng.choice((3, 4))}d}"


def english_address(rng: random.Random) -> str:
    """``Room 411, Building 3``, ``128 Maple Avenue``, ``P.O. Box 2031, Leeds``,
    ``Ottawa, ON K2P 7R4``, ``Apt. 4B, 17 Oak St.``."""
    street = f"{rng.choice(lx.STREET_WORDS_EN)} {rng.choice(lx.STREET_TYPES_EN)}"
    city, region, post = rng.choice(lx.PLACES_EN)
    place = f"{city}, {region} {_pattern(rng, post)}" if region else \
        f"{city} {_pattern(rng, post)}"
    form = rng.randrange(7)
    if form == 0:
        unit = rng.choice(lx.ROOM_WORDS)
        return f"{unit} {rng.randint(1, 2999)}, {rng.choice(lx.ROOM_WORDS)} {rng.randint(1, 40)}"
    if form == 1:
        return f"{rng.randint(1, 9999)} {street}"
    if form == 2:
        return f"P.O. Box {rng.randint(1, 99999)}, {city}"
    if form == 3:
        return place
    if form == 4:
        return f"Apt. {rng.randint(1, 40)}{rng.choice('ABCDEF')}, {rng.randint(1, 999)} {street}"
    if form == 5:
        return f"No. {rng.randint(1, 999)} {street}, {city}"
    return f"{rng.randint(1, 999)} {street}, {place}"


def english_phone(rng: random.Random) -> str:
    """``+1 (617) 555-0142``, ``+86 10 6275 1234``, ``+44 20 7946 0018 ext. 21``."""
    form = rng.randrange(4)
    if form == 0:
        s = f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    elif form == 1:
        s = f"+86 {rng.randint(10, 29)} {rng.randint(1000, 9999)} {rng.randint(0, 9999):04d}"
    elif form == 2:
        s = f"+44 {rng.randint(20, 99)} {rng.randint(1000, 9999)} {rng.randint(0, 9999):04d}"
    else:
        s = phone(rng)
    return s + (f" ext. {rng.randint(1, 999)}" if rng.random() < 0.1 else "")


def english_money(rng: random.Random) -> str:
    """``$1,234.56``, ``RMB 8,000``, ``USD 120.00``, ``€45.90``, ``£1,200``."""
    n = int(10 ** rng.uniform(0.5, 6))
    num = group_thousands(n) + (f".{rng.randint(0, 99):02d}" if rng.random() < 0.5 else "")
    return rng.choice((f"${num}", f"RMB {num}", f"USD {num}", f"€{num}", f"£{num}",
                       f"CNY {num}", f"HK${num}", f"{num} yuan"))


def _salutation(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"Dear {english_name(rng)}{rng.choice((',', ',', ':'))}"
    return rng.choice(("Dear Sir or Madam,", "To whom it may concern:", "Yours sincerely,",
                       "Yours faithfully,", "Best regards,", "Kind regards,", "Sincerely,",
                       "Thank you,", "Dear Applicant,", "Dear Students,"))


def _title_words(rng: random.Random) -> str:
    """``Civil Engineering``, ``Applied Physics and Chemistry``: capitalised words."""
    words = [rng.choice(lx.ENGLISH_WORDS).capitalize() for _ in range(rng.randint(1, 3))]
    if len(words) == 3 and rng.random() < 0.5:
        words[1] = "and"
    return " ".join(words)


_EN_VALUES: dict[str, Callable[[random.Random], str]] = {
    "words": _title_words,
    "name": english_name, "date": english_date, "time": english_time, "code": code_number,
    "flight": flight_number, "address": english_address, "phone": english_phone,
    "money": english_money, "email": email, "url": url,
}
# which values each English label takes (a label not named here takes a code)
_EN_LABEL_VALUES = {
    "Name": "name", "Full Name": "name", "Contact": "name", "Date of Birth": "date",
    "Date": "date", "Due Date": "date", "Issue Date": "date", "Time": "time",
    "Check-in": "time", "Check-out": "time", "Arrival": "time", "Departure": "time",
    "Address": "address", "Mailing Address": "address", "Venue": "address",
    "Room": "address", "Tel": "phone", "Tel.": "phone", "Phone": "phone", "Mobile": "phone",
    "Fax": "phone", "E-mail": "email", "Email": "email", "Website": "url", "Flight": "flight",
    "Amount": "money", "Amount Due": "money", "Total": "money", "Subtotal": "money",
    "Balance": "money", "Deposit": "money", "Programme": "words", "Major": "words",
    "Department": "words", "Nationality": "words",
}


def english_field(rng: random.Random) -> str:
    """A line of an English form, letter, invoice or ticket: ``Invoice No.: INV-2025-00417``,
    ``Check-in: 2:00 p.m., Sep. 20``, ``Dear Dr. Wang,``, ``P.O. Box 2031, Leeds``."""
    r = rng.random()
    if r < 0.12:
        return _salutation(rng)
    if r < 0.3:
        return rng.choice(tuple(v for k, v in _EN_VALUES.items() if k != "words"))(rng)
    label = rng.choice(lx.FIELD_LABELS_EN)
    value = _EN_VALUES[_EN_LABEL_VALUES.get(label, "code")](rng)
    if label in ("Check-in", "Check-out", "Arrival", "Departure") and rng.random() < 0.5:
        value += f", {english_date(rng)}"
    elif label == "Seat":
        value = _pattern(rng, rng.choice(("99A", "9A", "A9")))
    elif label == "Gate":
        value = _pattern(rng, rng.choice(("A9", "A99", "99", "9")))
    colon = rng.choice((": ", ": ", ":", " ", " - "))
    return f"{label}{colon}{value}"

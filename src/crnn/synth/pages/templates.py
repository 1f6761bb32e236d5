"""Documents for the page-rendered validation set: admission letters, notices, forms.

The text here is written for this module alone and is deliberately independent of the
training-text generator, so that a model validated on these pages has not seen their
wording (nor, unless it trained on ``--text`` pages, their typesetting). Every document
is a list of :class:`Para`, :class:`Table` and :class:`Columns` blocks;
:func:`make_document` builds one from a seed, deterministically.

:func:`fill_text` keeps a document's layout and replaces its wording with lines of another
text (``crnn synth pages --text``): training lines typeset by the same software as the
validation pages, without their wording.

Text conventions (the labels inherit them): NFC, no leading/trailing space, single spaces
only between non-CJK characters (``Computer Science``, ``+86 10 6275 1234``), never next to
a CJK character or a full-width punctuation mark (``录取专业：Computer Science``).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .. import fields

__all__ = [
    "Columns", "Document", "Para", "Table", "DOCUMENT_KINDS", "document_lines",
    "fill_text", "make_document", "normalize_text",
]


# --------------------------------------------------------------------------- text form

def _is_wide(ch: str) -> bool:
    """CJK characters and full-width forms: no space is kept beside them."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def normalize_text(text: str) -> str:
    """NFC, whitespace runs -> one space, no space beside a wide (CJK) character."""
    words = unicodedata.normalize("NFC", text).split()
    out: list[str] = []
    for w in words:
        if out and not _is_wide(out[-1][-1]) and not _is_wide(w[0]):
            out.append(" ")
        out.append(w)
    return "".join(out)


# --------------------------------------------------------------------------- blocks

@dataclass(frozen=True)
class Para:
    """A paragraph. ``role`` picks its style: title, subtitle, heading, body, body-noindent,
    small, right, center, header, footer, redhead."""

    text: str
    role: str = "body"
    underline: bool = False


@dataclass(frozen=True)
class Table:
    """A bordered (or borderless) table of strings; ``widths`` are relative column widths."""

    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    header: bool = False
    borders: bool = True


@dataclass(frozen=True)
class Columns:
    """Paragraphs flowed in ``count`` columns (a two-column newsletter section)."""

    paras: tuple[Para, ...]
    count: int = 2


Block = Para | Table | Columns


@dataclass(frozen=True)
class Document:
    """A document to lay out on A4; ``style`` holds the typographic choices (fonts, sizes,
    margins, spacing) drawn for it; ``header``/``footer`` repeat on every page."""

    kind: str
    blocks: tuple[Block, ...]
    header: str = ""
    footer: str = ""
    style: dict[str, object] = field(default_factory=dict)


def document_lines(doc: Document) -> list[str]:
    """Every source text of the document (paragraphs, cells, header, footer), in order."""
    out: list[str] = []
    if doc.header:
        out.append(doc.header)
    for b in doc.blocks:
        if isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Table):
            out.extend(c for row in b.rows for c in row if c)
        else:
            out.extend(p.text for p in b.paras)
    if doc.footer:
        out.append(doc.footer)
    return out


# --------------------------------------------------------------------------- word lists

_SURNAMES = [
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
    ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"),
    ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"), ("郑", "Zheng"),
    ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"), ("唐", "Tang"), ("许", "Xu"),
    ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"),
    ("曾", "Zeng"), ("肖", "Xiao"), ("田", "Tian"), ("董", "Dong"), ("袁", "Yuan"),
    ("潘", "Pan"), ("蒋", "Jiang"), ("蔡", "Cai"), ("余", "Yu"), ("杜", "Du"), ("叶", "Ye"),
    ("程", "Cheng"), ("苏", "Su"), ("魏", "Wei"), ("吕", "Lü"), ("丁", "Ding"),
    ("沈", "Shen"), ("姚", "Yao"), ("卢", "Lu"), ("姜", "Jiang"), ("崔", "Cui"),
    ("钟", "Zhong"), ("谭", "Tan"), ("陆", "Lu"), ("范", "Fan"), ("金", "Jin"),
    ("石", "Shi"), ("贾", "Jia"), ("夏", "Xia"), ("方", "Fang"), ("白", "Bai"),
    ("孟", "Meng"), ("秦", "Qin"), ("邱", "Qiu"), ("江", "Jiang"), ("薛", "Xue"),
    ("雷", "Lei"), ("侯", "Hou"), ("龙", "Long"), ("贺", "He"), ("顾", "Gu"),
    ("欧阳", "Ouyang"), ("司马", "Sima"), ("诸葛", "Zhuge"),
]

_GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("英", "ying"),
    ("华", "hua"), ("玉", "yu"), ("兰", "lan"), ("萍", "ping"), ("鹏", "peng"),
    ("辉", "hui"), ("建", "jian"), ("文", "wen"), ("斌", "bin"), ("宇", "yu"),
    ("浩", "hao"), ("凯", "kai"), ("晨", "chen"), ("欣", "xin"), ("怡", "yi"),
    ("子", "zi"), ("轩", "xuan"), ("涵", "han"), ("梓", "zi"), ("睿", "rui"),
    ("博", "bo"), ("雨", "yu"), ("思", "si"), ("嘉", "jia"), ("佳", "jia"), ("琪", "qi"),
    ("诺", "nuo"), ("俊", "jun"), ("晓", "xiao"), ("天", "tian"), ("昊", "hao"),
    ("然", "ran"), ("宁", "ning"), ("远", "yuan"), ("婷", "ting"), ("雪", "xue"),
    ("梅", "mei"), ("琳", "lin"), ("瑶", "yao"), ("颖", "ying"), ("航", "hang"),
    ("毅", "yi"), ("峰", "feng"), ("志", "zhi"), ("海", "hai"), ("欢", "huan"),
    ("晶", "jing"), ("璐", "lu"), ("鑫", "xin"), ("泽", "ze"), ("铭", "ming"),
]

# (Chinese prefix, English prefix, e-mail/domain initial)
_UNI_PREFIX = [
    ("华东", "East China", "ec"), ("华南", "South China", "sc"), ("西北", "Northwest", "nw"),
    ("东北", "Northeast", "ne"), ("江南", "Jiangnan", "jn"), ("岭南", "Lingnan", "ln"),
    ("中原", "Zhongyuan", "zy"), ("滨海", "Binhai", "bh"), ("长江", "Changjiang", "cj"),
    ("西南", "Southwest", "sw"), ("东海", "Donghai", "dh"), ("北方", "North", "n"),
    ("南方", "Southern", "s"), ("黄河", "Huanghe", "hh"), ("燕山", "Yanshan", "ys"),
    ("湘江", "Xiangjiang", "xj"), ("太湖", "Taihu", "th"), ("渤海", "Bohai", "bo"),
]
# (Chinese type, English pattern, domain suffix)
_UNI_TYPE = [
    ("理工大学", "{} University of Technology", "ut"),
    ("师范大学", "{} Normal University", "nu"),
    ("科技大学", "{} University of Science and Technology", "ust"),
    ("财经大学", "{} University of Finance and Economics", "ufe"),
    ("医科大学", "{} Medical University", "mu"),
    ("农业大学", "{} Agricultural University", "au"),
    ("交通大学", "{} Jiaotong University", "jtu"),
    ("工业大学", "{} Polytechnic University", "pu"),
    ("外国语大学", "{} International Studies University", "isu"),
    ("大学", "{} University", "u"),
    ("政法大学", "{} University of Political Science and Law", "upl"),
]

# 学院 -> [(专业, English name)]
_COLLEGES: dict[str, list[tuple[str, str]]] = {
    "信息科学技术学院": [
        ("计算机科学与技术", "Computer Science and Technology"),
        ("软件工程", "Software Engineering"),
        ("电子信息工程", "Electronic Information Engineering"),
        ("人工智能", "Artificial Intelligence"),
        ("数据科学与大数据技术", "Data Science and Big Data Technology"),
        ("通信工程", "Communication Engineering")],
    "机械与动力工程学院": [
        ("机械设计制造及其自动化", "Mechanical Design, Manufacturing and Automation"),
        ("车辆工程", "Vehicle Engineering"), ("能源与动力工程", "Energy and Power Engineering")],
    "经济与管理学院": [
        ("金融学", "Finance"), ("会计学", "Accounting"), ("工商管理", "Business Administration"),
        ("国际经济与贸易", "International Economics and Trade")],
    "外国语学院": [("英语", "English"), ("日语", "Japanese"), ("翻译", "Translation")],
    "数学科学学院": [
        ("数学与应用数学", "Mathematics and Applied Mathematics"), ("统计学", "Statistics"),
        ("信息与计算科学", "Information and Computing Science")],
    "物理学院": [("应用物理学", "Applied Physics"), ("光电信息科学与工程",
                                                 "Optoelectronic Information Science")],
    "化学与化工学院": [
        ("化学", "Chemistry"), ("化学工程与工艺", "Chemical Engineering and Technology")],
    "医学院": [("临床医学", "Clinical Medicine"), ("护理学", "Nursing"), ("药学", "Pharmacy")],
    "法学院": [("法学", "Law")],
    "土木工程学院": [("土木工程", "Civil Engineering"), ("建筑学", "Architecture")],
    "人文学院": [("汉语言文学", "Chinese Language and Literature"), ("历史学", "History")],
    "生命科学学院": [("生物科学", "Biological Sciences"), ("生物技术", "Biotechnology")],
    "环境学院": [("环境工程", "Environmental Engineering")],
}

_COLLEGES_EN = {
    "信息科学技术学院": "School of Information Science and Technology",
    "机械与动力工程学院": "School of Mechanical and Power Engineering",
    "经济与管理学院": "School of Economics and Management",
    "外国语学院": "School of Foreign Languages",
    "数学科学学院": "School of Mathematical Sciences",
    "物理学院": "School of Physics",
    "化学与化工学院": "School of Chemistry and Chemical Engineering",
    "医学院": "School of Medicine",
    "法学院": "Law School",
    "土木工程学院": "School of Civil Engineering",
    "人文学院": "School of Humanities",
    "生命科学学院": "School of Life Sciences",
    "环境学院": "School of Environment",
}

_PLACES = [
    "北京市海淀区", "上海市徐汇区", "广东省广州市天河区", "江苏省南京市鼓楼区",
    "浙江省杭州市西湖区", "湖北省武汉市洪山区", "四川省成都市武侯区", "陕西省西安市碑林区",
    "山东省济南市历下区", "河南省郑州市金水区", "湖南省长沙市岳麓区", "福建省厦门市思明区",
    "辽宁省沈阳市和平区", "黑龙江省哈尔滨市南岗区", "天津市南开区", "重庆市沙坪坝区",
    "云南省昆明市五华区", "安徽省合肥市蜀山区", "江西省南昌市青山湖区", "吉林省长春市朝阳区",
    "广西壮族自治区南宁市青秀区", "甘肃省兰州市城关区", "河北省石家庄市裕华区",
    "山西省太原市小店区", "贵州省贵阳市云岩区", "内蒙古自治区呼和浩特市赛罕区",
    "新疆维吾尔自治区乌鲁木齐市天山区", "海南省海口市美兰区",
]
_ROADS = [
    "学院路", "中山路", "人民路", "解放大道", "建设路", "科技路", "文化路", "长江路",
    "黄河路", "珠江路", "光明街", "新华路", "友谊路", "和平大街", "滨江路", "青年路",
    "胜利街", "东风路", "五四路", "南湖大道", "西湖路", "金桥路",
]
_BANKS = ["中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行"]
_NATIONS = ["汉族", "汉族", "汉族", "回族", "满族", "蒙古族", "壮族", "苗族", "土家族", "彝族"]
_POLITICS = ["共青团员", "群众", "中共党员", "共青团员"]
_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]


# --------------------------------------------------------------------------- values

class _Facts:
    """The random particulars of one document (a student, a university, dates, money)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        sur, sur_py = rng.choice(_SURNAMES)
        given = [rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2, 2)))]
        self.name = sur + "".join(g for g, _ in given)
        self.name_en = f"{sur_py} {''.join(p for _, p in given).capitalize()}"
        self.name_en_upper = f"{sur_py.upper()} {''.join(p for _, p in given).capitalize()}"
        self.gender = rng.choice(("男", "女"))
        pre, pre_en, pre_d = rng.choice(_UNI_PREFIX)
        typ, typ_en, typ_d = rng.choice(_UNI_TYPE)
        self.uni = pre + typ
        self.uni_en = typ_en.format(pre_en)
        self.domain = f"{pre_d}{typ_d}.edu.cn"
        self.college = rng.choice(sorted(_COLLEGES))
        self.major, self.major_en = rng.choice(_COLLEGES[self.college])
        self.year = rng.choice((2024, 2025, 2026))
        self.month = rng.choice((8, 9, 9, 9))
        self.day = rng.randint(1, 6) if self.month == 9 else rng.randint(25, 31)
        self.place = rng.choice(_PLACES)
        self.uni_place = rng.choice(_PLACES)
        self.level = rng.choice(("本科", "本科", "本科", "硕士研究生", "博士研究生"))
        self.years = {"本科": 4, "硕士研究生": 3, "博士研究生": 4}[self.level]
        if self.major == "临床医学" and self.level == "本科":
            self.years = 5
        self.tuition = rng.choice((4600, 5000, 5500, 5800, 6000, 6500, 8000, 12800, 26000))
        self.dorm = rng.choice((800, 1000, 1200, 1500, 1800, 2400))
        self.student_id = f"{self.year}{rng.randint(0, 99999999):08d}"
        self.exam_id = f"{self.year % 100:02d}{rng.randint(10, 65)}"
        self.exam_id += f"{rng.randint(0, 10**10 - 1):010d}"
        self.letter_no = f"{self.year}{rng.randint(1, 99999):05d}"

    # small formatters -----------------------------------------------------------------
    def date(self, y: int | None = None, m: int | None = None, d: int | None = None,
             style: str | None = None) -> str:
        rng = self.rng
        y = self.year if y is None else y
        m = rng.randint(1, 12) if m is None else m
        d = rng.randint(1, 28) if d is None else d
        style = style or rng.choice(("cn", "cn", "cn", "dash", "dot"))
        if style == "cn":
            return f"{y}年{m}月{d}日"
        if style == "dash":
            return f"{y}-{m:02d}-{d:02d}"
        if style == "dot":
            return f"{y}.{m:02d}.{d:02d}"
        if style == "en":
            return f"{_MONTHS_EN[m - 1]} {d}, {y}"
        if style == "en2":
            return f"{d} {_MONTHS_EN[m - 1]} {y}"
        return fields.chinese_date(y, m, d)

    def report_date(self, style: str | None = None) -> str:
        return self.date(self.year, self.month, self.day, style)

    def birthday(self) -> str:
        y = self.year - self.rng.choice((17, 18, 18, 19, 22, 23))
        return self.date(y, self.rng.randint(1, 12), self.rng.randint(1, 28),
                         self.rng.choice(("cn", "dash", "dot")))

    def phone(self) -> str:
        rng = self.rng
        area = rng.choice(("010", "021", "020", "025", "027", "028", "029", "0571", "0731"))
        n = rng.randint(10**7, 10**8 - 1) if len(area) == 3 else rng.randint(10**6, 10**7 - 1)
        s = str(n)
        kind = rng.randrange(4)
        if kind == 0:
            return f"{area}-{s}"
        if kind == 1:
            return f"({area}) {s[:4]} {s[4:]}"
        if kind == 2:
            return f"+86 {area[1:]} {s[:4]} {s[4:]}"
        return f"{area}-{s[:4]}{s[4:]}"

    def mobile(self) -> str:
        rng = self.rng
        s = rng.choice(("138", "139", "136", "150", "152", "158", "177", "186", "189"))
        s += f"{rng.randint(0, 10**8 - 1):08d}"
        return s if rng.random() < 0.6 else f"{s[:3]} {s[3:7]} {s[7:]}"

    def id_card(self) -> str:
        rng = self.rng
        body = f"{rng.randint(110000, 659000)}{self.year - 18}{rng.randint(1, 12):02d}"
        body += f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        return body + rng.choice("0123456789X")

    def address(self) -> str:
        rng = self.rng
        s = f"{self.place}{rng.choice(_ROADS)}{rng.randint(1, 399)}号"
        if rng.random() < 0.5:
            s += f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 1808)}室"
        return s

    def uni_address(self) -> str:
        return f"{self.uni_place}{self.rng.choice(_ROADS)}{self.rng.randint(1, 999)}号"

    def postcode(self) -> str:
        return f"{self.rng.randint(100000, 850000)}"

    def email(self, who: str = "office") -> str:
        rng = self.rng
        if who == "student":
            user = self.name_en.replace(" ", "").lower().replace("ü", "v")
            user += rng.choice(("", str(self.year), str(rng.randint(1, 999)), "_" + "cn"))
            return f"{user}@{rng.choice(('163.com', 'qq.com', 'foxmail.com', 'outlook.com'))}"
        return f"{rng.choice(('zsb', 'admission', 'zsxx', 'office', 'xsc'))}@{self.domain}"

    def url(self) -> str:
        return self.rng.choice((f"https://www.{self.domain}", f"http://zsb.{self.domain}",
                                f"https://www.{self.domain}/zsxx/", f"www.{self.domain}"))

    def money(self, value: float, style: str | None = None) -> str:
        style = style or self.rng.choice(("yuan", "dec", "rmb", "plain"))
        if style == "yuan":
            return f"{value:,.0f}元"
        if style == "dec":
            return f"{value:,.2f}"
        if style == "rmb":
            return f"¥{value:,.2f}"
        return f"{value:.0f}元"


# --------------------------------------------------------------------------- sentences

_SENTENCES_CN = [
    "新生入学后须参加学校统一组织的入学资格复查和身体健康检查，复查不合格者按有关规定处理。",
    "学校实行学分制管理，学生在规定的学习年限内修满培养方案要求的学分方可毕业。",
    "请认真阅读随通知书寄送的《新生入学须知》，按要求做好各项准备工作。",
    "家庭经济困难的新生可通过“绿色通道”先办理入学手续，再根据核实情况给予资助。",
    "学校设有国家奖学金、国家励志奖学金、国家助学金以及多项社会捐助奖学金。",
    "新生报到时须本人持录取通知书、身份证原件及复印件办理报到手续，不得由他人代办。",
    "因故不能按期报到者，应事先以书面形式向所在学院请假，假期一般不超过两周。",
    "学生宿舍配有空调、热水器和网络接口，住宿费按学校物价部门核定的标准收取。",
    "军事技能训练安排在开学后第一周进行，请新生提前准备运动鞋和防晒用品。",
    "未经请假或者请假逾期者，除因不可抗力等正当事由以外，视为放弃入学资格。",
    "图书馆现有纸质藏书三百余万册，电子图书和期刊数据库可在校园网内免费使用。",
    "为方便新生及家长，学校将在火车站和机场设立接站点，提供免费班车服务。",
    "学费、住宿费可通过银行代扣或网上缴费平台缴纳，请于报到前确保账户余额充足。",
    "本通知书是新生报到的重要凭证，请妥善保管，遗失不补。",
    "各学院应高度重视此项工作，认真组织，确保各项工作按时完成。",
    "请各单位于规定时间前将汇总材料报送教务处，电子版同时发送至指定邮箱。",
    "会议期间请将手机调至静音状态，并遵守会场纪律。",
    "疫苗接种记录、户口迁移证等材料请按照《入学须知》的说明准备。",
    "学校位于城市东部，校园面积约两千亩，环境优美，交通便利。",
    "本次考试采用闭卷笔试形式，考试时间为一百二十分钟，满分一百分。",
    "申请人须具有良好的思想品德，遵守国家法律法规和学校各项规章制度。",
    "逾期未提交材料的，视为自动放弃，由此产生的后果由申请人自行承担。",
    "实验室开放时间为每周一至周五，周末及法定节假日需提前预约。",
    "课程成绩由平时成绩、期中考试和期末考试三部分组成，比例分别为30%、20%和50%。",
    "研究团队在国际期刊上发表论文二十余篇，其中三篇入选高被引论文。",
    "该项目获得国家自然科学基金资助，研究周期为三年，经费总额为58万元。",
    "今年共有来自全国31个省、自治区、直辖市的4,200余名新生加入学校。",
    "讲座将于下午两点在图书馆报告厅举行，欢迎广大师生踊跃参加。",
    "毕业设计（论文）答辩工作将于五月下旬开始，具体安排另行通知。",
    "学生如对成绩有异议，可在成绩公布后五个工作日内向开课学院提出复核申请。",
    "校医院提供二十四小时急诊服务，新生入学体检在校医院统一进行。",
    "志愿者服务队将在报到当天为新生提供引导、咨询和行李搬运等服务。",
    "网络安全意识教育是新生入学教育的重要内容之一，请同学们提高防范意识。",
    "防范电信诈骗：学校不会通过电话或短信要求新生向个人账户转账汇款。",
    "食堂、超市、浴室等场所均可使用校园卡消费，校园卡丢失后应及时挂失。",
    "本学期选课分为预选、正选和补退选三个阶段，逾期不再受理。",
    "凡有抄袭、剽窃等学术不端行为者，一经查实，取消其评奖评优资格。",
    "运动会将于十月中旬在东区田径场举行，各学院须于本月底前报送参赛名单。",
    "新建的综合实验楼总建筑面积约三万平方米，配备先进的仪器设备。",
    "寒假自一月十五日开始，下学期学生于二月二十四日返校注册。",
    "经学校研究决定，对在抗洪救灾中表现突出的集体和个人予以表彰。",
    "各班级应在辅导员指导下选举产生班委会，并将名单报学院备案。",
    "如遇雷雨、台风等恶劣天气，户外活动一律暂停，请关注学校官方通知。",
    "毕业生离校前须归还图书馆借阅的全部图书，并结清各类费用。",
    "校友会向母校捐赠图书两千册，用于充实院系资料室的专业藏书。",
    "本科生导师制旨在加强对学生的学业指导，每位导师指导学生不超过八名。",
    "参加暑期社会实践的同学，请在返校后两周内提交实践报告和鉴定表。",
    "学生公寓实行门禁管理，晚上十一点以后进出须刷卡登记。",
    "教师节前夕，学校隆重表彰了一批优秀教师和教学管理先进个人。",
    "该成果已申请发明专利三项，并在两家企业实现了转化应用。",
]

_SENTENCES_EN = [
    "Please bring this letter, your identity card and four passport-sized photos on "
    "registration day.",
    "Tuition and accommodation fees must be paid before the start of the autumn semester.",
    "International students should apply for a residence permit within 30 days of arrival.",
    "The orientation programme includes a campus tour, a library session and a safety talk.",
    "All courses in the first year are taught in Chinese unless stated otherwise.",
    "Students are expected to attend at least 80% of the scheduled classes.",
    "A shuttle bus runs between the railway station and the main gate every 30 minutes.",
    "The university reserves the right to cancel the admission of any student who fails "
    "the health check.",
    "For questions about scholarships, please contact the Student Affairs Office.",
    "Our campus covers an area of 1,300,000 square metres and has 26 teaching buildings.",
    "The deadline for online registration is 5:00 p.m., Friday.",
    "Laboratory safety training is compulsory for all new graduate students.",
    "Late registration will not be accepted without written approval from the college.",
    "Each dormitory room is shared by four students and has a private bathroom.",
    "Visiting scholars may borrow up to 20 books at a time for a period of six weeks.",
    "The Career Centre offers CV workshops every Wednesday from 2:30 to 4:00 p.m.",
    "Your student card gives access to the gym, the swimming pool and all libraries.",
    "Exchange students must submit a learning agreement signed by both universities.",
    "Medical insurance is compulsory and costs about RMB 800 per academic year.",
    "Please keep a copy of your payment receipt until the end of your studies.",
]

_NOTICE_TOPICS = [
    ("关于做好{y}级新生入学教育工作的通知", "入学教育"),
    ("关于开展{y}年秋季学期教学检查的通知", "教学检查"),
    ("关于组织申报{y}年度大学生创新创业训练计划项目的通知", "项目申报"),
    ("关于做好{y}年国庆节放假及安全工作的通知", "放假安排"),
    ("关于举办第{n}届校园科技文化节的通知", "科技文化节"),
    ("关于{y}年度国家奖学金评审工作的通知", "奖学金评审"),
    ("关于调整校园班车运行时间的通知", "班车调整"),
    ("关于开展学生宿舍安全检查的通知", "安全检查"),
]

_CN_NUMBERED = ["一、", "二、", "三、", "四、", "五、", "六、"]


# --------------------------------------------------------------------------- documents

def _date_sign(f: _Facts, signer: str, style: str | None = None) -> list[Para]:
    d = f.date(f.year, f.rng.randint(6, 8), f.rng.randint(1, 28), style)
    return [Para(signer, "right"), Para(d, "right")]


def _admission_letter(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    blocks: list[Block] = [Para(f.uni, "redhead"), Para(f.uni_en, "center")]
    blocks.append(Para(rng.choice(("录取通知书", "录取通知书", "新生录取通知书")), "title"))
    blocks.append(Para(f"编号：{f.letter_no}", "right"))
    blocks.append(Para(f"{f.name}同学：", "body-noindent", underline=rng.random() < 0.3))
    blocks.append(Para(
        f"经{rng.choice(('省招生委员会', '教育部', '学校招生委员会'))}批准，你被录取到我校"
        f"{f.college}{f.major}专业（{f.level}，学制{f.years}年）学习。请于"
        f"{f.report_date('cn')}凭本通知书到校报到。"))
    blocks.append(Para("".join(rng.sample(_SENTENCES_CN, rng.randint(1, 3)))))
    if rng.random() < 0.5:
        blocks.append(Para("特此通知。"))
    blocks += _date_sign(f, f"{f.uni}招生办公室", "cn")
    blocks.append(Para("报到须知", "heading"))
    items = [
        f"报到时间：{f.report_date()}{rng.choice(('，8:30—17:00', '上午8:00至下午5:00', ''))}",
        f"报到地点：{f.uni_address()}（{f.college}迎新点）",
        f"学费标准：每学年{f.money(f.tuition, 'yuan')}，住宿费每学年{f.money(f.dorm, 'yuan')}",
        f"联系电话：{f.phone()}，邮政编码：{f.postcode()}",
        f"电子邮箱：{f.email()}",
        f"学校网址：{f.url()}",
        rng.choice(_SENTENCES_CN),
        rng.choice(_SENTENCES_CN),
    ]
    rng.shuffle(items)
    numbering = rng.choice(("{}．", "{}、", "（{}）", "{}."))
    for i, it in enumerate(items[: rng.randint(4, len(items))], 1):
        blocks.append(Para(numbering.format(i) + it, "body"))
    header = "" if rng.random() < 0.5 else f"{f.uni}本科招生办公室"
    footer = "" if rng.random() < 0.4 else f"地址：{f.uni_address()}，电话：{f.phone()}"
    return blocks, header, footer


def _english_letter(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    blocks: list[Block] = [Para(f.uni_en, "redhead"), Para(f.uni, "center"),
                           Para("Letter of Admission", "title"),
                           Para(f"No. {f.letter_no}", "right"),
                           Para(f.date(f.year, rng.randint(6, 8), rng.randint(1, 28),
                                       rng.choice(("en", "en2"))), "right"),
                           Para(f"Dear {f.name_en_upper} ({f.name}),", "body-noindent")]
    deg = {"本科": "Bachelor's", "硕士研究生": "Master's", "博士研究生": "Doctoral"}[f.level]
    blocks.append(Para(
        f"Congratulations! We are pleased to inform you that you have been admitted to the "
        f"{deg} programme in {f.major_en} at {f.uni_en}. The programme lasts {f.years} years."))
    blocks.append(Para(
        f"Please report to the {_COLLEGES_EN[f.college]} on "
        f"{f.report_date(rng.choice(('en', 'en2')))}. "
        f"The annual tuition fee is RMB {f.tuition:,} and accommodation costs RMB {f.dorm:,} "
        f"per year."))
    blocks.append(Para(" ".join(rng.sample(_SENTENCES_EN, 2))))
    rows = [("Student ID", f.student_id), ("Name", f.name_en),
            ("Programme", f.major_en), ("E-mail", f.email("student")),
            ("Telephone", f.phone())]
    blocks.append(Table(tuple(rows), (1.0, 2.4)))
    blocks.append(Para(rng.choice(_SENTENCES_EN)))
    blocks += [Para("Yours sincerely,", "body-noindent"),
               Para("Admissions Office", "body-noindent"),
               Para(f"{f.uni_en} · {f.url()}", "body-noindent")]
    return blocks, "", f"Tel: {f.phone()} E-mail: {f.email()}"


def _notice(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    topic, _ = rng.choice(_NOTICE_TOPICS)
    title = topic.format(y=f.year, n=rng.randint(3, 30))
    blocks: list[Block] = [Para(f"{f.uni}文件", "redhead"),
                           Para(f"校发〔{f.year}〕{rng.randint(1, 120)}号", "center"),
                           Para(title, "title"),
                           Para(rng.choice(("各学院、各部门：", "各学院、各有关单位：",
                                            "全校师生：")), "body-noindent"),
                           Para("".join(rng.sample(_SENTENCES_CN, 2)) + "现将有关事项通知如下：")]
    heads = rng.sample(("时间安排", "工作要求", "组织实施", "材料报送", "注意事项", "联系方式",
                        "申报条件", "评审程序"), rng.randint(2, 5))
    for i, head in enumerate(heads):
        blocks.append(Para(_CN_NUMBERED[i] + head, "heading"))
        if head == "联系方式":
            blocks.append(Para(f"联系人：{_Facts(rng).name}，电话：{f.phone()}，"
                               f"邮箱：{f.email()}"))
        elif head == "时间安排":
            m, d = rng.randint(3, 11), rng.randint(1, 14)
            blocks.append(Para(f"{f.date(m=m, d=d, style='cn')}至"
                               f"{f.date(m=m, d=d + rng.randint(3, 14), style='cn')}，"
                               f"地点：{f.uni_address()}。"))
        else:
            blocks.append(Para("".join(rng.sample(_SENTENCES_CN, rng.randint(1, 3)))))
    if rng.random() < 0.5:
        blocks.append(Para(f"附件：{rng.choice(('申报汇总表', '日程安排表', '报名表'))}"
                           f"（{rng.choice(('Word', 'Excel', 'PDF'))}格式）", "body"))
    blocks += _date_sign(f, rng.choice((f"{f.uni}教务处", f"{f.uni}学生工作部", f"{f.uni}办公室")),
                         rng.choice(("cn", "upper")))
    return blocks, "", ""


def _registration_form(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    blocks: list[Block] = [Para(f.uni, "subtitle"),
                           Para(f"{f.year}级新生入学登记表", "title"),
                           Para(f"填表日期：{f.report_date('cn')}", "right")]
    rows = [
        ("姓名", f.name, "性别", f.gender),
        ("出生日期", f.birthday(), "民族", rng.choice(_NATIONS)),
        ("政治面貌", rng.choice(_POLITICS), "学制", f"{f.years}年"),
        ("学号", f.student_id, "考生号", f.exam_id),
        ("学院", f.college, "层次", f.level),
    ]
    blocks.append(Table(tuple(rows), (1.0, 1.6, 1.0, 1.6)))
    rows2 = [
        ("录取专业", f"{f.major}（{f.major_en}）"),
        ("身份证号", f.id_card()),
        ("家庭住址", f.address()),
        ("邮政编码", f.postcode()),
        ("联系电话", f.mobile()),
        ("电子邮箱", f.email("student")),
        ("紧急联系人", f"{_Facts(rng).name}（{rng.choice(('父亲', '母亲', '监护人'))}）"
                      f" {f.mobile()}"),
    ]
    blocks.append(Table(tuple(rows2[: rng.randint(4, len(rows2))]), (1.0, 4.2)))
    blocks.append(Para("说明", "heading"))
    blocks.append(Para("1. 本表由新生本人如实填写，字迹工整，不得涂改。", "body"))
    blocks.append(Para(f"2. 填写完毕后于{f.report_date()}前交所在学院学生工作办公室。", "body"))
    blocks.append(Para("3. " + rng.choice(_SENTENCES_CN), "body"))
    return blocks, f"{f.uni}学生工作部制", ""


def _fee_statement(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    items = [("学费", "每学年", f.tuition), ("住宿费", "每学年", f.dorm),
             ("教材费（预收）", "每学年", rng.choice((400, 500, 600, 800))),
             ("体检费", "一次性", rng.choice((60, 80, 120))),
             ("城乡居民医疗保险", "每年", rng.choice((350, 380, 400))),
             ("军训服装费", "一次性", rng.choice((120, 150, 180)))]
    items = items[: rng.randint(3, len(items))]
    total = sum(v for _, _, v in items)
    style = rng.choice(("dec", "plain_num"))

    def amt(v: int) -> str:
        return f"{v:,.2f}" if style == "dec" else f"{v:,}"

    rows: list[tuple[str, ...]] = [("序号", "收费项目", "收费标准", "金额（元）")]
    rows += [(str(i), n, p, amt(v)) for i, (n, p, v) in enumerate(items, 1)]
    rows.append(("", "合计", "", amt(total)))
    blocks: list[Block] = [Para(f.uni, "subtitle"),
                           Para(rng.choice(("新生缴费通知单", "收费明细表", "学费缴纳通知")),
                                "title"),
                           Table(((f"姓名：{f.name}", f"学号：{f.student_id}"),), (1.0, 1.0),
                                 borders=False),
                           Para(f"专业：{f.major}", "body-noindent"),
                           Table(tuple(rows), (0.6, 2.0, 1.2, 1.4), header=True),
                           Para(f"合计金额（大写）：人民币{fields.money_upper(total)}",
                                "body-noindent"),
                           Para(f"收款单位：{f.uni}", "body-noindent"),
                           Para(f"开户银行：{rng.choice(_BANKS)}{f.uni_place[-3:-1]}支行",
                                "body-noindent"),
                           Para("账号：" + " ".join(f"{rng.randint(0, 9999):04d}"
                                                    for _ in range(rng.randint(4, 5))),
                                "body-noindent"),
                           Para(f"缴费截止日期：{f.report_date()}", "body-noindent"),
                           Para(rng.choice(_SENTENCES_CN))]
    blocks += _date_sign(f, f"{f.uni}财务处")
    return blocks, "", f"咨询电话：{f.phone()}，网址：{f.url()}"


def _newsletter(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    issue = rng.randint(1, 40)
    blocks: list[Block] = [Para(f"{f.uni}校报", "redhead"),
                           Table(((f"第{issue}期", f.date(style="cn"),
                                   f"主办：{f.uni}党委宣传部"),), (1.0, 1.5, 2.5), borders=False),
                           Para(rng.choice(("我校举行新生开学典礼", "学校召开本科教学工作会议",
                                            "科研团队取得重要进展", "国际交流合作再创新高")),
                                "title")]
    paras: list[Para] = []
    cn = rng.sample(_SENTENCES_CN, len(_SENTENCES_CN))
    en = rng.sample(_SENTENCES_EN, len(_SENTENCES_EN))
    for _ in range(rng.randint(6, 10)):
        if rng.random() < 0.25 and len(en) >= 2:
            paras.append(Para(" ".join(en.pop() for _ in range(2))))
        else:
            s = "".join(cn.pop() for _ in range(rng.randint(2, 3)))
            if rng.random() < 0.4:
                s += (f"{f.name}教授介绍，{rng.choice(list(_COLLEGES))}今年招收新生"
                      f"{rng.randint(120, 900)}人，比去年增长"
                      f"{rng.randint(2, 19)}.{rng.randint(0, 9)}%。")
            paras.append(Para(s))
    blocks.append(Columns(tuple(paras), 2))
    blocks.append(Para(f"（记者：{_Facts(rng).name}；通讯员：{_Facts(rng).name}）", "right"))
    return blocks, f"{f.uni_en} Newsletter", f"投稿邮箱：{f.email()}"


def _schedule(f: _Facts) -> tuple[list[Block], str, str]:
    rng = f.rng
    blocks: list[Block] = [Para(f.uni, "subtitle"),
                           Para(f"{f.year}级新生入学教育日程安排", "title")]
    rows: list[tuple[str, ...]] = [("日期", "时间", "内容", "地点")]
    events = ["新生报到注册", "开学典礼", "校史校情教育", "专业介绍与学业规划", "安全教育讲座",
              "图书馆使用培训", "心理健康测评", "军事技能训练动员大会", "班级见面会",
              "Welcome Party for International Students", "英语分级考试"]
    venues = ["体育馆", "大学生活动中心", "图书馆报告厅", "第一教学楼101", "各学院会议室",
              "East Campus Hall", "Room A-204"]
    day = f.day
    for ev in rng.sample(events, rng.randint(5, 8)):
        h = rng.choice((8, 9, 10, 14, 15, 19))
        rows.append((f"{f.month}月{day}日", f"{h}:{rng.choice(('00', '30'))}-{h + 2}:00", ev,
                     rng.choice(venues)))
        if rng.random() < 0.5:
            day += 1
    blocks.append(Table(tuple(rows), (1.1, 1.3, 2.6, 1.6), header=True))
    blocks.append(Para("备注", "heading"))
    blocks.append(Para(rng.choice(_SENTENCES_CN)))
    blocks.append(Para(f"如有疑问请联系{f.college}学生工作办公室，电话：{f.phone()}。"))
    blocks += _date_sign(f, f"{f.uni}学生工作部")
    return blocks, "", ""


_KINDS: dict[str, Callable[[_Facts], tuple[list[Block], str, str]]] = {
    "admission": _admission_letter,
    "admission-en": _english_letter,
    "notice": _notice,
    "form": _registration_form,
    "fees": _fee_statement,
    "newsletter": _newsletter,
    "schedule": _schedule,
}
DOCUMENT_KINDS: tuple[str, ...] = tuple(_KINDS)


def _normalized(blocks: list[Block]) -> Iterator[Block]:
    for b in blocks:
        if isinstance(b, Para):
            yield Para(normalize_text(b.text), b.role, b.underline)
        elif isinstance(b, Table):
            yield Table(tuple(tuple(normalize_text(c) for c in r) for r in b.rows), b.widths,
                        b.header, b.borders)
        else:
            yield Columns(tuple(Para(normalize_text(p.text), p.role, p.underline)
                                for p in b.paras), b.count)


def make_document(seed: int, index: int, kind: str | None = None) -> Document:
    """Document number ``index`` of the set drawn with ``seed`` (same inputs, same document).

    ``kind`` forces one of :data:`DOCUMENT_KINDS`; otherwise it is drawn. The typographic
    choices (``style``) are drawn separately by the renderer from the same seed.
    """
    rng = random.Random(f"crnn-pages/{seed}/{index}")
    if kind is None:
        kind = rng.choice(DOCUMENT_KINDS)
    elif kind not in _KINDS:
        raise ValueError(f"unknown document kind {kind!r}; one of {', '.join(DOCUMENT_KINDS)}")
    blocks, header, footer = _KINDS[kind](_Facts(rng))
    return Document(kind, tuple(_normalized(blocks)), normalize_text(header),
                    normalize_text(footer))


def _width(text: str) -> int:
    """Display width: a wide (CJK) character counts 2, any other 1."""
    return sum(2 if _is_wide(c) else 1 for c in text)


def _filler(target: int, lines: Sequence[str], rng: random.Random) -> str:
    """Lines drawn from ``lines`` and joined (a space between Latin neighbours) until the
    text is about ``target`` wide; the last line is cut to fit (at least one character)."""
    out = ""
    while True:
        line = normalize_text(rng.choice(lines))
        if not line:
            continue
        room = target - _width(out)
        if _width(line) > room:
            cut = ""
            for c in line:
                if _width(cut + c) > room:
                    break
                cut += c
            line = cut.strip() or (line[0] if not out else "")
        out = normalize_text(f"{out} {line}") if line else out
        if _width(out) >= target - 1 or not line:
            return out


def fill_text(doc: Document, lines: Sequence[str], rng: random.Random) -> Document:
    """``doc`` with every paragraph, table cell, header and footer replaced by text drawn
    from ``lines`` (non-empty strings) of about the same display width; roles, underlines,
    table shapes, empty cells and the kind are kept, so the page lays out alike."""
    lines = [t for t in lines if normalize_text(t)]
    if not lines:
        raise ValueError("fill_text needs at least one line of text that is not blank")

    def sub(text: str) -> str:
        return _filler(max(1, _width(text)), lines, rng) if text else ""

    blocks: list[Block] = []
    for b in doc.blocks:
        if isinstance(b, Para):
            blocks.append(Para(sub(b.text), b.role, b.underline))
        elif isinstance(b, Table):
            blocks.append(Table(tuple(tuple(sub(c) for c in r) for r in b.rows), b.widths,
                                b.header, b.borders))
        else:
            blocks.append(Columns(tuple(Para(sub(p.text), p.role, p.underline)
                                        for p in b.paras), b.count))
    return Document(doc.kind, tuple(blocks), sub(doc.header), sub(doc.footer), doc.style)

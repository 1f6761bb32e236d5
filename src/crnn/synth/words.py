"""Small hand-written word lists for document fields and English text.

Natural Chinese comes from jieba's frequency dictionary (see :mod:`.text`); these lists
only supply what a frequency dictionary lacks: name parts, place and field names, and a
modest English vocabulary (and the pieces of made-up English words).
"""

from __future__ import annotations

__all__ = [
    "SURNAMES", "COMPOUND_SURNAMES", "GIVEN_CHARS", "PROVINCES", "CITIES", "DISTRICTS",
    "ROADS", "ROAD_SUFFIXES", "SCHOOL_SUFFIXES", "MAJORS", "FIELD_LABELS", "ETHNIC",
    "ENGLISH_WORDS", "DOMAINS", "TLDS", "SYLLABLES", "ABBREVIATIONS", "ONSETS", "VOWELS",
    "CODAS", "TRANSLIT_CHARS", "GIVEN_NAMES_EN", "SURNAMES_EN", "STREET_WORDS_EN",
    "STREET_TYPES_EN", "PLACES_EN", "TITLES_EN", "CODE_PREFIXES", "FIELD_LABELS_EN",
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
    "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "令狐",
                     "慕容", "长孙", "宇文", "司徒", "夏侯")
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅鹏飞辉宇浩然子涵梓轩"
    "欣怡雨婷思远博文晨曦嘉欣佳琪俊杰志豪一鸣若曦诗雨家豪天佑晓东海燕立新永昌德胜春生秋"
    "冬雪松柏林森宏达振华卫东向阳丹阳旭彤彬亮琳婉莹颖慧慈悦瑶璐琦瑞祥睿哲铭泽昊宸煜皓"
    "逸凡安琪若彤雅静梦洁梓萱可馨紫涵心怡昕语桐钰淑珍凤兰秀英淑华少华金凤丽娟雯菲薇蕾"
    "晶莉萌鑫淼森垚焱炎坤乾磊锋锐钧铮启航宁静致远学勤书恒毅诚信仁义礼智德才兼备"
)
PROVINCES = ("北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省",
             "黑龙江省", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省",
             "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省",
             "甘肃省", "青海省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
             "宁夏回族自治区", "新疆维吾尔自治区")
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "南京", "武汉", "成都", "西安", "长沙",
          "郑州", "济南", "青岛", "沈阳", "大连", "哈尔滨", "长春", "石家庄", "太原", "合肥",
          "福州", "厦门", "南昌", "昆明", "贵阳", "南宁", "海口", "兰州", "西宁", "银川",
          "乌鲁木齐", "呼和浩特", "拉萨", "苏州", "无锡", "宁波", "温州", "佛山", "东莞",
          "珠海", "烟台", "洛阳", "徐州", "扬州", "绍兴", "桂林", "三亚", "秦皇岛", "保定")
DISTRICTS = ("海淀区", "朝阳区", "东城区", "西城区", "浦东新区", "徐汇区", "天河区", "越秀区",
             "南山区", "福田区", "西湖区", "鼓楼区", "玄武区", "洪山区", "武昌区", "锦江区",
             "雁塔区", "岳麓区", "金水区", "历下区", "和平区", "南岗区", "长安区", "蜀山区",
             "思明区", "五华区", "青秀区", "城关区", "高新区", "经济开发区", "新城区", "城中区")
ROADS = ("中山", "人民", "解放", "建设", "学院", "和平", "文化", "胜利", "光明", "新华",
         "长江", "黄河", "东风", "复兴", "科技", "创业", "青年", "迎宾", "滨江", "湖滨",
         "南京", "北京", "朝阳", "友谊", "团结", "健康", "幸福", "花园", "工业", "振兴")
ROAD_SUFFIXES = ("路", "大道", "街", "东路", "西路", "南路", "北路", "中路", "大街", "巷")
SCHOOL_SUFFIXES = ("大学", "理工大学", "师范大学", "医科大学", "科技大学", "工业大学",
                   "财经大学", "交通大学", "农业大学", "外国语大学", "职业技术学院", "学院",
                   "第一中学", "实验中学", "外国语学校")
MAJORS = ("计算机科学与技术", "软件工程", "人工智能", "数据科学与大数据技术", "电子信息工程",
          "通信工程", "自动化", "机械设计制造及其自动化", "土木工程", "建筑学", "临床医学",
          "口腔医学", "护理学", "药学", "法学", "汉语言文学", "英语", "日语", "新闻学",
          "经济学", "金融学", "会计学", "财务管理", "工商管理", "市场营销", "国际经济与贸易",
          "数学与应用数学", "物理学", "化学", "生物科学", "心理学", "历史学", "哲学",
          "教育学", "学前教育", "环境工程", "材料科学与工程", "能源与动力工程", "车辆工程",
          "电气工程及其自动化", "信息安全", "网络工程", "物联网工程", "统计学", "社会工作")
FIELD_LABELS = ("姓名", "性别", "民族", "出生日期", "身份证号", "考生号", "准考证号",
                "录取专业", "录取学院", "学院", "专业", "学制", "层次", "报到时间", "报到地点",
                "联系电话", "手机", "电话", "邮政编码", "邮编", "通讯地址", "家庭住址",
                "地址", "学费", "住宿费", "网址", "电子邮箱", "邮箱", "编号", "学号",
                "班级", "政治面貌", "籍贯", "毕业学校", "入学时间", "日期", "时间", "金额",
                "合计", "备注", "签发日期", "有效期", "收件人", "寄件人", "开户行", "账号")
ETHNIC = ("汉族", "回族", "满族", "壮族", "苗族", "维吾尔族", "土家族", "彝族", "蒙古族",
          "藏族", "布依族", "侗族", "瑶族", "朝鲜族", "白族", "哈尼族")

# A modest general vocabulary for English lines: common words roughly by frequency, then
# words with doubled letters and words of letters, forms and campus life.
ENGLISH_WORDS = tuple(dict.fromkeys("""
the of and to in is for that on with as was by at from this be are or an it not have
which has but all were they one their more will can new other been also if about time
when there people two year first after who its into only would should some these may
most such over many where years before high school university student students letter
admission office address number date name phone email program course class department
college science engineering technology research center national international public
office service information system data report page total amount fee fees payment bank
account please note must shall valid until from registration check document copy form
apply application accepted offer congratulations welcome dear sincerely regards campus
road street avenue building room floor city province district postal code state country
china beijing shanghai world global business market company limited group team manager
director president board member committee meeting annual general policy rule law court
health medical hospital clinic doctor nurse patient care water food energy power light
green blue red black white small large long short open close start end east west north
south north year month week day hour minute second morning evening night today tomorrow
make made take took give given find found know known think see seen look use used work
working study learn read write written speak call keep hold bring show tell ask help
good great best better right left early late free full real simple clear important
possible different general special local human social economic political private
history culture art music film book story news paper journal review edition volume issue
model network computer software hardware digital online mobile internet web site page
image text line character word sentence language english chinese recognition training
test testing result results error errors accuracy value values level levels rate price
accept access according account accommodation across add added address adjust allow
already apply approve arrival arrive attach attend attendance arrange assess assessment
assist assistant associate bottom better borrow bulletin call carry cell collect commit
commitment committee community connect correct cross current different difficult dinner
discuss dollar effect effective efficient essay excellent express fall feel fill follow
football full happen happy hello illustrate immediate immediately innovation install
kettle lesson letter little lobby middle miss mission need needed officer official offered
opportunity passport pass passed possess press process professor programme proceed
recommend recommended summit settle shell skill smell spell still stuff succeed
successful suggest summary summer supply swimming tall tell terrible three till too
traffic tunnel village wall well yellow carriage cotton coffee dress egg feet glass hall
manner matter meeting mirror narrow occur occurred pattern planning pull rabbit setting
sheet shopping sleep speed stopped street sweet tennis tuition within admitted allowance
appoint appointment assembly baggage balloon battery committed cooperation dessert
dormitory excess fellowship grammar hobby ladder luggage millimetre parallel
puzzle scissors semester spelling staff sufficient supplement teller transferred wool
""".split()))
# Contractions, and the joins and separators of printed English: a line may hold
# "Bachelor's", "don't", "passport-sized", "Room A-204" or "University · www.x.edu.cn".
CONTRACTIONS = ("don't", "can't", "won't", "isn't", "it's", "we'll", "we're", "you're",
                "I'm", "I'll", "let's", "didn't", "doesn't", "that's", "there's", "we've")
ROOM_WORDS = ("Room", "Building", "Block", "Gate", "Hall", "Floor", "Suite", "Unit", "Lab")
SEPARATORS = ("·", "·", "|", "/", "-", "–", "—")
# Pieces of pronounceable made-up words (:func:`crnn.synth.text.pseudo_word`), so a
# model learns letters, doubled ones (tt, ff, ll) included, rather than a fixed vocabulary.
ONSETS = ("", "", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t",
          "v", "w", "y", "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr",
          "ph", "pl", "pr", "qu", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "st", "str",
          "sw", "th", "tr", "wh")
VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "y", "ai", "ea", "ee", "ie", "oa",
          "oo", "ou", "io")
CODAS = ("", "", "", "b", "ck", "d", "f", "ft", "g", "l", "lt", "m", "n", "nd", "ng", "nt",
         "p", "r", "rd", "rt", "s", "st", "t", "x", "ff", "ll", "mm", "nn", "pp", "rr", "ss",
         "tt", "cc", "dd", "gg")
DOMAINS = ("example", "mail", "edu", "gov", "school", "univ", "campus", "service", "office",
           "info", "news", "data", "cloud", "online", "portal", "admission", "zsb", "yjs")
TLDS = ("com", "cn", "edu.cn", "org", "net", "gov.cn", "com.cn", "org.cn", "io")
# Pinyin syllables for user names and host names.
SYLLABLES = ("zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
             "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao", "wei", "ming",
             "hua", "jun", "xin", "yu", "hao", "jie", "ling", "fang", "qing", "tian", "xiao",
             "long", "feng", "yun", "bei", "jing", "nan", "dong", "xi", "shan", "hai", "an")
ABBREVIATIONS = ("PDF", "ID", "No.", "Tel", "Fax", "Email", "CN", "USA", "GPS", "CPU", "GPU",
                 "USB", "WiFi", "APP", "VIP", "CEO", "PhD", "MBA", "GDP", "ISO", "QR", "OCR",
                 "kg", "km", "cm", "mm", "mL", "kW", "Hz", "MB", "GB", "A4", "B2", "IT")
# Abbreviations that end in a full stop, so that a comma or another stop can follow it
# (``a.m.,``, ``etc.)``): the marks a small model merges into one.
DOTTED_ABBREVIATIONS = ("a.m.", "p.m.", "etc.", "e.g.", "i.e.", "vs.", "approx.", "Inc.",
                        "Ltd.", "Co.", "Corp.", "Dept.", "Univ.", "Dr.", "Mr.", "Mrs.", "Ms.",
                        "Prof.", "St.", "Ave.", "Rd.", "No.", "Vol.", "pp.", "Fig.", "Jan.",
                        "Feb.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.", "U.S.", "U.K.",
                        "Ph.D.", "B.A.", "M.Sc.")
# Characters of Chinese transliterations of foreign names (约翰·史密斯): two to four of
# them on each side of the interpunct ·.
TRANSLIT_CHARS = tuple("阿埃艾安奥巴贝本比彼波伯布达戴丹德迪蒂杜多厄恩尔法菲费芬丰弗福盖冈戈"
                       "格古哈海汉豪赫亨胡华霍基吉加贾杰金卡凯坎康考柯科克肯库奎拉莱赖兰朗"
                       "劳勒雷里利莉林琳卢鲁路伦罗洛马玛迈麦曼梅门米密明莫姆穆纳奈南内尼"
                       "妮诺帕派潘佩皮普奇乔切琼萨塞桑森沙尚舍什史斯索苏塔泰坦汤特提廷托"
                       "瓦威韦维温沃乌西希谢辛休雅亚扬耶伊因英尤约詹兹佐")
# English name parts, street and place words, and the labels of English forms, letters,
# invoices and tickets (crnn.synth.fields.english_field).
GIVEN_NAMES_EN = ("James", "Mary", "John", "Linda", "Robert", "Susan", "Michael", "Emma",
                  "David", "Olivia", "William", "Sophia", "Richard", "Grace", "Thomas",
                  "Chloe", "Daniel", "Hannah", "Paul", "Lucy", "Mark", "Alice", "Steven",
                  "Helen", "Kevin", "Irene", "Brian", "Julia", "Peter", "Laura", "Ian",
                  "Iris", "Oliver", "Isabel", "Ivan", "Ingrid", "Lily", "Leo", "Bill",
                  "Jill", "Ella", "Allan")
SURNAMES_EN = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
               "Taylor", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King",
               "Wright", "Hill", "Scott", "Green", "Baker", "Adams", "Nelson", "Mitchell",
               "Campbell", "Phillips", "Evans", "Collins", "Stewart", "Morris", "Murphy",
               "Cook", "Bell", "Kelly", "Howard", "Ward", "Russell", "Lloyd", "Elliott")
STREET_WORDS_EN = ("Maple", "Oak", "Cedar", "Pine", "Elm", "Lake", "Hill", "Park", "River",
                   "Church", "Mill", "King", "Queen", "Victoria", "Station", "Bridge",
                   "Garden", "Spring", "Market", "Union", "College", "University", "Harbour",
                   "Zhongshan", "Renmin", "Jiefang", "Xinhua", "Wenhua", "Heping")
STREET_TYPES_EN = ("Road", "Street", "Avenue", "Lane", "Drive", "Boulevard", "Way", "Rd.",
                   "St.", "Ave.", "Blvd.", "Place", "Court", "Square")
# City, region, and a postcode pattern (A: letter, 9: digit) of the country's form.
PLACES_EN = (("Boston", "MA", "99999"), ("Austin", "TX", "99999"), ("Seattle", "WA", "99999"),
             ("Denver", "CO", "99999-9999"), ("Chicago", "IL", "99999"),
             ("Vancouver", "BC", "A9A 9A9"), ("Ottawa", "ON", "A9A 9A9"),
             ("Montreal", "QC", "A9A 9A9"), ("Calgary", "AB", "A9A 9A9"),
             ("Leeds", "", "AA9 9AA"), ("Bristol", "", "AA9 9AA"), ("London", "", "AA99 9AA"),
             ("Oxford", "", "AA9 9AA"), ("Sydney", "NSW", "9999"), ("Perth", "WA", "9999"),
             ("Auckland", "", "9999"), ("Singapore", "", "999999"),
             ("Beijing", "", "999999"), ("Shanghai", "", "999999"), ("Wuhan", "Hubei", "999999"),
             ("Chengdu", "Sichuan", "999999"), ("Hangzhou", "Zhejiang", "999999"))
TITLES_EN = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Miss", "Mr", "Ms", "Dr")
CODE_PREFIXES = ("INV", "PO", "REF", "ORD", "TKT", "APP", "SN", "CN", "ID", "NO", "AC", "BK",
                 "HK", "XM", "QT", "RX", "LOT", "SKU", "VIN", "EXP", "IMP", "DOC", "CERT")
FIELD_LABELS_EN = ("Name", "Full Name", "Student ID", "Student No.", "Passport No.",
                   "Date of Birth", "Nationality", "Programme", "Major", "Department",
                   "Address", "Mailing Address", "Tel", "Tel.", "Phone", "Mobile", "Fax",
                   "E-mail", "Email", "Website", "Date", "Time", "Due Date", "Issue Date",
                   "Invoice No.", "Order No.", "Ref. No.", "Reference", "Account No.",
                   "Ticket No.", "Booking Ref.", "Flight", "Gate", "Seat", "Check-in",
                   "Check-out", "Arrival", "Departure", "Amount", "Amount Due", "Total",
                   "Subtotal", "Balance", "Deposit", "Room", "Venue", "Contact")

"""The demo county's words: places, work units, names and what cadres write.

Town names are Dongshan's real seven; village names are plausible (the three
villages of the report's cases are real). People and numbers are synthetic.
"""

from __future__ import annotations

from shared.vocab import IssueCategory

# Each town with the pinyin of its admin account and its villages.
TOWNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "前楼镇",
        "qianlou",
        ("前楼村", "后林村", "山口村", "东沈村", "冬古村", "岐下村", "南埔村", "后湖村", "澳雅村"),
    ),
    (
        "康美镇",
        "kangmei",
        (
            "康美村",
            "马銮村",
            "铜钵村",
            "城垵村",
            "东埔村",
            "梧龙村",
            "洋林村",
            "屿南村",
            "埔头村",
            "大茂村",
        ),
    ),  # fmt: skip
    ("铜陵镇", "tongling", ("大澳村", "演武村", "东门村", "鼎美村", "亲营村")),
    (
        "樟塘镇",
        "zhangtang",
        ("后马村", "樟塘村", "港西村", "古港村", "南山村", "湖塘村", "下湖村", "大产村", "沃角村"),
    ),
    (
        "西埔镇",
        "xipu",
        ("西埔村", "山只村", "后宅村", "白埕村", "顶西村", "新坑村", "溪东村", "磁窑村"),
    ),
    (
        "杏陈镇",
        "xingchen",
        (
            "杏陈村",
            "前何村",
            "后港村",
            "白石村",
            "湖尾村",
            "龙潭村",
            "南安村",
            "浯屿村",
            "山兜村",
            "岐山村",
            "东坑村",
        ),
    ),  # fmt: skip
    (
        "陈城镇",
        "chencheng",
        ("陈城村", "宫前村", "澳角村", "澳仔村", "宅山村", "径口村", "北门村", "东港村", "西港村"),
    ),
)

# Villages on a bay, a harbour or an islet fish more (澳, 港, 屿, 角 in the name).
COASTAL_MARKS = "澳港屿角"

# Dongshan island, roughly: where village centres are placed.
LATITUDES = (23.62, 23.78)
LONGITUDES = (117.30, 117.55)

# County bureaus and offices whose cadres take households (包户).
COUNTY_DEPARTMENTS = (
    "县教育局", "县公务员局", "县旅游局", "县财政局", "县民政局", "县农业农村局",
    "县人社局", "县卫生计生局", "县住建局", "县交通运输局", "县水利局", "县国土资源局",
    "县发改局", "县经信局", "县商务局", "县司法局", "县公安局", "县环保局",
    "县林业局", "县海洋与渔业局", "县文体广电局", "县统计局", "县审计局", "县安监局",
    "县市场监管局", "县城管局", "县档案局", "县规划局", "县委办", "县政府办",
    "县委组织部", "县委宣传部", "县委统战部", "县委政法委", "县纪委", "县总工会",
    "团县委", "县妇联", "县科协", "县残联",
)  # fmt: skip

# Where the division-level leaders (处级干部) work: the county's four leaderships.
LEADERSHIP_UNITS = ("县委", "县人大常委会", "县政府", "县政协")

# The report's cases happen where these departments' cadres cover the village.
CASE_DEPARTMENTS = {"前楼村": "县教育局", "康美村": "县公务员局", "后马村": "县旅游局"}

# The two household heads the report names; nobody else gets their names.
REPORT_NAMES = frozenset({"林春武", "林光荣"})

INSPECTORS = (
    ("inspector-xiaoneng", "县效能办督查员"),
    ("inspector-zuofeng", "县作风办督查员"),
)

# Common surnames of southern Fujian (闽南), with rough weights.
SURNAMES = (
    ("林", 18), ("陈", 14), ("黄", 8), ("沈", 6), ("吴", 6), ("许", 5), ("郑", 5),
    ("蔡", 5), ("朱", 3), ("孙", 3), ("张", 3), ("李", 3), ("欧", 2), ("何", 2),
    ("钟", 2), ("谢", 2), ("王", 2), ("杨", 2), ("曾", 2), ("方", 2), ("洪", 2),
    ("刘", 2), ("苏", 2), ("周", 1), ("江", 1), ("游", 1), ("徐", 1), ("魏", 1),
    ("卢", 1), ("涂", 1), ("马", 1), ("康", 1), ("田", 1), ("翁", 1),
)  # fmt: skip

MALE_FIRST = "志建国文明永金德水春荣清振福天海家炳木添亚俊宏晓"
MALE_SECOND = "明华强平生发荣山福海成忠良武泉坤辉龙勇军伟雄峰斌杰源彬标顺祥财鹏"
FEMALE_FIRST = "秀美丽月玉淑春桂惠雪素碧宝亚巧彩晓"
FEMALE_SECOND = "英兰珍芳娥花凤霞琴梅娟萍莲娇琼燕婷"

# Mobile number prefixes of the three carriers.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "158", "159", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "199",
)  # fmt: skip

# A household's tag: how often it occurs (coastal villages fish far more).
TAG_RATES = {
    "poor": 0.035,
    "low_income": 0.045,
    "elderly_alone": 0.06,
    "student": 0.18,
    "disability": 0.04,
    "left_behind_child": 0.03,
    "military": 0.015,
}
FISHING_RATE = {True: 0.35, False: 0.05}

HOUSEHOLD_NOTES = {
    "poor": ("因病致贫，缺劳动力", "户主常年患病，家庭收入低", "房屋破旧，需关注危房改造"),
    "elderly_alone": ("老人独居，子女在外地工作", "独居老人，腿脚不便", "老人独居，需多上门"),
    "student": ("孩子在读高中", "家中有大学生", "两个孩子在读书"),
    "fishing": ("以近海捕捞为主", "从事网箱养殖", "家有渔船一艘"),
    "disability": ("家中有残疾人，已办残疾证", "残疾人，需要辅助器具"),
    "": (
        "家中经营小卖部", "青壮年在外务工", "以种植芦笋为主", "以种植花生、番薯为主",
        "在县城开小吃店", "子女在厦门工作", "户主在工业区上班",
    ),
}  # fmt: skip

VISIT_TOPICS = (
    "精准扶贫政策", "新农合缴费", "城乡居民养老保险", "低保政策", "危房改造",
    "防台防汛", "森林防火", "安全生产", "征兵宣传", "环境卫生整治",
    "渔业安全生产", "创建文明城市", "禁毒宣传", "防范电信诈骗", "就业培训信息",
    "助学政策", "医疗救助政策", "土地确权", "农村电商", "水产养殖技术",
    "芦笋种植技术", "民情恳谈", "美丽乡村建设", "计划生育政策",
)  # fmt: skip

VISIT_OPENINGS = {
    "home_visit": ("入户走访，了解家庭生产生活情况", "上门看望户主", "入户走访"),
    "phone_call": ("电话联系户主，询问近况", "电话回访"),
    "came_in": ("户主到村部找挂户干部", "户主到镇便民服务站反映情况"),
}
VISIT_REMARKS = (
    "户主表示满意。", "家中一切正常。", "户主提出意见建议，已记录在民情记录本。",
    "老人身体尚好。", "子女在外务工，家中只有老人。", "家庭收入主要靠捕鱼。",
    "种植芦笋收入稳定。", "已发放联系服务卡。", "户主对村里工作表示支持。", "",
)  # fmt: skip

# What a household raises, how often, and which departments it goes to.
# ``{town}`` stands for the town's name.
ISSUES: dict[IssueCategory, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    IssueCategory.POLICY_QUESTION: (
        15,
        (
            "咨询城乡居民养老保险缴费档次", "咨询新农合缴费时间和报销比例",
            "咨询征兵政策", "咨询渔业油价补贴政策", "咨询计划生育奖励扶助政策",
        ),
        ("县人社局", "县民政局"),
    ),
    IssueCategory.SOCIAL_AID: (
        12,
        (
            "家庭收入低，申请纳入低保", "房屋受台风损坏，申请临时救助",
            "独居老人生活困难，希望给予救助", "因病致贫，申请困难补助",
        ),
        ("县民政局",),
    ),
    IssueCategory.MEDICAL: (
        10,
        (
            "家中老人患慢性病，医药费负担重，希望申请医疗救助",
            "户主住院治疗，咨询新农合报销", "希望村卫生所增加常用药品",
            "残疾人辅助器具申请",
        ),
        ("县卫生计生局", "县民政局", "县残联"),
    ),
    IssueCategory.EDUCATION: (
        8,
        (
            "孩子考上大学，学费有困难，希望申请助学贷款", "家中两个孩子上学，负担重，询问助学政策",
            "孩子上学路远，希望解决接送问题", "学龄儿童入学手续咨询",
        ),
        ("县教育局",),
    ),
    IssueCategory.EMPLOYMENT: (
        8,
        (
            "子女高中毕业待业，希望提供就业信息", "想参加电工、厨师技能培训",
            "想申请小额创业贷款", "外出务工工资被拖欠",
        ),
        ("县人社局",),
    ),
    IssueCategory.INFRASTRUCTURE: (
        12,
        (
            "村道路面破损，雨天积水难行", "路灯损坏，夜间出行不便",
            "自来水水压低，用水高峰经常停水", "家门口排水沟堵塞", "电线老化，存在安全隐患",
        ),
        ("县交通运输局", "县水利局", "东山供电公司", "{town}人民政府"),
    ),
    IssueCategory.ENVIRONMENT: (
        8,
        ("村口垃圾清运不及时", "附近养殖场臭味大", "海边垃圾多，影响环境", "申请旱厕改造"),
        ("县环保局", "{town}人民政府"),
    ),
    IssueCategory.LAND_HOUSING: (
        8,
        (
            "申请危房改造", "宅基地审批进度咨询", "与邻居宅基地界址有争议",
            "土地承包经营权确权信息有误",
        ),
        ("县国土资源局", "县住建局"),
    ),
    IssueCategory.AGRICULTURE: (
        9,
        (
            "芦笋种苗质量有问题，希望农技人员指导", "花生遭虫害，希望提供防治技术",
            "渔船更新改造补贴申请", "网箱养殖受台风损失，希望申请补助", "农产品销路不畅",
        ),
        ("县农业农村局", "县海洋与渔业局"),
    ),
    IssueCategory.DISPUTE: (
        5,
        ("与邻居因排水问题发生纠纷", "家庭赡养纠纷，希望调解", "与承包方合同纠纷"),
        ("{town}综治办", "县司法局"),
    ),
    IssueCategory.LAW_ENFORCEMENT: (
        2,
        ("摆摊被城管收走物品，希望协调", "电动车被交警暂扣，咨询处理办法"),
        ("县城管局", "县公安局交警大队"),
    ),
    IssueCategory.OTHER: (
        3,
        ("户口迁移手续咨询", "身份证补办", "希望村里组织文艺活动"),
        ("县公安局", "{town}人民政府"),
    ),
}  # fmt: skip

# Issues that concern a whole village rather than one household.
VILLAGE_ISSUES = (
    (IssueCategory.INFRASTRUCTURE, "村主干道坑洼不平，群众出行不便"),
    (IssueCategory.INFRASTRUCTURE, "村里路灯不足，夜间照明差"),
    (IssueCategory.INFRASTRUCTURE, "村自来水管网老化，经常爆管"),
    (IssueCategory.ENVIRONMENT, "村内垃圾池满溢，清运不及时"),
    (IssueCategory.ENVIRONMENT, "村边小溪污染，群众意见大"),
)

# Aid in yuan an issue of this category may bring, and how often it does.
AID = {
    IssueCategory.SOCIAL_AID: (0.5, (500, 800, 1000, 1500, 2000, 3000, 5000)),
    IssueCategory.MEDICAL: (0.4, (2000, 3000, 5000, 8000, 10000, 20000)),
    IssueCategory.EDUCATION: (0.3, (1000, 2000, 3000, 5000)),
}

ON_SPOT_NOTES = ("当场解答，户主表示清楚了", "当场协调解决", "现场帮助办理")
NOTES_PASSED = "已形成书面材料转{department}办理"
NOTES_IN_PROGRESS = "{department}已受理，正在办理"
NOTES_FOLLOW_UP = ("已电话跟进{department}，答复近期办结", "再次督促{department}加快办理")
NOTES_SOLVED = "{department}已办结"
NOTES_INFORMED = ("已将办理结果告知户主，户主表示满意", "已上门反馈办理结果")

INSPECTION_NOTES = {
    "known": ("户主能说出挂户干部姓名和电话", "联系服务卡贴在门后", "户主反映干部常来"),
    "unknown": ("户主说不出挂户干部是谁", "未见联系服务卡", "户主反映干部来得少"),
}

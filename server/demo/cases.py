"""The 2015 report's three cases, written as real records in their villages.

Each case runs after its village's random year, on households covered by
the county department the report names (see ``CASE_DEPARTMENTS``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from server.demo.activity import Fieldwork
from server.demo.context import Covering, VillageLedger
from server.demo.writer import Row
from shared.vocab import HouseholdTag, IssueCategory, IssueStatus, VisitKind, VisitRole

LOAN_YUAN = 6_000
# 11,000 yuan for 6 students of 3 poor families: two students each.
AID_YUAN = (4_000, 4_000, 3_000)
DITCH_YUAN = 12_000
DITCH_METRES = 230


def qianlou(fieldwork: Fieldwork, ledger: VillageLedger) -> None:
    """前楼村, 县教育局: gaokao guidance, nine 6,000 yuan student loans, and
    11,000 yuan of aid for six students of three poor families (林春武's among them)."""
    rng = fieldwork.rng
    calendar = fieldwork.calendar
    covered = [(c, h) for c in ledger.department_coverings() for h in c.households]
    # Families with room for students: not an old person living alone.
    families = [(c, h) for c, h in covered if h["members"] >= 3]
    chosen = sorted(rng.sample(families, 9 + len(AID_YUAN)), key=lambda pair: pair[1]["code"])
    for _, household in chosen:
        _tag(household, HouseholdTag.POOR, HouseholdTag.STUDENT)
    loans, aided = chosen[:9], chosen[9:]
    aided[0][1]["head_name"] = "林春武"

    # Scores come out in late June: the bureau's cadres help every family with
    # a gaokao student fill in their university choices.
    gaokao = date(calendar.gaokao_year, 6, 25)
    for covering, household in covered:
        if HouseholdTag.STUDENT in household["tags"]:
            fieldwork.visit(
                ledger,
                cadre_id=covering.cadre_id,
                household=household,
                at=calendar.at(gaokao + timedelta(days=rng.randint(0, 3)), rng.randint(540, 1080)),
                kind=VisitKind.HOME_VISIT,
                roles=[VisitRole.SERVICE.value, VisitRole.POLICY.value],
                topics=["高考志愿填报"],
                notes="高考成绩已出，帮助考生对照分数线和招生计划填报志愿。",
            )

    # Admission letters arrive in July: the loans, then the bureau's own aid.
    # One family after another, half an hour apart.
    for i, (covering, household) in enumerate(loans):
        _solved_by_department(
            fieldwork,
            ledger,
            covering,
            household,
            raised=calendar.at(date(calendar.gaokao_year, 7, 20), 8 * 60 + 30 * i),
            roles=[VisitRole.SERVICE],
            topic="助学贷款",
            visit_notes="孩子已被高校录取，家庭困难，帮助办理生源地助学贷款。",
            category=IssueCategory.EDUCATION,
            description=f"孩子被高校录取，家庭困难，申请生源地助学贷款{LOAN_YUAN}元。",
            department="县教育局学生资助管理中心",
            aid=LOAN_YUAN,
            solved_after=timedelta(days=26),
            solved=f"助学贷款每人{LOAN_YUAN}元已办妥",
            informed="已上门告知户主贷款办妥，孩子可按时入学",
        )
    for i, ((covering, household), amount) in enumerate(zip(aided, AID_YUAN, strict=True)):
        _solved_by_department(
            fieldwork,
            ledger,
            covering,
            household,
            raised=calendar.at(date(calendar.gaokao_year, 7, 28), 15 * 60 + 40 * i),
            roles=[VisitRole.SERVICE, VisitRole.OPINIONS],
            topic="助学政策",
            visit_notes="了解到家中2名学生上学，家庭贫困，负担重，帮助申请县教育局资助。",
            category=IssueCategory.EDUCATION,
            description="贫困家庭，家中2名学生上学，负担重，申请助学资助。",
            department="县教育局",
            aid=amount,
            solved_after=timedelta(days=20),
            solved=f"县教育局资助{amount}元已发放（2名学生）",
            informed="已告知户主资助款到位",
        )


def kangmei(fieldwork: Fieldwork, ledger: VillageLedger) -> None:
    """康美村: 林光荣's street stall in 铜陵镇 is stopped by 城管; her 县公务员局
    cadre calls the 城管铜陵中队, the goods come back the same day, and the
    cadre visits to explain the rules."""
    rng = fieldwork.rng
    calendar = fieldwork.calendar
    covering = rng.choice(ledger.department_coverings())
    # She and her son: a household of at least two.
    household = rng.choice([h for h in covering.households if h["members"] >= 2])
    household["head_name"] = "林光荣"
    household["notes"] = "与儿子在铜陵镇摆摊卖花生、西瓜"
    # Peanuts and watermelons: the summer of the gaokao year.
    day = date(calendar.gaokao_year, 7, 16)
    call = calendar.at(day, 10 * 60 + 5)
    visit_id = fieldwork.visit(
        ledger,
        cadre_id=covering.cadre_id,
        household=household,
        at=call,
        kind=VisitKind.PHONE_CALL,
        roles=[VisitRole.SERVICE.value],
        topics=["城管执法协调"],
        notes="林光荣来电：与儿子在铜陵镇占道摆摊卖花生、西瓜，被城管制止，物品被收走，请求帮助。",
        recorded_after=timedelta(minutes=10),
    )
    fieldwork.issue(
        ledger,
        cadre_id=covering.cadre_id,
        household_id=household["id"],
        visit_id=visit_id,
        category=IssueCategory.LAW_ENFORCEMENT,
        description="林光荣和儿子在铜陵镇占道摆摊出售花生、西瓜，被城管人员制止并收走物品，请求协调。",
        department="城管铜陵中队",
        aid=None,
        steps=[
            (call, IssueStatus.OPEN, ""),
            (call + timedelta(minutes=15), IssueStatus.PASSED_TO_DEPARTMENT, "电话联系城管铜陵中队协调"),
            (calendar.at(day, 15 * 60 + 30), IssueStatus.SOLVED, "被收走的物品当天已归还"),
            (calendar.at(day, 16 * 60), IssueStatus.HOUSEHOLD_INFORMED, "已电话告知林光荣物品已归还"),
        ],
    )  # fmt: skip
    fieldwork.visit(
        ledger,
        cadre_id=covering.cadre_id,
        household=household,
        at=calendar.at(day + timedelta(days=1), 15 * 60),
        kind=VisitKind.HOME_VISIT,
        roles=[VisitRole.POLICY.value],
        topics=["城市管理规定"],
        notes="到林光荣家中说明城市管理的相关规定，提醒今后出售物品要遵守城管规定，不占道摆摊。",
    )


def houma(fieldwork: Fieldwork, ledger: VillageLedger) -> None:
    """后马村, 县旅游局: villagers report a blocked open drainage ditch; passed to
    town and village, which re-lay 200-odd metres underground within a month."""
    rng = fieldwork.rng
    calendar = fieldwork.calendar
    covering = rng.choice(ledger.department_coverings())
    household = rng.choice(covering.households)
    complaint = "村里排水沟经常堵塞，且是明沟，下雨天污水横流，夏天蚊蝇滋生，臭味很大。"
    _solved_by_department(
        fieldwork,
        ledger,
        covering,
        household,
        raised=calendar.at(calendar.as_of - timedelta(days=100), 10 * 60),
        roles=[VisitRole.OPINIONS],
        topic="环境卫生整治",
        visit_notes=f"走访时群众反映：{complaint}",
        category=IssueCategory.INFRASTRUCTURE,
        description=f"群众反映{complaint}",
        department=f"{ledger.town}人民政府、{ledger.village}委会",
        aid=DITCH_YUAN,
        solved_after=timedelta(days=28),
        solved=f"村里投入{DITCH_YUAN}元，整治排水沟{DITCH_METRES}米，排污改道下地",
        informed="已向反映问题的村民反馈，村民好评",
        village_wide=True,
    )


def _solved_by_department(
    fieldwork: Fieldwork,
    ledger: VillageLedger,
    covering: Covering,
    household: Row,
    *,
    raised: datetime,
    roles: list[VisitRole],
    topic: str,
    visit_notes: str,
    category: IssueCategory,
    description: str,
    department: str,
    aid: int,
    solved_after: timedelta,
    solved: str,
    informed: str,
    village_wide: bool = False,
) -> None:
    """A home visit that raises an issue (the village's, if ``village_wide``),
    and the issue's full path: passed to ``department`` the same day, taken up
    within days, solved, and the household told the next day."""
    visit_id = fieldwork.visit(
        ledger,
        cadre_id=covering.cadre_id,
        household=household,
        at=raised,
        kind=VisitKind.HOME_VISIT,
        roles=[role.value for role in roles],
        topics=[topic],
        notes=visit_notes,
    )
    fieldwork.issue(
        ledger,
        cadre_id=covering.cadre_id,
        household_id=None if village_wide else household["id"],
        visit_id=visit_id,
        category=category,
        description=description,
        department=department,
        aid=aid,
        steps=[
            (raised, IssueStatus.OPEN, ""),
            (raised + timedelta(hours=4), IssueStatus.PASSED_TO_DEPARTMENT, f"已形成材料转{department}"),
            (raised + timedelta(days=3), IssueStatus.IN_PROGRESS, f"{department}已受理"),
            (raised + solved_after, IssueStatus.SOLVED, solved),
            (raised + solved_after + timedelta(days=1), IssueStatus.HOUSEHOLD_INFORMED, informed),
        ],
    )  # fmt: skip


def _tag(household: Row, *tags: HouseholdTag) -> None:
    """Add tags, keeping the vocabulary's order."""
    wanted = {*household["tags"], *tags}
    household["tags"] = [code for code in HouseholdTag.codes() if code in wanted]


# The village each case happens in, by name.
REPORT_CASES: dict[str, Callable[[Fieldwork, VillageLedger], None]] = {
    "前楼村": qianlou,
    "康美村": kangmei,
    "后马村": houma,
}

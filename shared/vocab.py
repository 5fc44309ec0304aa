"""The words of 包村包户, as codes both the phone and the server store.

Every enumeration keeps its Chinese and English labels beside the code, so
the admin console, the phone and error messages all name things the same way.
"""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A code with a Simplified Chinese and an English label."""

    zh: str
    en: str

    def __new__(cls, code: str, zh: str, en: str) -> Labelled:
        member = str.__new__(cls, code)
        member._value_ = code
        member.zh = zh
        member.en = en
        return member

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    @classmethod
    def codes(cls) -> list[str]:
        return [member.value for member in cls]


class Rank(Labelled):
    DIVISION_LEADER = "division_leader", "处级干部", "division-level leader"
    COUNTY_CADRE = "county_cadre", "县直干部", "county cadre"
    TOWN_CADRE = "town_cadre", "镇干部", "town cadre"


class UnitKind(Labelled):
    COUNTY_DEPARTMENT = "county_department", "县直单位", "county department"
    TOWN_OFFICE = "town_office", "镇机关", "town office"


class LeaderRole(Labelled):
    """The three link leaders every village has in the ledger (台帐)."""

    COUNTY = "county", "县挂钩领导", "county link leader"
    TOWN = "town", "镇挂点领导", "town link leader"
    DEPARTMENT = "department", "县直单位挂村领导", "county-department link leader"


class HouseholdTag(Labelled):
    POOR = "poor", "贫困户", "poor"
    ELDERLY_ALONE = "elderly_alone", "独居老人", "elderly living alone"
    STUDENT = "student", "有在校学生", "family with a student"
    DISABILITY = "disability", "残疾人", "disability"
    LEFT_BEHIND_CHILD = "left_behind_child", "留守儿童", "left-behind child"
    MILITARY = "military", "军烈属", "military family"
    LOW_INCOME = "low_income", "低保户", "minimum-income support"
    FISHING = "fishing", "渔民", "fishing household"


class VisitKind(Labelled):
    HOME_VISIT = "home_visit", "入户走访", "home visit"
    PHONE_CALL = "phone_call", "电话联系", "phone call"
    CAME_IN = "came_in", "群众来访", "the household came in"


class VisitRole(Labelled):
    """The four roles a cadre plays at a visit (宣传员, 信息员, 服务员, 经济)."""

    POLICY = "policy", "宣传政策", "policy explained"
    OPINIONS = "opinions", "听取意见", "opinions heard"
    SERVICE = "service", "帮办服务", "service given"
    ECONOMIC = "economic", "服务经济发展", "economic help"


class IssueCategory(Labelled):
    EDUCATION = "education", "教育助学", "education"
    MEDICAL = "medical", "医疗卫生", "health care"
    SOCIAL_AID = "social_aid", "社会救助", "social assistance"
    EMPLOYMENT = "employment", "就业创业", "jobs and business"
    INFRASTRUCTURE = "infrastructure", "基础设施", "infrastructure"
    ENVIRONMENT = "environment", "环境卫生", "environment and sanitation"
    LAND_HOUSING = "land_housing", "土地住房", "land and housing"
    AGRICULTURE = "agriculture", "农业渔业", "farming and fishing"
    DISPUTE = "dispute", "矛盾纠纷", "dispute"
    LAW_ENFORCEMENT = "law_enforcement", "执法协调", "law enforcement"
    POLICY_QUESTION = "policy_question", "政策咨询", "policy question"
    OTHER = "other", "其他", "other"


class IssueStatus(Labelled):
    """Where an issue stands: raised, solved or passed on, followed, told."""

    OPEN = "open", "待处理", "open"
    SOLVED_ON_SPOT = "solved_on_spot", "当场解决", "solved on the spot"
    PASSED_TO_DEPARTMENT = "passed_to_department", "已转部门", "passed to a department"
    IN_PROGRESS = "in_progress", "办理中", "in progress"
    SOLVED = "solved", "已解决", "solved"
    HOUSEHOLD_INFORMED = "household_informed", "已反馈群众", "household informed"


# An issue counts as solved once it reached one of these.
SOLVED_STATUSES = frozenset(
    {IssueStatus.SOLVED_ON_SPOT, IssueStatus.SOLVED, IssueStatus.HOUSEHOLD_INFORMED}
)


class IssueEventKind(Labelled):
    STATUS = "status", "状态变更", "status change"
    NOTE = "note", "跟进记录", "follow-up note"


class Satisfaction(Labelled):
    SATISFIED = "satisfied", "满意", "satisfied"
    BASICALLY = "basically", "基本满意", "basically satisfied"
    UNSATISFIED = "unsatisfied", "不满意", "unsatisfied"


class ProblemSolved(Labelled):
    """An inspector's finding on the household's issues."""

    YES = "yes", "已解决", "solved"
    PARTLY = "partly", "部分解决", "partly solved"
    NO = "no", "未解决", "not solved"
    NONE_RAISED = "none_raised", "未反映问题", "no problem raised"


class AccountRole(Labelled):
    COUNTY_ADMIN = "county_admin", "县级管理员", "county admin"
    TOWN_ADMIN = "town_admin", "镇级管理员", "town admin"
    VILLAGE_LEADER = "village_leader", "挂村领导", "village link leader"
    INSPECTOR = "inspector", "督查员", "inspector"
    CADRE = "cadre", "挂户干部", "cadre"
    # Someone at a department issues are passed to (县城管局, 供电公司, …).
    DEPARTMENT = "department", "部门账号", "department"


class DepartmentKind(Labelled):
    """What sort of body a department issues are passed to is."""

    COUNTY_BUREAU = "county_bureau", "县直部门", "county bureau"
    TOWN_OFFICE = "town_office", "镇站所", "town office"
    UTILITY = "utility", "公共事业单位", "public utility"
    OTHER = "other", "其他", "other"


# The rule of the practice: 20–30 households per cadre (the demo allows 15–30).
MAX_HOUSEHOLDS_PER_CADRE = 30
MIN_HOUSEHOLDS_PER_CADRE = 20

"""Bad input gets a message next to its field, in the cadre's language, and
nothing is saved until it is fixed; follow-ups and the notebook's filters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.issues.models import Issue
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import County


def test_a_visit_with_bad_input_is_not_saved_until_each_field_is_fixed(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.open_household("林00")
    phone.tap(phone.ids("new_visit"))
    when = phone.ids("when")
    today = phone.running.now().astimezone().date()
    assert when.day == today.isoformat(), "today, unless another day is picked"
    phone.type(when.ids.clock, "23:59")  # later today
    phone.type(phone.ids("topics"), "政" * 101)
    phone.type(phone.ids("notes"), "长" * 2001)
    phone.tap(phone.ids("add_issue"))
    phone.tap(phone.ids("save"))
    issue = phone.screen._issue_forms()[0]
    assert phone.ids("when").error == "走访时间不能晚于现在"
    assert phone.ids("topics").error == "长度应为 1–100 个字"
    assert phone.ids("notes").error == "长度应为 0–2000 个字"
    assert issue.ids.category.error == "必填项，不能为空"
    assert issue.ids.description.error == "长度应为 1–2000 个字"
    assert phone.screen.name == "visit" and phone.running.pending == 0
    phone.screenshot("visit-errors")

    phone.press("English")
    phone.type(when.ids.clock, "8")
    phone.choose(issue.ids.outcome, "passed_to_department")
    phone.tap(phone.ids("save"))
    assert when.error == "Write the time like 08:30"
    assert issue.ids.department.error == "name the department the problem is passed to"
    assert phone.running.pending == 0

    phone.pick_date(when, today - timedelta(days=3))
    phone.type(when.ids.clock, "08:30")
    phone.type(phone.ids("topics"), "政策")
    phone.type(phone.ids("notes"), "讲解政策")
    phone.choose(issue.ids.category, "social_aid")
    phone.type(issue.ids.description, "申请低保")
    phone.type(issue.ids.department, "县民政局")
    phone.tap(phone.ids("save"))
    assert phone.screen.name == "household" and phone.running.pending == 2


def test_a_phone_number_that_is_not_one_is_refused_next_to_the_field(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.open_household("林02")
    phone.tap(phone.ids("edit"))
    form = phone.screen.form
    phone.type(form.ids.phones, "13905960001\n12345")
    phone.type(form.ids.members, "四")
    phone.tap(form.ids.save)
    assert form.ids.phones.error == "“12345”不是有效的电话号码（11 位手机号或带区号的固话）"
    assert form.ids.members.error == "应为整数"
    assert phone.running.pending == 0
    phone.screenshot("household-errors")
    phone.type(form.ids.phones, "13905960001\n0596-5880001")
    phone.type(form.ids.members, "5")
    phone.choose(form.ids.tags, "fishing")
    phone.tap(form.ids.save)
    assert phone.running.pending == 1
    shown = phone.texts()
    assert "电话：13905960001、0596-5880001" in shown and "标签：渔民" in shown


def test_an_issue_is_followed_up_and_the_household_told_the_outcome(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.record_visit("林00", "路过", issues=(("infrastructure", "排水沟堵了"),))
    phone.press("基础设施 · 待处理\n排水沟堵了")
    assert phone.screen.name == "issue"
    phone.tap(phone.ids("save"))
    assert phone.ids("note").error == "请写下跟进情况或选择新状态"
    phone.choose(phone.ids("status"), "passed_to_department")
    phone.tap(phone.ids("save"))
    assert phone.ids("department").error == "转交部门时须写明部门"
    phone.type(phone.ids("note"), "已报镇里和村里")
    phone.type(phone.ids("department"), "樟塘镇")
    phone.tap(phone.ids("save"))
    assert "当前状态：已转部门" in phone.texts()
    phone.type(phone.ids("note"), "村里重新铺设了暗沟，已告知")
    phone.tap(phone.ids("informed"))
    shown = phone.texts()
    assert "当前状态：已反馈群众" in shown and "已报镇里和村里" in shown
    phone.screenshot("issue")
    assert phone.running.pending == 4  # the visit, the issue, two issue events
    assert phone.sync().startswith("已发送 1 次走访、1 个问题、2 条跟进")
    with county.session() as session:
        issue = session.scalars(select(Issue)).one()
        assert issue.status == "household_informed" and issue.department == "樟塘镇"


def test_the_notebook_lists_every_visit_newest_first_and_filters_by_household_and_date(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    today = phone.running.now().astimezone().date()
    for name, days_ago in (("林00", 20), ("林01", 2)):
        phone.open_household(name)
        phone.tap(phone.ids("new_visit"))
        phone.pick_date(phone.ids("when"), today - timedelta(days=days_ago))
        phone.type(phone.ids("notes"), f"{name}的走访")
        phone.tap(phone.ids("save"))
    phone.running.go("households", remember=False)
    phone.settle()
    phone.press("记录本")
    rows = phone.ids("list").data
    assert [row["notes"] for row in rows] == ["林01的走访", "林00的走访"]
    phone.screenshot("notebook")

    spinner = phone.ids("household")
    phone.tap(spinner)
    option = next(o for o in spinner._dropdown.container.children if o.text.startswith("林00"))
    phone.tap(option)
    assert [row["notes"] for row in phone.ids("list").data] == ["林00的走访"]
    phone.tap(spinner)
    phone.tap(next(o for o in spinner._dropdown.container.children if o.text == "全部农户"))
    phone.pick_date(phone.ids("start"), today - timedelta(days=10))
    phone.tap(phone.ids("apply"))
    assert [row["notes"] for row in phone.ids("list").data] == ["林01的走访"]
    phone.pick_date(phone.ids("start"), None)
    phone.pick_date(phone.ids("end"), today - timedelta(days=10))
    phone.tap(phone.ids("apply"))
    assert [row["notes"] for row in phone.ids("list").data] == ["林00的走访"]
    end = today - timedelta(days=10)
    assert phone.read("end") == end.isoformat()
    assert phone.ids("end").ids.button.text.startswith(f"{end.year}年{end.month}月{end.day}日 星期")

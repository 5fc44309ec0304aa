"""The day in the village: no signal, a visit with two issues, the app
killed, then back in town the records reach the county's ledger."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.issues.models import Issue
from server.visits.models import Visit
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import County


def test_a_visit_with_two_issues_made_offline_survives_a_kill_and_reaches_the_ledger(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    phone.log_in(county.cadres[0])
    server.stop()  # into the village: no signal from here on

    phone.open_household("林00")
    phone.screenshot("household")
    phone.tap(phone.ids("new_visit"))
    assert phone.screen.name == "visit"
    phone.choose(phone.ids("roles"), "policy")
    phone.choose(phone.ids("roles"), "service")
    phone.type(phone.ids("topics"), "助学贷款，低保")
    phone.type(phone.ids("notes"), "讲解了生源地助学贷款政策")
    for description, outcome in (
        ("孩子上大学的学费", "passed_to_department"),
        ("路灯坏了", "solved_on_spot"),
    ):
        phone.tap(phone.ids("add_issue"))
        form = phone.screen._issue_forms()[-1]
        phone.choose(form.ids.category, "education" if "学费" in description else "infrastructure")
        phone.type(form.ids.description, description)
        phone.choose(form.ids.outcome, outcome)
        if outcome == "passed_to_department":
            phone.type(form.ids.department, "县教育局")
    phone.screenshot("visit")
    phone.tap(phone.ids("save"))
    assert phone.screen.name == "household"
    assert phone.running.pending == 3  # a visit and two issues, waiting

    phone.restart(closing=False)  # killed in the village, opened again
    assert phone.screen.name == "households"
    assert phone.running.pending == 3
    phone.open_household("林00")
    shown = phone.texts()
    assert "讲解了生源地助学贷款政策" in shown
    assert "教育助学 · 已转部门\n孩子上大学的学费" in shown
    assert "基础设施 · 当场解决\n路灯坏了" in shown

    server.start()  # back in town
    assert phone.sync().startswith("已发送 1 次走访、2 个问题")
    assert phone.running.pending == 0
    phone.screenshot("sync")
    household_id = uuid.UUID(county.households[county.cadres[0]][0])
    with county.session() as session:
        visit = session.scalars(select(Visit).where(Visit.household_id == household_id)).one()
        assert visit.notes == "讲解了生源地助学贷款政策"
        assert visit.topics == ["助学贷款", "低保"]
        assert sorted(visit.roles) == ["policy", "service"]
        issues = {i.description: i for i in session.scalars(select(Issue)).all()}
        assert issues["孩子上大学的学费"].department == "县教育局"
        assert issues["孩子上大学的学费"].status == "passed_to_department"
        assert issues["路灯坏了"].status == "solved_on_spot"
        assert {i.visit_id for i in issues.values()} == {visit.id}

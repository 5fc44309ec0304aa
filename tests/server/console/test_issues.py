"""The issues board and an issue's page, where admins pass it on and close it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.scope import scope_for
from server.audit.models import AuditEntry
from server.clock import utcnow
from server.console.reports import issues
from server.issues import services
from server.issues.models import Issue, IssueEvent
from server.ledger.models import Village
from shared.vocab import IssueCategory, IssueEventKind, IssueStatus
from tests.server.console.conftest import County, csrf_token, login


def test_the_board_counts_by_status_and_department_and_lists_the_overdue(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    board = client.get("/problems").get_data(as_text=True)
    assert "已转部门" in board and "县教育局" in board
    assert "/problems/list?overdue=1" in board
    overdue = client.get("/problems/list?overdue=1").get_data(as_text=True)
    assert "孩子上大学的助学贷款" in overdue
    # It has waited since it was passed on, 40 days ago.
    assert ">40<" in overdue


def test_another_towns_admin_sees_none_of_its_issues(client: FlaskClient, county: County) -> None:
    login(client, county.accounts["other_town_admin"])
    assert "孩子上大学的助学贷款" not in client.get("/problems/list").get_data(as_text=True)
    assert client.get(f"/problems/{county.issue.id}").status_code == 404


def test_an_admin_records_the_outcome_and_the_timeline_shows_who_did_what(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/problems/{county.issue.id}"
    response = client.post(
        f"{path}/status",
        data={
            "csrf_token": csrf_token(client, path),
            "status": "solved",
            "note": "6000 元助学贷款已发放",
            "seen_status": "passed_to_department",
        },
    )
    assert response.status_code == 302
    session.refresh(county.issue)
    assert county.issue.status == IssueStatus.SOLVED
    event = session.scalars(
        select(IssueEvent)
        .where(IssueEvent.issue_id == county.issue.id)
        .order_by(IssueEvent.at.desc())
        .limit(1)
    ).one()
    assert (event.status, event.account_id) == (
        IssueStatus.SOLVED,
        county.accounts["town_admin"].id,
    )
    page = client.get(path).get_data(as_text=True)
    assert "6000 元助学贷款已发放" in page
    assert "town-qianlou" in page  # the admin's name, beside the step
    assert "陈志明" in page  # the cadre who raised it


def selected_status(page: str) -> str:
    """The option the status form starts on."""
    select = page.split('<select name="status"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    assert found, "one option is selected"
    return found.group(1)


def test_the_status_form_offers_the_next_step_and_never_defaults_to_reopening(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/problems/{county.issue.id}"
    assert selected_status(client.get(path).get_data(as_text=True)) == "in_progress"
    for status, seen in (("solved", "passed_to_department"), ("household_informed", "solved")):
        form = {"csrf_token": csrf_token(client, path), "status": status, "seen_status": seen}
        assert client.post(f"{path}/status", data=form).status_code == 302
        page = client.get(path).get_data(as_text=True)
        assert selected_status(page) == ("household_informed" if status == "solved" else "")


def test_a_form_from_a_page_read_before_someone_else_acted_changes_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/problems/{county.issue.id}"
    token = csrf_token(client, path)
    before = len(session.scalars(select(IssueEvent.id)).all())
    response = client.post(
        f"{path}/pass",
        data={
            "csrf_token": token,
            "department": str(county.departments["县民政局"].id),
            "seen_status": "open",
        },
    )
    assert response.status_code == 400
    assert "刚被改为" in response.get_data(as_text=True)
    assert len(session.scalars(select(IssueEvent.id)).all()) == before
    session.refresh(county.issue)
    assert county.issue.department == "县教育局"


def test_leaders_and_inspectors_see_the_timeline_but_not_the_forms(
    client: FlaskClient, county: County
) -> None:
    for role in ("village_leader", "inspector"):
        login(client, county.accounts[role])
        page = client.get(f"/problems/{county.issue.id}").get_data(as_text=True)
        assert "孩子上大学的助学贷款" in page
        assert "/pass" not in page, role


def test_the_board_adds_up_aid_per_village_town_and_county(
    client: FlaskClient, county: County, session: Session
) -> None:
    extra = Issue(
        id=uuid.uuid4(),
        village_id=county.other_village.id,
        raised_by_cadre_id=county.other_cadre.id,
        raised_at=utcnow(),
        category=IssueCategory.SOCIAL_AID,
        description="临时救助",
        status=IssueStatus.SOLVED,
        aid_amount=Decimal("1500.50"),
    )
    session.add(extra)
    session.flush()
    login(client, county.accounts["county_admin"])
    board = client.get("/problems").get_data(as_text=True)
    # The county's one figure, then each town's and each village's.
    assert "7,500.50" in board
    assert board.count("6,000.00") == 2 and board.count("1,500.50") == 2


def _issue(
    session: Session,
    county: County,
    description: str,
    *,
    village: Village | None = None,
    category: IssueCategory = IssueCategory.INFRASTRUCTURE,
    status: IssueStatus = IssueStatus.OPEN,
    days_ago: int = 1,
    note: str = "",
) -> Issue:
    issue = Issue(
        id=uuid.uuid4(),
        village_id=(village or county.village).id,
        raised_by_cadre_id=county.neighbour.id,
        raised_at=utcnow() - timedelta(days=days_ago),
        category=category,
        description=description,
        status=status,
    )
    session.add(issue)
    if note:
        session.add(
            IssueEvent(
                id=uuid.uuid4(),
                issue_id=issue.id,
                at=utcnow(),
                kind=IssueEventKind.NOTE,
                note=note,
                cadre_id=county.neighbour.id,
            )
        )
    session.flush()
    return issue


def _listed(client: FlaskClient, query: str) -> str:
    response = client.get(f"/problems/list?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_filter_narrows_the_issue_list_and_it_says_how_many_of_how_many(
    client: FlaskClient, county: County, session: Session
) -> None:
    _issue(session, county, "水沟堵塞 100% 需要清理", note="已联系村委")
    _issue(session, county, "路灯坏了", village=county.second_village, days_ago=20)
    _issue(
        session, county, "低保申请", category=IssueCategory.SOCIAL_AID, status=IssueStatus.SOLVED
    )
    login(client, county.accounts["town_admin"])
    # Four issues in 前楼镇 (the fixture's loan and these three).
    assert "显示 1 / 共 4" in _listed(client, "q=水沟")
    # % and _ are searched as themselves, not as wildcards.
    assert "水沟堵塞" in _listed(client, "q=100%25")
    assert "显示 0 / 共 4" in _listed(client, "q=0%25需")
    assert "显示 0 / 共 4" in _listed(client, "q=_")
    # A note in the timeline is searched too.
    assert "水沟堵塞" in _listed(client, "q=村委")
    assert "低保申请" in _listed(client, "category=social_aid")
    assert "显示 1 / 共 4" in _listed(client, "status=solved")
    assert "显示 1 / 共 4" in _listed(client, "department=县教育局")
    assert "路灯坏了" in _listed(client, f"village={county.second_village.id}")
    assert "显示 3 / 共 4" in _listed(client, "cadre=王丽")
    assert "显示 1 / 共 4" in _listed(client, "overdue=1")
    week_ago = (utcnow() - timedelta(days=7)).date()
    assert "显示 2 / 共 4" in _listed(client, f"to={week_ago}")
    assert "显示 2 / 共 4" in _listed(client, f"from={week_ago}")
    # Combined: the cadre's unsolved infrastructure issues in 前楼村.
    combined = _listed(
        client, f"cadre=王丽&category=infrastructure&unsolved=1&village={county.village.id}"
    )
    assert "显示 1 / 共 4" in combined and "水沟堵塞" in combined


def test_a_date_that_is_not_a_date_is_refused_with_what_to_write(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    response = client.get("/problems/list?from=7月20日")
    assert response.status_code == 400
    assert "请写成 2026-07-20" in response.get_data(as_text=True)
    reversed_range = client.get("/problems/list?from=2026-07-20&to=2026-07-01")
    assert reversed_range.status_code == 400


def test_the_filters_are_kept_on_the_next_page_and_across_the_language_switch(
    client: FlaskClient, county: County, session: Session
) -> None:
    for n in range(101):
        _issue(session, county, f"水沟 {n}")
    login(client, county.accounts["town_admin"])
    first = _listed(client, "q=水沟&unsolved=1")
    assert "显示 101 / 共 102" in first
    assert "page=2" in first and "q=%E6%B0%B4%E6%B2%9F" in first
    second = _listed(client, "page=2&q=水沟&unsolved=1")
    assert "第 2 / 2" in second
    switch = "?page=2&amp;q=%E6%B0%B4%E6%B2%9F&amp;unsolved=1&amp;lang=en"
    assert switch in second
    english = _listed(client, "page=2&q=水沟&unsolved=1&lang=en")
    assert "showing 101 of 102" in english and 'value="水沟"' in english


def test_the_top_search_finds_villages_and_issues_in_the_accounts_area(
    client: FlaskClient, county: County, session: Session
) -> None:
    _issue(session, county, "后林村水沟堵塞", village=county.second_village)
    _issue(session, county, "康美村水沟堵塞", village=county.other_village)
    login(client, county.accounts["town_admin"])
    page = client.get("/ledger/search?q=后林").get_data(as_text=True)
    assert f"/ledger/villages/{county.second_village.id}" in page
    assert "后林村水沟堵塞" in page
    assert "康美村水沟堵塞" not in client.get("/ledger/search?q=水沟").get_data(as_text=True)


def test_duplicates_are_linked_under_one_listed_as_one_and_audited(
    client: FlaskClient, county: County, session: Session
) -> None:
    ditch = [
        _issue(session, county, f"水沟堵塞（{n}）", category=IssueCategory.ENVIRONMENT)
        for n in range(3)
    ]
    login(client, county.accounts["town_admin"])
    main, second, third = ditch
    for duplicate in (second, third):
        path = f"/problems/{duplicate.id}"
        response = client.post(
            f"{path}/duplicate", data={"csrf_token": csrf_token(client, path), "main": str(main.id)}
        )
        assert response.status_code == 302
    session.refresh(second), session.refresh(third)
    assert second.duplicate_of_id == third.duplicate_of_id == main.id
    # Each household keeps its own issue; the list shows the group once.
    listed = _listed(client, "q=水沟堵塞")
    assert "显示 1 / 共 2" in listed and "另有 2 户同一问题" in listed
    page = client.get(f"/problems/{third.id}").get_data(as_text=True)
    assert "水沟堵塞（0）" in page and "水沟堵塞（1）" in page
    # Not across towns: 康美村's issue is not found from 前楼镇.
    other = _issue(session, county, "康美水沟", village=county.other_village)
    path = f"/problems/{main.id}"
    token = csrf_token(client, path)
    assert (
        client.post(
            f"{path}/duplicate", data={"csrf_token": token, "main": str(other.id)}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{path}/duplicate", data={"csrf_token": token, "main": str(main.id)}
        ).status_code
        == 400
    )
    audited = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.entity == "issue", AuditEntry.action == "update"
        )
    ).all()
    assert sorted(audited) == sorted([second.id, third.id])
    # Unlinked again, it is listed on its own.
    path = f"/problems/{third.id}"
    assert (
        client.post(
            f"{path}/duplicate", data={"csrf_token": csrf_token(client, path), "main": ""}
        ).status_code
        == 302
    )
    assert "显示 2 / 共 3" in _listed(client, "q=水沟堵塞")


def test_a_group_of_linked_duplicates_counts_once_on_the_board_each_household_keeping_its_own(
    client: FlaskClient, county: County, session: Session
) -> None:
    admin = county.accounts["town_admin"]
    # One ditch raised for three households by their cadres, each passed to 县民政局;
    # one household was also given 500 yuan.
    ditch = []
    for n, household in enumerate(county.households[1:4]):
        issue = _issue(session, county, f"门前水沟堵塞（{n}）", days_ago=5)
        issue.household_id = household.id
        issue.status, issue.department = IssueStatus.PASSED_TO_DEPARTMENT, "县民政局"
        issue.aid_amount = Decimal("500") if n == 2 else None
        session.add(
            IssueEvent(
                id=uuid.uuid4(),
                issue_id=issue.id,
                at=utcnow() - timedelta(days=4),
                kind=IssueEventKind.STATUS,
                status=IssueStatus.PASSED_TO_DEPARTMENT,
                department="县民政局",
                cadre_id=county.cadre.id,
                due_at=utcnow() + timedelta(days=20),
            )
        )
        ditch.append(issue)
    main = ditch[0]
    for duplicate in ditch[1:]:
        services.link_duplicate(session, admin, duplicate, main)
    session.flush()
    scope, now = scope_for(session, admin), utcnow()
    board = issues.board(session, scope, now)
    # The 助学贷款 issue and the ditch: two issues, as the list shows them.
    assert (board.total, board.unsolved, board.overdue) == (2, 2, 1)
    assert (board.groups, board.duplicates) == (1, 2)
    assert [(group.key, group.total) for group in board.by_status] == [
        (IssueStatus.PASSED_TO_DEPARTMENT, 2)
    ]
    assert {group.key: group.total for group in board.by_department} == {
        "县教育局": 1,
        "县民政局": 1,
    }
    assert [(group.name, group.total) for group in board.by_village] == [("前楼村", 2)]
    # Aid is each household's own: the duplicate's 500 yuan is added up too.
    assert board.aid == Decimal("6500") and board.by_village[0].aid == Decimal("6500")
    assert tuple(issues.totals(session, scope, now)) == (2, 2, 1)
    table = issues.department_table(session, scope, now, ["县民政局"])
    assert [(row.name, row.passed) for row in table if row.name == "县民政局"] == [("县民政局", 1)]
    # The board says so and lists the group; the board's count is the list's.
    login(client, admin)
    page = client.get("/problems").get_data(as_text=True)
    assert "个问题由多户反映、已合并（另有 2 户的同一问题）" in page
    assert "/problems/list?linked=1" in page
    listed = _listed(client, "linked=1")
    assert "显示 1 / 共 2" in listed and "门前水沟堵塞（0）" in listed
    assert "另有 2 户同一问题" in listed and "孩子上大学" not in listed
    assert "显示 2 / 共 2" in _listed(client, "")
    # Each household still has its own issue on its page.
    for n, household in enumerate(county.households[1:4]):
        assert f"门前水沟堵塞（{n}）" in client.get(f"/ledger/households/{household.id}").get_data(
            as_text=True
        )


def test_days_waiting_count_only_unsolved_issues_from_their_latest_passing(
    client: FlaskClient, county: County, session: Session
) -> None:
    _issue(session, county, "修好的路灯", status=IssueStatus.SOLVED, days_ago=30)
    _issue(session, county, "新报的漏水", days_ago=6)
    login(client, county.accounts["town_admin"])
    listed = _listed(client, "")
    rows = {
        text: row
        for row in re.findall(r"<tr>.*?</tr>", listed, re.DOTALL)
        for text in ("修好的路灯", "新报的漏水", "孩子上大学的助学贷款")
        if text in row
    }
    # Raised 50 days ago, passed on 40 days ago: it has waited on the department 40.
    assert rows["孩子上大学的助学贷款"].endswith('<td class="num">40</td></tr>')
    assert rows["新报的漏水"].endswith('<td class="num">6</td></tr>')
    assert rows["修好的路灯"].endswith('<td class="num"></td></tr>'), "solved: not waiting"


def test_a_duplicate_whose_main_the_account_cannot_see_stands_for_itself(
    client: FlaskClient, county: County, session: Session
) -> None:
    # The fixture's loan, passed to 县教育局, linked under an issue 县民政局 has.
    main = _issue(session, county, "助学金申请", category=IssueCategory.EDUCATION)
    main.status, main.department = IssueStatus.PASSED_TO_DEPARTMENT, "县民政局"
    services.link_duplicate(session, county.accounts["county_admin"], county.issue, main)
    session.flush()
    # 县教育局's account does not see the main: the loan is listed and counted on its own.
    department = county.accounts["department"]
    login(client, department)
    listed = _listed(client, "")
    assert "孩子上大学的助学贷款" in listed and "助学金申请" not in listed
    assert "显示 1 / 共 1" in listed
    board = issues.board(session, scope_for(session, department), utcnow())
    assert (board.total, board.groups) == (1, 0)
    # The county admin sees both: one group, one row.
    admin = county.accounts["county_admin"]
    assert issues.board(session, scope_for(session, admin), utcnow()).total == 1
    # Its main deleted (by a phone, say), the duplicate is listed again.
    main.deleted_at = utcnow()
    session.flush()
    login(client, admin)
    assert "孩子上大学的助学贷款" in _listed(client, "")
    assert issues.board(session, scope_for(session, admin), utcnow()).total == 1

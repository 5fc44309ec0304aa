"""Departments: the county's list, deadlines, the per-department table, and
department accounts that answer the issues passed to them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.accounts.services import create_account, hash_password
from server.audit.models import AuditEntry
from server.audit.services import SYSTEM
from server.clock import utcnow
from server.console.reports import issues
from server.db import db, transaction
from server.issues import departments, services
from server.issues.models import Department, Issue, IssueEvent
from server.ledger.importing import import_departments
from server.ledger.layouts import DEPARTMENTS, read_table
from server.ledger.services import link_household
from shared.protocol import PROTOCOL_VERSION
from shared.vocab import (
    AccountRole,
    DepartmentKind,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
)
from sync.phone import Phone
from sync.transport import HttpTransport
from tests.builders import LedgerBuilder
from tests.conftest import LiveServers
from tests.server.console.conftest import PASSWORD, County, csrf_token, login
from tests.server.console.test_session import Browser


def _passed(
    session: Session,
    county: County,
    department: str,
    passed_days_ago: float,
    solved_days_ago: float | None = None,
    due_in_days: float = 30,
) -> Issue:
    """An issue of 前楼村 passed to ``department``, solved or still with it."""
    now = utcnow()
    passed_at = now - timedelta(days=passed_days_ago)
    issue = Issue(
        id=uuid.uuid4(),
        village_id=county.village.id,
        household_id=county.households[1].id,
        raised_by_cadre_id=county.cadre.id,
        raised_at=passed_at - timedelta(days=1),
        category=IssueCategory.SOCIAL_AID,
        description=f"转交{department}的问题",
        status=IssueStatus.PASSED_TO_DEPARTMENT if solved_days_ago is None else IssueStatus.SOLVED,
        department=department,
    )
    session.add(issue)
    steps: list[tuple[datetime, IssueStatus, datetime | None]] = [
        (passed_at, IssueStatus.PASSED_TO_DEPARTMENT, passed_at + timedelta(days=due_in_days))
    ]
    if solved_days_ago is not None:
        steps.append((now - timedelta(days=solved_days_ago), IssueStatus.SOLVED, None))
    for at, status, due in steps:
        session.add(
            IssueEvent(
                id=uuid.uuid4(),
                issue_id=issue.id,
                at=at,
                kind=IssueEventKind.STATUS,
                status=status,
                department=department if status == IssueStatus.PASSED_TO_DEPARTMENT else "",
                cadre_id=county.cadre.id,
                due_at=due,
            )
        )
    session.flush()
    return issue


def test_the_county_admin_adds_changes_and_removes_departments_and_each_change_is_audited(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    token = csrf_token(client, "/departments")
    added = client.post(
        "/departments",
        data={"csrf_token": token, "name": " 县城管局 ", "kind": "county_bureau", "phone": "12319"},
    )
    assert added.status_code == 302
    made = session.scalars(select(Department).where(Department.name == "县城管局")).one()
    assert (made.kind, made.phone) == (DepartmentKind.COUNTY_BUREAU, "12319")
    again = client.post(
        "/departments", data={"csrf_token": token, "name": "县城管局", "kind": "county_bureau"}
    )
    assert again.status_code == 400 and "已有部门“县城管局”" in again.get_data(as_text=True)
    # 县教育局 has an issue: its phone may change, its name may not.
    used = county.departments["县教育局"]
    path = f"/departments/{used.id}"
    form = {"csrf_token": token, "kind": "county_bureau", "phone": "0596-5881111"}
    assert client.post(path, data={**form, "name": "县教育局"}).status_code == 302
    renamed = client.post(path, data={**form, "name": "县教育和体育局"})
    assert renamed.status_code == 400 and "不能改名" in renamed.get_data(as_text=True)
    removed = client.post(path, data={**form, "name": "县教育局", "remove": "1"})
    assert removed.status_code == 400
    session.refresh(used)
    assert (used.name, used.phone) == ("县教育局", "0596-5881111")
    assert (
        client.post(
            f"/departments/{made.id}", data={**form, "name": "县城管局", "remove": "1"}
        ).status_code
        == 302
    )
    assert session.scalar(select(Department.id).where(Department.id == made.id)) is None
    audited = session.execute(
        select(AuditEntry.action, AuditEntry.entity_id).where(AuditEntry.entity == "department")
    ).all()
    assert sorted(audited) == sorted(
        [("create", made.id), ("update", used.id), ("delete", made.id)]
    )


def test_departments_import_from_a_spreadsheet_adding_new_ones_and_updating_known_ones(
    session: Session, county: County, tmp_path: Path
) -> None:
    sheet = tmp_path / "部门.csv"
    sheet.write_text(
        "部门名称,类别,电话\n城管铜陵中队,镇站所,0596-5887110\n县民政局,,0596-5882345\n县水利局,县直部门,\n",
        encoding="utf-8",
    )
    report = import_departments(session, SYSTEM, read_table(sheet, DEPARTMENTS))
    assert (report.imported, report.created, report.updated) == (True, 2, 1)
    listed = {d.name: (d.kind, d.phone) for d in departments.listed(session, county.town.county_id)}
    assert listed["城管铜陵中队"] == (DepartmentKind.TOWN_OFFICE, "0596-5887110")
    assert listed["县民政局"] == (DepartmentKind.COUNTY_BUREAU, "0596-5882345")
    assert listed["县水利局"] == (DepartmentKind.COUNTY_BUREAU, "")
    bad = tmp_path / "bad.csv"
    bad.write_text("部门名称,类别\n县水利局,水利\n县水利局,\n", encoding="utf-8")
    refused = import_departments(session, SYSTEM, read_table(bad, DEPARTMENTS))
    assert not refused.imported and {error.row for error in refused.errors} == {2, 3}


def test_a_passing_takes_the_categorys_deadline_unless_given_and_is_overdue_after_it(
    session: Session, county: County
) -> None:
    admin, issue = county.accounts["county_admin"], county.issue
    departments.set_deadlines(
        session,
        SYSTEM,
        county.town.county_id,
        {**departments.deadlines(session, county.town.county_id), IssueCategory.EDUCATION: 15},
    )
    event = services.pass_to_department(
        session, admin, issue, str(county.departments["县人社局"].id), None, "", issue.status
    )
    session.flush()
    assert event.due_at == event.at + timedelta(days=15)
    again = services.pass_to_department(
        session, admin, issue, str(county.departments["县民政局"].id), 5, "", issue.status
    )
    assert again.due_at == again.at + timedelta(days=5)
    with pytest.raises(services.IssueActionError, match="1 to 365 days"):
        services.pass_to_department(
            session, admin, issue, str(county.departments["县民政局"].id), 0, "", issue.status
        )
    session.flush()

    def overdue_at(now: datetime) -> bool:
        passed = services.passed_on()
        return (
            session.scalar(
                select(Issue.id)
                .outerjoin(passed, passed.c.issue_id == Issue.id)
                .where(Issue.id == issue.id, services.overdue(passed, now))
            )
            is not None
        )

    # The later deadline given counts: 15 days, not 5.
    assert not overdue_at(utcnow() + timedelta(days=14))
    assert overdue_at(utcnow() + timedelta(days=16))


def test_the_per_department_table_counts_passed_solved_median_days_and_overdue(
    client: FlaskClient, county: County, session: Session
) -> None:
    # 县民政局: solved in 5 days and in 1 day, one still within its deadline.
    _passed(session, county, "县民政局", 20, solved_days_ago=15)
    _passed(session, county, "县民政局", 10, solved_days_ago=9)
    _passed(session, county, "县民政局", 2)
    table = {
        row.name: row
        for row in issues.department_table(
            session, Scope(AccountRole.INSPECTOR), utcnow(), ["县人社局", "县民政局", "县教育局"]
        )
    }
    figures = {
        name: (row.passed, row.solved, row.median_days, row.overdue) for name, row in table.items()
    }
    assert figures["县民政局"][:2] == (3, 2) and figures["县民政局"][3] == 0
    assert figures["县民政局"][2] == pytest.approx(3.0)
    # The fixture's loan: passed 40 days ago with 30 days to solve it.
    assert figures["县教育局"] == (1, 0, None, 1)
    assert figures["县人社局"] == (0, 0, None, 0)
    login(client, county.accounts["inspector"])
    page = client.get("/problems/departments").get_data(as_text=True)
    assert "县民政局" in page and ">3.0<" in page


def test_a_department_account_sees_and_answers_only_the_issues_passed_to_it(
    client: FlaskClient, county: County, session: Session
) -> None:
    other = _passed(session, county, "县民政局", 3)
    login(client, county.accounts["department"])
    assert client.get("/").headers["Location"] == "/problems/list"
    listed = client.get("/problems/list").get_data(as_text=True)
    assert "孩子上大学的助学贷款" in listed and "转交县民政局的问题" not in listed
    assert client.get(f"/problems/{other.id}").status_code == 404
    assert client.get("/ledger").status_code == 403
    path = f"/problems/{county.issue.id}"
    token = csrf_token(client, path)
    answer = {"csrf_token": token, "seen_status": "passed_to_department"}
    # The household is told by its cadre, not by the department.
    told = client.post(f"{path}/status", data={**answer, "status": "household_informed"})
    assert told.status_code == 400
    done = client.post(
        f"{path}/status", data={**answer, "status": "in_progress", "note": "已受理，月底前发放"}
    )
    assert done.status_code == 302
    session.refresh(county.issue)
    assert county.issue.status == IssueStatus.IN_PROGRESS
    assert client.post(f"{path}/pass", data={**answer, "department": "x"}).status_code == 403


def test_a_departments_progress_reaches_the_cadres_phone_over_http(
    backend: str, live_servers: LiveServers, tmp_path: Path
) -> None:
    server, app = live_servers.ready(backend)
    with transaction(db.factory(app)) as session:
        ledger = LedgerBuilder(session)
        cadre = ledger.cadre("林志强")
        grid = ledger.grid()
        household = ledger.household(grid, head_name="林春武")
        link_household(session, SYSTEM, household, cadre)
        bureau = Department(
            id=uuid.uuid4(),
            county_id=grid.village.town.county_id,
            name="县教育局",
            kind=DepartmentKind.COUNTY_BUREAU,
        )
        session.add(bureau)
        password_hash = hash_password(PASSWORD)
        for username, role, link in (
            (cadre.phone, AccountRole.CADRE, {"cadre": cadre}),
            ("jiaoyuju", AccountRole.DEPARTMENT, {"department": bureau}),
        ):
            create_account(
                session, SYSTEM, username=username, password=PASSWORD, role=role,
                password_hash=password_hash, **link,
            )  # fmt: skip
        household_id, cadre_phone = str(household.id), cadre.phone
    phone = Phone(tmp_path / "phone.db", transport=HttpTransport(server.url))
    try:
        phone.login(cadre_phone, PASSWORD, "phone")
        phone.sync()
        phone.record_visit(
            household_id,
            issues=[
                {
                    "category": "education",
                    "description": "孩子上大学的助学贷款",
                    "status": "passed_to_department",
                    "department": "县教育局",
                }
            ],
        )
        phone.sync()
        (issue,) = phone.issues(household_id)

        browser = Browser(server.url)
        signed_in = browser.submit(
            "/login", "/login", {"username": "jiaoyuju", "password": PASSWORD}
        )
        assert signed_in[0] == 302
        path = f"/problems/{issue['id']}"
        assert "孩子上大学的助学贷款" in browser.open("/problems/list")[2]
        answered = browser.submit(
            path,
            f"{path}/status",
            {
                "status": "solved",
                "note": "6000 元贷款已发放",
                "seen_status": "passed_to_department",
            },
        )
        assert answered[0] == 302

        phone.sync()
        (issue,) = phone.issues(household_id)
        assert issue["status"] == "solved"
        notes = [event["note"] for event in phone.issue_events(issue["id"])]
        assert "6000 元贷款已发放" in notes
        # A department account has no phone scope: nothing to sync.
        status, device = server.request(
            "POST", "/api/v1/devices", {"username": "jiaoyuju", "password": PASSWORD}
        )
        if status == 201:
            status, _ = server.request(
                "POST", "/api/v1/sync/pull", {"protocol": PROTOCOL_VERSION}, token=device["token"]
            )
        assert status == 403
    finally:
        phone.close()

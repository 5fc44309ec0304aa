"""The problems board and a problem's page, where admins pass it on and close it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.issues.models import Issue, IssueEvent
from shared.vocab import IssueCategory, IssueStatus
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


def test_another_towns_admin_sees_none_of_its_problems(client: FlaskClient, county: County) -> None:
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


def test_a_form_from_a_page_read_before_someone_else_acted_changes_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/problems/{county.issue.id}"
    token = csrf_token(client, path)
    before = len(session.scalars(select(IssueEvent.id)).all())
    response = client.post(
        f"{path}/pass",
        data={"csrf_token": token, "department": "县民政局", "seen_status": "open"},
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

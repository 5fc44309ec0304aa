"""Inspection sheets (督查表): a PDF per town for its admins, and one of the households
assigned to an inspector, made by the job worker and limited to the asker's area."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from server.audit.services import Actor
from server.clock import utcnow
from server.console.reports import CHINA
from server.inspections import services
from server.issues.models import Issue
from server.jobs.worker import Worker
from shared.vocab import IssueCategory, IssueStatus
from tests.server.console.conftest import County, csrf_token, login, prepared


def text(pdf: bytes) -> str:
    """The PDF's text as a reader extracts it, without the spaces and line ends
    the table's wrapping puts in."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")


def _issue(
    session: Session, county: County, description: str, status: IssueStatus, **where: object
) -> Issue:
    issue = Issue(
        id=uuid.uuid4(),
        village_id=county.village.id,
        raised_by_cadre_id=county.cadre.id,
        raised_at=utcnow() - timedelta(days=20),
        category=IssueCategory.INFRASTRUCTURE,
        description=description,
        status=status,
        **where,
    )
    session.add(issue)
    session.flush()
    return issue


def _sheet(client: FlaskClient, factory: sessionmaker[Session], page: str, button: str) -> str:
    """The button is on the page; the sheet it prepares, as text."""
    assert f'action="{button}"' in client.get(page).get_data(as_text=True)
    job = prepared(client, factory, page, button)
    taken = client.get(f"{job}/file")
    assert taken.status_code == 200 and taken.mimetype == "application/pdf"
    assert b"DroidSansFallback" in taken.data and b"DejaVuSans" in taken.data
    return text(taken.data)


def test_an_inspector_prints_their_assigned_households_with_cadre_last_visit_and_open_issues(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    inspector = county.accounts["inspector"]
    first, never_visited = county.households[0], county.households[3]
    services.assign(
        session,
        Actor(account_id=county.accounts["county_admin"].id),
        inspector,
        [first.id, never_visited.id, county.other_household.id],
        draw=1,
    )
    _issue(session, county, "门前路灯不亮", IssueStatus.SOLVED, household_id=first.id)
    _issue(session, county, "村口排水沟堵塞", IssueStatus.OPEN)  # the whole village's
    login(client, inspector)
    sheet = _sheet(
        client, session_factory, "/inspections", f"/inspections/inspectors/{inspector.id}/sheet.pdf"
    )
    assert "督查表（inspector）" in sheet and "共3户" in sheet
    assert "前楼镇前楼村（2户）" in sheet and "康美镇康美村（1户）" in sheet
    for household in (first, never_visited, county.other_household):
        assert household.head_name + household.code in sheet
    assert county.households[1].code not in sheet, "not assigned"
    # The cadre, the latest visit (three days ago, China's day), or none ever.
    assert county.cadre.name + county.cadre.phone in sheet
    session.refresh(first)
    assert first.last_visited_at is not None
    assert first.last_visited_at.astimezone(CHINA).date().isoformat() in sheet
    assert "从未走访" in sheet
    # Unsolved issues, with their department and whether overdue; solved ones not.
    assert "【教育助学】孩子上大学的助学贷款（县教育局，超期）" in sheet
    assert "全村未解决的问题" in sheet and "村口排水沟堵塞" in sheet
    assert "门前路灯不亮" not in sheet
    # The columns the inspector fills in, blank.
    for heading in ("认识干部", "农户说最近走访", "问题解决", "满意度", "备注", "督查人："):
        assert heading in sheet
    assert "□是□否" in sheet and "□满意□基本□不满意" in sheet


def test_an_admin_prints_an_inspectors_sheet_of_their_own_town_only(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    inspector = county.accounts["inspector"]
    services.assign(
        session,
        Actor(account_id=county.accounts["county_admin"].id),
        inspector,
        [county.households[0].id, county.other_household.id],
        draw=1,
    )
    login(client, county.accounts["other_town_admin"])
    sheet = _sheet(
        client, session_factory, "/inspections", f"/inspections/inspectors/{inspector.id}/sheet.pdf"
    )
    assert county.other_household.code in sheet and "共1户" in sheet
    assert county.households[0].code not in sheet and "前楼" not in sheet


def test_a_town_admin_prints_every_household_of_their_town_and_of_no_other(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    login(client, county.accounts["town_admin"])
    town = f"/ledger/towns/{county.town.id}"
    sheet = _sheet(client, session_factory, town, f"/inspections/towns/{county.town.id}/sheet.pdf")
    assert "前楼镇督查表" in sheet and "共11户" in sheet
    assert "前楼镇前楼村（8户）" in sheet and "前楼镇后林村（3户）" in sheet
    assert county.other_household.code not in sheet and "康美" not in sheet
    token = {"csrf_token": csrf_token(client, town)}
    other = f"/inspections/towns/{county.other_town.id}/sheet.pdf"
    assert client.post(other, data=token).status_code == 404


def test_inspectors_print_only_what_is_assigned_to_them(
    client: FlaskClient, county: County
) -> None:
    inspector, other = county.accounts["inspector"], county.accounts["other_town_inspector"]
    login(client, inspector)
    town = f"/ledger/towns/{county.town.id}"
    page = client.get(town).get_data(as_text=True)
    assert "督查表" not in page, "no town sheet button for an inspector"
    token = {"csrf_token": csrf_token(client, town)}
    assert (
        client.post(f"/inspections/towns/{county.town.id}/sheet.pdf", data=token).status_code == 403
    )
    assert (
        client.post(f"/inspections/inspectors/{other.id}/sheet.pdf", data=token).status_code == 404
    )
    login(client, other)
    token = {"csrf_token": csrf_token(client, "/inspections")}
    refused = client.post(f"/inspections/inspectors/{inspector.id}/sheet.pdf", data=token)
    assert refused.status_code == 404
    login(client, county.accounts["village_leader"])
    token = {"csrf_token": csrf_token(client, town)}
    led = client.post(f"/inspections/inspectors/{inspector.id}/sheet.pdf", data=token)
    assert led.status_code == 403


def test_a_sheet_with_nothing_assigned_fails_saying_why_in_chinese(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    from server.console.downloads import HANDLERS

    inspector = county.accounts["inspector"]
    login(client, inspector)
    asked = client.post(
        f"/inspections/inspectors/{inspector.id}/sheet.pdf",
        data={"csrf_token": csrf_token(client, "/inspections")},
    )
    job_page = asked.headers["Location"]
    assert Worker(session_factory, HANDLERS, heartbeat=3600).run_one()
    page = client.get(job_page).get_data(as_text=True)
    assert "准备失败" in page and "inspector名下没有您辖区内待督查的农户" in page
    assert client.get(f"{job_page}/file").headers["Location"] == job_page


def test_a_sheet_asked_for_again_after_another_sample_was_assigned_is_made_afresh(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    inspector, admin = county.accounts["inspector"], county.accounts["town_admin"]
    services.assign(session, Actor(account_id=admin.id), inspector, [county.households[0].id], 1)
    login(client, admin)
    button = f"/inspections/inspectors/{inspector.id}/sheet.pdf"
    first = prepared(client, session_factory, "/inspections", button)
    # Clicked again at once: the same file.
    again = client.post(button, data={"csrf_token": csrf_token(client, "/inspections")})
    assert again.headers["Location"] == first
    services.assign(session, Actor(account_id=admin.id), inspector, [county.households[1].id], 2)
    second = prepared(client, session_factory, "/inspections", button)
    assert second != first
    sheet = text(client.get(f"{second}/file").data)
    assert county.households[1].code in sheet and "共2户" in sheet


def _town_sheet(
    client: FlaskClient, county: County, factory: sessionmaker[Session]
) -> list[list[str]]:
    """The town's sheet as its admin prints it: each page's lines as a reader
    extracts them, without spaces."""
    login(client, county.accounts["town_admin"])
    button = f"/inspections/towns/{county.town.id}/sheet.pdf"
    job = prepared(client, factory, f"/ledger/towns/{county.town.id}", button)
    reader = PdfReader(io.BytesIO(client.get(f"{job}/file").data))
    return [page.extract_text().replace(" ", "").splitlines() for page in reader.pages]


def test_a_long_address_is_wrapped_whole_and_no_phone_number_is_broken_across_lines(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    household = county.households[0]
    household.phones = ["13905960001", "0596-58812345", "13905960003"]
    household.address = "前楼镇前楼村后巷东侧第三排靠近老祠堂的二层小楼旁边" * 3
    session.flush()
    pages = _town_sheet(client, county, session_factory)
    lines = [line for page in pages for line in page]
    # Wrapped over several lines of its cell, the address is all there, in order.
    assert household.address in "".join(lines)
    assert not any(household.address in line for line in lines)
    for number in household.phones:
        assert any(number in line for line in lines), number


def test_a_household_with_more_issues_than_a_page_holds_is_cut_short_on_one_page(
    client: FlaskClient, county: County, session: Session, session_factory: sessionmaker[Session]
) -> None:
    household = county.households[0]
    for number in range(60):
        _issue(session, county, f"第{number}号问题", IssueStatus.OPEN, household_id=household.id)
    pages = [
        "".join(page)
        for page in _town_sheet(client, county, session_factory)
        if household.code in "".join(page)
    ]
    assert len(pages) == 1, "the household's row is never split across pages"
    assert "第0号问题" in pages[0] and "…" in pages[0]
    assert "第59号问题" not in pages[0]

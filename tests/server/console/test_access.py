"""Who may open what: every console route against every role, from one table.

A route added to the console without a row here fails the first test, so no
page can be forgotten. Ids in the addresses belong to 前楼镇 (前楼村), so a
康美镇 account asking for them must get 404, never the data.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields.core import UnboundField

import server.console
from server.clock import utcnow
from server.console import pdf
from server.db import Base
from server.jobs.models import Job, JobStatus
from server.sync.models import Conflict
from tests.server.console.conftest import County, add_photo, login

ROLES = (
    "county_admin",
    "town_admin",
    "other_town_admin",
    "village_leader",
    "inspector",
    "other_town_inspector",
    "department",
)
# Per route, one letter per role in ROLES' order: A allowed, F forbidden
# (403: the role may not), H hidden (404: not in the account's area).
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/"): "AAAAAAA",
    ("GET", "/ledger"): "AAAAAAF",
    ("GET", "/ledger/search"): "AAAAAAF",
    ("GET", "/ledger/towns/<uuid:town_id>"): "AAHAAHF",
    ("GET", "/ledger/villages/<uuid:village_id>"): "AAHAAHF",
    ("GET", "/ledger/grids/<uuid:grid_id>"): "AAHAAHF",
    ("GET", "/ledger/households/<uuid:household_id>"): "AAHAAHF",
    ("GET", "/ledger/cadres/<uuid:cadre_id>"): "AAHAAHF",
    ("POST", "/ledger/households/<uuid:household_id>/cadre"): "AAHFFFF",
    ("POST", "/ledger/households/<uuid:household_id>/facts"): "AAHAFFF",
    ("GET", "/ledger/cadres/<uuid:cadre_id>/transfer"): "AAHFFFF",
    ("POST", "/ledger/cadres/<uuid:cadre_id>/transfer"): "AAHFFFF",
    ("POST", "/ledger/villages/<uuid:village_id>/leaders"): "AAHFFFF",
    ("POST", "/ledger/cadres/<uuid:cadre_id>/active"): "AAHFFFF",
    ("POST", "/ledger/cadres/<uuid:cadre_id>/lost"): "AAHFFFF",
    ("GET", "/coverage"): "AAAAAAF",
    ("GET", "/coverage/households"): "AAAAAAF",
    ("GET", "/coverage/cadres"): "AAAAAAF",
    ("GET", "/problems"): "AAAAAAA",
    ("GET", "/problems/list"): "AAAAAAA",
    ("GET", "/problems/<uuid:issue_id>"): "AAHAAHA",
    ("POST", "/problems/<uuid:issue_id>/pass"): "AAHFFFF",
    ("POST", "/problems/<uuid:issue_id>/status"): "AAHFFFA",
    ("POST", "/problems/<uuid:issue_id>/note"): "AAHFFFA",
    ("GET", "/conflicts"): "AAAFFFF",
    ("POST", "/conflicts/<uuid:conflict_id>"): "AAHFFFF",
    ("GET", "/inspections"): "AAAFAAF",
    ("GET", "/inspections/sample"): "AAHFAHF",
    ("POST", "/inspections/assign"): "AAAFAAF",
    ("POST", "/inspections/withdraw"): "AAAFAAF",
    ("GET", "/settings"): "AFFFFFF",
    ("POST", "/settings"): "AFFFFFF",
    ("POST", "/settings/phone-lock"): "AFFFFFF",
    ("POST", "/ledger/ledger.xlsx"): "AFFFAFF",
    ("POST", "/ledger/towns/<uuid:town_id>/ledger.xlsx"): "AAHHAHF",
    ("POST", "/ledger/villages/<uuid:village_id>/ledger.xlsx"): "AAHAAHF",
    ("POST", "/ledger/towns/<uuid:town_id>/cards.pdf"): "AAHHAHF",
    ("POST", "/ledger/villages/<uuid:village_id>/cards.pdf"): "AAHAAHF",
    ("POST", "/ledger/towns/<uuid:town_id>/notebooks.zip"): "AAHHAHF",
    ("GET", "/ledger/households/<uuid:household_id>/card.pdf"): "AAHAAHF",
    ("GET", "/ledger/cadres/<uuid:cadre_id>/cards.pdf"): "AAHAAHF",
    ("GET", "/ledger/cadres/<uuid:cadre_id>/notebook.pdf"): "AAHAAHF",
    # A job (the county admin's, of 前楼镇's cards) is its asker's alone.
    ("GET", "/jobs/<uuid:job_id>"): "AHHHHHF",
    ("GET", "/jobs/<uuid:job_id>/file"): "AHHHHHF",
    ("POST", "/problems/<uuid:issue_id>/duplicate"): "AAHFFFF",
    ("GET", "/departments"): "AFFFFFF",
    ("POST", "/departments"): "AFFFFFF",
    ("POST", "/departments/<uuid:department_id>"): "AFFFFFF",
    ("POST", "/departments/deadlines"): "AFFFFFF",
    ("GET", "/problems/departments"): "AAAFAAF",
    # A whole town's inspection sheet is for admins; an inspector prints what is
    # assigned to them (the county's inspector here: no other inspector's).
    ("POST", "/inspections/towns/<uuid:town_id>/sheet.pdf"): "AAHFFFF",
    ("POST", "/inspections/inspectors/<uuid:inspector_id>/sheet.pdf"): "AAAFAHF",
    # A photo of 前楼村's problem passed to 县教育局: seen wherever the problem is.
    ("GET", "/photos/<uuid:photo_id>/thumbnail.jpg"): "AAHAAHA",
    ("GET", "/photos/<uuid:photo_id>/photo.jpg"): "AAHAAHA",
    # A village's photos are for its admins and the inspectors who check it.
    ("POST", "/ledger/villages/<uuid:village_id>/photos.zip"): "AAHFAHF",
}
# Open to everyone: signing in and out, and the stylesheet.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
# Some pages need a query to show something.
QUERIES = {"/inspections/sample": "?seed=1&village={village_id}"}
CONSOLE = Path(server.console.__file__).parent


def console_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.") and rule.endpoint != "console.static"
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }


def address(rule: str, ids: dict[str, uuid.UUID]) -> str:
    path = rule + QUERIES.get(rule, "")
    for name, value in ids.items():
        path = path.replace(f"<uuid:{name}>", str(value)).replace(f"{{{name}}}", str(value))
    assert "<" not in path, f"no id for {rule}"
    return path


@pytest.fixture
def ids(county: County, session: Session) -> dict[str, uuid.UUID]:
    conflict = Conflict(
        entity="household",
        entity_id=county.households[0].id,
        field="phones",
        kind="hard",
        winner_value=["13905960002"],
        winner_stamp="0000000000000001@a",
        loser_value=["13905960001"],
        loser_stamp="0000000000000000@b",
    )
    session.add(conflict)
    job = Job(
        account_id=county.accounts["county_admin"].id,
        kind="town_cards",
        target=str(county.town.id),
        status=JobStatus.DONE,
        finished_at=utcnow(),
        file_name="前楼镇联系服务卡.pdf",
        mimetype="application/pdf",
        data=b"%PDF-1.4",
    )
    session.add(job)
    photo = add_photo(session, county.households[0], "issue", county.issue.id)
    session.flush()
    return {
        "town_id": county.town.id,
        "village_id": county.village.id,
        "grid_id": county.grid.id,
        "household_id": county.households[0].id,
        "cadre_id": county.cadre.id,
        "issue_id": county.issue.id,
        "conflict_id": conflict.id,
        "job_id": job.id,
        "department_id": county.departments["县民政局"].id,
        "inspector_id": county.accounts["inspector"].id,
        "photo_id": photo.id,
    }


@pytest.fixture
def quick_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorization is decided before a PDF is drawn; drawing them here only costs time."""
    monkeypatch.setattr(pdf, "contact_cards", lambda *args: b"%PDF-1.4")
    monkeypatch.setattr(pdf, "notebook_pdf", lambda *args: b"%PDF-1.4")


def outcome(status: int, location: str) -> str:
    if status in (200, 400) or (status in (302, 303) and not location.startswith("/login")):
        return "A"  # 400: allowed in, then the empty form was refused
    if status == 302:
        return "login"
    return {403: "F", 404: "H"}.get(status, str(status))


def test_every_console_route_is_in_the_access_table(app: Flask) -> None:
    routes = console_routes(app) - PUBLIC
    assert routes - ACCESS.keys() == set(), "add the new routes to ACCESS"
    assert ACCESS.keys() - routes == set(), "remove routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_what_the_table_allows(
    app: Flask,
    client: FlaskClient,
    county: County,
    ids: dict[str, uuid.UUID],
    quick_pdfs: None,
    role: str,
) -> None:
    # Empty forms, so an allowed POST is refused for its content and changes nothing.
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, county.accounts[role])
    column = ROLES.index(role)
    wrong = []
    for (method, rule), allowed in sorted(ACCESS.items()):
        response = client.open(address(rule, ids), method=method)
        got = outcome(response.status_code, response.headers.get("Location", ""))
        if got != allowed[column]:
            wrong.append(f"{method} {rule}: expected {allowed[column]}, got {got}")
        if got == "H":
            assert str(ids["household_id"]) not in response.get_data(as_text=True)
    assert wrong == []


@pytest.mark.parametrize("who", ["anonymous", "cadre"])
def test_visitors_are_sent_to_log_in_and_cadres_are_refused_everywhere(
    app: Flask,
    client: FlaskClient,
    county: County,
    ids: dict[str, uuid.UUID],
    quick_pdfs: None,
    who: str,
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    if who == "cadre":
        login(client, county.accounts["cadre"])
    expected = "login" if who == "anonymous" else "F"
    for method, rule in ACCESS:
        response = client.open(address(rule, ids), method=method)
        assert outcome(response.status_code, response.headers.get("Location", "")) == expected, (
            method,
            rule,
        )


def test_every_form_without_its_csrf_token_is_refused_with_a_page_that_says_why(
    app: Flask, client: FlaskClient, county: County, ids: dict[str, uuid.UUID]
) -> None:
    login(client, county.accounts["county_admin"])
    posts = [rule for method, rule in console_routes(app) if method == "POST"]
    assert len(posts) >= 9
    for rule in posts:
        for token in (None, "forged"):
            data = {"csrf_token": token} if token else {}
            response = client.post(address(rule, ids), data={**data, "note": "x"})
            page = response.get_data(as_text=True)
            assert response.status_code == 400, rule
            assert "表单已过期或不是从本站提交" in page, rule


def test_an_unknown_address_gets_a_friendly_page_in_the_chosen_language(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["county_admin"])
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "找不到该页面或记录" in page and 'lang="zh-CN"' in page
    english = client.get("/no-such-page?lang=en")
    assert english.status_code == 404
    assert "No such page or record".lower() in english.get_data(as_text=True).lower()


def test_ids_that_are_not_ids_are_not_found_rather_than_an_error(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["county_admin"])
    for path in (
        "/ledger/households/not-a-uuid",
        "/coverage/households?town=not-a-uuid",
        "/coverage/households?show=nonsense",
        "/problems/list?status=nonsense",
    ):
        assert client.get(path).status_code == 404, path


def test_an_oversized_post_is_refused_with_a_page_and_the_api_keeps_json_errors(
    app: Flask, client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["county_admin"])
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(f"/problems/{county.issue.id}/note", data={"note": too_big})
    assert response.status_code == 413
    assert "提交的内容过大" in response.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json


def test_the_stylesheet_every_page_links_to_is_served(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert href is not None
    response = client.get(href.group(1))
    assert response.status_code == 200 and response.mimetype == "text/css"
    response.close()


def typed_names() -> set[str]:
    """Every name a person can type a value into: each form's fields and each
    query argument a console page reads."""
    forms, unseen = set(), [FlaskForm]
    while unseen:
        for form in unseen.pop().__subclasses__():
            forms.add(form)
            unseen.append(form)
    fields = {
        name
        for form in forms
        for name, value in vars(form).items()
        if isinstance(value, UnboundField)
    }
    source = "\n".join(path.read_text() for path in CONSOLE.rglob("*.py"))
    arguments = re.findall(r'(?:args\.get(?:list)?|optional_uuid)\(\s*"(\w+)"', source)
    return fields | set(arguments)


def snapshot(session: Session) -> dict[str, list[tuple[object, ...]]]:
    return {
        table.name: [
            tuple(row) for row in session.execute(select(table).order_by(*table.primary_key))
        ]
        for table in Base.metadata.sorted_tables
    }


def test_a_nul_typed_anywhere_into_the_console_gets_400_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    county: County,
    ids: dict[str, uuid.UUID],
    session: Session,
) -> None:
    # PostgreSQL refuses NUL in text outright; no form or filter may take it there.
    app.config["WTF_CSRF_ENABLED"] = False  # so only the NUL stands between a form and its view
    login(client, county.accounts["county_admin"])
    names = typed_names()
    assert {"q", "status", "department", "note", "username", "next", "numbers"} <= names
    attempts = [{name: "admin\x00" for name in names}, {"\x00": "x"}]
    alone = {"/ledger/search": "query_string", "/problems/<uuid:issue_id>/note": "data"}
    before = snapshot(session)
    routes = sorted(console_routes(app))
    for method, rule in routes:
        path, _, query = address(rule, ids).partition("?")
        given = dict(parse_qsl(query))
        requests = [{"query_string": {**given, **values}} for values in attempts]
        if method == "POST":
            requests += [{"query_string": given, "data": values} for values in attempts]
        if rule in alone:  # and each name alone, in a search and in a form
            requests += [{alone[rule]: {name: "\x00"}} for name in names]
        for request in requests:
            response = client.open(path, method=method, **request)
            assert response.status_code == 400, (method, rule, request)
            assert "空字符" in response.get_data(as_text=True), (method, rule)
    assert len(routes) >= 40
    assert snapshot(session) == before

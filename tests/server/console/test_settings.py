"""The county's minutes before a phone asks its PIN again: set by the county
admin on the settings page, checked, audited, and refused to a town admin."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.ledger.models import County as CountyRecord
from tests.server.console.conftest import County, csrf_token, login


def minutes_shown(page: str) -> str:
    match = re.search(r'<input[^>]*name="minutes"[^>]*value="([^"]*)"', page)
    assert match, "the page has the minutes field"
    return match.group(1)


def lock_minutes_of(session: Session) -> int | None:
    record = session.scalars(select(CountyRecord)).one()
    session.refresh(record)
    return record.phone_lock_minutes


def test_the_county_admin_sets_the_minutes_before_phones_ask_their_pin_again(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    page = client.get("/settings").get_data(as_text=True)
    assert "手机锁屏" in page and minutes_shown(page) == "5", "the server's default until chosen"

    response = client.post(
        "/settings/phone-lock",
        data={"csrf_token": csrf_token(client, "/settings"), "minutes": " 12 "},
    )
    assert response.status_code == 302
    assert lock_minutes_of(session) == 12
    changes = session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.entity == "county", AuditEntry.action == "update"
        )
    ).all()
    assert changes == [{"phone_lock_minutes": [None, 12]}]
    assert minutes_shown(client.get("/settings").get_data(as_text=True)) == "12"


def test_minutes_outside_one_to_sixty_are_refused_in_the_pages_language(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    for typed in ("0", "61", "十", "", "5.5"):
        response = client.post(
            "/settings/phone-lock",
            data={"csrf_token": csrf_token(client, "/settings"), "minutes": typed},
        )
        assert response.status_code == 400, typed
        assert "锁屏时间须为 1 到 60 之间的整数" in response.get_data(as_text=True), typed
    client.get("/settings?lang=en")
    english = client.post(
        "/settings/phone-lock",
        data={"csrf_token": csrf_token(client, "/settings"), "minutes": "90"},
    )
    assert english.status_code == 400
    assert "a whole number of minutes from 1 to 60" in english.get_data(as_text=True)
    assert lock_minutes_of(session) is None
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.entity == "county")) is None


def test_a_town_admin_may_not_change_the_countys_minutes(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    token = csrf_token(client, "/")
    response = client.post("/settings/phone-lock", data={"csrf_token": token, "minutes": "30"})
    assert response.status_code == 403
    assert lock_minutes_of(session) is None

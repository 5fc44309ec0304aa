"""The conflicts queue: a phone's edit lost to an office's; the admin decides."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.services import register_device
from server.audit.models import AuditEntry
from server.audit.services import Actor
from server.clock import now_ms
from server.sync.conflicts import Writer, edit_household, merge_household
from server.sync.models import Conflict
from sync.hlc import Stamp
from tests.server.console.conftest import County, csrf_token, login


@pytest.fixture
def conflict(session: Session, county: County) -> Conflict:
    """陈志明's phone set a number; the town office, not having seen it, set another later."""
    household = county.households[0]
    base = household.seq
    device = register_device(session, county.accounts["cadre"], "红米手机").device
    merge_household(
        session,
        Actor(account_id=county.accounts["cadre"].id, device_id=device.id),
        household,
        {"phones": ["13905961111"]},
        Stamp(now_ms() - 60_000, 0, str(device.id)),
        base,
        Writer(device.id, None),
    )
    session.flush()
    edit_household(
        session, county.accounts["town_admin"], household, {"phones": ["13905962222"]}, base
    )
    session.flush()
    found = session.scalars(select(Conflict).where(Conflict.status == "open")).one()
    assert (found.winner_value, found.loser_value) == (["13905962222"], ["13905961111"])
    return found


def decide(client: FlaskClient, conflict: Conflict, **data: str) -> tuple[int, str]:
    token = csrf_token(client, "/conflicts")
    response = client.post(f"/conflicts/{conflict.id}", data={"csrf_token": token, **data})
    return response.status_code, response.get_data(as_text=True)


def test_the_queue_shows_both_values_who_wrote_them_and_from_which_phone(
    client: FlaskClient, county: County, conflict: Conflict
) -> None:
    login(client, county.accounts["county_admin"])
    page = client.get("/conflicts").get_data(as_text=True)
    assert "13905962222" in page and "13905961111" in page
    assert "红米手机" in page and "陈志明" in page  # the phone, and whose it is
    assert "town-qianlou" in page  # the office account that won
    assert "电话" in page  # the field, in the ledger's words


def test_taking_the_lost_value_writes_it_as_a_new_edit_and_is_audited(
    client: FlaskClient, county: County, conflict: Conflict, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    status, _ = decide(client, conflict, choice="overturn")
    assert status == 302
    session.refresh(conflict)
    household = county.households[0]
    session.refresh(household)
    assert conflict.status == "overturned" and household.phones == ["13905961111"]
    assert conflict.resolved_by_id == county.accounts["town_admin"].id
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.entity_id == conflict.id))
        == "overturned"
    )
    again = decide(client, conflict, choice="keep")
    assert again[0] == 400 and "该冲突已处理" in again[1]


def test_keeping_the_winner_changes_no_household_fact(
    client: FlaskClient, county: County, conflict: Conflict, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    assert decide(client, conflict, choice="keep")[0] == 302
    session.refresh(conflict)
    assert conflict.status == "kept" and county.households[0].phones == ["13905962222"]


def test_the_admin_enters_another_value_which_must_be_valid(
    client: FlaskClient, county: County, conflict: Conflict, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    status, page = decide(client, conflict, choice="other", value="123")
    assert status == 400 and "不是有效的电话号码" in page
    session.refresh(conflict)
    assert conflict.status == "open"
    status, _ = decide(client, conflict, choice="other", value="13905963333，0596-5881234")
    assert status == 302
    household = county.households[0]
    session.refresh(household)
    session.refresh(conflict)
    assert household.phones == ["13905963333", "0596-5881234"]
    assert conflict.status == "replaced"


def test_another_towns_admin_can_neither_see_nor_decide_it(
    client: FlaskClient, county: County, conflict: Conflict
) -> None:
    login(client, county.accounts["other_town_admin"])
    assert "13905961111" not in client.get("/conflicts").get_data(as_text=True)
    assert decide(client, conflict, choice="keep")[0] == 404

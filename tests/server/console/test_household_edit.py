"""Household facts corrected at a desk: a stamped, audited edit like a phone's,
refused with a message when wrong, and never laid unseen over a newer value."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import Actor
from server.clock import now_ms
from server.ledger.models import Household
from server.sequence import write_counter
from server.sync.conflicts import Writer, merge_household
from server.sync.models import Conflict
from sync.hlc import Stamp
from tests.server.console.conftest import County, login


@pytest.fixture(autouse=True)
def counted(county: County, session: Session) -> None:
    """The ledger's seqs written to the counter, as its commit would, so the
    requests' seqs (taken in savepoints of this transaction) come after them."""
    session.flush()
    write_counter(session)


def facts_form(
    client: FlaskClient, household: Household, page: str | None = None, **changes: object
) -> dict[str, object]:
    """The facts form on ``page`` (else the household's page now), with ``changes`` typed in."""
    path = f"/ledger/households/{household.id}"
    page = page or client.get(path).get_data(as_text=True)
    form = page.split('class="facts-form"', 1)[1].split("</form>", 1)[0]

    def value(name: str) -> str:
        found = re.search(rf'name="{name}"[^>]* value="([^"]*)"', form)
        return html.unescape(found.group(1)) if found else ""

    notes = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.DOTALL)
    typed: dict[str, object] = {
        name: value(name)
        for name in ("csrf_token", "seen", "base_seq", "head_name", "members", "address", "phones")
    }
    typed["tags"] = re.findall(r'name="tags" value="(\w+)" checked', form)
    typed["notes"] = html.unescape(notes.group(1)).lstrip("\n") if notes else ""
    return {**typed, **changes}


def post(client: FlaskClient, household: Household, form: dict[str, object]) -> tuple[int, str]:
    response = client.post(f"/ledger/households/{household.id}/facts", data=form)
    return response.status_code, response.get_data(as_text=True)


def a_phone_sets(session: Session, county: County, household: Household, **values: object) -> None:
    """陈志明's phone writes ``values`` (as a push would), seeing the household as it is."""
    account = county.accounts["cadre"]
    merge_household(
        session,
        Actor(account_id=account.id),
        household,
        values,
        Stamp(now_ms(), 0, "phone-of-chen"),
        household.seq,
        Writer(None, account.id),
    )
    session.flush()


def test_a_town_admin_corrects_phones_members_and_tags_as_one_stamped_audited_change(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[0]
    login(client, county.accounts["town_admin"])
    before = household.seq
    form = facts_form(
        client, household, phones="13905960001、13905960002", members="6", tags=["poor", "student"]
    )
    status, _ = post(client, household, form)
    assert status == 302
    session.refresh(household)
    assert household.phones == ["13905960001", "13905960002"] and household.members == 6
    assert household.tags == ["poor", "student"]
    assert household.seq > before, "a new seq sends it to the cadre's phone at its next pull"
    stamp = household.field_stamps["phones"]
    assert (
        stamp["account"] == str(county.accounts["town_admin"].id) and stamp["seq"] == household.seq
    )
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == household.id, AuditEntry.action == "update"
        )
    ).one()
    assert entry.account_id == county.accounts["town_admin"].id
    assert set(entry.changes) == {"phones", "members", "tags"}, "only what the admin changed"
    page = client.get(f"/ledger/households/{household.id}").get_data(as_text=True)
    assert page.count("已保存") == 1


def test_a_village_leader_of_the_village_may_edit_its_households(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[1]
    login(client, county.accounts["village_leader"])
    assert post(client, household, facts_form(client, household, notes="儿子在厦门"))[0] == 302
    session.refresh(household)
    assert household.notes == "儿子在厦门"


def test_an_inspector_is_shown_no_edit_form(client: FlaskClient, county: County) -> None:
    login(client, county.accounts["inspector"])
    page = client.get(f"/ledger/households/{county.households[1].id}").get_data(as_text=True)
    assert "修改基本情况" not in page


def test_bad_input_gets_400_naming_the_field_and_changes_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[0]
    login(client, county.accounts["county_admin"])
    before = (household.seq, household.phones, household.members, household.head_name)
    for changes, message in (
        ({"members": "六"}, "人口应为整数"),
        ({"members": "0"}, "人口：家庭人口应为 1–50"),
        ({"phones": "12345"}, "电话："),
        ({"head_name": ""}, "户主："),
        ({"tags": ["rich"]}, "未知标签"),
        ({"seen": "{}"}, "页面已过期"),
    ):
        status, page = post(client, household, facts_form(client, household, **changes))
        assert status == 400 and message in page, changes
    english = client.post(
        f"/ledger/households/{household.id}/facts?lang=en",
        data=facts_form(client, household, members="0"),
    )
    assert "members: members must be between 1 and 50" in english.get_data(as_text=True)
    session.refresh(household)
    assert (household.seq, household.phones, household.members, household.head_name) == before


def test_a_form_read_before_a_phone_changed_the_same_field_comes_back_showing_both(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[0]
    login(client, county.accounts["town_admin"])
    form = facts_form(client, household, phones="13905962222")
    a_phone_sets(session, county, household, phones=["13905961111"], notes="外出务工")
    status, page = post(client, household, form)
    assert status == 409
    assert "已被他人修改" in page and "13905961111" in page and 'value="13905962222"' in page
    session.refresh(household)
    assert household.phones == ["13905961111"], "nothing written unseen"
    # Saved again from the page that showed both: a decision, applied; the
    # phone's note, in a field the admin left alone, stays.
    assert post(client, household, facts_form(client, household, page))[0] == 302
    session.refresh(household)
    assert household.phones == ["13905962222"] and household.notes == "外出务工"


def test_a_phone_edit_to_another_field_while_the_form_was_open_survives_the_save(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[0]
    login(client, county.accounts["town_admin"])
    form = facts_form(client, household, notes="低保户")
    a_phone_sets(session, county, household, phones=["13905961111"])
    assert post(client, household, form)[0] == 302
    session.refresh(household)
    assert household.phones == ["13905961111"] and household.notes == "低保户"
    assert session.scalar(select(Conflict.kind).where(Conflict.entity_id == household.id)) == "soft"


def test_saving_the_form_unchanged_says_nothing_changed_and_writes_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[2]
    login(client, county.accounts["county_admin"])
    before = household.seq
    response = client.post(
        f"/ledger/households/{household.id}/facts",
        data=facts_form(client, household),
        follow_redirects=True,
    )
    assert "没有改动" in response.get_data(as_text=True)
    session.refresh(household)
    assert household.seq == before

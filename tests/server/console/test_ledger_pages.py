"""The ledger's pages: a village's leaders and cadres, a household's whole record."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.accounts.scope import scope_for
from server.accounts.services import register_device
from server.audit.models import AuditEntry
from server.audit.services import Actor, entry_values
from server.clock import now_ms
from server.sync.conflicts import Writer, merge_household
from sync.hlc import Stamp
from tests.builders import LedgerBuilder
from tests.server.console.conftest import County, login


def test_a_village_shows_its_three_link_leaders_and_each_cadres_households(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["village_leader"])
    page = client.get(f"/ledger/villages/{county.village.id}").get_data(as_text=True)
    for role in ("县挂钩领导", "镇挂点领导", "县直单位挂村领导"):
        assert role in page
    assert "郑书记" in page and "陈志明" in page and "王丽" in page
    assert page.count("/ledger/households/") == 8
    assert "从未走访" in page  # households never visited stand out


def test_a_household_shows_its_cadre_visits_issues_inspections_and_who_changed_it(
    client: FlaskClient, county: County, session: Session
) -> None:
    household = county.households[0]
    device = register_device(session, county.accounts["cadre"], "红米手机").device
    merge_household(
        session,
        Actor(account_id=county.accounts["cadre"].id, device_id=device.id),
        household,
        {"members": 6},
        Stamp(now_ms(), 0, str(device.id)),
        household.seq,
        Writer(device.id, None),
    )
    session.flush()
    login(client, county.accounts["inspector"])
    page = client.get(f"/ledger/households/{household.id}").get_data(as_text=True)
    assert "陈志明" in page and "县教育局" in page  # the cadre and their unit
    assert "入户走访" in page and "医保" in page  # a visit
    assert "孩子上大学的助学贷款" in page  # an issue
    assert "基本满意" in page  # the inspection
    # The change history: the phone's edit, whose phone it was, and the old and new value.
    assert "红米手机" in page and "4 → 6" in page
    assert f"{household.id}/cadre" not in page, "an inspector gets no reassignment form"


def test_the_ledger_index_lists_only_the_towns_in_scope(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["other_town_admin"])
    page = client.get("/ledger").get_data(as_text=True)
    assert "康美镇" in page and "前楼镇" not in page


def test_search_finds_households_and_cadres_only_within_scope(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["other_town_admin"])
    assert "黄强" in client.get("/ledger/search?q=黄").get_data(as_text=True)
    page = client.get("/ledger/search?q=林").get_data(as_text=True)
    assert "林0" not in page and "陈志明" not in page


def test_each_role_has_the_scope_its_account_gives(session: Session, county: County) -> None:
    scopes = {role: scope_for(session, account) for role, account in county.accounts.items()}
    assert scopes["county_admin"].whole_county and scopes["inspector"].whole_county
    assert scopes["town_admin"].town_ids == {county.town.id}
    assert scopes["other_town_inspector"].town_ids == {county.other_town.id}
    leader = scopes["village_leader"]
    assert leader.village_ids == {county.village.id} and leader.town_ids == {county.town.id}
    assert leader.has_village(county.village) and not leader.has_village(county.second_village)
    assert not scopes["cadre"].has_village(county.village)


def test_a_household_imported_before_the_link_was_recorded_as_a_link_still_opens(
    client: FlaskClient, county: County, session: Session
) -> None:
    """Imports once recorded the cadre inside the household's create entry, as one id
    or as nothing: databases keep such entries, and the page reads them as facts."""
    linked, unlinked = county.households[:2]
    for household, cadre_id in ((linked, str(county.cadre.id)), (unlinked, None)):
        session.add(
            AuditEntry(
                action="create",
                entity="household",
                entity_id=household.id,
                changes={
                    "code": household.code,
                    "phones": ["13912345678", "0596-5881234"],
                    "cadre_id": cadre_id,
                    "via": "import",
                },
            )
        )
    session.flush()
    login(client, county.accounts["county_admin"])

    page = client.get(f"/ledger/households/{linked.id}").get_data(as_text=True)
    history = page.split("变更记录", 1)[1]
    assert "挂户干部: 陈志明" in history
    assert "13912345678、0596-5881234" in history  # two phones, not an old and a new one
    response = client.get(f"/ledger/households/{unlinked.id}")
    assert response.status_code == 200
    assert "(import)" in response.get_data(as_text=True)


def test_a_change_entry_must_hold_old_and_new_values() -> None:
    with pytest.raises(ValueError, match="holds \\[old, new\\] per field"):
        entry_values(Actor(via="import"), "link", "household", None, {"cadre_id": "an id"})


def test_the_header_names_the_role_once_when_the_account_name_already_says_it(
    client: FlaskClient, county: County, session: Session
) -> None:
    def header(role: str) -> str:
        login(client, county.accounts[role])
        return client.get("/").get_data(as_text=True).split("</header>", 1)[0]

    county.accounts["county_admin"].display_name = "县级管理员"
    county.accounts["inspector"].display_name = "县效能办督查员"
    session.flush()
    assert header("county_admin").count("管理员") == 1
    assert header("inspector").count("督查员") == 1
    # A name that does not say it is followed by the role.
    assert "town-qianlou · 镇级管理员" in header("town_admin")


def test_a_villages_grids_are_listed_in_counting_order(
    client: FlaskClient, county: County, session: Session
) -> None:
    ledger = LedgerBuilder(session)
    for name in ("第10网格", "第2网格"):
        ledger.household(ledger.grid(county.village, name))
    login(client, county.accounts["town_admin"])
    page = client.get(f"/ledger/villages/{county.village.id}").get_data(as_text=True)
    positions = [page.index(f">{name}<") for name in ("第1网格", "第2网格", "第10网格")]
    assert positions == sorted(positions)

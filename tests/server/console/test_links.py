"""Changing links from the console: one household, a cadre's households in bulk,
a village's leaders; refused changes leave the ledger as it was."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.ledger.models import Cadre, Household, HouseholdLink, VillageLink
from server.ledger.reassign import shares
from shared.vocab import LeaderRole
from tests.server.console.conftest import County, csrf_token, login


def cadre_of(session: Session, household: Household) -> uuid.UUID | None:
    return session.scalar(
        select(HouseholdLink.cadre_id).where(
            HouseholdLink.household_id == household.id, HouseholdLink.ended_at.is_(None)
        )
    )


def reassign(client: FlaskClient, household: Household, cadre: Cadre, seen: Cadre) -> str:
    path = f"/ledger/households/{household.id}"
    response = client.post(
        f"{path}/cadre",
        data={"csrf_token": csrf_token(client, path), "cadre": str(cadre.id), "seen": str(seen.id)},
    )
    return f"{response.status_code} {response.get_data(as_text=True)}"


def test_a_household_is_given_to_another_cadre_and_its_history_says_who_did_it(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    household = county.households[4]
    assert reassign(client, household, county.neighbour, county.cadre).startswith("302")
    assert cadre_of(session, household) == county.neighbour.id
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_id == household.id, AuditEntry.action == "link")
        .order_by(AuditEntry.at.desc())
        .limit(1)
    ).one()
    assert entry.account_id == county.accounts["town_admin"].id
    page = client.get(f"/ledger/households/{household.id}").get_data(as_text=True)
    assert "陈志明 → 王丽" in page and "town-qianlou" in page


def test_a_disabled_cadre_or_one_from_another_town_cannot_take_a_household(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    household = county.households[4]
    refused = reassign(client, household, county.disabled, county.cadre)
    assert refused.startswith("400") and "已停用" in refused
    assert reassign(client, household, county.other_cadre, county.cadre).startswith("404")
    assert cadre_of(session, household) == county.cadre.id


def test_a_reassignment_from_a_stale_page_is_refused(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    household = county.households[4]
    stale = reassign(client, household, county.neighbour, seen=county.neighbour)
    assert stale.startswith("400") and "刚被他人改过" in stale
    assert cadre_of(session, household) == county.cadre.id


def test_giving_a_household_to_the_cadre_it_already_has_says_nothing_changed(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    household = county.households[4]
    links = session.scalars(select(HouseholdLink.id)).all()
    assert reassign(client, household, county.cadre, county.cadre).startswith("302")
    page = client.get(f"/ledger/households/{household.id}").get_data(as_text=True)
    assert "没有改动" in page and "已更换挂户干部" not in page
    assert session.scalars(select(HouseholdLink.id)).all() == links


def test_shares_even_out_the_loads_and_ties_go_to_the_cadre_chosen_first() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert shares({a: 3, b: 3}, 5) == {a: 3, b: 2}
    assert shares({a: 28, b: 20, c: 22}, 6) == {a: 0, b: 4, c: 2}


def test_a_cadres_households_are_handed_over_in_runs_to_the_chosen_cadres(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/ledger/cadres/{county.cadre.id}/transfer"
    page = client.get(path).get_data(as_text=True)
    assert "王丽" in page and "林海" not in page, "candidates are the village's cadres"
    second = session.scalar(select(Cadre).where(Cadre.name == "林海"))
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "households": [str(household.id) for household in county.households],
            # Any cadre in the town may be chosen, not only those listed.
            "targets": [str(county.neighbour.id), str(second.id)],
        },
    )
    assert response.status_code == 302
    owners = [cadre_of(session, household) for household in county.households]
    assert owners == [county.neighbour.id] * 3 + [second.id] * 2


def test_a_hand_over_including_a_disabled_cadre_changes_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    path = f"/ledger/cadres/{county.cadre.id}/transfer"
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "households": [str(household.id) for household in county.households],
            "targets": [str(county.neighbour.id), str(county.disabled.id)],
        },
    )
    assert response.status_code == 400 and "已停用" in response.get_data(as_text=True)
    assert {cadre_of(session, household) for household in county.households} == {county.cadre.id}


def test_a_cadre_who_still_covers_households_cannot_be_disabled_until_they_are_handed_over(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/ledger/cadres/{county.neighbour.id}"
    response = client.post(
        f"{path}/active", data={"csrf_token": csrf_token(client, path), "active": "0"}
    )
    assert response.status_code == 400 and "仍有挂钩农户" in response.get_data(as_text=True)
    session.refresh(county.neighbour)
    assert county.neighbour.active


def test_an_admin_sets_a_villages_town_link_leader(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["town_admin"])
    path = f"/ledger/villages/{county.village.id}"
    page = client.get(path).get_data(as_text=True)
    assert "郑书记" in page and "县挂钩领导" in page
    response = client.post(
        f"{path}/leaders",
        data={
            "csrf_token": csrf_token(client, path),
            "role": LeaderRole.TOWN.value,
            "cadre": str(county.neighbour.id),
        },
    )
    assert response.status_code == 302
    leader = session.scalar(
        select(VillageLink.cadre_id).where(
            VillageLink.village_id == county.village.id,
            VillageLink.role == LeaderRole.TOWN,
            VillageLink.ended_at.is_(None),
        )
    )
    assert leader == county.neighbour.id
    wrong = client.post(
        f"{path}/leaders",
        data={
            "csrf_token": csrf_token(client, path),
            "role": LeaderRole.COUNTY.value,
            "cadre": str(county.neighbour.id),
        },
    )
    assert wrong.status_code == 400, "a town cadre cannot be the county's link leader"

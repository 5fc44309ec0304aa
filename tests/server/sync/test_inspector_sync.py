"""An inspector's phone: it holds exactly the households assigned to the inspector,
with their cadres, and its spot checks are accepted only for those."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.accounts.models import Account
from server.accounts.scope import Scope
from server.accounts.services import create_account
from server.audit.services import SYSTEM, Actor
from server.db import transaction
from server.inspections import services
from server.inspections.models import Inspection, InspectionAssignment
from shared.vocab import AccountRole
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import PASSWORD, County

ANSWERS = {"knows_cadre": True, "problem_solved": "none_raised", "satisfaction": "satisfied"}


def _inspector(county: County, assigned: list[str]) -> str:
    """A county-wide inspector with ``assigned`` households to check; their username."""
    with transaction(county.app.extensions["minqing.db"]) as session:
        inspector = create_account(
            session, SYSTEM, username="inspector-1", password=PASSWORD,
            role=AccountRole.INSPECTOR, display_name="县效能办",
        )  # fmt: skip
        admin = Actor(account_id=county.admin_account(session).id)
        services.assign(session, admin, inspector, [uuid.UUID(h) for h in assigned], draw=2015)
    return "inspector-1"


def _open(county: County) -> set[str]:
    with county.session() as session:
        return {
            str(household_id)
            for household_id in session.scalars(
                select(InspectionAssignment.household_id).where(
                    InspectionAssignment.checked_at.is_(None),
                    InspectionAssignment.withdrawn_at.is_(None),
                )
            )
        }


def test_an_inspectors_phone_holds_the_assigned_households_and_their_cadres_only(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    assigned = [county.households[first][0], county.households[second][1]]
    phone = county.phone(_inspector(county, assigned), transport)
    assert phone.sync().ok
    assert sorted(h["id"] for h in phone.households()) == sorted(assigned)
    # Whether the household knows its cadre: each one's cadre, with unit and phone.
    links = {
        link["household_id"]: link["cadre_id"] for link in phone.store.records("household_link")
    }
    cadres = {cadre["id"]: cadre for cadre in phone.store.records("cadre")}
    assert {cadres[links[h]]["name"] for h in assigned} == {"干部1", "干部2"}
    assert all(cadres[links[h]]["phone"] for h in assigned)
    assert {unit["id"] for unit in phone.store.records("work_unit")} >= {
        cadre["unit_id"] for cadre in cadres.values()
    }


def test_a_check_closes_the_assignment_and_the_household_leaves_the_phone(
    county: County, transport: FlaskTransport
) -> None:
    first = county.cadres[0]
    household, other = county.households[first][:2]
    phone = county.phone(_inspector(county, [household, other]), transport)
    phone.sync()
    # Two checks of the same household before the phone finds signal: both count.
    phone.record_inspection(household, notes="第一次", **ANSWERS)
    phone.record_inspection(household, notes="第二次", **ANSWERS)
    report = phone.sync()
    assert (report.applied, report.rejected) == (2, [])
    with county.session() as session:
        assert sorted(i.notes for i in session.scalars(select(Inspection))) == ["第一次", "第二次"]
    assert _open(county) == {other}
    assert [h["id"] for h in phone.households()] == [other]


def test_a_check_of_a_household_not_assigned_to_the_inspector_is_refused(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    phone = county.phone(_inspector(county, [county.households[first][0]]), transport)
    phone.sync()
    phone.record_inspection(county.households[second][0], **ANSWERS)
    report = phone.sync()
    assert report.applied == 0 and len(report.rejected) == 1
    assert "not on your list" in report.rejected[0]["message"]
    with county.session() as session:
        assert session.scalars(select(Inspection)).all() == []
    assert _open(county) == {county.households[first][0]}


def test_a_withdrawn_assignment_leaves_the_phone_and_an_inspector_with_none_holds_nothing(
    county: County, transport: FlaskTransport
) -> None:
    household = county.households[county.cadres[0]][0]
    phone = county.phone(_inspector(county, [household]), transport)
    phone.sync()
    assert [h["id"] for h in phone.households()] == [household]
    with transaction(county.app.extensions["minqing.db"]) as session:
        inspector = session.scalars(select(Account).where(Account.username == "inspector-1")).one()
        whole_county = Scope(AccountRole.COUNTY_ADMIN)
        assert services.withdraw(session, SYSTEM, inspector, whole_county) == 1
    report = phone.sync()
    assert report.ok and report.evicted == 1
    assert phone.households() == [] and phone.store.records("household_link") == []


def test_an_inspector_who_has_a_cadre_holds_both_their_households_and_the_assigned(
    county: County, transport: FlaskTransport
) -> None:
    first, second = county.cadres
    assigned = county.households[second][0]
    with transaction(county.app.extensions["minqing.db"]) as session:
        inspector = create_account(
            session, SYSTEM, username="inspector-2", password=PASSWORD,
            role=AccountRole.INSPECTOR, cadre=county.cadre(session, first),
        )  # fmt: skip
        admin = Actor(account_id=county.admin_account(session).id)
        services.assign(session, admin, inspector, [uuid.UUID(assigned)], draw=1)
    phone = county.phone("inspector-2", transport)
    phone.sync()
    assert sorted(h["id"] for h in phone.households()) == sorted(
        county.households[first] + [assigned]
    )

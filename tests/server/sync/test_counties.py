"""Two counties on one server: each numbers its own changes (a counter per county)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from server.accounts.models import Account
from server.accounts.services import create_account
from server.audit.services import SYSTEM, Actor
from server.db import transaction
from server.inspections import services
from server.inspections.models import Inspection
from server.ledger.models import County as CountyRecord
from server.ledger.models import Household
from server.sequence import SyncCounter
from server.visits.models import Visit
from shared.vocab import AccountRole
from sync.phone import Phone
from tests.server.sync.test_inspector_sync import ANSWERS
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import PASSWORD, County

VISITS_EACH = 4
PULLS_DURING = 6


def test_two_counties_phones_pushing_at_once_each_pull_all_their_county_and_nothing_of_the_other(
    sync_app: Flask, tmp_path: Path
) -> None:
    east = County.build(sync_app, tmp_path, cadres=3)
    west = County.build(sync_app, tmp_path, cadres=3, name="西山县", admin="town-xishan")

    def transport() -> FlaskTransport:
        return FlaskTransport(sync_app.test_client())

    # Each cadre has two phones: one records visits offline, the other only
    # pulls, again and again while every county's phones push.
    writers: list[Phone] = []
    readers: list[tuple[str, str, Phone]] = []
    counties = {"东山县": east, "西山县": west}
    for name, county in counties.items():
        for username in county.cadres:
            writer = county.phone(username, transport(), name=f"{username}-w")
            reader = county.phone(username, transport(), name=f"{username}-r")
            for phone in (writer, reader):
                assert phone.sync().ok
            for index in range(VISITS_EACH):
                household = county.households[username][index % len(county.households[username])]
                writer.record_visit(household, roles=["policy"], notes=f"走访 {index}")
            writers.append(writer)
            readers.append((name, username, reader))

    start = threading.Barrier(len(writers) + len(readers))
    failures: list[str] = []

    def push(phone: Phone) -> None:
        start.wait()
        report = phone.sync()
        if not report.ok or report.applied != VISITS_EACH:
            failures.append(f"push: {report}")

    def pull(phone: Phone) -> None:
        start.wait()
        for _ in range(PULLS_DURING):
            if not phone.sync().ok:
                failures.append("pull failed")

    threads = [threading.Thread(target=push, args=(phone,)) for phone in writers] + [
        threading.Thread(target=pull, args=(phone,)) for _, _, phone in readers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []

    with east.session() as session:
        ids = dict(session.execute(select(CountyRecord.name, CountyRecord.id)).all())
        visits_of = {
            name: set(
                map(
                    str,
                    session.scalars(
                        select(Visit.id)
                        .join(Household, Household.id == Visit.household_id)
                        .where(Household.county_id == ids[name])
                    ),
                )
            )
            for name in counties
        }
        # Every visit lies in its household's county, and was numbered by it.
        assert (
            session.scalar(select(func.count()).select_from(Visit).where(Visit.county_id.is_(None)))
            == 0
        )
        counters = dict(session.execute(select(SyncCounter.county_id, SyncCounter.value)).all())
        assert set(counters) == set(ids.values())
    assert all(len(visits) == len(east.cadres) * VISITS_EACH for visits in visits_of.values())

    for name, username, reader in readers:
        (other,) = set(counties) - {name}
        own_households = set(counties[name].households[username])
        # One more pull: what committed after the last pull during the burst.
        assert reader.sync().ok
        held = {visit["id"] for visit in reader.visits()}
        expected = {
            visit_id
            for visit_id in visits_of[name]
            if _household_of(east, visit_id) in own_households
        }
        assert held == expected
        assert not held & visits_of[other]
        # Its county's record only, and a cursor of its county's counter.
        assert [record["name"] for record in reader.store.records("county")] == [name]
        assert {h["id"] for h in reader.households()} == own_households


def _household_of(county: County, visit_id: str) -> str:
    with county.session() as session:
        visit = session.get(Visit, uuid.UUID(visit_id))
        assert visit is not None
        return str(visit.household_id)


def test_an_inspector_assigned_in_another_county_holds_only_that_countys_households(
    sync_app: Flask, tmp_path: Path
) -> None:
    east = County.build(sync_app, tmp_path)
    west = County.build(sync_app, tmp_path, name="西山县", admin="town-xishan")
    east_household = east.households[east.cadres[0]][0]
    west_household = west.households[west.cadres[0]][0]
    assign(east, "inspector-1", east_household, create=True)
    phone = east.phone("inspector-1", FlaskTransport(sync_app.test_client()))
    assert phone.sync().ok
    assert [h["id"] for h in phone.households()] == [east_household]
    phone.record_inspection(east_household, **ANSWERS)

    # Their latest assignment is in the other county: their phone is now that county's.
    assign(west, "inspector-1", west_household)
    report = phone.sync()

    assert report.ok and report.rejected and report.applied == 0
    assert [h["id"] for h in phone.households()] == [west_household]
    assert "西山县" in {record["name"] for record in phone.store.records("county")}
    with east.session() as session:
        assert session.scalar(select(func.count()).select_from(Inspection)) == 0


def assign(county: County, username: str, household: str, create: bool = False) -> None:
    with transaction(county.app.extensions["minqing.db"]) as session:
        if create:
            create_account(
                session, SYSTEM, username=username, password=PASSWORD,
                role=AccountRole.INSPECTOR, display_name="督查员",
            )  # fmt: skip
        inspector = session.scalars(select(Account).where(Account.username == username)).one()
        admin = Actor(account_id=county.admin_account(session).id)
        services.assign(session, admin, inspector, [uuid.UUID(household)], draw=2015)

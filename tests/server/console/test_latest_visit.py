"""Each household's and cadre's latest visit, kept on their rows for the
coverage dashboard: brought forward by every new visit, back by a tombstone,
however visits arrive (a push's batch, change by change, two pushes at once)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from server.audit.services import SYSTEM
from server.clock import utcnow
from server.db import make_engine, transaction
from server.ledger.models import Cadre, Household
from server.ledger.services import link_household
from server.migrate import upgrade
from server.visits.models import Visit
from server.visits.services import refresh_last_visits
from shared.vocab import VisitKind
from tests.builders import LedgerBuilder
from tests.conftest import fresh_database_url
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County


@pytest.fixture
def pushing(sync_app: Flask, tmp_path: Path) -> tuple[County, FlaskTransport]:
    """The sync tests' small county, and a way for its phones to reach the server."""
    return County.build(sync_app, tmp_path), FlaskTransport(sync_app.test_client())


def latest(app: Flask, household_id: str) -> tuple[datetime | None, datetime | None]:
    """The household's latest visit, and its cadre's, as the database has them."""
    with transaction(app.extensions["minqing.db"]) as session:
        household = session.get(Household, uuid.UUID(household_id))
        assert household is not None
        cadre = session.scalars(
            select(Cadre)
            .join(Visit, Visit.cadre_id == Cadre.id)
            .where(Visit.household_id == household.id)
        ).first()
        return household.last_visited_at, cadre.last_visited_at if cadre else None


def test_pushed_visits_bring_the_latest_visit_forward_and_never_back(
    pushing: tuple[County, FlaskTransport],
) -> None:
    county, transport = pushing
    username = county.cadres[0]
    household = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    now = utcnow().replace(microsecond=0)
    assert latest(county.app, household) == (None, None)

    phone.record_visit(household, visited_at=now - timedelta(days=3))
    phone.sync()
    assert latest(county.app, household) == (now - timedelta(days=3),) * 2

    # An older visit entered late, then two in one batch: only later ones count.
    phone.record_visit(household, visited_at=now - timedelta(days=20))
    phone.sync()
    assert latest(county.app, household) == (now - timedelta(days=3),) * 2
    phone.record_visit(household, visited_at=now - timedelta(days=1))
    phone.record_visit(household, visited_at=now - timedelta(days=2))
    phone.sync()
    assert latest(county.app, household) == (now - timedelta(days=1),) * 2


def test_a_deleted_visit_takes_the_latest_visit_back_to_the_one_before(
    pushing: tuple[County, FlaskTransport],
) -> None:
    county, transport = pushing
    username = county.cadres[0]
    household = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    now = utcnow().replace(microsecond=0)
    oldest = phone.record_visit(household, visited_at=now - timedelta(days=40))
    wrong = phone.record_visit(household, visited_at=now - timedelta(days=1))
    phone.sync()

    # In one batch, the correction and the removal of the wrong visit.
    corrected = phone.record_visit(household, visited_at=now - timedelta(days=5))
    phone.delete("visit", wrong)
    phone.sync()
    assert latest(county.app, household) == (now - timedelta(days=5),) * 2

    phone.delete("visit", corrected)
    phone.sync()
    assert latest(county.app, household) == (now - timedelta(days=40),) * 2
    phone.delete("visit", oldest)
    phone.sync()
    assert latest(county.app, household) == (None, None)


def visit(household: Household, cadre: Cadre, at: datetime) -> Visit:
    return Visit(
        id=uuid.uuid4(),
        cadre_id=cadre.id,
        household_id=household.id,
        visited_at=at,
        kind=VisitKind.HOME_VISIT,
    )


def test_visits_written_through_the_orm_keep_the_latest_visit(session: Session) -> None:
    # As a push applied change by change writes them.
    ledger = LedgerBuilder(session)
    household, cadre = ledger.household(), ledger.cadre()
    link_household(session, SYSTEM, household, cadre)
    now = utcnow()
    first, second = visit(household, cadre, now - timedelta(days=9)), visit(household, cadre, now)
    session.add_all([first, second])
    session.flush()
    session.refresh(household)
    session.refresh(cadre)
    assert (household.last_visited_at, cadre.last_visited_at) == (now, now)

    second.deleted_at = now
    session.flush()
    session.refresh(household)
    session.refresh(cadre)
    assert (household.last_visited_at, cadre.last_visited_at) == (now - timedelta(days=9),) * 2


def test_counting_again_after_a_bulk_load_finds_every_latest_visit(session: Session) -> None:
    ledger = LedgerBuilder(session)
    visited, never = ledger.household(), ledger.household()
    cadre = ledger.cadre()
    now = utcnow()
    session.execute(
        Visit.__table__.insert(),
        [
            {
                **row,
                "id": uuid.uuid4(),
                "cadre_id": cadre.id,
                "household_id": visited.id,
                "kind": VisitKind.HOME_VISIT,
            }
            for row in (
                {"visited_at": now - timedelta(days=2), "seq": 1, "deleted_at": None},
                {"visited_at": now, "seq": 2, "deleted_at": now},
            )
        ],
    )
    refresh_last_visits(session)
    for record in (visited, never, cadre):
        session.refresh(record)
    assert visited.last_visited_at == cadre.last_visited_at == now - timedelta(days=2)
    assert never.last_visited_at is None


# --- two transactions at once ----------------------------------------------------------


@pytest.fixture
def racing(backend: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database of their own, whose commits are real."""
    if backend == "sqlite":
        pytest.skip("SQLite lets one transaction write at a time: there is no race")
    engine: Engine = make_engine(fresh_database_url(backend, tmp_path, "latest_visit_race"))
    upgrade(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def race(first: Session, second: Session, write_second: object) -> None:
    """``second`` writes (in a thread: it waits for ``first``'s lock) while ``first``
    has written and not committed; then ``first`` commits, then ``second``."""
    done = threading.Event()

    def run() -> None:
        write_second()  # type: ignore[operator]
        second.commit()
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert not done.wait(0.5), "the second transaction should wait for the first's lock"
    first.commit()
    thread.join(timeout=30)
    assert done.is_set()


def test_two_pushes_for_one_household_at_once_keep_the_later_visit(
    racing: sessionmaker[Session],
) -> None:
    with racing() as setup, setup.begin():
        ledger = LedgerBuilder(setup)
        household, cadre = ledger.household(), ledger.cadre()
    now = utcnow()
    with racing() as first, racing() as second:
        first.add(visit(household, cadre, now))
        first.flush()
        second.add(visit(household, cadre, now - timedelta(days=5)))
        race(first, second, second.flush)
    with racing() as check:
        assert check.get(Household, household.id).last_visited_at == now  # type: ignore[union-attr]
        assert check.get(Cadre, cadre.id).last_visited_at == now  # type: ignore[union-attr]


@pytest.mark.parametrize("removal_first", [True, False])
def test_a_removal_and_a_new_visit_at_once_leave_the_latest_live_visit(
    racing: sessionmaker[Session], removal_first: bool
) -> None:
    now = utcnow()
    with racing() as setup, setup.begin():
        ledger = LedgerBuilder(setup)
        household, cadre = ledger.household(), ledger.cadre()
        setup.add(visit(household, cadre, now - timedelta(days=30)))
        wrong = visit(household, cadre, now)
        setup.add(wrong)
    with racing() as remover, racing() as visitor:

        def remove() -> None:
            removed = remover.get(Visit, wrong.id)
            assert removed is not None
            removed.deleted_at = now
            remover.flush()

        def add() -> None:
            visitor.add(visit(household, cadre, now - timedelta(days=10)))
            visitor.flush()

        if removal_first:
            remove()
            race(remover, visitor, add)
        else:
            add()
            race(visitor, remover, remove)
    with racing() as check:
        assert check.get(Household, household.id).last_visited_at == now - timedelta(days=10)  # type: ignore[union-attr]

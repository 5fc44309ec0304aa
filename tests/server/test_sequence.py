"""Seqs: each handed out once, in commit order, however a transaction takes them.

A transaction's first ``take`` of a county locks that county's counter; it
then counts on by itself and writes the counter when it commits
(server/sequence.py). Counties number apart and never wait for each other.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from server.db import make_engine
from server.ledger.models import County, Town
from server.migrate import upgrade
from server.sequence import committed_high_water, take
from tests.conftest import fresh_database_url


@pytest.fixture
def sessions(backend: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database of their own, whose commits are real."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "sequence"))
    upgrade(engine)
    yield sessionmaker(engine)
    engine.dispose()


# Counters are keyed by a county's id (and made at its first write).
EAST, WEST = uuid.uuid4(), uuid.uuid4()


def counter(sessions: sessionmaker[Session], county: uuid.UUID = EAST) -> int:
    """The county's counter as another transaction sees it."""
    with sessions() as session:
        return committed_high_water(session, county)


def test_one_transaction_takes_seqs_one_after_another_and_they_show_once_it_commits(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        taken = [*take(session, EAST, 1), *take(session, EAST, 3), *take(session, EAST, 2)]
        assert taken == list(range(start + 1, start + 7))
        assert counter(sessions) == start
        session.commit()
    assert counter(sessions) == start + 6


def test_seqs_taken_in_a_savepoint_that_was_rolled_back_are_not_handed_out_again(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        assert list(take(session, EAST, 1)) == [start + 1]
        savepoint = session.begin_nested()
        assert list(take(session, EAST, 2)) == [start + 2, start + 3]
        savepoint.rollback()
        assert list(take(session, EAST, 1)) == [start + 4]
        session.commit()
    assert counter(sessions) == start + 4


def test_a_lock_first_taken_in_a_savepoint_that_was_rolled_back_is_taken_again(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        savepoint = session.begin_nested()
        assert list(take(session, EAST, 2)) == [start + 1, start + 2]
        savepoint.rollback()
        # The rollback undid the counter's update and freed its lock: the
        # next seq comes from the database again, under a new lock.
        assert list(take(session, EAST, 1)) == [start + 1]
        session.commit()
    assert counter(sessions) == start + 1


def test_a_second_writer_waits_for_the_first_and_takes_the_seqs_after_all_of_its(
    backend: str, sessions: sessionmaker[Session]
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite lets one transaction write at a time: there is no race")
    start = counter(sessions)
    taken: list[int] = []
    done = threading.Event()
    with sessions() as first, sessions() as second:
        assert list(take(first, EAST, 2)) == [start + 1, start + 2]

        def run() -> None:
            taken.extend(take(second, EAST, 3))
            second.commit()
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.5), "the second writer should wait for the first's lock"
        assert list(take(first, EAST, 1)) == [start + 3]
        first.commit()
        thread.join(timeout=30)
    assert done.is_set()
    assert taken == [start + 4, start + 5, start + 6]
    assert counter(sessions) == start + 6


def test_a_transaction_writing_two_counties_numbers_each_with_its_own_counter(
    sessions: sessionmaker[Session],
) -> None:
    east, west = counter(sessions, EAST), counter(sessions, WEST)
    with sessions() as session:
        assert list(take(session, EAST, 2)) == [east + 1, east + 2]
        assert list(take(session, WEST, 1)) == [west + 1]
        assert list(take(session, EAST, 1)) == [east + 3]
        session.commit()
    assert (counter(sessions, EAST), counter(sessions, WEST)) == (east + 3, west + 1)


def test_a_writer_of_another_county_does_not_wait_for_the_first(
    backend: str, sessions: sessionmaker[Session]
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite lets one transaction write at a time, whatever its county")
    east, west = counter(sessions, EAST), counter(sessions, WEST)
    taken: list[int] = []
    done = threading.Event()
    with sessions() as first, sessions() as second:
        assert list(take(first, EAST, 2)) == [east + 1, east + 2]

        def run() -> None:
            taken.extend(take(second, WEST, 3))
            second.commit()
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        # The first still holds its county's lock: the other county goes on.
        assert done.wait(10), "a writer of another county should not wait"
        assert counter(sessions, WEST) == west + 3
        assert counter(sessions, EAST) == east
        first.commit()
        thread.join(timeout=30)
    assert taken == [west + 1, west + 2, west + 3]
    assert counter(sessions, EAST) == east + 2


def test_a_pull_of_either_county_never_misses_a_record_its_county_committed_late(
    backend: str, sessions: sessionmaker[Session]
) -> None:
    """Writers of two counties add towns at once, each holding its lock a
    random while; a reader of each county keeps reading its high water and
    the county's towns at or below it, as a pull does. Whatever a reader saw
    below a high water is all its county ever commits there."""
    if backend == "sqlite":
        pytest.skip("SQLite lets one transaction write at a time: there is no race")
    with sessions() as session:
        counties = [
            County(name="东山县", service_numbers=[]),
            County(name="西山县", service_numbers=[]),
        ]
        session.add_all(counties)
        session.commit()
        ids = [county.id for county in counties]
    rng = random.Random(14)
    plans = {
        (county, writer): [rng.random() / 50 for _ in range(8)]
        for county in ids
        for writer in range(2)
    }
    writing = threading.Event()
    seen: list[tuple[uuid.UUID, int, set[int]]] = []
    errors: list[BaseException] = []

    def write(county: uuid.UUID, writer: int, pauses: list[float]) -> None:
        try:
            for number, pause in enumerate(pauses):
                with sessions() as session:
                    session.add(Town(county_id=county, name=f"{writer}-{number}"))
                    session.flush()  # takes the county's lock
                    time.sleep(pause)
                    session.commit()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def read(county: uuid.UUID) -> None:
        while writing.is_set():
            with sessions() as session:
                high_water = committed_high_water(session, county)
                below = set(session.scalars(TOWN_SEQS, {"county": county, "top": high_water}))
            seen.append((county, high_water, below))

    writers = [
        threading.Thread(target=write, args=(county, writer, pauses))
        for (county, writer), pauses in plans.items()
    ]
    readers = [threading.Thread(target=read, args=(county,)) for county in ids]
    writing.set()
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    writing.clear()
    for thread in readers:
        thread.join(timeout=60)
    assert errors == []
    with sessions() as session:
        final = {
            county: set(session.scalars(TOWN_SEQS, {"county": county, "top": 10**9}))
            for county in ids
        }
    for county in ids:
        # Each county's towns are numbered one after another by its own counter.
        assert sorted(final[county]) == list(range(2, 18)), final[county]
    assert len(seen) > 10
    for county, high_water, below in seen:
        assert below == {seq for seq in final[county] if seq <= high_water}


TOWN_SEQS = select(Town.seq).where(
    Town.county_id == bindparam("county"), Town.seq <= bindparam("top")
)

"""Seqs: each handed out once, in commit order, however a transaction takes them.

A transaction's first ``take`` locks the counter; it then counts on by itself
and writes the counter when it commits (server/sequence.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from server.db import make_engine
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


def counter(sessions: sessionmaker[Session]) -> int:
    """The counter as another transaction sees it."""
    with sessions() as session:
        return committed_high_water(session)


def test_one_transaction_takes_seqs_one_after_another_and_they_show_once_it_commits(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        taken = [*take(session, 1), *take(session, 3), *take(session, 2)]
        assert taken == list(range(start + 1, start + 7))
        assert counter(sessions) == start
        session.commit()
    assert counter(sessions) == start + 6


def test_seqs_taken_in_a_savepoint_that_was_rolled_back_are_not_handed_out_again(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        assert list(take(session, 1)) == [start + 1]
        savepoint = session.begin_nested()
        assert list(take(session, 2)) == [start + 2, start + 3]
        savepoint.rollback()
        assert list(take(session, 1)) == [start + 4]
        session.commit()
    assert counter(sessions) == start + 4


def test_a_lock_first_taken_in_a_savepoint_that_was_rolled_back_is_taken_again(
    sessions: sessionmaker[Session],
) -> None:
    start = counter(sessions)
    with sessions() as session:
        savepoint = session.begin_nested()
        assert list(take(session, 2)) == [start + 1, start + 2]
        savepoint.rollback()
        # The rollback undid the counter's update and freed its lock: the
        # next seq comes from the database again, under a new lock.
        assert list(take(session, 1)) == [start + 1]
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
        assert list(take(first, 2)) == [start + 1, start + 2]

        def run() -> None:
            taken.extend(take(second, 3))
            second.commit()
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.5), "the second writer should wait for the first's lock"
        assert list(take(first, 1)) == [start + 3]
        first.commit()
        thread.join(timeout=30)
    assert done.is_set()
    assert taken == [start + 4, start + 5, start + 6]
    assert counter(sessions) == start + 6

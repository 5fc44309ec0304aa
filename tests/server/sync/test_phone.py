"""The phone's own bookkeeping: edits made at the same moment, and what counts as received."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta, timezone

from server.db import transaction
from server.ledger.models import Household
from server.sync.conflicts import edit_household
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County

CHINA = timezone(timedelta(hours=8))


def at_once(calls: list[Callable[[], object]]) -> None:
    """Run the calls on threads of their own, released together; fail if one failed."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            call()
        except BaseException as failure:  # reported by the main thread
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_edits_of_one_household_made_at_the_same_moment_on_two_threads_all_keep(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    fields = {
        "address": lambda n: f"前楼村{n}号",
        "notes": lambda n: f"第{n}次核对",
        "members": lambda n: n + 1,
        "phones": lambda n: [f"139059600{n:02d}"],
    }
    rounds = 15
    for n in range(rounds):
        at_once(
            [
                lambda name=name, n=n: phone.edit_household(household_id, **{name: fields[name](n)})
                for name in fields
            ]
        )
        shown = phone.household(household_id)
        assert shown is not None
        assert {name: shown[name] for name in fields} == {
            name: value(n) for name, value in fields.items()
        }, f"an edit of round {n} was lost on the phone"
    assert phone.pending_count() == rounds * len(fields)
    assert phone.sync().ok
    with county.session() as session:
        stored = session.get(Household, uuid.UUID(household_id))
        assert stored is not None
        assert {name: getattr(stored, name) for name in fields} == {
            name: value(rounds - 1) for name, value in fields.items()
        }


def test_status_changes_made_at_the_same_moment_each_start_from_the_status_shown_before(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone = county.phone(username, transport)
    phone.sync()
    phone.record_visit(household_id, issues=[{"category": "medical", "description": "看病难"}])
    (issue,) = phone.issues()
    issue_id = issue["id"]
    statuses = ["in_progress", "passed_to_department", "in_progress", "solved"] * 3
    at_once(
        [
            lambda status=status: phone.follow_up(issue_id, status=status, department="县民政局")
            for status in statuses
        ]
    )
    # Stored one after the other: each change's base is the status the one
    # before it showed, and the issue shows the last.
    with closing(sqlite3.connect(phone.store.path)) as db:
        events = [
            json.loads(record)
            for (record,) in db.execute(
                "SELECT record FROM outbox WHERE kind = 'issue_event' ORDER BY position"
            )
        ]
    changes = [event for event in events if event["issue_id"] == issue_id and event["status"]]
    assert len(changes) == len(statuses)
    for before, after in itertools.pairwise(changes):
        assert after["base_status"] == before["status"]
    assert phone.store.record("issue", issue_id)["status"] == changes[-1]["status"]  # type: ignore[index]


def test_received_counts_what_is_new_for_the_phone_not_its_own_records_coming_back(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    first, second = county.households[username][:2]
    phone = county.phone(username, transport)
    arrived = phone.sync().received
    with closing(sqlite3.connect(phone.store.path)) as db:
        assert arrived == db.execute("SELECT count(*) FROM record").fetchone()[0] > 0
    # Recorded in China's time; the server sends the times back in UTC.
    phone.record_visit(
        first,
        notes="了解医保",
        visited_at=datetime.now(CHINA) - timedelta(hours=1),
        issues=[{"category": "education", "description": "助学贷款"}],
    )
    phone.edit_household(first, notes="低保户")
    report = phone.sync()
    assert (report.applied, report.received) == (3, 0)
    assert len(phone.store.records("issue_event")) == 1, "the issue's first status came back"

    # The town office corrects another household: that, and only that, is received.
    with transaction(county.app.extensions["minqing.db"]) as session:
        household = session.get(Household, uuid.UUID(second))
        assert household is not None
        edit_household(
            session, county.admin_account(session), household, {"address": "前楼村8号"},
            household.seq,
        )  # fmt: skip
    assert phone.sync().received == 1
    assert phone.sync().received == 0

"""Property test: phones and a town office editing, syncing, losing answers and
keeping wrong clocks, in any order, end with one ledger, nothing lost or doubled.

Each example runs 2–5 virtual phones against the real app and database.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from server.db import transaction
from server.issues.models import Issue
from server.ledger.models import Household
from server.sync.conflicts import edit_household
from server.sync.scope import current_households
from server.visits.models import Visit
from sync.engine import SyncReport
from sync.phone import Phone
from sync.transport import NetworkError
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County, wipe

DAY_MS = 24 * 3600 * 1000
SKEWS = st.sampled_from([0, 0, 90_000, -3 * DAY_MS, 2 * DAY_MS])
FIELDS = {
    "phones": st.sampled_from([["13905960001"], ["13905960002"], [], ["0596-5881234"]]),
    "members": st.integers(min_value=1, max_value=8),
    "address": st.sampled_from(["前楼村 1 号", "前楼村 2 号", "新址"]),
    "notes": st.sampled_from(["", "独居", "儿子在外打工"]),
}
STATUSES = st.sampled_from(
    ["passed_to_department", "in_progress", "solved", "household_informed", "open"]
)
picks = st.integers(min_value=0, max_value=10_000)


class SyncWorld(RuleBasedStateMachine):
    """The county's phones and its town office, driven at random."""

    def __init__(self, app: Flask, engine: Engine, tmp: Path) -> None:
        super().__init__()
        self.app, self.engine, self.tmp = app, engine, tmp
        self.transport = FlaskTransport(app.test_client())
        self.phones: list[Phone] = []
        self.users: list[str] = []
        self.skews: list[int] = []
        self.visits: set[str] = set()
        self.issues: set[str] = set()

    @initialize(
        cadres=st.integers(min_value=2, max_value=5), skews=st.lists(SKEWS, min_size=5, max_size=5)
    )
    def start(self, cadres: int, skews: list[int]) -> None:
        wipe(self.engine)
        self.county = County.build(self.app, self.tmp, cadres=cadres, households_each=2)
        for index, username in enumerate(self.county.cadres):
            self.skews.append(skews[index])
            phone = self.county.phone(username, self.transport, name=f"p{index}")
            phone.engine._wall_ms = self._wall(index)
            phone.clock._now_ms = self._wall(index)
            assert phone.sync().ok
            self.phones.append(phone)
            self.users.append(username)

    def _wall(self, index: int) -> Any:
        import time

        return lambda: time.time_ns() // 1_000_000 + self.skews[index]

    def _phone(self, pick: int) -> Phone:
        return self.phones[pick % len(self.phones)]

    def _held(self, phone: Phone, pick: int) -> str | None:
        held = sorted(h["id"] for h in phone.households())
        return held[pick % len(held)] if held else None

    @rule(who=picks, which=picks, issues=st.integers(min_value=0, max_value=2))
    def record_visit(self, who: int, which: int, issues: int) -> None:
        phone = self._phone(who)
        household = self._held(phone, which)
        if household is None:
            return
        visit = phone.record_visit(
            household,
            roles=["opinions"],
            issues=[{"category": "other", "description": f"问题{n}"} for n in range(issues)],
        )
        self.visits.add(visit)
        self.issues |= {i["id"] for i in phone.issues() if i.get("visit_id") == visit}

    @rule(who=picks, which=picks, data=st.data())
    def phone_edits_a_fact(self, who: int, which: int, data: st.DataObject) -> None:
        phone = self._phone(who)
        household = self._held(phone, which)
        if household is None:
            return
        name = data.draw(st.sampled_from(sorted(FIELDS)))
        phone.edit_household(household, **{name: data.draw(FIELDS[name])})

    @rule(which=picks, data=st.data())
    def town_office_edits_a_fact(self, which: int, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(FIELDS)))
        value = data.draw(FIELDS[name])
        with transaction(self.app.extensions["minqing.db"]) as session:
            households = session.scalars(select(Household).order_by(Household.code)).all()
            household = households[which % len(households)]
            edit_household(
                session, self.county.admin_account(session), household, {name: value}, household.seq
            )

    @rule(who=picks, which=picks, status=STATUSES)
    def phone_moves_an_issue(self, who: int, which: int, status: str) -> None:
        phone = self._phone(who)
        issues = sorted(i["id"] for i in phone.issues() if i.get("household_id"))
        if issues:
            phone.follow_up(issues[which % len(issues)], status=status, note="跟进")

    @rule(who=picks, lose_answer=st.booleans())
    def sync(self, who: int, lose_answer: bool) -> None:
        phone = self._phone(who)
        self.transport.drop_responses = 1 if lose_answer else 0
        try:
            phone.sync()
        except NetworkError:
            assert lose_answer
        self.transport.drop_responses = 0

    @rule(who=picks)
    def pull_while_edits_wait(self, who: int) -> None:
        # The cadre edits while a sync is between its push and its pull.
        self._phone(who).engine.pull(SyncReport())

    @rule(who=picks)
    def push_the_same_batch_twice(self, who: int) -> None:
        phone = self._phone(who)
        batch = [entry.to_wire() for entry in phone.store.pending(20)]
        if batch:
            token = phone.store.get_meta("token") or ""
            self.transport.push(token, phone.clock.physical_ms(), batch)
            self.transport.push(token, phone.clock.physical_ms(), batch)

    @rule(who=picks, skew=SKEWS)
    def a_phone_clock_jumps(self, who: int, skew: int) -> None:
        self.skews[who % len(self.phones)] = skew

    @precondition(lambda self: len(self.phones) >= 2)
    @rule(which=picks, to=picks)
    def county_reassigns_a_household(self, which: int, to: int) -> None:
        everyone = sorted(h for ids in self.county.households.values() for h in ids)
        self.county.reassign(everyone[which % len(everyone)], self.users[to % len(self.users)])

    @invariant()
    def a_phone_never_hides_its_own_unsent_edits(self) -> None:
        for phone in self.phones:
            latest: dict[tuple[str, str], Any] = {}
            for change in phone.store.outbox("pending"):
                if change["kind"] == "household":
                    for name, value in change["record"].items():
                        latest[(change["record_id"], name)] = value
            for (household_id, name), value in latest.items():
                if name != "id":
                    shown = phone.household(household_id)
                    assert shown is not None and shown[name] == value

    def teardown(self) -> None:
        if not self.phones:
            return
        try:
            self._settle_and_compare()
        finally:
            for phone in self.phones:
                phone.close()

    def _settle_and_compare(self) -> None:
        # Everyone comes back to town: push everything, then everyone pulls.
        for _ in range(2):
            for phone in self.phones:
                assert phone.sync().ok
        for phone in self.phones:
            assert phone.pending_count() == 0
            assert phone.store.outbox("rejected") == [], phone.store.outbox("rejected")
        with self.county.session() as session:
            server_visits = [str(v) for v in session.scalars(select(Visit.id))]
            assert sorted(server_visits) == sorted(self.visits), "every visit once"
            assert set(self.issues) <= {str(i) for i in session.scalars(select(Issue.id))}
            for phone, username in zip(self.phones, self.users, strict=True):
                cadre = self.county.cadre(session, username)
                scope = {str(h) for h in current_households(session, cadre.id)}
                assert {h["id"] for h in phone.households()} == scope
                for household_id in scope:
                    self._assert_same_household(session, phone, household_id)

    def _assert_same_household(self, session: Any, phone: Phone, household_id: str) -> None:
        server = session.get(Household, uuid.UUID(household_id))
        mine = phone.household(household_id)
        assert mine is not None
        for name in FIELDS:
            assert mine[name] == getattr(server, name), name
        visits = {
            str(v) for v in session.scalars(select(Visit.id).where(Visit.household_id == server.id))
        }
        assert {v["id"] for v in phone.visits(household_id)} == visits
        statuses = dict(
            session.execute(
                select(Issue.id, Issue.status).where(Issue.household_id == server.id)
            ).all()
        )
        for issue in phone.issues(household_id):
            assert issue["status"] == statuses[uuid.UUID(issue["id"])]


@pytest.mark.slow
def test_phones_and_the_town_office_converge_whatever_the_order_of_syncs(
    sync_app: Flask, engine: Engine, tmp_path: Path
) -> None:
    run_state_machine_as_test(
        lambda: SyncWorld(sync_app, engine, tmp_path),
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )

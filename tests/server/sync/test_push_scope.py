"""Every change a phone pushes is authorised against the device's scope: the
record it touches and every record it names, whoever made them and however
they were loaded. Tried as an attacker would, over real HTTP, on SQLite and
PostgreSQL: forged ids of households in the same village, another village
and another town, records pushed by other phones and records loaded in bulk.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.services import create_account, hash_password
from server.audit.services import SYSTEM
from server.db import Base, db, transaction
from server.inspections.models import Inspection, InspectionAssignment
from server.issues.models import Issue, IssueEvent
from server.ledger.models import Household
from server.ledger.services import link_household
from server.sync.models import Conflict
from server.visits.models import Visit
from shared.protocol import PROTOCOL_VERSION
from shared.vocab import (
    AccountRole,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
    ProblemSolved,
    Satisfaction,
    VisitKind,
)
from sync.hlc import wall_clock_ms
from sync.phone import Phone
from sync.transport import HttpTransport
from tests.builders import LedgerBuilder
from tests.conftest import LiveServers
from tests.live import LiveServer

PASSWORD = "minqing-demo"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# What the ledger holds, table by table: a refused push changes none of it.
WATCHED: list[type[Base]] = [Household, Visit, Issue, IssueEvent, Inspection, Conflict]


@dataclass
class Foreign:
    """A household outside the attacker's scope and the records kept about it."""

    label: str
    household: uuid.UUID
    village: uuid.UUID
    head_name: str
    phone: str
    # Records by kind: pushed by its own cadre's phone, and loaded in bulk.
    pushed: dict[str, uuid.UUID] = field(default_factory=dict)
    loaded: dict[str, uuid.UUID] = field(default_factory=dict)


@dataclass
class World:
    server: LiveServer
    app: Any
    tmp: Path
    own_household: uuid.UUID = uuid.UUID(int=0)
    own_village: uuid.UUID = uuid.UUID(int=0)
    cadre_id: uuid.UUID = uuid.UUID(int=0)
    foreign: list[Foreign] = field(default_factory=list)
    # An issue of the attacker's own village raised by a neighbour: theirs to
    # follow up, not to delete.
    neighbours_village_issue: uuid.UUID = uuid.UUID(int=0)
    # The cadres' usernames by where they work: "own" is the attacker's.
    usernames: dict[str, str] = field(default_factory=dict)

    def phone(self, username: str) -> Phone:
        phone = Phone(
            self.tmp / f"{username}-{uuid.uuid4().hex[:6]}.db",
            transport=HttpTransport(self.server.url),
        )
        phone.login(username, PASSWORD, f"phone of {username}")
        phone.sync()
        return phone

    def snapshot(self) -> dict[str, list[str]]:
        with db.factory(self.app)() as session:
            return {
                model.__tablename__: sorted(
                    repr(tuple(row)) for row in session.execute(select(model.__table__))
                )
                for model in WATCHED
            }

    def push(self, phone: Phone, changes: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        body = {"protocol": PROTOCOL_VERSION, "device_time_ms": wall_clock_ms(), "changes": changes}
        status, answer = self.server.request(
            "POST", "/api/v1/sync/push", body, token=phone.store.get_meta("token")
        )
        assert status == 200, answer
        return answer["results"], str(answer)


def _bulk_records(
    session: Session, cadre_id: uuid.UUID, household: Household, village_id: uuid.UUID
) -> dict[str, uuid.UUID]:
    """A visit, an issue of the household, one of its village and a note on it,
    as a bulk load or the console writes them: with no device."""
    visit = Visit(
        id=uuid.uuid4(), cadre_id=cadre_id, household_id=household.id, visited_at=NOW,
        kind=VisitKind.HOME_VISIT,
    )  # fmt: skip
    session.add(visit)
    session.flush()
    issues = {}
    for name, household_id in (("issue", household.id), ("village_issue", None)):
        issue = Issue(
            id=uuid.uuid4(), village_id=village_id, household_id=household_id, visit_id=visit.id,
            raised_by_cadre_id=cadre_id, raised_at=NOW, category=IssueCategory.INFRASTRUCTURE,
            description="沟渠堵塞", status=IssueStatus.OPEN,
        )  # fmt: skip
        session.add(issue)
        issues[name] = issue.id
    session.flush()
    event = IssueEvent(
        id=uuid.uuid4(), issue_id=issues["issue"], at=NOW, kind=IssueEventKind.NOTE, note="已联系",
        cadre_id=cadre_id,
    )  # fmt: skip
    session.add(event)
    return {"visit": visit.id, **issues, "event": event.id}


def _pushed_records(phone: Phone, household_id: str) -> dict[str, uuid.UUID]:
    """The same, recorded on the household's cadre's phone and synced."""
    visit = phone.record_visit(
        household_id,
        issues=[
            {"category": "infrastructure", "description": "路灯坏了"},
            {"category": "infrastructure", "description": "村道破损", "village_level": True},
        ],
    )
    issues = {issue["description"]: issue["id"] for issue in phone.issues()}
    event = phone.follow_up(issues["路灯坏了"], note="已报修")
    assert phone.sync().applied == 4
    return {
        "visit": uuid.UUID(visit),
        "issue": uuid.UUID(issues["路灯坏了"]),
        "village_issue": uuid.UUID(issues["村道破损"]),
        "event": uuid.UUID(event),
    }


@pytest.fixture
def world(backend: str, live_servers: LiveServers, tmp_path: Path) -> World:
    server, app = live_servers.ready(backend)
    world = World(server, app, tmp_path)
    password_hash = hash_password(PASSWORD)
    with transaction(db.factory(app)) as session:
        ledger = LedgerBuilder(session)
        qianlou, kangmei = ledger.town("前楼镇"), ledger.town("康美镇")
        places = {
            "own": ledger.village("前楼村", qianlou),
            "same village": ledger.village("前楼村", qianlou),
            "other village": ledger.village("后林村", qianlou),
            "other town": ledger.village("康美村", kangmei),
        }
        for number, (label, village) in enumerate(places.items()):
            cadre = ledger.cadre(f"干部{number}")
            create_account(
                session, SYSTEM, username=cadre.phone, password=PASSWORD, role=AccountRole.CADRE,
                cadre=cadre, password_hash=password_hash,
            )  # fmt: skip
            household = ledger.household(
                ledger.grid(village), head_name=f"秘密户主{number}", phones=[f"1390000000{number}"]
            )
            link_household(session, SYSTEM, household, cadre)
            world.usernames[label] = cadre.phone
            if label == "own":
                world.own_household, world.own_village, world.cadre_id = (
                    household.id, village.id, cadre.id,
                )  # fmt: skip
            else:
                world.foreign.append(
                    Foreign(label, household.id, village.id, household.head_name,
                            household.phones[0],
                            loaded=_bulk_records(session, cadre.id, household, village.id))
                )  # fmt: skip
        for name in ("inspector", "inspector-2"):
            create_account(
                session, SYSTEM, username=name, password=PASSWORD, role=AccountRole.INSPECTOR,
                password_hash=password_hash,
            )  # fmt: skip
    for foreign in world.foreign:
        phone = world.phone(world.usernames[foreign.label])
        foreign.pushed = _pushed_records(phone, str(foreign.household))
        if foreign.label == "same village":
            world.neighbours_village_issue = foreign.pushed["village_issue"]
        phone.close()
    return world


def _change(
    kind: str, op: str, record: dict[str, Any], phone: Phone, **extra: Any
) -> dict[str, Any]:
    return {
        "change_id": str(uuid.uuid4()), "kind": kind, "op": op, "stamp": str(phone.clock.now()),
        "record": record, **extra,
    }  # fmt: skip


def _visit(world: World, household: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "cadre_id": str(world.cadre_id), "household_id": str(household),
        "visited_at": NOW.isoformat(), "kind": "home_visit", **extra,
    }  # fmt: skip


def _issue(
    world: World, village: uuid.UUID, household: uuid.UUID | None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "village_id": str(village),
        "household_id": str(household) if household else None,
        "raised_by_cadre_id": str(world.cadre_id), "raised_at": NOW.isoformat(),
        "category": "infrastructure", "description": "伪造的问题", "status": "open", **extra,
    }  # fmt: skip


def _note(issue: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "issue_id": str(issue), "at": NOW.isoformat(), "kind": "note",
        "note": "伪造的跟进", **extra,
    }  # fmt: skip


def _attacks(world: World, phone: Phone) -> list[tuple[str, dict[str, Any]]]:
    """Every kind x op x reference aimed outside the phone's scope, labelled."""
    attacks: list[tuple[str, dict[str, Any]]] = []

    def attack(label: str, kind: str, op: str, record: dict[str, Any], **extra: Any) -> None:
        attacks.append((label, _change(kind, op, record, phone, **extra)))

    own = world.own_household
    for foreign in world.foreign:
        for made, records in (("pushed", foreign.pushed), ("loaded", foreign.loaded)):
            where = f"{foreign.label}, {made}"
            attack(
                f"visit amending a visit ({where})",
                "visit",
                "create",
                _visit(world, own, amends_id=str(records["visit"])),
            )
            attack(
                f"issue raised at a visit ({where})",
                "issue",
                "create",
                _issue(world, world.own_village, own, visit_id=str(records["visit"])),
            )
            attack(
                f"village issue raised at a visit ({where})",
                "issue",
                "create",
                _issue(world, world.own_village, None, visit_id=str(records["visit"])),
            )
            attack(
                f"note on an issue ({where})",
                "issue_event",
                "create",
                _note(records["issue"]),
            )
            attack(
                f"status event of an issue ({where})",
                "issue_event",
                "create",
                _note(
                    records["issue"], kind="status", status="solved", base_status="open", note=""
                ),
            )
            for kind, name in (("visit", "visit"), ("issue", "issue"), ("issue", "village_issue")):
                attack(f"delete {name} ({where})", kind, "delete", {"id": str(records[name])})
            if foreign.label != "same village":
                attack(
                    f"note on a village issue ({where})",
                    "issue_event",
                    "create",
                    _note(records["village_issue"]),
                )
        attack(f"visit ({foreign.label})", "visit", "create", _visit(world, foreign.household))
        attack(
            f"issue ({foreign.label})",
            "issue",
            "create",
            _issue(world, foreign.village, foreign.household),
        )
        attack(
            f"issue of my village naming it ({foreign.label})",
            "issue",
            "create",
            _issue(world, world.own_village, foreign.household),
        )
        attack(f"household edit ({foreign.label})", "household", "update",
               {"id": str(foreign.household), "phones": ["13911112222"], "notes": "改了"},
               base_seq=0)  # fmt: skip
        if foreign.label != "same village":
            attack(
                f"village issue ({foreign.label})",
                "issue",
                "create",
                _issue(world, foreign.village, None),
            )
    attack("an inspection by a cadre", "inspection", "create", {
        "id": str(uuid.uuid4()), "household_id": str(own), "inspected_on": "2026-11-30",
        "knows_cadre": True, "problem_solved": "none_raised", "satisfaction": "satisfied",
    })  # fmt: skip
    return attacks


def test_every_push_outside_the_cadres_scope_is_rejected_alone_and_changes_nothing(
    world: World,
) -> None:
    phone = world.phone(world.usernames["own"])
    attacks = _attacks(world, phone)
    before = world.snapshot()
    results, text = world.push(phone, [change for _, change in attacks])
    refused = {label: result for (label, _), result in zip(attacks, results, strict=True)}
    accepted = [label for label, result in refused.items() if result["status"] != "rejected"]
    assert accepted == [], f"accepted outside the scope: {accepted}"
    assert world.snapshot() == before
    for foreign in world.foreign:
        assert foreign.head_name not in text and foreign.phone not in text
    assert len(attacks) > 60


def test_the_same_changes_inside_the_cadres_scope_are_applied(world: World) -> None:
    """The control: the checks above refuse the scope, not the changes."""
    phone = world.phone(world.usernames["own"])
    own = world.own_household
    visit = _visit(world, own)
    issue = _issue(world, world.own_village, own, visit_id=visit["id"])
    village_issue = _issue(world, world.own_village, None, visit_id=visit["id"])
    changes = [
        _change("visit", "create", visit, phone),
        _change("visit", "create", _visit(world, own, amends_id=visit["id"]), phone),
        _change("issue", "create", issue, phone),
        _change("issue", "create", village_issue, phone),
        _change("issue_event", "create", _note(uuid.UUID(issue["id"])), phone),
        # A neighbour's issue of the same village is the cadre's to follow.
        _change("issue_event", "create", _note(world.neighbours_village_issue), phone),
        _change("household", "update", {"id": str(own), "notes": "新的情况"}, phone, base_seq=0),
    ]
    results, _ = world.push(phone, changes)
    assert [result["status"] for result in results] == ["applied"] * len(changes)
    deletes = [
        _change("visit", "delete", {"id": visit["id"]}, phone),
        _change("issue", "delete", {"id": village_issue["id"]}, phone),
    ]
    results, _ = world.push(phone, deletes)
    assert [result["status"] for result in results] == ["applied", "applied"]


def test_an_inspector_touches_only_their_own_sample_and_their_own_checks(world: World) -> None:
    own, other_town = world.own_household, world.foreign[-1].household
    with transaction(db.factory(world.app)) as session:
        inspectors = {
            account.username: account
            for account in session.scalars(select(Account))
            if account.role == AccountRole.INSPECTOR
        }
        for name, household in (("inspector", own), ("inspector-2", other_town)):
            session.add(
                InspectionAssignment(
                    inspector_id=inspectors[name].id, household_id=household,
                    assigned_by_id=inspectors[name].id, draw=1,
                )
            )  # fmt: skip
        loaded = Inspection(
            id=uuid.uuid4(), inspector_id=inspectors["inspector"].id, household_id=own,
            inspected_on=NOW.date(), knows_cadre=True, problem_solved=ProblemSolved.NONE_RAISED,
            satisfaction=Satisfaction.SATISFIED,
        )  # fmt: skip
        session.add(loaded)
    check = {
        "inspected_on": "2026-11-30", "knows_cadre": True, "problem_solved": "none_raised",
        "satisfaction": "satisfied",
    }  # fmt: skip
    second = world.phone("inspector-2")
    theirs = {"id": str(uuid.uuid4()), "household_id": str(other_town), **check}
    assert world.push(second, [_change("inspection", "create", theirs, second)])[0][0][
        "status"
    ] == ("applied")
    inspector = world.phone("inspector")
    before = world.snapshot()
    results, _ = world.push(
        inspector,
        [
            _change("inspection", "create", {**theirs, "id": str(uuid.uuid4())}, inspector),
            _change("inspection", "delete", {"id": theirs["id"]}, inspector),
            # Their own, but loaded on the server: no phone's to delete.
            _change("inspection", "delete", {"id": str(loaded.id)}, inspector),
            _change("visit", "delete", {"id": str(world.foreign[0].pushed["visit"])}, inspector),
        ],
    )
    assert [result["status"] for result in results] == ["rejected"] * 4
    assert world.snapshot() == before
    mine = {"id": str(uuid.uuid4()), "household_id": str(own), **check}
    results, _ = world.push(inspector, [_change("inspection", "create", mine, inspector)])
    assert results[0]["status"] == "applied"
    results, _ = world.push(
        inspector, [_change("inspection", "delete", {"id": mine["id"]}, inspector)]
    )
    assert results[0]["status"] == "applied"

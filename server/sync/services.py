"""Sync services: merge a phone's pushed changes, serve pages of a phone's scope.

Push: every change is validated alone, so a bad record is rejected with its
reason while the rest of the batch applies; the batch commits once. Every
change id is remembered with its result, so a batch pushed again (its
response lost) changes nothing and gets the same answers. The counter lock
taken before the first write serialises pushes' writes, which is what keeps
seqs in commit order (server/sequence.py). While it is held, a batch
looks up what its changes refer to in a few queries and writes in one flush
under one savepoint; only if the database then refuses something is the
batch applied again, each change in its own savepoint, to reject just the
change at fault.

Pull: stateless. The phone says which households it holds; the server sends
whole the households it is missing, tells it which to drop, and otherwise
pages through what changed in its scope after its cursor, in seq order.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, TypeVar

from marshmallow import ValidationError
from sqlalchemy import Select, Table, and_, any_, bindparam, inspect, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import flag_modified

from server.accounts.models import Account, Device
from server.audit.models import AuditEntry
from server.audit.services import Actor, entry_values, record
from server.db import Base, insert_rows, pipelined
from server.inspections.models import Inspection
from server.inspections.services import assigned_households, check_off, may_inspect
from server.issues import departments
from server.issues.models import Issue, IssueEvent
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.sequence import committed_high_water, numbered, take, write_counter
from server.sync import records as wire
from server.sync.epoch import current_epoch
from server.sync.models import AppliedChange, Conflict
from server.visits.models import Visit
from server.visits.services import visits_inserted
from shared import protocol
from shared.schemas import (
    HouseholdSchema,
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    QuickLoader,
    VisitSchema,
)
from shared.vocab import AccountRole, IssueCategory, IssueEventKind, IssueStatus
from sync.hlc import MAX_DRIFT_MS, ClockError, Stamp, wall_clock_ms
from sync.merge import (
    EDITABLE_HOUSEHOLD_FIELDS,
    AppendOutcome,
    ConflictKind,
    Register,
    StatusEvent,
    compare_append_only,
    fold_status,
    merge_registers,
)

logger = logging.getLogger(__name__)

# Snapshots of newly assigned households go out this many at a time.
SNAPSHOT_HOUSEHOLDS_PER_PAGE = 15

# Schemas keep no state between loads, and building one copies all its
# fields: one of each serves every change, loaded quickly (a push loads hundreds).
CHANGE_SCHEMA = QuickLoader(protocol.ChangeSchema())
NEW_RECORD_SCHEMAS = {
    "visit": QuickLoader(VisitSchema()),
    "issue": QuickLoader(IssueSchema()),
    "issue_event": QuickLoader(IssueEventSchema()),
    "inspection": QuickLoader(InspectionSchema()),
}


class SyncRefused(Exception):
    """The whole request is refused (e.g. an account with nothing to sync)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Rejected(Exception):
    """One change is refused; the rest of the batch goes on."""

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def now_ms() -> int:
    return wall_clock_ms()


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# --- scope -------------------------------------------------------------------


# The statements of pulls and pushes are built once, with parameters
# (``bindparam``): every sync runs them, and building a statement (and finding
# its compiled form) costs SQLAlchemy more than running it costs the database.


def _listed(name: str) -> Any:
    """A parameter holding a list, for ``column.in_``."""
    return bindparam(name, expanding=True)


COVERED_HOUSEHOLDS = (
    select(HouseholdLink.household_id)
    .join(Household, Household.id == HouseholdLink.household_id)
    .where(
        HouseholdLink.cadre_id == bindparam("cadre_id"),
        HouseholdLink.ended_at.is_(None),
        Household.deleted_at.is_(None),
    )
)


def current_households(session: Session, cadre_id: uuid.UUID) -> set[uuid.UUID]:
    """The live households a cadre covers now: what the cadre's phone holds."""
    return set(session.scalars(COVERED_HOUSEHOLDS, {"cadre_id": cadre_id}))


# A phone may be offline for weeks after its cadre's household was given to
# someone else; what it recorded there meanwhile is still accepted.
REASSIGNMENT_GRACE = timedelta(days=30)


def covered_at(
    session: Session, cadre_id: uuid.UUID, household_id: uuid.UUID, at: datetime
) -> bool:
    """Whether the cadre covered the household at ``at`` (or covers it now).

    A visit recorded while its cadre was still linked is accepted after the
    household has been reassigned, and so is one recorded within the grace
    period after, by a phone that could not yet know: nothing recorded in
    good faith is lost.
    """
    grace = REASSIGNMENT_GRACE
    return (
        session.scalar(
            select(HouseholdLink.id)
            .where(
                HouseholdLink.cadre_id == cadre_id,
                HouseholdLink.household_id == household_id,
                or_(HouseholdLink.ended_at.is_(None), HouseholdLink.ended_at >= at - grace),
            )
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True)
class Reach:
    """What a device's pulls cover: the one rule, for every kind of account."""

    households: set[uuid.UUID]
    # The cadre whose phone it is (its contact card), if the account has one.
    cadre_id: uuid.UUID | None
    # An inspector asks each household whether it knows its cadre: their
    # phone also gets the households' links, and the cadres they name.
    links: bool


def reach(session: Session, account: Account) -> Reach:
    """A cadre's phone holds the households the cadre covers now; an
    inspector's, those assigned to them and not yet checked (and a cadre's
    too, if the inspector is also one). Other accounts have nothing to sync."""
    inspector = account.role == AccountRole.INSPECTOR
    if account.cadre_id is None and not inspector:
        raise SyncRefused(
            403,
            "该账号没有挂钩农户，无需同步 / this account covers no households: nothing to sync",
        )
    households: set[uuid.UUID] = set()
    if account.cadre_id is not None:
        households |= current_households(session, account.cadre_id)
    if inspector:
        households |= assigned_households(session, account.id)
    return Reach(households, account.cadre_id, inspector)


# --- pull --------------------------------------------------------------------


@dataclass
class Page:
    # Each record's wire form (server/sync/records.py), as JSON text.
    records: list[str]
    cursor: str
    more: bool
    evict: list[str]
    epoch: str
    # The phone's cursor was ahead of everything this database has committed:
    # it was restored to an earlier point (see server/sync/epoch.py).
    reset: bool = False


def pull(
    session: Session, device: Device, cursor: str | None, held: Iterable[uuid.UUID], limit: int
) -> Page:
    if device.lost_at is not None:
        # Nothing more for a lost phone: it erases its store (it has pushed first).
        raise SyncRefused(
            410,
            "此手机已挂失：请清除本机数据 / this phone was reported lost: erase its data",
        )
    covered = reach(session, device.account)
    # Read before any data: every seq up to here has committed, so nothing at
    # or below it can appear after this pull has looked.
    high_water = committed_high_water(session)
    epoch = current_epoch(session)
    since = _parse_cursor(cursor)
    reset = since is not None and since > high_water
    if reset:
        # Numbers above the high water were handed out by a lost life of this
        # database: start over (a phone of this version resends and restarts
        # on the flag; an older one at least receives everything again).
        since = 0
    held = set(held)
    scope = covered.households
    evict = sorted(str(household_id) for household_id in held - scope)
    missing = sorted(scope - held)
    if missing:
        batch = missing[:SNAPSHOT_HOUSEHOLDS_PER_PAGE]
        records = _snapshot(session, covered, batch)
        # A first sync starts its cursor where the snapshot was taken.
        cursor = str(high_water if since is None else since)
        return Page(records, cursor, True, evict, epoch, reset)
    changes, more = _changes_since(session, covered, scope, since or 0, limit)
    new_cursor = changes[-1][0] if more else max(high_water, since or 0)
    return Page([record for _, record in changes], str(new_cursor), more, evict, epoch, reset)


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor in (None, ""):
        return None
    try:
        value = int(cursor)  # type: ignore[arg-type]
    except ValueError:
        raise SyncRefused(
            400, "游标无效，请清除后重新同步 / the cursor is invalid: sync again without it"
        ) from None
    if value < 0:
        raise SyncRefused(400, "游标无效 / the cursor is invalid")
    return value


@dataclass
class Context:
    """What a phone shows around its households: places, leaders, the card."""

    grids: set[uuid.UUID] = field(default_factory=set)
    villages: set[uuid.UUID] = field(default_factory=set)
    towns: set[uuid.UUID] = field(default_factory=set)
    cadres: set[uuid.UUID] = field(default_factory=set)
    units: set[uuid.UUID] = field(default_factory=set)
    # Households whose links go too (an inspector's).
    linked: set[uuid.UUID] = field(default_factory=set)

    def params(self, households: Sequence[uuid.UUID]) -> dict[str, Any]:
        """The parameters of AROUND and NOTEBOOK for these households."""
        return {
            "households": list(households),
            "grids": list(self.grids),
            "villages": list(self.villages),
            "towns": list(self.towns),
            "cadres": list(self.cadres),
            "units": list(self.units),
            "linked": list(self.linked),
        }


LINKED_CADRES = select(HouseholdLink.cadre_id).where(
    HouseholdLink.household_id.in_(_listed("households")), HouseholdLink.ended_at.is_(None)
)
PLACES = (
    select(Grid.id, Village.id, Village.town_id)
    .join(Village, Village.id == Grid.village_id)
    .join(Household, Household.grid_id == Grid.id)
    .where(Household.id.in_(_listed("households")))
    .distinct()
)
LEADERS = select(VillageLink.cadre_id).where(
    VillageLink.village_id.in_(_listed("villages")), VillageLink.ended_at.is_(None)
)
UNITS = select(Cadre.unit_id).where(Cadre.id.in_(_listed("cadres")))


def _context(session: Session, covered: Reach, households: Sequence[uuid.UUID]) -> Context:
    context = Context(cadres={covered.cadre_id} if covered.cadre_id else set())
    listed = {"households": list(households)}
    if covered.links:
        context.linked = set(households)
        context.cadres |= set(session.scalars(LINKED_CADRES, listed))
    for grid_id, village_id, town_id in session.execute(PLACES, listed):
        context.grids.add(grid_id)
        context.villages.add(village_id)
        context.towns.add(town_id)
    context.cadres |= set(session.scalars(LEADERS, {"villages": list(context.villages)}))
    context.units = set(session.scalars(UNITS, {"cadres": list(context.cadres)}))
    return context


SINCE = bindparam("since")
# The records around a set of households (Context.params).
AROUND = [
    wire.Records(County, County.id.is_not(None)),
    wire.Records(Town, Town.id.in_(_listed("towns"))),
    wire.Records(Village, Village.id.in_(_listed("villages"))),
    wire.Records(Grid, Grid.id.in_(_listed("grids"))),
    wire.Records(Cadre, Cadre.id.in_(_listed("cadres"))),
    wire.Records(WorkUnit, WorkUnit.id.in_(_listed("units"))),
    wire.Records(
        VillageLink,
        and_(VillageLink.village_id.in_(_listed("villages")), VillageLink.ended_at.is_(None)),
    ),
]
# An inspector's phone also gets its households' links.
LINKS = wire.Records(HouseholdLink, HouseholdLink.household_id.in_(_listed("linked")))


def _after(records: wire.Records) -> wire.Records:
    return wire.Records(records.model, and_(records.where, records.model.seq > SINCE))  # type: ignore[attr-defined]


# Those changed after a seq, without and with the links.
AROUND_SINCE = {
    linked: [_after(records) for records in AROUND + ([LINKS] if linked else [])]
    for linked in (False, True)
}
# The households and their notebooks' records.
ISSUES_IN_SCOPE = or_(
    Issue.household_id.in_(_listed("households")),
    and_(Issue.household_id.is_(None), Issue.village_id.in_(_listed("villages"))),
)
NOTEBOOK = [
    wire.Records(Household, Household.id.in_(_listed("households"))),
    wire.Records(Visit, Visit.household_id.in_(_listed("households"))),
    wire.Records(Issue, ISSUES_IN_SCOPE),
    wire.Records(IssueEvent, IssueEvent.issue_id.in_(select(Issue.id).where(ISSUES_IN_SCOPE))),
]
NOTEBOOK_SINCE = [
    wire.Records(Household, and_(Household.id.in_(_listed("households")), Household.seq > SINCE)),
    # Visits, by far the most rows, are chosen household by household.
    wire.Records(Visit, Visit.seq > SINCE, each=(Visit.household_id, "households")),
    wire.Records(Issue, and_(ISSUES_IN_SCOPE, Issue.seq > SINCE)),
    wire.Records(
        IssueEvent,
        and_(
            IssueEvent.issue_id.in_(select(Issue.id).where(ISSUES_IN_SCOPE)), IssueEvent.seq > SINCE
        ),
    ),
]


def _snapshot(session: Session, covered: Reach, households: Sequence[uuid.UUID]) -> list[str]:
    """Everything a phone needs about households it does not hold yet."""
    context = _context(session, covered, households)
    params = context.params(households)
    connection = session.connection()
    tables = AROUND + ([LINKS] if context.linked else []) + NOTEBOOK
    return [record for _, record in wire.wire_rows(connection, tables, params)]


def _changes_since(
    session: Session, covered: Reach, scope: set[uuid.UUID], since: int, limit: int
) -> tuple[list[tuple[int, str]], bool]:
    """Up to ``limit`` records in scope changed after ``since``, in seq order:
    each one's seq and wire JSON."""
    households = sorted(scope)
    context = _context(session, covered, households)
    params = {**context.params(households), "since": since}
    tables = AROUND_SINCE[bool(context.linked)] + NOTEBOOK_SINCE
    candidates = wire.wire_rows(session.connection(), tables, params, limit + 1)
    # Each table gave its own first limit+1; the first limit+1 of them all
    # are therefore the first limit+1 overall.
    candidates.sort(key=lambda candidate: candidate[0])
    return candidates[:limit], len(candidates) > limit


# --- push --------------------------------------------------------------------


R = TypeVar("R", bound=Base)

# The record a change creates, updates or deletes, by kind (a deleted issue
# event is refused without a lookup).
CHANGED: dict[tuple[str, str], type[Base]] = {
    ("visit", "create"): Visit,
    ("issue", "create"): Issue,
    ("issue_event", "create"): IssueEvent,
    ("inspection", "create"): Inspection,
    ("household", "update"): Household,
    ("visit", "delete"): Visit,
    ("issue", "delete"): Issue,
    ("inspection", "delete"): Inspection,
}
# The records a change's record may name, by field.
REFERENCES: dict[str, type[Base]] = {
    "household_id": Household,
    "amends_id": Visit,
    "visit_id": Visit,
    "issue_id": Issue,
}


class NewRecord:
    """A record a batch creates, as the column values it will be inserted with.

    Read and set like the model's own objects (an unset column reads as
    None) but made for a fraction of their cost: a push creates thousands.
    """

    __slots__ = ("model", "values")

    def __init__(self, model: type[Base], values: dict[str, Any]) -> None:
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            if name in self.model.__table__.columns:
                return None
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.values[name] = value


DEVICES_OF_ACCOUNT = select(Device.id).where(Device.account_id == bindparam("account_id"))
LINK_ENDS = select(HouseholdLink.household_id, HouseholdLink.ended_at).where(
    HouseholdLink.cadre_id == bindparam("cadre_id")
)


# What a phone's edits change in a household's row (updated_at follows).
HOUSEHOLD_EDITED_COLUMNS = (*sorted(EDITABLE_HOUSEHOLD_FIELDS), "field_stamps", "seq")
HOUSEHOLD_EDITS = (
    update(Household.__table__)
    .where(Household.__table__.c.id == bindparam("key"))
    .values({name: bindparam(name) for name in HOUSEHOLD_EDITED_COLUMNS})
)


@dataclass
class Batch:
    """One push: the device, how far its clock runs ahead, what it looked up."""

    session: Session
    device: Device
    server_ms: int
    # The device's clock minus the server's, measured as the batch arrived.
    ahead_ms: int
    # Applied without a savepoint per change (the fast path, see push).
    together: bool = False
    # Records by id, fetched for the whole batch by prefetch; None: absent.
    known: dict[type[Base], dict[uuid.UUID, Any]] = field(default_factory=dict)
    # The ids the batch's changes name, by the table they are in.
    wanted: dict[type[Base], set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    # When each of the cadre's links to a household ended (None: it has not).
    link_ends: dict[uuid.UUID, list[datetime | None]] | None = None
    # The status events of the problems the batch names, its own included.
    status_events: dict[uuid.UUID, list[tuple[Any, ...]]] | None = None
    # Households this batch has edited.
    edited: set[uuid.UUID] = field(default_factory=set)
    # The records it creates, applied together: written by flush.
    created: list[NewRecord] = field(default_factory=list)
    # The ids of the account's other devices, once asked (see is_own).
    _other_devices: set[str] | None = None

    @property
    def account(self) -> Account:
        return self.device.account

    @property
    def actor(self) -> Actor:
        return Actor(account_id=self.device.account_id, device_id=self.device.id)

    def is_own(self, device_id: str) -> bool:
        """Whether the device is one of this account's: this one, or another,
        revoked ones too (a cadre who logs in again on a phone whose access was
        revoked still pushes what it kept). Other devices are read only when
        a change names one: almost every change names the device pushing it."""
        if device_id == str(self.device.id):
            return True
        if self._other_devices is None:
            self._other_devices = {
                str(other)
                for other in self.session.scalars(
                    DEVICES_OF_ACCOUNT, {"account_id": self.device.account_id}
                )
            }
        return device_id in self._other_devices

    def prefetch(self, changes: Iterable[dict[str, Any] | Rejected]) -> None:
        """Fetch, a query per table, what the changes name that only grows:
        their receipts, visits, follow-ups and inspections, and the cadre's links.

        Read before the counter's lock is taken, so other pushes do not wait
        for it. Whatever another push appends meanwhile with the same id makes
        this batch's insert fail, and the batch is then applied again change
        by change, reading everything anew (see push).
        """
        wanted = self.wanted
        for change in changes:
            if isinstance(change, Rejected):
                continue
            wanted[AppliedChange].add(change["change_id"])
            # A new record's ids as its schema loaded them, if it passed;
            # otherwise as the phone sent them.
            loaded = change.get("new_record")
            record = loaded if isinstance(loaded, dict) else change["record"]
            model = CHANGED.get((change["kind"], change["op"]))
            if model is not None:
                wanted[model] |= _ids(record.get("id"))
            for name, referred in REFERENCES.items():
                wanted[referred] |= _ids(record.get(name))
        for model in (AppliedChange, Visit, IssueEvent, Inspection):
            self._fetch(model, wanted[model])
        cadre_id = self.account.cadre_id
        if cadre_id is not None:
            self.link_ends = defaultdict(list)
            for household_id, ended_at in self.session.execute(LINK_ENDS, {"cadre_id": cadre_id}):
                self.link_ends[household_id].append(ended_at)

    def prefetch_mutable(self) -> None:
        """Fetch what other writers change: the problems the changes name (their
        status), all their status events, and the households. Read under the
        counter's lock, after ``prefetch``: every push that committed before
        is seen, and none can commit until this one does."""
        wanted = self.wanted
        self._fetch(Issue, wanted[Issue])
        self.status_events = {issue_id: [] for issue_id in wanted[Issue]}
        if wanted[Issue]:
            for row in self.session.execute(STATUS_EVENTS, {"issues": list(wanted[Issue])}):
                self.status_events[row[0]].append(tuple(row[1:]))
        # A follow-up names only its problem; the problem names the household.
        issues = self.known[Issue].values()
        wanted[Household] |= {
            issue.household_id for issue in issues if issue and issue.household_id
        }
        self._fetch(Household, wanted[Household])

    def _fetch(self, model: type[Base], ids: set[uuid.UUID]) -> None:
        known: dict[uuid.UUID, Any] = dict.fromkeys(ids)
        if ids:
            query = _by_ids(model, self.session.connection().dialect.name)
            for record in self.session.scalars(query, {"ids": list(ids)}):
                known[record.id] = record
        self.known[model] = known

    def find(self, model: type[R], record_id: uuid.UUID) -> R | None:
        """``session.get``, answered from the prefetched records when it can be."""
        known = self.known.get(model, {})
        if record_id in known:
            found: R | None = known[record_id]
            return found
        return self.session.get(model, record_id)

    def create(self, model: type[Base], **values: Any) -> Any:
        """A new record, where later changes of the batch will find it.

        Applied together, it is a NewRecord that ``flush`` writes; change by
        change, the model's object, added to the session.
        """
        new: Any
        if self.together:
            new = NewRecord(model, values)
            self.created.append(new)
        else:
            new = model(**values)
            self.session.add(new)
        known = self.known.get(model)
        if known is not None:
            known[new.id] = new
        if self.status_events is None:
            return new
        if model is Issue:
            self.status_events[new.id] = []  # new: none in the database
        elif (
            model is IssueEvent
            and new.kind == IssueEventKind.STATUS
            and new.issue_id in self.status_events
        ):
            # As the database would give it back: statuses as IssueStatus.
            self.status_events[new.issue_id].append(
                (
                    new.id,
                    new.stamp,
                    IssueStatus(new.status),
                    IssueStatus(new.base_status) if new.base_status else None,
                    new.department,
                    new.at,
                )
            )
        return new

    def audit(self, action: str, entity: str, entity_id: uuid.UUID) -> None:
        """The audit entry of a change the device made."""
        self.create(AuditEntry, **entry_values(self.actor, action, entity, entity_id))

    def status_events_of(self, issue_id: uuid.UUID) -> list[tuple[Any, ...]] | None:
        """All the problem's status events, if the batch has them."""
        return None if self.status_events is None else self.status_events.get(issue_id)

    def number(self, household: Household) -> None:
        """Give an edited household its seq now, as a flush would (without one)."""
        (seq,) = take(self.session, 1)
        household.seq = seq
        household.numbered(seq)

    def flush(self) -> None:
        """Write the batch: other updates through the unit of work, its new
        records with a COPY per table, parents first, numbered in one go, then
        the households it edited with one UPDATE.

        The unit of work costs more than the rows themselves, and it would
        not know that a problem's row needs the visit it was raised at (no
        relationship says so). New objects the handlers added to the session
        (conflicts, say) are written with the rest.

        All this happens while the counter's lock is held, with every other
        push waiting: a round trip a table, then the updates in one.
        """
        session = self.session
        added = list(session.new)
        for new in added:
            session.expunge(new)
        households = [
            edited
            for edited in session.dirty
            if isinstance(edited, Household) and session.is_modified(edited)
        ]
        # Numbered first, as the unit of work would, then written past it.
        for household in households:
            self.number(household)
            session.expunge(household)
        session.flush()
        shapes: dict[Table, dict[frozenset[str], list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for table, row in [(new.__table__, _columns(new)) for new in added] + [
            (new.model.__table__, new.values) for new in self.created
        ]:
            # One INSERT of many rows needs the same columns in each.
            shapes[table][frozenset(row)].append(row)
        synced = [
            row
            for table, rows in shapes.items()
            if "seq" in table.columns
            for same in rows.values()
            for row in same
        ]
        if synced:
            numbered(session, synced)
        groups = [
            (table, same)
            for table in Base.metadata.sorted_tables
            for same in shapes.get(table, {}).values()
        ]
        for table, rows in groups:
            insert_rows(session, table, rows)
        with pipelined(session):
            if households:
                session.connection().execute(
                    HOUSEHOLD_EDITS,
                    [
                        {"key": household.id}
                        | {name: getattr(household, name) for name in HOUSEHOLD_EDITED_COLUMNS}
                        for household in households
                    ],
                )
            # These inserts bypass the ORM's events: keep households' and cadres' latest visit.
            visits_inserted(
                session, (row for rows in shapes[Visit.__table__].values() for row in rows)
            )
            write_counter(session)

    def covers(self, cadre_id: uuid.UUID, household_id: uuid.UUID, at: datetime) -> bool:
        """``covered_at``, from the prefetched links when they are the cadre's."""
        if self.link_ends is None or cadre_id != self.account.cadre_id:
            return covered_at(self.session, cadre_id, household_id, at)
        since = at - REASSIGNMENT_GRACE
        return any(end is None or end >= since for end in self.link_ends.get(household_id, ()))

    def believable_ms(self, ms: int) -> tuple[int, str | None]:
        """A device's time, brought back from the future; and a note if it was.

        A time not later than the server's (plus the drift allowance) is kept
        as it is: the phone's clock may have gone wrong only after it was
        taken. A later one cannot be true: it is moved back by how far the
        phone's clock runs ahead now or, if that is not enough, set to the
        server's time.
        """
        limit = self.server_ms + MAX_DRIFT_MS
        if ms <= limit:
            return ms, None
        if self.ahead_ms > MAX_DRIFT_MS and ms - self.ahead_ms <= limit:
            hours = self.ahead_ms / 3_600_000
            return ms - self.ahead_ms, (
                f"手机时钟快了约 {hours:.1f} 小时，时间已按服务器时间校正"
                f" / the phone's clock was about {hours:.1f} h ahead: times were corrected"
            )
        return self.server_ms, (
            "记录时间晚于服务器时间，已改为服务器时间，请检查手机时间"
            " / the record's time was later than the server's: set to the server's time;"
            " check the phone's clock"
        )


@cache  # built once: every push runs it for each table
def _by_ids(model: type[Base], dialect: str) -> Select[Any]:
    """A model's records whose ids are in the list given as ``ids``."""
    key = model.id  # type: ignore[attr-defined]
    if dialect == "postgresql":
        # As one array: a push names hundreds of ids.
        ids = bindparam("ids", type_=postgresql.ARRAY(key.type))
        query = select(model).where(key == any_(ids))
    else:
        query = select(model).where(key.in_(bindparam("ids", expanding=True)))
    if model is Household:
        # Whether a visit's household is in its village is read from its grid.
        query = query.options(joinedload(Household.grid))
    return query


def push(
    session: Session, device: Device, device_time_ms: int, changes: list[Any]
) -> dict[str, Any]:
    server_ms = now_ms()
    skew = device_time_ms - server_ms
    epoch = current_epoch(session)
    validated = [_validate(raw) for raw in changes]
    batch = Batch(session, device, server_ms, skew, together=True)
    batch.prefetch(validated)
    # From here on this push writes: take the counter's lock first, so pushes
    # see each other's committed changes and seqs follow commit order.
    take(session, 0)
    batch.prefetch_mutable()
    try:
        with session.begin_nested():
            # Every record a change needs is in the batch: nothing is written
            # until the end, in one go.
            with session.no_autoflush:
                results = [
                    _apply(batch, raw, parsed)
                    for raw, parsed in zip(changes, validated, strict=True)
                ]
            batch.flush()
    except IntegrityError as refused:
        # The database refused something, and the savepoint undid the whole
        # batch: apply it again change by change, to reject only the culprit.
        logger.warning("push of device %s: applied change by change: %s", device.id, refused.orig)
        batch = Batch(session, device, server_ms, skew)
        results = [_apply(batch, raw, _validate(raw)) for raw in changes]
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "server_time_ms": server_ms,
        "clock_skew_ms": skew,
        "epoch": epoch,
        "results": results,
    }


def _validate(raw: Any) -> dict[str, Any] | Rejected:
    try:
        if not isinstance(raw, dict):
            raise ValidationError("应为 JSON 对象 / must be a JSON object")
        parsed: dict[str, Any] = CHANGE_SCHEMA.load(raw)
        stamp = Stamp.parse(parsed["stamp"])
    except ValidationError as invalid:
        messages = invalid.messages
        return Rejected(
            "记录格式不正确 / the change is malformed",
            messages if isinstance(messages, dict) else {"_schema": messages},
        )
    except ClockError as bad_stamp:
        return Rejected("时钟戳格式不正确 / malformed clock stamp", {"stamp": [str(bad_stamp)]})
    parsed["stamp"] = stamp
    # A new record is checked here, before the counter's lock is taken; its
    # handler raises what was found at the point where it checks (_new_record).
    schema = NEW_RECORD_SCHEMAS.get(parsed["kind"]) if parsed["op"] == "create" else None
    if schema is not None:
        try:
            parsed["new_record"] = _load(schema, parsed["record"])
        except Rejected as invalid:
            parsed["new_record"] = invalid
    return parsed


def _apply(batch: Batch, raw: Any, parsed: dict[str, Any] | Rejected) -> dict[str, Any]:
    change_id = raw.get("change_id") if isinstance(raw, dict) else None
    if isinstance(parsed, Rejected):
        return _rejected(str(change_id), parsed)
    previous = batch.find(AppliedChange, parsed["change_id"])
    if previous is not None:
        if not batch.is_own(str(previous.device_id)):
            return _rejected(
                str(change_id),
                Rejected("该变更编号已被其他设备使用 / this change id belongs to another device"),
            )
        if previous.result["status"] == protocol.REJECTED:
            return previous.result
        if parsed["kind"] == "household":
            _send_back(batch, parsed["record"].get("id"))
        return {**previous.result, "status": protocol.ALREADY_APPLIED}
    handler = HANDLERS[(parsed["kind"], parsed["op"])]
    try:
        if batch.together:
            # Handlers refuse a change before they touch anything, so a
            # refusal needs no savepoint of its own.
            result = handler(batch, parsed)
        else:
            with batch.session.begin_nested():
                result = handler(batch, parsed)
    except Rejected as refused:
        result = _rejected(str(change_id), refused)
    except IntegrityError:
        if batch.together:
            raise  # push applies the batch again, change by change
        result = _rejected(
            str(change_id),
            Rejected("与已有数据冲突，未保存 / clashes with existing data: not stored"),
        )
    result["change_id"] = str(change_id)
    batch.create(AppliedChange, id=parsed["change_id"], device_id=batch.device.id, result=result)
    return result


def _columns(new: Base) -> dict[str, Any]:
    """The column values set on a new record (the table's defaults fill the rest)."""
    values = inspect(new).dict
    return {
        column.key: values[column.key] for column in new.__table__.columns if column.key in values
    }


def _ids(value: Any) -> set[uuid.UUID]:
    """The record id a change names, if it is one (the schemas reject the rest)."""
    if value is None:
        return set()
    if isinstance(value, uuid.UUID):
        return {value}  # as a schema loaded it
    try:
        return {uuid.UUID(str(value))}
    except ValueError:
        return set()


def _rejected(change_id: str, refused: Rejected) -> dict[str, Any]:
    return {
        "change_id": change_id,
        "status": protocol.REJECTED,
        "message": str(refused),
        "errors": _storable(refused.errors),
    }


def _storable(value: Any) -> Any:
    """Errors as the receipt can keep them: they may name what the phone sent
    (an unknown field's name), and PostgreSQL's JSON cannot hold a NUL."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _new_record(parsed: dict[str, Any]) -> dict[str, Any]:
    """The record a change creates, as its schema loaded it in _validate."""
    loaded: dict[str, Any] | Rejected = parsed["new_record"]
    if isinstance(loaded, Rejected):
        raise loaded
    return loaded


@lru_cache(maxsize=256)
def _household_schema(names: tuple[str, ...]) -> HouseholdSchema:
    return HouseholdSchema(only=names, partial=True)


def _load(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as invalid:
        raise Rejected(
            "记录内容不正确，见 errors / the record did not pass validation: see errors",
            invalid.messages
            if isinstance(invalid.messages, dict)
            else {"_schema": invalid.messages},
        ) from None
    return loaded


def _stamp(batch: Batch, parsed: dict[str, Any]) -> tuple[Stamp, list[str]]:
    """The change's stamp, brought back from the future; notes on what was done."""
    stamp: Stamp = parsed["stamp"]
    if not batch.is_own(stamp.node):
        raise Rejected("时钟戳不属于本设备 / the clock stamp names another device")
    wall_ms, note = batch.believable_ms(stamp.wall_ms)
    if note is None:
        return stamp, []
    return Stamp(wall_ms, stamp.counter, stamp.node), [note]


def _believable(batch: Batch, moment: datetime, notes: list[str]) -> datetime:
    """A time the phone wrote in a record, brought back from the future."""
    ms, note = batch.believable_ms(int(moment.timestamp() * 1000))
    if note is None:
        return moment
    if note not in notes:
        notes.append(note)
    return from_ms(ms)


def _cadre_of(batch: Batch) -> uuid.UUID:
    cadre_id = batch.account.cadre_id
    if cadre_id is None:
        raise Rejected("该账号不是挂户干部 / this account is not a cadre")
    return cadre_id


def _own(batch: Batch, claimed: uuid.UUID) -> uuid.UUID:
    cadre_id = _cadre_of(batch)
    if claimed != cadre_id:
        raise Rejected(
            "只能提交本人的记录 / you can only submit your own records", {"cadre_id": ["not yours"]}
        )
    return cadre_id


def _outcome(status: str, notes: list[str], **extra: Any) -> dict[str, Any]:
    return {"status": status, "message": "；".join(notes), **extra}


def _append_only(
    batch: Batch, model: type[Base], record_id: uuid.UUID, content: dict[str, Any]
) -> Any:
    """The existing record if this is a harmless repeat; raises if it differs."""
    existing = batch.find(model, record_id)
    if existing is None:
        return None
    stored = {key: getattr(existing, key) for key in content}
    if compare_append_only(stored, content) is AppendOutcome.DIFFERENT:
        raise Rejected(
            "同一编号的记录已存在且内容不同；如需更正请新增一条更正记录"
            " / a record with this id exists with different content: add a correction instead"
        )
    return existing


def _create_visit(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = _new_record(parsed)
    stamp, notes = _stamp(batch, parsed)
    cadre_id = _own(batch, data["cadre_id"])
    data["visited_at"] = _believable(batch, data["visited_at"], notes)
    if _append_only(batch, Visit, data["id"], data) is not None:
        return _outcome(protocol.ALREADY_APPLIED, notes)
    if batch.find(Household, data["household_id"]) is None:
        raise Rejected("没有该农户 / no such household", {"household_id": ["unknown"]})
    if not batch.covers(cadre_id, data["household_id"], data["visited_at"]):
        raise Rejected(
            "走访时您不是该户的挂户干部 / you were not this household's cadre at the time of the visit"
        )
    amends = data.get("amends_id")
    if amends is not None:
        original = batch.find(Visit, amends)
        if (
            original is None
            or original.household_id != data["household_id"]
            or original.cadre_id != cadre_id
        ):
            raise Rejected(
                "被更正的走访不存在 / the visit being corrected does not exist",
                {"amends_id": ["unknown"]},
            )
    batch.create(Visit, **data, stamp=str(stamp), device_id=batch.device.id)
    batch.audit("create", "visit", data["id"])
    return _outcome(protocol.APPLIED, notes)


def _issue_in_scope(batch: Batch, cadre_id: uuid.UUID, issue: Any) -> None:
    """Whether the cadre may raise or follow ``issue`` (a problem, or a new one's fields)."""
    if isinstance(issue, dict):
        household_id, village_id = issue.get("household_id"), issue["village_id"]
    else:
        household_id, village_id = issue.household_id, issue.village_id
    session = batch.session
    if household_id is not None:
        household = batch.find(Household, household_id)
        if household is None:
            raise Rejected("没有该农户 / no such household", {"household_id": ["unknown"]})
        if household.grid.village_id != village_id:
            raise Rejected("农户不在该村 / the household is not in that village")
        if not batch.covers(cadre_id, household_id, from_ms(batch.server_ms)):
            raise Rejected("不是您挂钩的农户 / not one of your households")
        return
    villages = set(
        session.scalars(
            select(Grid.village_id)
            .join(Household, Household.grid_id == Grid.id)
            .where(Household.id.in_(current_households(session, cadre_id)))
        )
    )
    if village_id not in villages:
        raise Rejected("不是您挂钩农户所在的村 / not a village where you cover households")


def _raised_at_own_visit(batch: Batch, cadre_id: uuid.UUID, issue: dict[str, Any]) -> bool:
    """Whether the visit a new problem names is the cadre's own visit to its
    household (to a household of its village, for a village's problem)."""
    visit = batch.find(Visit, issue["visit_id"])
    if visit is None or visit.cadre_id != cadre_id:
        return False
    if issue.get("household_id") is not None:
        return bool(visit.household_id == issue["household_id"])
    household = batch.find(Household, visit.household_id)
    return household is not None and household.grid.village_id == issue["village_id"]


def _create_issue(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = _new_record(parsed)
    stamp, notes = _stamp(batch, parsed)
    cadre_id = _own(batch, data["raised_by_cadre_id"])
    data["raised_at"] = _believable(batch, data["raised_at"], notes)
    # Status and department move on after creation; the rest never changes.
    fixed = {key: value for key, value in data.items() if key not in ("status", "department")}
    if _append_only(batch, Issue, data["id"], fixed) is not None:
        return _outcome(protocol.ALREADY_APPLIED, notes)
    _issue_in_scope(batch, cadre_id, data)
    if data.get("visit_id") is not None and not _raised_at_own_visit(batch, cadre_id, data):
        raise Rejected(
            "所属走访不存在或不是您对该户的走访"
            " / the visit it was raised at is unknown, or not your visit to this household",
            {"visit_id": ["unknown"]},
        )
    # As an enum, as when read back: a follow-up in the same batch reports it.
    data["status"] = IssueStatus(data["status"])
    batch.create(Issue, **data, stamp=str(stamp), device_id=batch.device.id)
    # The status it was raised with is its first status event, so the
    # timeline and the status fold start from the same place on every replica.
    batch.create(
        IssueEvent,
        id=uuid.uuid5(data["id"], "raised"),
        issue_id=data["id"],
        at=data["raised_at"],
        kind=IssueEventKind.STATUS,
        status=data["status"],
        base_status=None,
        department=data.get("department", ""),
        cadre_id=cadre_id,
        stamp=str(stamp),
        device_id=batch.device.id,
    )
    batch.audit("create", "issue", data["id"])
    return _outcome(protocol.APPLIED, notes)


# A status event as the fold needs it: id, stamp, status, base status, department, time.
STATUS_EVENT_COLUMNS = (
    IssueEvent.id,
    IssueEvent.stamp,
    IssueEvent.status,
    IssueEvent.base_status,
    IssueEvent.department,
    IssueEvent.at,
)
# The status events of the problems listed as ``issues``, with their problem's id.
STATUS_EVENTS = select(IssueEvent.issue_id, *STATUS_EVENT_COLUMNS).where(
    IssueEvent.issue_id.in_(_listed("issues")), IssueEvent.kind == IssueEventKind.STATUS
)


def refold_issue(
    session: Session, issue: Issue, events: Iterable[Sequence[Any]] | None = None
) -> tuple[str, ...]:
    """Recompute a problem's status from all its status events; the overruled ones.

    ``events`` are all of them (STATUS_EVENT_COLUMNS), when the caller has
    them; otherwise they are read from the database.
    """
    if events is None:
        session.flush()
        events = session.execute(
            select(*STATUS_EVENT_COLUMNS).where(
                IssueEvent.issue_id == issue.id, IssueEvent.kind == IssueEventKind.STATUS
            )
        ).all()
    state = fold_status(
        "open",
        "",
        (
            StatusEvent(
                id=str(event_id),
                stamp=Stamp.parse(stamp) if stamp else Stamp(int(at.timestamp() * 1000), 0, ""),
                status=status,
                base_status=base,
                department=department,
            )
            for event_id, stamp, status, base, department, at in events
        ),
    )
    if (issue.status, issue.department) != (state.status, state.department):
        issue.status = state.status  # type: ignore[assignment]
        issue.department = state.department
    return state.overruled


def _create_issue_event(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    data = _new_record(parsed)
    stamp, notes = _stamp(batch, parsed)
    cadre_id = _cadre_of(batch)
    data["at"] = _believable(batch, data["at"], notes)
    content = {**data, "cadre_id": cadre_id}
    if _append_only(batch, IssueEvent, data["id"], content) is not None:
        return _outcome(protocol.ALREADY_APPLIED, notes)
    issue = batch.find(Issue, data["issue_id"])
    if issue is None:
        raise Rejected("没有该问题 / no such problem", {"issue_id": ["unknown"]})
    _issue_in_scope(batch, cadre_id, issue)
    if data["kind"] == IssueEventKind.STATUS and data["status"] == IssueStatus.PASSED_TO_DEPARTMENT:
        # A passing made on the phone has the county's deadline for its category,
        # as one made in the console does when no other is given.
        days = departments.deadline_days(
            batch.session, issue.village_id, IssueCategory(issue.category)
        )
        content["due_at"] = data["at"] + timedelta(days=days)
    batch.create(IssueEvent, **content, stamp=str(stamp), device_id=batch.device.id)
    batch.audit("create", "issue_event", data["id"])
    if data["kind"] == IssueEventKind.STATUS and str(data["id"]) in refold_issue(
        batch.session, issue, batch.status_events_of(issue.id)
    ):
        notes.append(
            f"该问题已被他人改为“{issue.status.zh}”，您的状态变更已记录但未生效"
            f" / someone else already moved this problem to '{issue.status.en}':"
            " your status change is kept in its history but did not take effect"
        )
        return _outcome(protocol.CONFLICT, notes)
    return _outcome(protocol.APPLIED, notes)


def _create_inspection(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    if batch.account.role != AccountRole.INSPECTOR:
        raise Rejected("只有督查员可以提交督查记录 / only inspectors submit inspections")
    data = _new_record(parsed)
    stamp, notes = _stamp(batch, parsed)
    content = {**data, "inspector_id": batch.account.id}
    if _append_only(batch, Inspection, data["id"], content) is not None:
        return _outcome(protocol.ALREADY_APPLIED, notes)
    household = batch.find(Household, data["household_id"])
    if household is None:
        raise Rejected("没有该农户 / no such household", {"household_id": ["unknown"]})
    if not may_inspect(batch.session, batch.account.id, household.id, from_ms(batch.server_ms)):
        raise Rejected(
            "该户不在您的督查名单上 / this household is not on your list of households to inspect"
        )
    batch.create(Inspection, **content, stamp=str(stamp), device_id=batch.device.id)
    check_off(batch.session, batch.account.id, household.id)
    batch.audit("create", "inspection", data["id"])
    return _outcome(protocol.APPLIED, notes)


TOMBSTONED: dict[str, type[Base]] = {"visit": Visit, "issue": Issue, "inspection": Inspection}
NOT_YOURS_TO_DELETE = Rejected(
    "没有该记录，或不是您本人录入的记录 / no such record, or not one you entered",
    {"id": ["unknown or not yours"]},
)


def _delete(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    """A record entered by mistake: its author turns it into a tombstone.

    The author is the account whose phone entered it, and the record must
    still be in that phone's scope. A record with no device (loaded in bulk,
    or entered in the console) is no phone's to delete. Unknown and foreign
    records get the same answer, so ids reveal nothing.
    """
    model = TOMBSTONED.get(parsed["kind"])
    if model is None:
        raise Rejected("该类记录不能删除 / this kind of record cannot be deleted")
    try:
        record_id = uuid.UUID(str(parsed["record"].get("id")))
    except ValueError:
        raise Rejected("记录编号无效 / invalid record id", {"id": ["not a UUID"]}) from None
    target = batch.find(model, record_id)
    if target is None or not _may_delete(batch, model, target):
        raise NOT_YOURS_TO_DELETE
    _stamp(batch, parsed)
    if target.deleted_at is not None:
        return _outcome(protocol.ALREADY_APPLIED, [])
    target.deleted_at = from_ms(batch.server_ms)
    batch.audit("delete", parsed["kind"], record_id)
    return _outcome(protocol.APPLIED, [])


def _may_delete(batch: Batch, model: type[Base], target: Any) -> bool:
    """Whether this device's account entered ``target`` and may still reach it.

    ``target`` may be a row or a NewRecord of this batch: hence ``model``.
    """
    if target.device_id is None or not batch.is_own(str(target.device_id)):
        return False
    account = batch.account
    if model is Inspection:
        return bool(target.inspector_id == account.id)
    if account.cadre_id is None:
        return False
    if model is Visit:
        return target.cadre_id == account.cadre_id and batch.covers(
            account.cadre_id, target.household_id, from_ms(batch.server_ms)
        )
    if target.raised_by_cadre_id != account.cadre_id:
        return False
    try:
        _issue_in_scope(batch, account.cadre_id, target)
    except Rejected:
        return False
    return True


# --- household facts: the field-by-field merge -------------------------------


@dataclass(frozen=True)
class Writer:
    """Whoever writes a household field: a phone's device, or a console account."""

    device_id: uuid.UUID | None
    account_id: uuid.UUID | None


def registers(household: Household) -> dict[str, Register]:
    return {
        name: Register(getattr(household, name), Stamp.parse(entry["stamp"]), entry.get("seq") or 0)
        for name, entry in household.field_stamps.items()
        if name in EDITABLE_HOUSEHOLD_FIELDS
    }


def merge_household(
    session: Session,
    actor: Actor,
    household: Household,
    values: dict[str, Any],
    stamp: Stamp,
    base_seq: int,
    writer: Writer,
) -> list[dict[str, Any]]:
    """Merge writes to a household's fields; report each field that conflicted.

    Shared by phone pushes and console edits, so both follow the same rules.
    """
    incoming = {name: Register(value, stamp) for name, value in values.items()}
    outcomes = merge_registers(registers(household), incoming, base_seq)
    stamps = dict(household.field_stamps)
    conflicts: list[dict[str, Any]] = []
    changed: dict[str, Any] = {}
    for outcome in outcomes:
        name = outcome.field
        if outcome.applied:
            changed[name] = [getattr(household, name), values[name]]
            setattr(household, name, values[name])
            stamps[name] = {
                "stamp": str(stamp),
                "seq": None,  # filled in with this change's seq (Household.numbered)
                "device": str(writer.device_id) if writer.device_id else None,
                "account": str(writer.account_id) if writer.account_id else None,
            }
        if outcome.conflict is ConflictKind.HARD:
            assert outcome.loser is not None
            previous = household.field_stamps.get(name, {})
            winner_writer = writer if outcome.applied else _writer_of(previous)
            loser_writer = _writer_of(previous) if outcome.applied else writer
            conflicts.append(
                _record_conflict(
                    session,
                    household,
                    name,
                    ConflictKind.HARD,
                    outcome,
                    winner_writer,
                    loser_writer,
                )
            )
    concurrent = household.seq > base_seq
    if concurrent and not conflicts and changed:
        # Made on an old version, touching other fields: both survive. Noted
        # (ODK's "soft conflict") so an admin can see parallel updates.
        for name in sorted(changed):
            _record_conflict(
                session, household, name, ConflictKind.SOFT, None, writer, writer, status="noted"
            )
    if changed:
        household.field_stamps = stamps
        record(session, actor, "update", "household", household.id, changed)
    return conflicts


def _writer_of(entry: dict[str, Any]) -> Writer:
    def as_id(value: Any) -> uuid.UUID | None:
        return uuid.UUID(value) if value else None

    return Writer(as_id(entry.get("device")), as_id(entry.get("account")))


def _record_conflict(
    session: Session,
    household: Household,
    name: str,
    kind: ConflictKind,
    outcome: Any,
    winner: Writer,
    loser: Writer,
    status: str = "open",
) -> dict[str, Any]:
    winner_value = outcome.winner.value if outcome else getattr(household, name)
    loser_value = outcome.loser.value if outcome else None
    winner_stamp = (
        str(outcome.winner.stamp)
        if outcome
        else household.field_stamps.get(name, {}).get("stamp", "")
    )
    loser_stamp = str(outcome.loser.stamp) if outcome else f"soft:{household.seq}:{uuid.uuid4()}"
    # A losing write arriving again is recorded once; a soft conflict's
    # label is new every time, so there is nothing to look for.
    exists = outcome is not None and (
        session.scalar(
            select(Conflict.id).where(
                Conflict.entity_id == household.id,
                Conflict.field == name,
                Conflict.loser_stamp == loser_stamp,
            )
        )
        is not None
    )
    if not exists:
        session.add(
            Conflict(
                entity="household",
                entity_id=household.id,
                field=name,
                kind=kind.value,
                winner_value=winner_value,
                winner_stamp=winner_stamp or "",
                loser_value=loser_value,
                loser_stamp=loser_stamp,
                winner_device_id=winner.device_id,
                winner_account_id=winner.account_id,
                loser_device_id=loser.device_id,
                loser_account_id=loser.account_id,
                status=status,
            )
        )
    yours_kept = outcome.applied if outcome else True
    return {
        "field": name,
        "kind": kind.value,
        "kept": winner_value,
        "lost": loser_value,
        "yours_kept": yours_kept,
        # The other party: whoever this write won over, or lost to.
        "by": _describe_writer(session, *((loser, winner) if yours_kept else (winner, loser))),
    }


def _describe_writer(session: Session, writer: Writer, reader: Writer) -> str:
    """Who made the other write, in words the ``reader`` (the writer told of
    the conflict) understands: a cadre's own second phone is "your other phone"."""
    account: Account | None = None
    device = session.get(Device, writer.device_id) if writer.device_id is not None else None
    if writer.account_id is not None:
        account = session.get(Account, writer.account_id)
    elif device is not None:
        account = device.account
    if account is None:
        return "未知 / unknown"
    reading = session.get(Device, reader.device_id) if reader.device_id is not None else None
    if (
        device is not None
        and reading is not None
        and device.id != reading.id
        and device.account_id == reading.account_id
    ):
        if device.name:
            return f"您的另一部手机（{device.name}）/ your other phone ({device.name})"
        return "您的另一部手机 / your other phone"
    return (
        f"{account.display_name}（{account.role.zh}）/ {account.display_name} ({account.role.en})"
    )


def _update_household(batch: Batch, parsed: dict[str, Any]) -> dict[str, Any]:
    values = dict(parsed["record"])
    household_id = values.pop("id", None)
    unknown = sorted(set(values) - EDITABLE_HOUSEHOLD_FIELDS)
    if unknown:
        raise Rejected(
            "这些信息只能由县里修改 / these fields can only be changed by the county office",
            {name: ["not editable from a phone"] for name in unknown},
        )
    if not values:
        raise Rejected("没有要修改的内容 / nothing to change")
    checked = _load(_household_schema(tuple(values)), values)
    try:
        household = batch.find(Household, uuid.UUID(str(household_id)))
    except ValueError:
        household = None
    if household is None:
        raise Rejected("没有该农户 / no such household", {"id": ["unknown"]})
    stamp, notes = _stamp(batch, parsed)
    # Now (or lately, for a phone that could not know of a reassignment): a
    # stamp is the phone's to choose, and could date an edit back to a time
    # when the cadre still covered the household.
    if not batch.covers(_cadre_of(batch), household.id, from_ms(batch.server_ms)):
        raise Rejected("不是您挂钩的农户 / not one of your households")
    if batch.together and household.id in batch.edited:
        # Its earlier edit takes its own seq first, as when each change is
        # applied alone: the merge below sees that version as newer.
        batch.number(household)
    batch.edited.add(household.id)
    conflicts = merge_household(
        batch.session,
        batch.actor,
        household,
        checked,
        stamp,
        parsed["base_seq"],
        Writer(batch.device.id, None),
    )
    if not batch.session.is_modified(household):
        # The edit changed nothing (it lost, or repeated the value): see _send_back.
        _send_back(batch, household.id)
    if household.deleted_at is not None:
        notes.append(
            "该户已被注销，您的修改已保存在档案中 / this household has been removed:"
            " your change is kept in its record"
        )
        return _outcome(protocol.CONFLICT, notes, conflicts=conflicts)
    return _outcome(
        protocol.CONFLICT if conflicts else protocol.APPLIED, notes, conflicts=conflicts
    )


def _send_back(batch: Batch, household_id: Any) -> None:
    """Send the household out again after the phone's edit of it is answered.

    While the edit waited, the phone laid it over every version it pulled.
    Whatever the edit's fate (lost to a newer value, or applied and then
    overtaken while the answer was lost), the phone's next pull must bring
    the household as the server holds it: a new seq makes sure it does.
    """
    for known_id in _ids(household_id):
        household = batch.find(Household, known_id)
        if household is not None:
            flag_modified(household, "field_stamps")


HANDLERS: dict[tuple[str, str], Callable[[Batch, dict[str, Any]], dict[str, Any]]] = {
    ("visit", "create"): _create_visit,
    ("issue", "create"): _create_issue,
    ("issue_event", "create"): _create_issue_event,
    ("inspection", "create"): _create_inspection,
    ("household", "update"): _update_household,
    ("visit", "delete"): _delete,
    ("issue", "delete"): _delete,
    ("issue_event", "delete"): _delete,
    ("inspection", "delete"): _delete,
}


# --- the console's side: admins edit facts and decide conflicts ----------------


def console_stamp(account: Account) -> Stamp:
    """A stamp for an edit made on the server by an admin."""
    return Stamp(now_ms(), 0, f"server:{account.id}")


def edit_household(
    session: Session, account: Account, household: Household, values: dict[str, Any], base_seq: int
) -> list[dict[str, Any]]:
    """An admin's edit of household facts, merged like a phone's (it may conflict)."""
    checked = HouseholdSchema(only=tuple(values), partial=True).load(values)
    return merge_household(
        session,
        Actor(account_id=account.id),
        household,
        checked,
        console_stamp(account),
        base_seq,
        Writer(None, account.id),
    )


def resolve_conflict(
    session: Session, account: Account, conflict: Conflict, keep: bool, entered: Any = None
) -> None:
    """Keep the winning value, or overturn it: the losing value becomes a new
    edit (seen after the winner, so it wins) that syncs out to every phone.
    A value the admin ``entered`` instead replaces both the same way."""
    if conflict.status != "open":
        raise Rejected("该冲突已处理 / this conflict has already been decided")
    household = session.get(Household, conflict.entity_id)
    if household is None:
        raise Rejected("没有该农户 / no such household")
    if entered is not None:
        status, value = "replaced", entered
    elif keep:
        status, value = "kept", conflict.winner_value
    else:
        status, value = "overturned", conflict.loser_value
    if status != "kept":
        edit_household(session, account, household, {conflict.field: value}, household.seq)
    conflict.status = status
    conflict.resolved_by_id = account.id
    conflict.resolved_at = from_ms(now_ms())
    record(
        session,
        Actor(account_id=account.id),
        conflict.status,
        "conflict",
        conflict.id,
        {"field": conflict.field, "value": value},
    )

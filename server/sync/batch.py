"""A push batch: what it looked up, what it creates, and how it is written.

A batch reads what its changes refer to in a few queries (``prefetch``,
``prefetch_mutable``) and answers the handlers' lookups from them
(``find``); what the handlers create is kept as plain column values
(``NewRecord``) and written at the end, a statement per table (``flush``).
Applied change by change instead (``together`` false), it is a thin layer
over the session.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, Table, any_, bindparam, inspect, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, joinedload

from server.accounts.models import Account, Device
from server.audit.models import AuditEntry
from server.audit.services import Actor, entry_values
from server.db import Base, insert_rows, pipelined
from server.inspections.models import Inspection
from server.issues.models import Issue, IssueEvent
from server.issues.status import STATUS_EVENTS
from server.ledger.models import Household, HouseholdLink
from server.photos.models import Photo
from server.photos.services import PARENTS
from server.rejected import Rejected
from server.sequence import numbered, take, write_counter
from server.sync.models import AppliedChange
from server.sync.scope import account_county
from server.visits.acceptance import covered_at, covered_by
from server.visits.models import Visit
from server.visits.services import visits_inserted
from shared.vocab import IssueEventKind, IssueStatus
from sync.hlc import MAX_DRIFT_MS
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS

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
    ("photo", "create"): Photo,
    ("photo", "delete"): Photo,
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
    # The account's county: its counter numbers every record the batch writes
    # (they all lie in the device's scope, inside it).
    county: uuid.UUID | None = field(init=False)

    def __post_init__(self) -> None:
        self.county = account_county(self.session, self.account)

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
                wanted[model] |= named_ids(record.get("id"))
            for name, referred in REFERENCES.items():
                wanted[referred] |= named_ids(record.get(name))
            kind = record.get("record_kind") if change["kind"] == "photo" else None
            parent = PARENTS.get(kind) if isinstance(kind, str) else None
            if parent is not None:
                wanted[parent] |= named_ids(record.get("record_id"))
        for model in (AppliedChange, Visit, IssueEvent, Inspection, Photo):
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
        (seq,) = take(self.session, self._county(), 1)
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
            numbered(session, self._county(), synced)
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

    def _county(self) -> uuid.UUID:
        # Only an account with households in scope has changes to write.
        assert self.county is not None, "a change outside any county"
        return self.county

    def covers(self, cadre_id: uuid.UUID, household_id: uuid.UUID, at: datetime) -> bool:
        """``covered_at``, from the prefetched links when they are the cadre's."""
        if self.link_ends is None or cadre_id != self.account.cadre_id:
            return covered_at(self.session, cadre_id, household_id, at)
        return covered_by(self.link_ends.get(household_id, ()), at)

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


def _columns(new: Base) -> dict[str, Any]:
    """The column values set on a new record (the table's defaults fill the rest)."""
    values = inspect(new).dict
    return {
        column.key: values[column.key] for column in new.__table__.columns if column.key in values
    }


def named_ids(value: Any) -> set[uuid.UUID]:
    """The record id a change names, if it is one (the schemas reject the rest)."""
    if value is None:
        return set()
    if isinstance(value, uuid.UUID):
        return {value}  # as a schema loaded it
    try:
        return {uuid.UUID(str(value))}
    except ValueError:
        return set()

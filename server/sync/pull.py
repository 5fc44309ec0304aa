"""How a pull is paged and written.

Pull is stateless. The phone says which households it holds and where its
cursor stands. The server first sends whole, a few at a time, the
households it is missing (a snapshot: the households, their visits and
issues, and the places, leaders and cadres around them), and tells it
which to drop; then it pages through what changed in its scope after the
cursor, in seq order. Each record goes out as JSON text written once
(server/sync/records.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Device
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
from server.photos.models import Photo
from server.sequence import committed_high_water
from server.sync import records as wire
from server.sync.epoch import current_epoch
from server.sync.scope import Reach, SyncRefused, listed, reach
from server.visits.models import Visit

# Snapshots of newly assigned households go out this many at a time.
SNAPSHOT_HOUSEHOLDS_PER_PAGE = 15


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
    # The county whose counter numbers the cursor, and whose settings the phone follows.
    county_id: uuid.UUID | None = None


def pull(
    session: Session,
    device: Device,
    cursor: str | None,
    held: Iterable[uuid.UUID],
    limit: int,
    as_text: bool = False,
) -> Page:
    """The next page of what the device's phone should hold.

    ``held`` are the households the phone holds, ``cursor`` the one the last
    page gave (None on a first sync). Households the phone lacks come first,
    whole; then up to ``limit`` records changed after the cursor, their data
    ``as_text`` if the phone asked (server/sync/records.py). Refused
    (SyncRefused) for a lost phone, an account with no households, or a
    cursor this server never gave.
    """
    if device.lost_at is not None:
        # Nothing more for a lost phone: it erases its store (it has pushed first).
        raise SyncRefused(
            410,
            "此手机已挂失：请清除本机数据 / this phone was reported lost: erase its data",
        )
    covered = reach(session, device.account)
    # Read before any data: every seq of the county up to here has committed,
    # so nothing of it at or below can appear after this pull has looked.
    high_water = committed_high_water(session, covered.county_id)
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
        records = _snapshot(session, covered, batch, as_text)
        # A first sync starts its cursor where the snapshot was taken.
        cursor = str(high_water if since is None else since)
        return Page(records, cursor, True, evict, epoch, reset, covered.county_id)
    if since is not None and since >= high_water:
        # Everything a phone pulls is numbered by its county's counter, in
        # commit order: nothing committed after the cursor, nothing to read.
        return Page([], str(since), False, evict, epoch, reset, covered.county_id)
    changes, more = _changes_since(session, covered, scope, since or 0, limit, as_text)
    new_cursor = changes[-1][0] if more else max(high_water, since or 0)
    return Page(
        [record for _, record in changes],
        str(new_cursor),
        more,
        evict,
        epoch,
        reset,
        covered.county_id,
    )


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

    county: uuid.UUID | None
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
            "county": self.county,
            "households": list(households),
            "grids": list(self.grids),
            "villages": list(self.villages),
            "towns": list(self.towns),
            "cadres": list(self.cadres),
            "units": list(self.units),
            "linked": list(self.linked),
        }


LINKED_CADRES = select(HouseholdLink.cadre_id).where(
    HouseholdLink.household_id.in_(listed("households")), HouseholdLink.ended_at.is_(None)
)
PLACES = (
    select(Grid.id, Village.id, Village.town_id)
    .join(Village, Village.id == Grid.village_id)
    .join(Household, Household.grid_id == Grid.id)
    .where(Household.id.in_(listed("households")))
    .distinct()
)
LEADERS = select(VillageLink.cadre_id).where(
    VillageLink.village_id.in_(listed("villages")), VillageLink.ended_at.is_(None)
)
UNITS = select(Cadre.unit_id).where(Cadre.id.in_(listed("cadres")))


def _context(session: Session, covered: Reach, households: Sequence[uuid.UUID]) -> Context:
    context = Context(covered.county_id, cadres={covered.cadre_id} if covered.cadre_id else set())
    given = {"households": list(households)}
    if covered.links:
        context.linked = set(households)
        context.cadres |= set(session.scalars(LINKED_CADRES, given))
    for grid_id, village_id, town_id in session.execute(PLACES, given):
        context.grids.add(grid_id)
        context.villages.add(village_id)
        context.towns.add(town_id)
    context.cadres |= set(session.scalars(LEADERS, {"villages": list(context.villages)}))
    context.units = set(session.scalars(UNITS, {"cadres": list(context.cadres)}))
    return context


SINCE = bindparam("since")
# The records around a set of households (Context.params).
AROUND = [
    # Only the phone's own: another county's numbers mean nothing to its cursor.
    wire.Records(County, County.id == bindparam("county")),
    wire.Records(Town, Town.id.in_(listed("towns"))),
    wire.Records(Village, Village.id.in_(listed("villages"))),
    wire.Records(Grid, Grid.id.in_(listed("grids"))),
    wire.Records(Cadre, Cadre.id.in_(listed("cadres"))),
    wire.Records(WorkUnit, WorkUnit.id.in_(listed("units"))),
    wire.Records(
        VillageLink,
        and_(VillageLink.village_id.in_(listed("villages")), VillageLink.ended_at.is_(None)),
    ),
]
# An inspector's phone also gets its households' links.
LINKS = wire.Records(HouseholdLink, HouseholdLink.household_id.in_(listed("linked")))


def _after(records: wire.Records) -> wire.Records:
    return wire.Records(records.model, and_(records.where, records.model.seq > SINCE))  # type: ignore[attr-defined]


# Those changed after a seq, without and with the links.
AROUND_SINCE = {
    linked: [_after(records) for records in AROUND + ([LINKS] if linked else [])]
    for linked in (False, True)
}
# The households and their notebooks' records.
ISSUES_IN_SCOPE = or_(
    Issue.household_id.in_(listed("households")),
    and_(Issue.household_id.is_(None), Issue.village_id.in_(listed("villages"))),
)
NOTEBOOK = [
    wire.Records(Household, Household.id.in_(listed("households"))),
    wire.Records(Visit, Visit.household_id.in_(listed("households"))),
    wire.Records(Issue, ISSUES_IN_SCOPE),
    wire.Records(IssueEvent, IssueEvent.issue_id.in_(select(Issue.id).where(ISSUES_IN_SCOPE))),
    wire.Records(Photo, Photo.household_id.in_(listed("households"))),
]
NOTEBOOK_SINCE = [
    wire.Records(Household, and_(Household.id.in_(listed("households")), Household.seq > SINCE)),
    # Visits, by far the most rows, are chosen household by household.
    wire.Records(Visit, Visit.seq > SINCE, each=(Visit.household_id, "households")),
    wire.Records(Issue, and_(ISSUES_IN_SCOPE, Issue.seq > SINCE)),
    wire.Records(
        IssueEvent,
        and_(
            IssueEvent.issue_id.in_(select(Issue.id).where(ISSUES_IN_SCOPE)), IssueEvent.seq > SINCE
        ),
    ),
    wire.Records(Photo, and_(Photo.household_id.in_(listed("households")), Photo.seq > SINCE)),
]


def _snapshot(
    session: Session, covered: Reach, households: Sequence[uuid.UUID], as_text: bool
) -> list[str]:
    """Everything a phone needs about households it does not hold yet."""
    context = _context(session, covered, households)
    params = context.params(households)
    connection = session.connection()
    tables = AROUND + ([LINKS] if context.linked else []) + NOTEBOOK
    return [record for _, record in wire.wire_rows(connection, tables, params, None, as_text)]


def _changes_since(
    session: Session,
    covered: Reach,
    scope: set[uuid.UUID],
    since: int,
    limit: int,
    as_text: bool,
) -> tuple[list[tuple[int, str]], bool]:
    """Up to ``limit`` records in scope changed after ``since``, in seq order:
    each one's seq and wire JSON."""
    households = sorted(scope)
    context = _context(session, covered, households)
    params = {**context.params(households), "since": since}
    tables = AROUND_SINCE[bool(context.linked)] + NOTEBOOK_SINCE
    candidates = wire.wire_rows(session.connection(), tables, params, limit + 1, as_text)
    # Each table gave its own first limit+1; the first limit+1 of them all
    # are therefore the first limit+1 overall.
    candidates.sort(key=lambda candidate: candidate[0])
    return candidates[:limit], len(candidates) > limit

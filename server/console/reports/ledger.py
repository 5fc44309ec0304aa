"""The ledger (包村包户台帐) page by page: a village's leaders and cadres with
their households, a household's whole record, a cadre's households."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from server.accounts.models import Account
from server.accounts.scope import Scope
from server.audit.queries import trail
from server.audit.services import field_changes
from server.inspections.models import Inspection
from server.issues.models import Issue
from server.ledger.models import (
    Cadre,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.ledger.ordering import name_order
from server.ledger.queries import (
    cadre_loads,
    cadre_rows,
    covered_by,
    covering_cadres,
    current_leaders,
    household_rows,
    linked_households,
)
from server.visits.models import Visit
from shared.vocab import SOLVED_STATUSES, LeaderRole, Rank, UnitKind

# How many of a household's visits its page lists (the notebook PDF has all).
RECENT_VISITS = 50


@dataclass(frozen=True)
class Leader:
    role: LeaderRole
    cadre_id: uuid.UUID
    name: str
    unit: str
    phone: str


def leaders(session: Session, village_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Leader]]:
    """Each village's current link leaders, in the ledger's order of roles."""
    found: dict[uuid.UUID, list[Leader]] = {village_id: [] for village_id in village_ids}
    for village_id, role, cadre_id, name, unit, phone in session.execute(
        current_leaders(VillageLink.village_id.in_(list(village_ids)))
    ):
        found[village_id].append(Leader(role, cadre_id, name, unit, phone))
    order = list(LeaderRole)
    for village_leaders in found.values():
        village_leaders.sort(key=lambda leader: order.index(leader.role))
    return found


@dataclass
class CadreHouseholds:
    """A cadre and the households they cover in one place (village or grid)."""

    cadre_id: uuid.UUID | None
    name: str
    unit: str
    phone: str
    active: bool
    households: list[Any] = field(default_factory=list)


def households_by_cadre(
    session: Session, *where: Any, order_by_grid: bool = True
) -> list[CadreHouseholds]:
    """Live households matching ``where`` (on Household/Grid), grouped by current cadre.

    Households without a cadre come first, under an empty cadre, so they are seen.
    """
    rows = session.execute(
        household_rows(
            Household.id,
            Household.code,
            Household.head_name,
            Household.members,
            Household.tags,
            Grid.name.label("grid"),
            Household.last_visited_at.label("last_visit"),
            Cadre.id.label("cadre_id"),
            Cadre.name.label("cadre"),
            WorkUnit.name.label("unit"),
            Cadre.phone,
            Cadre.active,
        )
        .where(*where)
        .order_by(Household.code)
    ).all()
    groups: dict[uuid.UUID | None, CadreHouseholds] = {}
    for row in rows:
        group = groups.get(row.cadre_id)
        if group is None:
            group = groups[row.cadre_id] = CadreHouseholds(
                row.cadre_id, row.cadre or "", row.unit or "", row.phone or "", bool(row.active)
            )
        group.households.append(row)
    return sorted(
        groups.values(), key=lambda group: (group.cadre_id is not None, group.unit, group.name)
    )


@dataclass
class HouseholdRecord:
    """Everything the ledger knows about one household."""

    household: Household
    village: Village
    cadre: Cadre | None
    links: list[Any]
    visits: list[Any]
    issues: list[Issue]
    inspections: list[Any]
    history: list[HistoryEntry]


def household_record(session: Session, household: Household) -> HouseholdRecord:
    village = household.grid.village
    links = session.execute(
        cadre_rows(
            HouseholdLink.started_at,
            HouseholdLink.ended_at,
            Cadre.id.label("cadre_id"),
            Cadre.name,
            WorkUnit.name.label("unit"),
            Cadre.phone,
            Cadre.active,
        )
        .join(HouseholdLink, HouseholdLink.cadre_id == Cadre.id)
        .where(HouseholdLink.household_id == household.id)
        .order_by(HouseholdLink.started_at.desc())
    ).all()
    current = next((link for link in links if link.ended_at is None), None)
    visits = session.execute(
        select(Visit, Cadre.name.label("cadre"))
        .join(Cadre, Cadre.id == Visit.cadre_id)
        .where(Visit.household_id == household.id, Visit.deleted_at.is_(None))
        .order_by(Visit.visited_at.desc())
        .limit(RECENT_VISITS)
    ).all()
    issues = list(
        session.scalars(
            select(Issue)
            .where(Issue.household_id == household.id, Issue.deleted_at.is_(None))
            .order_by(Issue.raised_at.desc())
        )
    )
    inspector = aliased(Account)
    inspections = session.execute(
        select(Inspection, inspector.display_name.label("inspector"))
        .join(inspector, inspector.id == Inspection.inspector_id)
        .where(Inspection.household_id == household.id, Inspection.deleted_at.is_(None))
        .order_by(Inspection.inspected_on.desc())
    ).all()
    return HouseholdRecord(
        household=household,
        village=village,
        cadre=session.get(Cadre, current.cadre_id) if current else None,
        links=list(links),
        visits=list(visits),
        issues=issues,
        inspections=list(inspections),
        history=change_history(session, "household", household.id),
    )


# What the change history calls a record's fields and the actions on them.
FIELD_LABELS = {
    "head_name": ("户主", "head of household"),
    "members": ("人口", "members"),
    "address": ("地址", "address"),
    "phones": ("电话", "phones"),
    "tags": ("标签", "tags"),
    "notes": ("备注", "notes"),
    "cadre_id": ("挂户干部", "cadre"),
    "reason": ("原因", "reason"),
}
ACTION_LABELS = {
    "create": ("新建", "created"),
    "update": ("修改", "changed"),
    "link": ("挂钩", "linked"),
    "remove": ("注销", "removed"),
    "restore": ("恢复", "restored"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    # Field -> (old, new) as text; the cadre's name for a link change.
    changes: dict[str, tuple[str, str]]
    account: str | None
    device: str | None
    device_owner: str | None
    via: str


def change_history(session: Session, entity: str, entity_id: uuid.UUID) -> list[HistoryEntry]:
    """Who changed a record, when, and from which device (the audit trail)."""
    rows = session.execute(trail(entity, entity_id)).all()
    read = [(row, field_changes(row.action, row.changes)) for row in rows]
    cadre_ids = {
        _uuid(value)
        for _, changes in read
        for value in changes.get("cadre_id", ())
        if _uuid(value) is not None
    }
    names = dict(session.execute(select(Cadre.id, Cadre.name).where(Cadre.id.in_(cadre_ids))).all())

    def text(field: str, value: Any) -> str:
        if value is None:
            return ""
        if field == "cadre_id":
            return names.get(_uuid(value), str(value))
        if isinstance(value, list):
            return "、".join(str(item) for item in value)
        return str(value)

    return [
        HistoryEntry(
            row.at,
            row.action,
            {name: (text(name, old), text(name, new)) for name, (old, new) in changes.items()},
            row.account,
            row.device,
            row.device_owner,
            row.changes.get("via", ""),
        )
        for row, changes in read
    ]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class CadreRecord:
    cadre: Cadre
    households: list[CadreHouseholds]
    visits_30: int
    visits_90: int
    last_visit: datetime | None
    open_issues: int
    leads: list[Any]


def cadre_record(session: Session, scope: Scope, cadre: Cadre, now: datetime) -> CadreRecord:
    """A cadre's households in scope, and how their visiting goes."""
    groups = households_by_cadre(
        session,
        Household.id.in_(covered_by(cadre.id)),
        Grid.village_id.in_(scope.village_ids_query()),
    )
    visits_30, visits_90, last_visit = session.execute(
        select(
            func.count(case((Visit.visited_at >= now - timedelta(days=30), 1))),
            func.count(case((Visit.visited_at >= now - timedelta(days=90), 1))),
            func.max(Visit.visited_at),
        ).where(Visit.cadre_id == cadre.id, Visit.deleted_at.is_(None))
    ).one()
    open_issues = session.scalar(
        select(func.count(Issue.id)).where(
            Issue.raised_by_cadre_id == cadre.id,
            Issue.deleted_at.is_(None),
            Issue.status.not_in(SOLVED_STATUSES),
        )
    )
    leads = session.execute(
        select(VillageLink.role, Village.id, Village.name)
        .join(Village, Village.id == VillageLink.village_id)
        .where(VillageLink.cadre_id == cadre.id, VillageLink.ended_at.is_(None), scope.villages())
    ).all()
    return CadreRecord(
        cadre=cadre,
        households=groups,
        visits_30=visits_30,
        visits_90=visits_90,
        last_visit=last_visit,
        open_issues=open_issues or 0,
        leads=list(leads),
    )


# --- summaries and choices -------------------------------------------------------


@dataclass
class PlaceSummary:
    """A town's or village's size in the ledger."""

    id: uuid.UUID
    name: str
    villages: int = 0
    grids: int = 0
    households: int = 0
    cadres: int = 0
    unlinked: int = 0
    town_id: uuid.UUID | None = None


def village_summaries(session: Session, scope: Scope, *where: Any) -> list[PlaceSummary]:
    """Per village in scope: grids, live households, cadres now covering them, unlinked."""
    link = and_(HouseholdLink.household_id == Household.id, HouseholdLink.ended_at.is_(None))
    rows = session.execute(
        select(
            Village.id,
            Village.name,
            Village.town_id,
            func.count(Grid.id.distinct()),
            func.count(Household.id),
            func.count(HouseholdLink.cadre_id.distinct()),
            func.count(case((and_(Household.id.is_not(None), HouseholdLink.id.is_(None)), 1))),
        )
        .outerjoin(Grid, Grid.village_id == Village.id)
        .outerjoin(Household, and_(Household.grid_id == Grid.id, Household.deleted_at.is_(None)))
        .outerjoin(HouseholdLink, link)
        .where(scope.villages(), *where)
        .group_by(Village.id, Village.name, Village.town_id)
        .order_by(Village.name)
    ).all()
    return [
        PlaceSummary(
            id=village_id,
            name=name,
            town_id=town_id,
            villages=1,
            grids=grids,
            households=households,
            cadres=cadres,
            unlinked=unlinked,
        )
        for village_id, name, town_id, grids, households, cadres, unlinked in rows
    ]


def town_summaries(session: Session, scope: Scope) -> list[PlaceSummary]:
    """Per town in scope, the sums of its villages (a cadre covering two counts twice)."""
    towns = {
        town_id: PlaceSummary(town_id, name)
        for town_id, name in session.execute(
            select(Town.id, Town.name)
            .where(Town.id.in_(select(Village.town_id).where(scope.villages())))
            .order_by(Town.name)
        )
    }
    for village in village_summaries(session, scope):
        assert village.town_id is not None
        town = towns[village.town_id]
        for name in ("villages", "grids", "households", "cadres", "unlinked"):
            setattr(town, name, getattr(town, name) + getattr(village, name))
    return list(towns.values())


def grid_summaries(session: Session, village: Village) -> list[Any]:
    """A village's grids and how many live households each has."""
    return list(
        session.execute(
            select(Grid.id, Grid.name, func.count(Household.id).label("households"))
            .outerjoin(
                Household, and_(Household.grid_id == Grid.id, Household.deleted_at.is_(None))
            )
            .where(Grid.village_id == village.id)
            .group_by(Grid.id, Grid.name)
            .order_by(*name_order(Grid.name))
        ).all()
    )


@dataclass(frozen=True)
class Choice:
    """A cadre as a choice in a form: "name (unit) · load"."""

    id: uuid.UUID
    name: str
    unit: str
    households: int

    def label(self) -> str:
        return f"{self.name}（{self.unit}）· {self.households}"


def cadres_of_villages(session: Session, village_ids: Sequence[uuid.UUID]) -> list[Choice]:
    """Active cadres now covering households in these villages, with their whole load."""
    here = covering_cadres(Grid.village_id.in_(list(village_ids)))
    return _choices(session, Cadre.id.in_(here))


def own_households(session: Session, scope: Scope, cadre: Cadre) -> list[Household]:
    """The cadre's live households in scope, by code."""
    return list(
        session.scalars(
            linked_households(Household)
            .join(Grid, Grid.id == Household.grid_id)
            .where(
                HouseholdLink.cadre_id == cadre.id,
                Grid.village_id.in_(scope.village_ids_query()),
            )
            .order_by(Household.code)
        )
    )


def leader_candidates(session: Session, village: Village) -> dict[LeaderRole, list[Choice]]:
    """Who may lead a village, per role: division-level leaders for the county's
    link; the village's own town-office and county-department cadres for the others."""
    local = cadres_of_villages(session, [village.id])
    kinds = dict(
        session.execute(
            cadre_rows(Cadre.id, WorkUnit.kind).where(Cadre.id.in_([choice.id for choice in local]))
        ).all()
    )
    return {
        LeaderRole.COUNTY: _choices(session, Cadre.rank == Rank.DIVISION_LEADER),
        LeaderRole.TOWN: [c for c in local if kinds[c.id] == UnitKind.TOWN_OFFICE],
        LeaderRole.DEPARTMENT: [c for c in local if kinds[c.id] == UnitKind.COUNTY_DEPARTMENT],
    }


def _choices(session: Session, *where: Any) -> list[Choice]:
    cadres = select(Cadre.id).where(Cadre.active, *where)
    # Loads of these cadres only: counting every link would read the whole ledger.
    load = cadre_loads(HouseholdLink.cadre_id.in_(cadres))
    return [
        Choice(cadre_id, name, unit, households or 0)
        for cadre_id, name, unit, households in session.execute(
            cadre_rows(Cadre.id, Cadre.name, WorkUnit.name, load.c.households)
            .outerjoin(load, load.c.cadre_id == Cadre.id)
            .where(Cadre.id.in_(cadres))
            .order_by(WorkUnit.name, Cadre.name)
        )
    ]


def villages(session: Session, scope: Scope) -> list[Any]:
    """The villages in scope with their towns' names, town by town."""
    return list(
        session.execute(
            select(Village.id, Village.name, Town.name.label("town"))
            .join(Town, Town.id == Village.town_id)
            .where(scope.villages())
            .order_by(Town.name, Village.name)
        ).all()
    )


@dataclass
class Found:
    """What the top search finds, each kind in scope and capped."""

    households: list[Any]
    cadres: list[Any]
    villages: list[Any]
    issues: list[Any]


def search(session: Session, scope: Scope, text: str, limit: int = 50) -> Found:
    """Households (by code or head's name), cadres (by name or phone), villages
    (by name) and issues (by their text) in scope."""
    households = session.execute(
        select(Household.id, Household.code, Household.head_name, Village.name.label("village"))
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(
            Household.deleted_at.is_(None),
            scope.villages(),
            _containing(text, Household.code, Household.head_name),
        )
        .order_by(Household.code)
        .limit(limit)
    ).all()
    cadres = session.execute(
        cadre_rows(Cadre.id, Cadre.name, Cadre.phone, WorkUnit.name.label("unit"))
        .where(scope.cadres(), _containing(text, Cadre.name, Cadre.phone))
        .order_by(Cadre.name)
        .limit(limit)
    ).all()
    villages = session.execute(
        select(Village.id, Village.name, Town.name.label("town"))
        .join(Town, Town.id == Village.town_id)
        .where(scope.villages(), _containing(text, Village.name))
        .order_by(Town.name, Village.name)
        .limit(limit)
    ).all()
    issues = session.execute(
        select(Issue.id, Issue.description, Issue.status, Village.name.label("village"))
        .join(Village, Village.id == Issue.village_id)
        .where(
            Issue.deleted_at.is_(None),
            scope.villages(),
            Issue.description.icontains(text, autoescape=True),
        )
        .order_by(Issue.raised_at.desc())
        .limit(limit)
    ).all()
    return Found(list(households), list(cadres), list(villages), list(issues))


def _containing(text: str, *columns: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Any of ``columns`` holds ``text`` as typed (``%`` and ``_`` are no wildcards)."""
    return or_(*(column.contains(text, autoescape=True) for column in columns))

"""Coverage (全覆盖): who has a cadre, who was visited lately, whose load is off.

The dashboard's numbers come from two GROUP BY queries, one over households
(by village and work unit) and one over cadres; the lists behind them use the
same conditions. When each household and cadre was last visited is kept on
their rows (server.visits.services), so neither reads the visits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.console.reports import Page, paginate
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
from server.ledger.queries import cadre_rows, live_links, with_current_cadre
from shared.vocab import MAX_HOUSEHOLDS_PER_CADRE, MIN_HOUSEHOLDS_PER_CADRE

WINDOWS = (30, 60, 90)
# A cadre with households and no visit for this long is flagged.
IDLE_AFTER_DAYS = 30


@dataclass(frozen=True)
class Where:
    """Narrowing within the scope: a town, a village and/or a work unit."""

    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None

    def narrowed(self, scope: Scope) -> bool:
        """Whether only part of the ledger's places is asked for."""
        return not scope.whole_county or self.town_id is not None or self.village_id is not None

    def households(self, scope: Scope) -> list[ColumnElement[bool]]:
        """Conditions on Household and its current Cadre (outer-joined)."""
        conditions = [Household.deleted_at.is_(None)]
        if self.narrowed(scope):
            conditions.append(Household.grid_id.in_(self.grids(scope)))
        if self.unit_id is not None:
            conditions.append(Cadre.unit_id == self.unit_id)
        return conditions

    def grids(self, scope: Scope) -> Select[tuple[uuid.UUID]]:
        """The ids of the grids in scope and in the town or village asked for."""
        return (
            select(Grid.id)
            .join(Village, Village.id == Grid.village_id)
            .where(scope.villages(), *self.places())
        )

    def places(self) -> list[ColumnElement[bool]]:
        """Conditions on Village for the town or village asked for."""
        given = ((Village.town_id, self.town_id), (Village.id, self.village_id))
        return [column == value for column, value in given if value is not None]

    def as_args(self) -> dict[str, str]:
        """The narrowing as query-string arguments, for links to the lists."""
        return {
            name: str(value)
            for name, value in (
                ("town", self.town_id),
                ("village", self.village_id),
                ("unit", self.unit_id),
            )
            if value is not None
        }


@dataclass
class Tally:
    """A group's households: how many, without a cadre, visited within each window, never."""

    households: int = 0
    unlinked: int = 0
    never: int = 0
    visited: dict[int, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))

    def add(self, other: Tally) -> None:
        self.households += other.households
        self.unlinked += other.unlinked
        self.never += other.never
        for days in WINDOWS:
            self.visited[days] += other.visited[days]

    def share(self, days: int) -> float | None:
        return self.visited[days] / self.households if self.households else None


@dataclass
class Group:
    """A town, village or work unit and its tally: one bar of a chart."""

    id: uuid.UUID
    name: str
    tally: Tally = field(default_factory=Tally)
    # A village's town, to link and label it.
    town: str = ""


# A chart of more places than this shows the lowest shares: at a county of
# thirty counties' size, thousands of bars would tell nobody anything.
MOST_BARS = 100


def lowest(groups: list[Group], days: int) -> list[Group]:
    """The groups to chart: all of them, or the ``MOST_BARS`` least visited within ``days``."""
    if len(groups) <= MOST_BARS:
        return groups
    return sorted(groups, key=lambda group: (group.tally.share(days) or 0.0, group.name))[
        :MOST_BARS
    ]


@dataclass
class Dashboard:
    total: Tally
    towns: list[Group]
    villages: list[Group]
    units: list[Group]
    idle_cadres: int
    loads_outside: int


def dashboard(session: Session, scope: Scope, now: datetime, where: Where = Where()) -> Dashboard:
    """The coverage dashboard's numbers, per town, village and work unit."""
    rows = session.execute(_tally_query(scope, now, where)).all()
    places = session.execute(
        select(Village.id, Village.name, Town.id, Town.name)
        .join(Town, Town.id == Village.town_id)
        .where(scope.villages(), *where.places())
    ).all()
    villages = {
        village_id: Group(village_id, name, town=town) for village_id, name, _, town in places
    }
    town_of = {village_id: town_id for village_id, _, town_id, _ in places}
    towns = {town_id: Group(town_id, name) for *_, town_id, name in places}
    units: dict[uuid.UUID, Group] = {}
    total = Tally()
    for village_id, unit_id, households, *visited, never in rows:
        tally = Tally(
            households=households,
            unlinked=households if unit_id is None else 0,
            never=never,
            visited=dict(zip(WINDOWS, visited, strict=True)),
        )
        total.add(tally)
        villages[village_id].tally.add(tally)
        towns[town_of[village_id]].tally.add(tally)
        if unit_id is not None:
            units.setdefault(unit_id, Group(unit_id, "")).tally.add(tally)
    for unit_id, name in session.execute(
        select(WorkUnit.id, WorkUnit.name).where(WorkUnit.id.in_(list(units)))
    ):
        units[unit_id].name = name
    listed = _cadre_query(scope, where).subquery("cadres")
    idle, outside = session.execute(
        select(
            func.count(case((_idle(listed.c, now), 1))),
            func.count(case((_load_outside(listed.c), 1))),
        )
    ).one()
    return Dashboard(
        total=total,
        towns=sorted(towns.values(), key=lambda group: group.name),
        villages=sorted(villages.values(), key=lambda group: (group.town, group.name)),
        units=sorted(units.values(), key=lambda group: group.name),
        idle_cadres=idle,
        loads_outside=outside,
    )


def _households_in(scope: Scope, where: Where) -> Select[Any]:
    """Live households in scope with their current link, cadre and unit outer-joined."""
    return with_current_cadre(select(Household.id)).where(*where.households(scope))


def _tally_query(scope: Scope, now: datetime, where: Where) -> Select[Any]:
    last = Household.last_visited_at
    return (
        _households_in(scope, where)
        .join(Grid, Grid.id == Household.grid_id)
        .with_only_columns(
            Grid.village_id,
            Cadre.unit_id,
            func.count(),
            *(func.count(case((last >= now - timedelta(days=days), 1))) for days in WINDOWS),
            func.count(case((last.is_(None), 1))),
            maintain_column_froms=True,
        )
        .group_by(Grid.village_id, Cadre.unit_id)
    )


# --- the lists behind the numbers ----------------------------------------------------


class HouseholdList(StrEnum):
    ALL = "all"
    UNLINKED = "unlinked"
    NEVER = "never"
    VISITED = "visited"  # within ``days``
    STALE = "stale"  # not visited within ``days`` (or never)


def households(
    session: Session,
    scope: Scope,
    now: datetime,
    where: Where,
    show: HouseholdList,
    days: int,
    page: int,
) -> Page[Any]:
    """Households behind a dashboard number: code, head, village, grid, cadre, last visit."""
    last = Household.last_visited_at
    cutoff = now - timedelta(days=days)
    shown: dict[HouseholdList, ColumnElement[bool]] = {
        HouseholdList.UNLINKED: HouseholdLink.id.is_(None),
        HouseholdList.NEVER: last.is_(None),
        HouseholdList.VISITED: last >= cutoff,
        HouseholdList.STALE: or_(last.is_(None), last < cutoff),
    }
    query = (
        _households_in(scope, where)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .with_only_columns(
            Household.id,
            Household.code,
            Household.head_name,
            Village.name,
            Grid.name,
            Cadre.id,
            Cadre.name,
            last,
            maintain_column_froms=True,
        )
        .order_by(Household.code)
    )
    if show in shown:
        query = query.where(shown[show])
    return paginate(session, query, page)


class CadreList(StrEnum):
    IDLE = "idle"  # households, but no visit in 30 days
    LOAD = "load"  # households outside 20–30


def _cadre_query(scope: Scope, where: Where) -> Select[Any]:
    """Active cadres in scope with their load here and their last visit anywhere."""
    # The unit narrows the cadres below, not their households.
    places = replace(where, unit_id=None)
    narrowing = [Household.grid_id.in_(places.grids(scope))] if places.narrowed(scope) else []
    load = (
        select(HouseholdLink.cadre_id, func.count().label("households"))
        .where(*live_links(*narrowing))
        .group_by(HouseholdLink.cadre_id)
        .subquery("load")
    )
    query = (
        cadre_rows(
            Cadre.id.label("id"),
            Cadre.name.label("name"),
            Cadre.phone.label("phone"),
            WorkUnit.name.label("unit"),
            load.c.households.label("households"),
            Cadre.last_visited_at.label("last_visit"),
        )
        .outerjoin(load, load.c.cadre_id == Cadre.id)
        .where(Cadre.active)
    )
    if where.unit_id is not None:
        query = query.where(Cadre.unit_id == where.unit_id)
    if where.town_id is None and where.village_id is None:
        # Cadres with no households here count too (their load is 0).
        return query.where(or_(load.c.households.is_not(None), scope.cadres()))
    return query.where(load.c.households.is_not(None))


def _idle(cadres: Any, now: datetime) -> ColumnElement[bool]:
    """Covers households, and has no visit in the last 30 days."""
    cutoff = now - timedelta(days=IDLE_AFTER_DAYS)
    return and_(
        cadres.households.is_not(None),
        or_(cadres.last_visit.is_(None), cadres.last_visit < cutoff),
    )


def _load_outside(cadres: Any) -> ColumnElement[bool]:
    """Outside 20–30 households; a village's leader without households is not counted."""
    leading = select(VillageLink.cadre_id).where(VillageLink.ended_at.is_(None))
    return or_(
        cadres.households < MIN_HOUSEHOLDS_PER_CADRE,
        cadres.households > MAX_HOUSEHOLDS_PER_CADRE,
        and_(cadres.households.is_(None), cadres.id.not_in(leading)),
    )


def cadres(
    session: Session, scope: Scope, now: datetime, where: Where, show: CadreList, page: int
) -> Page[Any]:
    """Cadres behind a dashboard number: name, unit, phone, load, last visit."""
    listed = _cadre_query(scope, where).subquery("cadres")
    condition = _idle(listed.c, now) if show == CadreList.IDLE else _load_outside(listed.c)
    query = select(listed).where(condition).order_by(listed.c.unit, listed.c.name)
    return paginate(session, query, page)

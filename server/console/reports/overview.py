"""The console's front page: the ledger's size in scope and what breaks its rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.console.reports import issues
from server.inspections.models import Inspection
from server.issues.models import Issue
from server.ledger.models import Cadre, Grid, Household, HouseholdLink, Town, Village, VillageLink
from server.ledger.queries import live_links
from server.sync.models import Conflict
from server.visits.models import Visit
from shared.vocab import LeaderRole


@dataclass
class Overview:
    counts: dict[str, int]
    # Live households whose current cadre has been disabled: to reassign.
    disabled_cadre: int
    villages_missing_leaders: list[Any]
    open_conflicts: int
    unsolved: int
    overdue: int


def overview(session: Session, scope: Scope, now: datetime) -> Overview:
    def count(query: Any) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    live = select(Household.id).where(Household.deleted_at.is_(None), scope.households())
    villages = select(Village.id).where(scope.villages())
    # The current links of live households, per cadre; then how many, to a
    # disabled cadre, by how many (active) cadres: no DISTINCT over every household.
    loads = (
        select(HouseholdLink.cadre_id, func.count().label("households"))
        .where(*live_links(*([] if scope.whole_county else [scope.households()])))
        .group_by(HouseholdLink.cadre_id)
        .subquery("loads")
    )
    linked, disabled, cadres = (
        int(number)  # a SUM is a NUMERIC on PostgreSQL
        for number in session.execute(
            select(
                func.coalesce(func.sum(loads.c.households), 0),
                func.coalesce(func.sum(case((Cadre.active.is_(False), loads.c.households))), 0),
                func.count(case((Cadre.active, 1))),
            ).join_from(loads, Cadre, Cadre.id == loads.c.cadre_id)
        ).one()
    )
    households = count(live)
    counts = {
        "towns": count(select(Village.town_id).where(scope.villages()).distinct()),
        "villages": count(villages),
        "grids": count(select(Grid.id).where(Grid.village_id.in_(villages))),
        "households": households,
        "cadres": cadres,
        "visits": count(
            select(Visit.id).where(Visit.deleted_at.is_(None), *_of_households(scope, Visit))
        ),
        "issues": count(
            select(Issue.id).where(Issue.deleted_at.is_(None), Issue.village_id.in_(villages))
        ),
        "inspections": count(
            select(Inspection.id).where(
                Inspection.deleted_at.is_(None), *_of_households(scope, Inspection)
            )
        ),
        "unlinked": households - linked,
    }
    led = (
        select(VillageLink.village_id, func.count().label("roles"))
        .join(Cadre, Cadre.id == VillageLink.cadre_id)
        .where(VillageLink.ended_at.is_(None), Cadre.active)
        .group_by(VillageLink.village_id)
        .subquery()
    )
    missing = session.execute(
        select(Village.id, Village.name, Town.name.label("town"))
        .join(Town, Town.id == Village.town_id)
        .outerjoin(led, led.c.village_id == Village.id)
        .where(scope.villages(), func.coalesce(led.c.roles, 0) < len(LeaderRole))
        .order_by(Town.name, Village.name)
    ).all()
    conflicts = count(
        select(Conflict.id).where(Conflict.status == "open", Conflict.entity_id.in_(live))
    )
    totals = issues.totals(session, scope, now)
    return Overview(
        counts=counts,
        disabled_cadre=disabled,
        villages_missing_leaders=list(missing),
        open_conflicts=conflicts,
        unsolved=totals.unsolved,
        overdue=totals.overdue,
    )


def _of_households(scope: Scope, model: Any) -> list[Any]:
    """A filter on a household's records to those of households in scope."""
    if scope.whole_county:
        return []
    return [model.household_id.in_(select(Household.id).where(scope.households()))]

"""The ledger's rows as the county keeps them (台帐): each household with its
current cadre, the cadre's unit and phone; each village with its link leaders;
each cadre with their unit and the live households they now cover.

The export, the console's pages, the contact cards and ``minqing check`` all
join them here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, select
from sqlalchemy.orm import Session

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


def with_current_cadre(query: Select[Any], *, linked_only: bool = False) -> Select[Any]:
    """``query`` (over Household) with each household's current link, its cadre and the
    cadre's work unit outer-joined: a household without a cadre stays, with None
    (``linked_only``: joined, so it is left out)."""
    outer = not linked_only
    return (
        query.join(
            HouseholdLink,
            and_(HouseholdLink.household_id == Household.id, HouseholdLink.ended_at.is_(None)),
            isouter=outer,
        )
        .join(Cadre, Cadre.id == HouseholdLink.cadre_id, isouter=outer)
        .join(WorkUnit, WorkUnit.id == Cadre.unit_id, isouter=outer)
    )


def household_rows(*columns: Any) -> Select[Any]:
    """``columns`` of the live households, each joined to its grid, village and town
    and (outer) to its current cadre and the cadre's work unit: the 台帐's rows."""
    return with_current_cadre(
        select(*columns)
        .select_from(Household)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .join(Town, Town.id == Village.town_id)
    ).where(Household.deleted_at.is_(None))


def current_leaders(*where: ColumnElement[bool]) -> Select[Any]:
    """The current link leaders of the villages ``where`` (on VillageLink, or on Village
    when the caller joins it): village id, role, cadre id, name, unit and phone."""
    return (
        cadre_rows(
            VillageLink.village_id,
            VillageLink.role,
            Cadre.id,
            Cadre.name,
            WorkUnit.name,
            Cadre.phone,
        )
        .join(VillageLink, VillageLink.cadre_id == Cadre.id)
        .where(VillageLink.ended_at.is_(None), *where)
    )


def cadre_rows(*columns: Any) -> Select[Any]:
    """``columns`` of the cadres, each joined to its work unit."""
    return select(*columns).select_from(Cadre).join(WorkUnit, WorkUnit.id == Cadre.unit_id)


def linked_households(*columns: Any) -> Select[Any]:
    """``columns`` of the live households that have a cadre, each joined to its
    current link (HouseholdLink.cadre_id is the cadre)."""
    return (
        select(*columns)
        .select_from(HouseholdLink)
        .join(Household, Household.id == HouseholdLink.household_id)
        .where(HouseholdLink.ended_at.is_(None), Household.deleted_at.is_(None))
    )


def covering_cadres(*where: ColumnElement[bool]) -> Select[tuple[uuid.UUID]]:
    """The ids of the cadres now covering live households in the villages ``where``
    (conditions on Grid or Village)."""
    return (
        linked_households(HouseholdLink.cadre_id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(*where)
    )


def cadre_loads(*where: ColumnElement[bool]) -> Subquery:
    """Each cadre's load, the live households they now cover (``cadre_id``,
    ``households``), for the links ``where`` (conditions on HouseholdLink)."""
    return (
        linked_households(HouseholdLink.cadre_id, func.count().label("households"))
        .where(*where)
        .group_by(HouseholdLink.cadre_id)
        .subquery()
    )


def covered_by(cadre_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """The ids of the households ``cadre_id`` is now linked to (a removed one too)."""
    return select(HouseholdLink.household_id).where(
        HouseholdLink.cadre_id == cadre_id, HouseholdLink.ended_at.is_(None)
    )


def live_links(*households: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """Conditions on HouseholdLink: current, and of a live household that meets
    ``households`` (conditions on Household).

    With no conditions, the links of removed households are left out instead:
    there are few of them, listed by an index, so no other household is read.
    """
    if not households:
        removed = select(Household.id).where(Household.deleted_at.is_not(None))
        return [HouseholdLink.ended_at.is_(None), HouseholdLink.household_id.not_in(removed)]
    live = select(Household.id).where(Household.deleted_at.is_(None), *households)
    return [HouseholdLink.ended_at.is_(None), HouseholdLink.household_id.in_(live)]


def first_county(session: Session) -> County | None:
    """The county whose settings and departments the console keeps: the first by
    name (a ledger holds one; a benchmark's may hold several)."""
    return session.scalar(select(County).order_by(County.name).limit(1))

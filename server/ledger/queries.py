"""The ledger's rows as the county keeps them (台帐): each household with its
current cadre, the cadre's unit and phone; each village with its link leaders.

The export, the console's pages and the contact cards all read them from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

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


def with_current_cadre(query: Select[Any]) -> Select[Any]:
    """``query`` (over Household) with each household's current link, its cadre and the
    cadre's work unit outer-joined: a household without a cadre stays, with None."""
    return (
        query.outerjoin(
            HouseholdLink,
            and_(HouseholdLink.household_id == Household.id, HouseholdLink.ended_at.is_(None)),
        )
        .outerjoin(Cadre, Cadre.id == HouseholdLink.cadre_id)
        .outerjoin(WorkUnit, WorkUnit.id == Cadre.unit_id)
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
        select(
            VillageLink.village_id,
            VillageLink.role,
            Cadre.id,
            Cadre.name,
            WorkUnit.name,
            Cadre.phone,
        )
        .join(Cadre, Cadre.id == VillageLink.cadre_id)
        .join(WorkUnit, WorkUnit.id == Cadre.unit_id)
        .where(VillageLink.ended_at.is_(None), *where)
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

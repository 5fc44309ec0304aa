"""Which households a device may reach: what its pulls bring and its pushes may touch.

A cadre's phone holds the households the cadre covers now; an inspector's,
those assigned to them and not yet checked. Other accounts have nothing to sync.
All of them lie in the account's county, whose change counter numbers what
the phone pulls and pushes (server/sequence.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.inspections.models import InspectionAssignment
from server.inspections.services import assigned_households
from server.ledger.models import Cadre, County, Household, HouseholdLink, Town
from shared.vocab import AccountRole


class SyncRefused(Exception):
    """The whole request is refused (e.g. an account with nothing to sync)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# The statements of pulls and pushes are built once, with parameters
# (``bindparam``): every sync runs them, and building a statement (and finding
# its compiled form) costs SQLAlchemy more than running it costs the database.


def listed(name: str) -> Any:
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


@dataclass(frozen=True)
class Reach:
    """What a device's pulls cover: the one rule, for every kind of account."""

    households: set[uuid.UUID]
    # The cadre whose phone it is (its contact card), if the account has one.
    cadre_id: uuid.UUID | None
    # An inspector asks each household whether it knows its cadre: their
    # phone also gets the households' links, and the cadres they name.
    links: bool
    # The county they lie in (None: nothing assigned yet on a server of several).
    county_id: uuid.UUID | None


def reach(session: Session, account: Account) -> Reach:
    """A cadre's phone holds the households the cadre covers now; an
    inspector's, those of their county assigned to them and not yet checked
    (and a cadre's too, if the inspector is also one). Other accounts have
    nothing to sync."""
    inspector = account.role == AccountRole.INSPECTOR
    if account.cadre_id is None and not inspector:
        raise SyncRefused(
            403,
            "该账号没有挂钩农户，无需同步 / this account covers no households: nothing to sync",
        )
    households: set[uuid.UUID] = set()
    county = account_county(session, account)
    if account.cadre_id is not None:
        households |= current_households(session, account.cadre_id)
    if inspector:
        assigned = assigned_households(session, account.id)
        # Only those of the account's county: its counter numbers what the
        # phone pulls (a cadre's households all lie in the cadre's county).
        households |= set(session.scalars(IN_COUNTY, {"ids": list(assigned), "county": county}))
    return Reach(households, account.cadre_id, inspector, county)


IN_COUNTY = select(Household.id).where(
    Household.id.in_(listed("ids")), Household.county_id == bindparam("county")
)


LATEST_ASSIGNED = (
    select(InspectionAssignment.household_id)
    .where(InspectionAssignment.inspector_id == bindparam("account_id"))
    .order_by(InspectionAssignment.assigned_at.desc())
    .limit(1)
)


def account_county(session: Session, account: Account) -> uuid.UUID | None:
    """The county whose counter numbers what the account's phones pull and push.

    A cadre's is their work unit's; a town's account's, its town's; an
    inspector's, that of the households they are assigned. On a server of
    one county, that county.
    """
    if account.cadre_id is not None:
        cadre = session.get(Cadre, account.cadre_id)
        assert cadre is not None  # a foreign key
        return cadre.county_of(session)
    if account.town_id is not None:
        town = session.get(Town, account.town_id)
        assert town is not None
        return town.county_id
    assigned = session.scalar(LATEST_ASSIGNED, {"account_id": account.id})
    household = session.get(Household, assigned) if assigned is not None else None
    if household is not None:
        return household.county_of(session)
    counties = session.scalars(select(County.id).limit(2)).all()
    return counties[0] if len(counties) == 1 else None

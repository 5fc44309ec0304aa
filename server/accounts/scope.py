"""Who may do what, and where: the one place the console's roles and scopes live.

A county admin sees the whole county; a town admin one town; a village link
leader the villages they are linked to now; an inspector the county, or one
town when their account names one; a department account only the issues
passed to its department. Every page and download filters through a
``Scope`` built here, so a rule changed here changes everywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.issues.models import Department, Issue
from server.ledger.models import (
    Cadre,
    Grid,
    Household,
    HouseholdLink,
    Village,
    VillageLink,
    WorkUnit,
)
from shared.vocab import AccountRole


class Capability(StrEnum):
    VIEW = "view"  # the ledger, coverage, issues, conflicts and downloads
    MANAGE = "manage"  # links, handling issues, deciding conflicts
    EDIT = "edit"  # correcting household facts (head, members, address, phones, tags, notes)
    INSPECT = "inspect"  # inspection samples and results
    CONFIGURE = "configure"  # county-wide settings, such as the cards' service numbers
    RESPOND = "respond"  # a department's progress and results on the issues passed to it


CAPABILITIES: dict[AccountRole, frozenset[Capability]] = {
    AccountRole.COUNTY_ADMIN: frozenset(Capability),
    AccountRole.TOWN_ADMIN: frozenset(
        {Capability.VIEW, Capability.MANAGE, Capability.EDIT, Capability.INSPECT}
    ),
    # A village's link leader knows its households: they may correct their facts.
    AccountRole.VILLAGE_LEADER: frozenset({Capability.VIEW, Capability.EDIT}),
    AccountRole.INSPECTOR: frozenset({Capability.VIEW, Capability.INSPECT}),
    # Cadres work on their phones; the console has nothing for them.
    AccountRole.CADRE: frozenset(),
    AccountRole.DEPARTMENT: frozenset({Capability.RESPOND}),
}


@dataclass(frozen=True)
class Scope:
    """The part of the county an account sees.

    ``town_ids`` of None means every town; ``village_ids`` of None means
    every village of those towns. A leader has both: their villages, and the
    towns those are in (whose pages show only their villages).
    """

    role: AccountRole
    town_ids: frozenset[uuid.UUID] | None = None
    village_ids: frozenset[uuid.UUID] | None = None
    # A department account sees only the issues passed to its department.
    department: str | None = None

    def can(self, capability: Capability) -> bool:
        return capability in CAPABILITIES[self.role]

    @property
    def whole_county(self) -> bool:
        return self.town_ids is None and self.village_ids is None and self.department is None

    # --- SQL filters ------------------------------------------------------------

    def villages(self) -> ColumnElement[bool]:
        """A filter on ``Village`` (joined in the query) to the villages in scope."""
        if self.village_ids is not None:
            return Village.id.in_(sorted(self.village_ids))
        if self.town_ids is not None:
            return Village.town_id.in_(sorted(self.town_ids))
        return true()

    def issues(self) -> ColumnElement[bool]:
        """A filter on ``Issue`` (with ``Village`` joined) to the issues in scope."""
        if self.department is not None:
            return and_(self.villages(), Issue.department == self.department)
        return self.villages()

    def village_ids_query(self) -> Select[tuple[uuid.UUID]]:
        return select(Village.id).where(self.villages())

    def households(self) -> ColumnElement[bool]:
        """A filter on ``Household`` alone (no joins needed) to those in scope."""
        if self.whole_county:
            return true()
        return Household.grid_id.in_(
            select(Grid.id).where(Grid.village_id.in_(self.village_ids_query()))
        )

    def cadres(self) -> ColumnElement[bool]:
        """A filter on ``Cadre`` to those an admin here may see and give households to:
        cadres covering households in scope, leading villages in scope, or
        working in a town office in scope."""
        if self.whole_county:
            return true()
        covering = select(HouseholdLink.cadre_id).where(
            HouseholdLink.ended_at.is_(None),
            HouseholdLink.household_id.in_(select(Household.id).where(self.households())),
        )
        leading = select(VillageLink.cadre_id).where(
            VillageLink.ended_at.is_(None), VillageLink.village_id.in_(self.village_ids_query())
        )
        conditions = [Cadre.id.in_(covering), Cadre.id.in_(leading)]
        if self.town_ids is not None and self.village_ids is None:
            conditions.append(
                Cadre.unit_id.in_(
                    select(WorkUnit.id).where(WorkUnit.town_id.in_(sorted(self.town_ids)))
                )
            )
        return or_(*conditions)

    # --- single records -----------------------------------------------------------

    def has_town(self, town_id: uuid.UUID) -> bool:
        return self.town_ids is None or town_id in self.town_ids

    def has_village(self, village: Village) -> bool:
        if self.village_ids is not None:
            return village.id in self.village_ids
        return self.town_ids is None or village.town_id in self.town_ids

    def has_issue(self, issue: Issue) -> bool:
        return self.has_village(issue.village) and (
            self.department is None or issue.department == self.department
        )

    def has_household(self, household: Household) -> bool:
        return self.has_village(household.grid.village)

    def has_cadre(self, session: Session, cadre: Cadre) -> bool:
        return self.whole_county or (
            session.scalar(select(Cadre.id).where(and_(Cadre.id == cadre.id, self.cadres())))
            is not None
        )


def scope_for(session: Session, account: Account) -> Scope:
    """The scope of an account, read from its role, town and (for leaders) links."""
    role = account.role
    if role == AccountRole.TOWN_ADMIN or (role == AccountRole.INSPECTOR and account.town_id):
        assert account.town_id is not None
        return Scope(role, town_ids=frozenset({account.town_id}))
    if role == AccountRole.VILLAGE_LEADER:
        led = session.execute(
            select(Village.id, Village.town_id)
            .join(VillageLink, VillageLink.village_id == Village.id)
            .where(VillageLink.cadre_id == account.cadre_id, VillageLink.ended_at.is_(None))
        ).all()
        return Scope(
            role,
            town_ids=frozenset(town_id for _, town_id in led),
            village_ids=frozenset(village_id for village_id, _ in led),
        )
    if role == AccountRole.CADRE:
        # Nothing: the console refuses them before a scope matters.
        return Scope(role, town_ids=frozenset(), village_ids=frozenset())
    if role == AccountRole.DEPARTMENT:
        department = session.get(Department, account.department_id)
        assert department is not None
        return Scope(role, department=department.name)
    return Scope(role)

"""What the printed outputs hold: a card per household, a cadre's notebook."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.issues.models import Issue, IssueEvent
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    WorkUnit,
)
from server.ledger.queries import household_rows
from server.visits.models import Visit

# Rows fetched per round trip while streaming a town's cards.
BATCH = 2000


@dataclass(frozen=True)
class Card:
    """One contact card (联系服务卡): the household, and the cadre who serves it."""

    code: str
    head_name: str
    address: str
    village: str
    cadre: str
    unit: str
    phone: str


def cards(session: Session, *where: Any) -> Iterator[Card]:
    """A card for each live household matching ``where`` (on Household, Grid,
    Village), in code order; streamed, so a town's thousands never sit in memory."""
    query = (
        household_rows(
            Household.code,
            Household.head_name,
            Household.address,
            Village.name,
            Cadre.name,
            WorkUnit.name,
            Cadre.phone,
        )
        .where(*where)
        .order_by(Household.code)
        .execution_options(yield_per=BATCH)
    )
    for code, head, address, village, cadre, unit, phone in session.execute(query):
        yield Card(code, head, address, village, cadre or "", unit or "", phone or "")


def county_of(session: Session, town_id: uuid.UUID) -> County:
    county = session.scalar(
        select(County).join(Town, Town.county_id == County.id).where(Town.id == town_id)
    )
    assert county is not None
    return county


@dataclass
class NotebookHousehold:
    household: Household
    village: str
    visits: list[Visit] = field(default_factory=list)
    issues: list[tuple[Issue, list[IssueEvent]]] = field(default_factory=list)


@dataclass
class Notebook:
    """A cadre's notebook (民情记录本): their households' facts, visits and problems."""

    cadre: Cadre
    unit: WorkUnit
    households: list[NotebookHousehold]


def notebook(session: Session, scope: Scope, cadre: Cadre) -> Notebook:
    """The notebook of a cadre's current households in scope, visits oldest first."""
    rows = session.execute(
        select(Household, Village.name)
        .join(HouseholdLink, HouseholdLink.household_id == Household.id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(
            HouseholdLink.cadre_id == cadre.id,
            HouseholdLink.ended_at.is_(None),
            Household.deleted_at.is_(None),
            scope.villages(),
        )
        .order_by(Household.code)
    ).all()
    pages = {household.id: NotebookHousehold(household, village) for household, village in rows}
    ids = list(pages)
    for visit in session.scalars(
        select(Visit)
        .where(Visit.household_id.in_(ids), Visit.deleted_at.is_(None))
        .order_by(Visit.visited_at)
    ):
        pages[visit.household_id].visits.append(visit)
    issues = list(
        session.scalars(
            select(Issue)
            .where(Issue.household_id.in_(ids), Issue.deleted_at.is_(None))
            .order_by(Issue.raised_at)
        )
    )
    events: dict[uuid.UUID, list[IssueEvent]] = defaultdict(list)
    for event in session.scalars(
        select(IssueEvent)
        .where(IssueEvent.issue_id.in_([issue.id for issue in issues]))
        .order_by(IssueEvent.at)
    ):
        events[event.issue_id].append(event)
    for issue in issues:
        assert issue.household_id is not None
        pages[issue.household_id].issues.append((issue, events[issue.id]))
    return Notebook(cadre, cadre.unit, list(pages.values()))

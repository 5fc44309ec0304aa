"""What the printed outputs hold: a card per household, a cadre's notebook."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from server.accounts.scope import Scope
from server.issues.models import Issue, IssueEvent
from server.issues.services import overdue, passed_on
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
from server.ledger.ordering import name_order
from server.ledger.queries import covered_by, covering_cadres, household_rows, linked_households
from server.photos.queries import thumbnails_of_households
from server.visits.models import Visit
from shared.vocab import SOLVED_STATUSES, IssueCategory

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


def cadre_town(session: Session, scope: Scope, cadre: Cadre) -> uuid.UUID | None:
    """A town of the households the cadre covers in scope, None if none: a cadre
    covers households in one county, whose service numbers go on the cards."""
    return session.scalar(
        select(Village.town_id)
        .join(Grid, Grid.village_id == Village.id)
        .join(Household, Household.grid_id == Grid.id)
        .where(Household.id.in_(covered_by(cadre.id)), scope.villages())
        .limit(1)
    )


def town_cadres(session: Session, town_id: uuid.UUID) -> list[Cadre]:
    """The cadres now covering households in the town, by name."""
    return list(
        session.scalars(
            select(Cadre)
            .where(Cadre.id.in_(covering_cadres(Village.town_id == town_id)))
            .order_by(Cadre.name, Cadre.phone)
        )
    )


def household_count(session: Session, *where: Any) -> int:
    """How many live households match ``where`` (on Household, Grid, Village, Town)."""
    return session.scalar(household_rows(func.count()).where(*where)) or 0


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
    """A cadre's notebook (民情记录本): their households' facts, visits and issues."""

    cadre: Cadre
    unit: WorkUnit
    households: list[NotebookHousehold]
    # The photos' thumbnails by the visit, issue or follow-up they belong to,
    # when the notebook is printed with them.
    thumbnails: dict[uuid.UUID, list[bytes]] = field(default_factory=dict)


def notebook(session: Session, scope: Scope, cadre: Cadre, photos: bool = False) -> Notebook:
    """The notebook of a cadre's current households in scope, visits oldest first,
    and with ``photos`` their photos' thumbnails."""
    rows = session.execute(
        linked_households(Household, Village.name)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(HouseholdLink.cadre_id == cadre.id, scope.villages())
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
    thumbnails = thumbnails_of_households(session, ids) if photos else {}
    return Notebook(cadre, cadre.unit, list(pages.values()), thumbnails)


# --- the inspection sheet -------------------------------------------------------------


@dataclass(frozen=True)
class OpenIssue:
    """An issue not yet solved, as the inspection sheet prints it."""

    raised_at: datetime
    category: IssueCategory
    description: str
    department: str
    overdue: bool


@dataclass(frozen=True)
class SheetHousehold:
    """One row of the inspection sheet (督查表): who serves the household, when they
    last came, and what the household is still waiting for."""

    code: str
    head_name: str
    address: str
    phones: list[str]
    grid: str
    cadre: str
    cadre_phone: str
    last_visit: datetime | None
    issues: list[OpenIssue]


@dataclass
class SheetVillage:
    town: str
    name: str
    households: list[SheetHousehold] = field(default_factory=list)
    # Issues of the whole village (a ditch, a road), unsolved.
    issues: list[OpenIssue] = field(default_factory=list)


def inspection_sheet(session: Session, now: datetime, *where: Any) -> list[SheetVillage]:
    """The live households matching ``where`` (on Household, Grid, Village), by
    town, village, grid (in counting order) and code, with their villages'
    unsolved whole-village issues."""
    rows = session.execute(
        household_rows(
            Household.id,
            Village.id,
            Town.name,
            Village.name,
            Grid.name,
            Household.code,
            Household.head_name,
            Household.address,
            Household.phones,
            Cadre.name,
            Cadre.phone,
            Household.last_visited_at,
        )
        .where(*where)
        .order_by(Town.name, Village.name, *name_order(Grid.name), Household.code)
    ).all()
    issues = _open_issues(session, now, [row[0] for row in rows], {row[1] for row in rows})
    villages: dict[uuid.UUID, SheetVillage] = {}
    for household_id, village_id, town, village, grid, code, head, address, phones, *rest in rows:
        if village_id not in villages:
            villages[village_id] = SheetVillage(town, village, issues=issues[village_id])
        cadre, cadre_phone, last_visit = rest
        villages[village_id].households.append(
            SheetHousehold(
                code,
                head,
                address,
                list(phones),
                grid,
                cadre or "",
                cadre_phone or "",
                last_visit,
                issues[household_id],
            )
        )
    return list(villages.values())


def _open_issues(
    session: Session, now: datetime, household_ids: list[uuid.UUID], village_ids: set[uuid.UUID]
) -> defaultdict[uuid.UUID, list[OpenIssue]]:
    """The unsolved issues of these households, and of these villages as a whole,
    oldest first, by household id or (a whole village's) village id. Each
    household has its own, linked as a duplicate or not: it is that
    household's answer the inspector asks after."""
    found: defaultdict[uuid.UUID, list[OpenIssue]] = defaultdict(list)
    whole_villages = and_(Issue.household_id.is_(None), Issue.village_id.in_(sorted(village_ids)))
    # Chunked: a town's thousands of ids would pass SQLite's parameter limit.
    chunks = [
        Issue.household_id.in_(household_ids[start : start + BATCH])
        for start in range(0, len(household_ids), BATCH)
    ]
    for owner in [whole_villages, *chunks]:
        unsolved = and_(Issue.deleted_at.is_(None), Issue.status.not_in(SOLVED_STATUSES), owner)
        passed = passed_on(IssueEvent.issue_id.in_(select(Issue.id).where(unsolved)))
        for owner_id, *fields in session.execute(
            select(
                func.coalesce(Issue.household_id, Issue.village_id),
                Issue.raised_at,
                Issue.category,
                Issue.description,
                Issue.department,
                case((overdue(passed, now), True), else_=False),
            )
            .outerjoin(passed, passed.c.issue_id == Issue.id)
            .where(unsolved)
            .order_by(Issue.raised_at, Issue.id)
        ):
            found[owner_id].append(OpenIssue(*fields))
    return found

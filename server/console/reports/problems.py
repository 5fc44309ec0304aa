"""The problems board: counts by status, category, village and department, the
problems waiting on departments and how long, and each problem's timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, select
from sqlalchemy.orm import Session, aliased

from server.accounts.models import Account, Device
from server.accounts.scope import Scope
from server.console.reports import Page, paginate
from server.issues.models import Issue, IssueEvent
from server.issues.services import WITH_DEPARTMENT, overdue, passed_on, waiting_since
from server.ledger.models import Cadre, Household, Town, Village
from shared.vocab import SOLVED_STATUSES, IssueCategory, IssueStatus


@dataclass(frozen=True)
class ProblemFilter:
    status: IssueStatus | None = None
    category: IssueCategory | None = None
    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    department: str | None = None
    # Still being worked on (not solved), or only the overdue ones.
    unsolved: bool = False
    overdue: bool = False

    def conditions(self, passed: Any, now: datetime) -> list[ColumnElement[bool]]:
        conditions = []
        if self.status is not None:
            conditions.append(Issue.status == self.status)
        if self.category is not None:
            conditions.append(Issue.category == self.category)
        if self.town_id is not None:
            conditions.append(Village.town_id == self.town_id)
        if self.village_id is not None:
            conditions.append(Issue.village_id == self.village_id)
        if self.department is not None:
            conditions += [Issue.department == self.department, Issue.status.in_(WITH_DEPARTMENT)]
        if self.unsolved:
            conditions.append(Issue.status.not_in(SOLVED_STATUSES))
        if self.overdue:
            conditions.append(overdue(passed, now))
        return conditions

    def as_args(self) -> dict[str, str]:
        args = {
            "status": self.status,
            "category": self.category,
            "town": self.town_id,
            "village": self.village_id,
            "department": self.department,
            "unsolved": "1" if self.unsolved else None,
            "overdue": "1" if self.overdue else None,
        }
        return {name: str(value) for name, value in args.items() if value is not None}


@dataclass
class Group:
    """Problems sharing a status, category, village or department, counted."""

    key: Any
    name: str = ""
    town: str = ""
    total: int = 0
    unsolved: int = 0
    overdue: int = 0
    # The longest a problem here has waited since (for departments).
    oldest: datetime | None = None

    def add(self, row: Any) -> None:
        self.total += row.total
        self.unsolved += row.unsolved
        self.overdue += row.overdue
        if row.oldest is not None and (self.oldest is None or row.oldest < self.oldest):
            self.oldest = row.oldest


@dataclass
class Board:
    total: int
    unsolved: int
    overdue: int
    by_status: list[Group]
    by_category: list[Group]
    by_village: list[Group]
    by_department: list[Group]


def _in_scope(query: Select[Any], scope: Scope) -> Select[Any]:
    return query.join(Village, Village.id == Issue.village_id).where(
        Issue.deleted_at.is_(None), scope.villages()
    )


def _passed_on(scope: Scope) -> Subquery:
    """When each problem in scope was passed on; only theirs, unless that is all."""
    if scope.whole_county:
        return passed_on()
    in_scope = select(Issue.id).where(Issue.village_id.in_(scope.village_ids_query()))
    return passed_on(IssueEvent.issue_id.in_(in_scope))


def _grouped(scope: Scope, now: datetime, passed: Subquery, *columns: Any) -> Select[Any]:
    """Problems in scope counted (all, unsolved, overdue), by ``columns``."""
    query = select(
        *columns,
        func.count().label("total"),
        func.count(case((Issue.status.not_in(SOLVED_STATUSES), 1))).label("unsolved"),
        func.count(case((overdue(passed, now), 1))).label("overdue"),
    ).select_from(Issue)
    return _in_scope(query, scope).outerjoin(passed, passed.c.issue_id == Issue.id)


def totals(session: Session, scope: Scope, now: datetime) -> Any:
    """All problems in scope: (total, unsolved, overdue)."""
    return session.execute(_grouped(scope, now, _passed_on(scope))).one()


def board(session: Session, scope: Scope, now: datetime) -> Board:
    """The board's every count from one GROUP BY, summed up here by each heading."""
    passed = _passed_on(scope)
    keys = (Issue.status, Issue.category, Issue.village_id, Issue.department)
    rows = session.execute(
        _grouped(
            scope, now, passed, *keys, func.min(waiting_since(passed)).label("oldest")
        ).group_by(*keys)
    ).all()
    places = {
        village_id: (name, town)
        for village_id, name, town in session.execute(
            select(Village.id, Village.name, Town.name)
            .join(Town, Town.id == Village.town_id)
            .where(Village.id.in_({row.village_id for row in rows}))
        )
    }
    everything = Group(None)
    statuses = {status: Group(status) for status in IssueStatus}
    categories = {category: Group(category) for category in IssueCategory}
    villages: dict[Any, Group] = {}
    departments: dict[str, Group] = {}
    for row in rows:
        everything.add(row)
        statuses[row.status].add(row)
        categories[row.category].add(row)
        if row.village_id not in villages:
            name, town = places[row.village_id]
            villages[row.village_id] = Group(row.village_id, name, town)
        villages[row.village_id].add(row)
        if row.status in WITH_DEPARTMENT:
            departments.setdefault(row.department, Group(row.department)).add(row)
    return Board(
        total=everything.total,
        unsolved=everything.unsolved,
        overdue=everything.overdue,
        by_status=[group for group in statuses.values() if group.total],
        by_category=[group for group in categories.values() if group.total],
        by_village=sorted(villages.values(), key=lambda g: (-g.unsolved, g.town, g.name)),
        by_department=sorted(departments.values(), key=lambda g: (g.oldest, g.key)),
    )


def problems(
    session: Session, scope: Scope, now: datetime, where: ProblemFilter, page: int
) -> Page[Any]:
    """The problems behind a board number, the longest waiting first."""
    passed = _passed_on(scope)
    since = waiting_since(passed).label("since")
    query = (
        _in_scope(
            select(
                Issue.id,
                Issue.raised_at,
                Issue.category,
                Issue.description,
                Issue.status,
                Issue.department,
                Village.name.label("village"),
                Household.code,
                Household.head_name,
                Cadre.name.label("cadre"),
                since,
            ).select_from(Issue),
            scope,
        )
        .outerjoin(passed, passed.c.issue_id == Issue.id)
        .outerjoin(Household, Household.id == Issue.household_id)
        .join(Cadre, Cadre.id == Issue.raised_by_cadre_id)
        .where(*where.conditions(passed, now))
        .order_by(since, Issue.id)
    )
    return paginate(session, query, page)


def timeline(session: Session, issue: Issue) -> list[Any]:
    """A problem's every step in order: who (cadre or admin), from which device, what."""
    device_owner = aliased(Account)
    return list(
        session.execute(
            select(
                IssueEvent.at,
                IssueEvent.kind,
                IssueEvent.status,
                IssueEvent.base_status,
                IssueEvent.department,
                IssueEvent.note,
                Cadre.name.label("cadre"),
                Account.display_name.label("account"),
                Device.name.label("device"),
                device_owner.display_name.label("device_owner"),
            )
            .outerjoin(Cadre, Cadre.id == IssueEvent.cadre_id)
            .outerjoin(Account, Account.id == IssueEvent.account_id)
            .outerjoin(Device, Device.id == IssueEvent.device_id)
            .outerjoin(device_owner, device_owner.id == Device.account_id)
            .where(IssueEvent.issue_id == issue.id)
            .order_by(IssueEvent.at, IssueEvent.recorded_at)
        ).all()
    )


def waiting(session: Session, issue: Issue) -> datetime:
    """Since when this problem has waited (see ``server.issues.services.waiting_since``)."""
    passed = passed_on(IssueEvent.issue_id == issue.id)
    since: datetime = session.execute(
        select(waiting_since(passed))
        .select_from(Issue)
        .outerjoin(passed, passed.c.issue_id == Issue.id)
        .where(Issue.id == issue.id)
    ).scalar_one()
    return since

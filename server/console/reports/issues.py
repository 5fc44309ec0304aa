"""The issues board: counts by status, category, village and department, the
issues waiting on departments and how long, and each issue's timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from server.accounts.scope import Scope
from server.audit.queries import with_actor
from server.console.reports import CHINA, Page, paginate
from server.issues.models import Issue, IssueEvent
from server.issues.services import WITH_DEPARTMENT, overdue, passed_on, waiting_since
from server.ledger.models import Cadre, Household, Town, Village
from shared.vocab import SOLVED_STATUSES, IssueCategory, IssueEventKind, IssueStatus


@dataclass(frozen=True)
class IssueFilter:
    """What an issue list is narrowed to: the board's links and the filter bar."""

    status: IssueStatus | None = None
    category: IssueCategory | None = None
    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    department: str | None = None
    # Still being worked on (not solved), or only the overdue ones.
    unsolved: bool = False
    overdue: bool = False
    # Only groups of linked duplicates (their main, as the list shows them).
    linked: bool = False
    # Words in the issue's text or in a note of its timeline.
    text: str = ""
    # Part of the raising cadre's name.
    cadre: str = ""
    # Raised on or after / on or before these days (China's).
    raised_from: date | None = None
    raised_to: date | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.as_args())

    def conditions(self, passed: Any, now: datetime) -> list[ColumnElement[bool]]:
        conditions = []
        if self.text:
            in_notes = select(IssueEvent.issue_id).where(
                IssueEvent.note.icontains(self.text, autoescape=True)
            )
            conditions.append(
                or_(Issue.description.icontains(self.text, autoescape=True), Issue.id.in_(in_notes))
            )
        if self.cadre:
            conditions.append(Cadre.name.contains(self.cadre, autoescape=True))
        if self.raised_from is not None:
            conditions.append(Issue.raised_at >= _china_midnight(self.raised_from))
        if self.raised_to is not None:
            conditions.append(Issue.raised_at < _china_midnight(self.raised_to + timedelta(days=1)))
        if self.status is not None:
            conditions.append(Issue.status == self.status)
        if self.category is not None:
            conditions.append(Issue.category == self.category)
        if self.town_id is not None:
            conditions.append(Village.town_id == self.town_id)
        if self.village_id is not None:
            conditions.append(Issue.village_id == self.village_id)
        if self.department is not None:
            conditions.append(Issue.department == self.department)
        if self.unsolved:
            conditions.append(Issue.status.not_in(SOLVED_STATUSES))
        if self.overdue:
            conditions.append(overdue(passed, now))
        if self.linked:
            conditions.append(Issue.id.in_(_mains()))
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
            "linked": "1" if self.linked else None,
            "q": self.text or None,
            "cadre": self.cadre or None,
            "from": self.raised_from,
            "to": self.raised_to,
        }
        return {name: str(value) for name, value in args.items() if value is not None}


def _mains() -> Select[tuple[uuid.UUID | None]]:
    """The ids of the issues live duplicates are linked under."""
    duplicate = aliased(Issue)
    return select(duplicate.duplicate_of_id).where(
        duplicate.duplicate_of_id.is_not(None), duplicate.deleted_at.is_(None)
    )


def heads(scope: Scope) -> ColumnElement[bool]:
    """A filter on ``Issue`` to the issues that stand for their group in ``scope``:
    those not linked under another, and duplicates whose main the account
    cannot see (another department's, or deleted since), lest they vanish."""
    seen_mains = _in_scope(select(Issue.id), scope).where(Issue.id.in_(_mains())).correlate(None)
    return or_(Issue.duplicate_of_id.is_(None), Issue.duplicate_of_id.not_in(seen_mains))


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), CHINA).astimezone(UTC)


@dataclass
class Group:
    """Issues sharing a status, category, village or department, counted."""

    key: Any
    name: str = ""
    town: str = ""
    total: int = 0
    unsolved: int = 0
    overdue: int = 0
    # The longest an issue here has waited since (for departments).
    oldest: datetime | None = None
    # Issues with an aid amount, and the amounts added up (yuan).
    aided: int = 0
    aid: Decimal = Decimal(0)

    def add(self, row: Any) -> None:
        self.total += row.total
        self.unsolved += row.unsolved
        self.overdue += row.overdue
        self.aided += row.aided
        self.aid += Decimal(row.aid or 0)
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
    by_town: list[Group]
    by_department: list[Group]
    # The aid of every issue in scope: the county's (or town's) one figure.
    aided: int
    aid: Decimal
    # Groups of linked duplicates, each counted once above, and the duplicates in them.
    groups: int
    duplicates: int


def _in_scope(query: Select[Any], scope: Scope) -> Select[Any]:
    return query.join(Village, Village.id == Issue.village_id).where(
        Issue.deleted_at.is_(None), scope.issues()
    )


def _passed_on(scope: Scope, *where: ColumnElement[bool]) -> Subquery:
    """When each issue in scope (and ``where``) was passed on; only theirs, unless that is all."""
    if scope.whole_county and not where:
        return passed_on()
    in_scope = _in_scope(select(Issue.id), scope).where(*where)
    return passed_on(IssueEvent.issue_id.in_(in_scope))


def _counted(scope: Scope, now: datetime) -> Any:
    """Each issue in scope with what the board counts it by and as.

    A group of linked duplicates (one ditch raised for three households) is
    one issue, counted by its main as the lists show it (``heads``): a duplicate adds
    nothing to the counts, nor to a status or department, only its aid
    (given to its own household) to its village and category. Only an issue
    with a department can be overdue or wait on one, so only theirs (a few
    of the whole) are looked up in the timeline.
    """
    main = heads(scope)
    with_department = and_(main, Issue.status.in_(WITH_DEPARTMENT))
    passed = _passed_on(scope, with_department)
    query = select(
        case((main, 1)).label("main"),
        case((main, Issue.status)).label("status"),
        Issue.category,
        Issue.village_id,
        case((with_department, Issue.department)).label("department"),
        case((and_(main, Issue.status.not_in(SOLVED_STATUSES)), 1)).label("unsolved"),
        case((and_(main, overdue(passed, now)), 1)).label("overdue"),
        case((with_department, waiting_since(passed))).label("since"),
        Issue.aid_amount.label("aid"),
    ).select_from(Issue)
    return _in_scope(query, scope).outerjoin(passed, passed.c.issue_id == Issue.id).cte("counted")


def totals(session: Session, scope: Scope, now: datetime) -> Any:
    """All issues in scope, a group of duplicates as one: (total, unsolved, overdue)."""
    counted = _counted(scope, now)
    return session.execute(
        select(
            func.count(counted.c.main).label("total"),
            func.count(counted.c.unsolved).label("unsolved"),
            func.count(counted.c.overdue).label("overdue"),
        )
    ).one()


# The board's headings, and how each one's key is read back from text.
HEADINGS: dict[str, Any] = {
    "status": IssueStatus,
    "category": IssueCategory,
    "village_id": uuid.UUID,
    "department": str,
}


def board(session: Session, scope: Scope, now: datetime) -> Board:
    """The board's every count: the issues grouped by each heading in turn, in one query."""
    counted = _counted(scope, now)
    rows = session.execute(
        union_all(
            *(
                select(
                    literal(heading).label("heading"),
                    cast(counted.c[heading], String).label("key"),
                    func.count(counted.c.main).label("total"),
                    func.count(counted.c.unsolved).label("unsolved"),
                    func.count(counted.c.overdue).label("overdue"),
                    func.min(counted.c.since).label("oldest"),
                    func.count(counted.c.aid).label("aided"),
                    func.sum(counted.c.aid).label("aid"),
                )
                .where(counted.c[heading].is_not(None))
                .group_by(counted.c[heading])
                for heading in HEADINGS
            )
        )
    ).all()
    groups: dict[str, list[Group]] = {heading: [] for heading in HEADINGS}
    for row in rows:
        group = Group(HEADINGS[row.heading](row.key))
        group.add(row)
        groups[row.heading].append(group)
    villages = {group.key: group for group in groups["village_id"]}
    for village_id, name, town in session.execute(
        select(Village.id, Village.name, Town.name)
        .join(Town, Town.id == Village.town_id)
        .where(Village.id.in_(list(villages)))
    ):
        villages[village_id].name, villages[village_id].town = name, town
    towns: dict[str, Group] = {}
    for group in villages.values():
        towns.setdefault(group.town, Group(group.town, group.town)).add(group)
    # By village, where every issue is, duplicates' aid too.
    everything = Group(None)
    for group in villages.values():
        everything.add(group)
    statuses, categories = list(IssueStatus), list(IssueCategory)
    grouped, duplicates = session.execute(
        _in_scope(
            select(func.count(distinct(Issue.duplicate_of_id)), func.count()).select_from(Issue),
            scope,
        ).where(~heads(scope))
    ).one()
    return Board(
        groups=grouped,
        duplicates=duplicates,
        total=everything.total,
        unsolved=everything.unsolved,
        overdue=everything.overdue,
        aided=everything.aided,
        aid=everything.aid,
        by_status=sorted(groups["status"], key=lambda g: statuses.index(g.key)),
        by_category=sorted(groups["category"], key=lambda g: categories.index(g.key)),
        by_village=sorted(villages.values(), key=lambda g: (-g.unsolved, g.town, g.name)),
        by_town=sorted(towns.values(), key=lambda g: g.name),
        by_department=sorted(groups["department"], key=lambda g: (g.oldest, g.key)),
    )


@dataclass
class DepartmentFigures:
    """How one department handled the issues passed to it (效能办's table)."""

    name: str
    passed: int = 0
    solved: int = 0
    overdue: int = 0
    # Days from the (latest) passing to the issue's solving, of the solved ones.
    days: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return median(self.days) if self.days else None


def department_table(
    session: Session, scope: Scope, now: datetime, listed: list[str]
) -> list[DepartmentFigures]:
    """Per department (every ``listed`` one, and any other name issues in scope
    were passed to): passed, solved, median days to solve, overdue; a group of
    linked duplicates counts once."""
    passed = _passed_on(scope, Issue.department != "")
    solved_at = (
        select(func.min(IssueEvent.at))
        .where(
            IssueEvent.issue_id == Issue.id,
            IssueEvent.kind == IssueEventKind.STATUS,
            IssueEvent.status.in_(SOLVED_STATUSES),
            IssueEvent.at >= passed.c.since,
        )
        .correlate(Issue, passed)
        .scalar_subquery()
    )
    rows = session.execute(
        _in_scope(
            select(
                Issue.department,
                Issue.status,
                passed.c.since,
                solved_at.label("solved_at"),
                case((overdue(passed, now), 1), else_=0).label("overdue"),
            ).select_from(Issue),
            scope,
        )
        .join(passed, passed.c.issue_id == Issue.id)
        # A group of linked duplicates is one issue, its main's, as on the board.
        .where(Issue.department != "", heads(scope))
    ).all()
    table = {name: DepartmentFigures(name) for name in listed}
    for row in rows:
        figures = table.setdefault(row.department, DepartmentFigures(row.department))
        figures.passed += 1
        figures.overdue += row.overdue
        if row.status in SOLVED_STATUSES:
            figures.solved += 1
            if row.solved_at is not None:
                figures.days.append((row.solved_at - row.since).total_seconds() / 86400)
    return sorted(table.values(), key=lambda figures: (-figures.overdue, figures.name))


def listing(
    session: Session, scope: Scope, now: datetime, where: IssueFilter, page: int
) -> Page[Any]:
    """The issues behind a board number, the longest waiting first. Issues
    linked under another as duplicates are shown in its row (``linked``)."""
    passed = _passed_on(scope)
    since = waiting_since(passed).label("since")
    duplicate = aliased(Issue)
    linked = (
        select(func.count())
        .where(duplicate.duplicate_of_id == Issue.id, duplicate.deleted_at.is_(None))
        .correlate(Issue)
        .scalar_subquery()
        .label("linked")
    )
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
                linked,
            ).select_from(Issue),
            scope,
        )
        .outerjoin(passed, passed.c.issue_id == Issue.id)
        .outerjoin(Household, Household.id == Issue.household_id)
        .join(Cadre, Cadre.id == Issue.raised_by_cadre_id)
        .where(heads(scope), *where.conditions(passed, now))
        .order_by(since, Issue.id)
    )
    return paginate(session, query, page)


def group_of(session: Session, issue: Issue) -> list[Any]:
    """The other issues of ``issue``'s group: its main and the main's duplicates."""
    main_id = issue.duplicate_of_id or issue.id
    return list(
        session.execute(
            select(
                Issue.id,
                Issue.description,
                Issue.status,
                Issue.duplicate_of_id,
                Village.name.label("village"),
                Household.head_name,
            )
            .join(Village, Village.id == Issue.village_id)
            .outerjoin(Household, Household.id == Issue.household_id)
            .where(
                or_(Issue.id == main_id, Issue.duplicate_of_id == main_id),
                Issue.id != issue.id,
                Issue.deleted_at.is_(None),
            )
            .order_by(Issue.raised_at)
        )
    )


def duplicate_candidates(
    session: Session, scope: Scope, issue: Issue, limit: int = 50
) -> list[Any]:
    """Issues ``issue`` might be linked under (its main among them): of the same
    village and category, in scope, the latest raised first."""
    main_id = issue.duplicate_of_id or issue.id
    return list(
        session.execute(
            _in_scope(
                select(Issue.id, Issue.description, Issue.raised_at, Household.head_name)
                .select_from(Issue)
                .outerjoin(Household, Household.id == Issue.household_id),
                scope,
            )
            .where(
                Issue.village_id == issue.village_id,
                Issue.category == issue.category,
                Issue.id != issue.id,
                or_(Issue.duplicate_of_id.is_(None), Issue.duplicate_of_id != main_id),
            )
            .order_by(Issue.raised_at.desc())
            .limit(limit)
        )
    )


def in_scope_count(session: Session, scope: Scope) -> int:
    """How many issues the account sees in all, a group of duplicates as one:
    the M of "showing N of M"."""
    query = select(func.count()).select_from(Issue).where(heads(scope))
    return session.scalar(_in_scope(query, scope)) or 0


def departments(session: Session, scope: Scope) -> list[str]:
    """The departments issues in scope have been passed to, for the filter's list."""
    return list(
        session.scalars(
            _in_scope(select(Issue.department).distinct(), scope)
            .where(Issue.department != "")
            .order_by(Issue.department)
        )
    )


def villages(session: Session, scope: Scope) -> list[Any]:
    """The villages in scope (id, town, name), for the filter's list."""
    return list(
        session.execute(
            select(Village.id, Town.name.label("town"), Village.name)
            .join(Town, Town.id == Village.town_id)
            .where(scope.villages())
            .order_by(Town.name, Village.name)
        )
    )


def timeline(session: Session, issue: Issue) -> list[Any]:
    """An issue's every step in order: who (cadre or admin), from which device, what."""
    return list(
        session.execute(
            with_actor(
                select(
                    IssueEvent.id,
                    IssueEvent.at,
                    IssueEvent.kind,
                    IssueEvent.status,
                    IssueEvent.base_status,
                    IssueEvent.department,
                    IssueEvent.note,
                    Cadre.name.label("cadre"),
                ).outerjoin(Cadre, Cadre.id == IssueEvent.cadre_id),
                IssueEvent.account_id,
                IssueEvent.device_id,
            )
            .where(IssueEvent.issue_id == issue.id)
            .order_by(IssueEvent.at, IssueEvent.recorded_at)
        ).all()
    )


def waiting(session: Session, issue: Issue) -> tuple[datetime, datetime | None]:
    """Since when this issue has waited (see ``server.issues.services.waiting_since``),
    and its department's deadline, if it has one."""
    passed = passed_on(IssueEvent.issue_id == issue.id)
    since, due = session.execute(
        select(waiting_since(passed), passed.c.due)
        .select_from(Issue)
        .outerjoin(passed, passed.c.issue_id == Issue.id)
        .where(Issue.id == issue.id)
    ).one()
    return since, due

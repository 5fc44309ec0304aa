"""Handling issues from the console: passing them to a department, following
them up, recording how they ended; and when an issue counts as overdue.

Each step is an ``IssueEvent`` written by the admin's account with a server
clock stamp. The status is then refolded from every status event, the fold
phones run too, and the new event's seq carries it to phones at their next sync.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Subquery, and_, func, or_, select
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.audit.services import Actor, record
from server.clock import console_stamp, from_ms
from server.issues import departments
from server.issues.models import Department, Issue, IssueEvent
from server.issues.status import refold_issue
from shared.schemas import MAX_NOTE_LENGTH
from shared.vocab import AccountRole, IssueEventKind, IssueStatus
from sync.merge import STATUS_RANK

# A passing with no deadline of its own (recorded before deadlines existed) is overdue after this.
OVERDUE_AFTER = timedelta(days=departments.DEFAULT_DEADLINE_DAYS)
WITH_DEPARTMENT = (IssueStatus.PASSED_TO_DEPARTMENT, IssueStatus.IN_PROGRESS)
# What an admin may move an issue to; "solved on the spot" is the cadre's word.
CONSOLE_STATUSES = (
    IssueStatus.OPEN,
    IssueStatus.PASSED_TO_DEPARTMENT,
    IssueStatus.IN_PROGRESS,
    IssueStatus.SOLVED,
    IssueStatus.HOUSEHOLD_INFORMED,
)
# A department reports its progress and its result; the cadre tells the household.
DEPARTMENT_STATUSES = (IssueStatus.IN_PROGRESS, IssueStatus.SOLVED)


def next_status(status: IssueStatus) -> IssueStatus | None:
    """The step after ``status`` an admin records, offered first; None once the
    household is informed. Never a step back: reopening is chosen deliberately."""
    later = [
        code
        for code in CONSOLE_STATUSES
        if STATUS_RANK[code.value] > STATUS_RANK[status.value]
        and code != IssueStatus.PASSED_TO_DEPARTMENT  # passing has its own form
    ]
    return later[0] if later else None


class IssueActionError(Exception):
    """A step the console refuses; the message is bilingual."""


def pass_to_department(
    session: Session,
    account: Account,
    issue: Issue,
    department_id: str,
    days: int | None,
    note: str,
    seen_status: str,
) -> IssueEvent:
    """Pass an issue to a department of the county's list (形成材料向有关部门反映),
    with a deadline: ``days``, or the county's for the issue's category."""
    county_id = issue.village.town.county_id
    try:
        department = session.get(Department, uuid.UUID(department_id))
    except ValueError:
        department = None
    if department is None or department.county_id != county_id:
        raise IssueActionError("请从列表中选择转交的部门 / choose the department from the list")
    if days is None:
        days = departments.deadlines(session, county_id)[issue.category]
    if not 1 <= days <= departments.MAX_DEADLINE_DAYS:
        raise IssueActionError(
            f"时限须为 1 至 {departments.MAX_DEADLINE_DAYS} 天"
            f" / the deadline must be 1 to {departments.MAX_DEADLINE_DAYS} days"
        )
    event = _status_event(
        session,
        account,
        issue,
        IssueStatus.PASSED_TO_DEPARTMENT,
        note,
        seen_status,
        department.name,
    )
    event.due_at = event.at + timedelta(days=days)
    return event


def statuses_for(account: Account) -> tuple[IssueStatus, ...]:
    """What an account may move an issue to from the console."""
    if account.role == AccountRole.DEPARTMENT:
        return DEPARTMENT_STATUSES
    return tuple(code for code in CONSOLE_STATUSES if code != IssueStatus.PASSED_TO_DEPARTMENT)


def record_status(
    session: Session, account: Account, issue: Issue, status: str, note: str, seen_status: str
) -> IssueEvent:
    """Record how an issue moved on: in progress, solved, the household told, or reopened."""
    if status == issue.status:
        raise IssueActionError(
            f"该问题已是“{issue.status.zh}” / the problem is already '{issue.status.en}'"
        )
    if status not in statuses_for(account):
        raise IssueActionError("请选择新的状态 / choose the problem's new status")
    return _status_event(session, account, issue, IssueStatus(status), note, seen_status, "")


def add_note(session: Session, account: Account, issue: Issue, note: str) -> IssueEvent:
    """A note in the issue's timeline (the UI's follow-up note); the status stays as it is."""
    note = _checked_note(issue, note)
    if not note:
        raise IssueActionError("跟进记录不能为空 / a follow-up note needs text")
    return _add_event(session, account, issue, IssueEventKind.NOTE, None, note, "")


def _status_event(
    session: Session,
    account: Account,
    issue: Issue,
    status: IssueStatus,
    note: str,
    seen_status: str,
    department: str,
) -> IssueEvent:
    note = _checked_note(issue, note)
    if seen_status != issue.status:
        # Someone (a phone's sync, another admin) moved it since the page was read.
        raise IssueActionError(
            f"该问题的状态刚被改为“{issue.status.zh}”，请查看后再操作"
            f" / the problem has just been moved to '{issue.status.en}': look again, then act"
        )
    event = _add_event(session, account, issue, IssueEventKind.STATUS, status, note, department)
    refold_issue(session, issue)
    return event


def _checked_note(issue: Issue, note: str) -> str:
    if issue.deleted_at is not None:
        raise IssueActionError("该问题已删除 / this problem has been deleted")
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise IssueActionError(
            f"记录不能超过 {MAX_NOTE_LENGTH} 个字 / notes must be at most {MAX_NOTE_LENGTH} characters"
        )
    return note


def _add_event(
    session: Session,
    account: Account,
    issue: Issue,
    kind: IssueEventKind,
    status: IssueStatus | None,
    note: str,
    department: str,
) -> IssueEvent:
    stamp = console_stamp(account.id)
    event = IssueEvent(
        id=uuid.uuid4(),
        issue_id=issue.id,
        at=from_ms(stamp.wall_ms),
        kind=kind,
        status=status,
        # The admin saw the current status: the fold lets the change stand,
        # even one that moves the issue backwards (a reopening).
        base_status=issue.status if status is not None else None,
        department=department,
        note=note,
        account_id=account.id,
        stamp=str(stamp),
    )
    session.add(event)
    record(
        session,
        Actor(account_id=account.id),
        "create",
        "issue_event",
        event.id,
        {"issue_id": issue.id, "kind": kind, "status": status, "department": department},
    )
    return event


# --- overdue ------------------------------------------------------------------


def passed_on(*where: ColumnElement[bool]) -> Subquery:
    """Per issue (those ``where`` allows), when it was last passed to a
    department, and its deadline (issue_id, since, due): of several passings,
    the latest deadline given."""
    return (
        select(
            IssueEvent.issue_id,
            func.max(IssueEvent.at).label("since"),
            func.max(IssueEvent.due_at).label("due"),
        )
        .where(
            IssueEvent.kind == IssueEventKind.STATUS,
            IssueEvent.status == IssueStatus.PASSED_TO_DEPARTMENT,
            *where,
        )
        .group_by(IssueEvent.issue_id)
        .subquery("passed_on")
    )


def waiting_since(passed: Subquery) -> ColumnElement[datetime]:
    """Since when an issue has waited: from its passing on, else from when it was raised."""
    return func.coalesce(passed.c.since, Issue.raised_at)


def overdue(passed: Subquery, now: datetime) -> ColumnElement[bool]:
    """Overdue: with a department (passed on or in progress) past its deadline. A
    passing without one (recorded before deadlines existed) has the default, counted from the
    passing, or from when the issue was raised if none is recorded."""
    return and_(
        Issue.status.in_(WITH_DEPARTMENT),
        or_(
            passed.c.due < now,
            and_(passed.c.due.is_(None), waiting_since(passed) < now - OVERDUE_AFTER),
        ),
    )


# --- duplicates ---------------------------------------------------------------------


def link_duplicate(session: Session, account: Account, issue: Issue, main: Issue) -> Issue:
    """Link ``issue`` under ``main`` as the same issue raised for another
    household; each keeps its own timeline. Linking to a duplicate links to its
    main, and the issues under ``issue`` move with it. The caller has checked
    that both are in the account's scope. Returns the main it is now under."""
    if main.duplicate_of_id is not None:
        main = session.get_one(Issue, main.duplicate_of_id)
    if main.id == issue.id:
        raise IssueActionError("不能与自己合并 / a problem cannot be linked to itself")
    if issue.deleted_at is not None or main.deleted_at is not None:
        raise IssueActionError("该问题已删除 / this problem has been deleted")
    if issue.duplicate_of_id == main.id:
        raise IssueActionError("已是同一问题 / these are already linked")
    under = list(session.scalars(select(Issue).where(Issue.duplicate_of_id == issue.id)))
    for linked in [issue, *under]:
        before = linked.duplicate_of_id
        linked.duplicate_of_id = main.id
        record(
            session,
            Actor(account_id=account.id),
            "update",
            "issue",
            linked.id,
            {"duplicate_of_id": [before, main.id]},
        )
    return main


def unlink_duplicate(session: Session, account: Account, issue: Issue) -> None:
    """Take ``issue`` out of the group it was linked into."""
    if issue.duplicate_of_id is None:
        raise IssueActionError("该问题没有合并到其他问题 / this problem is not linked to another")
    record(
        session,
        Actor(account_id=account.id),
        "update",
        "issue",
        issue.id,
        {"duplicate_of_id": [issue.duplicate_of_id, None]},
    )
    issue.duplicate_of_id = None

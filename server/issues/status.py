"""An issue's status: folded from its status events, the same fold phones run.

An issue's timeline holds two kinds of event (``IssueEventKind``): status
events, which move it on (to a department, in progress, solved, ...), and
notes, which leave its status as it is. Its status and department
are never set directly: they are recomputed from all its status events
(sync/merge.py ``fold_status``), so phones and the server agree whatever
order the events arrived in; an event the fold overrules stays in the
timeline without taking effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.issues import departments
from server.issues.models import Issue, IssueEvent
from shared.vocab import IssueCategory, IssueEventKind, IssueStatus
from sync.hlc import Stamp
from sync.merge import StatusEvent, fold_status

# What the fold sets on an issue; the rest of it never changes once raised.
FOLDED = ("status", "department")
# A status event as the fold needs it: id, stamp, status, base status, department, time.
STATUS_EVENT_COLUMNS = (
    IssueEvent.id,
    IssueEvent.stamp,
    IssueEvent.status,
    IssueEvent.base_status,
    IssueEvent.department,
    IssueEvent.at,
)
# The status events of the issues listed as ``issues``, with their issue's id.
STATUS_EVENTS = select(IssueEvent.issue_id, *STATUS_EVENT_COLUMNS).where(
    IssueEvent.issue_id.in_(bindparam("issues", expanding=True)),
    IssueEvent.kind == IssueEventKind.STATUS,
)


def refold_issue(
    session: Session, issue: Issue, events: Iterable[Sequence[Any]] | None = None
) -> tuple[str, ...]:
    """Recompute an issue's status from all its status events; the overruled ones.

    ``events`` are all of them (STATUS_EVENT_COLUMNS), when the caller has
    them; otherwise they are read from the database.
    """
    if events is None:
        session.flush()
        events = session.execute(
            select(*STATUS_EVENT_COLUMNS).where(
                IssueEvent.issue_id == issue.id, IssueEvent.kind == IssueEventKind.STATUS
            )
        ).all()
    state = fold_status(
        "open",
        "",
        (
            StatusEvent(
                id=str(event_id),
                stamp=Stamp.parse(stamp) if stamp else Stamp(int(at.timestamp() * 1000), 0, ""),
                status=status,
                base_status=base,
                department=department,
            )
            for event_id, stamp, status, base, department, at in events
        ),
    )
    if (issue.status, issue.department) != (state.status, state.department):
        issue.status = state.status  # type: ignore[assignment]
        issue.department = state.department
    return state.overruled


def raised_event(issue: dict[str, Any], cadre_id: uuid.UUID) -> dict[str, Any]:
    """A new issue's first status event: the status it was raised with.

    So the timeline and the status fold start from the same place on every
    replica. Its id follows from the issue's, so a replay makes the same one.
    """
    return {
        "id": uuid.uuid5(issue["id"], "raised"),
        "issue_id": issue["id"],
        "at": issue["raised_at"],
        "kind": IssueEventKind.STATUS,
        "status": issue["status"],
        "base_status": None,
        "department": issue.get("department", ""),
        "cadre_id": cadre_id,
    }


def passing_due_at(session: Session, issue: Issue, event: dict[str, Any]) -> datetime | None:
    """When an issue passed to a department by ``event`` is overdue (None: not a passing).

    A passing made on a phone has the county's deadline for the issue's
    category, as one made in the console does when no other is given.
    """
    if (
        event["kind"] != IssueEventKind.STATUS
        or event["status"] != IssueStatus.PASSED_TO_DEPARTMENT
    ):
        return None
    days = departments.deadline_days(session, issue.village_id, IssueCategory(issue.category))
    at: datetime = event["at"]
    return at + timedelta(days=days)

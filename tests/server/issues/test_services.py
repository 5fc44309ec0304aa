"""Handling issues from the console: each step a timeline event that phones receive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.clock import utcnow
from server.issues import services
from server.issues.models import Issue, IssueEvent
from shared.vocab import IssueEventKind, IssueStatus
from tests.server.console.conftest import County


def events(session: Session, issue: Issue) -> list[IssueEvent]:
    return list(
        session.scalars(
            select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.at)
        )
    )


def test_passing_an_issue_on_adds_a_status_event_by_the_admin_that_phones_will_pull(
    session: Session, county: County
) -> None:
    admin = county.accounts["town_admin"]
    issue = county.issue
    issue.status, issue.department = IssueStatus.OPEN, ""
    session.flush()
    seq_before = issue.seq
    department = county.departments["县民政局"]
    event = services.pass_to_department(
        session, admin, issue, str(department.id), None, "已形成材料", IssueStatus.OPEN
    )
    session.flush()
    assert (event.kind, event.status, event.base_status) == (
        IssueEventKind.STATUS,
        IssueStatus.PASSED_TO_DEPARTMENT,
        IssueStatus.OPEN,
    )
    assert (event.account_id, event.cadre_id, event.department) == (admin.id, None, "县民政局")
    assert event.stamp and event.stamp.endswith(f"@server:{admin.id}")
    assert (issue.status, issue.department) == (IssueStatus.PASSED_TO_DEPARTMENT, "县民政局")
    # A new seq on the event (and the issue) is what a phone's next pull picks up.
    assert event.seq > 0 and issue.seq > seq_before
    assert (
        session.scalar(
            select(func.count()).where(
                AuditEntry.entity == "issue_event", AuditEntry.entity_id == event.id
            )
        )
        == 1
    )


def test_recording_the_outcome_solves_the_issue_and_a_note_leaves_the_status(
    session: Session, county: County
) -> None:
    admin = county.accounts["county_admin"]
    issue = county.issue
    services.record_status(
        session, admin, issue, IssueStatus.SOLVED, "贷款已到账", IssueStatus.PASSED_TO_DEPARTMENT
    )
    services.add_note(session, admin, issue, "已电话告知户主")
    session.flush()
    assert issue.status == IssueStatus.SOLVED
    assert issue.department == "县教育局", "the department it was with is kept"
    kinds = [(event.kind, event.status) for event in events(session, issue)]
    assert kinds[-2:] == [
        (IssueEventKind.STATUS, IssueStatus.SOLVED),
        (IssueEventKind.NOTE, None),
    ]


def test_an_admin_may_reopen_a_solved_issue_because_they_saw_it_solved(
    session: Session, county: County
) -> None:
    admin = county.accounts["county_admin"]
    issue = county.issue
    services.record_status(session, admin, issue, IssueStatus.SOLVED, "", issue.status)
    services.record_status(session, admin, issue, IssueStatus.OPEN, "户主说没解决", issue.status)
    assert issue.status == IssueStatus.OPEN


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (
            lambda s, a, i: services.pass_to_department(s, a, i, "  ", None, "", i.status),
            "choose the department from the list",
        ),
        (
            lambda s, a, i: services.record_status(s, a, i, IssueStatus.SOLVED, "", "open"),
            "has just been moved",
        ),
        (
            lambda s, a, i: services.record_status(s, a, i, "solved_on_spot", "", i.status),
            "choose the problem's new status",
        ),
        (
            lambda s, a, i: services.record_status(s, a, i, i.status, "", i.status),
            "already",
        ),
        (lambda s, a, i: services.add_note(s, a, i, "   "), "needs text"),
        (lambda s, a, i: services.add_note(s, a, i, "长" * 2001), "at most"),
    ],
)
def test_a_step_that_makes_no_sense_or_comes_from_a_stale_page_is_refused(
    session: Session, county: County, act: object, message: str
) -> None:
    issue = county.issue
    before = len(events(session, issue))
    with pytest.raises(services.IssueActionError, match=message):
        act(session, county.accounts["county_admin"], issue)  # type: ignore[operator]
    assert len(events(session, issue)) == before
    assert issue.status == IssueStatus.PASSED_TO_DEPARTMENT


def test_an_issue_is_overdue_after_thirty_days_with_a_department(
    session: Session, county: County
) -> None:
    now = utcnow()
    passed = services.passed_on()

    def overdue_ids() -> set[object]:
        return set(
            session.scalars(
                select(Issue.id)
                .outerjoin(passed, passed.c.issue_id == Issue.id)
                .where(services.overdue(passed, now))
            )
        )

    # Passed on 40 days ago.
    assert overdue_ids() == {county.issue.id}
    # Passed on again (to another department) today: it waits from today.
    services.pass_to_department(
        session,
        county.accounts["county_admin"],
        county.issue,
        str(county.departments["县人社局"].id),
        None,
        "",
        county.issue.status,
    )
    session.flush()
    assert overdue_ids() == set()
    # Solved issues are never overdue, however old.
    county.issue.raised_at = now - timedelta(days=400)
    services.record_status(
        session, county.accounts["county_admin"], county.issue, "solved", "", county.issue.status
    )
    session.flush()
    assert overdue_ids() == set()

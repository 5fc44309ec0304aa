"""Households assigned to inspectors: the one place an inspector's reach is decided.

An admin draws a random sample in the console and assigns it to an inspector
(效能办/作风办). The inspector's phone then holds exactly the households
assigned to them and not yet checked, and a spot check is accepted for a
household assigned to its inspector: still open, or closed lately, since a
phone offline for weeks still delivers what it recorded in good faith. A
check closes the assignment, so the household leaves the phone at its next
sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.scope import Scope
from server.audit.services import Actor, record
from server.clock import utcnow
from server.inspections.models import InspectionAssignment
from server.ledger.models import Grid, Household, Village
from shared.vocab import AccountRole

# How long after an assignment closed a check recorded offline is still accepted.
CLOSED_GRACE = timedelta(days=30)


class AssignError(Exception):
    """An assignment refused; the message says why, in both languages."""


def _open() -> ColumnElement[bool]:
    return and_(
        InspectionAssignment.checked_at.is_(None), InspectionAssignment.withdrawn_at.is_(None)
    )


def assigned_households(session: Session, inspector_id: uuid.UUID) -> set[uuid.UUID]:
    """The live households assigned to the inspector and not yet checked: their phone's."""
    return set(
        session.scalars(
            select(InspectionAssignment.household_id)
            .join(Household, Household.id == InspectionAssignment.household_id)
            .where(
                InspectionAssignment.inspector_id == inspector_id,
                _open(),
                Household.deleted_at.is_(None),
            )
        )
    )


def assignments_changed_at(session: Session, inspector_id: uuid.UUID) -> datetime | None:
    """When the inspector's list last changed: a household assigned, checked or withdrawn."""
    return session.scalar(
        select(
            func.max(
                func.coalesce(
                    InspectionAssignment.checked_at,
                    InspectionAssignment.withdrawn_at,
                    InspectionAssignment.assigned_at,
                )
            )
        ).where(InspectionAssignment.inspector_id == inspector_id)
    )


def may_inspect(
    session: Session, inspector_id: uuid.UUID, household_id: uuid.UUID, at: datetime
) -> bool:
    """Whether the household was assigned to the inspector when they checked it at ``at``."""
    since = at - CLOSED_GRACE
    return (
        session.scalar(
            select(InspectionAssignment.id)
            .where(
                InspectionAssignment.inspector_id == inspector_id,
                InspectionAssignment.household_id == household_id,
                or_(
                    _open(),
                    InspectionAssignment.checked_at >= since,
                    InspectionAssignment.withdrawn_at >= since,
                ),
            )
            .limit(1)
        )
        is not None
    )


def check_off(session: Session, inspector_id: uuid.UUID, household_id: uuid.UUID) -> None:
    """The inspector has checked the household: its open assignment is done."""
    session.execute(
        update(InspectionAssignment)
        .where(
            InspectionAssignment.inspector_id == inspector_id,
            InspectionAssignment.household_id == household_id,
            _open(),
        )
        .values(checked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def covers(inspector: Account, town_id: uuid.UUID) -> bool:
    """Whether the inspector's area (the county, or their one town) includes the town."""
    return inspector.town_id is None or inspector.town_id == town_id


def manages(manager: Account, inspector: Account) -> bool:
    """Whether ``manager`` may assign samples to ``inspector`` or withdraw them:
    an inspector only their own, an admin any inspector (within their area)."""
    return manager.role != AccountRole.INSPECTOR or manager.id == inspector.id


def inspectors_for(
    session: Session, manager: Account, town_ids: Iterable[uuid.UUID]
) -> list[Account]:
    """The active inspectors ``manager`` may send a sample of these towns to."""
    towns = set(town_ids)
    return [
        account
        for account in session.scalars(
            select(Account)
            .where(Account.role == AccountRole.INSPECTOR, Account.active.is_(True))
            .order_by(Account.display_name, Account.username)
        )
        if manages(manager, account) and all(covers(account, town_id) for town_id in towns)
    ]


def assign(
    session: Session,
    actor: Actor,
    inspector: Account,
    household_ids: Iterable[uuid.UUID],
    draw: int,
) -> int:
    """Assign the households to the inspector; how many were not assigned to them already."""
    if inspector.role != AccountRole.INSPECTOR or not inspector.active:
        raise AssignError("请选择一名在岗的督查员 / choose an active inspector")
    wanted = set(household_ids)
    places = session.execute(
        select(Household.id, Village.town_id)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .where(Household.id.in_(wanted), Household.deleted_at.is_(None))
    ).all()
    if not wanted or len(places) != len(wanted):
        raise AssignError("抽样名单已变化，请重新抽取 / the sample has changed: draw it again")
    if not all(covers(inspector, town_id) for _, town_id in places):
        raise AssignError(
            f"{inspector.display_name or inspector.username}只督查本镇农户"
            f" / {inspector.display_name or inspector.username} inspects only their own town"
        )
    already = set(
        session.scalars(
            select(InspectionAssignment.household_id).where(
                InspectionAssignment.inspector_id == inspector.id,
                InspectionAssignment.household_id.in_(wanted),
                _open(),
            )
        )
    )
    new = sorted(wanted - already)
    for household_id in new:
        assignment = InspectionAssignment(
            inspector_id=inspector.id,
            household_id=household_id,
            assigned_by_id=actor.account_id,
            draw=draw,
        )
        session.add(assignment)
        session.flush()
        record(
            session,
            actor,
            "assign",
            "inspection_assignment",
            assignment.id,
            {"inspector_id": inspector.id, "household_id": household_id, "draw": draw},
        )
    return len(new)


def withdraw(session: Session, actor: Actor, inspector: Account, scope: Scope) -> int:
    """Withdraw the inspector's open assignments of households in ``scope``; how many."""
    withdrawn = list(
        session.scalars(
            select(InspectionAssignment)
            .join(Household, Household.id == InspectionAssignment.household_id)
            .where(
                InspectionAssignment.inspector_id == inspector.id,
                _open(),
                scope.households(),
            )
        )
    )
    now = utcnow()
    for assignment in withdrawn:
        assignment.withdrawn_at = now
        record(session, actor, "withdraw", "inspection_assignment", assignment.id)
    return len(withdrawn)


def open_by_inspector(
    session: Session, manager: Account, scope: Scope
) -> list[tuple[Account, int]]:
    """Each inspector ``manager`` manages with households in ``scope`` still to
    check, and how many."""
    rows = session.execute(
        select(Account, func.count())
        .join(InspectionAssignment, InspectionAssignment.inspector_id == Account.id)
        .join(Household, Household.id == InspectionAssignment.household_id)
        .where(_open(), Household.deleted_at.is_(None), scope.households())
        .group_by(Account.id)
        .order_by(Account.display_name, Account.username)
    ).all()
    return [(account, count) for account, count in rows if manages(manager, account)]

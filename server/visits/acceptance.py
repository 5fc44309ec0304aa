"""When a cadre's visit is accepted: the cadre's own, to a household the
cadre covered when the visit was made, and correcting only the cadre's own
visit to that household.

Coverage is judged at the time the visit was made, with a grace period
after a reassignment: a phone may be offline for weeks after its cadre's
household was given to someone else, and what it recorded there meanwhile
is still accepted. Nothing recorded in good faith is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.ledger.models import Household, HouseholdLink
from server.rejected import Rejected
from server.visits.models import Visit

REASSIGNMENT_GRACE = timedelta(days=30)

R = TypeVar("R")


class Records(Protocol):
    """Where the rules look records up (a push's batch answers from what it prefetched)."""

    def find(self, model: type[R], record_id: uuid.UUID) -> R | None: ...

    def covers(self, cadre_id: uuid.UUID, household_id: uuid.UUID, at: datetime) -> bool: ...


def covered_at(
    session: Session, cadre_id: uuid.UUID, household_id: uuid.UUID, at: datetime
) -> bool:
    """Whether the cadre covered the household at ``at`` (or covers it now).

    A visit recorded while its cadre was still linked is accepted after the
    household has been reassigned, and so is one recorded within the grace
    period after, by a phone that could not yet know.
    """
    grace = REASSIGNMENT_GRACE
    return (
        session.scalar(
            select(HouseholdLink.id)
            .where(
                HouseholdLink.cadre_id == cadre_id,
                HouseholdLink.household_id == household_id,
                or_(HouseholdLink.ended_at.is_(None), HouseholdLink.ended_at >= at - grace),
            )
            .limit(1)
        )
        is not None
    )


def covered_by(link_ends: Iterable[datetime | None], at: datetime) -> bool:
    """``covered_at``, from when each of the cadre's links to the household
    ended (None: it has not)."""
    since = at - REASSIGNMENT_GRACE
    return any(end is None or end >= since for end in link_ends)


def accept_visit(records: Records, cadre_id: uuid.UUID, visit: dict[str, Any]) -> None:
    """Refuse (Rejected) a new visit of ``cadre_id`` the rules do not accept."""
    if records.find(Household, visit["household_id"]) is None:
        raise Rejected("没有该农户 / no such household", {"household_id": ["unknown"]})
    if not records.covers(cadre_id, visit["household_id"], visit["visited_at"]):
        raise Rejected(
            "走访时您不是该户的挂户干部 / you were not this household's cadre at the time of the visit"
        )
    amends = visit.get("amends_id")
    if amends is not None:
        original = records.find(Visit, amends)
        if (
            original is None
            or original.household_id != visit["household_id"]
            or original.cadre_id != cadre_id
        ):
            raise Rejected(
                "被更正的走访不存在 / the visit being corrected does not exist",
                {"amends_id": ["unknown"]},
            )

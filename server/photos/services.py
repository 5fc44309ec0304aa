"""The rules of photos: what a photo may belong to, and how many."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from server.db import Base
from server.issues.models import Issue, IssueEvent
from server.photos.models import Photo
from server.rejected import Rejected
from server.visits.models import Visit
from shared.protocol import MAX_PHOTOS_PER_RECORD

# The table of each kind of record a photo may belong to.
PARENTS: dict[str, type[Base]] = {"visit": Visit, "issue": Issue, "issue_event": IssueEvent}

LIVE_PHOTOS_OF = select(func.count()).where(
    Photo.record_kind == bindparam("kind"),
    Photo.record_id == bindparam("record_id"),
    Photo.deleted_at.is_(None),
)


def parent_issue(parent: Any, kind: str, find: Any) -> Any:
    """The issue a photo's parent is or belongs to (None for a visit)."""
    if kind == "issue":
        return parent
    if kind == "issue_event":
        return find(Issue, parent.issue_id)
    return None


def belongs_to_household(
    kind: str, parent: Any, household_id: uuid.UUID, village_id: uuid.UUID, find: Any
) -> bool:
    """Whether ``parent`` (a visit, issue or follow-up; a row or a record
    being pushed) is the household's: its own, or its village's issue."""
    if parent is None:
        return False
    if kind == "visit":
        return bool(parent.household_id == household_id)
    issue = parent_issue(parent, kind, find)
    if issue is None:
        return False
    if issue.household_id is not None:
        return bool(issue.household_id == household_id)
    return bool(issue.village_id == village_id)


def check_room(session: Session, kind: str, record_id: uuid.UUID, in_batch: int) -> None:
    """Refuse a photo beyond MAX_PHOTOS_PER_RECORD live ones of its record."""
    stored = session.scalar(LIVE_PHOTOS_OF, {"kind": kind, "record_id": record_id}) or 0
    if stored + in_batch >= MAX_PHOTOS_PER_RECORD:
        raise Rejected(
            f"每条记录最多 {MAX_PHOTOS_PER_RECORD} 张照片 / at most"
            f" {MAX_PHOTOS_PER_RECORD} photos per record",
            {"record_id": ["too many photos"]},
        )

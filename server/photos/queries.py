"""Reading photos back: those of a page's records, their bytes, and a village's for a zip.

A photo whose bytes have not arrived yet (the phone sends them after the
record) is listed as waiting, so a page says so rather than showing a
broken image.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from server.issues.models import Issue, IssueEvent
from server.ledger.models import Cadre, Grid, Household
from server.photos.models import Photo, PhotoBlob
from server.visits.models import Visit
from shared.protocol import THUMBNAIL_LONG_EDGE

# What each kind of record is called, 中文 / English, and a photo of it.
KIND_LABELS = {
    "visit": ("走访", "visit"),
    "issue": ("问题", "problem"),
    "issue_event": ("跟进", "follow-up"),
}
PHOTO_LABELS = {kind: (f"{zh}照片", f"{en} photo") for kind, (zh, en) in KIND_LABELS.items()}


# The record a photo belongs to, for its day (aliases: a query may also name
# the tables themselves, as photos_of_issue's follow-ups).
_visit, _issue, _event = aliased(Visit), aliased(Issue), aliased(IssueEvent)
# The day of the record a photo belongs to, rather than of its upload.
TAKEN_ON = func.coalesce(_visit.visited_at, _issue.raised_at, _event.at, Photo.recorded_at)


def _with_records(query: Select[Any]) -> Select[Any]:
    """``query`` (on Photo) joined to the record of each photo, for TAKEN_ON."""
    return (
        query.select_from(Photo)
        .outerjoin(_visit, and_(Photo.record_kind == "visit", _visit.id == Photo.record_id))
        .outerjoin(_issue, and_(Photo.record_kind == "issue", _issue.id == Photo.record_id))
        .outerjoin(_event, and_(Photo.record_kind == "issue_event", _event.id == Photo.record_id))
    )


@dataclass(frozen=True)
class ShownPhoto:
    """A photo as a page lists it: enough to lay out its thumbnail and link the image."""

    id: uuid.UUID
    household_id: uuid.UUID
    record_kind: str
    record_id: uuid.UUID
    width: int
    height: int
    taken_on: datetime
    uploaded: bool

    @property
    def kind_label(self) -> tuple[str, str]:
        return PHOTO_LABELS[self.record_kind]

    @property
    def thumbnail_size(self) -> tuple[int, int]:
        """The thumbnail's width and height (shared.images.thumbnail: never enlarged)."""
        scale = min(1.0, THUMBNAIL_LONG_EDGE / max(self.width, self.height, 1))
        return max(round(self.width * scale), 1), max(round(self.height * scale), 1)


def _shown(*where: ColumnElement[bool]) -> Select[Any]:
    return (
        _with_records(
            select(
                Photo.id,
                Photo.household_id,
                Photo.record_kind,
                Photo.record_id,
                Photo.width,
                Photo.height,
                TAKEN_ON.label("taken_on"),
                PhotoBlob.sha256.is_not(None).label("uploaded"),
            )
        )
        .outerjoin(PhotoBlob, PhotoBlob.sha256 == Photo.sha256)
        .where(Photo.deleted_at.is_(None), *where)
        .order_by(TAKEN_ON, Photo.recorded_at, Photo.id)
    )


def _grouped(
    session: Session, key: str, *where: ColumnElement[bool]
) -> dict[Any, list[ShownPhoto]]:
    found: dict[Any, list[ShownPhoto]] = defaultdict(list)
    for row in session.execute(_shown(*where)):
        photo = ShownPhoto(**row._asdict())
        found[getattr(photo, key)].append(photo)
    return dict(found)


def photos_of(
    session: Session, kind: str, record_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ShownPhoto]]:
    """The live photos of some records of one kind, by record, oldest first."""
    if not record_ids:
        return {}
    return _grouped(
        session, "record_id", Photo.record_kind == kind, Photo.record_id.in_(record_ids)
    )


def photos_of_issue(session: Session, issue_id: uuid.UUID) -> dict[uuid.UUID, list[ShownPhoto]]:
    """The photos an issue was raised with and those of its follow-ups, by record."""
    return _grouped(
        session,
        "record_id",
        or_(
            and_(Photo.record_kind == "issue", Photo.record_id == issue_id),
            and_(
                Photo.record_kind == "issue_event",
                Photo.record_id.in_(select(IssueEvent.id).where(IssueEvent.issue_id == issue_id)),
            ),
        ),
    )


def photos_of_households(
    session: Session, household_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ShownPhoto]]:
    """Every live photo of some households (their visits, issues and follow-ups)."""
    if not household_ids:
        return {}
    return _grouped(session, "household_id", Photo.household_id.in_(household_ids))


def photo_etag(sha256: str, *, thumbnail: bool) -> str:
    """What names a photo's bytes (or its thumbnail) to caches, on the phones'
    API and the console alike: the bytes of a hash never change."""
    return f"{sha256}-thumbnail" if thumbnail else sha256


def photo_bytes(session: Session, sha256: str, *, thumbnail: bool) -> bytes | None:
    """A photo's image (or its thumbnail), once its upload is whole; else None."""
    column = PhotoBlob.thumbnail if thumbnail else PhotoBlob.data
    data: bytes | None = session.scalar(select(column).where(PhotoBlob.sha256 == sha256))
    return data


def thumbnails_of_households(
    session: Session, household_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[bytes]]:
    """The thumbnails of some households' uploaded photos, by the record they belong to."""
    found: dict[uuid.UUID, list[bytes]] = defaultdict(list)
    for record_id, thumbnail in session.execute(
        select(Photo.record_id, PhotoBlob.thumbnail)
        .join(PhotoBlob, PhotoBlob.sha256 == Photo.sha256)
        .where(Photo.household_id.in_(household_ids), Photo.deleted_at.is_(None))
        .order_by(Photo.recorded_at, Photo.id)
    ):
        found[record_id].append(thumbnail)
    return dict(found)


@dataclass(frozen=True)
class FiledPhoto:
    """A village's photo as the download files it, with its bytes."""

    head_name: str
    code: str
    record_kind: str
    taken_on: datetime
    cadre: str
    data: bytes


def village_photos_count(session: Session, village_id: uuid.UUID) -> int:
    """How many of a village's live photos have their bytes (what the zip will hold)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Photo)
            .join(PhotoBlob, PhotoBlob.sha256 == Photo.sha256)
            .join(Household, Household.id == Photo.household_id)
            .join(Grid, Grid.id == Household.grid_id)
            .where(Grid.village_id == village_id, Photo.deleted_at.is_(None))
        )
        or 0
    )


def village_photos(session: Session, village_id: uuid.UUID) -> Iterator[FiledPhoto]:
    """A village's live, uploaded photos by household and date of their record, a few
    at a time (their bytes are most of the download)."""
    rows = session.execute(
        _with_records(
            select(
                Household.head_name,
                Household.code,
                Photo.record_kind,
                TAKEN_ON.label("taken_on"),
                func.coalesce(Cadre.name, "").label("cadre"),
                PhotoBlob.data,
            )
        )
        .join(PhotoBlob, PhotoBlob.sha256 == Photo.sha256)
        .join(Household, Household.id == Photo.household_id)
        .join(Grid, Grid.id == Household.grid_id)
        .outerjoin(Cadre, Cadre.id == Photo.cadre_id)
        .where(Grid.village_id == village_id, Photo.deleted_at.is_(None))
        .order_by(Household.code, TAKEN_ON, Photo.id)
        .execution_options(yield_per=20)
    )
    for row in rows:
        yield FiledPhoto(**row._asdict())

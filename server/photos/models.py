"""Photos: a synced record per photo, and its bytes stored once per content.

A photo's record says which visit, issue or follow-up it belongs to and
names its bytes by their SHA-256; the bytes travel after it, in chunks
(``PhotoUploadChunk``) that become one ``PhotoBlob`` once whole and checked.
Bytes live in the database, so the county's backup and restore
(docs/backup.md) cover them with everything else.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from server.clock import utcnow
from server.db import Base
from server.sequence import InCounty
from shared.schemas import PHOTO_RECORD_KINDS

_KINDS = ", ".join(f"'{kind}'" for kind in PHOTO_RECORD_KINDS)


class Photo(InCounty, Base):
    """One photo of a visit, an issue or a follow-up, made on a phone.

    Append-only like the records it belongs to: a photo taken by mistake
    becomes a tombstone (``deleted_at``) by its author's phone.
    """

    __tablename__ = "photo"
    COUNTY_FROM = "household_id"
    __table_args__ = (
        Index("ix_photo_household_seq", "household_id", "seq"),
        Index("ix_photo_record", "record_kind", "record_id"),
        Index("ix_photo_sha256", "sha256"),
        CheckConstraint(f"record_kind IN ({_KINDS})", name="record_kind"),
    )

    # Made on the phone, so a photo has its identity before it is synced.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"))
    # The visit, issue or follow-up it belongs to (which table: record_kind).
    record_kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(40))
    # Who took it: the pushing account's cadre.
    cadre_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cadre.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    stamp: Mapped[str | None] = mapped_column(String(80))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    deleted_at: Mapped[datetime | None]


class PhotoBlob(Base):
    """A photo's bytes, whole and checked, stored once however many records name them."""

    __tablename__ = "photo_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    # Of the bytes as uploaded (what the records' sha256 and size describe);
    # ``data`` is those bytes with their metadata segments dropped.
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    thumbnail: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoUploadChunk(Base):
    """One chunk of an upload not yet whole, committed on its own: a
    connection cut mid-chunk leaves none of it, and the upload resumes at
    the sum of the chunks stored."""

    __tablename__ = "photo_upload_chunk"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

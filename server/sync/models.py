"""Sync bookkeeping: the database's epoch, pushed changes already applied, conflicts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow
from server.db import Base, new_id
from server.indexes import partial_index


class SyncEpoch(Base):
    """Which life of the ledger this database is: a new id whenever it is restored.

    A database restored from a backup has forgotten what phones pushed after
    the backup was taken. Every sync answer carries the epoch; a phone that
    sees it change sends again every change it made and pulls from the start
    (receipts make a change the server already has a no-op).
    """

    __tablename__ = "sync_epoch"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(36))
    began_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppliedChange(Base):
    """A pushed change already processed, with the result the phone was given.

    A phone that lost the response pushes the change again and receives the
    same result, marked as already applied: nothing is stored twice.
    """

    __tablename__ = "applied_change"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Conflict(Base):
    """Two concurrent writes to one household field: the loser, kept for review.

    An admin keeps the winner or overturns it; an overturn is a new edit
    that reaches every phone at its next sync.
    """

    __tablename__ = "conflict"
    __table_args__ = (
        # The same losing write is recorded once, however often it arrives.
        Index("uq_conflict_loser", "entity_id", "field", "loser_stamp", unique=True),
        partial_index("ix_conflict_open", "status", where="status = 'open'"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID]
    field: Mapped[str] = mapped_column(String(40))
    # "hard" (same field, different values: one lost) or "soft" (an update
    # made on an old version that touched other fields: both kept).
    kind: Mapped[str] = mapped_column(String(8))
    winner_value: Mapped[Any] = mapped_column(nullable=True)
    winner_stamp: Mapped[str] = mapped_column(String(80))
    loser_value: Mapped[Any] = mapped_column(nullable=True)
    loser_stamp: Mapped[str] = mapped_column(String(80))
    # Who wrote each side: a device (from a phone) or an account (console).
    winner_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    winner_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    loser_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    loser_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    # open → kept | overturned | replaced (by another value) for hard ones;
    # soft conflicts are "noted" at once.
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    resolved_at: Mapped[datetime | None]

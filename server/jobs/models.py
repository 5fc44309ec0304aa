"""A job: what to make, for whom, how far it got, and the file it made."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from server.clock import utcnow
from server.db import Base, enum_column, new_id


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        # The worker's claim: the oldest queued job; the reaper: running ones.
        Index("ix_job_queue", "status", "created_at"),
        # A second click finds the fresh file the first one made.
        Index("ix_job_reuse", "account_id", "kind", "target"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    # What the job is about: a town's or a village's id, "" for the whole county.
    target: Mapped[str] = mapped_column(String(64), default="")
    # Who asked: the only account that may see it and take its file.
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(default=0)
    # The worker running it (host:pid), for the log and for a person reading the table.
    worker: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # Written every few seconds while it runs: a job whose worker stopped
    # writing it is taken back (server/jobs/queue.py, ``reap``).
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Why it failed, "中文 / English", as the page shows it.
    error: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    # In the database, so any server machine can hand out what any worker made.
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

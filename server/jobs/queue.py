"""The job queue: a table in the ledger's own database.

A request asks for a file (``request``); a worker claims the oldest queued
job (``claim``), writes its progress and a heartbeat while it works
(``beat``) and leaves the file or the reason it failed (``finish``, ``fail``).
A job whose worker stopped beating (killed, its machine gone) is taken back
by any worker (``reap``): queued again, or failed after ``MAX_ATTEMPTS``. Each
function works in the caller's transaction; the worker commits.

Two workers never run one job: on PostgreSQL the claim locks the row it
picks with FOR UPDATE SKIP LOCKED (another worker picks the next one), and
on every backend the claim only moves a job that is still queued; SQLite
takes its write lock at BEGIN (``begin_write``), one writer at a time anyway.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from server.clock import utcnow
from server.jobs.models import Job, JobStatus

# A second click within this takes the file the first one made; the ledger
# may have changed since, so not for longer.
FRESH = timedelta(minutes=10)
# Files (and failed jobs' reasons) are deleted a day after they were made.
KEEP = timedelta(hours=24)
# A job whose worker died this often is not tried again: it may be what kills it.
MAX_ATTEMPTS = 2

INTERRUPTED = (
    "准备文件的后台进程两次中途停止，已放弃；请稍后重新下载，如仍失败请联系管理员"
    " / the background worker preparing this file stopped twice before it was done:"
    " try again later, and if it fails again tell the administrator"
)


class JobFailed(Exception):
    """A reason a job cannot be done, "中文 / English", shown on its page."""


def request(session: Session, account_id: uuid.UUID, kind: str, target: str = "") -> Job:
    """The job making this file for this account: one queued, running or done
    within ``FRESH``, else a new one."""
    found = session.scalars(
        select(Job)
        .where(
            Job.account_id == account_id,
            Job.kind == kind,
            Job.target == target,
            or_(
                Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                and_(Job.status == JobStatus.DONE, Job.finished_at >= utcnow() - FRESH),
            ),
        )
        .order_by(Job.created_at.desc())
        .limit(1)
    ).first()
    if found is not None:
        return found
    job = Job(account_id=account_id, kind=kind, target=target)
    session.add(job)
    session.flush()
    return job


def waiting(session: Session) -> bool:
    """Whether a job is queued: a cheap read before a worker takes the write lock."""
    return session.scalar(select(Job.id).where(Job.status == JobStatus.QUEUED).limit(1)) is not None


def claim(session: Session, worker: str) -> Job | None:
    """Move the oldest queued job to running under ``worker``; None when there is none."""
    picked = session.scalar(
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED)
        .order_by(Job.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if picked is None:
        return None
    now = utcnow()
    moved = session.execute(
        update(Job)
        .where(Job.id == picked, Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Job, picked, populate_existing=True)


def _held(job_id: uuid.UUID, worker: str) -> object:
    return and_(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING)


def beat(session: Session, job_id: uuid.UUID, worker: str, progress: float) -> bool:
    """Record progress and that ``worker`` is alive; False if the job was taken from it."""
    moved = session.execute(
        update(Job)
        .where(_held(job_id, worker))  # type: ignore[arg-type]
        .values(progress=min(max(progress, 0.0), 1.0), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def finish(
    session: Session, job_id: uuid.UUID, worker: str, name: str, mimetype: str, data: bytes
) -> bool:
    """Keep the file; False (and nothing kept) if the job was taken from ``worker``."""
    moved = session.execute(
        update(Job)
        .where(_held(job_id, worker))  # type: ignore[arg-type]
        .values(
            status=JobStatus.DONE,
            progress=1.0,
            finished_at=utcnow(),
            file_name=name,
            mimetype=mimetype,
            data=data,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def fail(session: Session, job_id: uuid.UUID, worker: str, reason: str) -> bool:
    moved = session.execute(
        update(Job)
        .where(_held(job_id, worker))  # type: ignore[arg-type]
        .values(status=JobStatus.FAILED, finished_at=utcnow(), error=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def reap(session: Session, stale: timedelta) -> None:
    """Take back running jobs whose worker has not beaten for ``stale``."""
    now = utcnow()
    dead = and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < now - stale)
    session.execute(
        update(Job)
        .where(dead, Job.attempts < MAX_ATTEMPTS)
        .values(status=JobStatus.QUEUED, worker=None, progress=0.0)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Job)
        .where(dead)
        .values(status=JobStatus.FAILED, finished_at=now, error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )


def purge(session: Session) -> None:
    """Delete jobs, and their files, finished more than ``KEEP`` ago."""
    session.execute(
        delete(Job)
        .where(Job.finished_at < utcnow() - KEEP)
        .execution_options(synchronize_session=False)
    )

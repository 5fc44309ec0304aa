"""The worker: claims jobs one at a time, runs them, keeps their files.

While a job runs, a thread writes its progress and heartbeat every
``heartbeat`` seconds in a transaction of its own; the job itself reads
through a session that is never committed. Any worker takes back the
jobs of a worker that stopped beating for ``stale`` seconds (``queue.reap``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from server.db import transaction
from server.jobs import queue
from server.jobs.models import Job

logger = logging.getLogger("minqing.jobs")

FAILED = (
    "准备文件时服务器出错（任务 {job}），已记录；请重新下载，如仍失败请联系管理员"
    " / the server failed while preparing the file (job {job}); it has been logged:"
    " try again, and if it fails again tell the administrator"
)
UNKNOWN_KIND = (
    "这个版本的服务器不会准备这种文件，请重新下载 / this version of the server cannot"
    " prepare this kind of file: ask for it again"
)


@dataclass(frozen=True)
class Made:
    """A job's file."""

    name: str
    mimetype: str
    data: bytes


# A job's work: the session to read with, the job, and a callback taking the
# fraction done (0–1). It raises queue.JobFailed with a reason a person can act on.
Handler = Callable[[Session, Job, Callable[[float], None]], Made]


class _Beating:
    """The heartbeat thread of one running job."""

    def __init__(self, worker: Worker, job_id: uuid.UUID) -> None:
        self.worker = worker
        self.job_id = job_id
        self.progress = 0.0
        self.lost = False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat {job_id}", daemon=True)

    def __enter__(self) -> _Beating:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.done.wait(self.worker.heartbeat):
            with transaction(self.worker.factory) as session:
                alive = queue.beat(session, self.job_id, self.worker.name, self.progress)
            if not alive:
                self.lost = True
                return


class Worker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        handlers: Mapping[str, Handler],
        *,
        poll: float = 1.0,
        heartbeat: float = 2.0,
        stale: float = 60.0,
    ) -> None:
        self.factory = factory
        self.handlers = handlers
        self.poll = poll
        self.heartbeat = heartbeat
        self.stale = timedelta(seconds=stale)
        # Unique per worker, also for several in one process.
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tidied: datetime | None = None

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set (it is checked between jobs)."""
        _log("worker started", worker=self.name)
        while not stop.is_set():
            if not self.run_one():
                stop.wait(self.poll)
        _log("worker stopped", worker=self.name)

    def run_one(self) -> bool:
        """Run the next queued job, if there is one; whether there was."""
        self._tidy()
        with self.factory() as session:
            if not queue.waiting(session):
                return False
        with transaction(self.factory) as session:
            job = queue.claim(session, self.name)
            if job is None:
                return False
            session.expunge(job)
        self._run(job)
        return True

    def _tidy(self) -> None:
        """Take back dead workers' jobs and delete old files, every ``stale / 2``."""
        now = datetime.now(UTC)
        if self._tidied is not None and now - self._tidied < self.stale / 2:
            return
        self._tidied = now
        with transaction(self.factory) as session:
            queue.reap(session, self.stale)
            queue.purge(session)

    def _run(self, job: Job) -> None:
        _log("job started", job=str(job.id), kind=job.kind, worker=self.name)
        handler = self.handlers.get(job.kind)
        made: Made | None = None
        reason: str | None = None
        with _Beating(self, job.id) as beating:
            if handler is None:
                reason = UNKNOWN_KIND
            else:
                try:
                    with self.factory() as session:
                        made = handler(session, job, _setter(beating))
                except queue.JobFailed as refused:
                    reason = str(refused)
                except Exception as error:  # logged whole; the page says what to do
                    reason = FAILED.format(job=job.id)
                    _log(
                        "job failed",
                        level="error",
                        job=str(job.id),
                        error=repr(error),
                        traceback="".join(traceback.format_exception(error)),
                    )
        with transaction(self.factory) as session:
            if made is not None:
                kept = queue.finish(session, job.id, self.name, made.name, made.mimetype, made.data)
            else:
                kept = queue.fail(session, job.id, self.name, reason or FAILED.format(job=job.id))
        _log(
            "job done" if made is not None else "job refused",
            job=str(job.id),
            kind=job.kind,
            worker=self.name,
            # False: another worker took it back meanwhile and what was made here is dropped.
            kept=kept and not beating.lost,
        )


def _setter(beating: _Beating) -> Callable[[float], None]:
    def progress(fraction: float) -> None:
        beating.progress = fraction

    return progress


def _log(event: str, level: str = "info", **fields: object) -> None:
    """One JSON line on stdout, as the request log writes them."""
    line: dict[str, object] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "event": event,
        "pid": os.getpid(),
        **fields,
    }
    text = json.dumps(line, ensure_ascii=False, default=str)
    if level == "error":
        logger.error(text)
    else:
        logger.info(text)

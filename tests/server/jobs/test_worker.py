"""The job queue and its workers on a real database (SQLite and PostgreSQL),
committing for real: two workers never run one job, a job whose worker died
is taken back, a failed job says why, a fresh file is reused."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker, undefer

from server.accounts.models import Account
from server.clock import utcnow
from server.db import transaction
from server.jobs import queue
from server.jobs.models import Job, JobStatus
from server.jobs.worker import Made, Worker
from shared.vocab import AccountRole
from tests.server.sync.world import wipe


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def account_id(factory: sessionmaker[Session]) -> uuid.UUID:
    with transaction(factory) as session:
        account = Account(
            username="admin", password_hash="x", role=AccountRole.COUNTY_ADMIN, display_name="县"
        )
        session.add(account)
        session.flush()
        return account.id


def _ask(
    factory: sessionmaker[Session], account_id: uuid.UUID, kind: str, target: str
) -> uuid.UUID:
    with transaction(factory) as session:
        return queue.request(session, account_id, kind, target).id


def _job(factory: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with factory() as session:
        job = session.get(Job, job_id, options=[undefer(Job.data)])
        assert job is not None
        return job


def _made(text: str) -> Made:
    return Made("file.txt", "text/plain", text.encode())


def test_two_workers_never_run_the_same_job(
    factory: sessionmaker[Session], account_id: uuid.UUID
) -> None:
    asked = [_ask(factory, account_id, "echo", str(number)) for number in range(12)]
    runs: list[str] = []
    lock = threading.Lock()

    def echo(session: Session, job: Job, progress: Callable[[float], None]) -> Made:
        with lock:
            runs.append(job.target)
        progress(0.5)
        return _made(job.target)

    workers = [Worker(factory, {"echo": echo}, heartbeat=0.05) for _ in range(2)]
    start = threading.Barrier(2)

    def drain(worker: Worker) -> None:
        start.wait()
        while worker.run_one():
            pass

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(runs, key=int) == [str(number) for number in range(12)], "each ran once"
    with factory() as session:
        done = session.scalars(
            select(Job).where(Job.id.in_(asked)).options(undefer(Job.data))
        ).all()
        assert {job.status for job in done} == {JobStatus.DONE}
        assert {job.attempts for job in done} == {1}
        assert all(job.data == job.target.encode() for job in done)
        assert {job.worker for job in done} <= {worker.name for worker in workers}


def test_a_job_whose_worker_died_mid_way_is_taken_back_and_finished_by_another(
    factory: sessionmaker[Session], account_id: uuid.UUID
) -> None:
    job_id = _ask(factory, account_id, "echo", "cards")
    # What a worker killed mid-job leaves behind: a running job nobody beats for.
    with transaction(factory) as session:
        claimed = queue.claim(session, "dead-host:1:gone")
        assert claimed is not None and claimed.id == job_id
    with transaction(factory) as session:
        assert queue.claim(session, "another") is None, "a running job is nobody else's"
    worker = Worker(factory, {"echo": lambda s, job, p: _made("again")}, stale=0.2)
    with transaction(factory) as session:
        session.execute(
            update(Job).values(heartbeat_at=utcnow() - timedelta(seconds=1))
        )  # the dead worker's last beat, a second ago
    assert worker.run_one()
    job = _job(factory, job_id)
    assert (job.status, job.attempts, job.worker) == (JobStatus.DONE, 2, worker.name)
    # The dead worker, were it to come back, cannot overwrite or fail the job.
    with transaction(factory) as session:
        assert not queue.finish(session, job_id, "dead-host:1:gone", "x", "text/plain", b"old")
        assert not queue.fail(session, job_id, "dead-host:1:gone", "old")
    assert _job(factory, job_id).data == b"again"


def test_a_job_interrupted_twice_fails_saying_why_rather_than_running_forever(
    factory: sessionmaker[Session], account_id: uuid.UUID
) -> None:
    job_id = _ask(factory, account_id, "echo", "county")
    for attempt in range(queue.MAX_ATTEMPTS):
        with transaction(factory) as session:
            assert queue.claim(session, f"killed:{attempt}") is not None
            session.execute(update(Job).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
        with transaction(factory) as session:
            queue.reap(session, timedelta(minutes=1))
    job = _job(factory, job_id)
    assert job.status is JobStatus.FAILED and job.error == queue.INTERRUPTED
    assert "两次中途停止" in job.error and "stopped twice" in job.error


def test_a_failing_job_says_why_and_an_unexpected_error_is_logged_with_the_job(
    factory: sessionmaker[Session], account_id: uuid.UUID, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = _ask(factory, account_id, "refuse", "")
    broken = _ask(factory, account_id, "break", "")

    def refuse(session: Session, job: Job, progress: Callable[[float], None]) -> Made:
        raise queue.JobFailed("该镇已不存在 / the town no longer exists")

    def break_(session: Session, job: Job, progress: Callable[[float], None]) -> Made:
        raise ZeroDivisionError("boom")

    worker = Worker(factory, {"refuse": refuse, "break": break_})
    logging.getLogger("minqing.jobs").addHandler(handler := logging.StreamHandler())
    try:
        assert worker.run_one() and worker.run_one() and not worker.run_one()
    finally:
        logging.getLogger("minqing.jobs").removeHandler(handler)
    assert _job(factory, refused).error == "该镇已不存在 / the town no longer exists"
    failed = _job(factory, broken)
    assert failed.status is JobStatus.FAILED and str(broken) in (failed.error or "")
    assert "服务器出错" in (failed.error or "") and "server failed" in (failed.error or "")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    logged = [line for line in lines if line["event"] == "job failed"]
    assert logged[0]["job"] == str(broken) and "ZeroDivisionError" in logged[0]["traceback"]


def test_a_second_click_takes_the_fresh_file_and_an_old_one_is_made_again(
    factory: sessionmaker[Session], account_id: uuid.UUID
) -> None:
    first = _ask(factory, account_id, "echo", "town")
    assert _ask(factory, account_id, "echo", "town") == first, "queued: the same job"
    Worker(factory, {"echo": lambda s, job, p: _made("v1")}).run_one()
    assert _ask(factory, account_id, "echo", "town") == first, "fresh: the same file"
    assert _ask(factory, account_id, "echo", "village") != first, "another target"
    with transaction(factory) as session:
        session.execute(
            update(Job)
            .where(Job.id == first)
            .values(finished_at=utcnow() - queue.FRESH - timedelta(seconds=1))
        )
    assert _ask(factory, account_id, "echo", "town") != first, "stale: made again"
    with transaction(factory) as session:
        session.execute(
            update(Job)
            .where(Job.id == first)
            .values(finished_at=utcnow() - queue.KEEP - timedelta(seconds=1))
        )
        queue.purge(session)
    with factory() as session:
        assert session.get(Job, first) is None, "kept a day, then deleted"

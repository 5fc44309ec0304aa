"""The admin console's server time (the issue "Admin console", point 11).

Pages are asked for in-process through Flask's test client, signed in as the
county admin, whose scope (the whole ledger) makes every page its largest:
the time is the server's alone, from request to finished response. Each page
is asked for once to warm up, then the median of ``REPEATS`` is reported.

The ledger is the demo county (``minqing demo --seed 2015 --as-of 2015-05-27``):
on SQLite generated into a temporary file, on PostgreSQL a copy of the
template database bench sync keeps (generated there once per scale),
vacuumed and analysed as autovacuum would have it on a server in use. The
coverage dashboard is also timed for the admin of the largest town, whose
scope is what a town's office works with every day.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask.testing import FlaskClient
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from bench.demo import AS_OF, PG_ADMIN_URL, SEED
from bench.report import machine, table
from bench.sync import scratch
from server import create_app
from server.accounts import sessions
from server.accounts.models import Account
from server.db import make_engine
from server.demo.generator import DONGSHAN, generate
from server.ledger.models import Grid, Household, Town, Village
from server.migrate import upgrade
from server.visits.models import Visit
from shared.vocab import AccountRole

REPEATS = 5
# The targets: a page at scale 1, a page at scale 30; a job's file
# ready well within what a person waits for with the page showing progress.
PAGE_TARGET_MS = {1: 300, 30: 2000}
JOB_TARGET_S = 60


@dataclass(frozen=True)
class Timing:
    backend: str
    scale: int
    what: str
    seconds: float
    target: float
    detail: str = ""

    def row(self) -> list[str]:
        verdict = "✓" if self.seconds <= self.target else "✗"
        return [
            self.backend,
            str(self.scale),
            f"{DONGSHAN.households * self.scale:,}",
            self.what,
            self.detail,
            _duration(self.seconds),
            f"{verdict} < {_duration(self.target)}",
        ]


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def run(backends: list[str], large_scale: int | None) -> str:
    """Scale 1 on every backend; ``large_scale`` (if any) on PostgreSQL; the section's markdown."""
    measured_on = machine(*([f"PostgreSQL {_pg_version()}"] if "postgresql" in backends else []))
    results: list[Timing] = []
    plan = [(backend, 1) for backend in backends]
    if large_scale and "postgresql" in backends:
        plan.append(("postgresql", large_scale))
    for backend, scale in plan:
        _progress(f"console: {backend}, scale {scale} …")
        with _database(backend, scale) as url:
            results += measure(url, backend, scale)
    header = ["backend", "scale", "households", "what", "which", "server time", "target"]
    return "\n".join(
        [
            "## Admin console: server time",
            "",
            "Each page asked for in-process (Flask's test client) by the county admin, whose"
            " scope is the whole ledger (at scale 30, thirty counties' worth), and the"
            " dashboard also by the largest town's admin; the median of"
            f" {REPEATS} after one warm-up. The ledger is `minqing demo --seed {SEED}"
            f" --as-of {AS_OF} --scale N`. The admin's whole ledger (.xlsx), and the largest"
            " town's contact cards and inspection sheet (PDF) are background jobs: the time"
            " from the button's"
            " request until the job's page says the file is ready (the page polled every"
            " 1 s), made by a fresh `minqing worker` whose peak memory (VmHWM) is given.",
            "",
            measured_on + ".",
            "",
            table(header, [result.row() for result in results]),
        ]
    )


@contextmanager
def _database(backend: str, scale: int) -> Iterator[str]:
    if backend == "postgresql":
        with scratch(scale, "console") as url:
            # A fresh copy has no statistics or visibility map yet; a server in
            # use has them from autovacuum, and plans by them.
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("VACUUM (ANALYZE)")
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="minqing-bench-console-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as session, session.begin():
            generate(session, seed=SEED, as_of=date.fromisoformat(AS_OF), scale=scale)
        engine.dispose()
        yield url


def _fullest(session: Session, area: type[Village] | type[Town]) -> Row[Any]:
    """The village or town with the most households (the first by id among
    equals): its id, name and number of households."""
    query = select(area.id, area.name, func.count(Household.id))
    if area is Town:
        query = query.join(Village, Village.town_id == Town.id)
    query = query.join(Grid, Grid.village_id == Village.id).join(
        Household, Household.grid_id == Grid.id
    )
    return session.execute(
        query.group_by(area.id, area.name)
        .order_by(func.count(Household.id).desc(), area.id)
        .limit(1)
    ).one()


def measure(url: str, backend: str, scale: int) -> list[Timing]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    engine = make_engine(url)
    with Session(engine) as session:
        admin = session.scalars(select(Account).where(Account.username == "admin")).one()
        village, village_name, households = _fullest(session, Village)
        household, code = session.execute(
            select(Household.id, Household.code)
            .join(Visit, Visit.household_id == Household.id)
            .group_by(Household.id, Household.code)
            .order_by(func.count(Visit.id).desc(), Household.id)
            .limit(1)
        ).one()
        town, town_name, town_households = _fullest(session, Town)
        town_admin = session.scalars(
            select(Account).where(Account.role == AccountRole.TOWN_ADMIN, Account.town_id == town)
        ).one()
        tokens = [
            sessions.start(session, account, timedelta(hours=1)) for account in (admin, town_admin)
        ]
        session.commit()
    engine.dispose()
    client = app.test_client()
    town_client = app.test_client()
    for signed, token in zip((client, town_client), tokens, strict=True):
        with signed.session_transaction() as signed_in:
            signed_in["token"] = token
    target = PAGE_TARGET_MS.get(scale, PAGE_TARGET_MS[30]) / 1000
    pages = [
        ("overview", "", "/"),
        ("coverage dashboard", "30/60/90 days", "/coverage"),
        (
            "village ledger",
            f"{village_name}, {households:,} households",
            f"/ledger/villages/{village}",
        ),
        ("household page", code, f"/ledger/households/{household}"),
        ("problems board", "", "/problems"),
        (
            "problem list, filtered",
            "words in text or notes, unsolved, a date range",
            "/problems/list?q=%E6%B0%B4&unsolved=1&from=2014-06-01&to=2015-05-26",
        ),
        ("per-department table", "", "/problems/departments"),
        ("search", "a village's name", "/ledger/search?q=%E5%89%8D%E6%A5%BC"),
    ]
    results = []
    for what, detail, path in pages:
        seconds = _median(client, path)
        _progress(f"  {what}: {seconds * 1000:.0f} ms")
        results.append(Timing(backend, scale, what, seconds, target, detail))
    seconds = _median(town_client, "/coverage")
    _progress(f"  coverage dashboard, town admin: {seconds * 1000:.0f} ms")
    results.append(
        Timing(
            backend,
            scale,
            "coverage dashboard",
            seconds,
            target,
            f"as {town_name}'s admin, {town_households:,} households",
        )
    )
    app.config["WTF_CSRF_ENABLED"] = False
    for what, path, detail in (
        (
            # The admin's scope: at scale 30, thirty counties' ledger in one file.
            "whole ledger .xlsx (job)",
            "/ledger/ledger.xlsx",
            f"{DONGSHAN.households * scale:,} households",
        ),
        (
            "contact cards PDF (job)",
            f"/ledger/towns/{town}/cards.pdf",
            f"{town_name}, {town_households:,} cards ({-(-town_households // 8):,} pages)",
        ),
        (
            "inspection sheet PDF (job)",
            f"/inspections/towns/{town}/sheet.pdf",
            f"{town_name}, {town_households:,} households",
        ),
    ):
        seconds, size, peak = _job(client, url, path)
        _progress(f"  {what}: {seconds:.1f} s, {size:.1f} MB, worker peak {peak:.0f} MB")
        results.append(
            Timing(
                backend,
                scale,
                what,
                seconds,
                JOB_TARGET_S,
                f"{detail}, {size:.1f} MB; worker peak {peak:.0f} MB",
            )
        )
    return results


def _job(client: FlaskClient, url: str, path: str) -> tuple[float, float, float]:
    """Ask for a file as the console's button does, with a fresh `minqing worker`
    waiting: seconds until it is ready, its size and the worker's peak memory (MB)."""
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "minqing"), "worker"],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        while "worker started" not in worker.stdout.readline():
            assert worker.poll() is None, "the worker stopped"
        started = time.perf_counter()
        asked = client.post(path)
        assert asked.status_code == 303, asked.status_code
        job_page = asked.headers["Location"]
        while "已准备好" not in client.get(job_page).get_data(as_text=True):
            time.sleep(1)
        seconds = time.perf_counter() - started
        status = Path(f"/proc/{worker.pid}/status").read_text()
        peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
        size = len(client.get(f"{job_page}/file").data) / 2**20
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return seconds, size, peak


def _median(client: FlaskClient, path: str) -> float:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        client.get(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _pg_version() -> str:
    with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)

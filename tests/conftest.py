"""Fixtures: every storage test runs on SQLite and on PostgreSQL, each test in a
transaction rolled back at the end (Warehouse's pattern)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from server import create_app
from server.db import db, make_engine
from server.migrate import upgrade
from tests.live import LiveServer
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County, wipe
from tests.system import require

PG_ADMIN_URL = os.environ.get("MINQING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# Databases this test process made, dropped when it ends. The process id in
# their names keeps two test runs on one server from dropping each other's.
_created: list[str] = []


def fresh_postgres_database(name: str) -> str:
    """Create an empty database named after ``name``; its URL.

    Fails the test in CI, and skips it elsewhere, if PostgreSQL is down.
    """
    name = f"{name}_{os.getpid()}"[:63]
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as down:
        require(
            False,
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({str(down).strip()})",
            "start it (pg_ctlcluster <version> main start) or point MINQING_TEST_PG at one",
        )
    _created.append(name)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _created:
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        for name in _created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by backend
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow first, the rest in pytest's order.

    With ``-n 2 --dist worksteal`` the first worker starts with them and the
    other steals its short tests meanwhile, so no minute-long test starts last
    with the other worker idle. Among them, the tests of each backend
    together, PostgreSQL's before SQLite's, where the short tests begin.
    """

    def slow_first(item: pytest.Item) -> tuple[int, int]:
        if item.get_closest_marker("slow") is None:
            return (1, 0)
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        return (0, [None, "postgresql", "sqlite"].index(backend))

    items.sort(key=slow_first)


def fresh_database_url(backend: str, tmp_path: Path, label: str) -> str:
    """A new, empty database of the given backend (not yet migrated)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{label}.db'}"
    safe = re.sub(r"[^a-z0-9_]", "_", label.lower())[:40]
    return fresh_postgres_database(f"minqing_{safe}_{_worker()}")


def migrated_app(url: str) -> Flask:
    """The app on the database at ``url``, brought to the current schema."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade(db.engine)
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database per backend, shared by the session's tests."""
    url = fresh_database_url(backend, tmp_path_factory.mktemp("db"), "tests")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits are savepoints inside the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def app(engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test",
        }
    )
    # Requests share the test's transaction, so the test sees (and rolls back)
    # whatever they committed.
    app.extensions["minqing.db"] = session_factory
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_id() -> Any:
    return uuid.uuid4


# --- a small county with phones, against the real app committing for real ----------
# (each test starts from an empty ledger and leaves one behind: tests/server/sync/world.py)


@pytest.fixture
def sync_app(engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    wipe(engine)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test",
        }
    )
    yield app
    db.dispose(app)
    # Leave the shared test database empty for the tests that roll back.
    wipe(engine)


@pytest.fixture
def county(sync_app: Flask, tmp_path: Path) -> County:
    return County.build(sync_app, tmp_path)


@pytest.fixture
def transport(sync_app: Flask) -> FlaskTransport:
    return FlaskTransport(sync_app.test_client())


# --- real servers (gunicorn over HTTP), kept running for the test process ----------


class LiveServers:
    """The real servers this test process has started, one per backend, worker
    count and environment, each over a ledger of its own.

    Starting one (a fresh database, its migrations, gunicorn) takes seconds and
    a loaded machine's ten; emptying its ledger a fraction of one. So tests
    share them: ``ready`` empties the ledger before each test, and starts the
    server again if a test stopped or killed it. A test that needs a server
    of its own (one whose log or metrics it reads from nothing, say) starts one.
    """

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.running: dict[tuple[object, ...], tuple[LiveServer, Flask]] = {}

    def ready(
        self, backend: str, workers: int = 2, environment: dict[str, str] | None = None
    ) -> tuple[LiveServer, Flask]:
        """The server (running) and an app on its database, whose ledger is empty."""
        environment = environment or {}
        key = (backend, workers, *sorted(environment.items()))
        if key not in self.running:
            folder = self.tmp.mktemp("server")
            url = fresh_database_url(backend, folder, f"live{len(self.running)}")
            server = LiveServer(url, folder / "instance", workers, environment)
            self.running[key] = (server, migrated_app(url))
        server, app = self.running[key]
        wipe(db.factory(app).kw["bind"])
        if server.process is None:
            server.start()
        return server, app

    def stop(self) -> None:
        for server, app in self.running.values():
            server.stop()
            db.dispose(app)


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServers]:
    servers = LiveServers(tmp_path_factory)
    yield servers
    servers.stop()

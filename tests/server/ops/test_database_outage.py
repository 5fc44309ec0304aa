"""A database the server cannot reach (down, or between a primary's death and
its standby's promotion) is answered 503 with Retry-After, in JSON for phones
and on the console's page for people, never 500; a phone's sync in the gap
loses nothing, and everything serves again once the database is back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from server.db import db
from server.visits.models import Visit
from sync.transport import HttpTransport, ServerError
from tests.conftest import PG_ADMIN_URL, fresh_postgres_database, migrated_app
from tests.live import LiveServer
from tests.server.sync.world import PASSWORD, County


@contextmanager
def unreachable(url: str) -> Iterator[None]:
    """The database refuses new connections and drops the ones it has."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def answer(open_it: object) -> urllib.error.HTTPError:
    try:
        open_it()  # type: ignore[operator]
    except urllib.error.HTTPError as error:
        return error
    raise AssertionError("the server answered as if the database were there")


def test_while_the_database_cannot_be_reached_the_server_answers_503_and_a_phone_loses_nothing(
    tmp_path: Path,
) -> None:
    url = fresh_postgres_database("minqing_outage")
    app = migrated_app(url)
    county = County.build(app, tmp_path, cadres=1)
    server = LiveServer(url, tmp_path / "instance")
    server.start()
    try:
        cadre = county.cadres[0]
        household = county.households[cadre][0]
        phone = county.phone(cadre, HttpTransport(server.url))
        assert phone.sync().ok
        browser = server.console(county.admin, PASSWORD)

        with unreachable(url):
            visit = phone.record_visit(household, notes="停电时的走访")
            with pytest.raises(ServerError, match="503"):
                phone.sync()
            assert phone.pending_count() == 1, "the visit waits in the outbox"

            push = urllib.request.Request(
                f"{server.url}/api/v1/sync/push",
                json.dumps({"device_time_ms": 0, "changes": []}).encode(),
                {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {phone.store.get_meta('token')}",
                },
            )
            refused = answer(lambda: urllib.request.urlopen(push, timeout=30))
            assert refused.code == 503
            assert refused.headers["Retry-After"] == "5"
            assert "数据库" in json.loads(refused.read())["message"]

            page = answer(lambda: browser.open(f"{server.url}/", timeout=30))
            assert page.code == 503
            assert "数据库暂时无法访问" in page.read().decode()

        assert phone.sync().ok
        assert phone.pending_count() == 0
        status, _ = server.request("GET", "/health/ready")
        assert status == 200
        with db.factory(app)() as session:
            assert session.get(Visit, uuid.UUID(visit)) is not None
        assert "Traceback" not in server.log_path.read_text()
    finally:
        server.stop()
        db.dispose(app)

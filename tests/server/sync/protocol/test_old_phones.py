"""A new server still understands every released app: the recorded
conversations (tests/server/sync/protocol/v*.json) replayed over HTTP against a
running server, and a schema upgrade that is safe to run again."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.issues.models import Issue
from server.ledger.models import Household
from server.visits.models import Visit
from sync.hlc import wall_clock_ms
from sync.transport import HttpTransport
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.server.sync.protocol.conversation import (
    CADRES,
    HERE,
    HOUSEHOLDS_EACH,
    Session,
    county_names,
    lacks,
)
from tests.server.sync.world import County

RECORDINGS = sorted(HERE.glob("v*.json"))


@pytest.fixture
def served(backend: str, live_servers: LiveServers) -> tuple[Flask, LiveServer]:
    server, app = live_servers.ready(backend)
    return app, server


def replay(recording: list[dict[str, Any]], session: Session, url: str) -> list[str]:
    """Each recorded request, filled for this county, sent as the old phone sent it."""
    transport = HttpTransport(url)
    try:
        return _replayed(recording, session, transport)
    finally:
        transport.close()


def _replayed(
    recording: list[dict[str, Any]], session: Session, transport: HttpTransport
) -> list[str]:
    differences = []
    for number, exchange in enumerate(recording):
        body = session.fill(exchange["request"])
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if exchange["authorised"]:
            headers["Authorization"] = f"Bearer {session.token}"
        payload = gzip.compress(json.dumps(body, ensure_ascii=False).encode())
        status, _, raw = transport._exchange(exchange["path"], payload, headers)
        answer = json.loads(raw)
        where = f"exchange {number} ({exchange['path']})"
        if status != exchange["status"]:
            differences.append(f"{where}: status {status}, was {exchange['status']}: {answer}")
            continue
        results = [result["status"] for result in answer.get("results", [])]
        if results != exchange["results"]:
            differences.append(f"{where}: results {results}, were {exchange['results']}")
        differences += [f"{where}: {lack}" for lack in lacks(exchange["answer_shape"], answer)]
        session.heard(exchange["path"], answer)
    return differences


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda path: path.stem)
def test_a_phone_of_an_earlier_release_syncs_with_this_server_as_it_did_with_its_own(
    served: tuple[Flask, LiveServer], tmp_path: Path, recording: Path
) -> None:
    app, server = served
    county = County.build(app, tmp_path, cadres=CADRES, households_each=HOUSEHOLDS_EACH)
    session = Session(county_names(county), wall_clock_ms())

    assert replay(json.loads(recording.read_text()), session, server.url) == []

    # What the old phone said is in the ledger, as it meant it.
    first, second = (uuid.UUID(h) for h in county.households[county.cadres[0]][:2])
    with county.session() as db_session:
        visits = db_session.scalars(select(Visit)).all()
        assert [v.household_id for v in visits if v.deleted_at is None] == [first, first]
        assert [v.household_id for v in visits if v.deleted_at is not None] == [second]
        (issue,) = db_session.scalars(select(Issue)).all()
        assert issue.household_id == first and issue.status == "in_progress"
        assert db_session.get(Household, second).phones == ["13800000000"]


def test_the_recordings_cover_the_current_protocol() -> None:
    from shared.protocol import PROTOCOL_VERSION

    assert f"v{PROTOCOL_VERSION}" in [path.stem for path in RECORDINGS], (
        "record this release's conversation: python -m tests.server.sync.protocol.conversation"
    )


def test_upgrading_the_schema_again_changes_nothing_and_says_so(
    served: tuple[Flask, LiveServer],
) -> None:
    _, server = served
    for _ in range(2):
        upgraded = server.minqing("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "database is up to date" in upgraded.stdout
    checked = server.minqing("check")
    assert checked.returncode == 0, checked.stderr

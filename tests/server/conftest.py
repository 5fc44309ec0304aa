"""A small county behind a real server (gunicorn over HTTP), for the API's
hostile-input and fuzzing tests: a cadre's phone holding a live device token,
and a token of the same account that was revoked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask

from server.accounts.services import create_account, hash_password
from server.audit.services import SYSTEM
from server.db import db, transaction
from server.ledger.services import link_household
from shared.vocab import AccountRole
from sync.phone import Phone
from sync.transport import HttpTransport
from tests.builders import LedgerBuilder
from tests.conftest import LiveServers
from tests.live import LiveServer

PASSWORD = "minqing-demo"


@dataclass
class ApiCounty:
    server: LiveServer
    app: Flask
    phone: Phone
    username: str
    households: list[str] = field(default_factory=list)
    revoked_token: str = ""

    @property
    def token(self) -> str:
        return self.phone.store.get_meta("token") or ""


@pytest.fixture(scope="module")
def api_county(
    backend: str, live_servers: LiveServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiCounty]:
    tmp = tmp_path_factory.mktemp("api")
    # The module's tests share the county; no other test runs on the server meanwhile.
    server, app = live_servers.ready(backend)
    households = []
    with transaction(db.factory(app)) as session:
        ledger = LedgerBuilder(session)
        cadre = ledger.cadre("林志强")
        create_account(
            session, SYSTEM, username=cadre.phone, password=PASSWORD, role=AccountRole.CADRE,
            cadre=cadre, password_hash=hash_password(PASSWORD),
        )  # fmt: skip
        grid = ledger.grid()
        for number in range(3):
            household = ledger.household(grid, head_name=f"陈{number}")
            link_household(session, SYSTEM, household, cadre)
            households.append(str(household.id))
        username = cadre.phone
    phone = _phone(server, tmp, username)
    phone.sync()
    lost = _phone(server, tmp, username)
    revoked = server.minqing("accounts", "revoke-device", lost.device_id)
    assert revoked.returncode == 0, revoked.stderr
    county = ApiCounty(server, app, phone, username, households, lost.store.get_meta("token") or "")
    yield county
    phone.close()
    lost.close()


def _phone(server: LiveServer, tmp: Path, username: str) -> Phone:
    phone = Phone(tmp / f"phone-{uuid.uuid4().hex[:6]}.db", transport=HttpTransport(server.url))
    phone.login(username, PASSWORD, "phone")
    return phone

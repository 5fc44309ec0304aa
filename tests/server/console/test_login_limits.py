"""The console's login checks passwords as the phones' does, under the same limits."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.accounts import services
from server.audit.services import SYSTEM
from shared.vocab import AccountRole
from tests.server.console.conftest import csrf_token


@pytest.fixture
def admin(session: Session) -> None:
    services.create_account(
        session, SYSTEM, username="admin", password="minqing-demo", role=AccountRole.COUNTY_ADMIN
    )
    session.commit()


def console_login(client: FlaskClient, password: str) -> str:
    data = {"username": "admin", "password": password, "csrf_token": csrf_token(client, "/login")}
    return client.post("/login", data=data).get_data(as_text=True)


def test_wrong_passwords_in_the_console_lock_the_account_for_the_api_too(
    client: FlaskClient, admin: None
) -> None:
    for _ in range(5):
        assert "用户名或密码错误" in console_login(client, "guess")
    assert "锁定" in console_login(client, "minqing-demo")
    api = client.post("/api/v1/devices", json={"username": "admin", "password": "minqing-demo"})
    assert api.status_code == 429
    assert client.get("/").status_code == 302


def test_a_busy_server_tells_the_console_to_try_again_shortly(
    app: Flask, client: FlaskClient, admin: None
) -> None:
    app.config["LOGIN_CHECK_WAIT_SECONDS"] = 0.05
    slots = app.extensions["minqing.password_checks"].slots
    for _ in range(app.config["LOGIN_CHECKS_PER_WORKER"]):
        slots.acquire()
    try:
        page = console_login(client, "minqing-demo")
    finally:
        for _ in range(app.config["LOGIN_CHECKS_PER_WORKER"]):
            slots.release()
    assert "服务器正忙" in page
    assert "/login" in client.get("/").headers["Location"]
    assert client.get("/").status_code == 302
    console_login(client, "minqing-demo")
    assert client.get("/").status_code == 200

"""The server as a user runs it: ``minqing`` commands beside gunicorn over HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServers
from tests.live import LiveServer


@pytest.fixture
def live(backend: str, live_servers: LiveServers) -> LiveServer:
    server, _ = live_servers.ready(backend)
    done = server.minqing(
        "accounts", "create", "admin", "--role", "county_admin", "--password", "minqing-demo"
    )
    assert done.returncode == 0, done.stderr
    return server


def test_a_phone_logs_in_over_http_and_a_revoked_phone_is_refused(live: LiveServer) -> None:
    status, body = live.request(
        "POST", "/api/v1/devices", {"username": "admin", "password": "minqing-demo"}
    )
    assert status == 201
    token = body["token"]
    assert live.request("GET", "/api/v1/me", token=token) == (
        200,
        {
            "device_id": body["device_id"],
            "device_name": "",
            "account": body["account"],
        },
    )
    revoked = live.minqing("accounts", "revoke-device", body["device_id"])
    assert revoked.returncode == 0, revoked.stderr
    status, error = live.request("GET", "/api/v1/me", token=token)
    assert status == 401
    assert "revoked" in error["message"]


def test_user_mistakes_on_the_command_line_get_a_message_not_a_traceback(
    live: LiveServer,
) -> None:
    mistakes = [
        ("accounts", "disable", "nobody"),
        (
            "accounts",
            "create",
            "x1",
            "--role",
            "town_admin",
            "--town",
            "无此镇",
            "--password",
            "12345678",
        ),
        ("accounts", "create", "x2", "--role", "county_admin", "--password", "short"),
        ("accounts", "revoke-device", "not-a-uuid"),
    ]
    for mistake in mistakes:
        done = live.minqing(*mistake)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr
        assert " / " in done.stderr, "the message is bilingual"

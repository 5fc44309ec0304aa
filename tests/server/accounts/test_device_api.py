"""The device API over HTTP: log in once, use the token, lose it when revoked."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from server.accounts import services
from server.accounts.models import Account, Device
from server.audit.services import SYSTEM
from shared.vocab import AccountRole
from tests.builders import LedgerBuilder


@pytest.fixture
def cadre_account(session: Session) -> Account:
    cadre = LedgerBuilder(session).cadre()
    account = services.create_account(
        session,
        SYSTEM,
        username=cadre.phone,
        password="minqing-demo",
        role=AccountRole.CADRE,
        cadre=cadre,
    )
    session.commit()
    return account


def login(client: FlaskClient, username: str, password: str = "minqing-demo") -> object:
    return client.post(
        "/api/v1/devices",
        json={"username": username, "password": password, "device_name": "红米 9A"},
    )


def test_logging_in_registers_the_phone_and_returns_a_token_that_works(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    response = login(client, cadre_account.username)
    assert response.status_code == 201
    body = response.get_json()
    assert body["account"]["role"] == "cadre"
    assert body["account"]["cadre_id"] == str(cadre_account.cadre_id)
    device = session.get(Device, uuid.UUID(body["device_id"]))
    assert device is not None and device.name == "红米 9A"

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["device_id"] == body["device_id"]


def test_a_wrong_password_gets_401_with_a_bilingual_message(
    client: FlaskClient, cadre_account: Account
) -> None:
    response = login(client, cadre_account.username, "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_json()["message"]
    assert "wrong username or password" in response.get_json()["message"]


def test_repeated_failures_lock_the_account_with_429_and_retry_after(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    for _ in range(5):
        assert login(client, cadre_account.username, "guess").status_code == 401
    locked = login(client, cadre_account.username)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    session.refresh(cadre_account)
    assert cadre_account.failed_logins == 5


def test_a_revoked_device_gets_401_saying_unsent_records_stay_on_the_phone(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    body = login(client, cadre_account.username).get_json()
    device = session.get(Device, uuid.UUID(body["device_id"]))
    assert device is not None
    services.revoke_device(session, SYSTEM, device)
    session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert response.status_code == 401
    assert "未发送的记录" in response.get_json()["message"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}],
    ids=["no header", "unknown token", "wrong scheme"],
)
def test_requests_without_a_live_token_get_401(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_malformed_json_gets_400_and_unknown_fields_get_422_naming_them(
    client: FlaskClient,
) -> None:
    broken = client.post("/api/v1/devices", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    unknown = client.post("/api/v1/devices", json={"username": "a", "password": "b", "admin": True})
    assert unknown.status_code == 422
    assert "admin" in unknown.get_json()["errors"]["json"]


def test_a_nul_in_the_username_or_password_gets_422_and_counts_no_failure(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    # PostgreSQL cannot even compare text with NUL in it: it must not get there.
    for username, password in (
        (cadre_account.username + "\x00", "minqing-demo"),
        ("\x00", "minqing-demo"),
        (cadre_account.username, "minqing-demo\x00"),
    ):
        response = login(client, username, password)
        assert response.status_code == 422, (username, password)
        assert "NUL" in str(response.get_json()["errors"])
    session.refresh(cadre_account)
    assert cadre_account.failed_logins == 0


def test_an_oversized_request_gets_413_not_500(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/devices",
        data=b"{" + b" " * (9 * 1024 * 1024) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert "过大" in response.get_json()["message"]


def test_the_openapi_document_describes_the_device_api(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/devices" in spec["paths"]
    assert "/api/v1/me" in spec["paths"]

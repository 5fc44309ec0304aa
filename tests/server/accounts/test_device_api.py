"""The device API over HTTP: log in once, use the token, lose it when revoked."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from server import create_app
from server.accounts import services
from server.accounts.models import Account, Device, LoginClient
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


def login(
    client: FlaskClient,
    username: str,
    password: str = "minqing-demo",
    address: str = "127.0.0.1",
    **more: str,
) -> TestResponse:
    return client.post(
        "/api/v1/devices",
        json={"username": username, "password": password, "device_name": "红米 9A", **more},
        environ_base={"REMOTE_ADDR": address},
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


def test_a_registration_retried_after_a_lost_answer_gives_the_same_device_and_a_new_token(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    registration = str(uuid.uuid4())
    lost = login(client, cadre_account.username, registration_id=registration).get_json()
    again = login(client, cadre_account.username, registration_id=registration)
    assert again.status_code == 201
    assert again.get_json()["device_id"] == lost["device_id"]
    devices = select(func.count()).where(Device.account_id == cadre_account.id)
    assert session.scalar(devices) == 1
    for token, status in ((lost["token"], 401), (again.get_json()["token"], 200)):
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == status


def test_an_older_app_without_a_registration_id_still_logs_in_with_a_device_each_time(
    client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    first, second = (login(client, cadre_account.username) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.get_json()["device_id"] != second.get_json()["device_id"]


def test_a_registration_id_that_is_not_a_uuid_gets_422_naming_it(
    client: FlaskClient, cadre_account: Account
) -> None:
    refused = login(client, cadre_account.username, registration_id="phone-1")
    assert refused.status_code == 422
    assert "UUID" in str(refused.get_json()["errors"]["json"]["registration_id"])


def test_wrong_passwords_from_one_address_keep_the_owner_elsewhere_out_a_minute_at_most(
    client: FlaskClient, cadre_account: Account
) -> None:
    answers = [login(client, cadre_account.username, "guess", "10.6.6.6") for _ in range(12)]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 7
    owner = login(client, cadre_account.username, address="10.0.0.1")
    assert owner.status_code == 429
    assert 0 < int(owner.headers["Retry-After"]) <= 60


def test_a_flood_from_one_address_gets_429_with_retry_after_and_other_addresses_do_not(
    client: FlaskClient, cadre_account: Account
) -> None:
    flood = [login(client, f"1390000{number:04d}", "guess", "10.6.6.6") for number in range(30)]
    assert [answer.status_code for answer in flood] == [401] * 10 + [429] * 20
    assert all(0 < int(answer.headers["Retry-After"]) <= 60 for answer in flood[10:])
    assert "from this address" in flood[-1].get_json()["message"]
    assert login(client, cadre_account.username, address="10.0.0.1").status_code == 201


def test_a_busy_server_answers_503_with_retry_after_and_counts_nothing(
    app: Flask, client: FlaskClient, session: Session, cadre_account: Account
) -> None:
    app.config["LOGIN_CHECK_WAIT_SECONDS"] = 0.05
    slots = app.extensions["minqing.password_checks"].slots
    for _ in range(app.config["LOGIN_CHECKS_PER_WORKER"]):
        slots.acquire()
    try:
        busy = login(client, cadre_account.username)
    finally:
        for _ in range(app.config["LOGIN_CHECKS_PER_WORKER"]):
            slots.release()
    assert busy.status_code == 503
    assert 2 <= int(busy.headers["Retry-After"]) <= 6
    assert "busy" in busy.get_json()["message"]
    session.refresh(cadre_account)
    assert cadre_account.failed_logins == 0
    assert session.scalar(select(func.count()).select_from(Device)) == 0
    assert login(client, cadre_account.username).status_code == 201


def test_a_login_that_waited_in_the_queue_too_long_gets_503_at_once(
    app: Flask, client: FlaskClient, cadre_account: Account
) -> None:
    app.config["LOGIN_CHECK_WAIT_SECONDS"] = 0.2
    # What gunicorn hands over: the connection, whose request arrived a while ago.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        phone = socket.create_connection(listener.getsockname())
        phone.sendall(b"POST /api/v1/devices HTTP/1.1\r\n\r\n")
        time.sleep(0.3)
        connection, _ = listener.accept()
        with phone, connection:
            queued = client.post(
                "/api/v1/devices",
                json={"username": cadre_account.username, "password": "minqing-demo"},
                environ_base={"gunicorn.socket": connection},
            )
    assert queued.status_code == 503
    assert 2 <= int(queued.headers["Retry-After"]) <= 6
    assert login(client, cadre_account.username).status_code == 201


@pytest.fixture
def behind_a_proxy(session_factory: sessionmaker[Session], app: Flask) -> FlaskClient:
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    proxied.extensions["minqing.db"] = session_factory
    return proxied.test_client()


@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "behind a trusted proxy"])
def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    request: pytest.FixtureRequest, client: FlaskClient, session: Session, proxied: bool
) -> None:
    if proxied:
        client = request.getfixturevalue("behind_a_proxy")
    for forged in ("10.1.1.1", "10.2.2.2"):
        client.post(
            "/api/v1/devices",
            json={"username": "nobody", "password": "guess"},
            headers={"X-Forwarded-For": forged},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
    counted = dict(session.execute(select(LoginClient.address, LoginClient.failures)).all())
    assert counted == ({"10.1.1.1": 1, "10.2.2.2": 1} if proxied else {"10.9.9.9": 2})


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

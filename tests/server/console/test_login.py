"""The console's login: CSRF-protected, for admins, leaders and inspectors."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from server.accounts import services
from server.audit.services import SYSTEM
from server.console.views.session import console_page_or_home
from shared.vocab import AccountRole
from tests.builders import LedgerBuilder

_HASH = services.hash_password("minqing-demo")  # one argon2 hash for both accounts


@pytest.fixture
def accounts(session: Session) -> None:
    services.create_account(
        session,
        SYSTEM,
        username="admin",
        password="minqing-demo",
        role=AccountRole.COUNTY_ADMIN,
        password_hash=_HASH,
    )
    cadre = LedgerBuilder(session).cadre()
    services.create_account(
        session,
        SYSTEM,
        username=cadre.phone,
        password="minqing-demo",
        role=AccountRole.CADRE,
        cadre=cadre,
        password_hash=_HASH,
    )
    session.commit()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_the_console_sends_visitors_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_login_page_is_chinese_first_with_an_english_switch(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in english and 'lang="en"' in english


def test_a_login_form_without_its_csrf_token_is_refused(
    client: FlaskClient, accounts: None
) -> None:
    response = client.post("/login", data={"username": "admin", "password": "minqing-demo"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_an_admin_logs_in_and_sees_the_ledger_overview(client: FlaskClient, accounts: None) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "admin", "password": "minqing-demo", "csrf_token": token}
    )
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "台帐总览" in page
    assert "无挂户干部的农户" in page


def test_a_wrong_password_shows_the_reason_on_the_page(client: FlaskClient, accounts: None) -> None:
    token = csrf_token(client)
    page = client.post(
        "/login", data={"username": "admin", "password": "nope", "csrf_token": token}
    ).get_data(as_text=True)
    assert "用户名或密码错误" in page


def test_cadres_are_sent_to_the_phone_app(
    client: FlaskClient, accounts: None, session: Session
) -> None:
    from sqlalchemy import select

    from server.accounts.models import Account

    username = session.scalar(select(Account.username).where(Account.role == "cadre"))
    token = csrf_token(client)
    page = client.post(
        "/login", data={"username": username, "password": "minqing-demo", "csrf_token": token}
    ).get_data(as_text=True)
    assert "手机应用" in page
    assert client.get("/").status_code == 302


def log_in(client: FlaskClient, query: str) -> TestResponse:
    token = csrf_token(client)
    return client.post(
        f"/login{query}",
        data={"username": "admin", "password": "minqing-demo", "csrf_token": token},
    )


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example/",  # browsers drop the tab: //evil.example/
        "/%0A/evil.example/",
        "%2F%2Fevil.example/",
        "/%5Cevil.example/",
    ],
)
def test_a_forged_next_never_leaves_the_console(
    client: FlaskClient, accounts: None, target: str
) -> None:
    response = log_in(client, f"?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "//evil.example/",
        "///evil.example/",
        "///ledger",  # the path /ledger to a parser, the site "ledger" to a browser
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\x7f/evil.example/",
        "https://evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "evil.example",
        " //evil.example/",
        "",
        "/api/v1/me",  # the server's, but not a console page
        "/console/static/console.css",
        "/no-such-page",
        "/logout",  # only for POST
    ],
)
def test_only_a_console_page_is_a_place_to_go_after_logging_in(app: Flask, target: str) -> None:
    with app.test_request_context("/login"):
        assert console_page_or_home(target) == "/"


def test_after_logging_in_the_admin_is_back_on_the_page_they_asked_for(
    client: FlaskClient, accounts: None
) -> None:
    asked = client.get("/ledger/search?q=%E6%9E%97")
    assert asked.status_code == 302
    login_page = asked.headers["Location"]
    assert login_page.startswith("/login?next=")
    response = log_in(client, login_page.removeprefix("/login"))
    assert response.headers["Location"] == "/ledger/search?q=%E6%9E%97"
    assert client.get(response.headers["Location"]).status_code == 200

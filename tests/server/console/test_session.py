"""The console's sign-in lives on the server: its cookie is only a pointer to it,
sent to no other site, and logging out (or disabling the account) ends it."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from server import create_app
from server.accounts import services, sessions
from server.accounts.models import ConsoleSession
from server.audit.services import SYSTEM
from server.clock import utcnow
from server.db import db, transaction
from shared.vocab import AccountRole
from tests.conftest import LiveServers
from tests.live import LiveServer
from tests.server.console.conftest import PASSWORD, County, csrf_token, login


def fresh_app(engine: Engine, session_factory: sessionmaker[Session]) -> Flask:
    """The app as browsers meet it, each request in its own app context (the
    shared fixture keeps one open through the test, so ``g`` outlives requests)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test",
        }
    )
    app.extensions["minqing.db"] = session_factory
    return app


@pytest.fixture
def app(engine: Engine, session_factory: sessionmaker[Session]) -> Flask:
    return fresh_app(engine, session_factory)


def log_in(client: FlaskClient, username: str) -> None:
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def opens_the_console(client: FlaskClient) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def test_the_cookie_is_same_site_and_hidden_from_scripts(
    client: FlaskClient, county: County
) -> None:
    log_in(client, "admin")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.same_site == "Lax" and cookie.http_only
    assert not cookie.secure  # plain HTTP, as `make demo` serves


def test_served_over_https_the_cookie_is_sent_only_over_https(
    engine: Engine,
    session_factory: sessionmaker[Session],
    county: County,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MINQING_HTTPS", "1")
    client = fresh_app(engine, session_factory).test_client()
    log_in(client, "admin")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.secure and cookie.same_site == "Lax"


def test_a_copy_of_the_cookie_taken_before_logging_out_opens_nothing(
    client: FlaskClient, county: County, session: Session
) -> None:
    log_in(client, "admin")
    copied = client.get_cookie("session")
    assert copied is not None and opens_the_console(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert not opens_the_console(client)
    client.set_cookie("session", copied.value)
    assert not opens_the_console(client)
    account = county.accounts["county_admin"]
    assert session.scalar(select(func.count()).where(ConsoleSession.account_id == account.id)) == 0


def test_logging_out_in_one_browser_leaves_the_others_signed_in(app: Flask, county: County) -> None:
    office, home = app.test_client(), app.test_client()
    log_in(office, "admin")
    log_in(home, "admin")
    office.post("/logout", data={"csrf_token": csrf_token(office, "/")})
    assert not opens_the_console(office)
    assert opens_the_console(home)


def test_logging_in_again_ends_the_browsers_earlier_sign_in(
    client: FlaskClient, county: County
) -> None:
    log_in(client, "admin")
    earlier = client.get_cookie("session")
    assert earlier is not None
    log_in(client, "town-qianlou")
    client.set_cookie("session", earlier.value)
    assert not opens_the_console(client)


def test_disabling_an_account_ends_its_sign_ins_for_good(
    client: FlaskClient, county: County, session: Session
) -> None:
    account = county.accounts["town_admin"]
    login(client, account)
    assert opens_the_console(client)
    services.set_active(session, SYSTEM, account, False)
    session.commit()
    assert not opens_the_console(client)
    # Enabled again, the old cookie still opens nothing: the sign-in is gone.
    services.set_active(session, SYSTEM, account, True)
    session.commit()
    assert not opens_the_console(client)


def test_a_sign_in_expires_and_expired_ones_are_cleared_at_the_next(
    session: Session, county: County
) -> None:
    account = county.accounts["county_admin"]
    token = sessions.start(session, account, timedelta(hours=12))
    session.flush()
    assert sessions.account_for(session, token) == account
    assert sessions.account_for(session, token, now=utcnow() + timedelta(hours=13)) is None
    session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    sessions.start(session, account, timedelta(hours=12))
    session.flush()
    assert sessions.account_for(session, token) is None
    assert session.scalar(select(func.count()).where(ConsoleSession.account_id == account.id)) == 1


def test_only_a_hash_of_the_sign_in_token_is_stored(session: Session, county: County) -> None:
    token = sessions.start(session, county.accounts["inspector"], timedelta(hours=1))
    session.flush()
    stored = session.scalars(select(ConsoleSession.token_hash)).all()
    assert token not in stored and len(stored) == 1


# --- over HTTP, against gunicorn -------------------------------------------------


@pytest.fixture
def live(backend: str, live_servers: LiveServers) -> LiveServer:
    server, app = live_servers.ready(backend)
    with transaction(db.factory(app)) as session:
        services.create_account(
            session, SYSTEM, username="admin", password=PASSWORD, role=AccountRole.COUNTY_ADMIN
        )
    return server


class Browser:
    """Just enough of a browser: cookies, forms with their CSRF token, no redirects."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects()
        )

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.url + path, data, timeout=30) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.headers.get("Location", ""), answer.read().decode()

    def submit(self, page: str, action: str, form: dict[str, str]) -> tuple[int, str, str]:
        _, _, html = self.open(page)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
        assert token is not None
        return self.open(action, {**form, "csrf_token": token.group(1)})


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_over_http_a_cookie_replayed_after_logout_gets_the_login_page(live: LiveServer) -> None:
    browser = Browser(live.url)
    status, location, _ = browser.submit(
        "/login", "/login?next=/%09/evil.example/", {"username": "admin", "password": PASSWORD}
    )
    assert (status, location) == (302, "/")
    cookie = next(cookie for cookie in browser.cookies if cookie.name == "session")
    assert browser.open("/")[0] == 200
    assert browser.submit("/", "/logout", {})[:2] == (302, "/login")
    assert browser.open("/")[:2] == (302, "/login?next=/")

    thief = Browser(live.url)
    thief.cookies.set_cookie(cookie)
    assert thief.open("/")[:2] == (302, "/login?next=/")

    status, location, _ = browser.submit(
        "/login", "/login?next=/%0A/evil.example/", {"username": "admin", "password": PASSWORD}
    )
    assert (status, location) == (302, "/")

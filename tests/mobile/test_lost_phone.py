"""A phone reported lost: the town office marks it in the console; at its next
sync the phone sends what it holds, erases its store and confirms; the
console shows when. All over HTTP, as the office and the cadre's phone do it."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import urllib.parse
import urllib.request

from sqlalchemy import select

from server.accounts.models import Device
from server.audit.models import AuditEntry
from server.visits.models import Visit
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import PASSWORD, County

NOTE = "丢手机前记的走访"


class Console:
    """The console in a browser's stead: cookies, and each form's CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path) as answer:
            return str(answer.read().decode())

    def post(self, path: str, form_page: str, **fields: str) -> str:
        page = self.get(form_page)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert token, f"{form_page} has a form"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), **fields}).encode()
        with self.opener.open(self.url + path, body) as answer:
            return str(answer.read().decode())


def test_a_phone_marked_lost_in_the_console_sends_its_visit_erases_its_store_and_the_console_shows_it(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    cadre = county.cadres[0]
    phone.log_in(cadre)
    phone.record_visit("林01", NOTE)
    with county.session() as session:
        device = session.scalars(select(Device)).one()
        cadre_id = county.cadre(session, cadre).id

    console = Console(server.url)
    console.post("/login", "/login", username=county.admin, password=PASSWORD)
    page = f"/ledger/cadres/{cadre_id}"
    shown = console.post(f"{page}/lost", page, device=str(device.id))
    assert "等待手机联网清除数据" in shown

    phone.running.go("sync")
    phone.settle()
    phone.tap(phone.ids("sync_now"))
    phone.wait_until(lambda: phone.screen.name == "login")
    phone.settle()
    assert "这台手机已被挂失，手机上的农户数据已全部清除" in phone.read("message")
    phone.stop()
    # What is there now is a new, empty store: nothing of the old one is left.
    with sqlite3.connect(phone.data_dir / "minqing.db") as store:
        for table in ("record", "outbox", "vault"):
            assert store.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert store.execute("SELECT count(*) FROM meta WHERE key = 'token'").fetchone() == (0,)
    with county.session() as session:
        assert len(session.scalars(select(Visit).where(Visit.notes == NOTE)).all()) == 1
        device = session.get(Device, device.id)
        assert device is not None and device.wiped_at and device.revoked_at
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == device.id)
        ).all()
        assert {"mark_lost", "confirm_wipe"} <= set(actions)
    assert "数据已清除（手机确认于" in console.get(page)

"""Sync over real HTTP against gunicorn, on SQLite and PostgreSQL: the field's
bad days — offline edits, lost answers, a killed server, wrong clocks,
reassignment while away, a revoked phone."""

from __future__ import annotations

import contextlib
import html
import http.cookiejar
import json
import re
import signal
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.accounts.models import Device
from server.sync.models import Conflict
from server.visits.models import Visit
from sync.transport import HttpTransport, NetworkError, ServerError
from tests.conftest import LiveServers
from tests.live import DroppingProxy, LiveServer
from tests.server.sync.world import PASSWORD, County

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def live(backend: str, live_servers: LiveServers, tmp_path: Path) -> tuple[LiveServer, County]:
    server, app = live_servers.ready(backend)
    return server, County.build(app, tmp_path)


class Desk:
    """A browser at the town office, as far as forms go: cookies, CSRF tokens, posts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path, timeout=30) as response:
            return str(response.read().decode())

    def post(self, path: str, form: dict[str, Any]) -> int:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        with self.opener.open(self.url + path, data, timeout=30) as response:
            return int(response.status)

    def login(self, username: str) -> None:
        token = self.field(self.get("/login"), "csrf_token")
        form = {"csrf_token": token, "username": username, "password": PASSWORD}
        assert self.post("/login", form) == 200  # followed to the overview

    @staticmethod
    def field(page: str, name: str) -> str:
        found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
        assert found, f"the page has a {name} field"
        return html.unescape(found.group(1))

    def edit_household(self, household_id: str, **changes: str) -> None:
        """Open the household's page, type ``changes`` over its facts, save."""
        path = f"/ledger/households/{household_id}"
        page = self.get(path)
        seen = json.loads(self.field(page, "seen"))
        form = {
            **{name: seen[name] for name in ("head_name", "address", "notes", "tags")},
            "members": str(seen["members"]),
            "phones": " ".join(seen["phones"]),
            "csrf_token": self.field(page, "csrf_token"),
            "seen": json.dumps(seen),
            "base_seq": self.field(page, "base_seq"),
            **changes,
        }
        assert self.post(path + "/facts", form) == 200  # followed back to the page


def test_a_town_office_edit_reaches_the_phone_and_meets_phone_edits_by_the_same_rules(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    username = county.cadres[0]
    household = county.households[username][0]
    phone = county.phone(username, HttpTransport(server.url))
    phone.sync()
    desk = Desk(server.url)
    desk.login(county.admin)

    desk.edit_household(household, notes="儿子在厦门打工")
    phone.sync()
    assert phone.household(household)["notes"] == "儿子在厦门打工"

    # The phone's edit, made offline before the office's, loses; the phone is told who won.
    phone.edit_household(household, phones=["13905961111"])
    time.sleep(0.05)
    desk.edit_household(household, phones="13905962222")
    report = phone.sync()
    lost = report.conflicts[0]["conflicts"][0]
    assert lost["field"] == "phones" and lost["yours_kept"] is False
    assert "前楼镇办公室" in lost["by"]
    assert phone.household(household)["phones"] == ["13905962222"]

    # The office's edit, made before the phone's offline one, loses: the phone
    # keeps its value and the office's waits in the conflicts queue.
    desk.edit_household(household, address="前楼村3号")
    time.sleep(0.05)
    phone.edit_household(household, address="前楼村5号")
    report = phone.sync()
    kept = report.conflicts[0]["conflicts"][0]
    assert kept["field"] == "address" and kept["yours_kept"] is True
    assert phone.household(household)["address"] == "前楼村5号"
    queue = desk.get("/conflicts")
    assert "前楼村3号" in queue and "前楼村5号" in queue
    with county.session() as session:
        conflict = session.scalars(select(Conflict).where(Conflict.field == "address")).one()
        assert conflict.loser_value == "前楼村3号" and conflict.loser_account_id is not None


def visits_on_server(county: County) -> int:
    with county.session() as session:
        return session.scalar(select(func.count()).select_from(Visit)) or 0


def test_two_cadres_offline_edit_the_same_household_and_both_edits_are_accounted_for(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    old, new = county.cadres
    household = county.households[old][0]
    first = county.phone(old, HttpTransport(server.url))
    first.sync()
    county.reassign(household, new)
    second = county.phone(new, HttpTransport(server.url))
    second.sync()
    # Both are in villages without signal now: each changes the household.
    first.edit_household(household, phones=["13905960001"], notes="老干部记的")
    time.sleep(0.05)
    second.edit_household(household, phones=["13905960002"])
    assert second.sync().applied == 1
    report = first.sync()
    assert report.conflicts, "the old cadre is told his phone number lost"
    assert report.conflicts[0]["conflicts"][0]["field"] == "phones"
    second.sync()
    shown = second.household(household)
    assert shown["phones"] == ["13905960002"] and shown["notes"] == "老干部记的"
    with county.session() as session:
        conflict = session.scalars(select(Conflict).where(Conflict.kind == "hard")).one()
        assert conflict.loser_value == ["13905960001"]


def test_a_sync_cut_after_the_server_committed_loses_and_doubles_nothing(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    proxy = DroppingProxy(server.port)
    try:
        username = county.cadres[0]
        phone = county.phone(username, HttpTransport(proxy.url))
        phone.sync()
        for household in county.households[username]:
            phone.record_visit(household, issues=[{"category": "other", "description": "路灯"}])
        proxy.drop_next = 1
        with pytest.raises(NetworkError):
            phone.sync()
        assert phone.pending_count() == 6
        assert visits_on_server(county) == 3, "the server did commit"
        report = phone.sync()
        assert report.already_applied == 6 and phone.pending_count() == 0
        assert visits_on_server(county) == 3
    finally:
        proxy.close()


def test_a_server_killed_mid_push_and_restarted_ends_with_every_record_once(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    username = county.cadres[0]
    phone = county.phone(username, HttpTransport(server.url, timeout=10))
    phone.sync()
    households = county.households[username]
    for number in range(300):
        phone.record_visit(households[number % len(households)], notes=f"第{number}次")
    phone.engine.push_batch = 300

    killer = threading.Timer(0.15, server.stop, kwargs={"sig": signal.SIGKILL})
    killer.start()
    with contextlib.suppress(NetworkError, ServerError):
        phone.sync()
    killer.join()
    assert server.process is None
    stored_while_dying = visits_on_server(county)
    assert stored_while_dying in (0, 300), "a batch commits whole or not at all"
    server.start()
    report = phone.sync_with_retry(attempts=5, base_delay=0.2)
    assert report.ok and phone.pending_count() == 0
    assert visits_on_server(county) == 300


def test_phones_with_clocks_days_behind_and_ahead_sync_correctly(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    behind_user, ahead_user = county.cadres
    behind = county.phone(behind_user, HttpTransport(server.url), skew_ms=-3 * DAY_MS)
    ahead = county.phone(ahead_user, HttpTransport(server.url), skew_ms=2 * DAY_MS)
    for phone, user in ((behind, behind_user), (ahead, ahead_user)):
        assert phone.sync().ok
        phone.record_visit(county.households[user][0])
        assert phone.sync().applied == 1
    now = time.time()
    with county.session() as session:
        for visited_at in session.scalars(select(Visit.visited_at)):
            assert abs(visited_at.timestamp() - now) < 300


def test_a_household_reassigned_while_its_old_cadre_is_offline_keeps_his_visit(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    old, new = county.cadres
    household = county.households[old][0]
    old_phone = county.phone(old, HttpTransport(server.url))
    old_phone.sync()
    old_phone.record_visit(household, notes="在村里没有信号时走访")
    county.reassign(household, new)
    assert old_phone.sync().applied == 1
    old_phone.sync()
    assert household not in {h["id"] for h in old_phone.households()}
    new_phone = county.phone(new, HttpTransport(server.url))
    new_phone.sync()
    assert [v["notes"] for v in new_phone.visits(household)] == ["在村里没有信号时走访"]


def test_a_revoked_phone_is_refused_over_http_and_keeps_its_unsent_records(
    live: tuple[LiveServer, County],
) -> None:
    server, county = live
    username = county.cadres[0]
    phone = county.phone(username, HttpTransport(server.url))
    phone.sync()
    phone.record_visit(county.households[username][0])
    done = server.minqing("accounts", "revoke-device", phone.device_id)
    assert done.returncode == 0, done.stderr
    report = phone.sync_with_retry(attempts=3, base_delay=0)
    assert report.revoked and phone.pending_count() == 1
    with county.session() as session:
        device = session.get(Device, uuid.UUID(phone.device_id))
        assert device is not None and device.revoked_at is not None

"""The household data is sealed on the phone and opened by the cadre's PIN: asked
at start and after the county's minutes in the background; too many wrong
PINs lock it until a login with the password, which then sends what waited."""

from __future__ import annotations

import threading
from pathlib import Path

from kivy.core.window import Window
from sqlalchemy import select

from mobile.app import BACK_KEY
from server.visits.models import Visit
from sync.phone import Phone as HeadlessPhone
from sync.transport import HttpTransport
from tests.live import LiveServer
from tests.mobile.conftest import ARTIFACTS
from tests.mobile.driver import PIN, Phone
from tests.server.sync.world import PASSWORD, County

NOTE = "王大姐说屋顶漏雨，儿子在厦门打工"
HOUSEHOLD_PHONE = "13905960001"


def unreadable(folder: Path, needles: list[str]) -> None:
    """No file of the store (db, -wal, -shm, journal) holds any of ``needles``, in any encoding."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.name == "minqing.db" for path in files), files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            for encoded in (needle.encode(), needle.encode("utf-16-le"), needle.encode("gbk")):
                assert encoded not in data, f"{needle!r} is readable in {path.name}"


def visits_noted(county: County, note: str) -> int:
    with county.session() as session:
        return len(session.scalars(select(Visit).where(Visit.notes == note)).all())


def test_after_a_sync_over_http_no_file_of_the_store_holds_a_name_a_phone_number_or_a_note(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    cadre = county.cadres[0]
    phone.log_in(cadre)
    phone.record_visit("林00", NOTE)
    household = county.households[cadre][0]
    phone.running.call(
        lambda notebook: notebook.edit_household(household, phones=[HOUSEHOLD_PHONE])
    )
    phone.settle()
    assert "已发送" in phone.sync()
    assert visits_noted(county, NOTE) == 1
    phone.stop()

    unreadable(phone.data_dir, ["林00", "林01", "林02", "干部1", cadre, HOUSEHOLD_PHONE, NOTE])
    phone.start()  # the PIN opens it all again
    phone.open_household("林00")
    assert NOTE in phone.texts() and HOUSEHOLD_PHONE in phone.texts()


def test_the_right_pin_opens_the_app_and_a_long_pause_asks_for_it_again(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.restart(unlock=False)
    assert phone.screen.name == "pin" and "输入PIN码" in phone.texts()
    phone.enter_pin(PIN)
    assert phone.screen.name == "households" and len(phone.ids("list").data) == 3

    phone.open_household("林01")
    app = phone.running
    app.dispatch("on_pause")
    app.dispatch("on_resume")  # a glance at another app: no PIN
    phone.settle()
    assert phone.screen.name == "household"
    app.dispatch("on_pause")
    app._paused_at -= app.lock_minutes * 60  # the county's five minutes went by
    app.dispatch("on_resume")
    phone.settle()
    assert phone.screen.name == "pin"
    # Android's back button (handled by the app, else it puts the app away).
    assert not app._key(Window, BACK_KEY)
    assert phone.screen.name == "pin", "going back does not pass the lock"
    phone.enter_pin(PIN)
    assert phone.screen.name == "household" and "林01" in phone.texts()


def test_minutes_the_county_changes_reach_the_phone_at_its_next_sync_and_lock_it(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    app = phone.running
    assert app.lock_minutes == 5
    county.set_lock_minutes(20)  # on the console's settings page
    phone.sync()
    assert app.lock_minutes == 20

    phone.open_household("林01")
    app.dispatch("on_pause")
    app._paused_at -= 19 * 60  # the old five minutes and more, not the county's twenty
    app.dispatch("on_resume")
    phone.settle()
    assert phone.screen.name == "household"
    app.dispatch("on_pause")
    app._paused_at -= 20 * 60
    app.dispatch("on_resume")
    phone.settle()
    assert phone.screen.name == "pin"
    phone.enter_pin(PIN)
    assert phone.screen.name == "household"
    phone.restart(unlock=False)
    assert phone.running.lock_minutes == 20, "kept on the phone"


def test_five_wrong_pins_lock_the_data_until_a_password_login_which_sends_what_waited(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.record_visit("林02", NOTE)  # not sent: the app syncs only when told, here
    assert phone.running.pending == 1
    phone.restart(unlock=False)

    for left in (4, 3, 2, 1):
        phone.enter_pin("0000")
        assert phone.read("message") == f"PIN码不对，还可以试{left}次"
    phone.enter_pin("0000")
    assert phone.screen.name == "login"
    assert "PIN码错误次数太多" in phone.read("message")
    assert "未同步的记录不会丢失" in phone.read("message")
    phone.restart(unlock=False)
    assert phone.screen.name == "login", "the right PIN no longer opens it"
    assert phone.running.pending == 1, "the visit is still there, sealed"

    phone.log_in(county.cadres[0], PASSWORD)
    assert visits_noted(county, NOTE) == 1
    assert phone.running.pending == 0


def test_a_store_from_before_encryption_is_sealed_at_the_next_login_and_keeps_its_unsent_visit(
    live: tuple[LiveServer, County], tmp_path: Path
) -> None:
    server, county = live
    cadre = county.cadres[0]
    folder = tmp_path / "old-phone"
    folder.mkdir()

    def an_earlier_release() -> None:
        old = HeadlessPhone(folder / "minqing.db", server.url, transport=HttpTransport(server.url))
        old.login(cadre, PASSWORD)
        old.sync()
        old.record_visit(county.households[cadre][0], notes=NOTE)
        old.close()

    # Off the UI thread, as that app's worker wrote it.
    earlier = threading.Thread(target=an_earlier_release)
    earlier.start()
    earlier.join()
    assert "林00".encode() in (folder / "minqing.db").read_bytes()

    phone = Phone(folder, server.url, ARTIFACTS)
    phone.start()
    try:
        assert phone.screen.name == "login"
        assert "请重新登录一次并设置PIN码" in phone.read("message")
        phone.log_in(cadre)
        assert visits_noted(county, NOTE) == 1
    finally:
        phone.stop()
    unreadable(folder, ["林00", "林01", "干部1", cadre, NOTE])

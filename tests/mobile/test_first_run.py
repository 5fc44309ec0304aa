"""First run: the server's address and a login, then the households come down;
from then on the app opens logged in, offline, in the language last chosen."""

from __future__ import annotations

from kivy.clock import Clock

from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import County


def test_a_cadre_logs_in_once_and_downloads_her_households(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    assert phone.screen.name == "login"
    assert phone.ids("server").text == phone.server_url
    phone.screenshot("login")
    phone.log_in(county.cadres[0])
    assert "已从服务器收到 9 条新记录" in phone.texts()  # the download's outcome
    rows = phone.ids("list").data
    assert sorted(row["name"] for row in rows) == ["林00", "林01", "林02"]
    assert all(row["state"] == "never" and row["visit_text"] == "从未走访" for row in rows)
    phone.notice_cleared()
    assert "待同步 0 条" in phone.texts()
    assert "上次同步" in phone.texts()

    server.stop()
    phone.restart()
    assert phone.screen.name == "households", "the login survives a restart"
    assert len(phone.ids("list").data) == 3


def test_a_reopened_app_answers_its_own_taps_even_if_the_closed_one_showed_a_notice_as_it_closed(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    closed = phone.running
    # A notice shown as the app closes runs the closed app's kv rules once more.
    closed.bind(on_stop=lambda *_: Clock.schedule_once(lambda _dt: closed.say("再见"), 0))
    phone.restart()
    phone.open_household("林00")
    assert phone.screen.name == "household" and "林00" in phone.texts()


def test_a_wrong_password_or_no_server_is_said_plainly_on_the_login_screen(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    phone.tap(phone.ids("log_in"))
    assert phone.ids("username").error == "必填项，不能为空"
    phone.type(phone.ids("username"), county.cadres[0])
    phone.type(phone.ids("password"), "not-the-password")
    phone.tap(phone.ids("log_in"))
    assert phone.screen.name == "login"
    assert "密码" in phone.read("message")
    server.stop()
    phone.type(phone.ids("password"), "minqing-demo")
    phone.tap(phone.ids("log_in"))
    assert phone.read("message") == "连不上服务器——请检查地址，或到有信号的地方再试"


def test_the_english_switch_translates_every_screen_and_is_remembered(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.press("English")
    phone.notice_cleared()
    shown = phone.texts()
    assert "My households" in shown and "0 waiting to sync" in shown
    assert {row["visit_text"] for row in phone.ids("list").data} == {"never visited"}
    phone.screenshot("households-en")
    phone.restart()
    assert "My households" in phone.texts()

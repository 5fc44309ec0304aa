"""What a sync tells the cadre: a conflict with the town office, no signal,
a revoked phone; and an inspector's assigned households, one spot check
reaching the ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from mobile.notebook import Status, SyncOutcome
from mobile.outcome import describe
from server.accounts.models import Device
from server.accounts.services import create_account
from server.audit.services import SYSTEM, Actor
from server.db import transaction
from server.inspections.models import Inspection
from server.inspections.services import assign
from server.ledger.models import Household
from server.sync.conflicts import edit_household
from shared.vocab import AccountRole
from sync.engine import SyncReport
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import PASSWORD, County


def test_a_change_the_town_office_overwrote_is_explained_by_name_after_sync(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    username = county.cadres[0]
    phone.log_in(username)
    phone.open_household("林00")
    phone.tap(phone.ids("edit"))
    phone.type(phone.screen.form.ids.phones, "13905960001")
    phone.tap(phone.screen.form.ids.save)
    assert phone.running.pending == 1
    assert "电话：13905960001" in phone.texts()
    # Meanwhile the town office corrects the same number in the console.
    household_id = uuid.UUID(county.households[username][0])
    with transaction(county.app.extensions["minqing.db"]) as session:
        household = session.get(Household, household_id)
        assert household is not None
        edit_household(
            session, county.admin_account(session), household, {"phones": ["13905969999"]},
            household.seq,
        )  # fmt: skip

    sentence = phone.sync()
    assert sentence == (
        "已发送 1 处农户信息修改；您对林00的电话号码的修改被前楼镇办公室（镇级管理员）更新的修改取代；"
        "已从服务器收到 1 条新记录"
    )
    phone.screenshot("sync-conflict")
    phone.press("English")
    assert phone.read("sentence") == (
        "1 household edit sent; your change to 林00's phone number was replaced by a newer one"
        " from 前楼镇办公室 (town admin); 1 new record received from the server"
    )
    phone.open_household("林00")
    assert "Phones：13905969999" in phone.texts()


def test_no_signal_and_a_revoked_phone_say_what_happens_next_and_keep_the_records(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    phone.log_in(county.cadres[0])
    server.stop()
    phone.running.runner.retry_delay = 0.01  # the retries' waits, shortened
    phone.record_visit("林01", "没有信号的时候记的")
    assert phone.sync() == "没有信号，连不上服务器——稍后会自动重试；1 条记录保存在手机上"
    phone.screenshot("sync-no-signal")

    # Revoked while the server is down: no sync of the app's own can deliver first.
    with county.session() as session:
        device_id = session.scalars(select(Device.id)).one()
    assert server.minqing("accounts", "revoke-device", str(device_id)).returncode == 0
    server.start()
    assert phone.sync() == "本机授权已被撤销——请重新登录；您未发送的 1 条记录已保留"
    assert phone.running.pending == 1
    phone.press("重新登录")
    assert phone.screen.name == "login"
    assert "未发送的 1 条记录仍保存在手机上" in phone.read("message")
    phone.log_in(county.cadres[0])
    phone.open_household("林01")
    assert "没有信号的时候记的" in phone.texts()


def test_an_inspector_sees_the_assigned_households_and_the_check_reaches_the_ledger(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    checked, other = county.households[county.cadres[1]][:2]
    with transaction(county.app.extensions["minqing.db"]) as session:
        inspector = create_account(
            session, SYSTEM, username="inspector-1", password=PASSWORD,
            role=AccountRole.INSPECTOR, display_name="县效能办",
        )  # fmt: skip
        admin = Actor(account_id=county.admin_account(session).id)
        assign(session, admin, inspector, [uuid.UUID(checked), uuid.UUID(other)], draw=2015)
    phone.log_in("inspector-1")
    assert "督查农户" in phone.texts() and "共 2 户" in phone.texts()
    assert {line.name for line in phone.ids("list").layout_manager.children} == {"林10", "林11"}
    phone.screenshot("inspector-households")
    phone.open_household("林10")
    # Does the household know its cadre: the card names the household's own.
    assert "干部2" in phone.texts()
    assert phone.ids("new_visit").disabled and phone.ids("edit").disabled
    phone.tap(phone.ids("inspect"))
    assert phone.screen.name == "inspection"
    phone.tap(phone.ids("save"))
    assert phone.ids("knows_cadre").error == "必填项，不能为空"
    assert phone.ids("satisfaction").error == "必填项，不能为空"
    assert phone.running.pending == 0

    phone.choose(phone.ids("knows_cadre"), "yes")
    reported = phone.running.now().astimezone().date() - timedelta(days=12)
    phone.pick_date(phone.ids("last_visit_reported"), reported)
    phone.choose(phone.ids("problem_solved"), "none_raised")
    phone.choose(phone.ids("satisfaction"), "satisfied")
    phone.type(phone.ids("notes"), "群众认识挂户干部")
    phone.screenshot("inspection")
    phone.tap(phone.ids("save"))
    assert phone.screen.name == "household"
    assert phone.sync() == "已发送 1 份督查记录；1 户已督查完毕或被撤回，已从手机移除"
    with county.session() as session:
        inspection = session.scalars(select(Inspection)).one()
        assert inspection.knows_cadre and inspection.notes == "群众认识挂户干部"
        assert inspection.last_visit_reported == reported
        assert str(inspection.household_id) == checked
    # Checked: the household leaves the list; the other is still to check.
    phone.running.go("households", remember=False)
    phone.settle()
    phone.type(phone.ids("search"), "")
    assert {line.name for line in phone.ids("list").layout_manager.children} == {"林11"}


def test_a_sync_with_a_server_restored_from_a_backup_says_the_records_were_sent_again() -> None:
    status = Status(
        logged_in=True, account={"role": "cadre"}, server_url="", pending=0, last_sync_ms=0,
        lang="zh",
    )  # fmt: skip
    outcome = SyncOutcome(SyncReport(resent=12, already_applied=12), {}, {}, status)

    # (numbers are kept with their words by non-breaking spaces)
    assert (
        describe(outcome, "zh").replace("\xa0", " ")
        == "服务器已从备份恢复，本机重新发送了 12 条记录"
    )
    assert describe(outcome, "en").replace("\xa0", " ") == (
        "The server was restored from a backup: this phone sent its 12 records again"
    )

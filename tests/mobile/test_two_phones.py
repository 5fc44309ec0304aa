"""One cadre, two phones: each carries the name she gave it, and a change
one of them lost to the other says "your other phone", by that name."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from server.accounts.models import Device
from sync.transport import HttpTransport
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import County


def test_a_change_lost_to_the_cadres_other_phone_names_that_phone(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    username = county.cadres[0]
    assert phone.ids("device_name").text, "the phone's model, until she names it"
    phone.type(phone.ids("device_name"), "红米 Note 12")
    phone.log_in(username)
    phone.open_household("林00")
    phone.tap(phone.ids("edit"))
    phone.type(phone.screen.form.ids.phones, "13905960001")
    phone.tap(phone.screen.form.ids.save)

    def the_office_phone_corrects_the_same_number() -> None:
        other = county.phone(username, HttpTransport(server.url), name="办公室的手机")
        try:
            other.sync()
            other.edit_household(county.households[username][0], phones=["13905962222"])
            assert other.sync().applied == 1
        finally:
            other.close()

    # Off the UI thread: the test fails any use of a store on it.
    with ThreadPoolExecutor(1) as elsewhere:
        elsewhere.submit(the_office_phone_corrects_the_same_number).result()
    with county.session() as session:
        assert set(session.scalars(select(Device.name))) == {"红米 Note 12", "办公室的手机"}

    assert phone.sync() == (
        "已发送 1 处农户信息修改；"
        "您对林00的电话号码的修改被您的另一部手机（办公室的手机）更新的修改取代；"
        "已从服务器收到 1 条新记录"
    )
    phone.press("English")
    assert "replaced by a newer one from your other phone (办公室的手机)" in phone.read("sentence")

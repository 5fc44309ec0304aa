"""A phone's login: retried after a lost answer it finds its device again, and
once it holds a token no login limit stands between it and its sync."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from server.accounts.models import Account, Device
from sync.phone import Phone
from sync.transport import NetworkError
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import PASSWORD, County


def test_a_phone_whose_login_answer_was_lost_logs_in_again_to_the_same_device(
    county: County, transport: FlaskTransport
) -> None:
    username = county.cadres[0]
    phone = Phone(county.tmp / "lost-answer.db", transport=transport)
    transport.drop_responses = 1
    with pytest.raises(NetworkError):
        phone.login(username, PASSWORD, "红米 9A")
    phone.login(username, PASSWORD, "红米 9A")
    with county.session() as session:
        devices = session.scalars(
            select(Device.id).join(Account).where(Account.username == username)
        ).all()
    assert devices == [uuid.UUID(phone.device_id)]
    assert phone.sync().received > 0


def test_a_phone_with_a_token_syncs_while_its_account_and_its_address_are_flooded(
    county: County, transport: FlaskTransport
) -> None:
    username, other = county.cadres
    phone = county.phone(username, transport)
    phone.sync()
    phone.record_visit(county.households[username][0], notes="锁定期间记下的")
    # Wrong passwords from the phone's own address, until both the account
    # and the address are locked.
    flood = [
        transport.client.post(
            "/api/v1/devices", json={"username": name, "password": "guess"}
        ).status_code
        for name in [username] * 12 + ["13900000000"] * 12
    ]
    assert flood[-1] == 429 and flood.count(401) == 10
    right = {"username": username, "password": PASSWORD}
    assert transport.client.post("/api/v1/devices", json=right).status_code == 429
    county.reassign(county.households[other][0], username)
    report = phone.sync()
    assert report.applied == 1 and not report.rejected
    assert report.received >= 1
    assert county.households[username][-1] in {h["id"] for h in phone.households()}


def test_the_countys_minutes_before_the_pin_is_asked_again_come_with_the_login(
    county: County, transport: FlaskTransport
) -> None:
    county.app.config["PHONE_LOCK_MINUTES"] = 2  # the server's, until the county chooses
    phone = Phone(county.tmp / "lock-minutes.db", transport=transport)
    phone.login(county.cadres[0], PASSWORD, "红米 9A")
    assert phone.store.get_meta("lock_minutes") == "2"
    county.set_lock_minutes(15)
    phone.login(county.cadres[0], PASSWORD, "红米 9A")
    assert phone.store.get_meta("lock_minutes") == "15"


def test_minutes_the_county_changes_reach_a_phone_already_logged_in_at_its_next_sync(
    county: County, transport: FlaskTransport
) -> None:
    phone = county.phone(county.cadres[0], transport)
    phone.sync()
    assert phone.store.get_meta("lock_minutes") == "5"
    county.set_lock_minutes(20)
    report = phone.sync()
    assert report.ok and phone.store.get_meta("lock_minutes") == "20"

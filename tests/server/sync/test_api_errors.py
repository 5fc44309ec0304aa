"""Bad requests to the sync API get a clear 4xx and change nothing."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import ValidationError
from sqlalchemy import func, select

from server.sync.models import AppliedChange
from shared.protocol import MAX_PUSH_CHANGES, PROTOCOL_VERSION
from sync.phone import Phone
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import PASSWORD, County


@pytest.fixture
def phone(county: County, transport: FlaskTransport) -> Phone:
    return county.phone(county.cadres[0], transport)


@pytest.fixture
def client(sync_app: Flask) -> FlaskClient:
    return sync_app.test_client()


def auth(phone: Phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.store.get_meta('token')}"}


def push_body(changes: list[object], **overrides: object) -> dict[str, object]:
    return {"protocol": PROTOCOL_VERSION, "device_time_ms": 0, "changes": changes, **overrides}


def test_an_unknown_protocol_version_is_refused_with_a_message_to_update_the_app(
    client: FlaskClient, phone: Phone
) -> None:
    response = client.post("/api/v1/sync/pull", json={"protocol": 99}, headers=auth(phone))
    assert response.status_code == 422
    assert "update the app" in str(response.get_json()["errors"])


def test_a_batch_over_the_size_limit_is_refused_whole_with_the_limit_named(
    county: County, client: FlaskClient, phone: Phone
) -> None:
    changes = [{"change_id": str(uuid.uuid4())}] * (MAX_PUSH_CHANGES + 1)
    response = client.post("/api/v1/sync/push", json=push_body(changes), headers=auth(phone))
    assert response.status_code == 422
    assert str(MAX_PUSH_CHANGES) in str(response.get_json()["errors"])
    with county.session() as session:
        assert session.scalar(select(func.count()).select_from(AppliedChange)) == 0


def test_unknown_fields_and_wrong_types_name_the_field(client: FlaskClient, phone: Phone) -> None:
    response = client.post(
        "/api/v1/sync/push",
        json=push_body([], device_time_ms="noon", admin=True),
        headers=auth(phone),
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"device_time_ms", "admin"}


def test_malformed_json_and_corrupt_gzip_get_400(client: FlaskClient, phone: Phone) -> None:
    broken = client.post(
        "/api/v1/sync/push", data="{oops", content_type="application/json", headers=auth(phone)
    )
    assert broken.status_code == 400
    corrupt = client.post(
        "/api/v1/sync/push",
        data=b"\x1f\x8b not really gzip",
        content_type="application/json",
        headers={**auth(phone), "Content-Encoding": "gzip"},
    )
    assert corrupt.status_code == 400
    assert "gzip" in corrupt.get_json()["message"]


def test_a_compressed_push_is_accepted_and_a_large_answer_comes_back_compressed(
    client: FlaskClient, phone: Phone
) -> None:
    body = gzip.compress(json.dumps({"protocol": PROTOCOL_VERSION}).encode())
    response = client.post(
        "/api/v1/sync/pull",
        data=body,
        content_type="application/json",
        headers={**auth(phone), "Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.get_data()))["records"]


def test_an_account_without_households_is_told_it_has_nothing_to_sync(
    county: County, transport: FlaskTransport, client: FlaskClient
) -> None:
    token = transport.login(county.admin, PASSWORD, "office pc")["token"]
    response = client.post(
        "/api/v1/sync/pull",
        json={"protocol": PROTOCOL_VERSION},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "nothing to sync" in response.get_json()["message"]


def test_a_forged_cursor_is_refused_not_a_server_error(client: FlaskClient, phone: Phone) -> None:
    response = client.post(
        "/api/v1/sync/pull",
        json={"protocol": PROTOCOL_VERSION, "cursor": "abc"},
        headers=auth(phone),
    )
    assert response.status_code == 400
    assert "cursor" in response.get_json()["message"]


def test_a_change_id_reused_by_another_device_is_rejected_for_that_record_only(
    county: County, transport: FlaskTransport, phone: Phone
) -> None:
    phone.sync()
    phone.record_visit(county.households[county.cadres[0]][0])
    change = phone.store.pending(1)[0].to_wire()
    phone.sync()
    intruder = county.phone(county.cadres[1], transport)
    answer = transport.push(intruder.store.get_meta("token") or "", 0, [change])
    assert answer["results"][0]["status"] == "rejected"
    assert "another device" in answer["results"][0]["message"]


def test_a_nul_character_is_rejected_for_its_record_alone_and_the_rest_applies(
    county: County, transport: FlaskTransport, phone: Phone
) -> None:
    phone.sync()
    phone.record_visit(county.households[county.cadres[0]][0], notes="门前有狗")
    (valid,) = [entry.to_wire() for entry in phone.store.pending(10)]

    def like_it(**record: str) -> dict[str, object]:
        fresh = {"id": str(uuid.uuid4()), **record}
        return {**valid, "change_id": str(uuid.uuid4()), "record": {**valid["record"], **fresh}}

    # The phone's own checks refuse such text; a push from elsewhere may carry it.
    bad_text, bad_name = like_it(notes="门前\x00有狗"), like_it(**{"no\x00tes": "x"})
    answer = transport.push(phone.store.get_meta("token") or "", 0, [bad_text, valid, bad_name])
    statuses = [result["status"] for result in answer["results"]]
    assert statuses == ["rejected", "applied", "rejected"]
    assert "NUL" in str(answer["results"][0]["errors"]["notes"])
    assert "no\ufffdtes" in answer["results"][2]["errors"]


def test_out_of_range_times_are_rejected_per_record_and_never_block_the_batch(
    county: County, transport: FlaskTransport, phone: Phone
) -> None:
    phone.sync()
    household = county.households[county.cadres[0]][0]
    phone.record_visit(household, notes="正常的走访")
    (valid,) = [entry.to_wire() for entry in phone.store.pending(10)]

    def dated(visited_at: str) -> dict[str, object]:
        record = {**valid["record"], "id": str(uuid.uuid4()), "visited_at": visited_at}
        return {**valid, "change_id": str(uuid.uuid4()), "record": record}

    year_one, year_9999 = dated("0001-01-15T08:00:00+08:00"), dated("9999-12-31T23:59:59+08:00")
    answer = transport.push(phone.store.get_meta("token") or "", 0, [valid, year_one, year_9999])
    assert [result["status"] for result in answer["results"]] == ["applied", "rejected", "rejected"]
    assert "1970" in str(answer["results"][1]["errors"]["visited_at"])
    # The phone refuses such a visit before it ever reaches its outbox.
    with pytest.raises(ValidationError):
        phone.record_visit(household, visited_at=datetime(1, 1, 15, tzinfo=UTC))
    assert phone.pending_count() == 1


def test_an_absurd_phone_time_is_refused_with_a_message_not_a_server_error(
    client: FlaskClient, phone: Phone
) -> None:
    for device_time in (10**20, -1, 2**48):
        response = client.post(
            "/api/v1/sync/push", json=push_body([], device_time_ms=device_time), headers=auth(phone)
        )
        assert response.status_code == 422
        assert "check its clock" in str(response.get_json()["errors"])

"""Hostile request bodies, sent as an attacker would over real HTTP to the
server as it runs in production, on SQLite and PostgreSQL: each gets a 4xx
saying what was wrong, never a 500, and a bad record in a push is rejected
alone while the rest of its batch is stored."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from server.db import db
from server.ledger.models import Household
from server.visits.models import Visit
from shared.protocol import PROTOCOL_VERSION
from sync.hlc import wall_clock_ms
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS
from tests.server.conftest import PASSWORD, ApiCounty

EDITABLE = sorted(EDITABLE_HOUSEHOLD_FIELDS)
ENDPOINTS = ["/api/v1/devices", "/api/v1/sync/push", "/api/v1/sync/pull"]


def send(
    county: ApiCounty,
    path: str,
    body: bytes,
    *,
    method: str = "POST",
    gzipped: bool = False,
    content_type: str = "application/json",
) -> tuple[int, Any, Any]:
    """Status, headers and JSON answer of a request with this exact body."""
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {county.token}"}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    request = urllib.request.Request(county.server.url + path, body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def push(county: ApiCounty, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"protocol": PROTOCOL_VERSION, "device_time_ms": wall_clock_ms(), "changes": changes}
    status, _, answer = send(county, "/api/v1/sync/push", json.dumps(body).encode())
    assert status == 200, answer
    results: list[dict[str, Any]] = answer["results"]
    return results


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_json_nested_a_thousand_deep_is_refused_with_400_on_every_endpoint(
    api_county: ApiCounty, gzipped: bool
) -> None:
    nested_record = (
        f'{{"protocol":1,"device_time_ms":0,"changes":[{{"change_id":"{uuid.uuid4()}",'
        f'"kind":"visit","op":"create","stamp":"x","record":{deep(1000)}}}]}}'
    )
    for path in ENDPOINTS:
        for body in (deep(1000), "[" * 1000 + "]" * 1000, nested_record):
            status, _, answer = send(api_county, path, body.encode(), gzipped=gzipped)
            assert (status, answer["message"]) == (
                400,
                "JSON 嵌套层数过多 / the JSON is nested too deeply",
            )


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_five_thousand_digit_integer_is_refused_with_400_wherever_it_stands(
    api_county: ApiCounty, gzipped: bool
) -> None:
    huge = "9" * 5000
    bodies = [
        f'{{"protocol":1,"device_time_ms":{huge},"changes":[]}}',
        f'{{"protocol":{huge}}}',
        f'{{"protocol":1,"device_time_ms":0,"changes":[{{"base_seq":-{huge}}}]}}',
        f'{{"username":"x","password":"y","device_name":{huge}}}',
    ]
    for path in ENDPOINTS:
        for body in bodies:
            status, _, answer = send(api_county, path, body.encode(), gzipped=gzipped)
            assert status == 400
            assert "too many digits" in answer["message"]


def test_nan_infinity_and_broken_text_are_not_json_and_get_400(api_county: ApiCounty) -> None:
    for body in (b'{"protocol": NaN}', b'{"protocol": -Infinity}', b'{"protocol": 1', b"\xff\xfe{"):
        status, _, answer = send(api_county, "/api/v1/sync/pull", body)
        assert (status, answer["message"]) == (
            400,
            "请求内容不是有效的 JSON / the request body is not valid JSON",
        )


def test_a_body_that_is_not_json_is_refused_with_415_saying_what_to_send(
    api_county: ApiCounty,
) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        body = f'{{"protocol":{PROTOCOL_VERSION}}}'.encode()
        status, _, answer = send(api_county, "/api/v1/sync/pull", body, content_type=content_type)
        assert status == 415
        assert "application/json" in answer["message"]


def test_a_nul_in_the_login_is_refused_naming_the_field_and_counts_no_attempt(
    api_county: ApiCounty,
) -> None:
    user = api_county.username
    for login, field_name, message in (
        ({"username": user + "\x00", "password": PASSWORD}, "username", "NUL"),
        ({"username": user, "password": PASSWORD + "\x00"}, "password", "NUL"),
        ({"username": user, "password": PASSWORD, "device_name": "华为\x00"}, "device_name", "NUL"),
        ({"username": user, "password": PASSWORD, "no\x00": 1}, "no\x00", "unknown field"),
    ):
        status, _, answer = send(api_county, "/api/v1/devices", json.dumps(login).encode())
        assert status == 422, answer
        assert list(answer["errors"]["json"]) == [field_name]
        assert message in str(answer["errors"]["json"][field_name])
    # Still logs in: none of those counted as a wrong password.
    status, _, _ = send(
        api_county,
        "/api/v1/devices",
        json.dumps({"username": api_county.username, "password": PASSWORD}).encode(),
    )
    assert status == 201


def _valid_visit(county: ApiCounty) -> dict[str, Any]:
    """A new visit to the cadre's own household, as the phone would push it."""
    record = {
        "id": str(uuid.uuid4()), "cadre_id": county.phone.account["cadre_id"],
        "household_id": county.households[0], "visited_at": "2026-11-30T08:00:00+08:00",
        "kind": "home_visit", "notes": "正常的走访",
    }  # fmt: skip
    return {
        "change_id": str(uuid.uuid4()), "kind": "visit", "op": "create",
        "stamp": str(county.phone.clock.now()), "record": record,
    }  # fmt: skip


def _typed_field_attacks(county: ApiCounty, visit: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A change per field a person types (and per id and code, which no
    database should see with a NUL either), each carrying a NUL."""
    stamp = visit["stamp"]
    household = county.households[1]

    def change(kind: str, op: str, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "change_id": str(uuid.uuid4()), "kind": kind, "op": op, "stamp": stamp,
            "record": record, **extra,
        }  # fmt: skip

    def visit_with(**fields: Any) -> dict[str, Any]:
        return change("visit", "create", {**visit["record"], "id": str(uuid.uuid4()), **fields})

    issue = {
        "id": str(uuid.uuid4()), "village_id": str(uuid.uuid4()), "household_id": household,
        "raised_by_cadre_id": visit["record"]["cadre_id"], "raised_at": visit["record"]["visited_at"],
        "category": "infrastructure", "description": "路灯坏了", "status": "open",
    }  # fmt: skip
    event = {
        "id": str(uuid.uuid4()), "issue_id": str(uuid.uuid4()),
        "at": visit["record"]["visited_at"], "kind": "note", "note": "已报修",
    }  # fmt: skip
    inspection = {
        "id": str(uuid.uuid4()), "household_id": household, "inspected_on": "2026-11-30",
        "knows_cadre": True, "problem_solved": "solved", "satisfaction": "satisfied",
    }  # fmt: skip
    return {
        "visit notes": visit_with(notes="门前\x00有狗"),
        "visit topic": visit_with(topics=["医保\x00政策"]),
        "visit kind": visit_with(kind="home_visit\x00"),
        "visit id": visit_with(household_id=household[:-1] + "\x00"),
        "field name": visit_with(**{"no\x00tes": "x"}),
        "issue description": change("issue", "create", {**issue, "description": "路灯\x00坏了"}),
        "issue department": change(
            "issue", "create", {**issue, "status": "passed_to_department", "department": "县\x00局"}
        ),
        "follow-up note": change("issue_event", "create", {**event, "note": "已\x00报修"}),
        "inspection notes": change("inspection", "create", {**inspection, "notes": "满\x00意"}),
        "household head": change("household", "update", {"id": household, "head_name": "陈\x00"}),
        "household address": change(
            "household", "update", {"id": household, "address": "村\x00口"}
        ),
        "household notes": change("household", "update", {"id": household, "notes": "\x00"}),
        "household phone": change("household", "update", {"id": household, "phones": ["139\x00"]}),
        "household tag": change("household", "update", {"id": household, "tags": ["poor\x00"]}),
        "delete id": change("visit", "delete", {"id": "\x00"}),
        "stamp": {**visit_with(), "stamp": stamp + "\x00"},
        "kind": {**visit_with(), "kind": "visit\x00"},
        "op": {**visit_with(), "op": "create\x00"},
        "change id": {**visit_with(), "change_id": "\x00"},
    }


def test_a_nul_in_every_typed_field_of_a_push_is_rejected_for_its_record_and_the_rest_is_stored(
    api_county: ApiCounty,
) -> None:
    visit = _valid_visit(api_county)
    attacks = _typed_field_attacks(api_county, visit)
    before = _ledger(api_county)
    *refused, stored = push(api_county, [*attacks.values(), visit])
    assert stored["status"] == "applied"
    for label, result in zip(attacks, refused, strict=True):
        assert result["status"] == "rejected", label
        assert result["message"], label
    assert "NUL" in str(refused[0]["errors"]["notes"])
    after = _ledger(api_county)
    assert after["visits"] - before["visits"] == {uuid.UUID(visit["record"]["id"])}
    assert after["households"] == before["households"]


def _ledger(county: ApiCounty) -> dict[str, Any]:
    with db.factory(county.app)() as session:
        return {
            "visits": set(session.scalars(select(Visit.id))),
            # What a phone may edit (a visit moves the household's latest visit).
            "households": sorted(
                repr(tuple(row))
                for row in session.execute(
                    select(Household.id, *(getattr(Household, name) for name in EDITABLE))
                )
            ),
        }


def test_numbers_beyond_any_bound_in_a_record_are_rejected_for_that_record_alone(
    api_county: ApiCounty,
) -> None:
    visit = _valid_visit(api_county)
    household = api_county.households[2]
    big = 10**4000

    def variant(**fields: Any) -> dict[str, Any]:
        record = {**visit["record"], "id": str(uuid.uuid4()), **fields}
        return {**visit, "change_id": str(uuid.uuid4()), "record": record}

    bad = [
        variant(latitude=big, longitude=1),
        variant(latitude=1e308, longitude=-1e308),
        {**variant(), "base_seq": big},
        {
            "change_id": str(uuid.uuid4()),
            "kind": "household",
            "op": "update",
            "stamp": visit["stamp"],
            "record": {"id": household, "members": big},
        },  # fmt: skip
        {
            "change_id": str(uuid.uuid4()),
            "kind": "household",
            "op": "update",
            "stamp": visit["stamp"],
            "record": {"id": household, "notes": "x"},
            "base_seq": big,
        },  # fmt: skip
    ]
    fresh = variant()
    results = push(api_county, [*bad, fresh])
    assert [result["status"] for result in results] == ["rejected"] * len(bad) + ["applied"]


def test_a_wrong_method_gets_405_naming_the_allowed_ones_in_allow(api_county: ApiCounty) -> None:
    for path, method, allowed in (
        ("/api/v1/sync/push", "GET", "POST"),
        ("/api/v1/sync/pull", "PUT", "POST"),
        ("/api/v1/me", "POST", "GET"),
        ("/api/v1/devices", "DELETE", "POST"),
        ("/api/openapi.json", "POST", "GET"),
    ):
        status, headers, answer = send(api_county, path, b"{}", method=method)
        assert status == 405
        assert allowed in headers["Allow"].split(", ")
        assert "method not allowed" in answer["message"]
    request = urllib.request.Request(api_county.server.url + "/login", b"", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as console:
        urllib.request.urlopen(request, timeout=30)
    assert console.value.code == 405
    assert "POST" in console.value.headers["Allow"]
    console.value.close()

"""The OpenAPI document says what the API does: every change a phone may push
and every record it pulls, the device token, and each endpoint's real error
answers; and real answers of every kind of record conform to it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs  # schemathesis's JSON Schema validator
import schemathesis
from flask import Flask
from flask.testing import FlaskClient

from bench.samples import phone_photo
from server.sync.handlers import HANDLERS, TOMBSTONED
from server.sync.openapi import CHANGES
from server.sync.push import NEW_RECORD_SCHEMAS
from server.sync.records import KIND_OF
from shared.protocol import PROTOCOL_VERSION
from sync.phone import Phone
from tests.sync.test_inspector_sync import ANSWERS, _inspector
from tests.sync.transport import FlaskTransport
from tests.sync.world import County

PUSH, PULL, DEVICES, ME = "/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/devices", "/api/v1/me"
WIPED = "/api/v1/devices/wiped"
PHOTO, THUMBNAIL = "/api/v1/photos/{sha256}", "/api/v1/photos/{sha256}/thumbnail"
METHODS = {"get", "head", "post", "put", "patch", "delete"}


def document(client: FlaskClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return answer


def test_every_change_a_push_can_apply_is_described_with_its_records_schema(
    client: FlaskClient,
) -> None:
    schemas = document(client)["components"]["schemas"]
    variants = schemas["PushRequest"]["properties"]["changes"]["items"]["oneOf"]
    described = {}
    for variant in variants:
        change = schemas[variant["$ref"].rsplit("/", 1)[1]]["properties"]
        (kind,), (op,) = change["kind"]["enum"], change["op"]["enum"]
        described[kind, op] = change["record"]["$ref"].rsplit("/", 1)[1]
    creates = {
        (kind, "create"): type(loader.schema).__name__
        for kind, loader in NEW_RECORD_SCHEMAS.items()
    }
    assert described == {
        **{key: name.removesuffix("Schema") for key, name in creates.items()},
        ("household", "update"): "HouseholdEdit",
        **{(kind, "delete"): "RecordId" for kind in TOMBSTONED},
    }
    # Only the one change that is always refused goes undescribed.
    assert set(HANDLERS) - set(described) == {("issue_event", "delete")}
    assert len(CHANGES) == len(described)
    edit = schemas["HouseholdEdit"]
    assert edit["required"] == ["id"]
    assert set(edit["properties"]) == {
        "id",
        "head_name",
        "members",
        "address",
        "phones",
        "tags",
        "notes",
    }


def test_every_kind_of_pulled_record_is_described_and_told_apart_by_its_kind(
    client: FlaskClient,
) -> None:
    records = document(client)["components"]["schemas"]["PullResponse"]["properties"]["records"]
    mapping = records["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(KIND_OF.values())
    assert [{"$ref": ref} for ref in mapping.values()] == records["items"]["oneOf"]


def test_the_document_is_valid_json_schema_throughout(client: FlaskClient) -> None:
    for name, schema in document(client)["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_the_device_token_is_declared_and_required_where_the_server_checks_it(
    client: FlaskClient,
) -> None:
    doc = document(client)
    assert doc["components"]["securitySchemes"]["device_token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token POST /api/v1/devices returned: 'Authorization: Bearer <token>'",
    }
    security = {
        (path, method): op.get("security")
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    }
    token = [{"device_token": []}]
    assert security == {
        (DEVICES, "post"): None,
        (ME, "get"): token,
        (WIPED, "post"): token,
        (PUSH, "post"): token,
        (PULL, "post"): token,
        (PHOTO, "head"): token,
        (PHOTO, "patch"): token,
        (PHOTO, "get"): token,
        (THUMBNAIL, "get"): token,
    }


def test_each_endpoint_lists_the_answers_it_really_gives_and_no_catch_all(
    client: FlaskClient,
) -> None:
    paths = document(client)["paths"]
    answers = {
        (path, method): sorted(op["responses"])
        for path, ops in paths.items()
        for method, op in ops.items()
        if method in METHODS
    }
    body = ["400", "413", "415", "422"]
    fetch = ["200", "304", "401", "404", "410", "503"]
    # 503 everywhere: any endpoint answers it while the database is unreachable.
    assert answers == {
        (DEVICES, "post"): sorted(["201", *body, "401", "429", "503"]),
        (ME, "get"): ["200", "401", "503"],
        (WIPED, "post"): ["204", "401", "409", "503"],
        (PUSH, "post"): sorted(["200", *body, "401", "503"]),
        (PULL, "post"): sorted(["200", *body, "401", "403", "410", "503"]),
        (PHOTO, "head"): ["200", "401", "404", "410", "503"],
        (PHOTO, "patch"): sorted(["204", *body, "401", "404", "409", "410", "411", "503"]),
        (PHOTO, "get"): fetch,
        (THUMBNAIL, "get"): fetch,
    }
    login = paths[DEVICES]["post"]["responses"]
    for status in ("429", "503"):
        assert login[status]["headers"]["Retry-After"]["required"] is True
    assert paths[PUSH]["post"]["responses"]["503"]["headers"]["Retry-After"]["required"]
    assert "cursor" in paths[PULL]["post"]["responses"]["400"]["description"]


def test_real_pushes_and_pulls_of_every_kind_conform_to_the_document(
    sync_app: Flask, county: County, transport: FlaskTransport
) -> None:
    client = sync_app.test_client()
    operations = schemathesis.openapi.from_dict(document(client))
    cadre = county.cadres[0]
    household = county.households[cadre][0]
    phone = county.phone(cadre, transport)
    phone.sync()
    phone.record_visit(
        household, notes="入户走访", location=(23.7, 117.4),
        problems=[{"category": "medical", "description": "医保报销", "aid_amount": "1200.50"}],
    )  # fmt: skip
    (issue,) = phone.issues(household)
    phone.follow_up(issue["id"], status="in_progress")
    phone.edit_household(household, notes="门前有狗")
    phone.delete("visit", phone.record_visit(household))
    phone.attach_photo("issue", issue["id"], phone_photo())
    inspector = county.phone(_inspector(county, [household]), transport)
    # Before its check, while the household is the inspector's to pull.
    kinds = _pull_everything(client, operations, inspector)
    inspector.sync()
    inspector.record_inspection(household, **ANSWERS)
    for device in (phone, inspector):
        body = {
            "protocol": PROTOCOL_VERSION,
            "device_time_ms": 0,
            "changes": [entry.to_wire() for entry in device.store.pending(50)],
        }
        answer = client.post(PUSH, json=body, headers=_bearer(device))
        operations[PUSH]["POST"].validate_response(answer)
        assert {result["status"] for result in answer.get_json()["results"]} == {"applied"}
    kinds |= _pull_everything(client, operations, county.phone(cadre, transport))
    # The small county has no village leaders; no phone pulls inspections back.
    assert kinds == set(KIND_OF.values()) - {"village_link", "inspection"}


def _bearer(phone: Phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.store.get_meta('token')}"}


def _pull_everything(client: FlaskClient, operations: Any, phone: Phone) -> set[str]:
    """The kinds of record a phone pulls from the start, each page checked."""
    kinds: set[str] = set()
    cursor, held, more = None, [], True
    while more:
        body = {"protocol": PROTOCOL_VERSION, "cursor": cursor, "held": held}
        answer = client.post(PULL, json=body, headers=_bearer(phone))
        operations[PULL]["POST"].validate_response(answer)
        page = json.loads(answer.get_data())
        kinds |= {record["kind"] for record in page["records"]}
        held += [record["id"] for record in page["records"] if record["kind"] == "household"]
        cursor, more = page["cursor"], page["more"]
    return kinds

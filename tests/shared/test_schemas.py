"""The wire schemas refuse bad records field by field, in Chinese and English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from shared import protocol, schemas
from shared.schemas import (
    HouseholdSchema,
    IssueEventSchema,
    IssueSchema,
    VisitSchema,
)
from tests.shared.records import household, issue, visit


def errors_of(schema: object, data: dict[str, object]) -> dict[str, object]:
    with pytest.raises(ValidationError) as refused:
        schema.load(data)  # type: ignore[attr-defined]
    return refused.value.messages  # type: ignore[return-value]


def test_a_valid_household_loads_with_defaults_for_optional_fields() -> None:
    loaded = HouseholdSchema().load(household())
    assert loaded["members"] == 5
    assert loaded["address"] == ""
    assert loaded["notes"] == ""


def test_a_phone_number_that_is_not_one_is_named_in_both_languages() -> None:
    errors = errors_of(HouseholdSchema(), household(phones=["13905961234", "12345"]))
    message = errors["phones"][1][0]  # type: ignore[index]
    assert "12345" in message
    assert "不是有效的电话号码" in message
    assert "is not a phone number" in message


def test_each_wrong_field_gets_its_own_message() -> None:
    errors = errors_of(
        HouseholdSchema(),
        household(members=0, tags=["rich"], head_name="", shoe_size=42),
    )
    assert set(errors) == {"members", "tags", "head_name", "shoe_size"}
    assert "未知字段" in errors["shoe_size"][0]  # type: ignore[index]
    assert "unknown field" in errors["shoe_size"][0]  # type: ignore[index]


def test_members_must_be_a_whole_number_not_a_string() -> None:
    errors = errors_of(HouseholdSchema(), household(members="5"))
    assert "整数" in errors["members"][0]  # type: ignore[index]


def test_a_visit_time_without_a_time_zone_is_refused() -> None:
    errors = errors_of(VisitSchema(), visit(visited_at="2026-05-27T08:36:00"))
    assert "时区" in errors["visited_at"][0]  # type: ignore[index]


def test_a_visit_location_needs_both_coordinates() -> None:
    assert "latitude" in errors_of(VisitSchema(), visit(latitude=23.7))


def test_an_issue_passed_to_a_department_must_name_the_department() -> None:
    passed_on = issue(status="passed_to_department")
    errors = errors_of(IssueSchema(), passed_on)
    assert "department" in errors
    loaded = IssueSchema().load({**passed_on, "department": "城管铜陵中队", "aid_amount": "6000"})
    assert str(loaded["aid_amount"]) == "6000.00"


def test_a_follow_up_note_cannot_be_empty_or_change_the_status() -> None:
    base = {
        "id": str(uuid.uuid4()),
        "issue_id": str(uuid.uuid4()),
        "at": "2015-05-20T10:00:00+08:00",
        "kind": "note",
    }
    assert "note" in errors_of(IssueEventSchema(), base)
    assert "status" in errors_of(IssueEventSchema(), {**base, "note": "已协调", "status": "solved"})
    assert "status" in errors_of(IssueEventSchema(), {**base, "kind": "status"})


def _string_fields(field: fields.Field[Any]) -> Iterator[fields.String]:
    if isinstance(field, fields.String):
        yield field
    elif isinstance(field, fields.List):
        yield from _string_fields(field.inner)


# What the server answers is written by the server, never loaded.
ANSWERS = {
    protocol.PushResultSchema,
    protocol.PushResponseSchema,
    protocol.PulledRecordSchema,
    protocol.PullResponseSchema,
}
WIRE_SCHEMAS = [
    schema
    for module in (schemas, protocol)
    for schema in vars(module).values()
    if isinstance(schema, type)
    and issubclass(schema, Schema)
    and schema.__module__ == module.__name__
    and schema not in ANSWERS
]


@pytest.mark.parametrize("schema", WIRE_SCHEMAS, ids=lambda schema: schema.__name__)
def test_no_string_field_of_the_wire_lets_a_nul_through(schema: type[Schema]) -> None:
    """PostgreSQL stores no NUL in text: every string a phone, the console or
    the CLI sends is refused with one, whatever else the field accepts."""
    for name, declared in schema().load_fields.items():
        for field in _string_fields(declared):
            choices = [
                choice
                for validator in field.validators
                if isinstance(validator, validate.OneOf)
                for choice in validator.choices
            ]
            for valid in [*choices, "13905961234", "admin", "门前有狗", "x" * 30]:
                with pytest.raises(ValidationError):
                    field.deserialize(valid + "\x00")
                    pytest.fail(f"{schema.__name__}.{name} took {valid!r} with a NUL")

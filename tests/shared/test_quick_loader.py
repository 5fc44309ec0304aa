"""QuickLoader gives what its schema's load gives, record for record: the same
data loaded, or the same refusal with the same messages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, pre_load

from shared.protocol import ChangeSchema
from shared.schemas import (
    HouseholdSchema,
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    QuickLoader,
    RecordSchema,
    VisitSchema,
    text,
)
from tests.shared.records import household, issue, visit

VISIT = visit(
    roles=["policy", "opinions"],
    topics=["医保政策"],
    notes="入户走访，了解家庭近况",
    latitude=23.7,
    longitude=117.4,
    amends_id=None,
)
# A valid record of each schema the push loads, and one more.
EXAMPLES: list[tuple[Any, dict[str, Any]]] = [
    (VisitSchema(), VISIT),
    (
        ChangeSchema(),
        {
            "change_id": str(uuid.uuid4()),
            "kind": "visit",
            "op": "create",
            "stamp": "000001781234567890-0000-abcdef",
            "record": VISIT,
            "base_seq": 0,
        },
    ),
    (
        IssueSchema(),
        issue(
            household_id=str(uuid.uuid4()),
            status="passed_to_department",
            department="县医保局",
            aid_amount="1200.50",
        ),
    ),
    (
        IssueEventSchema(),
        {
            "id": str(uuid.uuid4()),
            "issue_id": str(uuid.uuid4()),
            "at": "2026-05-28T09:00:00+08:00",
            "kind": "status",
            "status": "in_progress",
            "base_status": "open",
        },
    ),
    (
        InspectionSchema(),
        {
            "id": str(uuid.uuid4()),
            "household_id": str(uuid.uuid4()),
            "inspected_on": "2026-05-20",
            "knows_cadre": True,
            "last_visit_reported": "2026-05-01",
            "problem_solved": "none_raised",
            "satisfaction": "satisfied",
            "notes": "",
        },
    ),
    (HouseholdSchema(), household()),
]
# What a phone might send instead: wrong types, nulls, bad text, other fields' values.
ODD_VALUES = [
    None, "", "x", "a\x00b", "x" * 2001, 0, -1, 1.5, 91.0, 10**12, True, False, [], {}, ["x"],
    [None], ["policy"], str(uuid.uuid4()), "2026-05-27T08:36:00+08:00", "2026-05-27T08:36:00",
    "2026-05-27", "12.5", "home_visit", "note", "status", "open", "solved_on_spot",
    "passed_to_department", "13905961234", "create", "update", "household",
]  # fmt: skip
ODD_KEYS = ["unknown_field", "seq", "id"]


def outcome(load: Any, data: Any) -> tuple[str, Any]:
    try:
        return "loaded", load(data)
    except ValidationError as refused:
        return "refused", refused.messages


@st.composite
def altered(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    """One of the examples with some fields dropped, replaced or added."""
    schema, example = draw(st.sampled_from(EXAMPLES))
    data = dict(example)
    for name in draw(st.lists(st.sampled_from([*example, *ODD_KEYS]), max_size=3)):
        if draw(st.booleans()):
            data.pop(name, None)
        else:
            data[name] = draw(st.sampled_from(ODD_VALUES))
    return schema, data


@settings(max_examples=1000)
@given(altered())
def test_quick_loading_gives_what_the_schema_gives_for_any_record(
    case: tuple[Any, dict[str, Any]],
) -> None:
    schema, data = case
    assert outcome(QuickLoader(schema).load, data) == outcome(schema.load, data)


class CountingLoader(QuickLoader):
    """Counts the records handed to marshmallow's own load."""

    slow = 0

    def _load_slowly(self, data: Any) -> dict[str, Any]:
        self.slow += 1
        return super()._load_slowly(data)


@pytest.mark.parametrize(("schema", "example"), EXAMPLES)
def test_a_valid_record_loads_quickly_and_alike(schema: Any, example: dict[str, Any]) -> None:
    loader = CountingLoader(schema)
    assert loader.load(example) == schema.load(example)
    assert loader.slow == 0


def test_a_refused_record_is_refused_by_the_schema_itself_with_its_messages() -> None:
    loader = CountingLoader(VisitSchema())
    with pytest.raises(ValidationError) as refused:
        loader.load({**VISIT, "notes": "a\x00b"})
    assert loader.slow == 1
    assert refused.value.messages == {
        "notes": ["文字中不能含有空字符 / text may not contain the NUL character"]
    }


def test_a_schema_with_load_hooks_is_not_taken() -> None:
    class Trimmed(RecordSchema):
        name = text(10)

        @pre_load
        def _trim(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {**data, "name": data["name"].strip()}

    with pytest.raises(ValueError, match="only plain schemas load quickly"):
        QuickLoader(Trimmed())

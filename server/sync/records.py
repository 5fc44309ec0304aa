"""How each synced record looks on the wire when a phone pulls it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.types import TypeDecorator

from server.db import Base
from server.inspections.models import Inspection
from server.issues.models import Issue, IssueEvent
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.visits.models import Visit

# The columns a phone receives, per kind. Anything else (audit, hashes,
# server bookkeeping) stays on the server.
WIRE_FIELDS: dict[type[Base], tuple[str, ...]] = {
    County: ("name", "service_numbers"),
    Town: ("name",),
    Village: ("town_id", "name"),
    Grid: ("village_id", "name"),
    WorkUnit: ("name", "kind", "town_id"),
    Cadre: ("name", "unit_id", "phone", "rank", "active"),
    VillageLink: ("village_id", "role", "cadre_id", "started_at", "ended_at"),
    # Only inspectors' phones get these: whether a household knows its cadre.
    HouseholdLink: ("household_id", "cadre_id", "started_at", "ended_at"),
    Household: (
        "code",
        "grid_id",
        "head_name",
        "members",
        "address",
        "phones",
        "tags",
        "notes",
        "field_stamps",
        "deleted_at",
    ),
    Visit: (
        "cadre_id",
        "household_id",
        "visited_at",
        "kind",
        "roles",
        "topics",
        "notes",
        "latitude",
        "longitude",
        "amends_id",
        "stamp",
        "deleted_at",
    ),
    Issue: (
        "village_id",
        "household_id",
        "visit_id",
        "raised_by_cadre_id",
        "raised_at",
        "category",
        "description",
        "status",
        "department",
        "aid_amount",
        "stamp",
        "deleted_at",
    ),
    IssueEvent: (
        "issue_id",
        "at",
        "kind",
        "status",
        "base_status",
        "department",
        "note",
        "cadre_id",
        "stamp",
    ),
    Inspection: (
        "household_id",
        "inspected_on",
        "knows_cadre",
        "last_visit_reported",
        "problem_solved",
        "satisfaction",
        "notes",
        "stamp",
        "deleted_at",
    ),
}

KIND_OF: dict[type[Base], str] = {
    County: "county",
    Town: "town",
    Village: "village",
    Grid: "grid",
    WorkUnit: "work_unit",
    Cadre: "cadre",
    VillageLink: "village_link",
    HouseholdLink: "household_link",
    Household: "household",
    Visit: "visit",
    Issue: "issue",
    IssueEvent: "issue_event",
    Inspection: "inspection",
}


def wire_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _needs_converting(column: ColumnElement[Any]) -> bool:
    """Whether the column's values can be ones wire_value changes."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    try:
        python_type: Any = kind.python_type
    except NotImplementedError:  # a type that does not say: ask wire_value
        return True
    return issubclass(python_type, uuid.UUID | Decimal | datetime | date)


# Per kind, the positions in WIRE_FIELDS of the values wire_value may change:
# a pull sends thousands of records, and most values go out as they are.
CONVERTED: dict[type[Base], tuple[int, ...]] = {
    model: tuple(
        index
        for index, name in enumerate(names)
        if _needs_converting(model.__table__.columns[name])
    )
    for model, names in WIRE_FIELDS.items()
}


def columns(model: type[Base]) -> list[Any]:
    """The columns to select for ``model``'s wire form (id and seq first)."""
    return [
        model.id,  # type: ignore[attr-defined]
        model.seq,  # type: ignore[attr-defined]
        *(getattr(model, name) for name in WIRE_FIELDS[model]),
    ]


def to_wire(model: type[Base], row: Any) -> dict[str, Any]:
    """A row selected with ``columns(model)`` as the phone receives it."""
    record_id, seq, *values = row
    for index in CONVERTED[model]:
        values[index] = wire_value(values[index])
    return {
        "kind": KIND_OF[model],
        "id": str(record_id),
        "seq": seq,
        "data": dict(zip(WIRE_FIELDS[model], values, strict=True)),
    }

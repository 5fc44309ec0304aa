"""The sync messages as the API's document describes them: every change a
phone may push and every record it pulls, one schema per kind.

Built from what does the work, so the document cannot drift from it: a
change's record from the schema its push handler loads it with
(push.NEW_RECORD_SCHEMAS, handlers.TOMBSTONED, the editable household fields), a
pulled record's data from the columns a pull reads (records.WIRE_FIELDS).
These schemas document; push and pull validate as push.py and pull.py say.
"""

from __future__ import annotations

import copy
import enum
import typing
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from server.api import OneOf
from server.db import Base
from server.sync import records as wire
from server.sync.handlers import TOMBSTONED
from server.sync.push import NEW_RECORD_SCHEMAS
from shared import protocol
from shared.schemas import HouseholdSchema, RecordSchema, record_id
from sync.merge import EDITABLE_HOUSEHOLD_FIELDS


def _camel(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_"))


def _constant(value: str) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf([value]))


def _schema(name: str, base: type[Schema], declared: dict[str, fields.Field]) -> type[Schema]:
    return type(name, (base,), dict(declared))


# --- what a phone pushes -------------------------------------------------------


class RecordIdSchema(RecordSchema):
    """The record a delete turns into a tombstone: only its author's phones may."""

    id = record_id()


def _household_edit() -> type[Schema]:
    """A household update: its id and the fields a phone may edit, any of them."""
    declared: dict[str, fields.Field] = {"id": record_id()}
    for name in sorted(EDITABLE_HOUSEHOLD_FIELDS):
        field = copy.copy(HouseholdSchema._declared_fields[name])
        field.required = False
        declared[name] = field
    return _schema("HouseholdEditSchema", RecordSchema, declared)


def _change(kind: str, op: str, record: type[Schema]) -> type[Schema]:
    return _schema(
        f"{_camel(kind)}{op.title()}ChangeSchema",
        protocol.ChangeSchema,
        {
            "kind": _constant(kind),
            "op": _constant(op),
            "record": fields.Nested(record, required=True),
        },
    )


CHANGES: dict[str, type[Schema]] = {
    **{
        f"{kind} create": _change(kind, "create", type(loader.schema))
        for kind, loader in NEW_RECORD_SCHEMAS.items()
    },
    "household update": _change("household", "update", _household_edit()),
    **{f"{kind} delete": _change(kind, "delete", RecordIdSchema) for kind in TOMBSTONED},
}


class PushRequestSchema(protocol.PushRequestSchema):
    changes = protocol.changes_field(OneOf(CHANGES))


# --- what a phone pulls ----------------------------------------------------------


def _wire_field(model: type[Base], name: str, hints: dict[str, Any]) -> fields.Field:
    """The field of a column's value as records.to_wire writes it."""
    column = model.__table__.columns[name]
    options: dict[str, Any] = {"required": True, "allow_none": column.nullable}
    python_type = wire._python_type(column)
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return fields.String(validate=validate.OneOf([m.value for m in python_type]), **options)
    if python_type is uuid.UUID:
        return fields.UUID(**options)
    if python_type is datetime:
        return fields.AwareDateTime(**options)
    if python_type is date:
        return fields.Date(**options)
    if python_type is Decimal:
        return fields.String(metadata={"format": "decimal"}, **options)
    simple: dict[Any, type[fields.Field]] = {
        str: fields.String,
        int: fields.Integer,
        float: fields.Float,
        bool: fields.Boolean,
    }
    if python_type in simple:
        return simple[python_type](**options)
    if typing.get_args(hints[name]) == (list[str],):
        return fields.List(fields.String(), **options)
    return fields.Dict(**options)


def _pulled(model: type[Base]) -> type[Schema]:
    kind = wire.KIND_OF[model]
    hints = typing.get_type_hints(model)
    data = _schema(
        f"{_camel(kind)}DataSchema",
        RecordSchema,
        {name: _wire_field(model, name, hints) for name in wire.WIRE_FIELDS[model]},
    )
    return _schema(
        f"Pulled{_camel(kind)}Schema",
        protocol.PulledRecordSchema,
        {"kind": _constant(kind), "data": fields.Nested(data, required=True)},
    )


PULLED = {wire.KIND_OF[model]: _pulled(model) for model in wire.WIRE_FIELDS}


class PullResponseSchema(protocol.PullResponseSchema):
    records = fields.List(OneOf(PULLED, discriminator="kind"), required=True)

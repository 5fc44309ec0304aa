"""How each synced record looks on the wire when a phone pulls it.

A pull sends thousands of records. On PostgreSQL the database writes each
one's JSON itself (``wire_json``), which spares the server parsing every
value into Python and writing it out again; elsewhere each row selected
with ``columns`` goes through ``to_wire``. Both give the same JSON
(tests/server/test_wire.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
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
from server.photos.models import Photo
from server.visits.models import Visit
from shared import protocol

# The table of each kind of record a phone receives.
MODEL_OF: dict[str, type[Base]] = {
    "county": County,
    "town": Town,
    "village": Village,
    "grid": Grid,
    "work_unit": WorkUnit,
    "cadre": Cadre,
    "village_link": VillageLink,
    # Only inspectors' phones get these: whether a household knows its cadre.
    "household_link": HouseholdLink,
    "household": Household,
    "visit": Visit,
    "issue": Issue,
    "issue_event": IssueEvent,
    "inspection": Inspection,
    "photo": Photo,
}
KIND_OF: dict[type[Base], str] = {model: kind for kind, model in MODEL_OF.items()}

# The columns a phone receives, per kind: as shared/protocol.py describes them
# (a county has no schema: its own). Anything else (audit, hashes, server
# bookkeeping) stays on the server.
WIRE_FIELDS: dict[type[Base], tuple[str, ...]] = {
    model: ("name", "service_numbers") if model is County else protocol.pulled_fields(kind)
    for kind, model in MODEL_OF.items()
}


def wire_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _python_type(column: ColumnElement[Any]) -> Any:
    """The Python type of the column's values; None if its type does not say."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _needs_converting(column: ColumnElement[Any]) -> bool:
    """Whether the column's values can be ones wire_value changes."""
    python_type = _python_type(column)
    # A type that does not say: ask wire_value.
    return python_type is None or issubclass(python_type, uuid.UUID | Decimal | datetime | date)


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


def to_wire(model: type[Base], row: Any, as_text: bool = False) -> dict[str, Any]:
    """A row selected with ``columns(model)`` as the phone receives it: its
    data as an object, or ``as_text`` as JSON text with the fields the phone
    reads of every record beside it (shared/protocol.py, RECORDS_HEADER)."""
    record_id, seq, *values = row
    for index in CONVERTED[model]:
        values[index] = wire_value(values[index])
    data = dict(zip(WIRE_FIELDS[model], values, strict=True))
    wire = {"kind": KIND_OF[model], "id": str(record_id), "seq": seq}
    if not as_text:
        return wire | {"data": data}
    beside = {name: data[name] for name in protocol.FIELDS_BESIDE_TEXT if name in data}
    return wire | beside | {"text": _compact(data)}


def to_json(model: type[Base], row: Any, as_text: bool = False) -> str:
    """``to_wire``, as the JSON text that goes out."""
    return _compact(to_wire(model, row, as_text))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sql_wire_value(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column's value as ``wire_value`` writes it, computed by PostgreSQL."""
    python_type = _python_type(column) or object
    if issubclass(python_type, datetime):
        # datetime.isoformat in UTC: microseconds only when there are some.
        utc = func.timezone("UTC", column)
        fraction = case(
            (func.date_trunc("second", column) == column, ""),
            else_=func.to_char(utc, ".US"),
        )
        return func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + fraction + "+00:00"
    if issubclass(python_type, Decimal):
        return cast(column, Text)
    return column  # UUIDs, dates and JSON come out of json_build_object as to_wire writes them


def wire_json(model: type[Base], table: Any, as_text: bool = False) -> ColumnElement[str]:
    """The JSON text of ``to_wire`` for the rows of ``table`` (``model``'s table or
    a subquery of it), built by PostgreSQL."""
    names = WIRE_FIELDS[model]

    def pairs(chosen: Sequence[str]) -> list[Any]:
        return [
            part
            for name in chosen
            for part in (literal(name, String), _sql_wire_value(table.c[name]))
        ]

    data = func.json_build_object(*pairs(names))
    if as_text:
        beside = [name for name in protocol.FIELDS_BESIDE_TEXT if name in names]
        rest = [*pairs(beside), literal("text", String), cast(data, Text)]
    else:
        rest = [literal("data", String), data]
    return cast(
        func.json_build_object(
            literal("kind", String),
            literal(KIND_OF[model], String),
            literal("id", String),
            table.c.id,
            literal("seq", String),
            table.c.seq,
            *rest,
        ),
        Text,
    )


@cache
def _wire_json_column(model: type[Base], rows: str, as_text: bool) -> ColumnElement[str]:
    """``wire_json`` of the rows named ``rows`` (the model's table, or a
    subquery of its rows so named), compiled to PostgreSQL's SQL once: a pull
    runs it thousands of times, and SQLAlchemy would walk the whole expression
    at each to find its compiled form."""
    table = model.__table__
    named = table if rows == table.name else table.alias(rows)  # type: ignore[attr-defined]
    sql = wire_json(model, named, as_text).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return literal_column(str(sql), Text)


@dataclass(frozen=True, eq=False)
class Records:
    """Which records of one table a pull sends: the rows of ``model`` matching
    ``where``, whose parameters each pull gives (``bindparam``).

    Made once and used for every pull, so that the statements reading them
    are built once too (see ``wire_rows``): SQLAlchemy's cost of building a
    statement and finding its compiled form is more than the database's of
    running it.

    ``each`` (a column, and the name of the list parameter of the values it
    may have) has PostgreSQL choose the first rows for each value apart, from
    an index on (column, seq), and merge them: it then reads about ``limit``
    rows, not every row after the cursor of every value (a phone that was away
    long has many).
    """

    model: type[Base]
    where: ColumnElement[bool]
    each: tuple[ColumnElement[Any], str] | None = None

    @property
    def within(self) -> ColumnElement[bool]:
        """``where``, and for ``each`` its column among the values."""
        if self.each is None:
            return self.where
        column, name = self.each
        return and_(self.where, column.in_(bindparam(name, expanding=True)))


def wire_rows(
    connection: Connection,
    tables: Sequence[Records],
    params: dict[str, Any] | None = None,
    limit: int | None = None,
    as_text: bool = False,
) -> list[tuple[int, str]]:
    """The seq and wire JSON of the records of ``tables``, table after table,
    in seq order within each, at most ``limit`` of each table (their data
    ``as_text``: see ``to_wire``).

    On PostgreSQL in one statement (a UNION ALL of the tables' queries):
    a pull's round trips and statements cost more than the rows it reads.
    """
    params = dict(params or {})
    if limit is not None:
        params["limit"] = limit
    parts: list[tuple[Records, int | None]] = []
    for part, records in enumerate(tables):
        count = None
        if records.each is not None:
            values = params[records.each[1]]
            if not values:
                continue  # no value, no row
            count = len(values)
            params.update((f"each_{part}_{number}", value) for number, value in enumerate(values))
        parts.append((records, count))
    if not parts:
        return []
    limited = limit is not None
    if connection.dialect.name == "postgresql":
        rows = connection.execute(_wire_union(tuple(parts), limited, as_text), params)
        return [(seq, text) for _, seq, text in rows]
    return [
        (row[1], to_json(records.model, row, as_text))
        for records, _ in parts
        for row in connection.execute(_columns_query(records, limited), params)
    ]


@lru_cache(maxsize=256)
def _columns_query(records: Records, limited: bool) -> Select[Any]:
    """The rows of ``records`` as ``columns`` gives them (for ``to_json``)."""
    model = records.model
    limit = bindparam("limit") if limited else None
    return select(*columns(model)).where(records.within).order_by(model.seq).limit(limit)  # type: ignore[attr-defined]


@lru_cache(maxsize=256)
def _wire_union(parts: tuple[tuple[Records, int | None], ...], limited: bool, as_text: bool) -> Any:
    """PostgreSQL's statement of ``wire_rows``: each part's number, seq and JSON."""
    queries = []
    for part, (records, count) in enumerate(parts):
        model = records.model
        rows: Any = model.__table__
        if limited:
            # The JSON of the chosen rows only, not of every row the choice looks at.
            rows = _first_rows(records, part, count).subquery(f"chosen_{part}")
        query = select(
            literal_column(str(part), Integer).label("part"),
            rows.c.seq.label("seq"),
            _wire_json_column(model, rows.name, as_text).label("json"),
        )
        queries.append(query if limited else query.where(records.within))
    union = union_all(*queries).subquery()
    return select(union).order_by(union.c.part, union.c.seq)


def _first_rows(records: Records, part: int, count: int | None) -> Select[Any]:
    """The first ``limit`` rows of ``records`` by seq; for ``each``, those of
    each value apart, merged."""
    table = records.model.__table__
    limit = bindparam("limit")
    if records.each is None:
        return select(table).where(records.within).order_by(table.c.seq).limit(limit)
    column = records.each[0]
    firsts = union_all(
        *(
            select(table)
            .where(records.where, column == bindparam(f"each_{part}_{number}"))
            .order_by(table.c.seq)
            .limit(limit)
            for number in range(count or 0)
        )
    ).subquery()
    return select(firsts).order_by(firsts.c.seq).limit(limit)

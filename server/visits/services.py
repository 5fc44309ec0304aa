"""Keeping each household's and cadre's latest visit (``last_visited_at``) true.

The console counts a county's coverage by when each household was last
visited, and flags cadres by when they last visited anyone; grouping
millions of visits for each page would be too slow, so households and
cadres carry the time of their latest live visit, and only this module
writes it. Visits written through the ORM keep it by themselves (the mapper
events below); bulk inserts, which bypass the ORM, call ``visits_inserted``
(a push's batch) or ``refresh_last_visits`` (the demo county).

Two rules keep it right when transactions write one household's visits at once:

- a new visit only ever brings the time forward, with a conditional UPDATE
  that PostgreSQL re-evaluates on the row version it finally locks: whichever
  transaction commits first, the later visit's time stays;
- a tombstone may take it back, so the time is counted again from the visits,
  but only after the rows are locked, in a statement of its own: the count
  then sees every visit committed before the lock, and a transaction that
  commits a visit after it brings the time forward again by the first rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Table,
    Update,
    bindparam,
    case,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapper, Session

from server.ledger.models import Cadre, Household
from server.visits.models import Visit

Bind = Session | Connection
VISIT = cast(Table, Visit.__table__)
# Each table that carries a latest visit, and the visit's column naming its row.
KEPT: tuple[tuple[Table, Column[uuid.UUID]], ...] = (
    (cast(Table, Household.__table__), VISIT.c.household_id),
    (cast(Table, Cadre.__table__), VISIT.c.cadre_id),
)


def visits_inserted(bind: Bind, rows: Iterable[dict[str, Any]]) -> None:
    """Visits just inserted, as their column values: bring their households and cadres forward."""
    live = [row for row in rows if row.get("deleted_at") is None]
    for table, key in KEPT:
        latest: dict[uuid.UUID, datetime] = {}
        for row in live:
            record_id, visited_at = row[key.name], row["visited_at"]
            if record_id not in latest or visited_at > latest[record_id]:
                latest[record_id] = visited_at
        if latest:
            _bring_forward(bind, table, latest)


def _bring_forward(bind: Bind, table: Table, latest: dict[uuid.UUID, datetime]) -> None:
    bind.execute(
        _bring_forward_statement(table),
        [{"record": record, "visited_at": at} for record, at in latest.items()],
    )


@cache  # built once: every push runs it
def _bring_forward_statement(table: Table) -> Update:
    current = table.c.last_visited_at
    visited_at = bindparam("visited_at", type_=current.type)
    return (
        update(table)
        .where(table.c.id == bindparam("record"))
        .values(
            last_visited_at=case(
                (current.is_(None) | (current < visited_at), visited_at), else_=current
            ),
            **_unchanged(table),
        )
    )


def visits_removed(bind: Bind, rows: Iterable[dict[str, Any]]) -> None:
    """Visits just made tombstones, as their column values: count their households' and
    cadres' latest visit again."""
    rows = list(rows)
    for table, key in KEPT:
        ids = sorted({row[key.name] for row in rows})
        if not ids:
            continue
        # Locked before the visits are read: see the module's docstring.
        bind.execute(
            select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
        )
        _count_again(bind, table, key, table.c.id.in_(ids))


def refresh_last_visits(bind: Bind) -> None:
    """Count every household's and cadre's latest visit again (after a bulk load)."""
    for table, key in KEPT:
        _count_again(bind, table, key)


def _count_again(bind: Bind, table: Table, key: Column[uuid.UUID], *where: Any) -> None:
    latest = select(func.max(VISIT.c.visited_at)).where(
        key == table.c.id, VISIT.c.deleted_at.is_(None)
    )
    bind.execute(
        update(table)
        .where(*where)
        .values(last_visited_at=latest.scalar_subquery(), **_unchanged(table))
    )


def _unchanged(table: Table) -> dict[str, Any]:
    # A visit is no change to a household's facts: its updated_at stays.
    return {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}


@event.listens_for(Visit, "after_insert")
def _visit_inserted(_mapper: Mapper[Visit], connection: Connection, visit: Visit) -> None:
    visits_inserted(connection, [inspect(visit).dict])


@event.listens_for(Visit, "after_update")
def _visit_updated(_mapper: Mapper[Visit], connection: Connection, visit: Visit) -> None:
    # Visits are append-only: what changes is whether one is a tombstone.
    if inspect(visit).attrs.deleted_at.history.has_changes():
        visits_removed(connection, [inspect(visit).dict])

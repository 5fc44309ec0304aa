"""The database helpers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.db import insert_rows, pipelined
from server.visits.models import Visit
from shared.vocab import VisitKind
from tests.builders import LedgerBuilder


def _visit_rows(session: Session) -> list[dict[str, object]]:
    """A small batch of visits, as a push writes them."""
    build = LedgerBuilder(session)
    household = build.household()
    cadre = build.cadre()
    return [{**_visit(household.id, cadre.id), "seq": seq} for seq in range(1, 21)]


def _visit(household_id: uuid.UUID, cadre_id: uuid.UUID) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "cadre_id": cadre_id,
        "household_id": household_id,
        # Given in Beijing time: stored and read back as the same moment, in UTC.
        "visited_at": datetime(2026, 5, 27, 8, 36, tzinfo=timezone(timedelta(hours=8))),
        "kind": VisitKind.HOME_VISIT,
        "roles": ["policy", "opinions"],
        "topics": ["医保政策"],
        "notes": "入户走访",
        "stamp": "01a218f0b8200000@phone",
    }


def test_rows_inserted_in_bulk_read_back_as_the_orm_writes_them(session: Session) -> None:
    rows = _visit_rows(session)
    row = rows[6]
    entries = [
        {"action": "create", "entity": "visit", "entity_id": visit["id"], "changes": {}}
        for visit in rows
    ]
    insert_rows(session, Visit.__table__, rows)  # type: ignore[arg-type]
    # The audit entry's id and time are the columns' defaults, filled in as an INSERT would.
    insert_rows(session, AuditEntry.__table__, entries)  # type: ignore[arg-type]
    session.expire_all()
    visit = session.get(Visit, row["id"])
    assert visit is not None
    assert visit.visited_at == datetime(2026, 5, 27, 0, 36, tzinfo=UTC)
    assert (visit.kind, visit.roles, visit.topics) == (
        VisitKind.HOME_VISIT,
        ["policy", "opinions"],
        ["医保政策"],
    )
    assert (visit.seq, visit.notes, visit.latitude) == (7, "入户走访", None)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == row["id"])).one()
    assert isinstance(audit.id, uuid.UUID) and audit.at.tzinfo is not None
    assert audit.changes == {}


def test_a_duplicate_in_a_bulk_insert_is_an_integrity_error(session: Session) -> None:
    rows = _visit_rows(session)
    table: Table = Visit.__table__  # type: ignore[assignment]
    insert_rows(session, table, rows[:1])
    again = [{**row, "seq": row["seq"] + 100} for row in rows]  # type: ignore[operator]
    with pytest.raises(IntegrityError), session.begin_nested():
        insert_rows(session, table, again)
    assert session.scalar(select(Visit.seq).where(Visit.id == rows[0]["id"])) == 1


def test_a_duplicate_among_pipelined_inserts_is_an_integrity_error_that_undoes_the_block(
    session: Session,
) -> None:
    rows = _visit_rows(session)
    table: Table = Visit.__table__  # type: ignore[assignment]
    insert_rows(session, table, rows[:1])
    with pytest.raises(IntegrityError), session.begin_nested(), pipelined(session):
        session.execute(insert(table), rows[1:5])
        session.execute(insert(table), rows[:1])
    assert session.scalar(select(func.count()).select_from(Visit)) == 1
    with session.begin_nested(), pipelined(session):
        session.execute(insert(table), rows[1:])
    assert session.scalar(select(func.count()).select_from(Visit)) == len(rows)

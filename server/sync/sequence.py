"""Numbering changes: every write to a synced record takes the next ``seq``.

This runs before every flush of every session, so no code path that changes
a synced record through the ORM can forget it. The counter row stays locked
until the transaction ends, which makes seqs visible in commit order.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from server.db import Synced
from server.sync.models import SyncCounter


def take(session: Session, count: int) -> range:
    """Reserve ``count`` seqs (holding the counter's lock until commit)."""
    top = session.execute(
        update(SyncCounter)
        .where(SyncCounter.id == 1)
        .values(value=SyncCounter.value + count)
        .returning(SyncCounter.value),
        # The counter is never loaded as an object: nothing in the session to update.
        execution_options={"synchronize_session": False},
    ).scalar_one()
    return range(top - count + 1, top + 1)


def numbered(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give rows about to be bulk-inserted (bypassing the ORM) their seqs."""
    for row, seq in zip(rows, take(session, len(rows)), strict=True):
        row["seq"] = seq
    return rows


def committed_high_water(session: Session) -> int:
    """The highest seq whose transaction has committed (as this one sees it)."""
    return session.scalar(select(SyncCounter.value).where(SyncCounter.id == 1)) or 0


@event.listens_for(Session, "before_flush")
def _number_changes(session: Session, _context: Any, _instances: Any) -> None:
    changed = [
        record
        for record in chain(session.new, session.dirty)
        if isinstance(record, Synced)
        and (record in session.new or session.is_modified(record, include_collections=False))
    ]
    if changed:
        for record, seq in zip(changed, take(session, len(changed)), strict=True):
            record.seq = seq
            record.numbered(seq)

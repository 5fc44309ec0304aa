"""Numbering changes: every write to a synced record takes the next ``seq``.

Every table phones receive is ``Synced``, and the counter lives here too.
Numbering runs before every flush of every session, so no code path that
changes a synced record through the ORM can forget it. A transaction's first
``take`` locks the counter row until the transaction ends, which makes seqs
visible in commit order. Holding the lock, the transaction hands out its
further seqs itself and writes the counter once, just before it commits:
a push takes seqs several times, and each round trip to the database would
be spent with every other push waiting for the lock.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, bindparam, event, select, update
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from server.db import Base
from server.monitoring.metrics import LOCK_WAIT


class Synced:
    """A record phones receive. ``seq`` is the server's change sequence: every
    insert or update takes the next number, in commit order (``take``),
    and a phone pulls what changed after the last number it saw.

    Bulk loads (the demo county, imports of new records) leave it at 0: a
    phone receives such records whole when their household enters its scope.
    """

    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    def numbered(self, seq: int) -> None:
        """Called when a change to this record has been given ``seq``."""


class SyncCounter(Base):
    """The one-row counter that numbers every change (``seq``).

    A transaction that writes synced records holds this row's lock from its
    first write until it commits, so seqs become visible in the order they
    were given out, and a pull never skips a row that committed late.
    """

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# In session.info while the transaction holds the counter's lock: the last seq
# it handed out, and the counter's value as the database has it.
TOP = "minqing.seq_top"
WRITTEN = "minqing.seq_written"

# Built once: every write runs them. The counter is never loaded as an object,
# so they run on the session's connection, past the ORM.
_COUNTER = SyncCounter.__table__.c
ADVANCE = (
    update(SyncCounter.__table__)
    .where(_COUNTER.id == 1)
    .values(value=_COUNTER.value + bindparam("count"))
    .returning(_COUNTER.value)
)
READ = select(_COUNTER.value).where(_COUNTER.id == 1)
WRITE = update(SyncCounter.__table__).where(_COUNTER.id == 1).values(value=bindparam("top"))


def take(session: Session, count: int) -> range:
    """Reserve ``count`` seqs (holding the counter's lock until commit)."""
    held = session.info.get(TOP)
    if held is not None:
        session.info[TOP] = held + count
        return range(held + 1, held + count + 1)
    with LOCK_WAIT.time():
        top: int = session.connection().execute(ADVANCE, {"count": count}).scalar_one()
    # A lock taken inside a savepoint would end if the savepoint were rolled
    # back: only one the whole transaction holds lets it count on by itself.
    if not session.in_nested_transaction():
        session.info[TOP] = session.info[WRITTEN] = top
    return range(top - count + 1, top + 1)


def numbered(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give rows about to be bulk-inserted (bypassing the ORM) their seqs."""
    for row, seq in zip(rows, take(session, len(rows)), strict=True):
        row["seq"] = seq
    return rows


def committed_high_water(session: Session) -> int:
    """The highest seq whose transaction has committed (as this one sees it)."""
    return session.connection().execute(READ).scalar() or 0


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


def write_counter(session: Session) -> None:
    """Write the counter as far as this transaction has handed out seqs.

    Done before every commit; a writer may do it sooner, when it has numbered
    all it writes, to send it with its last statements.
    """
    top = session.info.get(TOP)
    if top is not None and top != session.info[WRITTEN]:
        session.connection().execute(WRITE, {"top": top})
        session.info[WRITTEN] = top


@event.listens_for(Session, "before_commit")
def _write_counter(session: Session) -> None:
    if session.info.get(TOP) is not None:
        # What the commit's own flush numbers is handed out first.
        session.flush()
        write_counter(session)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    # The lock ends with the transaction (a savepoint's end keeps it; the
    # seqs it handed out are then skipped, which pulls do not mind).
    if transaction.parent is None:
        session.info.pop(TOP, None)
        session.info.pop(WRITTEN, None)

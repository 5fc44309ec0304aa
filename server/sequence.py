"""Numbering changes: every write to a synced record takes its county's next ``seq``.

Every table phones receive is ``Synced``, and the counters live here too:
one per county. A phone's records all lie in its county, so its pull cursor
is a number of its county's counter, and counties' writers never wait for
each other. Numbering runs before every flush of every session, so no code
path that changes a synced record through the ORM can forget it. A
transaction's first ``take`` for a county locks that county's counter row
until the transaction ends, which makes the county's seqs visible in commit
order. Holding the lock, the transaction hands out its further seqs itself
and writes the counter once, just before it commits: a push takes seqs
several times, and each round trip to the database would be spent with
every other push of its county waiting for the lock.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from functools import cache
from itertools import chain
from typing import Any, ClassVar

from sqlalchemy import BigInteger, ForeignKey, Uuid, bindparam, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from server.db import Base
from server.monitoring.metrics import LOCK_WAIT


class Synced:
    """A record phones receive. ``seq`` is the server's change sequence: every
    insert or update takes the next number of the record's county, in commit
    order (``take``), and a phone pulls what changed after the last number
    of its county it saw.

    Bulk loads (the demo county, imports of new records) leave it at 0: a
    phone receives such records whole when their household enters its scope.
    """

    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    # The reference whose record lies in the same county (a visit's household,
    # a household's grid…): where a new record without ``county_id`` finds it.
    COUNTY_FROM: ClassVar[str] = "county_id"

    def numbered(self, seq: int) -> None:
        """Called when a change to this record has been given ``seq``."""

    def county_of(self, session: Session) -> uuid.UUID | None:
        """The county whose counter numbers this record (it never changes);
        None for a new record whose reference names nothing, which the
        database will refuse."""
        county: uuid.UUID | None = getattr(self, "county_id", None)
        if county is None:
            parent = self._parent(session)
            county = parent.county_of(session) if parent is not None else None
            # Written once, when the record is made: records never change county.
            setattr(self, "county_id", county)  # noqa: B010 (only InCounty declares it)
        return county

    def _parent(self, session: Session) -> Synced | None:
        state = inspect(self)
        column = self.__table__.c[self.COUNTY_FROM]  # type: ignore[attr-defined]
        # Set through its relationship, the key is filled in only by the flush.
        for relationship in state.mapper.relationships:
            if column in relationship.local_columns:
                parent = getattr(self, relationship.key)
                if parent is not None:
                    return parent  # type: ignore[no-any-return]
        key = getattr(self, self.COUNTY_FROM)
        (foreign_key,) = column.foreign_keys
        model = _model_of(foreign_key.column.table.name)
        return session.get(model, key) if key is not None else None


class InCounty(Synced):
    """A synced record that carries its county, denormalised from its chain of
    references (grid → village → town → county…) when it is made."""

    county_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("county.id"))


@cache
def _model_of(table: str) -> Any:
    return next(
        mapper.class_ for mapper in Base.registry.mappers if mapper.local_table.name == table
    )


class SyncCounter(Base):
    """A county's counter, which numbers every change to its records (``seq``).

    A transaction that writes a county's synced records holds its row's lock
    from its first write until it commits, so the county's seqs become
    visible in the order they were given out, and a pull never skips a row
    that committed late. Made at a county's first write, from 0; the
    migration that made them per county started each at the one counter's
    value, so cursors phones held before it keep their meaning.
    """

    __tablename__ = "sync_counter"

    # No reference to county: a new county's counter is made in the flush
    # that numbers it, before the county's row is written.
    county_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# In session.info while the transaction holds counters' locks: by county, the
# last seq it handed out, and the counter's value as the database has it.
TOP = "minqing.seq_top"
WRITTEN = "minqing.seq_written"

# Built once: every write runs them. Counters are never loaded as objects,
# so they run on the session's connection, past the ORM.
_COUNTER = SyncCounter.__table__.c
_COUNTY = bindparam("county", type_=Uuid())
_OF_COUNTY = _COUNTER.county_id == _COUNTY
ADVANCE = (
    update(SyncCounter.__table__)
    .where(_OF_COUNTY)
    .values(value=_COUNTER.value + bindparam("count"))
    .returning(_COUNTER.value)
)
READ = select(_COUNTER.value).where(_OF_COUNTY)
WRITE = update(SyncCounter.__table__).where(_OF_COUNTY).values(value=bindparam("top"))
START = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(SyncCounter.__table__)
    .values(county_id=_COUNTY, value=0)
    .on_conflict_do_nothing()
    for dialect in (postgresql, sqlite)
}


def take(session: Session, county: uuid.UUID, count: int) -> range:
    """Reserve ``count`` seqs of ``county`` (holding its counter's lock until commit)."""
    tops: dict[uuid.UUID, int] = session.info.setdefault(TOP, {})
    held = tops.get(county)
    if held is not None:
        tops[county] = held + count
        return range(held + 1, held + count + 1)
    connection = session.connection()
    given = {"county": county, "count": count}
    with LOCK_WAIT.time():
        top: int | None = connection.execute(ADVANCE, given).scalar()
        if top is None:
            # The county's first write: its counter starts at 0.
            connection.execute(START[connection.dialect.name], given)
            top = connection.execute(ADVANCE, given).scalar_one()
    # A lock taken inside a savepoint would end if the savepoint were rolled
    # back: only one the whole transaction holds lets it count on by itself.
    if not session.in_nested_transaction():
        tops[county] = top
        session.info.setdefault(WRITTEN, {})[county] = top
    return range(top - count + 1, top + 1)


def numbered(
    session: Session, county: uuid.UUID, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Give rows of ``county`` about to be bulk-inserted (bypassing the ORM)
    their county and seqs."""
    for row, seq in zip(rows, take(session, county, len(rows)), strict=True):
        row["county_id"] = county
        row["seq"] = seq
    return rows


def committed_high_water(session: Session, county: uuid.UUID | None) -> int:
    """The highest seq of ``county`` whose transaction has committed (as this
    one sees it); 0 for no county."""
    if county is None:
        return 0
    return session.connection().execute(READ, {"county": county}).scalar() or 0


@event.listens_for(Session, "before_flush")
def _number_changes(session: Session, _context: Any, _instances: Any) -> None:
    changed: dict[uuid.UUID | None, list[Synced]] = defaultdict(list)
    for record in chain(session.new, session.dirty):
        if isinstance(record, Synced) and (
            record in session.new or session.is_modified(record, include_collections=False)
        ):
            changed[record.county_of(session)].append(record)
    # What names no record in any county is left to the database to refuse.
    changed.pop(None, None)
    for county, records in changed.items():
        assert county is not None
        for record, seq in zip(records, take(session, county, len(records)), strict=True):
            record.seq = seq
            record.numbered(seq)


def write_counter(session: Session) -> None:
    """Write each county's counter as far as this transaction has handed out seqs.

    Done before every commit; a writer may do it sooner, when it has numbered
    all it writes, to send it with its last statements.
    """
    written: dict[uuid.UUID, int] = session.info.get(WRITTEN, {})
    for county, top in session.info.get(TOP, {}).items():
        if top != written[county]:
            session.connection().execute(WRITE, {"county": county, "top": top})
            written[county] = top


@event.listens_for(Session, "before_commit")
def _write_counter(session: Session) -> None:
    if session.info.get(TOP):
        # What the commit's own flush numbers is handed out first.
        session.flush()
        write_counter(session)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    # The locks end with the transaction (a savepoint's end keeps them; the
    # seqs it handed out are then skipped, which pulls do not mind).
    if transaction.parent is None:
        session.info.pop(TOP, None)
        session.info.pop(WRITTEN, None)

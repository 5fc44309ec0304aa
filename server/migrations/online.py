"""Schema changes made while the server keeps taking pushes.

A migration that touches a table growing with the ledger (GROWING) uses these
instead of Alembic's plain operations. On PostgreSQL an index is built
CONCURRENTLY (writes go on while it builds) and a backfill runs in batches,
each its own short transaction, so no push waits on a migration for more than
a moment; the other changes it may make to a growing table are the ones that
only touch the catalogue (a nullable column, a dropped index). SQLite, one
county's server, has one writer at a time anyway: there each step is plain.
tests/server/test_migrations.py holds every migration to this on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The tables whose size grows with the households, their visits and issues.
GROWING = frozenset(
    {
        "household",
        "household_link",
        "visit",
        "issue",
        "issue_event",
        "inspection",
        "audit_entry",
        "applied_change",
        "conflict",
        "photo",
        "photo_blob",
    }
)
BATCH = 5_000


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_index(
    name: str,
    table: str,
    columns: Sequence[str],
    *,
    unique: bool = False,
    where: str | None = None,
) -> None:
    condition = sa.text(where) if where else None
    if not _on_postgresql():
        op.create_index(name, table, list(columns), unique=unique, sqlite_where=condition)
        return
    with op.get_context().autocommit_block():
        # A build cut short leaves an invalid index of that name: start again.
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            postgresql_where=condition,
            postgresql_concurrently=True,
        )


def drop_index(name: str, table: str) -> None:
    if not _on_postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def add_foreign_key(name: str, table: str, referred: str, column: str) -> None:
    """A foreign key from ``table.column`` to ``referred.id``.

    On PostgreSQL it is added NOT VALID (at once), then validated in its own
    transaction, which reads the rows without stopping writes.
    """
    if not _on_postgresql():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(op.f(name), referred, [column], ["id"])
        return
    op.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {name}"
        f" FOREIGN KEY ({column}) REFERENCES {referred} (id) NOT VALID"
    )
    with op.get_context().autocommit_block():
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def add_check(name: str, table: str, condition: str) -> None:
    """A check constraint: on PostgreSQL added NOT VALID, then validated apart."""
    if not _on_postgresql():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(name), sa.text(condition))
        return
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID")
    with op.get_context().autocommit_block():
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def backfill(table: str, assignment: str) -> None:
    """``UPDATE table SET assignment`` for every row, a batch of rows at a time.

    Rows are taken in the order of their id, so a backfill cut short and run
    again starts over safely (the assignment is computed, not accumulated).
    """
    if not _on_postgresql():
        op.execute(f"UPDATE {table} SET {assignment}")
        return
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        after = None
        while True:
            ids = (
                bind.execute(
                    sa.text(
                        f"SELECT id FROM {table}"
                        + (" WHERE id > :after" if after is not None else "")
                        + " ORDER BY id LIMIT :batch"
                    ),
                    {"after": after, "batch": BATCH},
                )
                .scalars()
                .all()
            )
            if not ids:
                return
            bind.execute(
                sa.text(f"UPDATE {table} SET {assignment} WHERE id BETWEEN :first AND :last"),
                {"first": ids[0], "last": ids[-1]},
            )
            after = ids[-1]

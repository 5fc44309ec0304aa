"""sync: a change counter per county, and every synced record's county

Each synced table gets ``county_id`` (from its chain of references), and the
one change counter becomes a row per county, each starting at the one
counter's value: every seq already given out is below it, so a cursor a
phone held before keeps meaning "everything of its county up to here".

The columns are filled first, while a server of the version before still
numbers with the one counter. The counter is swapped in one short
transaction: from then on such a server fails to number a change (its push
is answered 500 and the phone sends it again) rather than number it in a
counter nobody reads. Last, the rows it made after their table's backfill
went by get their county too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence
from contextlib import nullcontext

import sqlalchemy as sa
from alembic import op

from server.migrations import online

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table, and where its rows' county is read, parents before children.
FROM_PARENT = {
    "village": "SELECT town.county_id FROM town WHERE town.id = village.town_id",
    "grid": "SELECT village.county_id FROM village WHERE village.id = grid.village_id",
    "household": "SELECT grid.county_id FROM grid WHERE grid.id = household.grid_id",
    "household_link": "SELECT household.county_id FROM household"
    " WHERE household.id = household_link.household_id",
    "village_link": "SELECT village.county_id FROM village"
    " WHERE village.id = village_link.village_id",
    "visit": "SELECT household.county_id FROM household WHERE household.id = visit.household_id",
    "inspection": "SELECT household.county_id FROM household"
    " WHERE household.id = inspection.household_id",
    "issue": "SELECT village.county_id FROM village WHERE village.id = issue.village_id",
    "issue_event": "SELECT issue.county_id FROM issue WHERE issue.id = issue_event.issue_id",
    # A county department has no town: its county is where its cadres link
    # villages or cover households (on a server of one county, that county).
    "work_unit": "COALESCE("
    "(SELECT town.county_id FROM town WHERE town.id = work_unit.town_id),"
    " (SELECT village.county_id FROM cadre"
    "  JOIN village_link ON village_link.cadre_id = cadre.id"
    "  JOIN village ON village.id = village_link.village_id"
    "  WHERE cadre.unit_id = work_unit.id LIMIT 1),"
    " (SELECT household.county_id FROM cadre"
    "  JOIN household_link ON household_link.cadre_id = cadre.id"
    "  JOIN household ON household.id = household_link.household_id"
    "  WHERE cadre.unit_id = work_unit.id LIMIT 1),"
    " (SELECT county.id FROM county ORDER BY county.name LIMIT 1))",
    "cadre": "SELECT work_unit.county_id FROM work_unit WHERE work_unit.id = cadre.unit_id",
}


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgresql = _on_postgresql()
    if postgresql:
        # Only the catalogue changes, each table's lock held for its own
        # statement alone; IF NOT EXISTS: a run cut short by a lock timeout is
        # started again (server/migrate.py).
        with op.get_context().autocommit_block():
            for table in FROM_PARENT:
                op.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS county_id UUID")
    else:
        for table in FROM_PARENT:
            # With its reference in the same statement: a batch copy of the
            # table would have SQLite drop a table others refer to.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN county_id CHAR(32)"
                f" CONSTRAINT fk_{table}_county_id_county REFERENCES county (id)"
            )
    # A batch at a time, the small tables too: each in its own short
    # transaction, after the one that added the columns has committed.
    for table, parent in FROM_PARENT.items():
        online.backfill(table, f"county_id = ({parent})")
    if postgresql:
        bind = op.get_bind()
        for table in FROM_PARENT:
            name = f"fk_{table}_county_id_county"
            exists = bind.execute(
                sa.text("SELECT 1 FROM pg_constraint WHERE conname = :name"), {"name": name}
            ).first()
            if exists is None:
                online.add_foreign_key(name, table, "county", "county_id")
    _counter_per_county()
    # Rows a server of the version before made after their table's backfill
    # went by: none can be made any more (it can no longer number them).
    for table, parent in FROM_PARENT.items():
        _fill_left_empty(table, parent)


def _fill_left_empty(table: str, parent: str) -> None:
    bind = op.get_bind()
    # Each statement its own transaction on PostgreSQL (as online.backfill).
    with op.get_context().autocommit_block() if _on_postgresql() else nullcontext():
        # A read of the table (it writes nothing), then a few rows by id.
        empty = bind.execute(sa.text(f"SELECT id FROM {table} WHERE county_id IS NULL")).all()
        for start in range(0, len(empty), online.BATCH):
            bind.execute(
                sa.text(f"UPDATE {table} SET county_id = ({parent}) WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": [row[0] for row in empty[start : start + online.BATCH]]},
            )


def _counter_per_county() -> None:
    bind = op.get_bind()
    if _on_postgresql():
        # Waits (up to the lock timeout) for the push that holds it to commit:
        # then its value is the last seq ever given out.
        op.execute("LOCK TABLE sync_counter IN ACCESS EXCLUSIVE MODE")
    top = bind.execute(sa.text("SELECT max(value) FROM sync_counter")).scalar() or 0
    op.drop_table("sync_counter")
    counter = op.create_table(
        "sync_counter",
        sa.Column("county_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("county_id", name=op.f("pk_sync_counter")),
    )
    counties = bind.execute(sa.text("SELECT id FROM county").columns(sa.column("id", sa.Uuid())))
    rows = [{"county_id": county_id, "value": top} for (county_id,) in counties]
    if rows:
        op.bulk_insert(counter, rows)


def downgrade() -> None:
    bind = op.get_bind()
    top = bind.execute(sa.text("SELECT max(value) FROM sync_counter")).scalar() or 0
    op.drop_table("sync_counter")
    counter = op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_counter")),
    )
    op.bulk_insert(counter, [{"id": 1, "value": top}])
    for table in reversed(FROM_PARENT):
        # Its reference goes with it.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("county_id")

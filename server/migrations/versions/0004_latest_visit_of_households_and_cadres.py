"""console: each household's and cadre's latest visit (last_visited_at), backfilled;
an index of the removed households

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.migrations import online

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table and the visit's column naming its row.
KEPT = (("household", "household_id"), ("cadre", "cadre_id"))


def upgrade() -> None:
    online.create_index("ix_household_removed", "household", ["id"], where="deleted_at IS NOT NULL")
    for table, key in KEPT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("last_visited_at", sa.DateTime(timezone=True), nullable=True)
            )
        # What server.visits.services keeps from here on: the latest live visit.
        online.backfill(
            table,
            "last_visited_at = ("
            f" SELECT max(visit.visited_at) FROM visit"
            f" WHERE visit.{key} = {table}.id AND visit.deleted_at IS NULL)",
        )


def downgrade() -> None:
    for table, _ in reversed(KEPT):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("last_visited_at")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_household_removed",
            sqlite_where=sa.text("deleted_at IS NOT NULL"),
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
        )

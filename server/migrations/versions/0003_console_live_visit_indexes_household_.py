"""console: live-visit indexes, household link history index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:19:00.933759
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.migrations import online

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "deleted_at IS NULL"


def upgrade() -> None:
    online.create_index(
        "ix_household_link_household", "household_link", ["household_id", "started_at"]
    )
    online.create_index("ix_visit_cadre_live_time", "visit", ["cadre_id", "visited_at"], where=LIVE)
    online.create_index(
        "ix_visit_household_live_time", "visit", ["household_id", "visited_at"], where=LIVE
    )
    # Dropped once the indexes that stand in for them are there.
    online.drop_index("ix_visit_cadre_time", "visit")
    online.drop_index("ix_visit_household_time", "visit")


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_visit_household_live_time",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_visit_cadre_live_time",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_visit_household_time"), ["household_id", "visited_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_visit_cadre_time"), ["cadre_id", "visited_at"], unique=False
        )

    with op.batch_alter_table("household_link", schema=None) as batch_op:
        batch_op.drop_index("ix_household_link_household")

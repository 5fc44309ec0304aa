"""sync: the database's epoch, new whenever it is restored from a backup

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:30:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    epoch = op.create_table(
        "sync_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=36), nullable=False),
        sa.Column("began_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_epoch")),
    )
    op.bulk_insert(epoch, [{"id": 1, "value": str(uuid.uuid4()), "began_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("sync_epoch")

"""accounts: a phone's registration id on its device, so a retried login finds it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registration_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "uq_device_registration",
            ["account_id", "registration_id"],
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index("uq_device_registration", sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_column("registration_id")

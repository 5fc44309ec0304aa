"""accounts: failed logins counted per client address

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:43:53.786282
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_client",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_login_client")),
    )
    with op.batch_alter_table("login_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_client_last_failure_at"), ["last_failure_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_client_last_failure_at"))
    op.drop_table("login_client")

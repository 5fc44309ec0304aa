"""inspections: households assigned to inspectors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:02:46.336062
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("checked_at IS NULL AND withdrawn_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "inspection_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("draw", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "checked_at IS NULL OR withdrawn_at IS NULL",
            name=op.f("ck_inspection_assignment_checked_or_withdrawn"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["account.id"],
            name=op.f("fk_inspection_assignment_assigned_by_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_inspection_assignment_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["account.id"],
            name=op.f("fk_inspection_assignment_inspector_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_assignment")),
    )
    with op.batch_alter_table("inspection_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_assignment_inspector", ["inspector_id", "household_id"], unique=False
        )
        batch_op.create_index(
            "uq_inspection_assignment_open",
            ["inspector_id", "household_id"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_assignment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_inspection_assignment_open", sqlite_where=OPEN, postgresql_where=OPEN
        )
        batch_op.drop_index("ix_inspection_assignment_inspector")
    op.drop_table("inspection_assignment")

"""sync: change sequence, clock stamps, applied changes, conflicts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:21:38.337466
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.migrations import online

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The problem statuses as they were at this revision.
ISSUE_STATUSES = (
    "open",
    "solved_on_spot",
    "passed_to_department",
    "in_progress",
    "solved",
    "household_informed",
)


def upgrade() -> None:

    counter = op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_counter")),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    op.create_table(
        "applied_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_applied_change_device_id_device")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applied_change")),
    )
    with op.batch_alter_table("applied_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applied_change_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "conflict",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column(
            "winner_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("winner_stamp", sa.String(length=80), nullable=False),
        sa.Column(
            "loser_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("loser_stamp", sa.String(length=80), nullable=False),
        sa.Column("winner_device_id", sa.Uuid(), nullable=True),
        sa.Column("winner_account_id", sa.Uuid(), nullable=True),
        sa.Column("loser_device_id", sa.Uuid(), nullable=True),
        sa.Column("loser_account_id", sa.Uuid(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_by_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["loser_account_id"], ["account.id"], name=op.f("fk_conflict_loser_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["loser_device_id"], ["device.id"], name=op.f("fk_conflict_loser_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["account.id"], name=op.f("fk_conflict_resolved_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["winner_account_id"],
            ["account.id"],
            name=op.f("fk_conflict_winner_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["winner_device_id"], ["device.id"], name=op.f("fk_conflict_winner_device_id_device")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict")),
    )
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conflict_open",
            ["status"],
            unique=False,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(
            "uq_conflict_loser", ["entity_id", "field", "loser_stamp"], unique=True
        )

    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("county", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "field_stamps",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default="{}",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("household_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stamp", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stamp", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("issue_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("stamp", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("village", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("village_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stamp", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("work_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))

    # The growing tables' new indexes and keys, made while pushes go on (online.py).
    for table, indexes in (
        ("inspection", {"ix_inspection_household_seq": ["household_id", "seq"]}),
        ("issue", {"ix_issue_household_seq": ["household_id", "seq"],
                   "ix_issue_village_seq": ["village_id", "seq"]}),
        ("issue_event", {"ix_issue_event_issue_seq": ["issue_id", "seq"]}),
        ("visit", {"ix_visit_household_seq": ["household_id", "seq"]}),
    ):  # fmt: skip
        online.add_foreign_key(f"fk_{table}_device_id_device", table, "device", "device_id")
        for name, columns in indexes.items():
            online.create_index(name, table, columns)
    online.add_check(
        "ck_issue_event_issue_event_base_status",
        "issue_event",
        f"base_status IN ({', '.join(repr(status) for status in ISSUE_STATUSES)})",
    )


def downgrade() -> None:

    with op.batch_alter_table("work_unit", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_visit_device_id_device"), type_="foreignkey")
        batch_op.drop_index("ix_visit_household_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("device_id")
        batch_op.drop_column("stamp")

    with op.batch_alter_table("village_link", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("village", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("issue_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_issue_event_device_id_device"), type_="foreignkey")
        batch_op.drop_index("ix_issue_event_issue_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("device_id")
        batch_op.drop_column("stamp")
        batch_op.drop_column("base_status")

    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_issue_device_id_device"), type_="foreignkey")
        batch_op.drop_index("ix_issue_village_seq")
        batch_op.drop_index("ix_issue_household_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("device_id")
        batch_op.drop_column("stamp")

    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_inspection_device_id_device"), type_="foreignkey")
        batch_op.drop_index("ix_inspection_household_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("device_id")
        batch_op.drop_column("stamp")

    with op.batch_alter_table("household_link", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("seq")
        batch_op.drop_column("field_stamps")

    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("county", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.drop_column("seq")

    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.drop_index("uq_conflict_loser")
        batch_op.drop_index(
            "ix_conflict_open",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.drop_table("conflict")
    with op.batch_alter_table("applied_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applied_change_device_id"))

    op.drop_table("applied_change")
    op.drop_table("sync_counter")

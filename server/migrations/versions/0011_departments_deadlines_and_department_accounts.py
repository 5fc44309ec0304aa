"""issues: the county's departments, their deadlines, department accounts, duplicates

The free-text department names problems were passed to become the county's
first list of departments (kind "other", no phone), and every passing made
before this has the old rule's 30 days as its deadline.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:30:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from server.migrations import online

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("county_admin", "town_admin", "village_leader", "inspector", "cadre")
KINDS = ("county_bureau", "town_office", "utility", "other")
CATEGORIES = (
    "education",
    "medical",
    "social_aid",
    "employment",
    "infrastructure",
    "environment",
    "land_housing",
    "agriculture",
    "dispute",
    "law_enforcement",
    "policy_question",
    "other",
)
OLD_DEADLINE_DAYS = 30


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    department = op.create_table(
        "department",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *KINDS, name="department_kind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["county.id"], name=op.f("fk_department_county_id_county")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
    )
    op.create_index("uq_department_county_name", "department", ["county_id", "name"], unique=True)
    op.create_table(
        "deadline",
        sa.Column("county_id", sa.Uuid(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                *CATEGORIES,
                name="deadline_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.CheckConstraint("days > 0", name=op.f("ck_deadline_days_positive")),
        sa.ForeignKeyConstraint(
            ["county_id"], ["county.id"], name=op.f("fk_deadline_county_id_county")
        ),
        sa.PrimaryKeyConstraint("county_id", "category", name=op.f("pk_deadline")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_account_department_id_department"), "department", ["department_id"], ["id"]
        )
        batch_op.drop_constraint(op.f("ck_account_account_role"), type_="check")
        batch_op.create_check_constraint(
            "account_role", sa.text(f"role IN ({_in((*ROLES, 'department'))})")
        )
        batch_op.create_check_constraint(
            "department_role_has_department",
            sa.text("role != 'department' OR department_id IS NOT NULL"),
        )

    # The names problems were passed to, per county, become its departments.
    bind = op.get_bind()
    named = bind.execute(
        sa.text(
            "SELECT DISTINCT town.county_id, issue_event.department FROM issue_event"
            " JOIN issue ON issue.id = issue_event.issue_id"
            " JOIN village ON village.id = issue.village_id"
            " JOIN town ON town.id = village.town_id"
            " WHERE issue_event.department != ''"
        ).columns(sa.column("county_id", sa.Uuid()), sa.column("department", sa.String()))
    ).all()
    if named:
        op.bulk_insert(
            department,
            [
                {
                    "id": uuid.uuid4(),
                    "county_id": county_id,
                    "name": name,
                    "kind": "other",
                    "phone": "",
                    "created_at": datetime.now(UTC),
                }
                for county_id, name in named
            ],
        )
    op.add_column("issue_event", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    deadline = (
        f"at + interval '{OLD_DEADLINE_DAYS} days'"
        if bind.dialect.name == "postgresql"
        else f"strftime('%Y-%m-%d %H:%M:%f', at, '+{OLD_DEADLINE_DAYS} days')"
    )
    online.backfill(
        "issue_event",
        f"due_at = CASE WHEN status = 'passed_to_department' THEN {deadline} END",
    )

    op.add_column("issue", sa.Column("duplicate_of_id", sa.Uuid(), nullable=True))
    online.add_foreign_key("fk_issue_duplicate_of_id_issue", "issue", "issue", "duplicate_of_id")
    online.create_index("ix_issue_duplicate_of_id", "issue", ["duplicate_of_id"])


def downgrade() -> None:
    online.drop_index("ix_issue_duplicate_of_id", "issue")
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_issue_duplicate_of_id_issue"), type_="foreignkey")
        batch_op.drop_column("duplicate_of_id")
    op.drop_column("issue_event", "due_at")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_account_department_role_has_department"), type_="check")
        batch_op.drop_constraint(op.f("ck_account_account_role"), type_="check")
        batch_op.create_check_constraint("account_role", sa.text(f"role IN ({_in(ROLES)})"))
        batch_op.drop_constraint(op.f("fk_account_department_id_department"), type_="foreignkey")
        batch_op.drop_column("department_id")
    op.drop_table("deadline")
    op.drop_index("uq_department_county_name", table_name="department")
    op.drop_table("department")

"""the ledger, accounts and audit trail

Revision ID: 0001
Revises:
Create Date: 2026-11-26 13:10:48.816729
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "county",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "service_numbers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_county")),
        sa.UniqueConstraint("name", name=op.f("uq_county_name")),
    )
    op.create_table(
        "town",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["county.id"], name=op.f("fk_town_county_id_county")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_town")),
    )
    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.create_index("uq_town_county_name", ["county_id", "name"], unique=True)

    op.create_table(
        "village",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("town_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["town_id"], ["town.id"], name=op.f("fk_village_town_id_town")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village")),
    )
    with op.batch_alter_table("village", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_village_town_id"), ["town_id"], unique=False)
        batch_op.create_index("uq_village_town_name", ["town_id", "name"], unique=True)

    op.create_table(
        "work_unit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "county_department",
                "town_office",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("town_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["town_id"], ["town.id"], name=op.f("fk_work_unit_town_id_town")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_work_unit_name")),
    )
    op.create_table(
        "cadre",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "rank",
            sa.Enum(
                "division_leader",
                "county_cadre",
                "town_cadre",
                name="rank",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["work_unit.id"], name=op.f("fk_cadre_unit_id_work_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre")),
        sa.UniqueConstraint("phone", name=op.f("uq_cadre_phone")),
    )
    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadre_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "grid",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("village_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_grid_village_id_village")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
    )
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_village_id"), ["village_id"], unique=False)
        batch_op.create_index("uq_grid_village_name", ["village_id", "name"], unique=True)

    op.create_table(
        "account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "county_admin",
                "town_admin",
                "village_leader",
                "inspector",
                "cadre",
                name="account_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("town_id", sa.Uuid(), nullable=True),
        sa.Column("cadre_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role != 'town_admin' OR town_id IS NOT NULL",
            name=op.f("ck_account_town_admin_has_town"),
        ),
        sa.CheckConstraint(
            "role NOT IN ('cadre', 'village_leader') OR cadre_id IS NOT NULL",
            name=op.f("ck_account_cadre_roles_have_cadre"),
        ),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_account_cadre_id_cadre")),
        sa.ForeignKeyConstraint(["town_id"], ["town.id"], name=op.f("fk_account_town_id_town")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_cadre_id"), ["cadre_id"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("head_name", sa.String(length=40), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column(
            "phones",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("members >= 1", name=op.f("ck_household_members_positive")),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_household_grid_id_grid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("code", name=op.f("uq_household_code")),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "village_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("village_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "county",
                "town",
                "department",
                name="leader_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_village_link_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadre.id"], name=op.f("fk_village_link_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_village_link_village_id_village")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_link")),
    )
    with op.batch_alter_table("village_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_village_link_cadre_id"), ["cadre_id"], unique=False)
        batch_op.create_index(
            "uq_village_link_current",
            ["village_id", "role"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "device",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_device_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_token_hash")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_account_id"), ["account_id"], unique=False)

    op.create_table(
        "household_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_household_link_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadre.id"], name=op.f("fk_household_link_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_link_household_id_household"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_link")),
    )
    with op.batch_alter_table("household_link", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_link_cadre_current", ["cadre_id", "ended_at"], unique=False
        )
        batch_op.create_index(
            "uq_household_link_current",
            ["household_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "inspection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("knows_cadre", sa.Boolean(), nullable=False),
        sa.Column("last_visit_reported", sa.Date(), nullable=True),
        sa.Column(
            "problem_solved",
            sa.Enum(
                "yes",
                "partly",
                "no",
                "none_raised",
                name="problem_solved",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "satisfaction",
            sa.Enum(
                "satisfied",
                "basically",
                "unsatisfied",
                name="satisfaction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_inspection_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["account.id"], name=op.f("fk_inspection_inspector_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
    )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_household_date", ["household_id", "inspected_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_inspector_id"), ["inspector_id"], unique=False
        )

    op.create_table(
        "visit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "home_visit",
                "phone_call",
                "came_in",
                name="visit_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "topics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("amends_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name=op.f("ck_visit_location_complete")
        ),
        sa.ForeignKeyConstraint(["amends_id"], ["visit.id"], name=op.f("fk_visit_amends_id_visit")),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_visit_cadre_id_cadre")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_visit_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_cadre_time", ["cadre_id", "visited_at"], unique=False)
        batch_op.create_index(
            "ix_visit_household_time", ["household_id", "visited_at"], unique=False
        )

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_audit_entry_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_audit_entry_device_id_device")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_record", ["entity", "entity_id"], unique=False)

    op.create_table(
        "issue",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("village_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("raised_by_cadre_id", sa.Uuid(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
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
                name="issue_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "solved_on_spot",
                "passed_to_department",
                "in_progress",
                "solved",
                "household_informed",
                name="issue_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("aid_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "aid_amount IS NULL OR aid_amount >= 0", name=op.f("ck_issue_aid_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_issue_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_cadre_id"], ["cadre.id"], name=op.f("fk_issue_raised_by_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_issue_village_id_village")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_issue_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue")),
    )
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_issue_village_status", ["village_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "issue_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issue_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "status",
                "note",
                name="issue_event_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "solved_on_spot",
                "passed_to_department",
                "in_progress",
                "solved",
                "household_informed",
                name="issue_event_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'status') = (status IS NOT NULL)",
            name=op.f("ck_issue_event_status_iff_status_event"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_issue_event_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadre.id"], name=op.f("fk_issue_event_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issue.id"], name=op.f("fk_issue_event_issue_id_issue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_event")),
    )
    with op.batch_alter_table("issue_event", schema=None) as batch_op:
        batch_op.create_index("ix_issue_event_issue_time", ["issue_id", "at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("issue_event", schema=None) as batch_op:
        batch_op.drop_index("ix_issue_event_issue_time")

    op.drop_table("issue_event")
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_visit_id"))
        batch_op.drop_index("ix_issue_village_status")
        batch_op.drop_index(batch_op.f("ix_issue_household_id"))

    op.drop_table("issue")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_record")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_account_id"))

    op.drop_table("audit_entry")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_household_time")
        batch_op.drop_index("ix_visit_cadre_time")

    op.drop_table("visit")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_inspector_id"))
        batch_op.drop_index("ix_inspection_household_date")

    op.drop_table("inspection")
    with op.batch_alter_table("household_link", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_household_link_current",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index("ix_household_link_cadre_current")

    op.drop_table("household_link")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_account_id"))

    op.drop_table("device")
    with op.batch_alter_table("village_link", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_village_link_current",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_village_link_cadre_id"))

    op.drop_table("village_link")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_grid_id"))

    op.drop_table("household")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_cadre_id"))

    op.drop_table("account")
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.drop_index("uq_grid_village_name")
        batch_op.drop_index(batch_op.f("ix_grid_village_id"))

    op.drop_table("grid")
    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cadre_unit_id"))

    op.drop_table("cadre")
    op.drop_table("work_unit")
    with op.batch_alter_table("village", schema=None) as batch_op:
        batch_op.drop_index("uq_village_town_name")
        batch_op.drop_index(batch_op.f("ix_village_town_id"))

    op.drop_table("village")
    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.drop_index("uq_town_county_name")

    op.drop_table("town")
    op.drop_table("county")

"""photos: their records, their bytes stored once, and uploads' chunks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New tables: nothing reads or writes them until this version runs.
    op.create_table(
        "photo_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photo_blob")),
    )
    op.create_table(
        "photo",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("record_kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stamp", sa.String(length=80), nullable=True),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("county_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "record_kind IN ('visit', 'issue', 'issue_event')",
            name=op.f("ck_photo_record_kind"),
        ),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_photo_cadre_id_cadre")),
        sa.ForeignKeyConstraint(
            ["county_id"], ["county.id"], name=op.f("fk_photo_county_id_county")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_photo_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_photo_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo")),
    )
    op.create_index("ix_photo_household_seq", "photo", ["household_id", "seq"])
    op.create_index("ix_photo_record", "photo", ["record_kind", "record_id"])
    op.create_index("ix_photo_sha256", "photo", ["sha256"])
    op.create_table(
        "photo_upload_chunk",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_photo_upload_chunk_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", "offset", name=op.f("pk_photo_upload_chunk")),
    )


def downgrade() -> None:
    op.drop_table("photo_upload_chunk")
    op.drop_index("ix_photo_sha256", table_name="photo")
    op.drop_index("ix_photo_record", table_name="photo")
    op.drop_index("ix_photo_household_seq", table_name="photo")
    op.drop_table("photo")
    op.drop_table("photo_blob")

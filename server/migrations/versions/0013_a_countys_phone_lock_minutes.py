"""ledger: the minutes a county's phones wait in the background before the PIN

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a county that never chose keeps the server's default
    # (MINQING_PHONE_LOCK_MINUTES), as before this column. Added with its check
    # in one statement both databases take: a batch copy of the county table
    # would have SQLite drop a table the towns refer to.
    op.execute(
        "ALTER TABLE county ADD COLUMN phone_lock_minutes INTEGER"
        " CONSTRAINT ck_county_phone_lock_minutes_in_range"
        " CHECK (phone_lock_minutes BETWEEN 1 AND 60)"
    )


def downgrade() -> None:
    # The check goes with its column (SQLite 3.35+, PostgreSQL).
    op.execute("ALTER TABLE county DROP COLUMN phone_lock_minutes")

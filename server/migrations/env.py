"""Alembic environment: migrates the database named by the caller's config."""

from alembic import context

import server.models
from server.db import make_engine

config = context.config
target_metadata = server.models.Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection) -> None:
    # Batch mode lets SQLite, which cannot ALTER most things, rebuild tables.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        # Each migration commits on its own: PostgreSQL builds indexes
        # CONCURRENTLY only outside a transaction (migrations/online.py).
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

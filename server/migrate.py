"""Bring any database to the current schema with the project's Alembic migrations."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# On PostgreSQL a migration waits at most this long for a lock that a running
# server's transaction holds: queued behind it, it would stop every push.
LOCK_TIMEOUT = "5s"
LOCK_ATTEMPTS = 5
LOCK_NOT_AVAILABLE = "55P03"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration the database has not had yet, each in its own transaction.

    The server may keep running meanwhile (server/migrations/online.py). A
    migration that could not get its lock in time is rolled back and tried
    again a little later; what earlier migrations did stays done.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                    connection.commit()
                config.attributes["connection"] = connection
                try:
                    command.upgrade(config, revision)
                finally:
                    if connection.dialect.name == "postgresql":
                        connection.rollback()
                        connection.exec_driver_sql("RESET lock_timeout")
                        connection.commit()
            return
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            if attempt == LOCK_ATTEMPTS:
                raise
            time.sleep(attempt)


def current_revision(bind: Engine | Connection) -> str | None:
    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

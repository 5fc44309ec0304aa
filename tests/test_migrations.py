"""The schema comes only from Alembic migrations, identically on both backends."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import server.models
from server.db import make_engine
from server.migrate import current_revision, head_revision, upgrade
from tests.conftest import fresh_database_url


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(
    backend: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "migrate_empty"))
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, server.models.Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrading_twice_changes_nothing(backend: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "migrate_twice"))
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == tables
        assert {"household", "household_link", "visit", "issue", "audit_entry"} <= tables
    finally:
        engine.dispose()


def test_an_older_database_with_a_ledger_is_upgraded_and_keeps_its_rows(
    backend: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "migrate_old"))
    try:
        upgrade(engine, "0001")
        county, town = uuid.uuid4(), uuid.uuid4()
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO county (id, name, service_numbers) VALUES (:id, '东山县', '[]')"),
                {"id": county.hex if backend == "sqlite" else str(county)},
            )
            connection.execute(
                text("INSERT INTO town (id, county_id, name) VALUES (:id, :county, '前楼镇')"),
                {
                    "id": town.hex if backend == "sqlite" else str(town),
                    "county": county.hex if backend == "sqlite" else str(county),
                },
            )
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name, seq FROM town")).one() == ("前楼镇", 0)
            assert connection.execute(text("SELECT value FROM sync_counter")).scalar_one() == 0
    finally:
        engine.dispose()

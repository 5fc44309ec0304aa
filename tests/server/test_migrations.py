"""The schema comes only from Alembic migrations, identically on both backends."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

import server.models
from server.db import make_engine
from server.demo.generator import Shape, generate
from server.ledger.models import County, Household
from server.migrate import alembic_config, current_revision, head_revision, upgrade
from server.migrations.online import GROWING
from server.sequence import SyncCounter
from tests.conftest import fresh_database_url

SMALL_SHAPE = Shape(
    villages_per_town=(2, 1, 1, 1, 1, 1, 1), households=600, cadres=30, leaders=4, inspections=5
)


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


# What a migration may do to a growing table while it holds a lock that stops
# writes to it: only what touches the catalogue, never what scans the rows.
CATALOGUE_ONLY = re.compile(
    r"^\s*(ALTER TABLE \w+ (ADD COLUMN (?!(?!.*DEFAULT).*NOT NULL)|DROP COLUMN)"
    r"|ALTER TABLE \w+ ADD CONSTRAINT \w+ (FOREIGN KEY|CHECK) .* NOT VALID"
    r"|DROP INDEX|COMMENT ON|SELECT|SET|RESET|(INSERT INTO|UPDATE|DELETE FROM) alembic_version)",
    re.IGNORECASE | re.DOTALL,
)
WRITE_BLOCKING = ["ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
ROWS_WRITTEN = re.compile(r"^\s*(?:UPDATE|DELETE FROM)\s+(\w+)(?P<rest>.*)", re.I | re.DOTALL)
BATCHED = re.compile(r"\bid\s+(IN|BETWEEN)\b", re.IGNORECASE)


def test_no_migration_stops_pushes_while_it_works_through_a_growing_table(
    tmp_path: Path,
) -> None:
    url = fresh_database_url("postgresql", tmp_path, "migrate_online")
    engine = make_engine(url)
    created: set[str] = set()  # tables new in the migration's transaction: nobody writes them yet
    blocking: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        new = re.match(r"^\s*CREATE TABLE (\w+)", statement, re.IGNORECASE)
        if new:
            created.add(new.group(1))
            return
        written = ROWS_WRITTEN.match(statement)
        if written and written.group(1) in GROWING and not BATCHED.search(written["rest"]):
            blocking.append(f"every row at once: {statement}")
        held = watcher.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE l.pid = %s AND l.granted AND l.mode = ANY(%s) AND c.relname = ANY(%s)",
            [cursor.connection.info.backend_pid, WRITE_BLOCKING, sorted(GROWING - created)],
        ).fetchall()
        on_new_table = re.match(r"^\s*CREATE (UNIQUE )?INDEX \w+ ON (\w+)", statement, re.I)
        if on_new_table and on_new_table.group(2) in created:
            return
        if held and not CATALOGUE_ONLY.match(statement):
            blocking.append(f"{held} held by: {statement}")

    with psycopg.connect(url, autocommit=True) as watcher:
        event.listen(engine, "after_cursor_execute", watch)
        event.listen(engine, "commit", lambda _: created.clear())
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    assert current_revision_of(url) == head_revision()
    assert blocking == [], "\n".join(blocking)


def current_revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_a_backfill_recomputes_what_the_ledger_held(backend: str, tmp_path: Path) -> None:
    # Each household's latest visit (0004), brought back by its batched backfill.
    engine = make_engine(fresh_database_url(backend, tmp_path, "migrate_backfill"))
    latest = select(Household.id, Household.last_visited_at).order_by(Household.id)
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            generate(session, seed=2015, as_of=date(2015, 5, 27), shape=SMALL_SHAPE)
        with engine.connect() as connection:
            before = connection.execute(latest).all()
            connection.commit()
            if backend == "sqlite":
                # SQLite drops a column by copying the table, which its keys would refuse.
                # (On the driver's own connection: SQLAlchemy's BEGIN would make it a no-op.)
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
            config = alembic_config(engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
            connection.commit()
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(latest).all() == before
        assert sum(at is not None for _, at in before) > len(before) / 2
    finally:
        engine.dispose()


def test_a_migration_that_waits_on_a_long_transaction_gives_way_and_tries_again(
    tmp_path: Path,
) -> None:
    # A server transaction reading households for 9 s: the migration adding a
    # column to them (0004) must not queue every push behind itself meanwhile.
    url = fresh_database_url("postgresql", tmp_path, "migrate_lock_wait")
    engine = make_engine(url)
    try:
        upgrade(engine, "0003")
        reading = threading.Event()

        def long_read() -> None:
            with psycopg.connect(url) as reader:
                reader.execute("SELECT count(*) FROM household").fetchone()
                reading.set()
                time.sleep(9)

        reader = threading.Thread(target=long_read)
        reader.start()
        reading.wait(10)
        with psycopg.connect(url, autocommit=True) as writer:
            started = time.monotonic()
            upgrading = threading.Thread(target=upgrade, args=(engine,))
            upgrading.start()
            time.sleep(1)
            # A request reading households meanwhile waits behind the migration's
            # lock request only until the lock timeout, not until the long read ends.
            writer.execute("SET statement_timeout = '6s'")
            writer.execute("SELECT count(*) FROM household").fetchone()
            upgrading.join(60)
        reader.join()
        assert time.monotonic() - started >= 8  # it waited for the long read to end
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_counters_per_county_start_at_the_one_counters_value_and_every_record_gets_its_county(
    backend: str, tmp_path: Path
) -> None:
    # Two counties' ledger, taken back to the one counter (0013), which had
    # handed out seqs up to 1234: every cursor a phone holds is at most that.
    engine = make_engine(fresh_database_url(backend, tmp_path, "migrate_counties"))
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            generate(session, seed=2015, as_of=date(2015, 5, 27), shape=SMALL_SHAPE, scale=2)
        with engine.connect() as connection:
            if backend == "sqlite":
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
            config = alembic_config(engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.downgrade(config, "0013")
            connection.execute(text("UPDATE sync_counter SET value = 1234"))
            connection.commit()
        upgrade(engine)
        with engine.connect() as connection:
            counties = set(connection.execute(select(County.id)).scalars())
            counters = connection.execute(select(SyncCounter.county_id, SyncCounter.value)).all()
            assert len(counties) == 2
            assert dict(counters) == dict.fromkeys(counties, 1234)
            for table, chain in COUNTY_CHAINS.items():
                wrong = connection.execute(
                    text(
                        f"SELECT count(*) FROM {table} {chain}"
                        f" WHERE {table}.county_id IS NULL OR {table}.county_id != town.county_id"
                    )
                ).scalar_one()
                assert wrong == 0, table
            assert connection.execute(text("SELECT count(*) FROM visit")).scalar_one() > 0
    finally:
        engine.dispose()


# How each table reaches its town (and so its county) through its references.
_HOUSEHOLD = (
    " JOIN grid ON grid.id = household.grid_id JOIN village ON village.id = grid.village_id"
    " JOIN town ON town.id = village.town_id"
)
COUNTY_CHAINS = {
    "village": "JOIN town ON town.id = village.town_id",
    "grid": "JOIN village ON village.id = grid.village_id JOIN town ON town.id = village.town_id",
    "household": _HOUSEHOLD[1:],
    "visit": "JOIN household ON household.id = visit.household_id" + _HOUSEHOLD,
    "household_link": "JOIN household ON household.id = household_link.household_id" + _HOUSEHOLD,
    "inspection": "JOIN household ON household.id = inspection.household_id" + _HOUSEHOLD,
    "issue": "JOIN village ON village.id = issue.village_id JOIN town ON town.id = village.town_id",
    "issue_event": "JOIN issue ON issue.id = issue_event.issue_id"
    " JOIN village ON village.id = issue.village_id JOIN town ON town.id = village.town_id",
    "village_link": "JOIN village ON village.id = village_link.village_id"
    " JOIN town ON town.id = village.town_id",
    "cadre": "JOIN household_link ON household_link.cadre_id = cadre.id"
    " JOIN household ON household.id = household_link.household_id" + _HOUSEHOLD,
}

"""Upgrading the schema while phones push, on PostgreSQL at scale 10.

A copy of the scale-10 demo county is taken back to revision 0002 (before
every migration that indexes, backfills or constrains the growing tables),
then `upgrade` brings it to the head while two writers do what a push does to
the rows (a household updated, a visit inserted, one short transaction each).
The writers' latency before and during the upgrade shows whether the upgrade
stopped them (server/migrations/online.py says how it should not).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from alembic import command

from bench.report import machine, table
from bench.sync import _pg_version, _progress, scratch
from server.db import make_engine
from server.migrate import alembic_config, upgrade

SCALE = 10
BEFORE = "0002"
WRITERS = 2
QUIET_SECONDS = 10


@dataclass
class Latencies:
    before: list[float] = field(default_factory=list)
    during: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)


def run(scale: int = SCALE) -> str:
    with scratch(scale, "migrations") as url:
        _progress(f"migrations: scale {scale}, back to {BEFORE} …")
        engine = make_engine(url)
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, BEFORE)
            connection.commit()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")
            households = connection.execute("SELECT count(*) FROM household").fetchone()[0]
            visits = connection.execute("SELECT count(*) FROM visit").fetchone()[0]

        latencies = Latencies()
        phase = ["before"]
        stop = threading.Event()
        writers = [
            threading.Thread(target=_write, args=(url, latencies, phase, stop, seed))
            for seed in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        time.sleep(QUIET_SECONDS)
        _progress("migrations: upgrading while the writers write …")
        phase[0] = "during"
        started = time.monotonic()
        upgrade(engine)
        upgrade_seconds = time.monotonic() - started
        phase[0] = "after"
        time.sleep(QUIET_SECONDS)
        stop.set()
        for writer in writers:
            writer.join()
        engine.dispose()
        with psycopg.connect(url) as connection:
            unfilled = connection.execute(
                "SELECT count(*) FROM household h WHERE h.last_visited_at IS DISTINCT FROM"
                " (SELECT max(v.visited_at) FROM visit v"
                "  WHERE v.household_id = h.id AND v.deleted_at IS NULL)"
            ).fetchone()[0]
    return _report(scale, households, visits, upgrade_seconds, latencies, unfilled)


def _write(
    url: str, latencies: Latencies, phase: list[str], stop: threading.Event, seed: int
) -> None:
    """A push's row work, again and again: one household updated, one visit added."""
    rng = random.Random(seed)
    with psycopg.connect(url, autocommit=True) as connection:
        households = [row[0] for row in connection.execute("SELECT id FROM household LIMIT 20000")]
        visits = [row[0] for row in connection.execute("SELECT id FROM visit LIMIT 20000")]
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'visit' ORDER BY ordinal_position"
            )
        ]
        copied = ", ".join("gen_random_uuid()" if c == "id" else c for c in columns)
        insert = (
            f"INSERT INTO visit ({', '.join(columns)}) SELECT {copied} FROM visit WHERE id = %s"
        )
        while not stop.is_set():
            started = time.monotonic()
            with connection.transaction():
                connection.execute(
                    "UPDATE household SET notes = notes WHERE id = %s", [rng.choice(households)]
                )
                connection.execute(insert, [rng.choice(visits)])
            getattr(latencies, phase[0]).append((time.monotonic() - started) * 1000)
            time.sleep(0.01)


def _report(
    scale: int,
    households: int,
    visits: int,
    upgrade_seconds: float,
    latencies: Latencies,
    unfilled: int,
) -> str:
    rows: list[list[str]] = []
    for name in ("before", "during", "after"):
        values: list[Any] = sorted(getattr(latencies, name))
        if not values:
            continue
        rows.append(
            [
                name,
                f"{len(values):,}",
                f"{statistics.median(values):.1f}",
                f"{values[int(len(values) * 0.99)]:.1f}",
                f"{values[-1]:.0f}",
            ]
        )
    return (
        "## Schema upgrades while phones push\n\n"
        f"A copy of the scale-{scale} demo county ({households:,} households, {visits:,} visits)"
        f" on PostgreSQL, taken back to revision {BEFORE}, upgraded to the head by"
        f" `minqing db upgrade`'s code while {WRITERS} writers each do a push's row work in a loop"
        " (update a household, insert a visit, one transaction). The upgrade builds the visit and"
        " link indexes, adds and backfills each household's and cadre's latest visit and every"
        " synced record's county (in batches), swaps the one change counter for one per county,"
        " and adds the later tables and keys (server/migrations/online.py).\n\n"
        f"{machine(f'PostgreSQL {_pg_version()}')}.\n\n"
        f"Upgrade: {upgrade_seconds:.1f} s; households whose backfilled latest visit disagrees"
        f" with their visits afterwards: {unfilled}.\n\n"
        + table(["writers' transactions", "count", "p50 ms", "p99 ms", "max ms"], rows)
    )

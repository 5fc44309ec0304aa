"""Two counties returning to town at once: what a change counter per county buys.

``python -m bench.counties [--phones N] [--before PATH-TO-MINQING]``

In a copy of the scale-2 demo ledger (two counties), N cadres' phones of each
county sync once, then:

1. the first county's phones alone push a week of work and pull (the burst
   of bench/sync.py, with fewer phones);
2. both counties' phones do the same at once.

For each burst: its time, and the wait for the change counter's lock per
push as the server's /metrics counts it (every push takes its county's lock
once; pulls take none). With ``--before``, the same is run against another
version's ``minqing`` (the one before counters were per county), on the same
ledger at that version's schema, to show the one shared lock beside them.

The ledger is generated once, by the version ``--before`` names if given
(so both versions start from the same rows), and kept as a template database
``minqing_bench_counties_tpl``; this version migrates its copy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

import bench.sync as sync_bench
from bench.demo import AS_OF, SEED
from bench.report import machine, table
from bench.sync import Burst, Crowd, Server, phone_folder, register_phones
from server.accounts.models import Account
from server.db import make_engine
from server.ledger.models import County, Grid, Household, HouseholdLink, Town, Village
from shared.vocab import AccountRole
from sync.phone import Phone

PHONES = 400
TEMPLATE = "minqing_bench_counties_tpl"


@dataclass
class Run:
    version: str
    # Seconds `minqing db upgrade` took on the copy (this version's migration).
    upgrade: float
    alone: Burst
    together: Burst


def _progress(message: str) -> None:
    print(f"counties: {message}", file=sys.stderr, flush=True)


@contextmanager
def _minqing_of(path: Path) -> Iterator[None]:
    """bench.sync runs ``path`` as ``minqing`` (its template, copies and server),
    from its own tree: gunicorn imports the app from the directory it starts in."""
    kept, here = sync_bench.MINQING, Path.cwd()
    sync_bench.MINQING = path
    os.chdir(path.resolve().parents[2])  # <tree>/.venv/bin/minqing
    try:
        yield
    finally:
        sync_bench.MINQING = kept
        os.chdir(here)


def _template(generator: Path) -> str:
    marker = f"minqing demo --seed {SEED} --as-of {AS_OF} --scale 2 by {generator}"
    with _minqing_of(generator):
        return sync_bench.demo_database(TEMPLATE, 2, marker)


@contextmanager
def _copy(minqing: Path) -> Iterator[tuple[str, float]]:
    """A copy of the template brought to ``minqing``'s schema; its URL and the upgrade's time."""
    name = "minqing_bench_counties"
    with sync_bench._admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = sync_bench._url(name)
    try:
        started = time.monotonic()
        with _minqing_of(minqing):
            sync_bench._minqing(url, "db", "upgrade")
        upgraded = time.monotonic() - started
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")
        yield url, upgraded
    finally:
        with sync_bench._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def county_cadres(url: str, county: int, limit: int) -> list[str]:
    """The first ``limit`` cadre accounts (by username) covering households of
    the ``county``-th county by name: read through the places, which both
    versions' schemas have."""
    engine = make_engine(url)
    with Session(engine) as session:
        county_id = session.scalars(select(County.id).order_by(County.name)).all()[county]
        names = session.scalars(
            select(Account.username)
            .join(HouseholdLink, HouseholdLink.cadre_id == Account.cadre_id)
            .join(Household, Household.id == HouseholdLink.household_id)
            .join(Grid, Grid.id == Household.grid_id)
            .join(Village, Village.id == Grid.village_id)
            .join(Town, Town.id == Village.town_id)
            .where(
                Account.role == AccountRole.CADRE,
                HouseholdLink.ended_at.is_(None),
                Town.county_id == county_id,
            )
            .group_by(Account.username)
            .order_by(Account.username)
            .limit(limit)
        ).all()
    engine.dispose()
    return list(names)


def _first_syncs(crowd: Crowd) -> None:
    """Every phone's first sync, again for those cut short (timed out under load)."""
    everyone = crowd.paths
    for _ in range(5):
        crowd.run("sync")
        empty = [path for path in everyone if not _holds_households(path)]
        if not empty:
            break
        _progress(f"  {len(empty)} phones to sync again")
        crowd.paths = empty
    crowd.paths = everyone


def _holds_households(path: Path) -> bool:
    phone = Phone(path)
    try:
        return bool(phone.households())
    finally:
        phone.close()


def bursts(minqing: Path, version: str, phones: int, workers: int) -> Run:
    with _copy(minqing) as (url, upgraded), _minqing_of(minqing):
        east, west = county_cadres(url, 0, phones), county_cadres(url, 1, phones)
        folder = phone_folder()
        with Server(url, workers) as server:
            _progress(f"{version}: {len(east)} + {len(west)} phones, first syncs …")
            east_paths = register_phones(url, east, folder, server.url)
            west_paths = register_phones(url, west, folder, server.url)
            # Taken in turn, so that both counties' phones sync throughout the burst.
            both = [path for pair in zip(east_paths, west_paths, strict=True) for path in pair]
            with Crowd(both) as everyone:
                _first_syncs(everyone)
                with Crowd(east_paths) as one_county:
                    one_county.run("week")
                    alone = sync_bench._burst(server, one_county)
                _progress(f"{version}: one county alone: {alone.seconds:.1f} s")
                everyone.run("week")
                together = sync_bench._burst(server, everyone)
                _progress(f"{version}: two counties at once: {together.seconds:.1f} s")
    return Run(version, upgraded, alone, together)


def _row(run: Run, name: str, done: Burst) -> list[str]:
    lock = done.lock
    mean = 1000 * lock.seconds / lock.takes if lock.takes else 0.0
    return [
        run.version,
        name,
        f"{done.phones:,}",
        str(done.failed),
        f"{done.seconds:.1f}",
        f"{done.pushed:,}",
        f"{lock.takes:,.0f}",
        f"{mean:.1f}",
        f"{1000 * lock.percentile(0.99):.0f}",
        f"{lock.seconds / done.seconds:.2f}",
        f"{100 * done.machine_busy / done.machine_total:.0f}%",
    ]


def report(runs: list[Run], measured_on: str, phones: int, workers: int) -> str:
    rows = [
        _row(run, name, done)
        for run in runs
        for name, done in (("one county alone", run.alone), ("two counties at once", run.together))
    ]
    upgrades = ", ".join(f"{run.version}: {run.upgrade:.1f} s" for run in runs)
    return "\n".join(
        [
            "## Two counties returning to town at once",
            "",
            f"The scale-2 demo ledger; {phones} cadres' phones of each county, each pushing a"
            " week of work and pulling (bench/sync.py's burst), first the first county's"
            " alone, then both counties' at once (taken in turn). The server: `minqing serve"
            f" --workers {workers}`, each worker pushing one at a time. The lock wait is the"
            " change counter's, per push, from the server's /metrics.",
            "",
            measured_on + f". `minqing db upgrade` of the copy: {upgrades}.",
            "",
            table(
                [
                    "version",
                    "burst",
                    "phones",
                    "failed",
                    "s",
                    "changes pushed",
                    "lock takes",
                    "mean lock wait (ms)",
                    "p99 (ms, bucket)",
                    "pushes waiting (mean)",
                    "machine busy",
                ],
                rows,
            ),
        ]
    )


def run(phones: int = PHONES, workers: int = sync_bench.WORKERS, before: Path | None = None) -> str:
    """The bursts of one county alone and of two at once (and with ``before``,
    the same against that version's one counter); the section's markdown."""
    this = sync_bench.MINQING
    _template(before or this)
    runs = []
    if before:
        runs.append(bursts(before, "one counter (before)", phones, workers))
    runs.append(bursts(this, "a counter per county", phones, workers))
    load = f"; load average during the runs {os.getloadavg()[0]:.1f} (1 min, at the end)"
    measured_on = machine(f"PostgreSQL {sync_bench._pg_version()}") + load
    return report(runs, measured_on, phones, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=PHONES, help="phones of each county")
    parser.add_argument(
        "--workers", type=int, default=sync_bench.WORKERS, help="the server's worker processes"
    )
    parser.add_argument(
        "--before", type=Path, help="another version's minqing, to run the same bursts against"
    )
    options = parser.parse_args()
    print(run(options.phones, options.workers, options.before))


if __name__ == "__main__":
    main()

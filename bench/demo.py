"""Generating and loading the demo county into SQLite and PostgreSQL.

Each run is ``minqing db init`` then ``minqing demo`` in a fresh database, as
a user would run them; only ``minqing demo`` is timed. Peak memory is the
demo process's own maximum resident set (the PostgreSQL server's memory is
not counted); the database size is measured after it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.report import machine, table
from server.demo.generator import DONGSHAN

PG_ADMIN_URL = os.environ.get("MINQING_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MINQING = Path(sys.executable).parent / "minqing"
SEED = 2015
# The report's date, so every run generates the same county.
AS_OF = "2015-05-27"


@dataclass(frozen=True)
class Result:
    backend: str
    scale: int
    seconds: float
    peak_mb: float
    size_mb: float

    def row(self) -> list[str]:
        return [
            self.backend,
            str(self.scale),
            f"{DONGSHAN.households * self.scale:,}",
            f"{self.seconds:.1f}",
            f"{self.peak_mb:.0f}",
            f"{self.size_mb:.0f}",
        ]


def run(scales: list[int], backends: list[str]) -> str:
    """Measure every backend at every scale; the section's markdown."""
    notes = []
    software = []
    if "postgresql" in backends:
        try:
            software.append(f"PostgreSQL {_pg_version()}")
        except psycopg.OperationalError as down:
            backends = [backend for backend in backends if backend != "postgresql"]
            notes.append(f"PostgreSQL was not reachable ({str(down).strip()}): not measured.")
    # Taken before the first run, so the load average is the machine's other work.
    measured_on = machine(*software)
    results = []
    for backend in backends:
        for scale in scales:
            print(f"demo: {backend}, scale {scale} …", file=sys.stderr, flush=True)
            done = measure(backend, scale)
            results.append(done)
            print(
                f"  {done.seconds:.1f} s, {done.peak_mb:.0f} MB peak, {done.size_mb:.0f} MB on disk",
                file=sys.stderr,
                flush=True,
            )
    header = ["backend", "scale", "households", "seconds", "peak memory (MB)", "database (MB)"]
    return "\n".join(
        [
            "## Demo county: generate and load",
            "",
            f"`minqing demo --seed {SEED} --as-of {AS_OF} --scale N` into a new database"
            " made by `minqing db init`. Scale 1 is the report's Dongshan (7 towns,"
            " 61 villages, 1,694 cadres, ~136,000 visits); scale N is N such counties."
            " Peak memory is the `minqing demo` process's maximum RSS; the SQLite size"
            " includes any WAL file; the PostgreSQL size is `pg_database_size`.",
            "",
            measured_on + ".",
            "",
            table(header, [result.row() for result in results]),
            *notes,
        ]
    )


def measure(backend: str, scale: int) -> Result:
    with _database(backend, scale) as (url, size):
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([str(MINQING), "db", "init"], env=env, check=True, capture_output=True)
        # A file, not a pipe, takes the progress lines: nothing reads a pipe
        # while we wait, and a full one would stall the run.
        with tempfile.TemporaryFile() as progress:
            started = time.perf_counter()
            process = subprocess.Popen(
                [
                    str(MINQING),
                    "demo",
                    "--seed",
                    str(SEED),
                    "--as-of",
                    AS_OF,
                    "--scale",
                    str(scale),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=progress,
            )
            # wait4 gives this child's own resource use, unlike RUSAGE_CHILDREN,
            # which keeps the maximum over every child so far.
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                progress.seek(0)
                raise RuntimeError(f"minqing demo failed:\n{progress.read().decode()}")
        return Result(backend, scale, seconds, usage.ru_maxrss / 1024, size() / 2**20)


@contextmanager
def _database(backend: str, scale: int) -> Iterator[tuple[str, Callable[[], int]]]:
    """A new, empty database: its URL and a function giving its size in bytes."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="minqing-bench-") as folder:
            path = Path(folder) / f"demo-{scale}.db"

            def sqlite_size() -> int:
                return sum(
                    file.stat().st_size
                    for file in path.parent.iterdir()
                    if file.name.startswith(path.name)
                )

            yield f"sqlite:///{path}", sqlite_size
        return
    name = f"minqing_bench_demo_{scale}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')

        def pg_size() -> int:
            return int(admin.execute("SELECT pg_database_size(%s)", [name]).fetchone()[0])

        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", pg_size
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_version() -> str:
    with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0]).split()[0]

"""Backups that restore: an online copy of the database, and putting one back.

SQLite: the library's online backup, which copies a consistent snapshot
while the server keeps writing (a plain copy of a database in WAL mode can
miss what is still in its -wal file, or catch a page half written).
PostgreSQL: pg_dump's custom format, a consistent snapshot taken in one
transaction, restored with pg_restore. Point-in-time recovery and standbys
are the cluster's business (docs/backup.md).

A restored database renews its epoch, so phones that synced after the
backup was taken send again what it lacks (server/sync/epoch.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import sessionmaker

from server.db import transaction
from server.migrate import upgrade
from server.sync.epoch import renew_epoch


class BackupError(Exception):
    """Why a backup or restore could not be done, for the operator."""


def backup(engine: Engine, path: Path) -> None:
    """Write a consistent copy of the database to ``path``, while it serves."""
    if engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_file(engine), path)
        return
    _run(
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--file",
        str(path),
        "--dbname",
        _libpq_url(engine),
        password=engine.url.password,
    )


def restore(engine: Engine, path: Path) -> str:
    """Put the backup at ``path`` into the database; the new epoch.

    SQLite: the database file is replaced (stop the server first).
    PostgreSQL: the database must be a new, empty one.
    """
    if not path.is_file():
        raise BackupError(f"找不到备份文件 / no backup file at {path}")
    if engine.dialect.name == "sqlite":
        _check_sqlite_backup(path)
        engine.dispose()
        _sqlite_copy(path, _sqlite_file(engine))
    else:
        if inspect(engine).get_table_names():
            raise BackupError(
                "目标数据库不是空的：请新建一个空数据库（createdb）并将 DATABASE_URL 指向它"
                " / the database is not empty: create a new one (createdb) and point"
                " DATABASE_URL at it"
            )
        _run(
            "pg_restore",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            _libpq_url(engine),
            str(path),
            password=engine.url.password,
        )
    return restored(engine)


def restored(engine: Engine) -> str:
    """Bring a restored database to the current schema and give it a new epoch."""
    upgrade(engine)
    with transaction(sessionmaker(engine)) as session:
        return renew_epoch(session)


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory database has no backup")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with SQLite's online backup, into a file renamed into place when whole."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(partial)) as copy:
        origin.execute("PRAGMA busy_timeout=30000")
        # All pages in one step: one read transaction, a snapshot; in WAL
        # mode writers carry on meanwhile.
        origin.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    for leftover in ("-wal", "-shm"):
        Path(str(target) + leftover).unlink(missing_ok=True)
    os.replace(partial, target)


def _check_sqlite_backup(path: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as backup_db:
            ok = backup_db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in backup_db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as broken:
        raise BackupError(f"不是 SQLite 备份 / {path} is not an SQLite backup: {broken}") from None
    if ok != "ok":
        raise BackupError(f"备份文件已损坏 / the backup {path} is damaged: {ok}")
    if "alembic_version" not in tables:
        raise BackupError(f"不是民情数据库的备份 / {path} is not a backup of a Minqing database")


def _libpq_url(engine: Engine) -> str:
    # The password goes by PGPASSWORD, not on a command line others can read.
    return engine.url.set(drivername="postgresql", password=None).render_as_string()


def tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, or the newest Debian installs."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise BackupError(
            f"找不到 {name}：请安装 PostgreSQL 客户端 / {name} not found: install the"
            " PostgreSQL client (apt-get install postgresql-client)"
        )
    return found


def _run(program: str, *args: str, password: str | None) -> None:
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run([tool(program), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{program} 失败 / {program} failed: {done.stderr.strip()}")

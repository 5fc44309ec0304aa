"""``minqing db backup | restore | restored``: their refusals are sentences, and a
restore always starts a new epoch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from server.db import make_engine
from server.ledger.models import County
from server.migrate import upgrade
from server.sync.epoch import current_epoch
from tests.cli import run_minqing
from tests.conftest import fresh_database_url


def epoch_of(url: str) -> str:
    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as session:
            return current_epoch(session)
    finally:
        engine.dispose()


def migrated(backend: str, tmp_path: Path, label: str) -> str:
    url = fresh_database_url(backend, tmp_path, label)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_a_restored_backup_has_the_ledger_and_a_new_epoch(backend: str, tmp_path: Path) -> None:
    original = migrated(backend, tmp_path, "ops_cmd_original")
    assert run_minqing(original, tmp_path / "instance", "db", "init").returncode == 0
    backup = tmp_path / "backup"
    done = run_minqing(original, tmp_path / "instance", "db", "backup", str(backup))
    assert done.returncode == 0, done.stderr
    copy = fresh_database_url(backend, tmp_path, "ops_cmd_copy")

    done = run_minqing(copy, tmp_path / "instance", "db", "restore", "--yes", str(backup))

    assert done.returncode == 0, done.stderr
    assert "restored, new epoch" in done.stdout
    assert epoch_of(copy) != epoch_of(original)
    engine = make_engine(copy)
    try:
        with engine.connect() as connection:
            assert connection.scalars(select(County.name)).all() == ["东山县"]
    finally:
        engine.dispose()
    before = epoch_of(copy)
    assert run_minqing(copy, tmp_path / "instance", "db", "restored").returncode == 0
    assert epoch_of(copy) != before


def test_restoring_a_file_that_is_not_a_backup_says_so_and_changes_nothing(
    backend: str, tmp_path: Path
) -> None:
    target = migrated(backend, tmp_path, "ops_cmd_target")
    epoch = epoch_of(target)
    junk = tmp_path / "notes.txt"
    junk.write_text("不是备份 / not a backup")
    missing = tmp_path / "nowhere.backup"
    if backend == "postgresql":
        # Only an empty database is restored into: let the archive be judged.
        target = fresh_database_url(backend, tmp_path, "ops_cmd_empty")

    for path, says in ((missing, "no backup file"), (junk, "not")):
        done = run_minqing(target, tmp_path / "instance", "db", "restore", "--yes", str(path))
        assert done.returncode == 1
        assert says in done.stderr and " / " in done.stderr
    if backend == "sqlite":
        assert epoch_of(target) == epoch


def test_a_restore_into_a_postgresql_database_that_is_not_empty_is_refused(
    tmp_path: Path,
) -> None:
    # (A SQLite restore replaces the database file, after asking.)
    target = migrated("postgresql", tmp_path, "ops_cmd_full")
    backup = tmp_path / "backup"
    assert run_minqing(target, tmp_path / "instance", "db", "backup", str(backup)).returncode == 0

    done = run_minqing(target, tmp_path / "instance", "db", "restore", "--yes", str(backup))

    assert done.returncode == 1
    assert "the database is not empty: create a new one" in done.stderr

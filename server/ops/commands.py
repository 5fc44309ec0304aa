"""``minqing db backup | restore | restored``: backups an operator can run while serving."""

from __future__ import annotations

from pathlib import Path

import click

from server.db import db
from server.ops.backup import BackupError, backup, restore, restored


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH, safe while the server runs.

    SQLite: a database file (SQLite's online backup). PostgreSQL: a pg_dump
    archive (custom format). Point-in-time recovery: docs/backup.md.
    """
    try:
        backup(db.engine, path)
    except BackupError as failed:
        raise click.ClickException(str(failed)) from None
    click.echo(f"备份完成 / backed up to {path}")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.confirmation_option(
    prompt="用备份替换当前数据库？/ Replace the database with this backup?",
    help="Do not ask for confirmation.",
)
def restore_command(path: Path) -> None:
    """Restore the backup at PATH into the database (DATABASE_URL).

    SQLite: stop the server first; the database file is replaced.
    PostgreSQL: restore into a new, empty database. Phones that synced after
    the backup was taken then send again what it lacks.
    """
    try:
        epoch = restore(db.engine, path)
    except BackupError as failed:
        raise click.ClickException(str(failed)) from None
    click.echo(f"已恢复，新纪元 / restored, new epoch {epoch}: {path}")


@click.command("restored")
def restored_command() -> None:
    """Mark a database restored by other means (pg_restore, a point-in-time recovery).

    Gives it a new epoch: phones that synced after the restored point send
    again what it lacks and pull from the start.
    """
    epoch = restored(db.engine)
    click.echo(f"新纪元 / new epoch {epoch}")

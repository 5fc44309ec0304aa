"""What every ``minqing`` command shares: its one transaction, on a database
that is set up. The command modules import this, and server/cli.py gathers
them, so no command module imports the CLI itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.db import db, transaction
from server.migrate import current_revision, head_revision


@contextmanager
def cli_session() -> Iterator[Session]:
    """The command's one transaction, committed only if the command succeeds.

    Refuses, with a message rather than a database error, a database that
    `minqing db init` has not set up (or `db upgrade` brought up to date).
    """
    require_current_schema()
    with transaction(db.factory(current_app)) as session:
        yield session


def where() -> str:
    """The database a command works on, as a message names it (no password)."""
    return db.engine.url.render_as_string(hide_password=True)


def require_current_schema() -> None:
    try:
        revision = current_revision(db.engine)
    except OperationalError as unreachable:
        raise click.ClickException(
            f"无法连接数据库 / cannot reach the database ({where()}): {unreachable.orig}"
        ) from None
    if revision != head_revision():
        raise click.ClickException(
            "数据库尚未初始化或需要升级，请先运行 minqing db init（或 minqing db upgrade）"
            f" / the database is not set up or is out of date: run `minqing db init`"
            f" (or `minqing db upgrade`) first ({where()})"
        )

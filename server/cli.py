"""The ``minqing`` command: database, accounts, import/export, demo, check, serve.

Every command runs in one transaction: it changes everything it was asked
to or nothing. A user's mistake ends in a message, never a traceback.
"""

from __future__ import annotations

import errno
import os
import socket
import sys

import click
from flask import current_app
from sqlalchemy import select

from server import create_app, gunicorn_conf
from server.commands import cli_session, require_current_schema, where
from server.db import db
from server.migrate import upgrade


class MinqingGroup(click.Group):
    """Runs every command inside the app's context, so it has the configured database."""

    def invoke(self, ctx: click.Context) -> object:
        app = create_app()
        try:
            with app.app_context():
                return super().invoke(ctx)
        finally:
            # Closed, not left to the garbage collector: commands also run in-process.
            db.dispose(app)


@click.group(cls=MinqingGroup)
def main() -> None:
    """民情 Minqing: the central household ledger of 包村包户.

    The database is DATABASE_URL (default: SQLite in ./instance).
    """


@main.group("db")
def db_group() -> None:
    """Create, upgrade, back up or restore the database."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (new or old) to the current schema."""
    upgrade(db.engine)
    click.echo(f"数据库已是最新结构 / database is up to date: {where()}")


@db_group.command("init")
@click.option("--county", default="东山县", show_default=True, help="The county's name.")
def db_init(county: str) -> None:
    """Create the schema and the county record, if not there yet."""
    from server.config import DEFAULT_SERVICE_NUMBERS
    from server.ledger.models import County

    upgrade(db.engine)
    with cli_session() as session:
        if session.scalar(select(County.id)) is None:
            session.add(County(name=county, service_numbers=DEFAULT_SERVICE_NUMBERS))
    click.echo(f"数据库已初始化 / database ready: {where()}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--workers",
    default=gunicorn_conf.workers,
    show_default=True,
    help="gunicorn worker processes.",
)
@click.option(
    "--threads",
    default=gunicorn_conf.threads,
    show_default=True,
    help="Threads per worker (gthread): a slow or stalled client holds one, not a whole worker.",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API and admin console with gunicorn (server/gunicorn_conf.py)."""
    upgrade(db.engine)
    _require_free_port(host, port)
    os.environ["DATABASE_URL"] = current_app.config["DATABASE_URL"]
    args = [
        sys.executable, "-m", "gunicorn",
        # By its path: as a module (python:server.gunicorn_conf), the server
        # package and its metrics would be imported before the config sets
        # up the metrics folder (see there).
        "--config", gunicorn_conf.__file__,
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "server.wsgi:app",
    ]  # fmt: skip
    os.execv(sys.executable, args)


@main.command("worker")
@click.option(
    "--stale",
    default=60.0,
    show_default=True,
    help="Seconds after which a running job whose worker stopped beating is taken back.",
)
def worker(stale: float) -> None:
    """Prepare the console's long downloads (ledgers, contact cards) until stopped.

    Run one or more beside the server, on any machine that reaches the
    database (docs/operations.md). SIGTERM or Ctrl-C stop it after the job
    at hand; a worker killed mid-job has its job taken back by another.
    """
    import logging
    import signal
    import threading

    from server.console.downloads import HANDLERS
    from server.jobs.worker import Worker

    # The server brings the schema up to date (`minqing serve`, `db upgrade`); a
    # worker started first says so rather than migrating beside it.
    require_current_schema()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    Worker(db.factory(current_app), HANDLERS, stale=stale).run(stop)


def _require_free_port(host: str, port: int) -> None:
    """One plain sentence when the port is taken, instead of gunicorn's retries."""
    try:
        # Bound as gunicorn binds (SO_REUSEADDR: a port left in TIME_WAIT is free).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socket.create_server((host, port), family=family).close()
    except OSError as taken:
        if taken.errno != errno.EADDRINUSE:
            raise click.ClickException(
                f"无法监听 {host}:{port} / cannot listen on {host}:{port}: {taken.strerror}"
            ) from None
        raise click.ClickException(
            f"端口 {port} 已被占用（另一个服务器在运行？）：请先停止它，或换一个端口，"
            f"如 minqing serve --port {port + 1}（make demo PORT={port + 1}）"
            f" / Port {port} is in use (another server running?): stop it or pick another"
            f" port: `minqing serve --port {port + 1}` (or `make demo PORT={port + 1}`)"
        ) from None


def _register() -> None:
    from server.accounts.commands import accounts_group
    from server.demo.commands import demo
    from server.ledger.commands import check, export_group, import_group
    from server.ops.commands import backup_command, restore_command, restored_command

    for command in (accounts_group, check, import_group, export_group, demo):
        main.add_command(command)
    for command in (backup_command, restore_command, restored_command):
        db_group.add_command(command)


_register()

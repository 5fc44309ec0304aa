"""The database: one declarative base, engines for SQLite and PostgreSQL, and
the Flask extension that gives each request one session and one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.exceptions import ServiceUnavailable

# Stable constraint names, so Alembic migrations name the same things on
# SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones; without this a datetime read from it is naive
    and compares wrongly with one read from PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; timestamps must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON everywhere, JSONB on PostgreSQL (smaller, indexable).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def enum_column(enum: type, name: str) -> Enum:
    """A VARCHAR holding an enum's codes, checked by the database itself."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        Any: JSONType,
    }


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs for safe concurrent use."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the console read
    # while a sync writes; the busy timeout queues writers instead of failing.
    # pysqlite delays BEGIN until the first write, which breaks savepoints and
    # lets a transaction's reads see other commits: SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A writer takes SQLite's write lock at BEGIN: one that first read and
    # then tried to write could fail at once if another wrote in between.
    immediate = connection.get_execution_options().get("sqlite_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer. Call before any query."""
    session.connection(execution_options={"sqlite_immediate": True})


def upsert(session: Session, table: Any) -> Any:
    """An INSERT into ``table`` that can say ON CONFLICT: PostgreSQL's or SQLite's."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed if the block ends normally, rolled back if not."""
    with factory() as session, session.begin():
        begin_write(session)
        yield session


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows that set the same columns, in the session's transaction.

    On PostgreSQL with COPY, the cheapest way in for the database and for
    the server: psycopg writes the values in C, without a statement per row
    or a document to build and parse. What an INSERT would do is done here:
    the columns' Python defaults filled in, values bound by their types. A
    refusal (a duplicate id) raises SQLAlchemy's IntegrityError, as an INSERT
    does. COPY cannot share a round trip with other statements (``pipelined``):
    each call is one. Elsewhere, one INSERT executed for every row.
    """
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    plan = _copy_plan(dialect, table, tuple(rows[0]))
    raw = connection.connection.driver_connection
    with (
        _raised_as_sqlalchemy_does(dialect, plan.statement),
        raw.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(plan.statement) as copy,
    ):
        for row in rows:
            copy.write_row(
                [row[key] if process is None else process(row[key]) for key, process in plan.given]
                + [
                    default(None) if process is None else process(default(None))
                    for default, process in plan.defaulted
                ]
            )


@dataclass(frozen=True)
class _CopyPlan:
    """How insert_rows writes rows of one table with the same given columns."""

    statement: str
    # Each given column's key and bind processor (None: the value as it is).
    given: list[tuple[str, Callable[[Any], Any] | None]]
    # The Python default and bind processor of each column not given.
    defaulted: list[tuple[Callable[[Any], Any], Callable[[Any], Any] | None]]


@lru_cache(maxsize=256)  # a push writes the same few shapes over and over
def _copy_plan(dialect: Dialect, table: Table, given: tuple[str, ...]) -> _CopyPlan:
    defaulted = [
        column for column in table.columns if column.key not in given and column.default is not None
    ]
    columns = [table.c[key] for key in given] + defaulted
    quote = dialect.identifier_preparer
    listed = ", ".join(quote.quote(column.name) for column in columns)

    def bind(column: Any) -> Callable[[Any], Any] | None:
        return column.type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]

    return _CopyPlan(
        statement=f"COPY {quote.format_table(table)} ({listed}) FROM STDIN",
        given=[(key, bind(table.c[key])) for key in given],
        defaulted=[(_default_maker(column.default), bind(column)) for column in defaulted],
    )


def _default_maker(default: Any) -> Callable[[Any], Any]:
    """A column's Python default as a function of the (unused) execution context."""
    if default.is_callable:
        return default.arg  # type: ignore[no-any-return]
    return lambda _: default.arg


@contextmanager
def _raised_as_sqlalchemy_does(dialect: Dialect, statement: str) -> Iterator[None]:
    """Errors of statements run on the driver's own connection, raised as
    SQLAlchemy's own (an IntegrityError for a duplicate, say)."""
    try:
        yield
    except dialect.loaded_dbapi.Error as refused:
        raise DBAPIError.instance(statement, None, refused, dialect.loaded_dbapi.Error) from None


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """Send the statements executed in the block to PostgreSQL together.

    They go in one round trip instead of one each (psycopg's pipeline mode),
    which matters while a write holds a lock others wait for. The statements
    must not read results (inserts and updates only). A refusal surfaces at
    the end of the block, as SQLAlchemy raises it (an IntegrityError for a
    duplicate, say). Elsewhere the statements simply run one by one.
    """
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        yield
        return
    raw = connection.connection.driver_connection
    with _raised_as_sqlalchemy_does(dialect, "(pipelined statements)"), raw.pipeline():  # type: ignore[union-attr]
        yield


# What the database raises when it cannot serve at all: down, failing over to a
# standby, out of pooled connections, or past a lock or statement timeout.
UNAVAILABLE = (OperationalError, PoolTimeout)


class DatabaseUnavailable(ServiceUnavailable):
    """503: the request was fine but the database could not serve it; the
    same request a little later will do (a phone's push is idempotent)."""

    description = (
        "数据库暂时无法访问，请求未完成；请几秒钟后重试"
        " / the database cannot be reached just now and the request did not complete:"
        " try again in a few seconds"
    )

    def __init__(self) -> None:
        super().__init__(retry_after=5)


class Database:
    """Flask extension: an engine per app and a session per request.

    Services never commit. The request's session is committed once after the
    view returns without error (see ``init_app``) and rolled back otherwise.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        engine = make_engine(
            app.config["DATABASE_URL"],
            pool_pre_ping=True,
            pool_size=app.config["DATABASE_POOL_SIZE"],
        )
        app.extensions["minqing.db"] = sessionmaker(engine, expire_on_commit=False)
        if app.config.get("DATABASE_READ_URL"):
            standby = make_engine(
                app.config["DATABASE_READ_URL"],
                pool_pre_ping=True,
                pool_size=app.config["DATABASE_POOL_SIZE"],
                execution_options={"postgresql_readonly": True},
            )
            app.extensions["minqing.db.reports"] = sessionmaker(standby, autoflush=False)

        @app.after_request
        def _end_transaction(response: Response) -> Response:
            # Commit before the response leaves, so a client is never told
            # "saved" about a write that then failed to commit.
            session: Session | None = g.get("db_session")
            if session is not None:
                if response.status_code < 400:
                    try:
                        session.commit()
                    except UNAVAILABLE as lost:
                        session.rollback()
                        return _unavailable(lost)
                else:
                    session.rollback()
            return response

        app.register_error_handler(OperationalError, _unavailable)
        app.register_error_handler(PoolTimeout, _unavailable)

        @app.teardown_appcontext
        def _close_session(exc: BaseException | None) -> None:
            for name in ("db_session", "db_reports"):
                session: Session | None = g.pop(name, None)
                if session is not None:
                    session.close()  # rolls back whatever was not committed

    @staticmethod
    def dispose(app: Flask) -> None:
        """Close every pooled connection of the app's engines, the standby's too
        (an app made in-process, by a command or a test, is not left to the
        garbage collector to close them)."""
        for name in ("minqing.db", "minqing.db.reports"):
            factory: sessionmaker[Session] | None = app.extensions.get(name)
            if factory is not None:
                factory.kw["bind"].dispose()

    @staticmethod
    def factory(app: Flask) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = app.extensions["minqing.db"]
        return factory

    @property
    def session(self) -> Session:
        """The current request's session (opened on first use)."""
        from flask import current_app, request

        if "db_session" not in g:
            g.db_session = self.factory(current_app)()
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                begin_write(g.db_session)
        session: Session = g.db_session
        return session

    @property
    def reports(self) -> Session:
        """A session for the console's heavy read-only reports: on the
        standby when DATABASE_READ_URL names one (it may be a moment behind
        the primary), else the request's own session."""
        from flask import current_app

        factory: sessionmaker[Session] | None = current_app.extensions.get("minqing.db.reports")
        if factory is None:
            return self.session
        if "db_reports" not in g:
            g.db_reports = factory()
        session: Session = g.db_reports
        return session

    @property
    def engine(self) -> Engine:
        from flask import current_app

        bind = self.factory(current_app).kw["bind"]
        assert isinstance(bind, Engine)
        return bind


def _unavailable(error: Exception) -> Response:
    """The database's outage answered as 503 (the console's page or the API's
    JSON, by the app's own 503 handlers), not as the server's own failure."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    current_app.logger.warning("database unavailable: %s", first_line)
    response: Response = current_app.make_response(
        current_app.handle_http_exception(DatabaseUnavailable())
    )
    return response


db = Database()

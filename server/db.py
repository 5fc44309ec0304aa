"""The database: one declarative base, engines for SQLite and PostgreSQL, and
the Flask extension that gives each request one session and one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, Response, g
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Table,
    TextClause,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations name the same things on
# SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class Synced:
    """A record phones receive. ``seq`` is the server's change sequence: every
    insert or update takes the next number, in commit order (server/sync/sequence.py),
    and a phone pulls what changed after the last number it saw.

    Bulk loads (the demo county, imports of new records) leave it at 0: a
    phone receives such records whole when their household enters its scope.
    """

    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    def numbered(self, seq: int) -> None:
        """Called when a change to this record has been given ``seq``."""


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


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed if the block ends normally, rolled back if not."""
    with factory() as session, session.begin():
        begin_write(session)
        yield session


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows that set the same columns, in the session's transaction.

    On PostgreSQL in one statement whatever their number: the rows go as one
    JSON document that the database turns into the table's rows
    (json_populate_recordset), which costs little more than COPY and, unlike
    COPY, can share a round trip with other statements (``pipelined``). What
    an INSERT would do is done here: the columns' Python defaults filled in,
    values bound by their types. Elsewhere, one INSERT executed for every row.
    """
    dialect = session.connection().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    given = tuple(rows[0])
    plan = _json_insert(dialect, table, given)
    document = [
        {
            name: value if process is None else process(value)
            for name, value, process in zip(
                plan.names,
                [row[key] for key in given] + [default(None) for default in plan.defaults],
                plan.bind,
                strict=True,
            )
        }
        for row in rows
    ]
    session.execute(
        plan.statement, {"rows": json.dumps(document, ensure_ascii=False, default=_json_scalar)}
    )


@dataclass(frozen=True)
class _JsonInsert:
    """How insert_rows writes rows of one table with the same given columns."""

    statement: TextClause
    # The columns' names in the document: the given ones, then the defaulted.
    names: list[str]
    # The Python defaults of the columns not given.
    defaults: list[Callable[[Any], Any]]
    # Each column's bind processor; None for JSON columns, nested as they are.
    bind: list[Callable[[Any], Any] | None]


@lru_cache(maxsize=256)  # a push writes the same few shapes over and over
def _json_insert(dialect: Dialect, table: Table, given: tuple[str, ...]) -> _JsonInsert:
    defaulted = [
        column for column in table.columns if column.key not in given and column.default is not None
    ]
    columns = [table.c[key] for key in given] + defaulted
    names = [column.name for column in columns]
    quote = dialect.identifier_preparer
    listed = ", ".join(quote.quote(name) for name in names)
    name = quote.format_table(table)
    return _JsonInsert(
        statement=text(
            f"INSERT INTO {name} ({listed}) SELECT {listed}"
            f" FROM json_populate_recordset(NULL::{name}, :rows)"
        ),
        names=names,
        defaults=[_default_maker(column.default) for column in defaulted],
        bind=[
            None
            if isinstance(column.type, JSON)
            else column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in columns
        ],
    )


def _default_maker(default: Any) -> Callable[[Any], Any]:
    """A column's Python default as a function of the (unused) execution context."""
    if default.is_callable:
        return default.arg  # type: ignore[no-any-return]
    return lambda _: default.arg


def _json_scalar(value: Any) -> str:
    """A value JSON has no type for, as PostgreSQL reads it back in its column."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # a UUID, a Decimal


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
    try:
        with raw.pipeline():  # type: ignore[union-attr]
            yield
    except dialect.loaded_dbapi.Error as refused:
        raise DBAPIError.instance(
            "(pipelined statements)", None, refused, dialect.loaded_dbapi.Error
        ) from None


class Database:
    """Flask extension: an engine per app and a session per request.

    Services never commit. The request's session is committed once after the
    view returns without error (see ``init_app``) and rolled back otherwise.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], pool_pre_ping=True)
        app.extensions["minqing.db"] = sessionmaker(engine, expire_on_commit=False)

        @app.after_request
        def _end_transaction(response: Response) -> Response:
            # Commit before the response leaves, so a client is never told
            # "saved" about a write that then failed to commit.
            session: Session | None = g.get("db_session")
            if session is not None:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            return response

        @app.teardown_appcontext
        def _close_session(exc: BaseException | None) -> None:
            session: Session | None = g.pop("db_session", None)
            if session is not None:
                session.close()  # rolls back whatever was not committed

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
    def engine(self) -> Engine:
        from flask import current_app

        bind = self.factory(current_app).kw["bind"]
        assert isinstance(bind, Engine)
        return bind


db = Database()

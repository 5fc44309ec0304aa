"""A database file with the small county, for the tests that run the ``minqing`` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from server.db import make_engine, transaction
from server.migrate import upgrade
from tests.conftest import fresh_database_url
from tests.server.ledger.fixtures import small_county


@pytest.fixture
def county_url(backend: str, tmp_path: Path) -> tuple[str, str]:
    """A database set up with the small county; its URL and the phone of a cadre."""
    return _county_database(backend, tmp_path)


@pytest.fixture
def sqlite_county_url(tmp_path: Path) -> tuple[str, str]:
    """The same on SQLite only: for files refused before the command opens the database."""
    return _county_database("sqlite", tmp_path)


def _county_database(backend: str, tmp_path: Path) -> tuple[str, str]:
    url = fresh_database_url(backend, tmp_path, "import_cli")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(sessionmaker(engine)) as session:
            phone = small_county(session).teacher.phone
    finally:
        engine.dispose()
    return url, phone

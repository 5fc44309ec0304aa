"""Sync tests run the real app on a real database, committing for real; each
test starts from an empty ledger and leaves one behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from server import create_app
from tests.sync.transport import FlaskTransport
from tests.sync.world import County, wipe


@pytest.fixture
def sync_app(engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    wipe(engine)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test",
        }
    )
    yield app
    app.extensions["minqing.db"].kw["bind"].dispose()
    # Leave the shared test database empty for the tests that roll back.
    wipe(engine)


@pytest.fixture
def county(sync_app: Flask, tmp_path: Path) -> County:
    return County.build(sync_app, tmp_path)


@pytest.fixture
def transport(sync_app: Flask) -> FlaskTransport:
    return FlaskTransport(sync_app.test_client())

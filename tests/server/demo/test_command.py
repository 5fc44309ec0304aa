"""``minqing demo`` as a user runs it: the report's full county, and refusals without tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.demo.generator import generate
from server.ledger.models import Household
from server.migrate import upgrade
from tests.cli import run_minqing
from tests.conftest import fresh_database_url
from tests.server.demo.test_generator import AS_OF, SMALL


def test_minqing_demo_refuses_a_ledger_that_has_households_without_a_traceback(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path, "demo_refused")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            generate(session, seed=1, as_of=AS_OF, shape=SMALL)
        run = run_minqing(url, tmp_path / "instance", "demo")
        assert run.returncode == 2
        assert "台帐不是空的" in run.stderr and "the ledger is not empty" in run.stderr
        with Session(engine) as session:
            households = session.scalar(select(func.count()).select_from(Household))
            assert households == SMALL.households
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--as-of", "27/05/2015", "is not a date such as 2015-05-27"),
        ("--scale", "0", "must be a whole number of at least 1"),
        ("--seed", "abc", "must be a whole number of at least 0"),
    ],
)
def test_minqing_demo_explains_a_mistyped_option(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    run = run_minqing(url, tmp_path / "instance", "demo", option, value)
    assert run.returncode == 2
    assert message in run.stderr

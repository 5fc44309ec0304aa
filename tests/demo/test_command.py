"""``minqing demo`` as a user runs it: the report's full county, and refusals without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.demo.generator import generate
from server.ledger.models import Cadre, Household
from server.ledger.services import check_integrity
from server.migrate import upgrade
from shared.vocab import Rank
from tests.conftest import fresh_database_url
from tests.demo.test_generator import AS_OF, SMALL, assert_cadre_loads, assert_report_cases

MINQING = Path(sys.executable).parent / "minqing"


def minqing(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MINQING_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return subprocess.run(
        [str(MINQING), *args], env=env, capture_output=True, text=True, timeout=600
    )


# At full size on SQLite, the database `make demo` builds it in. PostgreSQL gets
# the same rows from the same seed (test_generator.py, at a small size), and
# the benchmarks build the full county on it; both here would cost the suite
# most of a minute.
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_minqing_demo_builds_the_report_s_county_which_passes_the_integrity_check(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path, "demo_full")
    assert minqing(url, tmp_path, "db", "init").returncode == 0
    run = minqing(url, tmp_path, "demo", "--seed", "2015", "--as-of", AS_OF.isoformat())
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    # Progress, town by town, goes to stderr; the summary to stdout.
    assert all(town in run.stderr for town in ("前楼镇", "樟塘镇", "陈城镇"))
    assert "33,410" in run.stdout

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = check_integrity(session)
            assert report.ok, report.problems
            assert report.counts["towns"] == 7
            assert report.counts["villages"] == 61
            assert report.counts["households"] == 33_410
            # 1,694 cadres linked to households and 31 division-level leaders.
            assert report.counts["cadres"] == 1_694 + 31
            leaders = session.scalar(
                select(func.count()).select_from(Cadre).where(Cadre.rank == Rank.DIVISION_LEADER)
            )
            assert leaders == 31
            assert_cadre_loads(session, cadres=1_694, leaders=31, villages=61)
            assert_report_cases(session)
            assert 100 <= report.counts["inspections"] <= 2_000
    finally:
        engine.dispose()


def test_minqing_demo_refuses_a_ledger_that_has_households_without_a_traceback(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path, "demo_refused")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            generate(session, seed=1, as_of=AS_OF, shape=SMALL)
        run = minqing(url, tmp_path, "demo")
        assert run.returncode == 2
        assert "Traceback" not in run.stderr
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
    run = minqing(url, tmp_path, "demo", option, value)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr

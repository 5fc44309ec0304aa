"""The report's whole county (33,410 households) as a user meets it: built by
``minqing demo`` into SQLite as `make demo` does, checked, exported with
``minqing export ledger`` and imported kind by kind into an empty PostgreSQL
database within the same 600 MB of address space the hostile files get.

One test, because building the full county takes most of a minute: two tests
on two test workers would each build it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.ledger.models import Cadre
from server.ledger.services import check_integrity
from shared.vocab import Rank
from tests.cli import run_minqing
from tests.conftest import fresh_database_url
from tests.server.demo.test_generator import AS_OF, assert_cadre_loads, assert_report_cases
from tests.server.ledger.fixtures import ledger_facts
from tests.server.ledger.test_hostile_files import MEMORY


def _check_and_read(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The integrity check and the report's figures on the demo county; its ledger."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = check_integrity(session)
            assert report.ok, report.breaches
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
            return ledger_facts(session)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_demo_county_passes_the_integrity_check_and_its_export_imports_unchanged(
    tmp_path: Path,
) -> None:
    demo = fresh_database_url("sqlite", tmp_path, "demo_full")
    assert run_minqing(demo, tmp_path / "instance", "db", "init").returncode == 0
    run = run_minqing(
        demo, tmp_path / "instance", "demo", "--seed", "2015", "--as-of", AS_OF.isoformat()
    )
    assert run.returncode == 0, run.stderr
    # Progress, town by town, goes to stderr; the summary to stdout.
    assert all(town in run.stderr for town in ("前楼镇", "樟塘镇", "陈城镇"))
    assert "33,410" in run.stdout
    facts = _check_and_read(demo)
    workbook = tmp_path / "东山县.xlsx"
    assert (
        run_minqing(demo, tmp_path / "instance", "export", "ledger", str(workbook)).returncode == 0
    )

    imported = fresh_database_url("postgresql", tmp_path, "full_size")
    assert run_minqing(imported, tmp_path / "instance", "db", "init").returncode == 0
    for kind in ("villages", "cadres", "households", "leaders"):
        done = run_minqing(
            imported, tmp_path / "instance", "import", kind, str(workbook), memory=MEMORY
        )
        assert done.returncode == 0, done.stderr
        assert "跳过 0" in done.stdout, done.stdout

    engine = make_engine(imported)
    try:
        with Session(engine) as session:
            assert ledger_facts(session) == facts
    finally:
        engine.dispose()

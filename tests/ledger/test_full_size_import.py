"""No false refusal: the demo county at full size (33,410 households), exported with
``minqing export ledger``, imports kind by kind into an empty database within the
same 600 MB of address space the hostile files get, and gives the same ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from server.db import make_engine
from tests.conftest import fresh_database_url
from tests.ledger.fixtures import ledger_facts, minqing
from tests.ledger.test_hostile_files import MEMORY

Facts = dict[str, list[tuple[object, ...]]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Facts]]:
    """The demo county's export, and the ledger it was written from."""
    folder = tmp_path_factory.mktemp("full_size")
    url = fresh_database_url("sqlite", folder, "demo")
    for command in (("db", "init"), ("demo", "--seed", "2015"), ("export", "ledger", str(folder / "东山县.xlsx"))):  # fmt: skip
        done = minqing(url, folder, *command)
        assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield folder / "东山县.xlsx", ledger_facts(session)
    finally:
        engine.dispose()


# On PostgreSQL, the database a county's full ledger is loaded into in
# production: reading and checking the workbook (where memory is bounded) is the
# same code on both backends, and the import tests of test_import_cli.py and
# test_hostile_files.py (200,000 rows) run on both. Both here would add two
# minutes to a suite that must stay under fifteen.
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_whole_county_s_export_imports_into_an_empty_database_in_bounded_memory(
    exported: tuple[Path, Facts],
    backend: str,
    tmp_path: Path,
) -> None:
    path, facts = exported
    url = fresh_database_url(backend, tmp_path, "full_size")
    assert minqing(url, tmp_path, "db", "init").returncode == 0

    for kind in ("villages", "cadres", "households", "leaders"):
        done = minqing(url, tmp_path, "import", kind, str(path), memory=MEMORY)
        assert done.returncode == 0, done.stderr
        assert "跳过 0" in done.stdout, done.stdout

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            assert ledger_facts(session) == facts
    finally:
        engine.dispose()
    assert len(facts["households"]) == 33_410

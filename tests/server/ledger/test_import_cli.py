"""``minqing import`` and ``minqing export`` as a user runs them: what they print,
how they exit, and never a traceback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import sessionmaker

from server.db import make_engine, transaction
from server.migrate import upgrade
from tests.cli import run_minqing
from tests.conftest import fresh_database_url
from tests.server.ledger.fixtures import (
    HOUSEHOLD_HEADER,
    households,
    second_county,
    small_county,
    write_sheet,
)


def test_importing_households_again_is_refused_unless_skipping_bad_rows_then_exporting(
    county_url: tuple[str, str], tmp_path: Path
) -> None:
    url, phone = county_url
    first = write_sheet(
        tmp_path / "households.csv",
        [
            HOUSEHOLD_HEADER,
            ("QL-1", "前楼镇", "前楼村", "第1网格", "林春武", "4", "", "", "", "", "", phone),
            ("QL-2", "前楼镇", "前楼村", "第2网格", "林光荣", "3", "", "", "", "", "", phone),
        ],
        encoding="gb18030",  # as Excel on a Chinese Windows saves "CSV"
    )
    done = run_minqing(url, tmp_path / "instance", "import", "households", str(first))
    assert done.returncode == 0, done.stderr
    assert "新建 2" in done.stdout and "created 2" in done.stdout

    second = write_sheet(
        tmp_path / "more.csv",
        [
            HOUSEHOLD_HEADER,
            ("QL-2", "前楼镇", "前楼村", "第2网格", "林光荣", "3", "", "", "", "", "", phone),
            ("QL-3", "前楼镇", "前楼村", "第2网格", "林秀英", "2", "", "", "", "", "", phone),
        ],
    )
    refused = run_minqing(url, tmp_path / "instance", "import", "households", str(second))
    assert refused.returncode == 1
    assert "第 2 行 / row 2 [户编号]: 户编号 QL-2 已在台帐中" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert households(url) == 2

    skipped = run_minqing(
        url, tmp_path / "instance", "import", "households", str(second), "--skip-bad-rows"
    )
    assert skipped.returncode == 0
    assert "row 2 [户编号]" in skipped.stderr and "created 1" in skipped.stdout
    assert households(url) == 3

    done = run_minqing(
        url, tmp_path / "instance", "export", "ledger", str(tmp_path / "ledger.xlsx")
    )
    assert done.returncode == 0, done.stderr
    assert "农户 3" in done.stdout and (tmp_path / "ledger.xlsx").exists()


def test_a_database_not_set_up_or_a_wrong_file_gets_a_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    # Both are refused before any query of the ledger: one backend is enough.
    url = fresh_database_url("sqlite", tmp_path, "not_set_up")
    path = write_sheet(tmp_path / "villages.csv", [("镇", "村"), ("前楼镇", "前楼村")])
    done = run_minqing(url, tmp_path / "instance", "import", "villages", str(path))
    assert done.returncode == 1
    assert "minqing db init" in done.stderr

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    wrong = tmp_path / "villages.txt"
    wrong.write_text("not a spreadsheet")
    done = run_minqing(url, tmp_path / "instance", "import", "villages", str(wrong))
    assert done.returncode == 1
    assert "only .xlsx and .csv files can be imported" in done.stderr


def test_exporting_a_town_whose_name_repeats_in_another_county_asks_for_the_county(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path, "export_cli")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(sessionmaker(engine)) as session:
            second_county(session, small_county(session))
    finally:
        engine.dispose()
    path = tmp_path / "town.xlsx"

    refused = run_minqing(
        url, tmp_path / "instance", "export", "ledger", str(path), "--town", "前楼镇"
    )
    assert refused.returncode == 1
    assert "有几个县都有“前楼镇”，请用 --county 指明：东山县、东山县(2)" in refused.stderr
    assert not path.exists()

    done = run_minqing(
        url,
        tmp_path / "instance",
        "export",
        "ledger",
        str(path),
        "--county",
        "东山县(2)",
        "--town",
        "前楼镇",
    )
    assert done.returncode == 0, done.stderr
    assert "农户 1" in done.stdout

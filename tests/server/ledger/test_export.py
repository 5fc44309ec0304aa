"""Exporting the ledger to .xlsx, and importing the export again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from server.audit.services import SYSTEM
from server.clock import utcnow
from server.db import make_engine, transaction
from server.issues.models import Issue
from server.ledger.exporting import ExportError, export_ledger, part_named
from server.ledger.layouts import CADRES, HOUSEHOLDS, LEADERS, VILLAGES
from server.ledger.models import County
from server.ledger.services import link_household, set_village_leader
from server.migrate import upgrade
from shared.vocab import IssueCategory, IssueStatus, LeaderRole
from tests.conftest import fresh_database_url
from tests.server.ledger.fixtures import (
    SmallCounty,
    counts,
    ledger_facts,
    load,
    second_county,
    small_county,
)


def sheets(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each sheet's rows, padded to the header's width (empty cells are not stored)."""
    workbook = load_workbook(path, read_only=True)
    try:
        book = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}
    finally:
        workbook.close()
    return {
        title: [row + (None,) * (len(rows[0]) - len(row)) for row in rows]
        for title, rows in book.items()
    }


def linked_county(session: Session) -> SmallCounty:
    """The small county with households in three villages, their cadres and leaders."""
    county = small_county(session)
    ledger = county.ledger
    first = ledger.household(county.qianlou_2, "林春武", members=5, phones=["13912345678", "0596-5881234"], tags=["poor", "student"], notes="两个孩子上大学")  # fmt: skip
    first.code = "QL-02-001"
    second = ledger.household(county.qianlou_1, "林光荣", address="前楼村3号")
    second.code = "QL-01-002"
    third = ledger.household(county.kangmei_1, "陈秀英", notes="=先联系村委")
    third.code = "KM-01-001"
    unlinked = ledger.household(county.qianlou_1, "林无挂")
    unlinked.code = "QL-01-009"
    link_household(session, SYSTEM, first, county.teacher)
    link_household(session, SYSTEM, second, county.clerk)
    link_household(session, SYSTEM, third, county.teacher)
    qianlou = county.qianlou_1.village
    for role, cadre in zip(LeaderRole, (county.leader, county.clerk, county.teacher), strict=True):
        set_village_leader(session, SYSTEM, qianlou, role, cadre)
    return county


def test_the_export_has_the_ledger_sheets_each_headed_like_its_import(
    session: Session, tmp_path: Path
) -> None:
    linked_county(session)
    report = export_ledger(session, tmp_path / "ledger.xlsx")

    book = sheets(tmp_path / "ledger.xlsx")
    assert list(book) == ["村挂钩领导", "农户", "干部", "村网格", "群众问题", "帮扶金额合计"]
    for layout in (LEADERS, HOUSEHOLDS, CADRES, VILLAGES):
        assert book[layout.sheet][0] == tuple(column.header for column in layout.columns)
        assert report.rows[layout.sheet] == len(book[layout.sheet]) - 1


def test_households_are_listed_by_town_village_grid_and_code_with_their_cadre(
    session: Session, tmp_path: Path
) -> None:
    county = linked_county(session)
    export_ledger(session, tmp_path / "ledger.xlsx")

    rows = [row for row in sheets(tmp_path / "ledger.xlsx")["农户"][1:] if row[1] != "樟塘镇"]
    # Sorted by code point: 前 (U+524D) before 康 (U+5EB7).
    assert [row[0] for row in rows] == ["QL-01-002", "QL-01-009", "QL-02-001", "KM-01-001"]
    assert rows[2] == (
        "QL-02-001", "前楼镇", "前楼村", "第2网格", "林春武", 5, None,
        "13912345678、0596-5881234", "贫困户、有在校学生", "两个孩子上大学",
        "陈志明", "县教育局", county.teacher.phone,
    )  # fmt: skip
    assert rows[1][10:] == (None, None, None)  # no cadre yet: the ledger shows the gap
    # A note that looks like a formula stays text.
    assert rows[3][9] == "=先联系村委"


def test_grids_are_counted_as_numbers_in_the_households_and_grids_sheets(
    session: Session, tmp_path: Path
) -> None:
    county = linked_county(session)
    tenth = county.ledger.grid(county.qianlou_1.village, "第10网格")
    county.ledger.household(tenth, "林十").code = "QL-00-010"  # first by code, last by grid
    export_ledger(session, tmp_path / "ledger.xlsx")

    book = sheets(tmp_path / "ledger.xlsx")
    grids = [row[3] for row in book["农户"][1:] if row[2] == "前楼村"]
    assert grids == ["第1网格", "第1网格", "第2网格", "第10网格"]
    listed = [row[2] for row in book["村网格"][1:] if row[1] == "前楼村"]
    assert listed == ["第1网格", "第2网格", "第10网格"]


def test_every_sheet_prints_landscape_fit_to_width_with_its_header_frozen_repeated_and_filtered(
    session: Session, tmp_path: Path
) -> None:
    linked_county(session)
    export_ledger(session, tmp_path / "ledger.xlsx")

    workbook = load_workbook(tmp_path / "ledger.xlsx")
    for sheet in workbook:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.print_title_rows == "$1:$1"
        assert sheet.freeze_panes == "A2"
        assert (
            sheet.auto_filter.ref
            == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        )
    households = workbook["农户"]
    widths = {
        cell.value: households.column_dimensions[cell.column_letter].width for cell in households[1]
    }
    # An address of a dozen characters and two phone numbers fit without wrapping.
    assert widths["地址"] >= 2 * 12 and widths["电话"] >= len("13912345678、0596-5881234") + 1


def test_the_leaders_sheet_lists_every_village_with_its_three_leaders(
    session: Session, tmp_path: Path
) -> None:
    county = linked_county(session)
    export_ledger(session, tmp_path / "ledger.xlsx")

    leaders = sheets(tmp_path / "ledger.xlsx")["村挂钩领导"][1:]
    assert [row[:2] for row in leaders] == [("前楼镇", "前楼村"), ("康美镇", "康美村"), ("樟塘镇", "后马村")]  # fmt: skip
    assert leaders[0][2:] == (
        "林处长", "县政府", county.leader.phone,
        "黄丽华", "前楼镇政府", county.clerk.phone,
        "陈志明", "县教育局", county.teacher.phone,
    )  # fmt: skip
    assert leaders[1][2:] == (None,) * 9


def test_exporting_one_village_gives_only_its_rows_and_the_cadres_it_links(
    session: Session, tmp_path: Path
) -> None:
    county = linked_county(session)
    village = part_named(session, town="前楼镇", village="前楼村")
    report = export_ledger(session, tmp_path / "village.xlsx", village)

    book = sheets(tmp_path / "village.xlsx")
    assert report.rows == {
        "村挂钩领导": 1,
        "农户": 3,
        "干部": 3,
        "村网格": 2,
        "群众问题": 0,
        "帮扶金额合计": 1,
    }
    assert {row[2] for row in book["农户"][1:]} == {"前楼村"}
    assert {row[5] for row in book["干部"][1:]} == {
        county.leader.phone,
        county.clerk.phone,
        county.teacher.phone,
    }
    town = part_named(session, town="康美镇")
    assert export_ledger(session, tmp_path / "town.xlsx", town).rows["农户"] == 1


@pytest.mark.parametrize(
    ("town", "village", "reason"),
    [
        ("西门镇", None, "没有名为“西门镇”的镇"),
        (None, "东沈村", "没有名为“东沈村”的村"),
        ("康美镇", "前楼村", "康美镇没有名为“前楼村”的村"),
        (None, "新村", "有几个镇都有“新村”，请用 --town 指明"),
    ],
)
def test_an_export_of_a_place_that_is_not_there_is_refused(
    session: Session, tmp_path: Path, town: str | None, village: str | None, reason: str
) -> None:
    county = small_county(session)
    county.ledger.village("新村", county.ledger.town("前楼镇"))
    county.ledger.village("新村", county.ledger.town("康美镇"))
    with pytest.raises(ExportError, match=reason):
        part_named(session, town=town, village=village)


def test_a_town_named_in_several_counties_is_refused_with_the_counties_to_choose_from(
    session: Session,
) -> None:
    county = small_county(session)
    second_county(session, county)
    first = session.get(County, county.ledger.county.id)
    assert first is not None

    with pytest.raises(ExportError) as refused:
        part_named(session, town="前楼镇")
    assert str(refused.value) == (
        f"有几个县都有“前楼镇”，请用 --county 指明：{first.name}、东山县(2)"
        f" / several counties have a town '前楼镇'; name one with --county: {first.name}, 东山县(2)"
    )
    with pytest.raises(ExportError, match="有几个镇都有“前楼村”，请用 --county 和 --town 指明"):
        part_named(session, village="前楼村")
    with pytest.raises(ExportError, match="没有名为“西山县”的县"):
        part_named(session, county="西山县", town="前楼镇")


def test_the_county_picks_out_one_of_the_towns_that_share_a_name(
    session: Session, tmp_path: Path
) -> None:
    county = small_county(session)
    county.ledger.household(county.qianlou_1, head_name="林一县")
    second_county(session, county)

    town = part_named(session, county="东山县(2)", town="前楼镇")
    export_ledger(session, tmp_path / "town.xlsx", town)
    village = part_named(session, county="东山县(2)", village="前楼村")
    export_ledger(session, tmp_path / "village.xlsx", village)
    whole = part_named(session, county="东山县(2)")
    export_ledger(session, tmp_path / "county.xlsx", whole)

    for name in ("town", "village", "county"):
        households = sheets(tmp_path / f"{name}.xlsx")["农户"][1:]
        assert [row[4] for row in households] == ["许二县"]


def test_an_export_to_a_folder_that_is_not_there_fails_before_writing_anything(
    session: Session, tmp_path: Path
) -> None:
    small_county(session)
    with pytest.raises(FileNotFoundError):
        export_ledger(session, tmp_path / "missing" / "ledger.xlsx")


def test_an_export_cut_short_leaves_no_file_behind(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_county(session)

    def broken(*_: object) -> Iterator[list[object]]:
        yield ["QL-1", "前楼镇"]
        raise RuntimeError("the database went away")

    monkeypatch.setattr("server.ledger.exporting._household_rows", broken)
    with pytest.raises(RuntimeError):
        export_ledger(session, tmp_path / "ledger.xlsx")
    assert not (tmp_path / "ledger.xlsx").exists()


@pytest.fixture
def fresh_session(backend: str, tmp_path: Path) -> Iterator[Session]:
    """A session on a new, empty database (migrated, with its county), committed at the end."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "round_trip"))
    try:
        upgrade(engine)
        with transaction(sessionmaker(engine)) as session:
            session.add(County(name="东山县"))
            session.flush()
            yield session
    finally:
        engine.dispose()


def test_an_export_imported_kind_by_kind_into_an_empty_database_gives_the_same_ledger(
    session: Session, fresh_session: Session, tmp_path: Path
) -> None:
    linked_county(session)
    path = tmp_path / "ledger.xlsx"
    export_ledger(session, path)

    for kind in ("villages", "cadres", "households", "leaders"):
        report = load(fresh_session, kind, path)
        assert report.imported and not report.errors, report.errors

    assert ledger_facts(fresh_session) == ledger_facts(session)


def test_importing_an_export_into_its_own_database_changes_nothing(
    session: Session, tmp_path: Path
) -> None:
    linked_county(session)
    path = tmp_path / "ledger.xlsx"
    export_ledger(session, path)
    before = counts(session)

    # Rows (leaders: links) found as they are: 4 places, 4 cadres, 4 households, 3 leaders.
    for kind, unchanged in (("villages", 4), ("cadres", 4), ("links", 4), ("leaders", 3)):
        report = load(session, kind, path)
        assert (report.created, report.updated, report.unchanged) == (0, 0, unchanged), kind
    households = load(session, "households", path)
    assert not households.imported
    assert {error.column for error in households.errors} == {"户编号"}

    after = counts(session)
    assert after.pop("audit_entry") == before.pop("audit_entry") + 4  # one per import
    assert after == before


def test_the_issues_sheet_adds_up_aid_per_village_town_and_county(
    session: Session, tmp_path: Path
) -> None:
    county = linked_county(session)
    qianlou, kangmei = county.qianlou_1.village, county.kangmei_1.village
    # The 前楼村 gaokao case: two 6,000 yuan loans and 1,500.50 yuan of aid, and
    # an issue with no amount; 康美村 has 800 yuan.
    for village, amount in (
        (qianlou, "6000"),
        (qianlou, "6000"),
        (qianlou, "1500.50"),
        (qianlou, None),
        (kangmei, "800"),
    ):
        session.add(
            Issue(
                id=uuid.uuid4(),
                village_id=village.id,
                raised_by_cadre_id=county.teacher.id,
                raised_at=utcnow(),
                category=IssueCategory.EDUCATION,
                description="助学",
                status=IssueStatus.SOLVED,
                aid_amount=None if amount is None else Decimal(amount),
            )
        )
    session.flush()
    report = export_ledger(session, tmp_path / "ledger.xlsx")

    book = sheets(tmp_path / "ledger.xlsx")
    assert report.rows["群众问题"] == 5
    assert book["帮扶金额合计"][1:] == [
        ("前楼镇", "前楼村", 3, 13500.5),
        ("前楼镇", "全镇合计", 3, 13500.5),
        ("康美镇", "康美村", 1, 800),
        ("康美镇", "全镇合计", 1, 800),
        ("合计", None, 4, 14300.5),
    ]

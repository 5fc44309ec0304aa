"""Importing the county office's spreadsheets: each kind, from .xlsx and from .csv."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.ledger.layouts import HOUSEHOLDS, read_table
from server.ledger.models import (
    Cadre,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.ledger.services import link_household
from server.ledger.spreadsheets import ImportRefused
from shared.vocab import LeaderRole, Rank, UnitKind
from tests.server.ledger.fixtures import (
    HOUSEHOLD_HEADER,
    IMPORT,
    counts,
    load,
    small_county,
    write_sheet,
)

SUFFIXES = [".xlsx", ".csv"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_villages_import_creates_the_towns_villages_and_grids_not_there_yet(
    session: Session, tmp_path: Path, suffix: str
) -> None:
    small_county(session)
    path = write_sheet(
        tmp_path / f"villages{suffix}",
        [
            ("镇", "村", "网格"),
            ("前楼镇", "前楼村", "第1网格"),  # already there
            ("前楼镇", "前楼村", "第3网格"),
            ("西埔镇", "西埔村", "第1网格"),
            ("杏陈镇", "", ""),
        ],
    )
    report = load(session, "villages", path)

    assert (report.read, report.created, report.unchanged, report.imported) == (4, 5, 1, True)
    assert set(session.scalars(select(Town.name))) >= {"前楼镇", "西埔镇", "杏陈镇"}
    grids = session.execute(
        select(Village.name, Grid.name).join(Grid, Grid.village_id == Village.id)
    ).all()
    assert {("前楼村", "第3网格"), ("西埔村", "第1网格")} <= set(grids)
    again = load(session, "villages", path)
    assert (again.created, again.unchanged) == (0, 4)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_cadres_import_creates_cadres_and_their_work_units(
    session: Session, tmp_path: Path, suffix: str
) -> None:
    small_county(session)
    path = write_sheet(
        tmp_path / f"cadres{suffix}",
        [
            ("姓名", "单位", "单位类别", "所属镇", "职级", "电话", "状态"),
            ("张明", "县旅游局", "县直单位", "", "县直干部", "13700000001", ""),
            ("李华", "康美镇政府", "town_office", "康美镇", "town_cadre", "13700000002", "在岗"),
            ("周处长", "县旅游局", "county_department", "", "处级干部", "13700000003", "停用"),
        ],
    )
    report = load(session, "cadres", path)

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    cadres = {c.phone: c for c in session.scalars(select(Cadre).where(Cadre.phone.like("137%")))}
    assert cadres["13700000001"].unit.name == "县旅游局"
    assert cadres["13700000002"].rank == Rank.TOWN_CADRE
    assert cadres["13700000003"].rank == Rank.DIVISION_LEADER
    assert not cadres["13700000003"].active
    office = session.scalars(select(WorkUnit).where(WorkUnit.name == "康美镇政府")).one()
    assert office.kind == UnitKind.TOWN_OFFICE
    assert office.town_id == session.scalar(select(Town.id).where(Town.name == "康美镇"))


def test_importing_cadres_again_updates_the_cadre_a_phone_names(
    session: Session, tmp_path: Path
) -> None:
    county = small_county(session)
    path = write_sheet(
        tmp_path / "cadres.csv",
        [
            ("姓名", "单位", "单位类别", "职级", "电话"),
            ("陈志明", "县教育局", "县直单位", "处级干部", county.teacher.phone),  # promoted
            ("林处长", "县政府", "县直单位", "处级干部", county.leader.phone),
        ],
    )
    report = load(session, "cadres", path)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert county.teacher.rank == Rank.DIVISION_LEADER
    update = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == county.teacher.id, AuditEntry.action == "update"
        )
    ).one()
    assert update.changes["rank"] == ["county_cadre", "division_leader"]
    assert update.changes["via"] == "import"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_households_import_adds_households_linked_to_their_cadres(
    session: Session, tmp_path: Path, suffix: str
) -> None:
    county = small_county(session)
    path = write_sheet(
        tmp_path / f"households{suffix}",
        [
            HOUSEHOLD_HEADER,
            ("QL-001", "前楼镇", "前楼村", "第1网格", "林春武", 5, "前楼村12号",
             "13912345678、0596-5881234", "贫困户、有在校学生", "两个孩子上大学",
             "陈志明", county.teacher.phone),
            ("QL-002", "前楼镇", "前楼村", "第2网格", "林光荣", "2", "",
             "13800001111; 13800002222", "poor elderly_alone", "", "", ""),
        ],
    )  # fmt: skip
    report = load(session, "households", path)

    assert (report.read, report.created, report.skipped, report.imported) == (2, 2, 0, True)
    first, second = session.scalars(
        select(Household).where(Household.code.in_(["QL-001", "QL-002"])).order_by(Household.code)
    )
    assert (first.grid_id, first.head_name, first.members) == (county.qianlou_1.id, "林春武", 5)
    assert first.phones == ["13912345678", "0596-5881234"]
    assert first.tags == ["poor", "student"]
    assert (first.address, first.notes) == ("前楼村12号", "两个孩子上大学")
    assert second.tags == ["poor", "elderly_alone"] and second.members == 2
    links = session.execute(
        select(HouseholdLink.household_id, HouseholdLink.cadre_id, HouseholdLink.ended_at)
    ).all()
    assert links == [(first.id, county.teacher.id, None)]
    audit = session.execute(
        select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id).where(
            AuditEntry.changes["via"].as_string() == "import"
        )
    ).all()
    assert sorted(audit, key=str) == sorted(
        [
            ("create", "household", first.id),
            ("create", "household", second.id),
            ("link", "household", first.id),
            ("import", "households", None),
        ],
        key=str,
    )
    # The link is recorded as every other writer records one: [old, new].
    link = session.scalars(select(AuditEntry).where(AuditEntry.action == "link")).one()
    assert link.changes == {"cadre_id": [None, str(county.teacher.id)], "via": "import"}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_links_import_reassigns_households_and_keeps_who_covered_them_before(
    session: Session, tmp_path: Path, suffix: str
) -> None:
    county = small_county(session)
    moved = county.ledger.household(county.qianlou_1)
    kept = county.ledger.household(county.qianlou_1)
    new = county.ledger.household(county.qianlou_2)
    link_household(session, IMPORT, moved, county.teacher)
    link_household(session, IMPORT, kept, county.teacher)
    path = write_sheet(
        tmp_path / f"links{suffix}",
        [
            ("户编号", "挂户干部", "挂户干部电话"),
            (moved.code, "黄丽华", county.clerk.phone),
            (kept.code, "", county.teacher.phone),
            (new.code, "", county.clerk.phone),
        ],
    )
    report = load(session, "links", path)

    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    history = session.execute(
        select(HouseholdLink.cadre_id, HouseholdLink.ended_at.is_(None))
        .where(HouseholdLink.household_id == moved.id)
        .order_by(HouseholdLink.started_at)
    ).all()
    assert history == [(county.teacher.id, False), (county.clerk.id, True)]
    current = dict(
        session.execute(
            select(HouseholdLink.household_id, HouseholdLink.cadre_id).where(
                HouseholdLink.ended_at.is_(None)
            )
        ).all()
    )
    assert current == {
        moved.id: county.clerk.id,
        kept.id: county.teacher.id,
        new.id: county.clerk.id,
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_leaders_import_sets_each_villages_three_link_leaders(
    session: Session, tmp_path: Path, suffix: str
) -> None:
    county = small_county(session)
    header = ("镇", "村", "县挂钩领导", "县挂钩领导电话", "镇挂点领导电话", "县直单位挂村领导电话")
    phones = county.phones
    first = write_sheet(
        tmp_path / f"leaders{suffix}",
        [
            header,
            ("前楼镇", "前楼村", "林处长", phones["leader"], phones["clerk"], phones["teacher"]),
        ],
    )
    assert load(session, "leaders", first).created == 3
    # An empty phone leaves that leader as it is.
    second = write_sheet(
        tmp_path / f"again{suffix}",
        [header, ("前楼镇", "前楼村", "", phones["teacher"], "", phones["teacher"])],
    )
    report = load(session, "leaders", second)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    village = county.qianlou_1.village_id
    current = dict(
        session.execute(
            select(VillageLink.role, VillageLink.cadre_id).where(
                VillageLink.village_id == village, VillageLink.ended_at.is_(None)
            )
        ).all()
    )
    assert current == {
        LeaderRole.COUNTY: county.teacher.id,
        LeaderRole.TOWN: county.clerk.id,
        LeaderRole.DEPARTMENT: county.teacher.id,
    }


def test_english_headers_and_spaces_around_headers_and_cells_are_accepted(
    session: Session, tmp_path: Path
) -> None:
    county = small_county(session)
    path = write_sheet(
        tmp_path / "households.csv",
        [
            (" Code ", "TOWN", "village", " grid", "head of household", "members ", "Cadre Phone"),
            (" QL-9 ", " 前楼镇", "前楼村 ", "第1网格", "林春武", " 3 ", county.teacher.phone),
        ],
    )
    assert load(session, "households", path).created == 1
    assert session.scalar(select(Household.members).where(Household.code == "QL-9")) == 3


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_a_csv_file_is_read_in_utf8_with_or_without_bom_or_in_gb18030(
    session: Session, tmp_path: Path, encoding: str
) -> None:
    small_county(session)
    path = write_sheet(
        tmp_path / "villages.csv",
        [("镇", "村", "网格"), ("铜陵镇", "铜陵村", "第1网格")],
        encoding=encoding,
    )
    assert load(session, "villages", path).created == 3
    assert session.scalar(select(Village.name).where(Village.name == "铜陵村")) == "铜陵村"


def test_numbers_excel_stores_as_numbers_are_read_as_text(session: Session, tmp_path: Path) -> None:
    county = small_county(session)
    path = write_sheet(
        tmp_path / "households.xlsx",
        [
            HOUSEHOLD_HEADER,
            ("QL-1", "前楼镇", "前楼村", "第1网格", "林春武", 4.0, "", 13912345678, "", "",
             "", int(county.teacher.phone)),
        ],
    )  # fmt: skip
    assert load(session, "households", path).created == 1
    household = session.scalars(select(Household).where(Household.code == "QL-1")).one()
    assert (household.members, household.phones) == (4, ["13912345678"])


def test_unknown_columns_are_ignored_and_named_in_the_report(
    session: Session, tmp_path: Path
) -> None:
    small_county(session)
    path = write_sheet(
        tmp_path / "villages.csv",
        [("序号", "镇", "村", "网格"), ("1", "前楼镇", "前楼村", "第9网格")],
    )
    report = load(session, "villages", path)
    assert (report.created, report.ignored_columns) == (1, ["序号"])


def test_a_workbook_is_read_from_the_sheet_named_for_the_kind(
    session: Session, tmp_path: Path
) -> None:
    small_county(session)
    path = tmp_path / "ledger.xlsx"
    write_sheet(path, [("说明",), ("本表由县办整理",)], sheet="说明")
    workbook = load_workbook(path)
    sheet = workbook.create_sheet("村网格")
    for row in [("镇", "村", "网格"), ("前楼镇", "前楼村", "第7网格")]:
        sheet.append(row)
    workbook.save(path)

    assert load(session, "villages", path).created == 1
    with pytest.raises(ImportRefused, match="没有“农户”工作表"):
        load(session, "villages", path, sheet="农户")


def test_skip_bad_rows_imports_the_good_rows_and_still_reports_the_bad_ones(
    session: Session, tmp_path: Path
) -> None:
    county = small_county(session)
    path = write_sheet(
        tmp_path / "households.csv",
        [
            HOUSEHOLD_HEADER,
            ("QL-1", "前楼镇", "前楼村", "第1网格", "林春武", "4", "", "", "", "", "", county.teacher.phone),
            ("QL-2", "前楼镇", "前楼村", "第1网格", "林光荣", "四", "", "", "", "", "", county.teacher.phone),
            ("QL-3", "前楼镇", "前楼村", "第2网格", "林秀英", "1", "", "", "", "", "", ""),
        ],
    )  # fmt: skip
    before = counts(session)
    report = load(session, "households", path, skip_bad_rows=True)

    assert (report.read, report.created, report.skipped, report.imported) == (3, 2, 1, True)
    assert [(e.row, e.column) for e in report.errors] == [(3, "人口")]
    after = counts(session)
    assert after["household"] == before["household"] + 2
    assert after["household_link"] == before["household_link"] + 1
    codes = set(session.scalars(select(Household.code).where(Household.code.like("QL-%"))))
    assert codes == {"QL-1", "QL-3"}


def test_rows_are_numbered_as_excel_shows_them_skipping_nothing(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "households.xlsx",
        [HOUSEHOLD_HEADER, ("QL-1",), (), ("QL-2",)],
    )
    table = read_table(path, HOUSEHOLDS)
    assert [row.number for row in table.rows] == [2, 4]

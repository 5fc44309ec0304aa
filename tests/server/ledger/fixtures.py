"""A small county and the spreadsheets of the import and export tests."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from server.audit.models import AuditEntry
from server.audit.services import Actor
from server.db import make_engine
from server.ledger.importing import IMPORTERS, ImportReport
from server.ledger.layouts import LAYOUTS, read_table
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    HouseholdLink,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from shared.vocab import Rank, UnitKind
from tests.builders import LedgerBuilder

IMPORT = Actor(via="import")
TABLES = (Town, Village, Grid, WorkUnit, Cadre, Household, HouseholdLink, VillageLink, AuditEntry)

HOUSEHOLD_HEADER = ("户编号", "镇", "村", "网格", "户主", "人口", "地址", "电话", "标签", "备注", "挂户干部", "挂户干部电话")  # fmt: skip


def households(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Household)) or 0
    finally:
        engine.dispose()


def database_counts(url: str) -> dict[str, int]:
    """The rows of each ledger table in the database at ``url``."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return counts(session)
    finally:
        engine.dispose()


def write_sheet(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    sheet: str = "Sheet1",
    encoding: str = "utf-8-sig",
) -> Path:
    """Rows (the header first) as an .xlsx workbook or a .csv file, by the path's suffix."""
    if path.suffix == ".xlsx":
        workbook = Workbook()
        worksheet = workbook.active
        assert worksheet is not None
        worksheet.title = sheet
        for row in rows:
            worksheet.append(list(row))
        workbook.save(path)
    else:
        with path.open("w", newline="", encoding=encoding) as file:
            csv.writer(file).writerows(rows)
    return path


def load(
    session: Session,
    kind: str,
    path: Path,
    *,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
) -> ImportReport:
    """Import a file as ``minqing import KIND`` does."""
    table = read_table(path, LAYOUTS[kind], sheet)
    return IMPORTERS[kind](session, IMPORT, table, skip_bad_rows=skip_bad_rows)


def counts(session: Session) -> dict[str, int]:
    session.flush()
    return {
        table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
        for table in TABLES
    }


def located(report: ImportReport) -> list[tuple[int, str]]:
    """Where the report found errors: (row, column) pairs."""
    return [(error.row, error.column) for error in report.errors]


@dataclass
class SmallCounty:
    """Two towns, three villages, a few cadres (one disabled)."""

    ledger: LedgerBuilder
    qianlou_1: Grid
    qianlou_2: Grid
    kangmei_1: Grid
    teacher: Cadre
    clerk: Cadre
    leader: Cadre
    retired: Cadre

    @property
    def phones(self) -> dict[str, str]:
        return {
            "teacher": self.teacher.phone,
            "clerk": self.clerk.phone,
            "leader": self.leader.phone,
            "retired": self.retired.phone,
        }


def small_county(session: Session) -> SmallCounty:
    ledger = LedgerBuilder(session)
    qianlou = ledger.village("前楼村", ledger.town("前楼镇"))
    kangmei = ledger.village("康美村", ledger.town("康美镇"))
    ledger.village("后马村", ledger.town("樟塘镇"))  # no grids yet
    town_office = ledger.unit("前楼镇政府", UnitKind.TOWN_OFFICE)
    town_office.town_id = ledger.town("前楼镇").id
    retired = ledger.cadre("王退休")
    retired.active = False
    return SmallCounty(
        ledger=ledger,
        qianlou_1=ledger.grid(qianlou, "第1网格"),
        qianlou_2=ledger.grid(qianlou, "第2网格"),
        kangmei_1=ledger.grid(kangmei, "第1网格"),
        teacher=ledger.cadre("陈志明", ledger.unit("县教育局")),
        clerk=ledger.cadre("黄丽华", town_office, Rank.TOWN_CADRE),
        leader=ledger.cadre("林处长", ledger.unit("县政府"), Rank.DIVISION_LEADER),
        retired=retired,
    )


def ledger_facts(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Everything an export carries, as sorted tuples that compare across databases."""
    unit_town = aliased(Town)
    current = HouseholdLink.ended_at.is_(None)
    return {
        "places": sorted(
            (town, village or "", grid or "")
            for town, village, grid in session.execute(
                select(Town.name, Village.name, Grid.name)
                .outerjoin(Village, Village.town_id == Town.id)
                .outerjoin(Grid, Grid.village_id == Village.id)
            )
        ),
        "cadres": sorted(
            tuple(row)
            for row in session.execute(
                select(
                    Cadre.phone,
                    Cadre.name,
                    Cadre.rank,
                    Cadre.active,
                    WorkUnit.name,
                    WorkUnit.kind,
                    unit_town.name,
                )
                .join(WorkUnit, WorkUnit.id == Cadre.unit_id)
                .outerjoin(unit_town, unit_town.id == WorkUnit.town_id)
            )
        ),
        "households": sorted(
            (*row[:7], tuple(row[7]), tuple(row[8]), *row[9:])
            for row in session.execute(
                select(
                    Household.code,
                    Town.name,
                    Village.name,
                    Grid.name,
                    Household.head_name,
                    Household.members,
                    Household.address,
                    Household.phones,
                    Household.tags,
                    Household.notes,
                    Cadre.phone,
                )
                .join(Grid, Grid.id == Household.grid_id)
                .join(Village, Village.id == Grid.village_id)
                .join(Town, Town.id == Village.town_id)
                .outerjoin(HouseholdLink, (HouseholdLink.household_id == Household.id) & current)
                .outerjoin(Cadre, Cadre.id == HouseholdLink.cadre_id)
            )
        ),
        "leaders": sorted(
            tuple(row)
            for row in session.execute(
                select(Town.name, Village.name, VillageLink.role, Cadre.phone)
                .join(Village, Village.id == VillageLink.village_id)
                .join(Town, Town.id == Village.town_id)
                .join(Cadre, Cadre.id == VillageLink.cadre_id)
                .where(VillageLink.ended_at.is_(None))
            )
        ),
    }


def second_county(session: Session, county: SmallCounty) -> Grid:
    """A second county with its own 前楼镇 and 前楼村 (as ledgers at scale 2 and up have),
    and one household there; its grid."""
    other = County(name="东山县(2)")
    session.add(other)
    session.flush()
    town = Town(county_id=other.id, name="前楼镇")
    session.add(town)
    session.flush()
    village = Village(town_id=town.id, name="前楼村")
    session.add(village)
    session.flush()
    grid = county.ledger.grid(village, "第1网格")
    county.ledger.household(grid, head_name="许二县")
    return grid

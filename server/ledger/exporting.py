"""Exporting the ledger (包村包户台帐) to an .xlsx workbook.

The sheets use the import layouts of ``server.ledger.layouts``, so an
export imports again, kind by kind, into another database:

- 村挂钩领导: each village's three link leaders (name, unit, phone);
- 农户: each household and its linked cadre;
- 干部: the cadres;
- 村网格: the towns, villages and grids;
- 群众问题 and 帮扶金额合计 (export only): the issues, and their aid amounts
  added up per village, town and the whole part exported.

The workbook is written in openpyxl's write-only mode from streamed query
results, so a county's 33,410 households never sit in memory at once.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from server.issues.models import Issue
from server.ledger.layouts import (
    AID_TOTALS,
    CADRES,
    HOUSEHOLDS,
    ISSUES,
    LEADERS,
    VILLAGES,
    Layout,
)
from server.ledger.models import (
    Cadre,
    County,
    Grid,
    Household,
    Town,
    Village,
    VillageLink,
    WorkUnit,
)
from server.ledger.ordering import name_order
from server.ledger.queries import cadre_rows, covering_cadres, current_leaders, household_rows
from shared.vocab import HouseholdTag, LeaderRole

# Rows fetched per round trip while streaming (a server-side cursor on PostgreSQL).
BATCH = 2000
# An issue's day is the county's day.
CHINA = timezone(timedelta(hours=8))


class ExportError(Exception):
    """The export cannot be made as asked; the message is bilingual."""


@dataclass
class ExportReport:
    # Sheet name -> data rows written.
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """The part of the ledger to export: all of it, or one county, town or village."""

    county_id: uuid.UUID | None = None
    town_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on Town and Village, for the places given."""
        given = (
            (Town.county_id, self.county_id),
            (Town.id, self.town_id),
            (Village.id, self.village_id),
        )
        return [column == value for column, value in given if value is not None]


WHOLE = Part()


def export_ledger(
    session: Session, path: Path, part: Part = WHOLE, progress: Callable[[int], None] | None = None
) -> ExportReport:
    """Write the ledger, or one county's, town's or village's part of it, to ``path``.

    Rows are sorted by town, village, grid and household code. ``progress``,
    if given, is told the number of rows written so far, every ``STEP`` rows.
    """
    # Opened first, so a path that cannot be written fails before any work;
    # a workbook cut short by an error is not left behind.
    target = path.open("wb")
    try:
        with target:
            return _write_workbook(session, target, part.conditions(), progress)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _write_workbook(
    session: Session,
    target: IO[bytes],
    scope: list[ColumnElement[bool]],
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    collate = _bytewise(session)
    workbook = Workbook(write_only=True)
    report = ExportReport()
    sheets: list[tuple[Layout, Iterable[Sequence[object]]]] = [
        (LEADERS, _leader_rows(session, scope, collate)),
        (HOUSEHOLDS, _household_rows(session, scope, collate)),
        (CADRES, _cadre_rows(session, scope, collate)),
        (VILLAGES, _village_rows(session, scope, collate)),
        (ISSUES, _issue_rows(session, scope, collate)),
        (AID_TOTALS, aid_total_rows(session, scope, collate)),
    ]
    written = itertools.count(1)
    try:
        for layout, rows in sheets:
            if progress is not None:
                rows = _counted(rows, written, progress)
            report.rows[layout.sheet] = _write_sheet(workbook, layout, rows)
    finally:
        # Saving is also what closes and removes the sheets' temporary files,
        # so a workbook abandoned by an error is saved too (then deleted).
        workbook.save(target)
    return report


# Columns whose values run longer than their header, in Excel's widths (a
# Chinese character counts two): an address, two phone numbers, a unit's name.
VALUE_WIDTHS = {
    "code": 16,
    "address": 36,
    "phones": 26,
    "phone": 14,
    "cadre_phone": 14,
    "notes": 36,
    "unit": 24,
    "cadre_unit": 24,
}

# Rows written between two progress reports of a ledger job.
STEP = 500


def _counted(
    rows: Iterable[Sequence[object]], written: Iterator[int], progress: Callable[[int], None]
) -> Iterator[Sequence[object]]:
    for row in rows:
        yield row
        count = next(written)
        if count % STEP == 0:
            progress(count)


def _write_sheet(workbook: Workbook, layout: Layout, rows: Iterable[Sequence[object]]) -> int:
    sheet = workbook.create_sheet(layout.sheet)
    sheet.freeze_panes = "A2"
    # Printed as the office files it: landscape A4, as wide as the page, the
    # header on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    bold = Font(bold=True)
    header = []
    for number, column in enumerate(layout.columns, start=1):
        # Wide enough for the Chinese header (each character two widths).
        sheet.column_dimensions[get_column_letter(number)].width = max(
            10, 2 * len(column.header) + 4, VALUE_WIDTHS.get(column.key, 0)
        )
        cell = WriteOnlyCell(sheet, column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
    # Written when the workbook is saved, so it can span the rows just written.
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(layout.columns))}{count + 1}"
    return count


def _cell(sheet: Any, value: object) -> object:
    """A value as openpyxl should store it: text as text, never as a formula."""
    if not isinstance(value, str):
        return value
    # Control characters (pasted from elsewhere) would make openpyxl refuse the cell.
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not text.startswith("="):
        return text or None
    # A note typed as "=..." must stay text, not become a formula.
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    return cell


# --- the part asked for by name ----------------------------------------------------


def part_named(
    session: Session,
    *,
    county: str | None = None,
    town: str | None = None,
    village: str | None = None,
) -> Part:
    """The part of the ledger these names pick out; refused when none or several fit.

    Ledgers of several counties repeat town and village names (every county
    has its 城关镇): a name that fits several places must be narrowed.
    """
    county_id = town_id = village_id = None
    if county is not None:
        county_id = session.scalar(select(County.id).where(County.name == county))
        if county_id is None:
            raise ExportError(f"没有名为“{county}”的县 / no county named '{county}'")
    if town is not None:
        towns = session.execute(
            select(Town.id, County.name)
            .join(County, County.id == Town.county_id)
            .where(Town.name == town, *Part(county_id).conditions())
            .order_by(County.name)
        ).all()
        if not towns:
            raise ExportError(
                f"{county or ''}没有名为“{town}”的镇 / no town named '{town}'"
                + (f" in {county}" if county else "")
            )
        if len(towns) > 1:
            counties = [name for _, name in towns]
            raise ExportError(
                f"有几个县都有“{town}”，请用 --county 指明：{'、'.join(counties)}"
                f" / several counties have a town '{town}'; name one with --county:"
                f" {', '.join(counties)}"
            )
        ((town_id, _),) = towns
    if village is not None:
        villages = session.execute(
            select(Village.id, County.name, Town.name)
            .join(Town, Town.id == Village.town_id)
            .join(County, County.id == Town.county_id)
            .where(Village.name == village, *Part(county_id, town_id).conditions())
            .order_by(County.name, Town.name)
        ).all()
        if not villages:
            where = town or county or ""
            raise ExportError(
                f"{where}没有名为“{village}”的村 / no village named '{village}'"
                + (f" in {where}" if where else "")
            )
        if len(villages) > 1:
            # Within one county the town tells them apart; across counties, the county too.
            across = len({county_name for _, county_name, _ in villages}) > 1
            places = [f"{c} {t}" if across else t for _, c, t in villages]
            option = ("--county 和 --town", "--county and --town") if across else ("--town",) * 2
            raise ExportError(
                f"有几个镇都有“{village}”，请用 {option[0]} 指明：{'、'.join(places)}"
                f" / several towns have a village '{village}'; name one with {option[1]}:"
                f" {', '.join(places)}"
            )
        ((village_id, _, _),) = villages
    return Part(county_id, town_id, village_id)


def _bytewise(session: Session) -> Any:
    """Order text by code point on both backends.

    PostgreSQL would otherwise sort by the database's locale, which differs
    between servers and from SQLite's; the "C" collation is also faster.
    """
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: column.collate("C")
    return lambda column: column


# --- sheets -----------------------------------------------------------------------


def _leader_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    villages = session.execute(
        select(Village.id, Town.name, Village.name)
        .join(Town, Town.id == Village.town_id)
        .where(*scope)
        .order_by(collate(Town.name), collate(Village.name))
    ).all()
    leaders = {
        (village_id, role): (name, unit, phone)
        for village_id, role, _, name, unit, phone in session.execute(
            current_leaders(*scope)
            .join(Village, Village.id == VillageLink.village_id)
            .join(Town, Town.id == Village.town_id)
        )
    }
    for village_id, town, village in villages:
        row: list[object] = [town, village]
        for role in LeaderRole:
            row += leaders.get((village_id, role), ("", "", ""))
        yield row


def _household_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    labels = {tag.value: tag.zh for tag in HouseholdTag}
    query = (
        household_rows(
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
            Cadre.name,
            WorkUnit.name,
            Cadre.phone,
        )
        .where(*scope)
        .order_by(
            collate(Town.name),
            collate(Village.name),
            *name_order(Grid.name, collate),
            collate(Household.code),
        )
        .execution_options(yield_per=BATCH)
    )
    for *facts, phones, tags, notes, cadre, unit, phone in session.execute(query):
        yield [
            *facts,
            "、".join(phones),
            "、".join(labels.get(tag, tag) for tag in tags),
            notes,
            *(value or "" for value in (cadre, unit, phone)),
        ]


def _cadre_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    unit_town = aliased(Town)
    query = (
        cadre_rows(
            Cadre.name,
            WorkUnit.name,
            WorkUnit.kind,
            unit_town.name,
            Cadre.rank,
            Cadre.phone,
            Cadre.active,
        )
        .outerjoin(unit_town, unit_town.id == WorkUnit.town_id)
        .order_by(collate(WorkUnit.name), collate(Cadre.name), Cadre.phone)
        .execution_options(yield_per=BATCH)
    )
    if scope:
        # Only the cadres this part of the ledger links, so it imports on its own.
        in_scope = select(Village.id).join(Town, Town.id == Village.town_id).where(*scope)
        households = covering_cadres(Grid.village_id.in_(in_scope))
        leaders = select(VillageLink.cadre_id).where(
            VillageLink.ended_at.is_(None), VillageLink.village_id.in_(in_scope)
        )
        query = query.where(or_(Cadre.id.in_(households), Cadre.id.in_(leaders)))
    for name, unit, kind, town, rank, phone, active in session.execute(query):
        yield [
            name,
            unit,
            kind.zh,
            town or "",
            rank.zh,
            phone,
            "在岗" if active else "停用",
        ]


def _village_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    query = (
        select(Town.name, Village.name, Grid.name)
        .outerjoin(Village, Village.town_id == Town.id)
        .outerjoin(Grid, Grid.village_id == Village.id)
        .where(*scope)
        .order_by(collate(Town.name), collate(Village.name), *name_order(Grid.name, collate))
        .execution_options(yield_per=BATCH)
    )
    for town, village, grid in session.execute(query):
        yield [town, village or "", grid or ""]


def _issue_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    query = (
        select(
            Town.name,
            Village.name,
            Household.code,
            Household.head_name,
            Issue.raised_at,
            Issue.category,
            Issue.description,
            Issue.status,
            Issue.department,
            Issue.aid_amount,
        )
        .join(Village, Village.id == Issue.village_id)
        .join(Town, Town.id == Village.town_id)
        .outerjoin(Household, Household.id == Issue.household_id)
        .where(Issue.deleted_at.is_(None), *scope)
        .order_by(collate(Town.name), collate(Village.name), Issue.raised_at, Issue.id)
        .execution_options(yield_per=BATCH)
    )
    for (
        town,
        village,
        code,
        head,
        raised,
        category,
        text,
        status,
        department,
        aid,
    ) in session.execute(query):
        yield [
            town,
            village,
            code or "",
            head or "全村",
            raised.astimezone(CHINA).strftime("%Y-%m-%d"),
            category.zh,
            text,
            status.zh,
            department,
            aid,
        ]


def aid_total_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> list[list[object]]:
    """The aid amounts added up: each village that has any, each town's total after
    its villages (村 "全镇合计"), and the whole part's last (镇 "合计")."""
    villages = session.execute(
        select(
            Town.name,
            Village.name,
            func.count(Issue.aid_amount),
            func.sum(Issue.aid_amount),
        )
        .join(Village, Village.id == Issue.village_id)
        .join(Town, Town.id == Village.town_id)
        .where(Issue.deleted_at.is_(None), Issue.aid_amount.is_not(None), *scope)
        .group_by(Town.name, Village.name)
        .order_by(collate(Town.name), collate(Village.name))
    ).all()
    rows: list[list[object]] = []
    county_aided, county_aid = 0, Decimal(0)
    for town, in_town in itertools.groupby(villages, key=lambda row: row[0]):
        town_aided, town_aid = 0, Decimal(0)
        for _, village, aided, aid in in_town:
            rows.append([town, village, aided, Decimal(aid)])
            town_aided, town_aid = town_aided + aided, town_aid + Decimal(aid)
        rows.append([town, "全镇合计", town_aided, town_aid])
        county_aided, county_aid = county_aided + town_aided, county_aid + town_aid
    rows.append(["合计", "", county_aided, county_aid])
    return rows

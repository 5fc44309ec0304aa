"""Exporting the ledger (包村包户台帐) to an .xlsx workbook.

The sheets use the import layouts of ``server.ledger.importing``, so an
export imports again, kind by kind, into another database:

- 村挂钩领导: each village's three link leaders (name, unit, phone);
- 农户: each household and its linked cadre;
- 干部: the cadres;
- 村网格: the towns, villages and grids.

The workbook is written in openpyxl's write-only mode from streamed query
results, so a county's 33,410 households never sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from server.ledger.importing import CADRES, HOUSEHOLDS, LEADERS, VILLAGES, Layout
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
from shared.vocab import HouseholdTag, LeaderRole

# Rows fetched per round trip while streaming (a server-side cursor on PostgreSQL).
BATCH = 2000


class ExportError(Exception):
    """The export cannot be made as asked; the message is bilingual."""


@dataclass
class ExportReport:
    # Sheet name -> data rows written.
    rows: dict[str, int] = field(default_factory=dict)


def export_ledger(
    session: Session,
    path: Path,
    *,
    town: str | None = None,
    village: str | None = None,
) -> ExportReport:
    """Write the ledger, or one town's or village's part of it, to ``path``.

    Rows are sorted by town, village, grid and household code.
    """
    scope = _scope(session, town, village)
    # Opened first, so a path that cannot be written fails before any work;
    # a workbook cut short by an error is not left behind.
    target = path.open("wb")
    try:
        with target:
            return _write_workbook(session, target, scope)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _write_workbook(
    session: Session, target: IO[bytes], scope: list[ColumnElement[bool]]
) -> ExportReport:
    collate = _bytewise(session)
    workbook = Workbook(write_only=True)
    report = ExportReport()
    sheets: list[tuple[Layout, Iterable[Sequence[object]]]] = [
        (LEADERS, _leader_rows(session, scope, collate)),
        (HOUSEHOLDS, _household_rows(session, scope, collate)),
        (CADRES, _cadre_rows(session, scope, collate)),
        (VILLAGES, _village_rows(session, scope, collate)),
    ]
    try:
        for layout, rows in sheets:
            report.rows[layout.sheet] = _write_sheet(workbook, layout, rows)
    finally:
        # Saving is also what closes and removes the sheets' temporary files,
        # so a workbook abandoned by an error is saved too (then deleted).
        workbook.save(target)
    return report


def _write_sheet(workbook: Workbook, layout: Layout, rows: Iterable[Sequence[object]]) -> int:
    sheet = workbook.create_sheet(layout.sheet)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for number, column in enumerate(layout.columns, start=1):
        # Wide enough for the Chinese header (each character two widths).
        sheet.column_dimensions[get_column_letter(number)].width = max(
            10, 2 * len(column.header) + 4
        )
        cell = WriteOnlyCell(sheet, column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
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


# --- scope ----------------------------------------------------------------------


def _scope(session: Session, town: str | None, village: str | None) -> list[ColumnElement[bool]]:
    """The conditions on Town and Village for the part of the ledger asked for."""
    condition = []
    if town is not None:
        condition.append(Town.name == town)
    if village is not None:
        condition.append(Village.name == village)
    if town is not None and session.scalar(select(Town.id).where(Town.name == town)) is None:
        raise ExportError(f"没有名为“{town}”的镇 / no town named '{town}'")
    if village is not None:
        towns = session.scalars(
            select(Town.name).join(Village, Village.town_id == Town.id).where(*condition)
        ).all()
        if not towns:
            where = f"{town}" if town else ""
            raise ExportError(
                f"{where}没有名为“{village}”的村 / no village named '{village}'"
                + (f" in {town}" if town else "")
            )
        if len(towns) > 1:
            raise ExportError(
                f"有几个镇都有“{village}”，请用 --town 指明：{'、'.join(towns)}"
                f" / several towns have a village '{village}'; name one with --town: {', '.join(towns)}"
            )
    return condition


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
        for village_id, role, name, unit, phone in session.execute(
            select(VillageLink.village_id, VillageLink.role, Cadre.name, WorkUnit.name, Cadre.phone)
            .join(Cadre, Cadre.id == VillageLink.cadre_id)
            .join(WorkUnit, WorkUnit.id == Cadre.unit_id)
            .join(Village, Village.id == VillageLink.village_id)
            .join(Town, Town.id == Village.town_id)
            .where(VillageLink.ended_at.is_(None), *scope)
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
            Cadre.name,
            WorkUnit.name,
            Cadre.phone,
        )
        .join(Grid, Grid.id == Household.grid_id)
        .join(Village, Village.id == Grid.village_id)
        .join(Town, Town.id == Village.town_id)
        .outerjoin(
            HouseholdLink,
            and_(HouseholdLink.household_id == Household.id, HouseholdLink.ended_at.is_(None)),
        )
        .outerjoin(Cadre, Cadre.id == HouseholdLink.cadre_id)
        .outerjoin(WorkUnit, WorkUnit.id == Cadre.unit_id)
        .where(Household.deleted_at.is_(None), *scope)
        .order_by(
            collate(Town.name), collate(Village.name), collate(Grid.name), collate(Household.code)
        )
        .execution_options(yield_per=BATCH)
    )
    for (
        code,
        town,
        village,
        grid,
        head,
        members,
        address,
        phones,
        tags,
        notes,
        *cadre,
    ) in session.execute(query):
        yield [
            code,
            town,
            village,
            grid,
            head,
            members,
            address,
            "、".join(phones),
            "、".join(labels.get(tag, tag) for tag in tags),
            notes,
            *(value or "" for value in cadre),
        ]


def _cadre_rows(
    session: Session, scope: list[ColumnElement[bool]], collate: Any
) -> Iterable[list[object]]:
    unit_town = aliased(Town)
    query = (
        select(
            Cadre.name,
            WorkUnit.name,
            WorkUnit.kind,
            unit_town.name,
            Cadre.rank,
            Cadre.phone,
            Cadre.active,
        )
        .join(WorkUnit, WorkUnit.id == Cadre.unit_id)
        .outerjoin(unit_town, unit_town.id == WorkUnit.town_id)
        .order_by(collate(WorkUnit.name), collate(Cadre.name), Cadre.phone)
        .execution_options(yield_per=BATCH)
    )
    if scope:
        # Only the cadres this part of the ledger links, so it imports on its own.
        in_scope = select(Village.id).join(Town, Town.id == Village.town_id).where(*scope)
        households = (
            select(HouseholdLink.cadre_id)
            .join(Household, Household.id == HouseholdLink.household_id)
            .join(Grid, Grid.id == Household.grid_id)
            .where(
                HouseholdLink.ended_at.is_(None),
                Household.deleted_at.is_(None),
                Grid.village_id.in_(in_scope),
            )
        )
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
        .order_by(collate(Town.name), collate(Village.name), collate(Grid.name))
        .execution_options(yield_per=BATCH)
    )
    for town, village, grid in session.execute(query):
        yield [town, village or "", grid or ""]
